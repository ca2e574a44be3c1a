"""``ldtransform template``: commands for CSV templates (they print).

Kept apart from :mod:`ldtransform.cli` so each command file stays small; registered there.
"""

from __future__ import annotations

from pathlib import Path

import click

from ldtransform.cli._common import errors_reported, examples

__all__ = ["template"]


@click.group(epilog=examples(
    "ldtransform template init --schema samples/schemas/Account.json --out account.csv.j2",
    "ldtransform convert samples/accounts.xlsx --schema samples/schemas/Account.json \\",
    "    --mapping samples/mappings/accounts.toml --to csv --template account.csv.j2 \\",
    "    --out out/template",
))
def template() -> None:
    """Write and manage CSV templates (Jinja2) for `convert --to csv`."""


@template.command("init", epilog=examples(
    "ldtransform template init --schema samples/schemas/Account.json --out account.csv.j2",
    "ldtransform template init --schema samples/schemas/Account.json --out account.csv.j2 \\",
    "    --delimiter ';' --force",
))
@click.option("--schema", "schema_path", required=True, type=click.Path(dir_okay=False),
              help="The itemType schema (JSON or YAML).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Where to write the template, e.g. account.csv.j2.")
@click.option("--delimiter", default=",", show_default=True, help="The CSV delimiter.")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
def template_init(schema_path: str, out: str, delimiter: str, force: bool) -> None:
    """Write a default template for the schema's items, to edit before use.

    One column per field; the first child record of a list of records becomes
    field_1_child columns; plain lists are joined with ';'.
    """
    from ldtransform._atomic import atomic_writer
    from ldtransform.errors import ConfigError
    from ldtransform.schema import load_schema
    from ldtransform.writers.csv_template import default_template

    with errors_reported():
        target = Path(out)
        if target.exists() and not force:
            raise ConfigError(f"{out} exists; pass --force to overwrite it")
        item = load_schema(schema_path)
        text = default_template(item, delimiter=delimiter)
        with atomic_writer(target) as file:
            file.write(text.encode("utf-8"))
    click.echo(f"wrote {out}: a CSV template for {item.item_type} items; edit it, then use "
               f"it with: ldtransform convert ... --to csv --template {out}", err=True)
