"""What the readers share: opening sources (compression, pipes), encodings and BOMs,
locating bad bytes, naming columns. Nothing here parses a format.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

import pyarrow as pa

from ldtransform.errors import ConfigError, EncodingError, ReadError
from ldtransform.protocols import Source
from ldtransform.readers import _vetting

__all__ = [
    "Opened",
    "Utf8Text",
    "column_letter",
    "detect_encoding",
    "invalid_bytes_error",
    "locate_invalid_bytes",
    "open_binary",
    "source_name",
    "spool",
    "utf8_text",
]

GZIP_MAGIC = b"\x1f\x8b"
SAMPLE_BYTES = 1 << 16
SPOOL_IN_MEMORY = 16 << 20

BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def column_letter(index: int) -> str:
    """Spreadsheet letters for a 0-based column index (0 → A, 27 → AB)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def source_name(source: Source) -> str:
    """A printable name for a source: its path, or the stream's name, or ``<stream>``."""
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else "<stream>"


@dataclass
class Opened:
    """A binary source opened for reading, decompressed if it was gzip."""

    stream: BinaryIO
    name: str
    compressed: bool
    path: Path | None
    start: int = 0  # where the caller's stream stood: reading starts there

    def reopen(self) -> BinaryIO:
        """A fresh stream from the start (for a second pass or to locate an error)."""
        if self.path is not None:
            raw: BinaryIO = open(self.path, "rb")  # noqa: SIM115 - handed to the caller
        elif self.stream.seekable():
            self.stream.seek(self.start)
            return self.stream
        else:
            raise ReadError("cannot re-read a non-seekable stream", source=self.name)
        return gzip.GzipFile(fileobj=raw) if self.compressed else raw  # type: ignore[return-value]

    def sample(self, size: int = SAMPLE_BYTES) -> bytes:
        """The first ``size`` decompressed bytes, without consuming them for later reads."""
        stream = self.reopen()
        try:
            return stream.read(size)
        except (OSError, EOFError) as exc:
            raise ReadError(f"cannot read: {exc}", source=self.name) from exc
        finally:
            if self.path is not None:
                stream.close()
            else:
                stream.seek(self.start)


def open_binary(source: Source) -> Opened:
    """Open ``source`` (path or binary file) for reading; gunzip transparently."""
    name = source_name(source)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        _vetting.check_regular_file(path)
        try:
            with open(path, "rb") as probe:
                compressed = probe.read(2) == GZIP_MAGIC
        except FileNotFoundError as exc:
            raise ReadError("no such file", source=name,
                            hint="Check the path and the current directory") from exc
        except OSError as exc:
            raise ReadError(f"cannot open: {exc.strerror}", source=name) from exc
        opened = Opened(io.BytesIO(), name, compressed, path)
        opened.stream = opened.reopen()
        return opened
    if isinstance(source, io.TextIOBase):
        raise ConfigError(f"{name} is open in text mode; readers need bytes, "
                          "e.g. open(path, 'rb')")
    stream = source if source.seekable() else spool(source)
    start = stream.tell()
    compressed = stream.read(2) == GZIP_MAGIC
    stream.seek(start)
    if compressed:
        stream = gzip.GzipFile(fileobj=stream)  # type: ignore[assignment]
        start = 0
    return Opened(stream, name, compressed, None, start)


def spool(stream: BinaryIO) -> BinaryIO:
    """Copy an unseekable stream (a pipe) to a temporary file that can be read again.

    Small inputs stay in memory; larger ones go to disk, so memory stays bounded.
    """
    copy = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    shutil.copyfileobj(stream, copy, 1 << 20)
    copy.seek(0)
    return copy  # type: ignore[return-value]


@dataclass
class Utf8Text:
    """A source's text as UTF-8 bytes in a form pyarrow reads without calling Python.

    pyarrow's streaming readers read ahead on a thread of their own. A stream written in
    Python there (or pyarrow's own transcoder, which calls Python codecs) makes that thread
    take the GIL, and if the interpreter is finishing meanwhile the process aborts
    (apache/arrow#34314). So plain UTF-8 files are read by pyarrow directly (gzip through
    its native decompressor), and anything else is first copied here, as UTF-8.
    """

    path: str | None = None
    gzip: bool = False
    data: bytes | None = None
    copy: IO[bytes] | None = None  # a temporary copy, deleted by close()

    def open(self) -> pa.NativeFile:
        """A fresh native stream from the start of the text."""
        return self.open_with_raw()[0]

    def open_with_raw(self) -> tuple[pa.NativeFile, pa.NativeFile]:
        """A fresh native stream, and the stream of bytes it decompresses (or itself),
        whose ``tell()`` says how far it has read."""
        if self.data is not None:
            raw: pa.NativeFile = pa.BufferReader(self.data)
        else:
            assert self.path is not None
            raw = pa.OSFile(self.path)
        return (pa.CompressedInputStream(raw, "gzip") if self.gzip else raw), raw

    def size(self) -> int | None:
        """The number of bytes, when known without reading them."""
        if self.gzip:
            return None
        if self.data is not None:
            return len(self.data)
        return None if self.path is None else os.path.getsize(self.path)

    def tail(self, count: int) -> bytes:
        """The last ``count`` bytes (reading everything only for gzip)."""
        size = self.size()
        with self.open() as stream:
            if size is not None:
                stream.seek(max(size - count, 0))
                return bytes(stream.read())
            tail = b""
            while chunk := stream.read(1 << 20):
                tail = (tail + chunk)[-count:] if count else b""
            return tail

    def close(self) -> None:
        if self.copy is not None:
            self.copy.close()


