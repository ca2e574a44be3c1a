"""Checks made when a source is opened, before any format parses it.

Refused early, with one message whatever the command: what is not a regular file (a
directory, a pipe, a device: a pipe would block forever, ``/dev/zero`` never ends), an
empty file, and, for the text readers, bytes that are not text (a ZIP archive, binary
data). Standard input is read only when named explicitly as ``-``.
"""

from __future__ import annotations

import codecs
import os
import stat
import sys
from typing import Any

from ldtransform.errors import ConfigError, ReadError

__all__ = ["STDIN", "check_regular_file", "check_text", "delimiter_hint", "resolve_source"]

#: The source name that means standard input.
STDIN = "-"
#: How far into a text source a zero byte marks it as binary.
TEXT_PROBE_BYTES = 8192

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_WIDE_CODECS = ("utf-16", "utf-32")
#: Byte-order marks and the codecs that read past them (UTF-32 before UTF-16: it is longer).
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"))
_WIDE_BOMS = tuple(bom for bom, codec in BOMS if codec.startswith(_WIDE_CODECS))
_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
_EMPTY_HINT = "Check that whatever wrote the file finished and wrote its data"


def resolve_source(source: Any, format: str | None) -> Any:
    """``source`` ready to open: ``-`` becomes standard input (which needs ``format``),
    and a path must name a regular file that is not empty."""
    if isinstance(source, str) and source == STDIN:
        if format is None:
            raise ConfigError("standard input ('-') has no file name to tell its format "
                              "by; name it, e.g. format='csv'")
        return sys.stdin.buffer
    if isinstance(source, str | os.PathLike):
        check_regular_file(source)
    return source


def check_regular_file(path: str | os.PathLike[str]) -> None:
    """Raise :class:`ReadError` unless ``path`` is a regular, non-empty file.

    A missing file passes: opening it says "no such file" in the reader's own words.
    """
    name = os.fspath(path)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ReadError(f"cannot open: {exc.strerror or exc}", source=name) from exc
    if stat.S_ISDIR(status.st_mode):
        raise ReadError("this is a directory, not a regular file", source=name,
                        hint="Name a file in it; for many files use a glob such as "
                        "'folder/*.csv'")
    if not stat.S_ISREG(status.st_mode):
        kind = next((what for test, what in _KINDS if test(status.st_mode)), "not a file")
        raise ReadError(f"not a regular file: it is {kind}", source=name,
                        hint="To read from a pipe or a device, name the source '-' and feed "
                        "it on standard input, naming its format, e.g. format='csv'")
    if status.st_size == 0:
        raise ReadError("the file is empty (0 bytes)", source=name, hint=_EMPTY_HINT)


def check_text(sample: bytes, encoding: str | None, source: str, *, whole: bool) -> None:
    """Raise :class:`ReadError` if the first bytes of a text source show it is not text.

    ``sample`` is the start of the (decompressed) data and ``whole`` says whether it is
    all of it. ``encoding`` is the one asked for (``None``, a codec or ``"auto"``): zero
    bytes are normal in UTF-16 and UTF-32, named or marked by a byte-order mark.
    """
    if sample.startswith(_ZIP_MAGIC):
        raise ReadError("this is a ZIP archive, not text", source=source,
                        hint="A workbook (.xlsx, .ods) is a ZIP archive: give it its suffix "
                        "or read it with format='excel'; otherwise "
                        "unzip it first")
    wide = sample.startswith(_WIDE_BOMS) or _is_wide(encoding)
    if whole and _blank(sample, encoding):
        raise ReadError("the file is empty: it holds only whitespace or a byte-order mark",
                        source=source, hint=_EMPTY_HINT)
    if not wide and b"\x00" in sample[:TEXT_PROBE_BYTES]:
        at = sample.index(b"\x00")
        raise ReadError(f"not a text file: it holds a zero byte at byte {at}", source=source,
                        hint="If it is UTF-16 or UTF-32 text without a byte-order mark, name "
                        "the encoding, e.g. encoding='utf-16-le'; if it is a workbook or "
                        "Parquet file, give it its suffix or name its format, e.g. "
                        "format='parquet'")


def delimiter_hint(header: list[str], given: str | None, sniffed: str) -> str | None:
    """A hint when a given delimiter leaves the header one column holding another one."""
    if given is None or sniffed == given or len(header) != 1 or sniffed not in header[0]:
        return None
    shown = "\\t" if sniffed == "\t" else sniffed
    return (f"The header is one column holding {shown!r}: the file seems delimited by "
            f"{shown!r}, not {given!r}; read it with delimiter={shown!r}")


def _is_wide(encoding: str | None) -> bool:
    if encoding in (None, "auto"):
        return False
    try:
        return codecs.lookup(encoding).name.startswith(_WIDE_CODECS)
    except LookupError:
        return False  # the reader reports the unknown codec itself


def _blank(sample: bytes, encoding: str | None) -> bool:
    """Whether ``sample`` is only a BOM and whitespace (undecodable bytes are not blank)."""
    codec = next((codec for bom, codec in BOMS if sample.startswith(bom)), None)
    if codec is None:
        codec = encoding if encoding is not None and _is_wide(encoding) else "utf-8"
    try:
        text = codecs.decode(sample, codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return not text.strip()
