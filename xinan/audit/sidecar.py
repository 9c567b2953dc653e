"""The records beside the log: the checkpoint sidecar ``L.checkpoints`` and ``L.pruned``.

Owns the byte formats of docs/audit-log.md §5 (sidecar, version ``xinan-audit-checkpoints/2``:
checkpoint records and the signed *intent* records a writer puts down before each commit) and
§8 (the prune record), strict parsing (every malformed input raises :class:`NoteError`, never
``ValueError``), and reading the sidecar's tail without reading the whole file.

Does not own: signing or opening notes (:mod:`xinan.audit.note`), what the writer does with
the records (:mod:`xinan.audit.log`), verification (:mod:`xinan.audit.verify`).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from xinan.audit.checkpoint import Checkpoint
from xinan.audit.note import parse_note
from xinan.errors import NoteError

__all__ = [
    "INTENT_MAGIC",
    "SIDECAR_MAGIC",
    "SIDECAR_MAGIC_V1",
    "CheckpointRecord",
    "Intent",
    "IntentRecord",
    "PruneState",
    "read_prune_state",
    "read_sidecar",
    "read_sidecar_records",
    "tail_records",
]

SIDECAR_MAGIC = b"xinan-audit-checkpoints/2\n"
# Version 1 (no intent records) is still read; a writer upgrades it in place to 2 (the one
# byte that differs) before it writes its first intent (docs/audit-log.md §5, version note).
SIDECAR_MAGIC_V1 = b"xinan-audit-checkpoints/1\n"
RECORD_PREFIX = b"@checkpoint "
INTENT_HEADER = b"@intent"
INTENT_MAGIC = "xinan-audit-intent/1"
PRUNED_MAGIC = "xinan-audit-pruned/1"
_HASHES = ("sha256", "sm3")
_TAIL_READ = 1 << 16


def _b64decode(s: str) -> bytes:
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):  # ValueError: a non-ASCII character in a str
        raise NoteError("malformed base64") from None


def _decimal(s: str) -> int:
    if not s or not s.isascii() or not s.isdigit() or (s != "0" and s[0] == "0"):
        raise NoteError("malformed decimal number")
    return int(s)


# -- intents ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intent:
    """What a writer is about to append, signed before the bytes reach the log (§5.2).

    The commit takes the tree from ``old_size`` to ``new_size`` leaves with root ``root``, and
    the log (bytes counted from entry 0 ever written) from ``old_offset`` to ``new_offset``.
    Its text is not a checkpoint (its second line is not a tree size), so no tlog verifier
    can take it for a tree head.
    """

    origin: str
    hash_name: str
    old_size: int
    new_size: int
    old_offset: int
    new_offset: int
    root: bytes

    def __post_init__(self) -> None:
        o = self.origin
        if not o or "\n" in o or o.startswith("@") or not o.isprintable():
            raise NoteError("intent origin must be one printable line not starting with @")
        if self.hash_name not in _HASHES:
            raise NoteError(f"intent names an unknown hash {self.hash_name!r}")
        if not 0 <= self.old_size < self.new_size or not 0 <= self.old_offset < self.new_offset:
            raise NoteError("intent sizes or offsets do not grow")
        if len(self.root) != 32:
            raise NoteError("intent root hash malformed")

    def text(self) -> str:
        return (
            f"{INTENT_MAGIC}\norigin {self.origin}\nhash {self.hash_name}\n"
            f"size {self.old_size} {self.new_size}\n"
            f"offset {self.old_offset} {self.new_offset}\n"
            f"root {base64.b64encode(self.root).decode()}\n"
        )

    @classmethod
    def parse(cls, text: str) -> Intent:
        """Strict: ``parse(t).text() == t`` or :class:`NoteError`."""
        lines = text.split("\n")
        if len(lines) != 7 or lines[0] != INTENT_MAGIC or lines[6] != "":
            raise NoteError("not a xinan audit intent")
        keys = ("origin ", "hash ", "size ", "offset ", "root ")
        if not all(line.startswith(k) for line, k in zip(lines[1:6], keys, strict=True)):
            raise NoteError("malformed audit intent")
        sizes = lines[3][5:].split(" ")
        offsets = lines[4][7:].split(" ")
        if len(sizes) != 2 or len(offsets) != 2:
            raise NoteError("malformed audit intent")
        intent = cls(
            lines[1][7:],
            lines[2][5:],
            _decimal(sizes[0]),
            _decimal(sizes[1]),
            _decimal(offsets[0]),
            _decimal(offsets[1]),
            _b64decode(lines[5][5:]),
        )
        if intent.text() != text:
            raise NoteError("audit intent is not in canonical form")
        return intent


# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointRecord:
    """One checkpoint record of ``L.checkpoints``: the signed note and the writer's header."""

    index: int  # position among the sidecar's checkpoint records, 0-based
    offset: int  # log bytes covered, counted from entry 0 ever written
    frontier: tuple[bytes, ...]
    note: bytes  # the signed checkpoint note, byte for byte
    position: int = 0  # byte offset of the record in the sidecar


