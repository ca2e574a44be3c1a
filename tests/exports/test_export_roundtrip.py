"""Import into the real local server, export, read back: the frame equals the validated
input, in every export form (JSON, CSV with and without a header, CSV through a
template), over several result files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from ldstandin import StandInClient

import ldtransform
from ldtransform.exports import typed_pandas
from ldtransform.server import running
from ldtransform.server.config import Limits

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "samples" / "schemas"
ACCOUNT = ldtransform.load_schema(SCHEMAS / "Account.json")
TEMPLATE = ("## header: accountId,name,exposure,creditBlock,addresses\n"
            "{{ item.accountId }},{{ item.name | csv }},{{ item.exposure }},"
            "{{ 'true' if item.creditBlock else 'false' }},{{ item.addresses | tojson | csv }}")


@pytest.fixture(scope="module")
def validated() -> pa.Table:
    result = ldtransform.validate(ROOT / "samples" / "accounts.items.json", ACCOUNT)
    assert result.ok and result.valid_table.num_rows == 25
    return result.valid_table


@pytest.fixture(scope="module")
def client(validated: pa.Table, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[StandInClient]:
    """A server holding the validated sample accounts, imported from the items the
    toolkit writes; results come in files of 10 items, so an export has several."""
    folder = tmp_path_factory.mktemp("roundtrip")
    written = ldtransform.Frames.from_table(validated).write_items(
        folder / "items", schema=ACCOUNT)
    parts = [part.path for part in written.parts]
    assert written.records_written == 25 and parts
    with running(data_dir=folder / "ld", schemas=SCHEMAS, processes=False,
                 limits=Limits(records_per_file=10)) as url:
        client = StandInClient(url)
        for part in parts:
            job = client.wait(client.import_file(part, "Account"))
            assert job.status == "Completed"
        yield client
        client.close()


def by_key(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("accountId", ignore_index=True)


def test_json_export_equals_the_validated_input(client: StandInClient,
                                                validated: pa.Table) -> None:
    frame = ldtransform.export_frame(client, "Account", schema=ACCOUNT, enums="values")
    pd.testing.assert_frame_equal(by_key(frame), by_key(typed_pandas(validated)))
    assert frame["exposure"].dtype == "float64" and frame["creditBlock"].dtype == "boolean"
    first = frame["accountLicenseInformation"].iloc[0][0]["licenseValidFrom"]
    assert first == pd.Timestamp("2014-02-01T05:00:00Z")


def test_arrow_table_is_the_validated_table(client: StandInClient, validated: pa.Table,
                                            tmp_path: Path) -> None:
    job = client.wait(client.export("Account"))
    assert len(job.links) == 3
    table = ldtransform.read_export(job, ACCOUNT, client=client, dest=tmp_path,
                                    enums="values").to_table()
    assert table.schema == ACCOUNT.to_arrow()
    assert table.sort_by("accountId").equals(validated.sort_by("accountId"))


@pytest.mark.parametrize("row_header", [True, False])
def test_plain_csv_export_equals_the_validated_input(client: StandInClient,
                                                     validated: pa.Table, tmp_path: Path,
                                                     row_header: bool) -> None:
    job = client.wait(client.export("Account", content_type="text/plain",
                                    row_header=row_header))
    paths = client.download(job, tmp_path)
    assert len(paths) == 3
    with_header = paths[0].read_text(encoding="utf-8").startswith("accountId,")
    assert with_header is row_header
    table = ldtransform.read_export(paths, ACCOUNT, enums="values").to_table()
    assert table.sort_by("accountId").equals(validated.sort_by("accountId"))


@pytest.mark.parametrize("row_header", [True, False])
def test_template_csv_export_takes_the_template_names(client: StandInClient,
                                                      validated: pa.Table, tmp_path: Path,
                                                      row_header: bool) -> None:
    expected = by_key(typed_pandas(validated.select(
        ["accountId", "name", "exposure", "creditBlock", "addresses"])))
    if row_header:
        frame = ldtransform.export_frame(client, "Account", schema=ACCOUNT,
                                         content_type="text/plain", template=TEMPLATE)
        assert client.exports[-1]["rowHeader"] == "true"
    else:
        job = client.wait(client.export("Account", content_type="text/plain",
                                        template=TEMPLATE, row_header=False))
        paths = client.download(job, tmp_path)
        assert paths[0].read_text(encoding="utf-8").startswith("A")
        frame = ldtransform.read_export(paths, ACCOUNT, template=TEMPLATE).to_pandas()
    pd.testing.assert_frame_equal(by_key(frame), expected)


def test_sql_export_has_the_query_columns(client: StandInClient, validated: pa.Table) -> None:
    sql = ("SELECT accountId, currency, exposure, creditBlock, "
           "json_array_length(addresses) AS places "
           "FROM Account WHERE channel = '20' ORDER BY accountId")
    frame = ldtransform.export_frame(client, "Account", sql=sql, schema=ACCOUNT)
    assert list(frame.columns) == ["accountId", "currency", "exposure", "creditBlock",
                                   "places"]
    assert str(frame["creditBlock"].dtype) == "boolean"
    expected = by_key(typed_pandas(validated))
    expected = expected[expected["channel"] == "20"].reset_index(drop=True)
    pd.testing.assert_series_equal(frame["creditBlock"], expected["creditBlock"])
    assert frame["currency"].dtype == "category"
    assert list(frame["currency"].cat.categories[:3]) == ["USD", "CAD", "EUR"]
    assert frame["places"].dtype == "int64" or str(frame["places"].dtype) == "Int64"
    assert frame["places"].min() >= 1 and frame["accountId"].is_monotonic_increasing


def test_filters_and_exploded_children(client: StandInClient, validated: pa.Table) -> None:
    frames = ldtransform.export_frame(client, "Account", filters={"currency": "USD"},
                                      schema=ACCOUNT, children="explode")
    items, addresses = frames["Account"], frames["addresses"]
    assert "addresses" not in items.columns and set(items["currency"]) == {"USD"}
    usd = validated.filter(pa.compute.equal(validated["currency"], "USD"))
    assert len(addresses) == sum(len(a) for a in usd["addresses"].to_pylist())
    assert set(addresses["accountId"]) <= set(items["accountId"])
    assert list(addresses.columns[:2]) == ["accountId", "_position"]
    assert addresses["addressType"].dtype == "category"
    assert set(frames) == {"Account", "accountLicenseInformation", "addresses",
                           "deliveryDays", "phones"}
