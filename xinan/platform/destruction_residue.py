"""Residue scans (docs/destruction.md §7): every occurrence of a needle — raw, hex or base64 at any
alignment — in the raw bytes of files, so tests and operators can show that nothing of a
destroyed value or key is left in a database, its WAL or its journal.

Does not own: shredding rows (:mod:`xinan.platform.store.shred`).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from xinan.errors import (
    UsageError,
)

# -- residue scan -------------------------------------------------------------------------------
CHUNK = 1 << 20
MIN_NEEDLE = 8


@dataclass(frozen=True)
class Finding:
    """A needle found in a file: where and in which encoding — never the needle itself."""

    path: str
    offset: int
    needle: int  # index into the needles given
    form: str  # raw | hex | HEX | base64 | base64url

    def __str__(self) -> str:
        return f"{self.path}: byte {self.offset}: needle {self.needle} ({self.form})"


def _b64_aligned(needle: bytes, shift: int, urlsafe: bool) -> bytes:
    """The base64 characters fully determined by ``needle`` when it starts ``shift`` bytes
    after a 3-byte group boundary of a longer base64 text (RFC 4648 §4 / §5)."""
    enc = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(
        b"\0" * shift + needle + b"\0\0"
    )
    lo, hi = 8 * shift, 8 * (shift + len(needle))
    first = -(-lo // 6)  # first character whose 6 bits start at or after lo
    last = hi // 6  # characters wholly before hi
    return enc[first:last]


def _forms(needle: bytes) -> list[tuple[str, bytes]]:
    out = [("raw", needle), ("hex", needle.hex().encode()), ("HEX", needle.hex().upper().encode())]
    for urlsafe, name in ((False, "base64"), (True, "base64url")):
        for shift in range(3):
            out.append((name, _b64_aligned(needle, shift, urlsafe)))
    seen: set[bytes] = set()
    unique = []
    for name, pat in out:
        if pat not in seen:
            seen.add(pat)
            unique.append((name, pat))
    return unique


def sqlite_files(db: str | Path) -> list[Path]:
    """A database file and its ``-wal``, ``-shm`` and ``-journal`` files (those that exist)."""
    p = Path(db)
    return [x for x in (p, *(Path(f"{p}{s}") for s in ("-wal", "-shm", "-journal"))) if x.exists()]


def residue_scan(paths: Iterable[str | Path], needles: Sequence[bytes]) -> list[Finding]:
    """Every occurrence of every needle, raw, hex or base64 (any alignment), in the raw bytes
    of ``paths`` (files that do not exist are skipped). Streams; O(bytes × needles)."""
    patterns: list[tuple[int, str, bytes]] = []
    for i, n in enumerate(needles):
        if len(n) < MIN_NEEDLE:
            raise UsageError(
                f"needle {i} is shorter than {MIN_NEEDLE} bytes (would match by chance)"
            )
        patterns.extend((i, form, pat) for form, pat in _forms(n))
    if not patterns:
        return []
    overlap = max(len(p) for _, _, p in patterns) - 1
    found: set[tuple[str, int, int, str]] = set()
    for path in paths:
        p = Path(path)
        if not p.is_file():
            continue
        with p.open("rb") as f:
            base = 0  # file offset of buf[0]
            buf = b""
            while chunk := f.read(CHUNK):
                buf += chunk
                for i, form, pat in patterns:
                    at = buf.find(pat)
                    while at >= 0:
                        found.add((str(p), base + at, i, form))
                        at = buf.find(pat, at + 1)
                # keep a tail so that a match across the chunk boundary is found next time
                keep = min(overlap, len(buf))
                base += len(buf) - keep
                buf = buf[len(buf) - keep :] if keep else b""
    return [Finding(*x) for x in sorted(found)]
