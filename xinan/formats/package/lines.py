"""Record lines of ``xinan-package/1`` checked a block at a time (docs/package.md §4, §8 step 4).

A block is a run of whole record lines (each ending in LF). :func:`record_pattern` compiles the
header's record shape into one regular expression that accepts only lines the scalar parser
(:func:`xinan.formats.package.records._parse_record`) accepts unchanged: canonical JSON with
exactly the header's number of clear and sealed entries, strings without any escape other than
the short forms the canonical encoder writes, canonical base64 of the right lengths, and record
ids of printable ASCII. Arrow runs it over a whole block in C++ (RE2, linear time, no
backtracking); a line it does not accept goes to the scalar parser, which decides and names
the problem. So the pattern makes reading faster, never different (the same rule as the batch
engine's vector rules, docs/engine.md §1); ``tests/formats/test_package_read.py`` checks both agree.

UTF-8 is checked by Arrow over every line of the block, as strictly as Python's decoder that
the scalar parser uses (both follow RFC 3629: no encoded surrogates, no overlong forms, nothing
above U+10FFFF; ``tests/formats/test_package_read.py`` checks they agree), about four times
faster; so the pattern itself works on bytes.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xinan.formats.package.models import Limits, PackageInfo
from xinan.formats.package.schedule import NONCE_LEN, TAG_LEN

_B64 = "[A-Za-z0-9+/]"
# Canonical base64 ends: a final group with one or two pad characters has zero unused bits.
_TAIL1 = f"{_B64}{{2}}[AEIMQUYcgkosw048]="
_TAIL2 = f"{_B64}[AQgw]=="
# A JSON string as the canonical encoder writes it, minus the \u00xx escapes (rare: control
# characters other than \b \t \n \f \r; such a line goes to the scalar parser).
_TEXT = r'"(?:[^"\\\x00-\x1f]|\\["\\bfnrt])*"'
_HEX32 = '"[0-9a-f]{32}"'


def _b64_exact(n: int) -> str:
    """Canonical base64 of exactly ``n`` bytes."""
    full, rem = divmod(n, 3)
    tail = {0: "", 1: _TAIL2, 2: _TAIL1}[rem]
    return f'"(?:{_B64}{{4}}){{{full}}}{tail}"'


def _b64_at_least(n: int) -> str:
    """Canonical base64 of at least ``n`` bytes (a subset: whole groups up to ``n`` first)."""
    full = -(-n // 3)
    return f'"(?:{_B64}{{4}}){{{full}}}(?:{_B64}{{4}})*(?:{_TAIL1}|{_TAIL2})?"'


def record_pattern(info: PackageInfo, *, digest_len: int, key_len: int, limits: Limits) -> str:
    """The RE2 pattern of one record line (with its LF) of this package's shape (§4)."""
    rid_max = min(limits.max_record_id_chars, 256)
    rid = f'"[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]{{1,{rid_max}}}"'
    blob = _b64_at_least(digest_len + TAG_LEN)
    wrapped = _b64_exact(NONCE_LEN + key_len + TAG_LEN)
    clear = ",".join([_TEXT] * len(info.clear_fields))
    if info.audience == "share":
        entry = f"(?:null|\\[{blob},{wrapped}\\])"
        sealed = ",".join([entry] * len(info.sealed_fields))
        body = f"{rid},{_HEX32},\\[{clear}\\],\\[{sealed}\\]"
    else:
        sealed = ",".join([blob] * len(info.sealed_fields))
        body = f"{rid},\\[{clear}\\],\\[{sealed}\\],{wrapped}"
    return f"^\\[{body}\\]\\n$"


def line_ends(block: bytes | memoryview) -> np.ndarray:
    """Offsets just past each LF of ``block`` (as int64)."""
    return np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10).astype(np.int64) + 1


def count_lines(block: bytes | memoryview) -> int:
    """The number of LFs in ``block`` (numpy: about four times ``bytes.count``)."""
    return int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == 10))


def surely_short_lines(buf: bytes | bytearray, length: int, limit: int) -> bool:
    """True only if no line of ``buf[:length]`` is longer than ``limit`` bytes (LF included).

    A line longer than ``limit`` holds at least ``limit`` bytes without an LF, so it covers
    a whole aligned window of ``limit // 2`` bytes with no LF in it. If every such window holds
    an LF, no line is too long; if one does not, False (ask :func:`first_long_line`). About
    eight short searches for a 4 MiB block instead of an offset per line."""
    if length <= limit:
        return True
    half = max(1, limit // 2)
    return all(buf.find(b"\n", a, a + half) >= 0 for a in range(0, length - half + 1, half))


def first_long_line(block: bytes | memoryview, ends: np.ndarray, limit: int) -> int | None:
    """The index of the first line of ``block`` longer than ``limit`` bytes (LF included)."""
    if len(ends) == 0:
        return None
    lengths = np.diff(ends, prepend=0)
    over = np.flatnonzero(lengths > limit)
    return int(over[0]) if len(over) else None


def unmatched(block: bytes, ends: np.ndarray, pattern: str) -> list[int]:
    """Indexes of the lines of ``block`` that ``pattern`` does not accept (every line when
    the block is not strict UTF-8: the scalar parser then names the line)."""
    n = len(ends)
    if n == 0:
        return []
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = ends
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(block)]
    try:
        # strict UTF-8 per line (no surrogates, no overlong forms: as json.loads sees them); a
        # line ends at an LF, which no multi-byte sequence holds, so this is the whole block's
        pa.Array.from_buffers(pa.large_string(), n, buffers).validate(full=True)
    except pa.ArrowInvalid:
        return list(range(n))
    # the pattern on the same bytes as binary: RE2 then reads bytes, not UTF-8 characters
    lines = pa.Array.from_buffers(pa.large_binary(), n, buffers)
    ok = pc.match_substring_regex(lines, pattern).to_numpy(zero_copy_only=False)
    return [int(i) for i in np.flatnonzero(~ok)]
