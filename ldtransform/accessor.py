"""The ``DataFrame.ld`` accessor: ``df.ld.validate("Account.json")`` for pandas users.

Registered when pandas and ldtransform are both imported, in either order of use
(``import ldtransform`` registers it if pandas is loaded; anything in ldtransform that
loads pandas registers it too).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from ldtransform.frames import Frames
    from ldtransform.result import Result
    from ldtransform.schema import ItemSchema

__all__ = ["LdAccessor"]


@pd.api.extensions.register_dataframe_accessor("ld")
class LdAccessor:
    """ldtransform on a DataFrame: ``df.ld.validate(schema)``, ``df.ld.frames()``."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def validate(self, schema: ItemSchema | str | os.PathLike[str], **options: Any) -> Result:
        """Validate this DataFrame against ``schema`` (see :func:`ldtransform.validate`).

        ``valid`` and ``rejected`` keep this DataFrame's index and ``_row`` is the index
        label, so they join back to it; row numbers in the report count its rows from 1."""
        from ldtransform.result import validate

        return validate(self._frame, schema, **options)

    def frames(self, *, batch_size: int = 65_536) -> Frames:
        """This DataFrame as :class:`~ldtransform.frames.Frames`."""
        from ldtransform.frames import Frames

        return Frames.from_pandas(self._frame, batch_size=batch_size)
