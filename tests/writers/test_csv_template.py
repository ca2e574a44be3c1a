"""The template CSV writer: both modes agree, CSV parses back, errors point at lines."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ldtransform import registry
from ldtransform._template_limits import TemplateLimits
from ldtransform.errors import ConfigError, TemplateError
from ldtransform.frames import Frames
from ldtransform.schema import ItemSchema, load_schema
from ldtransform.writers import record_bytes
from ldtransform.writers._template_values import number_text
from ldtransform.writers._values import ld_text
from ldtransform.writers.csv_template import TemplateCsvWriter, default_template

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = ROOT / "samples" / "schemas" / "Account.json"
TEMPLATES = ROOT / "samples" / "templates"

CHILD = pa.struct([("city", pa.string()), ("since", pa.timestamp("us", tz="UTC")),
                   ("rank", pa.int64())])
SCHEMA = pa.schema([("id", pa.string()), ("name", pa.string()), ("count", pa.int64()),
                    ("amount", pa.float64()), ("flag", pa.bool_()), ("day", pa.date32()),
                    ("at", pa.timestamp("us", tz="UTC")), ("tags", pa.list_(pa.string())),
                    ("places", pa.list_(CHILD)), ("kind", pa.string())])

CELLS = ["item.id", "item.name", "item.count", "item.amount", "item.flag", "item.day",
         "item.at", 'item.tags | join(";")', "item.places[0].city", "item.places[-1].since",
         "item.places[0]", 'item["kind"] | dimension_value', "item.name | upper",
         'item.name | default("none")', 'item.at | ld_date("%Y/%m/%d")',
         'item.day | ld_datetime("%d.%m.%Y %H:%M")', "item.tags | length",
         'item.name | trim | lower | replace("a", "<a>")', "item.tags",
         'item.kind | dimension_path("/T/kind")', '"x,y"', "item.id | csv"]


def all_cells(delimiter: str = ",") -> str:
    """A template using every kind of cell, on lines of its own."""
    row = delimiter.join("{{ " + cell + " }}" for cell in CELLS)
    return ("{% block header %}id,name,count{% endblock %}\n"
            f"{{% block row %}}\n{row}\n{{% endblock %}}\n")


texts = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(
    ["", "007", '"', ",", "\r\n", "=1+1", "-5", "ß", " a ", "/A/kind[x]", "/A/k[a]/l[b]"]))
moments = st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30),
                       timezones=st.just(UTC))
child = st.fixed_dictionaries({"city": texts, "since": st.none() | moments,
                               "rank": st.none() | st.integers(-(2**63), 2**63 - 1)})
records = st.fixed_dictionaries({
    "id": texts, "name": texts, "count": st.none() | st.integers(-(2**63), 2**63 - 1),
    "amount": st.none() | st.floats(allow_nan=False, allow_infinity=False),
    "flag": st.none() | st.booleans(),
    "day": st.none() | st.dates(min_value=date(1000, 1, 2), max_value=date(9999, 12, 30)),
    "at": st.none() | moments, "tags": st.none() | st.lists(texts, max_size=3),
    "places": st.none() | st.lists(child, max_size=3), "kind": texts})


def lines(writer: TemplateCsvWriter, rows: list[dict[str, Any]],
          schema: pa.Schema = SCHEMA) -> list[str]:
    batch = pa.RecordBatch.from_pylist(rows, schema=schema)
    encoded: list[str] = writer.encode(batch).to_pylist()
    return encoded


def parsed(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def writer(template: str, **options: Any) -> TemplateCsvWriter:
    return TemplateCsvWriter(template_text=template, **options)


# -- the two modes ----------------------------------------------------------------------

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(records, min_size=1, max_size=8), safe=st.booleans(),
       delimiter=st.sampled_from([",", ";", "\t", "||"]))
def test_column_and_row_mode_write_the_same_bytes(rows: list[dict[str, Any]], safe: bool,
                                                  delimiter: str) -> None:
    template = all_cells(delimiter)
    column = writer(template, spreadsheet_safe=safe, delimiter=delimiter)
    row = writer(template, spreadsheet_safe=safe, delimiter=delimiter, mode="row")
    assert column.mode == "column" and row.mode == "row"
    assert lines(column, rows) == lines(row, rows)


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(records, min_size=1, max_size=8))
def test_output_parses_back_as_the_values(rows: list[dict[str, Any]]) -> None:
    template = ("{% block row %}{{ item.id }},{{ item.name }},{{ item.count }},"
                "{{ item.flag }},{{ item.places[0].city }},{{ item.tags | join('|') }},"
                "{{ item.amount }}{% endblock %}")
    for mode in ("column", "row"):
        text = "".join(lines(writer(template, mode=mode), rows))
        expected = [[r["id"] or "", r["name"] or "",
                     "" if r["count"] is None else str(r["count"]),
                     "" if r["flag"] is None else str(r["flag"]).lower(),
                     (r["places"] or [{}])[0].get("city") or "",
                     "|".join(t or "" for t in r["tags"] or []),
                     ld_text(pa.array([r["amount"]], pa.float64())).fill_null("")[0].as_py()]
                    for r in rows]
        assert parsed(text) == expected


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_are_spelled_as_arrow_spells_them(value: float) -> None:
    assert number_text(value) == ld_text(pa.array([value], pa.float64()))[0].as_py()


def test_every_cell_kind_in_both_modes() -> None:
    row = {"id": "A1", "name": " Straße ", "count": 7, "amount": 2.0, "flag": True,
           "day": date(2014, 2, 1), "at": datetime(2014, 2, 1, 5, 0, 9, 999, tzinfo=UTC),
           "tags": ["Mon", None, "Fri"], "kind": "/T/kind[a]/sub[b]",
           "places": [{"city": "Boston", "since": None, "rank": 1},
                      {"city": 'Say "hi"', "since": datetime(2015, 1, 1, tzinfo=UTC),
                       "rank": None}]}
    expected = ["A1", " Straße ", "7", "2.0", "true", "2014-02-01T00:00:00+0000",
                "2014-02-01T05:00:09+0000", "Mon;;Fri", "Boston",
                "2015-01-01T00:00:00+0000",
                '{"city":"Boston","since":null,"rank":1}', "b", " STRASSE ", " Straße ",
                "2014/02/01", "01.02.2014 00:00", "3", "str<a>ße",
                '["Mon","","Fri"]', "/T/kind[a]/sub[b]", "x,y", "A1"]
    for mode in ("column", "row"):
        (line,) = lines(writer(all_cells(), mode=mode), [row])
        assert line.endswith('"x,y",A1\r\n')
        assert parsed(line) == [expected]


def test_absent_children_and_null_lists_are_empty_cells() -> None:
    rows = [{"places": []}, {"places": None}, {"places": [{"city": "X"}]}]
    template = "{% block row %}{{ item.places[1].city }}|{{ item.places[0].city }}{% endblock %}"
    for mode in ("column", "row"):
        assert lines(writer(template, mode=mode), rows) == ["|\r\n", "|\r\n", "|X\r\n"]


def test_dates_follow_the_schema_time_zone() -> None:
    schema = ItemSchema(item_type="T", timezone="America/New_York")
    template = "{% block row %}{{ item.day }},{{ item.at | ld_date }}{% endblock %}"
    row = {"day": date(2014, 2, 1), "at": datetime(2014, 2, 1, 3, tzinfo=UTC)}
    for mode in ("column", "row"):
        out = lines(TemplateCsvWriter(schema=schema, template_text=template, mode=mode),
                    [row])
        assert out == ["2014-02-01T05:00:00+0000,2014-01-31\r\n"]


#: Clock changes: skipped and repeated hours, a skipped midnight, a 30-minute change.
CHANGES = [("America/Sao_Paulo", datetime(2018, 11, 4)),
           ("America/Sao_Paulo", datetime(2019, 2, 17)),
           ("America/New_York", datetime(2021, 3, 14, 2)),
           ("America/New_York", datetime(2021, 11, 7, 1)),
           ("Europe/London", datetime(2021, 3, 28, 1)),
           ("America/Havana", datetime(2020, 3, 8)),
           ("Australia/Lord_Howe", datetime(2021, 10, 3, 2)),
           ("Asia/Beirut", datetime(2020, 3, 29))]


@settings(max_examples=100, deadline=None)
@given(change=st.sampled_from(CHANGES), offsets=st.lists(st.integers(-7200, 7200), min_size=1,
                                                         max_size=6))
def test_both_modes_read_local_times_alike_across_clock_changes(
        change: tuple[str, datetime], offsets: list[int]) -> None:
    zone, moment = change
    schema = ItemSchema(item_type="T", timezone=zone)
    rows = [{"at": moment + timedelta(seconds=s), "day": (moment + timedelta(seconds=s)).date()}
            for s in offsets]
    arrow = pa.schema([("at", pa.timestamp("us")), ("day", pa.date32())])
    template = ("{% block row %}{{ item.at }},{{ item.day }},"
                "{{ item.at | ld_date('%d %H:%M:%S') }},"
                "{{ item.day | ld_datetime('%d %H:%M') }}{% endblock %}")
    out = [lines(TemplateCsvWriter(schema=schema, template_text=template, mode=mode), rows,
                 schema=arrow) for mode in ("column", "row")]
    assert out[0] == out[1]


def test_a_date_whose_midnight_is_skipped_keeps_its_day() -> None:
    # Sao Paulo skipped 2018-11-04 00:00-01:00: that day starts at 01:00 local, 03:00 UTC
    schema = ItemSchema(item_type="T", timezone="America/Sao_Paulo")
    template = "{% block row %}{{ item.day }},{{ item.day | ld_date }}{% endblock %}"
    for mode in ("column", "row"):
        out = lines(TemplateCsvWriter(schema=schema, template_text=template, mode=mode),
                    [{"day": date(2018, 11, 4)}], schema=pa.schema([("day", pa.date32())]))
        assert out == ["2018-11-04T03:00:00+0000,2018-11-04\r\n"]


def test_complex_templates_fall_back_to_row_mode() -> None:
    template = ("{% block row %}{{ item.id }},{% if item.flag %}yes{% else %}no{% endif %},"
                "{{ item.count ~ '!' }}{% endblock %}")
    w = writer(template)
    assert w.mode == "row"
    assert lines(w, [{"id": "a", "flag": True, "count": 1}, {"id": "b,c"}]) == [
        "a,yes,1!\r\n", '"b,c",no,None!\r\n']
    with pytest.raises(TemplateError, match="column mode"):
        writer(template, mode="column")


# -- header, options, plain columns ---------------------------------------------------

def test_begin_is_the_header_alone_and_repeats_per_part() -> None:
    w = writer("{% block header %}\nid,name\n{% endblock %}\n"
               "{% block row %}\n{{ item.id }},{{ item.name }}\n{% endblock %}\nnot written")
    assert w.begin() == b"id,name\r\n"
    assert w.begin() == w.begin()
    assert lines(w, [{"id": "1", "name": "n"}]) == ["1,n\r\n"]
    assert writer("{% block row %}{{ item.id }}{% endblock %}").begin() == b""


def test_write_through_frames_and_registry() -> None:
    cls = registry.load("writer", "csv")
    assert cls is TemplateCsvWriter and cls.suffix == ".csv"
    table = pa.Table.from_pylist([{"id": str(i), "name": f"n{i}"} for i in range(5)],
                                 schema=SCHEMA)
    sink = io.BytesIO()
    w = cls(template_text="{% block header %}id{% endblock %}{% block row %}{{ item.id }}"
                          "{% endblock %}", line_ending="\n")
    assert w.write(Frames.from_table(table, batch_size=2), sink) == 5
    assert sink.getvalue() == b"id\n0\n1\n2\n3\n4\n"


def test_spreadsheet_safe_prefixes_formula_cells_only_when_asked() -> None:
    risky = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "a=b", ""]
    template = "{% block row %}=literal,{{ item.name }}{% endblock %}"
    rows = [{"name": v} for v in risky]
    for mode in ("column", "row"):
        safe = [parsed(line)[0] for line in lines(
            writer(template, spreadsheet_safe=True, mode=mode), rows)]
        assert safe == [["=literal", v] for v in
                        ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "a=b", ""]]
        plain = [parsed(line)[0] for line in lines(writer(template, mode=mode), rows)]
        assert plain == [["=literal", v] for v in risky]


def test_delimiter_and_line_ending_options() -> None:
    w = writer("{% block row %}{{ item.id }};{{ item.name }}{% endblock %}", delimiter=";",
               line_ending="\n")
    assert lines(w, [{"id": "a;b", "name": "c,d"}]) == ['"a;b";c,d\n']
    with pytest.raises(ConfigError):
        writer("{% block row %}{% endblock %}", delimiter='"')


def test_plain_columns_without_a_template() -> None:
    schema = load_schema(ACCOUNT)
    w = TemplateCsvWriter(schema=schema)
    assert w.mode == "plain"
    assert w.begin().decode().split(",")[:3] == ["accountId", "accountNumber", "name"]
    batch = pa.RecordBatch.from_pylist(
        [{"accountId": "A", "name": "x, y", "exposure": 1.0, "creditBlock": False,
          "addresses": [{"city": "Boston", "addressType": "Work"}],
          "deliveryDays": ["Mon"], "accountClass": "/Account/accountClass[cash]",
          "currency": "USD"}], schema=schema.to_arrow())
    (row,) = parsed(w.encode(batch)[0].as_py())
    header = w.begin().decode().strip().split(",")
    cells = dict(zip(header, row, strict=True))
    assert cells["name"] == "x, y" and cells["exposure"] == "1.0"
    assert cells["deliveryDays"] == '["Mon"]' and cells["phones"] == ""
    assert '"city":"Boston"' in cells["addresses"]
    with pytest.raises(ConfigError, match="schema"):
        TemplateCsvWriter().begin()


# -- errors and security --------------------------------------------------------------

def test_unknown_field_names_file_line_and_close_match(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.j2"
    path.write_text("{% block header %}h{% endblock %}\n{% block row %}\n{{ item.id }},\n"
                    "{{ item.places[0].citty }}{% endblock %}\n", encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        lines(TemplateCsvWriter(template=path), [{"id": "1"}])
    message = str(caught.value)
    assert message.startswith(f"{path}:4:") and "'citty'" in message
    assert "did you mean 'city'" in message and caught.value.line == 4


def test_undefined_name_in_row_mode_names_line_and_variable() -> None:
    template = "{% block row %}{% if item.flag %}\n{{ nothing }}{% endif %}{% endblock %}"
    with pytest.raises(TemplateError, match=r"^<template>:2: 'nothing' is undefined"):
        lines(writer(template), [{"flag": True}])
    field = "{% block row %}{% if true %}{{ item.idd }}{% endif %}{% endblock %}"
    with pytest.raises(TemplateError, match=r"<template>:1: .*'idd'.*did you mean 'id'"):
        lines(writer(field), [{"id": "1"}])


def test_syntax_errors_name_file_and_line() -> None:
    with pytest.raises(TemplateError, match=r"^<template>:3: syntax error"):
        writer("{% block row %}\n{{ item.id }}\n{{ item.id | }}{% endblock %}")
    with pytest.raises(TemplateError, match=r"(?i)<template>:2: no filter named 'nope'"):
        writer("{% block row %}\n{{ item.id | nope }}{% endblock %}")
    with pytest.raises(TemplateError, match="block row"):
        writer("{% block header %}x{% endblock %}")


@pytest.mark.parametrize("expression", [
    "item.__class__.__mro__", "item.name.__class__", "item['__class__']",
    "item.name | attr('__class__')", "item.name.upper.__globals__", "item._private",
])
def test_reaching_python_internals_is_a_security_error(expression: str) -> None:
    for block in ("{{ %s }}", "{%% if true %%}{{ %s }}{%% endif %%}"):
        template = "{% block row %}" + block % expression + "{% endblock %}"
        with pytest.raises(TemplateError, match="Python internals"):
            lines(writer(template), [{"name": "x"}])


def test_filter_misuse_is_a_template_error_with_its_line() -> None:
    template = "{% block row %}\n{{ item.name | ld_date }}{% endblock %}"
    for mode in ("column", "row"):
        with pytest.raises(TemplateError, match=r"<template>:2: .*date"):
            lines(writer(template, mode=mode), [{"name": "x"}])


# -- limits -----------------------------------------------------------------------------

@pytest.mark.parametrize("expression", [
    "'x' * 10**9", "[1, 2] * 10**9", "10**9 * 'x'", "'x' ~ 'y' * 10**9", "'x' | center(10**9)",
    "'x'.ljust(10**9)", "'%*d' % (10**9, 1)", "'{:>1000000000}'.format(1)",
    "'%01000000000d' | format(1)", "('a' * 1000) | replace('a', 'x' * 100000)",
    "(range(10000) | list) | join('x' * 10000)", "10 ** 1000000",
    "range(3) | map('center', 10**9) | list",
])
def test_a_value_over_the_size_limit_is_refused_before_it_is_built(expression: str) -> None:
    template = "{% block row %}{{ item.id }},\n{{ " + expression + " }}{% endblock %}"
    with pytest.raises(TemplateError, match=r"^<template>:2: .*(limit|bits)"):
        lines(writer(template), [{"id": "1"}])


def test_doubling_with_tilde_stops_at_the_size_limit() -> None:
    template = ("{% block row %}{% set ns = namespace(s='x' * 1000) %}"
                "{% for i in range(30) %}\n{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
                "{{ ns.s | length }}{% endblock %}")
    with pytest.raises(TemplateError, match=r"^<template>:2: the result of '~'.*limit"):
        lines(writer(template, limits=TemplateLimits(value_chars=100_000)), [{"id": "1"}])


def test_a_record_over_the_time_or_output_limit_is_an_error() -> None:
    endless = ("{% block row %}{% for i in range(100000) %}{% for j in range(100000) %}"
               "{% endfor %}{% endfor %}{% endblock %}")
    with pytest.raises(TemplateError, match=r"longer than the limit of 0.2 s"):
        lines(writer(endless, limits=TemplateLimits(time_limit=0.2)), [{"id": "1"}])
    wordy = "{% block row %}{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}{% endblock %}"
    with pytest.raises(TemplateError, match=r"output is longer than the limit of 10,000,000"):
        lines(writer(wordy), [{"id": "1"}])


@pytest.mark.parametrize("expression", [
    "'x' | attr('format')", "item.tags | map('upper')", "range", "range(3)",
    "cycler",
])
def test_a_function_or_other_object_is_not_written(expression: str) -> None:
    template = "{% block header %}h{% endblock %}{% block row %}\n\n{{ " + expression + \
        " }}{% endblock %}"
    with pytest.raises(TemplateError, match=r"^<template>:3: the expression gives .*not data"):
        lines(writer(template), [{"name": "x", "tags": ["a"]}])


def test_convert_refuses_a_template_that_builds_too_much(tmp_path: Path) -> None:
    from ldtransform.cli import main

    template = tmp_path / "big.csv.j2"
    template.write_text("{% block header %}id{% endblock %}\n{% block row %}\n"
                        "{{ item.accountId }},{{ 'x' * 10**9 }}\n{% endblock %}\n",
                        encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "convert", str(ROOT / "samples" / "accounts.xlsx"), "--schema", str(ACCOUNT),
        "--mapping", str(ROOT / "samples" / "mappings" / "accounts.toml"), "--to", "csv",
        "--template", str(template), "--out", str(out)])
    assert result.exit_code == 4, result.output
    assert f"{template}:3: the result of '*'" in result.output
    assert not out.exists() or not any(out.iterdir())


# -- samples and `template init` ------------------------------------------------------

def account_batch() -> pa.RecordBatch:
    schema = load_schema(ACCOUNT)
    rows = [{"accountId": "ABC123", "name": " Café Zoë ", "currency": "usd",
             "accountClass": "/Account/accountClass[invoiced]", "creditBlock": False,
             "accountFamily": "/Account/accountFamily[A]/group[B]", "exposure": 0.0,
             "addresses": [{"city": "Boston", "addressLine1": "1 Main St, Apt 2",
                            "addressType": "Work"}],
             "accountLicenseInformation": [{
                 "licenseNumber": "LIC-000001",
                 "licenseValidFrom": datetime(2014, 2, 1, 5, tzinfo=UTC),
                 "licenseValidTo": datetime(2015, 2, 28, 5, tzinfo=UTC)}],
             "deliveryDays": ["Mon", "Fri"], "phones": []},
            {"accountId": "000417", "name": "=cmd()", "currency": "CAD",
             "accountClass": "/Account/accountClass[cash]", "overallBlock": True}]
    return pa.RecordBatch.from_pylist(rows, schema=schema.to_arrow())


def test_sample_templates_render_account_items() -> None:
    schema = load_schema(ACCOUNT)
    w = TemplateCsvWriter(schema=schema, template=TEMPLATES / "account.csv.j2")
    assert w.mode == "column"
    header, first, second = parsed(w.begin().decode() + "".join(
        w.encode(account_batch()).to_pylist()))
    first_cells = dict(zip(header, first, strict=True))
    assert first_cells["name"] == "Café Zoë" and first_cells["accountClass"] == "invoiced"
    assert first_cells["currency"] == "USD" and first_cells["paymentTerms"] == "NET30"
    assert first_cells["addressLine1"] == "1 Main St, Apt 2"
    assert first_cells["licenseValidFrom"] == "2014-02-01"
    assert first_cells["licenseValidTo"] == "2015-02-28T05:00:00+0000"
    assert first_cells["deliveryDays"] == "Mon;Fri" and first_cells["addressCount"] == "1"
    assert dict(zip(header, second, strict=True))["city"] == ""
    people = TemplateCsvWriter(schema=schema, template=TEMPLATES / "account-people.csv.j2",
                               spreadsheet_safe=True)
    assert people.mode == "row"
    rows = parsed(people.begin().decode() + "".join(people.encode(account_batch())
                                                     .to_pylist()))
    assert rows[1] == ["ABC123", " Café Zoë ", "invoiced", "A", "no",
                       "1 Main St, Apt 2, Boston"]
    assert rows[2] == ["000417", "'=cmd()", "cash", "", "yes", ""]


def test_default_template_writes_every_field_in_both_modes() -> None:
    schema = load_schema(ACCOUNT)
    text = default_template(schema)
    out = [TemplateCsvWriter(schema=schema, template_text=text, mode=mode)
           for mode in ("column", "row")]
    assert out[0].mode == "column"
    encoded = [w.begin() + record_bytes(w.encode(account_batch())) for w in out]
    assert encoded[0] == encoded[1]
    header, first, _ = parsed(encoded[0].decode())
    cells = dict(zip(header, first, strict=True))
    assert cells["addresses_1_city"] == "Boston" and cells["deliveryDays"] == "Mon;Fri"
    assert cells["accountLicenseInformation_1_licenseValidFrom"] == "2014-02-01T05:00:00+0000"
    assert cells["phones_1_phoneNumber"] == ""


def test_template_init_command(tmp_path: Path) -> None:
    from ldtransform.cli.template import template

    out = tmp_path / "sub" / "account.csv.j2"
    args = ["init", "--schema", str(ACCOUNT), "--out", str(out)]
    result = CliRunner().invoke(template, args)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == default_template(load_schema(ACCOUNT))
    out.write_text("mine", encoding="utf-8")
    refused = CliRunner().invoke(template, args)
    assert refused.exit_code != 0 and "--force" in refused.output
    assert out.read_text(encoding="utf-8") == "mine"
    assert CliRunner().invoke(template, [*args, "--force"]).exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("{#")
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".part")]
