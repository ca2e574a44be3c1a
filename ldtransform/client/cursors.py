"""Where each ``ldtransform pull`` ended, so the next one starts there (``--since-last``).

One small JSON file in the user's state folder, keyed by server, community and itemType,
replaced atomically so a crash leaves the previous cursors whole.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from ldtransform._atomic import atomic_writer
from ldtransform.client._items import Cursor

__all__ = ["Cursors"]


class Cursors:
    """The updates-API cursors saved in ``path``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def default(cls, environ: Mapping[str, str] = os.environ) -> Cursors:
        """``$XDG_STATE_HOME/ldtransform/cursors.json`` (``~/.local/state/...``)."""
        state = environ.get("XDG_STATE_HOME") or str(
            Path(environ.get("HOME", "~"), ".local", "state"))
        return cls(Path(state).expanduser() / "ldtransform" / "cursors.json")

    def _all(self) -> dict[str, dict[str, object]]:
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return stored if isinstance(stored, dict) else {}

    def get(self, key: str) -> Cursor | None:
        """The cursor saved under ``key``, or None."""
        found = self._all().get(key)
        if not isinstance(found, dict):
            return None
        last_id = found.get("lastId")
        return Cursor(int(str(found.get("processedAfter", 0))),
                      None if last_id is None else str(last_id))

    def put(self, key: str, cursor: Cursor) -> None:
        """Save ``cursor`` under ``key`` (atomically)."""
        stored = self._all()
        stored[key] = {"processedAfter": cursor.processed_after, "lastId": cursor.last_id}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(self.path) as handle:
            handle.write(json.dumps(stored, indent=2, sort_keys=True).encode("utf-8"))
