"""Batch requests without I/O: the import and export forms, and result-file downloads."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

import httpx

from ldtransform import ld
from ldtransform.client._protocol import Call, Safety
from ldtransform.client.errors import ClientError
from ldtransform.client.jobs import Job
from ldtransform.errors import ConfigError
from ldtransform.ld import ExportField, ImportField, JobStatus

__all__ = ["PartFile", "content_type_for", "download_call", "export_call", "import_call",
           "result_links", "target_names", "targets"]

CONTENT_TYPES = {".json": "application/json", ".jsonl": "application/json",
                 ".csv": "text/plain", ".txt": "text/plain"}
Progress = Callable[[int, int | None], None]


def content_type_for(path: Path) -> str:
    """The ``contentType`` of a data file, from its suffix."""
    found = CONTENT_TYPES.get(path.suffix.lower())
    if found is None:
        raise ConfigError(f"{path}: cannot tell the content type from the suffix; pass "
                          "content_type ('application/json' or 'text/plain')")
    return found


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _template_text(template: str | os.PathLike[str]) -> tuple[str, bytes]:
    """A template given as a path or as its text: (file name, bytes)."""
    if isinstance(template, os.PathLike) or (
            isinstance(template, str) and "\n" not in template and "{" not in template):
        path = Path(template)
        try:
            return path.name, path.read_bytes()
        except OSError as exc:
            raise ClientError(f"cannot read the template {path}: {exc.strerror}") from None
    return "template.json", template.encode("utf-8")


class _Counting:
    """A binary file that reports the bytes read from it (httpx streams it in chunks)."""

    def __init__(self, file: IO[bytes], total: int, progress: Progress) -> None:
        self._file = file
        self._total = total
        self._progress = progress
        self._sent = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        self._sent += len(chunk)
        self._progress(self._sent, self._total)
        return chunk

    def fileno(self) -> int:
        return self._file.fileno()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()


def import_call(path: Path, item_type: str, *, job_name: str | None,
                content_type: str | None, template: str | os.PathLike[str] | None,
                merge: bool, header_row: bool | None, notification_email: str | None,
                progress: Progress | None) -> Call:
    """``POST /import`` streaming ``path`` as the file part (opened anew per attempt)."""
    if not path.is_file():
        raise ClientError(f"{path}: no such file to import")
    data = {ImportField.JOB_NAME: job_name or path.name, ImportField.ITEM_TYPE: item_type,
            ImportField.CONTENT_TYPE: content_type or content_type_for(path),
            ImportField.MERGE: "True" if merge else "False"}
    if header_row is not None:
        data[ImportField.HEADER_ROW] = _flag(header_row)
    if notification_email:
        data[ImportField.NOTIFICATION_EMAIL] = notification_email
    template_part = _template_text(template) if template is not None else None
    ctype = data[ImportField.CONTENT_TYPE]

    def files(stack: ExitStack) -> dict[str, Any]:
        file: Any = stack.enter_context(path.open("rb"))
        if progress is not None:
            file = _Counting(file, path.stat().st_size, progress)
        parts: dict[str, Any] = {ImportField.FILE: (path.name, file, ctype)}
        if template_part is not None:
            parts[ImportField.TEMPLATE] = (*template_part, "application/json")
        return parts

    return Call("POST", ld.IMPORT, Safety.UPLOAD,
                data={str(k): v for k, v in data.items()}, files=files)


def export_call(item_type: str, *, job_name: str | None, content_type: str,
                row_header: bool, template: str | os.PathLike[str] | None,
                sql: str | None, filters: Mapping[str, Any] | None,
                notification_email: str | None) -> Call:
    """``POST /export`` with every field of the seed page."""
    data: dict[str, str] = {
        ExportField.JOB_NAME: job_name or f"export {item_type}",
        ExportField.ITEM_TYPE: item_type, ExportField.CONTENT_TYPE: content_type,
        ExportField.ROW_HEADER: _flag(row_header)}
    if template is not None:
        data[ExportField.TEMPLATE] = _template_text(template)[1].decode("utf-8")
    if sql is not None:
        data[ExportField.SQL_QUERY] = sql
    if filters:
        data[ExportField.FILTERS] = json.dumps(dict(filters))
    if notification_email:
        data[ExportField.NOTIFICATION_EMAIL] = notification_email
    return Call("POST", ld.EXPORT, Safety.SUBMIT, data={str(k): v for k, v in data.items()})


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def target_names(links: tuple[str, ...]) -> list[str]:
    """A file name for each link: its last segment in ``[A-Za-z0-9._-]``, unique, never
    ``.``/``..`` or hidden, so it cannot escape the destination folder."""
    names: list[str] = []
    for number, link in enumerate(links, start=1):
        segment = unquote(urlsplit(link).path.rsplit("/", 1)[-1])
        name = _UNSAFE.sub("_", segment).lstrip(".")
        if not name:
            name = f"part{number:04d}"
        while name in names:
            name = f"{number}-{name}"
        names.append(name)
    return names


class PartFile:
    """Receives a download: writes ``<name>.part``, checks its length, fsyncs, renames."""

    def __init__(self, target: Path, progress: Progress | None = None) -> None:
        self.target = target
        self.part = target.with_name(target.name + ".part")
        self._progress = progress
        self._file: IO[bytes] | None = None
        self._expected: int | None = None
        self._written = 0

    def begin(self, headers: httpx.Headers) -> None:
        """A (new) attempt starts: truncate what an earlier attempt wrote."""
        self.close()
        self._file = self.part.open("wb")
        length = headers.get("content-length")
        self._expected = int(length) if length and length.isdigit() else None
        self._written = 0

    def write(self, chunk: bytes) -> None:
        assert self._file is not None
        self._file.write(chunk)
        self._written += len(chunk)
        if self._progress is not None:
            self._progress(self._written, self._expected)

    def finish(self) -> None:
        """Verify the length, make the bytes durable, give the file its name."""
        assert self._file is not None
        if self._expected is not None and self._written != self._expected:
            raise httpx.ReadError(f"got {self._written} of {self._expected} bytes")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.close()
        os.replace(self.part, self.target)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        """Remove the ``.part`` file of a download that did not finish."""
        self.close()
        self.part.unlink(missing_ok=True)


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def download_call(link: str, sink: PartFile, base_url: str) -> Call:
    """``GET`` of a result or rejection link into ``sink`` (bytes as sent, no decoding).

    The token goes only to the server's own origin, never to a host a link names.
    """
    authed = link.startswith("/") or _origin(link) == _origin(base_url)
    return Call("GET", link, headers={"Accept-Encoding": "identity"}, authed=authed,
                sink=sink)


def result_links(job: Job) -> tuple[str, ...]:
    """The result links of a completed export (an error for any other job)."""
    if job.status != JobStatus.COMPLETED or job.job_type == "import":
        raise ClientError(f"job {job.job_id} is {job.job_type or 'a job'} {job.status}, not "
                          "a completed export: wait for it before downloading")
    return job.links


def targets(links: tuple[str, ...], dest: Path) -> list[tuple[str, Path]]:
    """Each link with the file in ``dest`` (created if missing) it is saved as."""
    dest.mkdir(parents=True, exist_ok=True)
    return [(link, dest / name) for link, name in zip(links, target_names(links), strict=True)]
