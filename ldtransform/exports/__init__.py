"""The way back: LD export results as typed Frames and DataFrames.

:func:`read_export` streams result files (JSON item envelopes, plain or templated CSV)
into :class:`ExportFrames` typed by the itemType schema; :func:`export_frame` runs an
export through an LD client and returns the rows as a DataFrame::

    frame = ldtransform.export_frame(client, "Account", sql="SELECT * FROM Account",
                                     schema="samples/schemas/Account.json")
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any, Literal, overload

from ldtransform.exports._columns import Children, Enums
from ldtransform.exports._frames import ChildRows, ExportFrames, typed_pandas
from ldtransform.exports._reader import read_export
from ldtransform.schema import ItemSchema

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ChildRows", "ExportFrames", "export_frame", "read_export", "typed_pandas"]


@overload
def export_frame(client: Any, item_type: str, *, sql: str | None = ...,
                 filters: dict[str, Any] | None = ...,
                 schema: ItemSchema | str | os.PathLike[str] | None = ...,
                 dest: str | os.PathLike[str] | None = ..., content_type: str = ...,
                 template: str | os.PathLike[str] | None = ..., job_name: str | None = ...,
                 children: Literal["list"] = ..., enums: Enums = ...,
                 headers: bool = ...) -> pd.DataFrame: ...
@overload
def export_frame(client: Any, item_type: str, *, sql: str | None = ...,
                 filters: dict[str, Any] | None = ...,
                 schema: ItemSchema | str | os.PathLike[str] | None = ...,
                 dest: str | os.PathLike[str] | None = ..., content_type: str = ...,
                 template: str | os.PathLike[str] | None = ..., job_name: str | None = ...,
                 children: Literal["explode"], enums: Enums = ...,
                 headers: bool = ...) -> dict[str, pd.DataFrame]: ...


def export_frame(client: Any, item_type: str, *, sql: str | None = None,
                 filters: dict[str, Any] | None = None,
                 schema: ItemSchema | str | os.PathLike[str] | None = None,
                 dest: str | os.PathLike[str] | None = None,
                 content_type: str = "application/json",
                 template: str | os.PathLike[str] | None = None, job_name: str | None = None,
                 children: Children = "list", enums: Enums = "category",
                 headers: bool = False) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """Export ``item_type`` (every item, the ``filters`` matches, or the rows of ``sql``)
    through ``client``, wait for the job, download its files into ``dest`` (a temporary
    folder by default) and read them into a DataFrame typed by ``schema``.

    ``client`` needs ``export(...)``, ``wait(job)`` and ``download(job, dest)`` (an
    :class:`~ldtransform.client.LDClient`); a job that does not complete raises the
    client's error. With ``children="explode"`` the answer is a dict: the items under
    ``item_type`` and each child list's rows under its field name (see
    :func:`read_export`).
    """
    job = client.export(item_type, job_name=job_name or f"{item_type} export",
                        content_type=content_type, template=template, sql=sql,
                        filters=filters)
    job = client.wait(job)
    with tempfile.TemporaryDirectory(prefix="ld-export-") as scratch:
        paths = client.download(job, dest if dest is not None else scratch)
        frames = read_export(paths, schema, template=template, children=children,
                             enums=enums, headers=headers)
        items = frames.to_pandas()
        if children != "explode":
            return items
        return {item_type: items,
                **{name: rows.to_pandas() for name, rows in frames.children.items()}}
