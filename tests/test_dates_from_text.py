"""Dates and date-times read from text: values in LD's own layout take Arrow's ISO cast,
the rest every format in turn, and the two together give exactly what reading every
value in turn gives, whatever the mix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

import ldtransform
from ldtransform import ItemSchema
from ldtransform._casting import (
    DATE_FORMATS,
    DATETIME_FORMATS,
    _dates_from_text,
    _likely_first,
    _local_date,
    _parse_in_turn,
)

ZONES = ["UTC", "Europe/Berlin", "America/Sao_Paulo", "Pacific/Kiritimati"]

ODD = st.sampled_from([
    "", "  ", "not a date", "2020-04-30 07:51:16", "2020-04-30T07:51:16Z",
    "2020-04-30T07:51:16+01:00", "2020-04-30", " 2020-04-30T07:51:16+0000 ",
    "2019-02-29T00:00:00+0000", "2020-04-30T24:00:00+0000", "2020-4-30T07:51:16+0000",
    "2020-04-30T07:51:16+2400", "2020-04-30T07:51:60+0000", "2020-04-30T07:51:16,0000",
    "2019-02-29", "2020-02-29", "2020-13-01", "2020-4-3", "0000-01-01", "30/04/2020",
]) | st.none()


@st.composite
def ld_datetimes(draw: st.DrawFn) -> str:
    """Real moments in LD's layout, with offsets up to a day either way."""
    moment = draw(st.datetimes(min_value=dt.datetime(1, 1, 2),
                               max_value=dt.datetime(9999, 12, 30)))
    minutes = draw(st.integers(-1439, 1439))
    sign, minutes = ("-" if minutes < 0 else "+"), abs(minutes)
    return (f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}"
            f"{sign}{minutes // 60:02d}{minutes % 60:02d}")


def iso_dates() -> st.SearchStrategy[str]:
    return st.dates().map(lambda day: f"{day.year:04d}-{day:%m-%d}")


# The layout with any digits at all: mostly no real time (month 47, hour 93).
ANY_DIGITS_DATETIME = st.from_regex(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}\Z")
ANY_DIGITS_DATE = st.from_regex(r"\A\d{4}-\d{2}-\d{2}\Z")


def read_in_turn(values: pa.Array, kind: str, timezone: str) -> pa.Array:
    """Every value through every format in turn, as before the ISO cast was used."""
    text = pc.utf8_trim_whitespace(values)
    formats = DATETIME_FORMATS if kind == "datetime" else DATE_FORMATS
    stamps = _parse_in_turn(text, _likely_first(text, formats), timezone)
    return stamps if kind == "datetime" else _local_date(stamps, timezone)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(ld_datetimes() | ANY_DIGITS_DATETIME | ODD, max_size=30),
       copies=st.sampled_from([1, 10]), timezone=st.sampled_from(ZONES))
def test_date_times_read_as_reading_every_value_in_turn(values: list[str | None],
                                                        copies: int, timezone: str) -> None:
    text = pa.array(values * copies, pa.string())  # ten copies: more than 256, repeated
    expected = read_in_turn(text, "datetime", timezone)
    assert _dates_from_text(text, "datetime", (), timezone).equals(expected)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(iso_dates() | ANY_DIGITS_DATE | ODD, max_size=30),
       copies=st.sampled_from([1, 10]), timezone=st.sampled_from(ZONES))
def test_dates_read_as_reading_every_value_in_turn(values: list[str | None], copies: int,
                                                   timezone: str) -> None:
    text = pa.array(values * copies, pa.string())
    expected = read_in_turn(text, "date", timezone)
    assert _dates_from_text(text, "date", (), timezone).equals(expected)


def test_a_day_that_does_not_exist_among_good_ones_is_the_error_of_its_row(
        tmp_path: Path) -> None:
    """One 29 February of a common year among LD date-times fails the fast read of its
    batch: that row is reported, the others are read as they are spelled."""
    rows = [f"K{i},2021-03-{1 + i % 28:02d}T10:00:00+0130" for i in range(300)]
    rows[123] = "K123,2019-02-29T10:00:00+0000"
    rows[200] = "K200,2021-03-05 10:00:00"  # no offset: local time in the schema's zone
    path = tmp_path / "things.csv"
    path.write_text("code,seen\n" + "\n".join(rows) + "\n", encoding="utf-8")
    schema = ItemSchema.from_dict({
        "itemType": "Thing", "primaryKey": ["code"], "timezone": "Europe/Berlin",
        "fields": [{"name": "code"}, {"name": "seen", "type": "datetime"}]})
    result = ldtransform.validate(path, schema)
    assert [(i.row, i.field, i.code) for i in result.report.issues] == [
        (125, "seen", "type-error")]
    seen = list(result.valid["seen"])
    utc = dt.UTC
    assert seen[0] == dt.datetime(2021, 3, 1, 8, 30, tzinfo=utc)
    assert seen[199] == dt.datetime(2021, 3, 5, 9, 0, tzinfo=utc)  # row 200: Berlin, +1
    assert len(seen) == 299