def utf8_text(opened: Opened, encoding: str) -> Utf8Text:
    """The text of ``opened`` (in ``encoding``) as :class:`Utf8Text`.

    A file in UTF-8 is read where it lies; a stream, or another encoding, is copied:
    in memory up to 16 MiB, beyond that to a temporary file. Invalid bytes raise
    :class:`EncodingError` here, before any row is read.
    """
    codec = codecs.lookup(encoding).name
    if opened.path is not None and codec in ("utf-8", "utf-8-sig"):
        return Utf8Text(path=os.fspath(opened.path), gzip=opened.compressed)
    stream: IO[bytes] = opened.reopen()
    gzipped = False
    if isinstance(stream, gzip.GzipFile) and codec == "utf-8" and stream.fileobj is not None:
        # Copy the compressed bytes: pyarrow decompresses them as it reads.
        gzipped, stream = True, stream.fileobj
        stream.seek(0)  # a gzip stream is read from its start (see open_binary)
    decoder = None if codec == "utf-8" else codecs.getincrementaldecoder(encoding)()
    chunks: list[bytes] = []
    held, copy = 0, None
    try:
        while True:
            raw = stream.read(1 << 20)
            chunk = raw if decoder is None else decoder.decode(raw, final=not raw).encode()
            if copy is None and held + len(chunk) > SPOOL_IN_MEMORY:
                copy = tempfile.NamedTemporaryFile(prefix="ldtransform-", suffix=".csv")  # noqa: SIM115
                copy.writelines(chunks)
                chunks = []
            if copy is not None:
                copy.write(chunk)
            else:
                chunks.append(chunk)
                held += len(chunk)
            if not raw:
                break
    except UnicodeDecodeError:
        if copy is not None:
            copy.close()
        raise invalid_bytes_error(opened.reopen(), encoding, opened.name) from None
    except (OSError, EOFError) as exc:
        if copy is not None:
            copy.close()
        raise ReadError(f"cannot read: {exc}", source=opened.name) from exc
    finally:
        if opened.path is not None:
            stream.close()
    if copy is None:
        return Utf8Text(data=b"".join(chunks), gzip=gzipped)
    copy.flush()
    return Utf8Text(path=copy.name, gzip=gzipped, copy=copy)


def detect_encoding(sample: bytes, requested: str | None, *, source: str) -> tuple[str, str]:
    """Choose the encoding: ``(codec, how)`` where ``how`` is bom/given/default/detected.

    A BOM always wins. Otherwise ``requested`` is used when given; ``"auto"`` tries strict
    UTF-8 and falls back to cp1252 or Latin-1; ``None`` means strict UTF-8.
    """
    for bom, codec in BOMS:
        if sample.startswith(bom):
            return codec, "bom"
    if requested not in (None, "auto"):
        try:
            codecs.lookup(requested)
        except LookupError as exc:
            raise ConfigError(
                f"{source}: unknown encoding {requested!r}; use a Python codec name such "
                "as 'utf-8', 'latin-1', 'cp1252', 'utf-16', or 'auto' to detect it"
            ) from exc
        return requested, "given"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        if requested is None:
            raise invalid_bytes_error(sample, "utf-8", source) from None
        try:
            sample.decode("cp1252")
        except UnicodeDecodeError:
            return "latin-1", "detected"
        return "cp1252", "detected"
    return "utf-8", "default" if requested is None else "detected"


def locate_invalid_bytes(stream: BinaryIO, encoding: str) -> tuple[int, int, bytes] | None:
    """Find the first bytes invalid in ``encoding``: ``(line, byte offset, bytes)``."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, line = 0, 1
    while True:
        chunk = stream.read(1 << 20)
        # The decoder holds back an incomplete sequence from the previous chunk and reports
        # positions in (held + chunk); convert them to positions in the chunk.
        held = len(decoder.getstate()[0])
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            position = max(exc.start - held, 0)
            line += chunk.count(b"\n", 0, position)
            return line, offset + position, exc.object[exc.start:exc.end]
        if not chunk:
            return None
        line += chunk.count(b"\n")
        offset += len(chunk)


def invalid_bytes_error(data: bytes | BinaryIO, encoding: str, source: str, *,
                        requested: str | None = None) -> EncodingError:
    """An :class:`EncodingError` pointing at the first invalid bytes of ``data``;
    ``requested`` is the encoding asked for (``"auto"`` changes the hint)."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    found = locate_invalid_bytes(stream, encoding)
    line, offset, bad = found if found else (None, None, b"")
    where = f" at byte {offset}" if offset is not None else ""
    return EncodingError(
        f"bytes {bad!r}{where} are not valid {encoding}",
        source=source,
        line=line,
        hint=_encoding_hint(encoding, requested),
    )


def _encoding_hint(encoding: str, requested: str | None) -> str:
    if requested != "auto":
        return ("Name the file's encoding, e.g. encoding='latin-1' or 'cp1252', or use "
                "encoding='auto' to detect it")
    # 'auto' judged by the start of the file; asking for it again changes nothing.
    other = "latin-1" if codecs.lookup(encoding).name == "cp1252" else "cp1252"
    return (f"encoding='auto' chose {encoding} from the start of the file, which these "
            f"later bytes do not fit; name the file's encoding, e.g. encoding='{other}'")
