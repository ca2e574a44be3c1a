"""Numbers are what they say: out of range is an error, never inf, null or a rounded value."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ldtransform
from ldtransform import Frames, ItemSchema
from ldtransform.errors import LdTransformError, TemplateError
from ldtransform.writers.csv_template import TemplateCsvWriter
from ldtransform.writers.items_json import ItemsJsonWriter

SCHEMA = ItemSchema.from_dict({
    "itemType": "Thing", "primaryKey": ["code"],
    "fields": [{"name": "code", "constraints": {"required": True}},
               {"name": "count", "type": "integer"},
               {"name": "amount", "type": "number"}],
})
INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)


def validated(tmp_path: Path, rows: list[tuple[str, str, str]]) -> ldtransform.Result:
    path = tmp_path / "things.csv"
    lines = ["code,count,amount", *(",".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ldtransform.validate(path, SCHEMA)


def problems(result: ldtransform.Result) -> dict[tuple[int | None, str | None], str]:
    return {(i.row, i.field): i.message for i in result.report.issues
            if i.code == "type-error"}


def test_the_whole_int64_range_is_a_whole_number(tmp_path: Path) -> None:
    result = validated(tmp_path, [("a", str(INT64_MAX), ""), ("b", str(INT64_MIN), ""),
                                  ("c", "+0009223372036854775807", ""), ("d", "-0", "")])
    assert result.report.ok, result.report.issues
    assert result.valid_table.column("count").to_pylist() == [INT64_MAX, INT64_MIN,
                                                              INT64_MAX, 0]


@pytest.mark.parametrize("text", [str(INT64_MAX + 1), str(INT64_MIN - 1),
                                  "99999999999999999999", "1" * 40])
def test_a_whole_number_outside_int64_is_out_of_range(tmp_path: Path, text: str) -> None:
    result = validated(tmp_path, [("a", "1", ""), ("b", text, "")])
    assert result.report.rows_rejected == 1
    message = problems(result)[(3, "count")]
    assert "out of range" in message and str(INT64_MAX) in message, message


@pytest.mark.parametrize(("text", "words"), [
    ("1e309", "too large"), ("-1e309", "too large"), ("1.8e308", "too large"),
    ("1e-400", "too small"), ("-2.5e-330", "too small"), ("0.0000001e-320", "too small"),
])
def test_a_number_float64_cannot_hold_is_a_type_error(tmp_path: Path, text: str,
                                                      words: str) -> None:
    result = validated(tmp_path, [("a", "", "1.5"), ("b", "", text)])
    assert result.report.rows_rejected == 1 and result.valid_table.num_rows == 1
    message = problems(result)[(3, "amount")]
    assert words in message and repr(text) in message, message


def test_zero_in_any_spelling_and_the_extremes_that_fit_are_valid(tmp_path: Path) -> None:
    texts = ["0", "-0.0", "0e-999", "000.000e5", "1.7976931348623157e308",
             "2.2250738585072014e-308", "-1e-300"]
    result = validated(tmp_path, [(str(i), "", t) for i, t in enumerate(texts)])
    assert result.report.ok, result.report.issues
    assert result.valid_table.column("amount").to_pylist() == [float(t) for t in texts]


def test_typed_sources_out_of_range_are_type_errors_not_crashes(tmp_path: Path) -> None:
    path = tmp_path / "things.parquet"
    pq.write_table(pa.table({
        "code": ["a", "b", "c", "d"],
        "count": pa.array([1, INT64_MAX, INT64_MAX + 1, 2**64 - 1], pa.uint64()),
        "amount": [1.5, float("inf"), float("nan"), -float("inf")],
    }), path)
    result = ldtransform.validate(path, SCHEMA)
    assert result.valid_table.column("count").to_pylist() == [1]
    found = problems(result)
    # Rows of a Parquet file count from 1.
    assert {key for key in found if key[1] == "count"} == {(3, "count"), (4, "count")}
    assert {key for key in found if key[1] == "amount"} == {(2, "amount"), (3, "amount"),
                                                            (4, "amount")}
    assert "out of range" in found[(3, "count")]
    assert "finite" in found[(2, "amount")]


UNWRITABLE = pa.table({"code": ["a", "b", "c"], "count": [1, 2, 3],
                       "amount": [1.0, float("inf"), float("nan")]})


def test_items_json_refuses_inf_and_nan_rather_than_write_null() -> None:
    sink = io.BytesIO()
    with pytest.raises(LdTransformError, match="not a finite number") as caught:
        ItemsJsonWriter(schema=SCHEMA).write(Frames.from_table(UNWRITABLE), sink)
    assert isinstance(caught.value, ValueError)
    assert b"null" not in sink.getvalue()


@pytest.mark.parametrize("template", ["{% block row %}{{ item.amount }}{% endblock %}",
                                      "{% block row %}{{ item.amount * 1 }}{% endblock %}"])
def test_template_csv_refuses_inf_and_nan_in_both_modes(template: str) -> None:
    writer = TemplateCsvWriter(template_text=template)
    with pytest.raises((LdTransformError, TemplateError), match="not a finite number"):
        writer.write(Frames.from_table(UNWRITABLE), io.BytesIO())


def test_items_carry_the_int64_extremes_exactly(tmp_path: Path) -> None:
    result = validated(tmp_path, [("a", str(INT64_MAX), "1e308"), ("b", str(INT64_MIN), "")])
    sink = io.BytesIO()
    ItemsJsonWriter(schema=SCHEMA).write(Frames.from_table(result.valid_table), sink)
    data: list[dict[str, Any]] = [item["data"] for item in json.loads(sink.getvalue())]
    assert [d["count"] for d in data] == [INT64_MAX, INT64_MIN]
    assert data[0]["amount"] == 1e308


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(numbers=st.lists(st.integers(-(10**20), 10**20) | st.integers(-999, 999), min_size=1,
                        max_size=12),
       zeros=st.lists(st.sampled_from(["0", "-0.0", "0e-999", "1e-400", "5e-324", "2.5"]),
                      min_size=1, max_size=12))
def test_whole_numbers_and_near_zero_are_judged_in_any_mix(
        tmp_path: Path, numbers: list[int], zeros: list[str]) -> None:
    """A column of short whole numbers is checked without the range test; a column
    holding one long enough to leave int64 takes it. Either way, out of range is an
    error; likewise only text of zeros becomes 0.0."""
    rows = max(len(numbers), len(zeros))
    result = validated(tmp_path, [(str(i), str(numbers[i % len(numbers)]),
                                   zeros[i % len(zeros)]) for i in range(rows)])
    outside = {i + 2 for i in range(rows)
               if not INT64_MIN <= numbers[i % len(numbers)] <= INT64_MAX}
    tiny = {i + 2 for i in range(rows) if zeros[i % len(zeros)] in ("1e-400", "5e-324")}
    refused = {(i.row, i.field) for i in result.report.issues}
    assert refused == {(r, "count") for r in outside} | {(r, "amount") for r in tiny}
    kept = result.valid_table.to_pylist()
    assert [r["count"] for r in kept] == [numbers[i % len(numbers)] for i in range(rows)
                                          if i + 2 not in outside | tiny]


# Text that tests where plain digits stop and the full number grammar starts.
NUMBERISH = st.text(alphabet="0123456789.+-eE \t٣x", max_size=8) | st.sampled_from(
    ["", ".", "..", "5.", ".5", "1.2.3", " 7 ", "+5", "-0", "1e5", "1e400", "1e-400", "0.0",
     "٣", "12 3", "0x1F", "inf", "nan"])


def _read_by_pattern(values: list[str | None], kind: str) -> list[object]:
    """The reference: every value trimmed and matched against the whole number grammar."""
    import re

    from ldtransform._casting import INTEGER_TEXT, NUMBER_TEXT
    pattern = re.compile(INTEGER_TEXT if kind == "integer" else NUMBER_TEXT, re.ASCII)
    result: list[object] = []
    for value in values:
        text = None if value is None else value.strip(" \t")
        if text is None or not pattern.fullmatch(text):
            result.append(None)
        elif kind == "integer":
            number = int(text)
            result.append(number if INT64_MIN <= number <= INT64_MAX else None)
        else:
            number = float(text)
            tiny = number == 0 and any(c in "123456789" for c in text.lower().split("e")[0])
            result.append(None if number in (float("inf"), float("-inf")) or tiny
                          or 0 < abs(number) < 2.2250738585072014e-308 else number)
    return result


@settings(max_examples=300, deadline=None)
@given(values=st.lists(NUMBERISH | st.none(), min_size=1, max_size=30),
       kind=st.sampled_from(["integer", "number"]))
def test_plain_digits_and_the_full_grammar_read_alike(values: list[str | None],
                                                      kind: str) -> None:
    """Plain digits skip the pattern; whatever the mix, the numbers read are the ones the
    whole grammar gives, value by value."""
    from ldtransform._casting import convert_scalar
    converted = convert_scalar(pa.array(values, pa.string()), kind, missing=())
    assert converted.values.to_pylist() == _read_by_pattern(values, kind)
