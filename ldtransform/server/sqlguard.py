"""Running a user's ``sqlQuery`` safely.

The query runs on a **read-only** connection that sees only temporary views of the
caller's community: one per itemType, named after it (``Account``) and in LD's
``<community>_<category>_<Type>`` form (``Demo_entity_Account``), with ``h_id`` and the
top-level fields as columns (lists and objects as JSON text). An authorizer allows a
plain SELECT over those views (and SQLite's ``json_each``/``json_tree`` to take the JSON
apart) and nothing else: no other table, no writes, no ATTACH, PRAGMA or extension loading.
A progress handler stops a query that runs longer than the time limit, and the caller stops
reading after the row limit.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ldtransform.schema import ItemSchema
from ldtransform.server.store import connect

__all__ = ["GuardedQuery", "QueryError", "view_names"]

_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_RECURSIVE}
_DENIED_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
                     "sqlite_offset"}
_PROGRESS_STEPS = 2000
#: SQLite's JSON table-valued functions: they read only the JSON text passed to them.
_TABLE_FUNCTIONS = {"json_each", "json_tree"}


class QueryError(Exception):
    """The query was refused, failed, or ran over a limit; the message says which."""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def view_names(community: str, schema: ItemSchema) -> tuple[str, str]:
    """The two names under which an itemType's view is visible."""
    return schema.item_type, f"{community}_{schema.category}_{schema.item_type}"


def _view_sql(name: str, community: str, schema: ItemSchema) -> str:
    # json_extract gives lists and objects as JSON text, booleans as 1/0.
    columns = ["h_id"] + [
        f"json_extract(data, {_sql_text('$.' + _quote(f.name))}) AS {_quote(f.name)}"
        for f in schema.fields if f.name != "h_id"]
    return (f"CREATE TEMP VIEW {_quote(name)} AS SELECT {', '.join(columns)} "
            f"FROM main.items WHERE community = {_sql_text(community)} AND "
            f"item_type = {_sql_text(schema.item_type)} AND deleted = 0")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class GuardedQuery:
    """A read-only, authorizer-guarded connection for one community's queries."""

    def __init__(self, db_path: Path, community: str, schemas: dict[str, ItemSchema], *,
                 time_limit: float, row_limit: int, value_bytes: int | None = None) -> None:
        self.time_limit = time_limit
        self.row_limit = row_limit
        self._deadline = float("inf")
        self._conn = connect(db_path, readonly=True)
        if value_bytes is not None:  # no text or blob longer, even inside the query
            self._conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, value_bytes)
        self._conn.row_factory = None
        self._views: set[str] = set()
        for schema in schemas.values():
            for name in view_names(community, schema):
                self._conn.execute(_view_sql(name, community, schema))
                self._views.add(name)
        # A table-valued function's table is built on first use, which the authorizer
        # would refuse (it writes the schema): build them now, before it is installed.
        self._conn.execute("SELECT * FROM " + ", ".join(
            f"{name}('[]')" for name in sorted(_TABLE_FUNCTIONS))).fetchall()
        self._conn.set_authorizer(self._authorize)
        self._conn.set_progress_handler(self._progress, _PROGRESS_STEPS)

    def _authorize(self, action: int, arg1: str | None, arg2: str | None,
                   db: str | None, source: str | None) -> int:
        if action in _ALLOWED:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION:
            return sqlite3.SQLITE_DENY if (arg2 or "").lower() in _DENIED_FUNCTIONS \
                else sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ:
            through_view = arg1 == "items" and db == "main" and source in self._views
            own_view = db == "temp" and arg1 in self._views
            common_table = db is None  # a WITH table of the query itself, not stored data
            table_function = arg1 in _TABLE_FUNCTIONS and db == "main"
            allowed = through_view or own_view or common_table or table_function
            return sqlite3.SQLITE_OK if allowed else sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_DENY

    def _progress(self) -> int:
        return 1 if time.monotonic() > self._deadline else 0

    def rows(self, sql: str) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
        """Column names and the rows of ``sql``; raises :class:`QueryError`."""
        self._deadline = time.monotonic() + self.time_limit
        try:
            cursor = self._conn.execute(sql)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise self._explain(exc) from exc
        if cursor.description is None:
            raise QueryError("the query returns no rows; only SELECT queries are allowed")
        columns = [d[0] for d in cursor.description]
        return columns, self._fetch(cursor)

    def _fetch(self, cursor: sqlite3.Cursor) -> Iterator[tuple[Any, ...]]:
        # One row at a time: memory holds one row, however large the rows are.
        try:
            for count, row in enumerate(cursor, start=1):
                if count > self.row_limit:
                    raise QueryError(f"the query yields more than the limit of "
                                     f"{self.row_limit} rows")
                yield row
        except sqlite3.Error as exc:
            raise self._explain(exc) from exc

    def _explain(self, exc: Exception) -> QueryError:
        text = str(exc)
        if "interrupted" in text:
            return QueryError(f"the query ran longer than the time limit of "
                              f"{self.time_limit:g} s and was stopped")
        if "not authorized" in text or "prohibited" in text:
            return QueryError(f"not allowed: {text}. Only SELECT over the itemType views "
                              f"({', '.join(sorted(self._views))}) is allowed")
        return QueryError(f"the database refused the query: {text}")

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()
