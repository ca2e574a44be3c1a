"""Streaming the record elements of an XML file with ``lxml.etree.iterparse``.

Each record is handed on whole at its end tag, then cleared, and the elements before it
are deleted from their parent, so memory holds one record (and the chain of elements
above it), whatever the size of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ldtransform.errors import ConfigError, ReadError

__all__ = ["RecordPath", "records"]


@dataclass(frozen=True)
class _Step:
    name: str  # a local name, or "*"
    namespace: str | None  # a namespace URI, or None for any
    prefix: str | None  # a prefix still to resolve with the document's declarations


class RecordPath:
    """Which elements are records: a path of element names such as ``account``,
    ``accounts/account`` or ``/export/accounts/account``.

    A step is a local name, ``*``, ``prefix:name`` (the prefix as the document declares
    it) or ``{uri}name``. The path matches an element whose own name and ancestors end
    with its steps; a leading ``/`` anchors it at the root element. None (the default)
    means the children of the root.
    """

    def __init__(self, path: str | None) -> None:
        self.text = path
        if path is None:
            path = "/*/*"
        self.anchored = path.startswith("/")
        steps = [step for step in path.strip("/").split("/")]
        if not path.strip("/") or any(not step for step in steps):
            raise ConfigError(f"records must be a path of element names such as "
                              f"'accounts/account', got {self.text!r}")
        self.steps = [_parse_step(step) for step in steps]

    def matches(self, stack: list[tuple[str | None, str]], prefixes: dict[str, str]) -> bool:
        """Whether the element at the top of ``stack`` ((namespace, local name) from the
        root down) is a record."""
        if len(stack) < len(self.steps) or (self.anchored and len(stack) != len(self.steps)):
            return False
        for step, (namespace, name) in zip(self.steps, stack[-len(self.steps):], strict=True):
            if step.name != "*" and step.name != name:
                return False
            wanted = step.namespace
            if step.prefix is not None:
                wanted = prefixes.get(step.prefix)
                if wanted is None:
                    return False
            if wanted is not None and wanted != namespace:
                return False
        return True


def _parse_step(step: str) -> _Step:
    if step.startswith("{"):
        namespace, _, name = step[1:].partition("}")
        return _Step(name, namespace, None)
    prefix, _, name = step.rpartition(":")
    return _Step(name, None, prefix or None)


def records(path: str, name: str, record_path: RecordPath) -> Iterator[Any]:
    """Every record element of the file at ``path`` (its name for errors ``name``), in
    order; each is valid only until the next is asked for."""
    prefixes: dict[str, str] = {}
    stack: list[tuple[str | None, str]] = []
    depth: int | None = None  # the depth of the record being read, if inside one
    try:
        events = etree.iterparse(path, events=("start-ns", "start", "end"),
                                 resolve_entities=False, no_network=True)
        for event, item in events:
            if event == "start-ns":
                prefixes.setdefault(*item)
            elif event == "start":
                tag = item.tag
                namespace, _, local = tag[1:].partition("}") if tag[0] == "{" else ("", "", tag)
                stack.append((namespace or None, local))
                if depth is None and record_path.matches(stack, prefixes):
                    depth = len(stack)
            else:
                if depth == len(stack):
                    yield item
                    depth = None
                if depth is None:  # done with it: free it and what came before it
                    item.clear(keep_tail=False)
                    parent = item.getparent()
                    if parent is not None:
                        while item.getprevious() is not None:
                            del parent[0]
                stack.pop()
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise ReadError(f"malformed XML at column {column}: {exc.msg}", source=name,
                        line=line, hint="Fix the XML; every tag must be closed") from exc
    except OSError as exc:
        raise ReadError(f"cannot read: {exc}", source=name) from exc
