"""Property-based requests from the OpenAPI schema, with a valid token: never a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from ldkit import LD, SCHEMAS, make_config

from ldtransform.server import running


def test_no_server_errors_on_any_operation(tmp_path: Path) -> None:
    config = make_config(limits={"sql_time_limit": 1.0})
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config) as url:
        ld = LD(url, tmp_path)
        schema = schemathesis.openapi.from_url(url + "/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 12
        for operation in operations:
            check_operation(operation, ld)


def check_operation(operation: Any, ld: LD) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def no_5xx(case: Any) -> None:
        response = case.call(headers=ld.auth, timeout=30)
        assert response.status_code < 500, (operation.label, response.text)

    no_5xx()