@dataclass(frozen=True)
class IntentRecord:
    """One intent record: a signed :class:`Intent` note (docs/audit-log.md §5.2)."""

    index: int  # position among the sidecar's intent records, 0-based
    note: bytes
    position: int = 0

    def intent(self) -> Intent:
        return Intent.parse(parse_note(self.note).text)


Record = CheckpointRecord | IntentRecord


def encode_checkpoint_record(offset: int, frontier: Sequence[bytes], note: bytes) -> bytes:
    f = ",".join(base64.b64encode(x).decode() for x in frontier)
    return RECORD_PREFIX + f"offset={offset} frontier={f}\n".encode() + note + b"\n"


def encode_intent_record(note: bytes) -> bytes:
    return INTENT_HEADER + b"\n" + note + b"\n"


def _decode_header(line: bytes) -> tuple[int, tuple[bytes, ...]]:
    try:
        parts = line[len(RECORD_PREFIX) :].decode("ascii").split(" ")
    except UnicodeDecodeError:
        raise NoteError("malformed checkpoint record header") from None
    if len(parts) != 2 or not parts[0].startswith("offset="):
        raise NoteError("malformed checkpoint record header")
    if not parts[1].startswith("frontier="):
        raise NoteError("malformed checkpoint record header")
    offset = _decimal(parts[0][7:])
    f = parts[1][9:]
    frontier = tuple(_b64decode(x) for x in f.split(",")) if f else ()
    if any(len(x) != 32 for x in frontier):
        raise NoteError("malformed checkpoint record header")
    return offset, frontier


def _parse_records(
    data: bytes, base: int = 0, counts: tuple[int, int] = (0, 0)
) -> tuple[list[Record], int | None]:
    """Records in ``data`` (which starts at a record header; ``base`` is its position in the
    file). Returns (records, position of a torn last record). Malformed: :class:`NoteError`."""
    records: list[Record] = []
    n_cp, n_in = counts
    pos = 0
    n = len(data)
    while pos < n:
        start = pos
        eol = data.find(b"\n", pos)
        if eol < 0:
            return records, base + start
        header = data[pos:eol]
        if not (header.startswith(RECORD_PREFIX) or header == INTENT_HEADER):
            raise NoteError(f"checkpoint sidecar: no record header at byte {base + start}")
        pos = eol + 1
        text_end = data.find(b"\n\n", pos)  # end of the note text
        if text_end < 0:
            return records, base + start
        # Signature lines follow the blank line, up to the terminating blank line.
        end = data.find(b"\n\n", text_end + 1)
        if end < 0:
            return records, base + start
        note = data[pos : end + 1]
        if header == INTENT_HEADER:
            records.append(IntentRecord(n_in, note, base + start))
            n_in += 1
        else:
            offset, frontier = _decode_header(header)
            records.append(CheckpointRecord(n_cp, offset, frontier, note, base + start))
            n_cp += 1
        pos = end + 2
    return records, None


def _check_magic(path: Path, head: bytes) -> None:
    if not head.startswith((SIDECAR_MAGIC, SIDECAR_MAGIC_V1)):
        raise NoteError(f"{path}: not a xinan checkpoint sidecar (no {SIDECAR_MAGIC!r})")


