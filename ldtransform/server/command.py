"""``ldtransform serve``: the click command. Imports only click until it runs."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ldtransform.server.config import ServerConfig

__all__ = ["serve_command"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; loopback unless you name another one.")
@click.option("--port", default=8765, show_default=True, type=int, help="TCP port.")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Where the database, uploads, exports and outbox live "
                   "(default: ./ldserver-data, or [server] data_dir).")
@click.option("--schemas", type=click.Path(file_okay=False, exists=True),
              help="Folder of itemType schemas (*.json); default: the built-in samples.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True),
              help="A server.toml (users, clients, limits, test knobs).")
def serve_command(host: str, port: int, data_dir: str | None, schemas: str | None,
                  config_path: str | None) -> None:
    """Run a local Liquid Decisions server (Batch and Items API) until Ctrl-C."""
    from ldtransform.errors import LdTransformError

    try:
        _serve(host, port, data_dir, schemas, config_path)
    except LdTransformError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(4)


def _serve(host: str, port: int, data_dir: str | None, schemas: str | None,
           config_path: str | None) -> None:
    import logging
    import signal
    import threading

    from ldtransform.server import build_config, running
    from ldtransform.server.items import load_types

    settings = build_config(data_dir=data_dir, schemas=schemas, config=config_path)
    types = load_types(settings.schemas_dir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    with running(config=settings, host=host, port=port) as url:
        _banner(settings, url, sorted(types))
        while not stop.wait(0.5):
            pass
        click.echo("Stopping: jobs in progress resume at the next start.")
    click.echo("LD server stopped.")


def _banner(settings: ServerConfig, url: str, item_types: list[str]) -> None:
    from ldtransform.server.config import DEMO_CLIENT, DEMO_PASSWORD, DEMO_USER

    click.echo(f"LD server at {url}  (API docs: {url}/docs)")
    click.echo(f"data: {settings.data_dir.resolve()}")
    click.echo(f"item types: {', '.join(item_types)} "
               f"(schemas from {settings.schemas_dir or 'the built-in samples'})")
    for user in settings.auth.users:
        shown = user.password if (user.name, user.password) == (DEMO_USER, DEMO_PASSWORD) \
            else "(from the config)"
        click.echo(f"user: {user.name}  password: {shown}  communities: "
                   f"{', '.join(user.communities)}")
    for client in settings.auth.clients:
        shown = client.client_secret if client.client_id == client.client_secret == DEMO_CLIENT \
            else "(from the config)"
        click.echo(f"client id: {client.client_id}  client secret: {shown}")
    click.echo("Stop with Ctrl-C.")
