"""A stand-in LD client for the export tests: the three calls ``export_frame`` makes
(``export``, ``wait``, ``download``) plus an import, as plain httpx requests."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ldtransform import ld
from ldtransform.ld import ExportField, ImportField, JobStatus, is_terminal


@dataclass(frozen=True)
class StandInJob:
    job_id: str
    status: str
    reason: str
    links: tuple[str, ...]


def _job(answer: dict[str, Any]) -> StandInJob:
    return StandInJob(answer["jobId"], answer["status"], answer.get("reason", ""),
                      tuple(answer.get("links") or ()))


class StandInClient:
    """Logs in as demo/demo and speaks the Batch API with httpx."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        answer = self.http.post(ld.TOKEN, data={"grant_type": "password", "username": "demo",
                                                "password": "demo"})
        answer.raise_for_status()
        self.http.headers["Authorization"] = "Bearer " + answer.json()["access_token"]
        self.exports: list[dict[str, str]] = []

    def close(self) -> None:
        self.http.close()

    def _post(self, path: str, **kwargs: Any) -> StandInJob:
        answer = self.http.post(path, **kwargs)
        answer.raise_for_status()
        return _job(answer.json())

    def import_file(self, path: Path, item_type: str, *, content_type: str = "application/json",
                    template: str | None = None, header_row: bool = True) -> StandInJob:
        fields = {ImportField.JOB_NAME: "import", ImportField.ITEM_TYPE: item_type,
                  ImportField.CONTENT_TYPE: content_type,
                  ImportField.HEADER_ROW: str(header_row).lower()}
        if template is not None:
            fields[ImportField.TEMPLATE] = template
        with path.open("rb") as data:
            return self._post(ld.IMPORT, data=fields,
                              files={ImportField.FILE: (path.name, data, content_type)})

    def export(self, item_type: str, *, job_name: str | None = None,
               content_type: str = "application/json", row_header: bool = True,
               template: str | None = None, sql: str | None = None,
               filters: dict[str, Any] | None = None) -> StandInJob:
        fields = {ExportField.JOB_NAME: job_name or "export", ExportField.ITEM_TYPE: item_type,
                  ExportField.CONTENT_TYPE: content_type,
                  ExportField.ROW_HEADER: str(row_header).lower()}
        if template is not None:
            fields[ExportField.TEMPLATE] = template
        if sql is not None:
            fields[ExportField.SQL_QUERY] = sql
        if filters is not None:
            import json
            fields[ExportField.FILTERS] = json.dumps(filters)
        self.exports.append(fields)
        return self._post(ld.EXPORT, data=fields)

    def wait(self, job: StandInJob, timeout: float = 60) -> StandInJob:
        deadline = time.monotonic() + timeout
        while not is_terminal(job.status):
            assert time.monotonic() < deadline, f"job still {job.status}"
            time.sleep(0.05)
            job = self._post(ld.STATUS, data={ld.JOB_ID: job.job_id})
        if job.status != JobStatus.COMPLETED:
            raise RuntimeError(f"job {job.status}: {job.reason}")
        return job

    def download(self, job: StandInJob, dest: str | Path) -> list[Path]:
        folder = Path(dest)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for link in job.links:
            answer = self.http.get(link)
            answer.raise_for_status()
            path = folder / link.rsplit("/", 1)[-1]
            path.write_bytes(answer.content)
            paths.append(path)
        return paths
