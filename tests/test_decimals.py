"""Decimals are exact: money read from text reaches LD items digit for digit, never via float."""

from __future__ import annotations

import io
import json
from decimal import Context, Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import ldtransform
from ldtransform import Frames, ItemSchema
from ldtransform.cli import main
from ldtransform.errors import SchemaError
from ldtransform.writers.csv_template import TemplateCsvWriter
from ldtransform.writers.items_json import ItemsJsonWriter


def schema(**price: Any) -> ItemSchema:
    return ItemSchema.from_dict({
        "itemType": "Invoice", "primaryKey": ["code"],
        "fields": [{"name": "code", "constraints": {"required": True}},
                   {"name": "price", "type": "decimal", **price}],
    })


DEFAULT = schema()
FLOAT_SUM = Decimal("0.30000000000000004")  # 0.1 + 0.2 in binary floating point


def validated(tmp_path: Path, prices: list[str], item: ItemSchema = DEFAULT
              ) -> ldtransform.Result:
    path = tmp_path / "invoices.csv"
    lines = ["code,price", *(f"{i},{p}" for i, p in enumerate(prices))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ldtransform.validate(path, item)


def items_text(table: pa.Table, item: ItemSchema = DEFAULT) -> str:
    sink = io.BytesIO()
    ItemsJsonWriter(schema=item).write(Frames.from_table(table), sink)
    return sink.getvalue().decode()


def exact(text: str) -> list[dict[str, Any]]:
    """Items read back with every JSON number as an exact Decimal."""
    items = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    return [item["data"] for item in items]


def spellings(value: Decimal) -> st.SearchStrategy[str]:
    plain = format(value, "f")
    sign, digits = ("-", plain[1:]) if plain.startswith("-") else ("", plain)
    return st.sampled_from([plain, sign + "000" + digits, ("+" if not sign else "-") + digits,
                            plain + ("0" if "." in plain else ".00")])


@st.composite
def decimal_values(draw: st.DrawFn) -> Decimal:
    """Any value of the default decimal128(38, 18): up to 20 digits before the point."""
    places = draw(st.integers(0, 18))
    unscaled = draw(st.integers(-(10 ** (20 + places)) + 1, 10 ** (20 + places) - 1))
    return Decimal(f"{unscaled}e-{places}")  # exact: no context rounds it


decimal_texts = decimal_values().flatmap(spellings)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(texts=st.lists(decimal_texts, min_size=1, max_size=8))
@example(texts=["0.1", "0.30000000000000004", "12345678901234567.89", "-12345678901234567.89",
                "0", "-0.0", "000123.4500", "99999999999999999999.999999999999999999",
                "0.000000000000000001", "1e3", "2.5E-7"])
def test_decimal_text_reaches_items_json_exactly(tmp_path: Path, texts: list[str]) -> None:
    result = validated(tmp_path, texts)
    assert result.report.ok, result.report.issues[:3]
    text = items_text(result.valid_table)
    assert [d["price"] for d in exact(text)] == [Decimal(t) for t in texts]
    # Written as plain JSON numbers that keep a point: no exponent, no float rounding.
    for written in json.loads(text, parse_float=str, parse_int=str):
        price = written["data"]["price"]
        assert "." in price and "e" not in price.lower(), price
    # ldtransform's own JSON reader reads numbers as float64, whose shortest text keeps
    # every value of up to 15 significant digits (and 0.30000000000000004) exactly.
    path = tmp_path / "invoices.items.json"
    path.write_text(text, encoding="utf-8")
    again = ldtransform.validate(path, DEFAULT).valid_table.to_pylist()
    read = {row["code"]: row["price"] for row in again}
    for code, value in enumerate(Decimal(t) for t in texts):
        if len(value.normalize(Context(prec=60)).as_tuple().digits) <= 15 or value == FLOAT_SUM:
            assert read[str(code)] == value


def test_decimals_are_typed_with_the_schema_precision_and_scale() -> None:
    assert DEFAULT.field("price").to_arrow() == pa.decimal128(38, 18)
    assert schema(precision=10, scale=2).to_arrow().field("price").type == pa.decimal128(10, 2)


def test_zero_and_whole_values_keep_a_point_and_lose_only_trailing_zeros(tmp_path: Path) -> None:
    item = schema(precision=12, scale=4)
    result = validated(tmp_path, ["0", "0.00", "100", "-2.5000", "7.0001", ""], item)
    text = items_text(result.valid_table, item)
    assert [line.split('"price":')[1].split("}")[0] for line in text.splitlines()[1:-1]] == [
        "0.0", "0.0", "100.0", "-2.5", "7.0001", "null"]


@pytest.mark.parametrize(("price", "words"), [
    ("1.234", "after the decimal point"),          # scale 2: never rounded to 1.23
    ("0.001", "after the decimal point"),
    ("123456789.5", "before the decimal point"),   # precision 10 - scale 2 = 8 digits
    ("-100000000", "before the decimal point"),
    ("1e8", "before the decimal point"),
])
def test_more_digits_than_the_field_holds_is_a_type_error(tmp_path: Path, price: str,
                                                          words: str) -> None:
    result = validated(tmp_path, ["12345678.99", price, "-0.5"], schema(precision=10, scale=2))
    [issue] = result.report.issues
    assert (issue.row, issue.field, issue.code) == (3, "price", "type-error")
    assert words in issue.message and repr(price) in issue.message, issue.message
    assert result.valid_table.column("price").to_pylist() == [Decimal("12345678.99"),
                                                              Decimal("-0.5")]


def test_the_default_scale_is_18_digits(tmp_path: Path) -> None:
    result = validated(tmp_path, ["0.123456789012345678", "0.1234567890123456789"])
    [issue] = result.report.issues
    assert issue.row == 3 and "scale" in issue.message and "18" in issue.message


def test_range_constraints_compare_exactly(tmp_path: Path) -> None:
    item = schema(scale=2, constraints={"minimum": 0, "maximum": 0.3})
    result = validated(tmp_path, ["0.30", "0.31", "-0.01", "0.1"], item)
    assert {(i.row, i.code) for i in result.report.issues} == {(3, "above-maximum"),
                                                               (4, "below-minimum")}


def test_typed_sources_become_exact_decimals(tmp_path: Path) -> None:
    path = tmp_path / "invoices.parquet"
    pq.write_table(pa.table({
        "code": ["a", "b", "c", "d"],
        "price": [0.1, 0.30000000000000004, 1e-5, float("nan")],
        "fixed": pa.array([Decimal("1.250"), Decimal("-3.000"), None, Decimal("0.001")],
                          pa.decimal128(5, 3)),
    }), path)
    item = ItemSchema.from_dict({"itemType": "Invoice", "fields": [
        {"name": "code"}, {"name": "price", "type": "decimal"},
        {"name": "fixed", "type": "decimal", "precision": 6, "scale": 2}]})
    result = ldtransform.validate(path, item)
    assert {(i.row, i.field) for i in result.report.issues} == {(4, "price"), (4, "fixed")}
    table = result.valid_table
    assert table.column("price").to_pylist() == [Decimal("0.1"), Decimal("0.30000000000000004"),
                                                 Decimal("0.00001")]
    assert table.column("fixed").to_pylist() == [Decimal("1.25"), Decimal("-3"), None]


def test_template_csv_spells_decimals_alike_in_both_modes(tmp_path: Path) -> None:
    item = ItemSchema.from_dict({"itemType": "Invoice", "fields": [
        {"name": "code"}, {"name": "price", "type": "decimal"},
        {"name": "parts", "type": "array", "items": "decimal"}]})
    path = tmp_path / "invoices.csv"
    path.write_text('code,price,parts\n0,0.1,"[0.10, 2]"\n1,100,[]\n'
                    '2,-12345678901234567.89,"[1e-9]"\n3,,\n', encoding="utf-8")
    result = ldtransform.validate(path, item)
    assert result.report.ok, result.report.issues
    outputs = []
    for mode in ("column", "row"):
        writer = TemplateCsvWriter(schema=item, mode=mode, template_text=(
            "{% block row %}{{ item.code }};{{ item.price }};{{ item.parts }}{% endblock %}"))
        sink = io.BytesIO()
        writer.write(Frames.from_table(result.valid_table), sink)
        outputs.append(sink.getvalue())
    assert outputs[0] == outputs[1]
    assert outputs[0].decode().split("\r\n")[:4] == [
        "0;0.1;\"[0.1,2.0]\"", "1;100.0;[]", "2;-12345678901234567.89;[0.000000001]", "3;;[]"]


@pytest.mark.parametrize(("field", "where"), [
    ({"type": "decimal", "precision": 39}, "precision"),
    ({"type": "decimal", "precision": 0}, "precision"),
    ({"type": "decimal", "precision": 5, "scale": 6}, "scale"),
    ({"type": "decimal", "scale": -1}, "scale"),
    ({"type": "decimal", "scale": 1.5}, "scale"),
    ({"type": "number", "scale": 2}, "scale"),
    ({"type": "decimal", "scale": 2, "constraints": {"minimum": 0.005}}, r"constraints\.minimum"),
    ({"type": "decimal", "precision": 4, "constraints": {"maximum": 10**5}},
     r"constraints\.maximum"),
    ({"type": "decimal", "constraints": {"maximum": "lots"}}, r"constraints\.maximum"),
])
def test_precision_and_scale_are_checked_in_the_schema(field: dict[str, Any],
                                                       where: str) -> None:
    with pytest.raises(SchemaError, match=rf"\$\.fields\[0\]\.{where}"):
        ItemSchema.from_dict({"itemType": "T", "fields": [{"name": "x", **field}]})


def test_schema_show_gives_a_decimal_its_precision_and_scale(tmp_path: Path) -> None:
    path = tmp_path / "invoice.json"
    path.write_text(json.dumps({"itemType": "Invoice", "fields": [
        {"name": "price", "type": "decimal", "precision": 12, "scale": 2},
        {"name": "rate", "type": "decimal"}]}), encoding="utf-8")
    result = CliRunner().invoke(main, ["schema", "show", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "decimal(12,2)" in result.output and "decimal(38,18)" in result.output
