"""The Batch API routes: import, export, status, cancel and result downloads."""

from __future__ import annotations

import shutil
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from ldtransform import ld
from ldtransform.ld import ExportField, ImportField, JobStatus, is_terminal
from ldtransform.server.auth import Principal
from ldtransform.server.errors import InvalidRequest, LinkExpired, NotFound
from ldtransform.server.export import CSV_TYPES, JSON_TYPES, parse_filters, safe_name
from ldtransform.server.jobview import job_status
from ldtransform.server.outcomes import JobRejected
from ldtransform.server.sources import (
    TemplateError,
    check_csv_header,
    parse_template,
    sniff_json,
)
from ldtransform.server.sqlguard import GuardedQuery, QueryError
from ldtransform.server.state import Caller, ServerState, form_doc, state_of
from ldtransform.server.uploads import read_form, read_upload

__all__ = ["router"]

router = APIRouter(tags=["batch"])

IMPORT_TYPES = (*JSON_TYPES, *CSV_TYPES)
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}
_COMMON: dict[str, str] = {
    ImportField.JOB_NAME: "A name for the job.",
    ImportField.ITEM_TYPE: "Item type as per the LD schema, e.g. Account.",
    ImportField.NOTIFICATION_EMAIL: "Optional: an address that is told when the job ends.",
}
IMPORT_FIELDS: dict[str, str] = {
    **_COMMON,
    ImportField.FILE: "The data: a JSON array of item envelopes, or CSV.",
    ImportField.CONTENT_TYPE: "application/json, or text/plain, plain/text or text/csv for CSV.",
    ImportField.TEMPLATE: "Import template (JSON) mapping CSV columns to fields; file part "
                          "or text.",
    ImportField.MERGE: "True: merge the given fields into existing items. Default False: "
                       "override.",
    ImportField.HEADER_ROW: "CSV only: true (default) when the first line is a header.",
}
EXPORT_FIELDS: dict[str, str] = {
    **_COMMON,
    ExportField.CONTENT_TYPE: "application/json (item envelopes) or text/plain / text/csv "
                              "(CSV).",
    ExportField.ROW_HEADER: "true: the CSV files start with a header row.",
    ExportField.TEMPLATE: "Optional Jinja2 template turning one item into a CSV line.",
    ExportField.SQL_QUERY: "Optional SELECT over the itemType views; wins over filters.",
    ExportField.FILTERS: "Optional field: value pairs as JSON or a Python dict's text; "
                         "0 = none.",
}
JOB_FIELDS = {ld.JOB_ID: "The job's id, from the submit answer."}


def _flag(fields: dict[str, str], name: str, default: bool) -> bool:
    value = fields.get(name)
    if value is None:
        return default
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise JobRejected(f"{name} must be True or False, not {value!r}")


def _common_checks(state: ServerState, fields: dict[str, str], allowed: tuple[str, ...]) -> str:
    """Check the parameters both kinds of job share; returns the content type."""
    for name in (ImportField.JOB_NAME, ImportField.ITEM_TYPE, ImportField.CONTENT_TYPE):
        if not fields.get(name, "").strip():
            raise JobRejected(f"The parameter {name} is required")
    if fields[ImportField.ITEM_TYPE] not in state.types:
        raise JobRejected(f"Unknown itemType {fields['itemType']!r}; this server knows "
                          f"{', '.join(sorted(state.types))}")
    content_type = fields[ImportField.CONTENT_TYPE].strip().lower()
    if content_type not in allowed:
        raise JobRejected(f"contentType {fields['contentType']!r} is not one of "
                          f"{', '.join(allowed)}")
    email = fields.get(ImportField.NOTIFICATION_EMAIL)
    if email and ("@" not in email or any(c in email for c in " \r\n,;<>")):
        raise JobRejected(f"notificationEmail {email!r} is not an e-mail address")
    return content_type


