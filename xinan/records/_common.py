"""Record models (docs/records.md §1, §4, §6) and the helpers every reader and writer shares."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from xinan.errors import UsageError
from xinan.fileio import STDIO

# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class Format(StrEnum):
    """A record file format (docs/records.md §1)."""

    CSV = "csv"
    JSONL = "jsonl"
    XLSX = "xlsx"


@dataclass(frozen=True, slots=True)
class Row:
    """One record: its row number (docs/records.md §4) and its values in header order."""

    number: int
    values: list[str]

    def __repr__(self) -> str:  # values stay out of reprs (DEVELOPING.md: no clear values)
        return f"Row(number={self.number}, values=<{len(self.values)} values>)"


@dataclass(frozen=True, slots=True)
class BadRow:
    """A record that cannot be used.

    ``column`` names the column where the problem is (a header name, or ``"(extra column N)"``
    for a field past the header's width), or is ``None`` when the problem has no column.
    ``reason`` never quotes a value. ``raw`` is the record's text for the rejects file: bytes
    that did not decode shown as ``\\xNN``, NUL as ``\\x00``, cut at :data:`RAW_LIMIT` characters
    with a marker. It holds clear data, so it never goes into a message or a log.
    """

    number: int
    column: str | None
    reason: str
    raw: str = ""

    def __repr__(self) -> str:  # raw stays out of reprs (DEVELOPING.md: no clear values)
        return f"BadRow(number={self.number}, column={self.column!r}, reason={self.reason!r})"


#: Characters of a record kept in :attr:`BadRow.raw`.
RAW_LIMIT = 4096
#: Bytes read from the start of a file to detect its encoding (docs/records.md §2).
SAMPLE_BYTES = 64 * 1024
#: How many rejects an :func:`open_rejects` writer keeps (without ``raw``) for a summary.
SAMPLE_REJECTS = 20

_CHUNK_CHARS = 1 << 20  # read size while skipping past a record too long to parse
# Undecodable bytes come back as U+DC80..U+DCFF under errors="surrogateescape" (PEP 383).
_BAD_CHAR = re.compile("[\x00\udc80-\udcff]")
_ESCAPE = re.compile("[\x00\ud800-\udfff]")
_LINE_BREAK = re.compile("\r\n|\r|\n")

_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and .doc …)

# Explicit encodings honoured, name asked -> codec used. GBK and GB2312 are read with the
# GB18030 codec: GB 18030 is a superset of both, so every valid GBK file decodes the same.
_ENCODINGS = {
    "utf-8": "utf-8-sig",  # a BOM is not data: drop it even when plain utf-8 was asked for
    "utf-8-sig": "utf-8-sig",
    "gb18030": "gb18030",
    "gbk": "gb18030",
    "gb2312": "gb18030",
}
_ENCODING_ALIASES = {
    "utf8": "utf-8",
    "utf-8sig": "utf-8-sig",
    "utf8-sig": "utf-8-sig",
    "gb-18030": "gb18030",
    "gb-2312": "gb2312",
    "cp936": "gbk",  # Windows' name for GBK
}

_READ_EXTENSIONS = {
    ".csv": Format.CSV,
    ".tsv": Format.CSV,
    ".txt": Format.CSV,
    ".jsonl": Format.JSONL,
    ".ndjson": Format.JSONL,
    ".json": Format.JSONL,
    ".xlsx": Format.XLSX,
    ".xlsm": Format.XLSX,
}


def _display(path: str | Path) -> str:
    return "<stdin>" if str(path) == STDIO else str(path)


def _format_for(path: str | Path, fmt: Format | str | None) -> Format:
    if fmt is not None:
        try:
            return Format(fmt)
        except ValueError:
            raise UsageError(
                f"unknown record format {fmt!r}", hint="use one of: csv, jsonl, xlsx"
            ) from None
    if str(path) == STDIO:
        return Format.CSV
    suffix = Path(path).suffix.lower()
    if suffix == ".xls":
        raise UsageError(
            f"{path}: legacy Excel .xls files are not supported",
            hint="open it in Excel or WPS and save it as .xlsx or as CSV UTF-8",
        )
    return _READ_EXTENSIONS.get(suffix, Format.CSV)


def _normalise_encoding(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    key = _ENCODING_ALIASES.get(key, key)
    if key not in _ENCODINGS:
        raise UsageError(
            f"unsupported encoding {name!r}",
            hint="use one of: " + ", ".join(_ENCODINGS) + " (or leave it out to detect it)",
        )
    return key


def _escape_raw(text: str) -> str:
    """Make record text printable and encodable: undecodable bytes -> \\xNN, NUL -> \\x00."""

    def one(m: re.Match[str]) -> str:
        code = ord(m.group())
        if 0xDC80 <= code <= 0xDCFF:
            return f"\\x{code - 0xDC00:02x}"
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _ESCAPE.sub(one, text)


def _raw(text: str, total: int | None = None) -> str:
    """The text of a record for :attr:`BadRow.raw`: escaped, without its line break, capped.

    *total* is the record's full length when *text* is only its beginning.
    """
    total = len(text) if total is None else total
    if total > RAW_LIMIT:
        return _escape_raw(text[:RAW_LIMIT]) + f"…[truncated: {total} characters in all]"
    if text.endswith("\n"):
        text = text[:-2] if text.endswith("\r\n") else text[:-1]
    elif text.endswith("\r"):
        text = text[:-1]
    return _escape_raw(text)


def _raw_from_values(values: Sequence[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(values)
    return _raw(out.getvalue())