def read_sidecar_records(path: Path) -> tuple[list[Record], int | None]:
    """Every record of a checkpoint sidecar (both kinds, in order) and the byte offset of a
    torn last record. Raises :class:`NoteError` on a malformed record."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], None
    if not data:
        return [], None
    if len(data) < len(SIDECAR_MAGIC) and (
        SIDECAR_MAGIC.startswith(data) or SIDECAR_MAGIC_V1.startswith(data)
    ):
        return [], 0
    _check_magic(path, data)
    return _parse_records(data[len(SIDECAR_MAGIC) :], len(SIDECAR_MAGIC))


def read_sidecar(path: Path) -> tuple[list[CheckpointRecord], int | None]:
    """The checkpoint records of a sidecar, and the byte offset of a torn last record."""
    records, torn = read_sidecar_records(path)
    return [r for r in records if isinstance(r, CheckpointRecord)], torn


@dataclass(frozen=True)
class Tail:
    """The end of a sidecar: its last checkpoint record and the intent records after it."""

    checkpoint: CheckpointRecord | None
    intents: tuple[IntentRecord, ...]
    length: int  # the sidecar's length in bytes
    torn: int | None  # byte offset of a torn last record
    version: int  # 1 or 2


def tail_records(path: Path) -> Tail:
    """Read only the end of the sidecar: enough to hold its last checkpoint record."""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return Tail(None, (), 0, None, 2)
    with f:
        length = f.seek(0, os.SEEK_END)
        f.seek(0)
        head = f.read(len(SIDECAR_MAGIC))
        if length <= len(SIDECAR_MAGIC):
            if head in (SIDECAR_MAGIC, SIDECAR_MAGIC_V1, b""):
                return Tail(None, (), length, None, 1 if head == SIDECAR_MAGIC_V1 else 2)
            if SIDECAR_MAGIC.startswith(head) or SIDECAR_MAGIC_V1.startswith(head):
                return Tail(None, (), length, 0, 2)
        _check_magic(path, head)
        version = 1 if head == SIDECAR_MAGIC_V1 else 2
        back = _TAIL_READ
        magic = len(SIDECAR_MAGIC)
        while True:
            start = max(magic, length - back)
            f.seek(start)
            chunk = f.read(length - start)
            i = chunk.rfind(b"\n" + RECORD_PREFIX)
            if i >= 0 or start == magic:
                break
            back *= 4
        cut = i + 1 if i >= 0 else 0
        if i < 0 and not chunk.startswith((RECORD_PREFIX, INTENT_HEADER + b"\n")):
            raise NoteError(f"{path}: no checkpoint record")
        records, torn = _parse_records(chunk[cut:], start + cut)
    cp = records[0] if records and isinstance(records[0], CheckpointRecord) else None
    rest = records[1:] if cp is not None else records
    if any(not isinstance(r, IntentRecord) for r in rest):
        raise NoteError(f"{path}: malformed last checkpoint record")
    intents = tuple(r for r in rest if isinstance(r, IntentRecord))
    return Tail(cp, intents, length, torn, version)


# -- the prune record ------------------------------------------------------------------------


@dataclass(frozen=True)
class PruneState:
    """``L.pruned``: entries below ``size`` are gone; their frontier and a signed root stay."""

    size: int
    offset: int  # bytes of the pruned entries
    frontier: tuple[bytes, ...]
    note: bytes

    def to_bytes(self) -> bytes:
        lines = [PRUNED_MAGIC, f"size {self.size}", f"offset {self.offset}"]
        lines += [base64.b64encode(x).decode() for x in self.frontier]
        return ("\n".join(lines) + "\n\n").encode() + self.note

    @classmethod
    def parse(cls, data: bytes) -> PruneState:
        try:
            head, note = data.split(b"\n\n", 1)
            lines = head.decode("ascii").split("\n")
            if len(lines) < 3 or lines[0] != PRUNED_MAGIC or not lines[1].startswith("size "):
                raise NoteError("malformed prune record")
            if not lines[2].startswith("offset "):
                raise NoteError("malformed prune record")
        except (ValueError, UnicodeDecodeError):
            raise NoteError("malformed prune record") from None
        size, offset = _decimal(lines[1][5:]), _decimal(lines[2][7:])
        frontier = tuple(_b64decode(x) for x in lines[3:])
        state = cls(size, offset, frontier, note)
        if state.to_bytes() != data:
            raise NoteError("prune record is not in canonical form")
        return state

    def checkpoint(self) -> Checkpoint:
        return Checkpoint.parse(parse_note(self.note).text)


def read_prune_state(path: Path) -> PruneState | None:
    p = Path(str(path) + ".pruned")
    try:
        return PruneState.parse(p.read_bytes())
    except FileNotFoundError:
        return None