def _import_params(state: ServerState, fields: dict[str, str], template_file: bytes | None,
                   data: Path | None) -> dict[str, Any]:
    content_type = _common_checks(state, fields, IMPORT_TYPES)
    params: dict[str, Any] = {"merge": _flag(fields, ImportField.MERGE, False),
                              "headerRow": _flag(fields, ImportField.HEADER_ROW, True),
                              "format": "json" if content_type in JSON_TYPES else "csv"}
    if data is None:
        raise JobRejected("The upload has no 'file' part")
    if params["format"] == "json":
        problem = sniff_json(data)
        if problem:
            raise JobRejected(f"The file cannot be read: {problem}")
        return params
    raw = template_file if template_file is not None else fields.get(ImportField.TEMPLATE, "")
    if not raw or not raw.strip():
        raise JobRejected("A CSV import needs a template mapping its columns to fields")
    schema = state.types[fields[ImportField.ITEM_TYPE]].schema
    try:
        template = parse_template(raw, schema)
        check_csv_header(data, template, header_row=params["headerRow"])
    except TemplateError as exc:
        raise JobRejected(f"The template does not fit: {exc}") from exc
    params["template"] = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return params


def _submit(state: ServerState, who: Principal, kind: str, fields: dict[str, str],
            check: Any, job_id: str | None = None) -> sqlite3.Row:
    """Record the job as Initialized, then move it to Accepted or Rejected.

    Returns the job as it is then, before a worker can take it: the answer to a submission
    is always ``Accepted`` or ``Rejected``.
    """
    job_id = state.store.create_job(
        community=who.community, kind=kind, fields=fields, params={}, status=JobStatus.INITIALIZED,
        reason="The job has been received and is being accepted", job_id=job_id)
    try:
        params = check()
    except JobRejected as exc:
        state.store.set_status(job_id, JobStatus.REJECTED, str(exc), finished=time.time())
        state.worker.notify_finished(job_id)
        return _job(state, job_id)
    except Exception:
        # A fault of the server, not of the job: end the job rather than leave it waiting.
        state.store.set_status(job_id, JobStatus.FAILED, "The server could not check the job",
                               finished=time.time())
        state.worker.notify_finished(job_id)
        raise
    state.store.set_status(job_id, JobStatus.ACCEPTED, "The file has been stored and the "
                           "job is ready for processing" if kind == "import" else
                           "The job is ready for processing",
                           params=orjson.dumps(params).decode())
    job = _job(state, job_id)
    state.worker.wake()
    return job


def _job(state: ServerState, job_id: str) -> sqlite3.Row:
    job = state.store.job(job_id)
    assert job is not None
    return job


@router.post(ld.IMPORT, openapi_extra=form_doc(
    IMPORT_FIELDS, required=(ImportField.JOB_NAME, ImportField.ITEM_TYPE, ImportField.CONTENT_TYPE,
                             ImportField.FILE),
    files=(ImportField.FILE, ImportField.TEMPLATE), multipart_only=True))
async def batch_import(request: Request,
                       who: Caller) -> dict[str, Any]:
    """Upload a file to import; answers with the job-status object."""
    state = state_of(request)
    job_id = str(uuid.uuid4())
    folder = state.store.upload_dir(job_id)
    try:
        upload = await read_upload(request, state.store.upload_file(job_id),
                                   state.config.limits)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise

    def submit() -> dict[str, Any]:
        job = _submit(state, who, "import", upload.fields, lambda: _import_params(
            state, upload.fields, upload.template_file, upload.file_path), job_id)
        if job["status"] == JobStatus.REJECTED:
            shutil.rmtree(folder, ignore_errors=True)
        return job_status(job, state.store, state.base_url(request))
    return await run_in_threadpool(submit)


def _export_params(state: ServerState, who: Principal, fields: dict[str, str]) -> dict[str, Any]:
    content_type = _common_checks(state, fields, IMPORT_TYPES)
    schema = state.types[fields[ExportField.ITEM_TYPE]].schema
    filters = parse_filters(fields.get(ExportField.FILTERS))
    unknown = sorted(set(filters or {}) - set(schema.field_names))
    if unknown and not fields.get(ExportField.SQL_QUERY):
        raise JobRejected(f"filter fields {', '.join(unknown)} are not fields of "
                          f"{schema.item_type}")
    template = fields.get(ExportField.TEMPLATE) or None
    if template and content_type not in JSON_TYPES:
        try:
            SandboxedEnvironment().parse(template)
        except TemplateSyntaxError as exc:
            raise JobRejected(f"The export template does not compile: line {exc.lineno}: "
                              f"{exc.message}") from exc
    sql = (fields.get(ExportField.SQL_QUERY) or "").strip() or None
    if sql:
        _check_sql(state, who, sql)
    return {"rowHeader": _flag(fields, ExportField.ROW_HEADER, False), "template": template,
            "sqlQuery": sql, "filters": None if sql else fields.get(ExportField.FILTERS)}


