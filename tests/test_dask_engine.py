"""The Dask engine gives the local engine's answers: same valid items, rejected rows and
report, on a cluster of two worker processes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")
fsspec = pytest.importorskip("fsspec")

import cloudpickle  # noqa: E402
from clirun import run_cli  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import ldtransform  # noqa: E402
from ldtransform.errors import ConfigError, ReadError, ValidationFailed  # noqa: E402
from ldtransform.frames import Frames  # noqa: E402
from ldtransform.manifest import Manifest  # noqa: E402

# The workers cannot import this module: its transforms travel by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

SCHEMA = {
    "itemType": "Order", "primaryKey": ["code"], "fields": [
        {"name": "code", "type": "string",
         "constraints": {"required": True, "pattern": "^[A-Z][0-9]+$"}},
        {"name": "ref", "type": "string", "constraints": {"unique": True}},
        {"name": "qty", "type": "integer", "constraints": {"minimum": 0}},
        {"name": "lines", "type": "array", "fields": [
            {"name": "sku", "type": "string", "constraints": {"required": True}},
            {"name": "n", "type": "integer"}]}]}
MAPPING = {"fields": {"code": "code", "ref": "ref", "qty": "qty",
                      "lines[0].sku": "sku1", "lines[0].n": "n1",
                      "lines[1].sku": "sku2", "lines[1].n": "n2"}}
HEADER = ["code", "ref", "qty", "sku1", "n1", "sku2", "n2"]


@pytest.fixture(scope="module")
def client() -> Any:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as connected:
        yield connected


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "Order.json"
    path.write_text(json.dumps(SCHEMA), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    path.write_text(text.getvalue(), encoding="utf-8")
    return path


def both(sources: list[str], schema: Path, folder: Path, client: Any,
         **options: Any) -> tuple[Any, Any]:
    """The local engine on ``sources``, globs expanded as the CLI does; the Dask engine
    on ``sources`` as they are."""
    listed = sorted(str(p) for s in sources for p in Path(s).parent.glob(Path(s).name))
    local = ldtransform.convert(listed, schema=schema, mapping=MAPPING,
                                out=folder / "local", **options)
    dask = ldtransform.convert(sources, schema=schema, mapping=MAPPING, out=folder / "dask",
                               engine="dask", scheduler=client, **options)
    return local, dask


def items(result: Any) -> Counter[str]:
    found: Counter[str] = Counter()
    for part in result.parts:
        found.update(json.dumps(item, sort_keys=True)
                     for item in json.loads(part.path.read_bytes()))
    return found


def assert_same(local: Any, dask: Any) -> None:
    assert items(dask) == items(local)
    assert dask.report.summary() == local.report.summary()
    assert dask.report.issues == local.report.issues
    assert [p.path.name for p in dask.rejected] == [p.path.name for p in local.rejected]
    for ours, theirs in zip(dask.rejected, local.rejected, strict=True):
        assert ours.path.read_bytes() == theirs.path.read_bytes()
    ours_m, theirs_m = Manifest.read(dask.manifest), Manifest.read(local.manifest)
    assert ours_m.sources == theirs_m.sources
    assert ours_m.validation == theirs_m.validation
    assert ours_m.rejected == theirs_m.rejected
    on_disk = sorted(p.name for p in dask.out.iterdir())
    listed = sorted([p.file for p in ours_m.parts] + [p.file for p in ours_m.rejected]
                    + [p.file + ".json" for p in ours_m.rejected] + ["manifest.json"])
    assert on_disk == listed  # no stray, duplicate or unfinished part
    for part in ours_m.parts:
        data = (dask.out / part.file).read_bytes()
        assert len(data) == part.bytes and part.records == len(json.loads(data))


codes = st.sampled_from(["A1", "A2", "B3", "C4", "D5", "a6", ""])
row = st.tuples(codes, st.sampled_from(["r1", "r2", "r3", "", "r4"]),
                st.sampled_from(["0", "3", "-1", "x", ""]),
                st.sampled_from(["s1", ""]), st.sampled_from(["1", "two", ""]),
                st.sampled_from(["s2", ""]), st.sampled_from(["2", ""])).map(list)
files = st.lists(st.lists(row | st.just(["B9", "short"]), max_size=6), min_size=1,
                 max_size=4)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=files)
def test_the_same_answers_as_the_local_engine(files: list[list[list[str]]], schema: Path,
                                              client: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        sources = [str(write_csv(base / f"orders{n}.csv", rows))
                   for n, rows in enumerate(files)]
        assert_same(*both(sources, schema, base, client, max_records=3))


def test_duplicates_across_files_name_both_places(tmp_path: Path, schema: Path,
                                                  client: Any) -> None:
    write_csv(tmp_path / "a.csv", [["A1", "r1", "1", "s1", "1", "", ""],
                                   ["B2", "r2", "1", "s1", "1", "s2", "2"]])
    write_csv(tmp_path / "b.csv", [["C3", "r3", "1", "s1", "1", "", ""],
                                   ["A1", "r9", "1", "s1", "1", "", ""],
                                   ["D4", "r2", "1", "s1", "1", "", ""]])
    local, dask = both([str(tmp_path / "*.csv")], schema, tmp_path, client)
    assert_same(local, dask)
    messages = [issue.message for issue in dask.report.issues]
    assert any(f"row 2 of {tmp_path / 'a.csv'}" in m and "'A1'" in m for m in messages)
    assert any(f"row 3 of {tmp_path / 'a.csv'}" in m and "'r2'" in m for m in messages)
    assert dask.report.rows_rejected == 2 and dask.records_written == 3
    # The driver uploads the parts as any conversion's: through the manifest, checked.
    from ldtransform.client.parts import parts_to_upload

    uploads = parts_to_upload([dask.out], item_type=None)
    assert [(u.part.path.name, u.part.sha256) for u in uploads] == [
        (p.path.name, p.sha256) for p in dask.parts]


def test_parquet_and_json_lines_beside_csv(tmp_path: Path, schema: Path,
                                           client: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [["A1", "r1", "1", "s1", "1", "", ""], ["B2", "r2", "x", "s1", "1", "s2", "2"]]
    write_csv(tmp_path / "a.csv", rows)
    table = pa.table({name: [row[at] for row in rows[::-1]]
                      for at, name in enumerate(HEADER)})
    pq.write_table(table, tmp_path / "b.parquet")
    (tmp_path / "c.jsonl").write_text("".join(
        json.dumps(dict(zip(HEADER, row, strict=True))) + "\n"
        for row in [["C3", "r1", "2", "s", "1", "", ""], *rows]), encoding="utf-8")
    sources = [str(tmp_path / name) for name in ("a.csv", "b.parquet", "c.jsonl")]
    local, dask = both(sources, schema, tmp_path, client)
    assert_same(local, dask)
    assert dask.report.by_code["duplicate-key"] == 4  # b and c repeat A1 and B2 of a


def test_child_records_from_their_own_file(tmp_path: Path, schema: Path,
                                           client: Any) -> None:
    from ldtransform.mapping import Mapping

    (tmp_path / "lines.csv").write_text("order,sku,n\nA1,s1,1\nB2,s2,x\nZZ,s3,1\nA1,s4,2\n",
                                        encoding="utf-8")
    spec = {"fields": {"code": "code", "ref": "ref", "qty": "qty"}, "children": {"lines": {
        "file": "lines.csv", "key": "order", "parent_key": "code",
        "fields": {"sku": "sku", "n": "n"}}}}
    mapping = Mapping.from_dict(spec, source=str(tmp_path / "m.toml"))
    write_csv(tmp_path / "a.csv", [["A1", "r1", "1", "", "", "", ""]])
    write_csv(tmp_path / "b.csv", [["B2", "r2", "1", "", "", "", ""],
                                   ["A1", "r3", "2", "", "", "", ""]])
    sources = [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    local = ldtransform.convert(sources, schema=schema, mapping=mapping,
                                out=tmp_path / "local")
    dask = ldtransform.convert(sources, schema=schema, mapping=mapping, out=tmp_path / "dask",
                               engine="dask", scheduler=client)
    assert_same(local, dask)
    # Child rows no parent of the source claims: B2 and ZZ for a.csv, ZZ for b.csv
    assert dask.report.by_code["orphan-child-row"] == 3
    assert [item["data"]["lines"] for item in map(json.loads, items(dask))] == [
        [{"sku": "s1", "n": 1}, {"sku": "s4", "n": 2}]]


def test_validate_on_the_cluster(tmp_path: Path, schema: Path, client: Any) -> None:
    write_csv(tmp_path / "a.csv", [["A1", "r1", "1", "s1", "1", "", ""]])
    write_csv(tmp_path / "b.csv", [["A1", "r2", "1", "s1", "1", "", ""],
                                   ["B2", "r3", "-1", "s1", "1", "", ""]])
    sources = [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    result = ldtransform.validate(sources, schema, mapping=MAPPING, engine="dask",
                                  scheduler=client)
    local = ldtransform.convert(sources, schema=schema, mapping=MAPPING, dry_run=True,
                                out=tmp_path / "out")
    assert result.report.summary() == local.report.summary()
    assert result.valid_table.column("code").to_pylist() == ["A1"]
    assert list(result.rejected["_row"]) == [2, 3]
    with pytest.raises(ValidationFailed, match="2 of 3 rows rejected"):
        ldtransform.validate(sources, schema, mapping=MAPPING, engine="dask",
                             scheduler=client, on_error="fail")


def test_on_error_fail_stops_at_the_first_rejected_row_and_leaves_nothing(
        tmp_path: Path, schema: Path, client: Any) -> None:
    write_csv(tmp_path / "a.csv", [["A1", "r1", "1", "s1", "1", "", ""]])
    write_csv(tmp_path / "b.csv", [["B2", "r2", "1", "s1", "1", "", ""],
                                   ["A1", "r3", "1", "s1", "1", "", ""]])
    write_csv(tmp_path / "c.csv", [["bad", "r4", "1", "s1", "1", "", ""]])
    with pytest.raises(ValidationFailed) as failed:
        ldtransform.convert([str(tmp_path / "*.csv")], schema=schema, mapping=MAPPING,
                            out=tmp_path / "out", engine="dask", scheduler=client,
                            on_error="fail")
    assert failed.value.row == 3 and failed.value.source == str(tmp_path / "b.csv")
    assert list((tmp_path / "out").iterdir()) == []


def test_files_behind_urls(tmp_path: Path, schema: Path, client: Any) -> None:
    rows = [["A1", "r1", "1", "s1", "1", "", ""], ["A1", "r2", "x", "", "", "", ""]]
    text = write_csv(tmp_path / "one.csv", rows).read_bytes()

    def put(data: bytes = text) -> None:
        fs = fsspec.filesystem("memory")
        fs.pipe("/in/one.csv", data)
        fs.pipe("/in/two.csv", data)

    put()  # the driver lists the glob; each worker reads its own memory
    client.run(put)
    result = ldtransform.convert("memory://in/*.csv", schema=schema, mapping=MAPPING,
                                 out=tmp_path / "out", engine="dask", scheduler=client)
    assert result.report.sources == ["memory:///in/one.csv", "memory:///in/two.csv"]
    assert (result.report.rows_read, result.records_written) == (4, 1)
    assert [p.path.name for p in result.rejected] == ["one.rejected.csv",
                                                       "two.rejected.csv"]
    manifest = Manifest.read(result.manifest)
    assert [s.path for s in manifest.sources] == result.report.sources
    assert {s.bytes for s in manifest.sources} == {len(text)}


def test_a_source_that_cannot_be_read_names_itself(tmp_path: Path, schema: Path,
                                                   client: Any) -> None:
    good = str(write_csv(tmp_path / "good.csv", [["A1", "r1", "1", "s1", "1", "", ""]]))
    for missing in ("memory://nowhere/gone.csv", str(tmp_path / "gone.csv")):
        with pytest.raises(ReadError, match=r"gone\.csv") as failed:
            ldtransform.convert([good, missing], schema=schema, mapping=MAPPING,
                                out=tmp_path / "out", engine="dask", scheduler=client)
        assert missing in str(failed.value)
        assert list((tmp_path / "out").iterdir()) == []


class Passes:
    """Every row, under the name of :class:`KillOnce`."""

    name = "kill_once"

    def __call__(self, frames: Frames) -> Frames:
        return frames


class KillOnce:
    """Ends its worker process the first time it sees ``victim`` (a run of a transform
    is per source, on the worker running it)."""

    name = "kill_once"

    def __init__(self, victim: str, marker: str) -> None:
        self.victim, self.marker = victim, marker

    def __call__(self, frames: Frames) -> Frames:
        if frames.source == self.victim:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return frames
            os._exit(1)
        return frames


def test_a_worker_killed_mid_run_leaves_whole_parts(tmp_path: Path, schema: Path,
                                                    client: Any) -> None:
    sources = [str(write_csv(tmp_path / f"s{n}.csv",
                             [[f"A{n}{k}", f"r{n}{k}", "1", "s1", "1", "", ""]
                              for k in range(7)] + [["A01", "dup", "1", "s1", "", "", ""]]))
               for n in range(4)]
    # What a write cut short leaves: the retried source clears it.
    (tmp_path / "dask").mkdir()
    (tmp_path / "dask" / ".Order-p00003-00001.json.abc.part").write_bytes(b"[{")
    (tmp_path / "dask" / ".s2.rejected.csv.abc.part").write_bytes(b"code,")
    killer = KillOnce(sources[2], str(tmp_path / "killed"))
    local = ldtransform.convert(sources, schema=schema, mapping=MAPPING, max_records=3,
                                out=tmp_path / "local", transforms=[Passes()])
    dask = ldtransform.convert(sources, schema=schema, mapping=MAPPING, max_records=3,
                               out=tmp_path / "dask", overwrite=True, engine="dask",
                               scheduler=client, transforms=[killer])
    assert (tmp_path / "killed").exists()
    assert_same(local, dask)
    assert dask.report.rows_rejected == 4


def test_without_the_extra_the_engine_says_what_to_install(
        tmp_path: Path, schema: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'ldtransform\[dask\]'"):
        ldtransform.convert(str(tmp_path / "a.csv"), schema=schema, out=tmp_path / "out",
                            engine="dask")


def test_dedupe_across_sources_is_refused(tmp_path: Path, schema: Path, client: Any) -> None:
    source = str(write_csv(tmp_path / "a.csv", []))
    with pytest.raises(ConfigError, match="dedupe"):
        ldtransform.convert(source, schema=schema, out=tmp_path / "out", engine="dask",
                            scheduler=client, transforms=[{"name": "dedupe", "on": ["code"]}])


def test_the_commands_on_a_scheduler(tmp_path: Path, schema: Path, client: Any) -> None:
    write_csv(tmp_path / "a.csv", [["A1", "r1", "1", "s1", "1", "", ""]])
    write_csv(tmp_path / "b.csv", [["A1", "r2", "1", "s1", "1", "", ""],
                                   ["B2", "r3", "1", "s1", "1", "", ""]])
    mapping = tmp_path / "m.toml"
    mapping.write_text("[fields]\n" + "".join(f'"{k}" = "{v}"\n'
                                              for k, v in MAPPING["fields"].items()))
    address = client.scheduler.address
    common = ["--schema", schema, "--mapping", mapping, "--engine", "dask",
              "--scheduler", address]
    converted = run_cli("convert", tmp_path / "*.csv", *common, "--out", tmp_path / "out",
                        "--json")
    assert converted.returncode == 5, converted.stderr
    summary = json.loads(converted.stdout)
    assert (summary["rows_read"], summary["records_written"]) == (3, 2)
    assert (tmp_path / "out" / "b.rejected.csv").exists()
    checked = run_cli("validate", tmp_path / "a.csv", tmp_path / "b.csv", *common,
                      "--rejected-dir", tmp_path / "fix", "--json")
    assert checked.returncode == 5
    assert json.loads(checked.stdout)["summary"]["by_code"] == {"duplicate-key": 1}
    assert "duplicate" in (tmp_path / "fix" / "b.rejected.csv").read_text()
    assert not (tmp_path / "fix" / "a.rejected.csv").exists()
    mixed = run_cli("validate", tmp_path / "a.csv", "--schema", schema, "--workers", "2")
    assert mixed.returncode == 2 and "--engine dask" in mixed.stderr


def test_a_real_process_on_its_own_local_cluster(tmp_path: Path, schema: Path) -> None:
    source = write_csv(tmp_path / "a.csv", [["A1", "r1", "1", "", "", "", ""]])
    done = subprocess.run(
        [sys.executable, "-m", "ldtransform", "convert", str(source), "--schema", str(schema),
         "--out", str(tmp_path / "out"), "--engine", "dask", "--workers", "1", "--json"],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["records_written"] == 1
    assert Manifest.read(tmp_path / "out" / "manifest.json").parts[0].records == 1


def test_the_dask_dataframe_accessor_answers_as_pandas(client: Any) -> None:
    import dask.dataframe as dd
    import pandas as pd

    from ldtransform.schema import ItemSchema

    schema = ItemSchema.from_dict(SCHEMA)
    frame = pd.DataFrame({"code": ["A1", "B2", "A1", "c3", "D4", "B2", "E5"],
                          "ref": ["r1", "r2", "r3", "r4", "r1", "r6", "r7"],
                          "qty": ["1", "2", "x", "1", "1", "1", "-1"], "sku1": ["s"] * 7,
                          "n1": ["1"] * 7, "sku2": [""] * 7, "n2": [""] * 7},
                         index=[f"i{k}" for k in range(7)])
    local = frame.ld.validate(schema, mapping=MAPPING)
    lazy = dd.from_pandas(frame, npartitions=3).ld.validate(schema, mapping=MAPPING)
    assert isinstance(lazy.valid, dd.DataFrame) and isinstance(lazy.rejected, dd.DataFrame)
    # Dask stores strings as Arrow strings: values compared, not dtypes
    pd.testing.assert_frame_equal(lazy.valid.compute(), local.valid, check_dtype=False,
                                  check_index_type=False)
    assert lazy.report.summary() == local.report.summary()
    assert lazy.report.issues == local.report.issues
    valid, rejected, report = lazy.compute()
    # (Dask turns an index of Python strings into Arrow strings)
    pd.testing.assert_frame_equal(valid, local.valid, check_index_type=False)
    pd.testing.assert_frame_equal(rejected, local.rejected, check_index_type=False)
    assert [i.message for i in report.issues if i.code == "duplicate-key"] == [
        "code 'A1': this primary key already appears in row 1",
        "code 'B2': this primary key already appears in row 2"]
