"""Validating a DataFrame: valid and rejected rows keep its index, so they join back."""

from __future__ import annotations

import pandas as pd
import pytest

import ldtransform
from ldtransform import ItemSchema

SCHEMA = ItemSchema.from_dict({
    "itemType": "Thing", "primaryKey": ["code"],
    "fields": [{"name": "code", "constraints": {"required": True}},
               {"name": "count", "type": "integer"}],
})


@pytest.mark.parametrize("index", [
    pd.Index(["north", "south", "east", "west"], name="region"),
    pd.Index([10, 3, 7, 42]),
])
def test_valid_and_rejected_rows_keep_the_index(index: pd.Index) -> None:
    frame = pd.DataFrame({"code": ["a", "b", "", "d"], "count": ["1", "x", "3", "4"]},
                         index=index)
    for result in (ldtransform.validate(frame, SCHEMA), frame.ld.validate(SCHEMA)):
        assert list(result.valid.index) == [index[0], index[3]]
        assert list(result.valid["code"]) == ["a", "d"]
        rejected = result.rejected
        assert list(rejected.index) == [index[1], index[2]]
        assert list(rejected["_row"]) == [index[1], index[2]]
        assert result.valid.index.name == index.name
        # The results join back to the source frame by label.
        assert frame.loc[rejected.index, "count"].tolist() == ["x", "3"]
        joined = frame.join(rejected["_errors"])
        assert joined["_errors"].notna().tolist() == [False, True, True, False]
        assert frame.loc[result.valid.index, "code"].tolist() == ["a", "d"]


def test_a_default_index_gives_its_labels_and_the_report_counts_from_one() -> None:
    frame = pd.DataFrame({"code": ["a", ""], "count": ["1", "2"]})
    result = ldtransform.validate(frame, SCHEMA)
    assert list(result.rejected["_row"]) == [1] and list(result.rejected.index) == [1]
    assert [issue.row for issue in result.report.issues] == [2]