def _check_sql(state: ServerState, who: Principal, sql: str) -> None:
    """Compile (not run) the query under the guard, so a bad one is rejected at once."""
    limits = state.config.limits
    schemas = {k: v.schema for k, v in state.types.items()}
    guard = GuardedQuery(state.store.path, who.community, schemas,
                         time_limit=limits.sql_time_limit, row_limit=limits.sql_row_limit)
    try:
        guard.rows(f"EXPLAIN {sql}")
    except QueryError as exc:
        raise JobRejected(f"sqlQuery: {exc}") from exc
    finally:
        guard.close()


@router.post(ld.EXPORT, openapi_extra=form_doc(
    EXPORT_FIELDS, required=(ExportField.JOB_NAME, ExportField.ITEM_TYPE,
                             ExportField.CONTENT_TYPE)))
async def batch_export(request: Request,
                       who: Caller) -> dict[str, Any]:
    """Submit an export job; answers with the job-status object."""
    state = state_of(request)
    fields = await read_form(request, state.config.limits)

    def submit() -> dict[str, Any]:
        job = _submit(state, who, "export", fields,
                      lambda: _export_params(state, who, fields))
        return job_status(job, state.store, state.base_url(request))
    return await run_in_threadpool(submit)


async def _job_of(request: Request, who: Principal) -> tuple[ServerState, str]:
    state = state_of(request)
    fields = await read_form(request, state.config.limits)
    job_id = (fields.get(ld.JOB_ID) or "").strip()
    if not job_id:
        raise InvalidRequest("the form field jobId is required")
    return state, job_id


def _status_or_404(state: ServerState, who: Principal, job_id: str,
                   request: Request) -> dict[str, Any]:
    job = state.store.job(job_id, who.community)
    if job is None:
        raise NotFound(f"no job {job_id!r} in community {who.community!r}")
    return job_status(job, state.store, state.base_url(request))


@router.post(ld.STATUS, openapi_extra=form_doc(JOB_FIELDS, required=(ld.JOB_ID,)),
             response_class=Response,
             responses={200: {"content": {"application/json": {}},
                              "description": "The job-status object"}})
async def batch_status(request: Request, who: Caller) -> Response:
    """The job-status object of a job of the caller's community."""
    state, job_id = await _job_of(request, who)
    # One indexed read of a WAL database: cheaper here than a hop to the thread pool,
    # and this is the route clients poll.
    status = _status_or_404(state, who, job_id, request)
    return Response(orjson.dumps(status), media_type="application/json")


@router.post(ld.CANCEL, openapi_extra=form_doc(JOB_FIELDS, required=(ld.JOB_ID,)))
async def batch_cancel(request: Request,
                       who: Caller) -> dict[str, Any]:
    """Ask for a job to be canceled; a finished job is left as it is."""
    state, job_id = await _job_of(request, who)

    def cancel() -> dict[str, Any]:
        job = state.store.job(job_id, who.community)
        if job is not None and not is_terminal(job["status"]):
            state.store.set_status(
                job_id, JobStatus.CANCELING, "A request to cancel the job has been received; "
                "it will be canceled next time it is up for processing",
                only_from=(JobStatus.INITIALIZED, JobStatus.ACCEPTED, JobStatus.PROCESSING))
            state.worker.wake()
        return _status_or_404(state, who, job_id, request)
    return await run_in_threadpool(cancel)


_MEDIA = {".json": "application/json", ".csv": "text/csv; charset=utf-8",
          ".ndjson": "application/x-ndjson"}


@router.get(ld.DOWNLOAD, response_class=FileResponse,
            responses={404: {"description": "No such file in your community"},
                       410: {"description": "The link has expired"}})
def batch_download(link_id: str, name: str, request: Request,
                   who: Caller) -> FileResponse:
    """Download an export result or a rejection file (links come from the status)."""
    state = state_of(request)
    row = state.store.file(link_id)
    if row is None or row["community"] != who.community or row["name"] != name:
        raise NotFound("no such file")
    if row["expires"] is not None and row["expires"] < state.clock.now():
        raise LinkExpired("the link has expired; export again")
    path = state.store.stored_path(row)
    if path is None:
        raise NotFound("the file is no longer there")
    return FileResponse(path, media_type=_MEDIA.get(path.suffix, "application/octet-stream"),
                        filename=safe_name(name, "download"))
