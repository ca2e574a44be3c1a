"""``convert --to NAME`` and ``-w key=value``: any installed writer, built-in or plugin, and
its own options, read by the types its ``__init__`` declares (as ``-o`` is for readers)."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["BUILT_IN_FORMATS", "parse_writer_options", "writer_name"]

BUILT_IN_FORMATS = ("items-json", "items-jsonl", "json", "jsonl", "csv")


def writer_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Check ``--to``: a built-in writer, or an installed plugin's (looked up only then, so
    the built-ins never wait for plugin discovery)."""
    if value in BUILT_IN_FORMATS:
        return value
    from ldtransform import registry

    installed = registry.names("writer")
    if value not in installed:
        raise click.BadParameter(f"{value!r} is not an installed writer; use one of "
                                 f"{', '.join(installed)}", ctx, param)
    return value


def parse_writer_options(to: str, pairs: tuple[str, ...]) -> dict[str, Any]:
    """``-w key=value`` pairs as keywords of the writer ``to``."""
    from ldtransform import registry
    from ldtransform.cli._words import parse_option_value, split_option

    if not pairs:
        return {}
    writer_class = registry.load("writer", to)
    options: dict[str, Any] = {}
    for pair in pairs:
        name, text = split_option(pair, example="-w root=accounts",
                                  hint="-w/--writer-option")
        try:
            options[name] = parse_option_value(writer_class, name, text)
        except ValueError as exc:
            raise click.BadParameter(f"{pair!r}: {exc}", param_hint="-w/--writer-option"
                                     ) from None
    return options
