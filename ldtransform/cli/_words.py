"""The command line's words for the library's options: ``-o key=value`` values parsed by the
type a reader declares, and library messages (``header_row=2``) phrased as flags
(``--header-row 2``). The one place that knows which option has which flag.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import re
import shlex
import typing
from typing import Any

__all__ = ["FLAGS", "cli_phrasing", "flag", "parse_option_value", "reader_class_for",
           "split_option"]


def reader_class_for(source: str | None, format: str | None) -> type | None:
    """The reader that will read ``source``, to learn its options' types; None when it
    cannot be told (the read itself then names the problem)."""
    from ldtransform import registry
    from ldtransform.errors import LdTransformError

    if source is None and format is None:
        return None
    try:
        found: type = registry.reader_for_source(source, format)
    except LdTransformError:
        return None
    return found


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
_CONTAINERS = {"list", "List", "Sequence", "tuple", "Tuple", "Iterable", "Collection",
               "dict", "Dict", "Mapping", "set", "frozenset"}


def split_option(pair: str, *, example: str, hint: str) -> tuple[str, str]:
    """``KEY=VALUE`` as (``key`` with dashes as underscores, ``VALUE``); a usage error
    showing ``example`` unless the key is a name."""
    import click

    name, equals, text = pair.partition("=")
    name = name.strip().replace("-", "_")
    if not equals or not name.isidentifier():
        raise click.BadParameter(f"{pair!r} is not KEY=VALUE, e.g. {example}", param_hint=hint)
    return name, text


def parse_option_value(reader_class: type | None, name: str, text: str) -> Any:
    """``text`` as the value of the reader option ``name``, by the option's declared type:
    a whole number, true/false, a list (JSON or comma-separated), JSON for other typed
    options, ``none`` where None is allowed; text otherwise."""
    words, default = _declared(reader_class, name)
    stripped = text.strip()
    if stripped.lower() == "none" and ("None" in words or (default is None and bool(words))):
        return None
    if not words or "Literal" in words:
        return text
    if "bool" in words:
        if stripped.lower() in _TRUE + _FALSE:
            return stripped.lower() in _TRUE
        raise ValueError(f"{name} is true or false")
    if words & _CONTAINERS:
        if stripped[:1] in ("[", "{"):
            return _json(stripped, name)
        return [item.strip() for item in stripped.split(",") if item.strip()]
    for kind, parse in (("int", int), ("float", float)):
        if kind in words:
            try:
                return parse(stripped)
            except ValueError:
                if "str" in words:
                    return text
                raise ValueError(f"{name} takes a number, not {text!r}") from None
    if "str" in words:
        return text
    try:
        return json.loads(stripped)
    except ValueError:
        return text


def _json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{name} takes JSON here: {exc}") from None


def _declared(reader_class: type | None, name: str) -> tuple[set[str], Any]:
    """The type names in the annotation of option ``name`` (or of its default's type),
    and its default."""
    if reader_class is None:
        return set(), inspect.Parameter.empty
    reader_class = inspect.unwrap(reader_class)  # a plugin's class, not its guard
    parameter = inspect.signature(reader_class).parameters.get(name)
    if parameter is None:
        return set(), inspect.Parameter.empty  # the read names it as unknown
    annotation: Any = parameter.annotation
    # Resolve aliases such as BadRowPolicy = Literal[...]; an unresolvable annotation is
    # read as written.
    owner: Any = reader_class
    with contextlib.suppress(Exception):
        annotation = typing.get_type_hints(owner.__init__).get(name, annotation)
    if annotation is inspect.Parameter.empty:
        default = parameter.default
        if default is inspect.Parameter.empty or default is None:
            return set(), default
        return {type(default).__name__}, default
    text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
    return set(re.findall(r"[A-Za-z_]\w*", text)), parameter.default


#: Options that have a flag of their own; any other reader option is ``-o name=value``.
FLAGS = {"format": "--format", "encoding": "--encoding", "delimiter": "--delimiter",
         "sheet": "--sheet", "header_row": "--header-row", "on_bad_row": "--on-bad-row",
         "columns": "--columns", "batch_size": "--batch-size", "max_issues": "--max-issues",
         "extra_columns": "--extra-columns", "on_error": "--on-error",
         "overwrite": "--overwrite", "max_records": "--max-records",
         "max_bytes": "--max-bytes", "rejected_format": "--rejected-format",
         "rejected_dir": "--rejected-dir"}
_SWITCHES = {"overwrite"}
_VALUE = r"(?:'[^']*'|\"[^\"]*\"|[\w.+\-]+)"
_QUOTED = r"(?:'[^']*'|\"[^\"]*\")"
_ASSIGNMENT = re.compile(
    rf"\b([a-z][a-z0-9]*(?:_[a-z0-9]+)*)=({_VALUE})((?:,?\s+or\s+{_QUOTED})*)")


def flag(name: str) -> str:
    """The flag of option ``name``: its own, or ``-o name=...``."""
    return FLAGS.get(name, f"-o {name}=...")


def _cli_value(value: str) -> str:
    if value[:1] in ("'", '"'):
        value = value[1:-1]
    if value == "None":
        return "none"
    return shlex.quote(value)  # as typed in a shell: ';' or 'a b' need quotes


def cli_phrasing(text: str) -> str:
    """A library message as a command-line user reads it: ``header_row=2`` becomes
    ``--header-row 2``, ``on_bad_row='report'`` ``--on-bad-row report``, and a reader
    option without a flag of its own ``-o name=value``."""
    if "=" not in text:
        return text

    def as_flags(match: re.Match[str]) -> str:
        name, value, alternatives = match.group(1), match.group(2), match.group(3)
        if name not in FLAGS and name not in _reader_option_names():
            return match.group(0)
        values = [_cli_value(value)]
        values += [_cli_value(v) for v in re.findall(_QUOTED, alternatives)]
        if name in _SWITCHES and values == ["True"]:
            return FLAGS[name]
        if name in FLAGS:
            return " or ".join(f"{FLAGS[name]} {v}" for v in values)
        return " or ".join(f"-o {name}={v}" for v in values)

    return _ASSIGNMENT.sub(as_flags, text)


@functools.cache
def _reader_option_names() -> frozenset[str]:
    """Every option any installed reader takes (a reader that fails to load is skipped)."""
    from ldtransform import registry
    from ldtransform.errors import LdTransformError
    from ldtransform.readers import reader_options as options_of

    names: set[str] = set()
    for name in registry.names("reader"):
        try:
            names.update(options_of(registry.load("reader", name)))
        except LdTransformError:
            continue
    return frozenset(names)
