"""Preparer processes: shared-out chunks add up to exactly what one reader gives."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ldkit import SCHEMAS, account

from ldtransform.server import sources
from ldtransform.server.items import Plan, load_types
from ldtransform.server.prepare import (
    ImportSource,
    Preparer,
    PreparerGone,
    Unreadable,
    read_plans,
)
from ldtransform.server.sources import LayoutChanged, json_records

TYPES = load_types(SCHEMAS)
TEMPLATE = json.dumps({"columns": [{"column": "id", "field": "accountId"},
                                   {"column": "name", "field": "name"},
                                   {"column": "currency", "field": "currency"}],
                       "constants": {"accountClass": "/Account/accountClass[invoiced]"}})


def items(count: int, bad: frozenset[int] = frozenset(), repeat: int = 0) -> list[Any]:
    """Accounts; those in ``bad`` lack their name, every ``repeat``-th reuses a key."""
    out = []
    for n in range(count):
        key = n - 1 if repeat and n % repeat == 0 and n else n
        envelope = account(key, name=f"Account {n}")
        if n in bad:
            del envelope["data"]["name"]
        out.append(envelope)
    return out


def one_per_line(path: Path, elements: list[Any]) -> Path:
    path.write_text("[\n" + ",\n".join(json.dumps(e) for e in elements) + "\n]\n")
    return path


def laid_out(path: Path, elements: list[Any], layout: str) -> Path:
    """The elements as a JSON array: one per line, pretty-printed, or both mixed."""
    if layout == "lines":
        return one_per_line(path, elements)
    if layout == "pretty":
        path.write_text(json.dumps(elements, indent=2))
        return path
    parts = [json.dumps(e, indent=4) if i % 3 else json.dumps(e)
             for i, e in enumerate(elements)]
    path.write_text("[\n" + ",\n".join("  " + p.replace("\n", "\n  ") for p in parts)
                    + "\n]")
    return path


def source(path: Path, *, cursor: int = 0, size: int = 4, fmt: str = "json") -> ImportSource:
    return ImportSource(path=path, format=fmt, item_type="Account", merge=False,
                        template=TEMPLATE if fmt == "csv" else None, header_row=True,
                        cursor=cursor, chunk_size=size)


def summary(plans: Iterator[Plan]) -> list[tuple[Any, ...]]:
    """What a plan decides, comparable across processes."""
    return [(p.count, p.ready, [(r.number, r.receipt_type, r.problems) for r in p.rejected],
             {k: [(rec[0], a, pk) for rec, a, pk in v] for k, v in p.pending.items()})
            for p in plans]


def round_robin(src: ImportSource, parts: int) -> list[Plan]:
    """Chunk c from share c % parts, as the job process takes them."""
    readers = [read_plans(src, TYPES, (i, parts)) for i in range(parts)]
    plans = []
    for chunk in range(10**6):
        plan = next(readers[chunk % parts], None)
        if plan is None:
            return plans
        plans.append(plan)
    raise AssertionError("endless")


def assert_preparer_reads_alike(preparer: Preparer, src: ImportSource, *,
                                records: int) -> None:
    """The preparer processes give the plans one reader gives, of all ``records``."""
    alone = summary(read_plans(src, TYPES))
    assert sum(p[0] for p in alone) == records
    assert summary(preparer.plans(src)) == alone


@pytest.fixture(scope="module")
def preparer() -> Iterator[Preparer]:
    prep = Preparer(None, processes=2)
    yield prep
    prep.close()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(0, 60), size=st.integers(1, 9), parts=st.integers(2, 4),
       cursor=st.integers(0, 20), bad=st.frozensets(st.integers(0, 59), max_size=8),
       repeat=st.sampled_from([0, 3, 7]))
def test_shares_add_up_to_one_reader(tmp_path: Path, count: int, size: int, parts: int,
                                     cursor: int, bad: frozenset[int], repeat: int) -> None:
    path = one_per_line(tmp_path / "items.json", items(count, bad, repeat))
    src = source(path, cursor=cursor, size=size)
    alone = summary(read_plans(src, TYPES))
    assert summary(iter(round_robin(src, parts))) == alone
    assert sum(p[0] for p in alone) == max(0, count - cursor)


TRICKY = st.sampled_from(["},{", "}, {", '"},{"', "]", "\\", "{", "\n"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8) | TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                               max_size=3),
    max_leaves=8)


ENVELOPES = st.builds(lambda headers, data: {"headers": headers, "data": data},
                      st.dictionaries(st.sampled_from(["type", "action"]), st.text(max_size=6)),
                      st.dictionaries(st.text(max_size=4), JSON_VALUES, max_size=4))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(elements=st.lists(ENVELOPES | JSON_VALUES, max_size=8),
       indent=st.sampled_from([None, 0, 1, 2, 4]),
       layout=st.sampled_from(["dumps", "tight", "lines", "mixed"]),
       envelopes_only=st.booleans())
def test_any_layout_reads_as_the_json_it_is(tmp_path: Path, elements: list[Any],
                                            indent: int | None, layout: str,
                                            envelopes_only: bool) -> None:
    # whatever the layout (odd elements included), the records are the file's elements
    if envelopes_only:  # objects only: a one-line array is cut between objects
        elements = [e for e in elements if isinstance(e, dict)]
    path = tmp_path / "items.json"
    if layout == "dumps":
        path.write_text(json.dumps(elements, indent=indent))
    elif layout == "tight":  # as JavaScript writes it
        path.write_text(json.dumps(elements, separators=(",", ":")))
    else:
        laid_out(path, elements, layout)
    got = list(json_records(path))
    assert [r[0] for r in got] == list(range(1, len(elements) + 1))
    for (_, headers, data), element in zip(got, json.loads(path.read_text()), strict=True):
        envelope = (isinstance(element, dict) and isinstance(element.get("headers", {}), dict)
                    and isinstance(element.get("data"), dict))
        assert (headers is not None) == envelope
        if envelope:
            assert (headers, data) == (element.get("headers", {}), element["data"])


def test_pretty_printed_file_that_changes_layout(tmp_path: Path, preparer: Preparer) -> None:
    elements = items(20)
    text = json.dumps(elements[:9], indent=2)[:-2] + ",\n" + json.dumps(elements[9:])[1:]
    path = tmp_path / "items.json"
    path.write_text(text)  # pretty for 9 elements, then one long line
    src = source(path, size=4)
    with pytest.raises(LayoutChanged):
        round_robin(src, 2)
    assert_preparer_reads_alike(preparer, src, records=20)


@pytest.mark.parametrize("cursor", [0, 5])
def test_csv_shares_add_up_to_one_reader(tmp_path: Path, cursor: int) -> None:
    rows = ["id,name,currency"] + [f"A{n:06d},Name {n},{'USD' if n % 5 else 'XXX'}"
                                   for n in range(23)]
    rows.insert(9, "")  # an empty line is a record of its own, rejected
    path = tmp_path / "items.csv"
    path.write_text("\n".join(rows) + "\n")
    src = source(path, cursor=cursor, fmt="csv")
    alone = summary(read_plans(src, TYPES))
    assert summary(iter(round_robin(src, 2))) == alone
    assert sum(p[0] for p in alone) == 24 - cursor
    assert any(r[1] == "ReadError" for p in alone for r in p[2])


@pytest.mark.parametrize("layout", ["lines", "pretty", "mixed", "tight"])
def test_processes_give_what_one_reader_gives(tmp_path: Path, preparer: Preparer,
                                              layout: str) -> None:
    elements = items(50, frozenset({3, 17, 41}), 4)
    path = tmp_path / "items.json"
    if layout == "tight":
        path.write_text(json.dumps(elements, separators=(",", ":")))
    else:
        laid_out(path, elements, layout)
    src = source(path, size=6)
    assert_preparer_reads_alike(preparer, src, records=50)


def test_a_file_that_stops_being_one_per_line_is_read_by_one(tmp_path: Path,
                                                             preparer: Preparer) -> None:
    elements = [json.dumps(e) for e in items(30)]
    # from element 13 on, two elements share each line: numbers of lines passed over
    # unread would be wrong from there
    lines = elements[:12] + [", ".join(elements[i:i + 2]) for i in range(12, 30, 2)]
    path = tmp_path / "items.json"
    path.write_text("[\n" + ",\n".join(lines) + "\n]\n")
    src = source(path, size=4)
    with pytest.raises(LayoutChanged):
        round_robin(src, 2)
    assert_preparer_reads_alike(preparer, src, records=30)


def test_compact_json_is_read_by_one(tmp_path: Path, preparer: Preparer) -> None:
    path = tmp_path / "items.json"
    path.write_text(json.dumps(items(21, frozenset({2}))))
    assert_preparer_reads_alike(preparer, source(path, size=5), records=21)


def test_unreadable_record_ends_the_plans_there(tmp_path: Path, preparer: Preparer) -> None:
    elements = [json.dumps(e) for e in items(20)]
    elements[13] = '{"headers": {}, "data": {"accountId": "A1",}}'
    path = tmp_path / "items.json"
    path.write_text("[\n" + ",\n".join(elements) + "\n]\n")
    got: list[Plan] = []
    with pytest.raises(Unreadable, match="14"):
        got.extend(preparer.plans(source(path, size=4)))
    assert [p.count for p in got] == [4, 4, 4]  # the chunk holding element 14 is not given


def test_a_job_left_early_leaves_the_processes_ready(tmp_path: Path,
                                                     preparer: Preparer) -> None:
    path = one_per_line(tmp_path / "items.json", items(40))
    plans = preparer.plans(source(path, size=3))
    next(plans)
    plans.close()  # as when a job is canceled between chunks
    src = source(path, cursor=7, size=5)
    assert summary(preparer.plans(src)) == summary(read_plans(src, TYPES))


def test_a_process_that_dies_fails_the_job_and_is_replaced(tmp_path: Path) -> None:
    path = one_per_line(tmp_path / "items.json", items(200))
    prep = Preparer(None, processes=2)
    try:
        plans = prep.plans(source(path, size=2))
        next(plans)
        for helper in prep._helpers:
            os.kill(helper.process.pid, signal.SIGKILL)
        with pytest.raises(PreparerGone):
            list(plans)
        src = source(path, size=50)
        assert summary(prep.plans(src)) == summary(read_plans(src, TYPES))
    finally:
        prep.close()


@pytest.mark.parametrize("layout", ["tight", "lines", "pretty"])
def test_long_first_line_is_not_read_as_a_line(tmp_path: Path, layout: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # An array on one long line is cut between objects without reading the line whole;
    # the files here stand in for gigabytes with a small limit.
    monkeypatch.setattr(sources, "_LINE_LIMIT", 256)
    elements = items(40, frozenset({5}))
    path = tmp_path / "items.json"
    if layout == "tight":
        path.write_text(json.dumps(elements, separators=(",", ":")))
    else:
        laid_out(path, elements, layout)
    got = [(n, h, d) for n, h, d in sources.json_records(path)]
    assert got == [(n + 1, e["headers"], e["data"]) for n, e in enumerate(elements)]


def test_an_object_with_a_long_nested_list_on_one_line(tmp_path: Path) -> None:
    # every child object is a place the array could be cut: after a few wrong cuts the
    # general parser reads on, and every element still comes out once
    elements = items(5)
    elements[2]["data"]["addresses"] = [{"city": f"C{i}", "addressType": "Work"}
                                        for i in range(200)]
    path = tmp_path / "items.json"
    path.write_text(json.dumps(elements, separators=(",", ":")))
    got = list(json_records(path))
    assert [(n, d) for n, _, d in got] == [(i + 1, e["data"]) for i, e in enumerate(elements)]
