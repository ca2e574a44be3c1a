"""Reading request bodies: multipart uploads streamed to disk, and tolerant form parsing.

The upload's ``file`` part goes straight to a file in the job's folder, never to memory and
never under a name the client chose. The total size, the number of parts and the size of
each plain field are checked *while* the body streams in, so an oversized upload is cut off
with 413 as soon as it passes the limit. Form posts are read whatever their
``Content-Type`` says (the example scripts send form fields labelled application/json).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request

from ldtransform.server.config import Limits
from ldtransform.server.errors import InvalidRequest, ServerError, TooLarge

__all__ = ["Upload", "read_form", "read_upload"]


@dataclass
class Upload:
    """The parsed multipart request: plain fields and the saved file part."""

    fields: dict[str, str] = field(default_factory=dict)
    file_path: Path | None = None
    file_name: str | None = None
    file_size: int = 0
    template_file: bytes | None = None


class _Collector:
    """Callbacks for :class:`MultipartParser` that route each part where it belongs."""

    def __init__(self, upload: Upload, file_path: Path, limits: Limits) -> None:
        self.upload, self.file_path, self.limits = upload, file_path, limits
        self.header_name = b""
        self.headers: dict[bytes, bytes] = {}
        self.name = ""
        self.is_file = False
        self.buffer = bytearray()
        self.sink: BinaryIO | None = None
        self.parts = self.files = 0

    def on_part_begin(self) -> None:
        self.headers = {}
        self.buffer = bytearray()
        self.parts += 1
        if self.parts > self.limits.max_fields + self.limits.max_files:
            raise TooLarge(f"too many parts (limit {self.limits.max_fields} fields "
                           f"and {self.limits.max_files} files)")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        key = self.header_name.lower()
        self.headers[key] = self.headers.get(key, b"") + data[start:end]

    def on_header_end(self) -> None:
        self.header_name = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = options.get(b"name", b"").decode("utf-8", "replace")
        self.is_file = b"filename" in options
        if self.is_file:
            self.files += 1
            if self.files > self.limits.max_files:
                raise TooLarge(f"too many file parts (limit {self.limits.max_files})")
        if self.is_file and self.name == "file":
            if self.upload.file_path is not None:
                raise InvalidRequest("the upload has more than one 'file' part")
            self.upload.file_name = options[b"filename"].decode("utf-8", "replace")
            self.file_path.parent.mkdir(parents=True, exist_ok=True)
            self.sink = open(self.file_path, "wb")  # noqa: SIM115
            self.upload.file_path = self.file_path

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.sink is not None:
            self.sink.write(data[start:end])
            self.upload.file_size += end - start
            return
        self.buffer += data[start:end]
        if len(self.buffer) > self.limits.max_field_bytes:
            raise TooLarge(f"part {self.name!r} is larger than the limit of "
                           f"{self.limits.max_field_bytes} bytes")

    def on_part_end(self) -> None:
        if self.sink is not None:
            self.sink.close()
            self.sink = None
        elif self.is_file and self.name == "template":
            self.upload.template_file = bytes(self.buffer)
        elif not self.is_file:
            if len(self.upload.fields) >= self.limits.max_fields:
                raise TooLarge(f"too many fields (limit {self.limits.max_fields})")
            self.upload.fields[self.name] = self.buffer.decode("utf-8", "replace")

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()


#: After refusing a body, read (and drop) up to this much more of it before answering, so
#: the client is not reset while still sending and does see the 413.
_DRAIN_BYTES = 16 << 20


async def _drain(request: Request, done: int) -> None:
    try:
        async for chunk in request.stream():
            done += len(chunk)
            if done > _DRAIN_BYTES:
                return
    except (ClientDisconnect, RuntimeError):  # gone, or already read to the end
        return


async def read_upload(request: Request, file_path: Path, limits: Limits) -> Upload:
    """Stream a multipart body; the ``file`` part is written to ``file_path``."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise InvalidRequest("batch import is a multipart/form-data upload with a 'file' "
                             "part")
    declared = request.headers.get("content-length")
    too_large = TooLarge(f"the upload is larger than the limit of "
                         f"{limits.max_upload_bytes} bytes")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_upload_bytes:
        if int(declared) <= _DRAIN_BYTES:
            await _drain(request, 0)
        raise too_large
    upload = Upload()
    collector = _Collector(upload, file_path, limits)
    parser = MultipartParser(boundary, callbacks={  # type: ignore[arg-type]
        name: getattr(collector, name) for name in (
            "on_part_begin", "on_part_data", "on_part_end", "on_header_field",
            "on_header_value", "on_header_end", "on_headers_finished")})
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limits.max_upload_bytes:
                raise too_large
            parser.write(chunk)
        parser.finalize()
    except ServerError:
        collector.close()
        await _drain(request, received)
        raise
    except Exception as exc:  # the multipart parser's own errors
        collector.close()
        await _drain(request, received)
        raise InvalidRequest(f"the multipart body cannot be parsed: {exc}") from exc
    collector.close()
    return upload


async def read_form(request: Request, limits: Limits) -> dict[str, str]:
    """Form fields of a urlencoded or multipart body, or of a JSON object body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=0, max_fields=limits.max_fields,
                                      max_part_size=limits.max_field_bytes)
        except HTTPException as exc:
            raise InvalidRequest(f"the form cannot be read: {exc.detail}") from exc
        return {k: v for k, v in form.items() if isinstance(v, str)}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limits.max_body_bytes:
            raise TooLarge(f"the body is larger than {limits.max_body_bytes} bytes")
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"the body is neither form fields nor JSON: {exc}") from exc
        if isinstance(doc, dict):
            return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in doc.items()}
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=limits.max_fields)
    except ValueError as exc:
        raise TooLarge(f"too many form fields (limit {limits.max_fields})") from exc
    return dict(pairs)
