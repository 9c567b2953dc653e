"""The audit log store: append, group commit, checkpoints, crash recovery, pruning.

Owns the files of one log (docs/audit-log.md §1, §5–§8): ``L`` (canonical-JSON entries, one per
line), ``L.checkpoints`` (every signed checkpoint, append-only), ``L.pruned`` (the frontier of
a pruned prefix), ``L.lock`` (the writers' lock) and the quarantine files ``L.torn-<offset>``.

Guarantees: an ``append`` (or a ``batch``) returns only after its lines are fsynced *and* a
signed checkpoint covering them is fsynced, so the caller may then release the effect the
entry describes. A crash leaves each file a prefix of what was written; a torn line is
reported at the next open, never dropped silently.

Does not own: what a valid entry is (:mod:`xinan.audit.entry`), tree maths
(:mod:`xinan.audit.merkle`), checking a log (:mod:`xinan.audit.verify`), key custody.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from xinan.audit.checkpoint import Checkpoint, sign_checkpoint
from xinan.audit.entry import AuditEvent, format_time, make_line, parse_entry, parse_time
from xinan.audit.errors import AuditRetentionError, NoteError
from xinan.audit.merkle import CompactRange, HashAlgorithm, get_hash, root_from_frontier
from xinan.audit.note import Note, NoteSigner, open_note, parse_note
from xinan.errors import AuditError

__all__ = [
    "MIN_RETENTION_DAYS",
    "AuditLog",
    "CheckpointRecord",
    "PruneState",
    "TornLogError",
    "read_entries",
    "read_prune_state",
    "read_sidecar",
]

SIDECAR_MAGIC = b"xinan-audit-checkpoints/1\n"
RECORD_PREFIX = b"@checkpoint "
PRUNED_MAGIC = "xinan-audit-pruned/1"
MIN_RETENTION_DAYS = 180  # Cybersecurity Law art. 21: logs kept at least six months
BATCH_MAX_LINES = 20_000
BATCH_MAX_BYTES = 8 << 20
_TAIL_READ = 1 << 16


class TornLogError(AuditError):
    """A file of the log ends in a partial write (a crash cut it)."""

    def __init__(self, message: str, *, offset: int, file: str) -> None:
        super().__init__(
            message,
            hint="run `xinan audit verify` to check the rest, then move the torn bytes aside "
            "(kept as evidence, recorded in the log) with `xinan --as AUDIT_ADMIN audit repair`",
        )
        self.offset = offset
        self.file = file


# -- sidecar and prune records ---------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointRecord:
    """One record of ``L.checkpoints``: the signed note and the writer's unsigned header."""

    index: int  # position in the sidecar, 0-based
    offset: int  # log bytes covered, counted from entry 0 ever written
    frontier: tuple[bytes, ...]
    note: bytes  # the signed checkpoint note, byte for byte


def _encode_header(offset: int, frontier: Sequence[bytes]) -> bytes:
    f = ",".join(base64.b64encode(x).decode() for x in frontier)
    return RECORD_PREFIX + f"offset={offset} frontier={f}\n".encode()


def _decode_header(line: bytes) -> tuple[int, tuple[bytes, ...]]:
    try:
        parts = line[len(RECORD_PREFIX) :].decode("ascii").split(" ")
        if len(parts) != 2 or not parts[0].startswith("offset="):
            raise ValueError
        if not parts[1].startswith("frontier="):
            raise ValueError
        offset = int(parts[0][7:])
        f = parts[1][9:]
        frontier = tuple(base64.b64decode(x, validate=True) for x in f.split(",")) if f else ()
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise NoteError("malformed checkpoint record header") from None
    return offset, frontier


def _parse_records(data: bytes, base_index: int = 0) -> tuple[list[CheckpointRecord], int | None]:
    """Records in ``data`` (which starts at a record header). Returns (records, torn offset)."""
    records: list[CheckpointRecord] = []
    pos = 0
    n = len(data)
    while pos < n:
        start = pos
        eol = data.find(b"\n", pos)
        if eol < 0:
            return records, start
        header = data[pos:eol]
        if not header.startswith(RECORD_PREFIX):
            raise NoteError(f"checkpoint sidecar: no record header at byte {start}")
        pos = eol + 1
        text_end = data.find(b"\n\n", pos)  # end of the note text
        if text_end < 0:
            return records, start
        # Signature lines follow the blank line, up to the terminating blank line.
        end = data.find(b"\n\n", text_end + 1)
        if end < 0:
            return records, start
        offset, frontier = _decode_header(header)
        records.append(
            CheckpointRecord(base_index + len(records), offset, frontier, data[pos : end + 1])
        )
        pos = end + 2
    return records, None


def read_sidecar(path: Path) -> tuple[list[CheckpointRecord], int | None]:
    """Every record of a checkpoint sidecar, and the byte offset of a torn last record."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], None
    if not data:
        return [], None
    if not data.startswith(SIDECAR_MAGIC):
        if SIDECAR_MAGIC.startswith(data):
            return [], 0
        raise NoteError(f"{path}: not a xinan checkpoint sidecar (no {SIDECAR_MAGIC!r})")
    records, torn = _parse_records(data[len(SIDECAR_MAGIC) :])
    return records, None if torn is None else torn + len(SIDECAR_MAGIC)


def _last_record(path: Path) -> tuple[CheckpointRecord | None, int, int | None]:
    """The last record (reading only the file's tail), the file length and any torn offset."""
    try:
        with path.open("rb") as f:
            length = f.seek(0, os.SEEK_END)
            if length <= len(SIDECAR_MAGIC):
                f.seek(0)
                head = f.read()
                if not SIDECAR_MAGIC.startswith(head):
                    raise NoteError(f"{path}: not a xinan checkpoint sidecar")
                return None, length, (0 if head != SIDECAR_MAGIC else None)
            back = _TAIL_READ
            while True:
                start = max(len(SIDECAR_MAGIC), length - back)
                f.seek(start)
                chunk = f.read(length - start)
                i = chunk.rfind(b"\n" + RECORD_PREFIX)
                if i >= 0 or start == len(SIDECAR_MAGIC):
                    break
                back *= 4
            if i >= 0:
                cut = i + 1
            elif chunk.startswith(RECORD_PREFIX):
                cut = 0
            else:
                raise NoteError(f"{path}: no checkpoint record")
            recs, torn = _parse_records(chunk[cut:])
            if torn is not None:
                return None, length, start + cut + torn
            if len(recs) != 1:
                raise NoteError(f"{path}: malformed last checkpoint record")
            return recs[0], length, None
    except FileNotFoundError:
        return None, 0, None


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
            if lines[0] != PRUNED_MAGIC or not lines[1].startswith("size "):
                raise ValueError
            if not lines[2].startswith("offset "):
                raise ValueError
            size, offset = int(lines[1][5:]), int(lines[2][7:])
            frontier = tuple(base64.b64decode(x, validate=True) for x in lines[3:])
        except (ValueError, IndexError, UnicodeDecodeError, binascii.Error):
            raise NoteError("malformed prune record") from None
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


def _fsync_dir(path: Path) -> None:
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    # One os.write: with O_APPEND a record lands whole or (if the OS crashes) is cut, and the
    # cut is detected as a torn tail. A short write is a failure, never retried piecemeal.
    n = os.write(fd, data)
    if n != len(data):
        raise OSError(f"short write ({n} of {len(data)} bytes)")


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path)


# -- the store -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PruneResult:
    entries: int
    bytes: int
    size: int  # the new prune point (total entries ever pruned)
    cutoff: datetime


class AuditLog:
    """An append-only, checkpointed audit log (open with :meth:`open`)."""

    def __init__(
        self,
        path: Path,
        h: HashAlgorithm,
        signers: tuple[NoteSigner, ...],
        origin: str,
        clock: Callable[[], datetime],
    ) -> None:
        self.path = path
        self.h = h
        self.origin = origin
        self._signers = signers
        self._clock = clock
        self._sidecar = Path(str(path) + ".checkpoints")
        self._lock_path = Path(str(path) + ".lock")
        self._fd = -1
        self._cfd = -1
        self._lfd = -1
        self._locked = False
        self._in_batch = False
        self._buf: list[bytes] = []
        self._buf_bytes = 0
        # state
        self.size = 0
        self._voffset = 0
        self._pruned = 0
        self._pruned_bytes = 0
        self._cr = CompactRange(h)
        self._sidecar_len = 0
        self._log_ino = 0
        self.torn_offset: int | None = None
        self.latest_note: bytes | None = None
        self._uncovered: list[bytes] = []

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r}, size={self.size})"

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        hash: str = "sha256",
        signer: NoteSigner | Sequence[NoteSigner] | None,
        origin: str,
        clock: Callable[[], datetime],
        allow_torn: bool = False,
    ) -> AuditLog:
        """Open (creating if absent) the log at ``path``.

        Raises :class:`TornLogError` if a file ends in a partial write (unless ``allow_torn``:
        then :attr:`torn_offset` is set and only :meth:`quarantine_torn_tail` may write).
        Complete entries after the last checkpoint (a crash between the two fsyncs) are
        adopted: checkpointed and recorded by an ``audit.recovered`` event. Without a signer
        the log is read-only.
        """
        signers: tuple[NoteSigner, ...]
        if signer is None:
            signers = ()
        elif isinstance(signer, Sequence):
            signers = tuple(signer)
        else:
            signers = (signer,)
        log = cls(Path(path), get_hash(hash), signers, origin, clock)
        try:
            log._open_files()
            with log._lock():
                log._load_state()
                if log.torn_offset is not None and not allow_torn:
                    raise TornLogError(
                        f"{log.path}: torn last line at byte {log.torn_offset} "
                        "(a write was cut by a crash)",
                        offset=log.torn_offset,
                        file=str(log.path),
                    )
                if log._uncovered and log._signers and log.torn_offset is None:
                    log._adopt_uncovered()
        except BaseException:
            log.close()
            raise
        return log

    def _open_files(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writable = bool(self._signers)
        try:
            if writable:
                self._lfd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                created = not self.path.exists()
                self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
                self._cfd = os.open(self._sidecar, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
                if os.fstat(self._cfd).st_size == 0:
                    _write_all(self._cfd, SIDECAR_MAGIC)
                    os.fsync(self._cfd)
                if created:
                    _fsync_dir(self.path)
            else:
                self._fd = os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise AuditError(
                f"{self.path}: cannot open the audit log ({exc.strerror})",
                hint="check the path and permissions (--audit-log / XINAN_AUDIT_LOG)",
            ) from None
        self._log_ino = os.fstat(self._fd).st_ino

    def close(self) -> None:
        for name in ("_fd", "_cfd", "_lfd"):
            fd = getattr(self, name)
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, name, -1)

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        if self._locked or self._lfd < 0:
            yield
            return
        fcntl.flock(self._lfd, fcntl.LOCK_EX)
        self._locked = True
        try:
            yield
        finally:
            self._locked = False
            fcntl.flock(self._lfd, fcntl.LOCK_UN)

    def _load_state(self) -> None:
        """(Re)read the state from the prune record, the sidecar's tail and the log's size."""
        # A prune by another process replaces L: follow it.
        try:
            ino = os.stat(self.path).st_ino
        except FileNotFoundError:
            raise AuditError(f"{self.path}: the audit log disappeared") from None
        if ino != self._log_ino:
            os.close(self._fd)
            flags = os.O_RDWR | os.O_APPEND if self._signers else os.O_RDONLY
            self._fd = os.open(self.path, flags)
            self._log_ino = os.fstat(self._fd).st_ino
        prune = read_prune_state(self.path)
        if prune is not None:
            cp = prune.checkpoint()
            if cp.size != prune.size or root_from_frontier(prune.frontier, self.h) != cp.root:
                raise AuditError(f"{self.path}.pruned: frontier does not match its checkpoint")
            self._pruned, self._pruned_bytes = prune.size, prune.offset
        else:
            self._pruned, self._pruned_bytes = 0, 0
        rec, self._sidecar_len, torn = _last_record(self._sidecar)
        if torn is not None:
            raise TornLogError(
                f"{self._sidecar}: torn last checkpoint record at byte {torn}",
                offset=torn,
                file=str(self._sidecar),
            )
        if rec is not None and (prune is None or _note_size(rec.note) >= prune.size):
            cp = Checkpoint.parse(parse_note(rec.note).text)
            if cp.origin != self.origin or cp.hash_name != self.h.name:
                raise AuditError(
                    f"{self.path}: this log is {cp.origin!r} ({cp.hash_name}), "
                    f"not {self.origin!r} ({self.h.name})",
                    hint="open it with the origin and hash it was created with",
                )
            cr = CompactRange(self.h, cp.size, rec.frontier)
            if cr.root() != cp.root:
                raise AuditError(f"{self._sidecar}: last record's frontier does not match")
            self._check_own_signature(rec.note)
            self.size, self._voffset, self._cr = cp.size, rec.offset, cr
            self.latest_note = rec.note
        elif prune is not None:
            self.size, self._voffset = prune.size, prune.offset
            self._cr = CompactRange(self.h, prune.size, prune.frontier)
            self.latest_note = prune.note
        else:
            self.size, self._voffset, self._cr = 0, 0, CompactRange(self.h)
            self.latest_note = None
        # Compare the log's length with what the checkpoint covers.
        expected = self._voffset - self._pruned_bytes
        length = os.fstat(self._fd).st_size
        self.torn_offset = None
        self._uncovered = []
        if length < expected:
            raise AuditError(
                f"{self.path}: the log is shorter ({length} bytes) than its last checkpoint "
                f"covers ({expected} bytes): it was truncated",
                hint="run `xinan audit verify` and restore the log from a backup",
            )
        if length > expected:
            tail = os.pread(self._fd, length - expected, expected)
            last_nl = tail.rfind(b"\n")
            if last_nl != len(tail) - 1:
                self.torn_offset = expected + last_nl + 1
            self._uncovered = tail[: last_nl + 1].split(b"\n")[:-1] if last_nl >= 0 else []

    def _check_own_signature(self, note: bytes) -> None:
        verifiers = [s.verifier() for s in self._signers if hasattr(s, "verifier")]
        if verifiers:
            try:
                open_note(note, verifiers)
            except NoteError:
                raise AuditError(
                    f"{self._sidecar}: the last checkpoint is not signed by this log's key",
                    hint="run `xinan audit verify`; check that the right key signs this log",
                ) from None

    def _adopt_uncovered(self) -> None:
        lines = self._uncovered
        for i, line in enumerate(lines):
            try:
                entry = parse_entry(line)
            except ValueError as exc:
                raise AuditError(
                    f"{self.path}: entry {self.size + i} after the last checkpoint is invalid "
                    f"({exc})",
                    hint="run `xinan audit verify`",
                ) from None
            if entry["seq"] != self.size + i:
                raise AuditError(
                    f"{self.path}: entry after the last checkpoint has seq {entry['seq']}, "
                    f"expected {self.size + i}",
                    hint="run `xinan audit verify`",
                )
        n = len(lines)
        self._uncovered = []
        for line in lines:
            self._cr.append(self.h.leaf(line))
            self._voffset += len(line) + 1
        self.size += n
        self._write_checkpoint()
        self._append_locked(self._system_event("audit.recovered", counts={"entries": n}))
        self._commit_locked()

    def _system_event(self, type_: str, **objects: Any) -> dict[str, Any]:
        name = self._signers[0].name if self._signers else "xinan"
        return AuditEvent(type_, name, "system", objects=objects).body()

    # -- writing -----------------------------------------------------------------------------
    def _require_writable(self) -> None:
        if not self._signers:
            raise AuditError(f"{self.path}: opened without a signer (read-only)")
        if self.torn_offset is not None:
            raise TornLogError(
                f"{self.path}: torn last line at byte {self.torn_offset}; nothing can be "
                "appended until it is quarantined",
                offset=self.torn_offset,
                file=str(self.path),
            )

    def _sync(self) -> None:
        """Under the lock: pick up commits other processes made since our last look."""
        try:
            same = (
                os.stat(self.path).st_ino == self._log_ino
                and os.fstat(self._cfd).st_size == self._sidecar_len
                and os.fstat(self._fd).st_size == self._voffset - self._pruned_bytes
            )
        except OSError:
            same = False
        if not same:
            self._load_state()
            if self._uncovered and self.torn_offset is None:
                self._adopt_uncovered()

    def _append_locked(self, body: dict[str, Any]) -> int:
        seq = self.size + len(self._buf)
        line = make_line(body, seq, format_time(self._clock()))
        self._buf.append(line)
        self._buf_bytes += len(line) + 1
        return seq

    def _commit_locked(self) -> None:
        if not self._buf:
            return
        lines, self._buf, self._buf_bytes = self._buf, [], 0
        data = b"\n".join(lines) + b"\n"
        try:
            _write_all(self._fd, data)
            os.fsync(self._fd)
        except OSError as exc:
            raise AuditError(
                f"{self.path}: audit write failed ({exc}); the operation is abandoned",
                hint="free disk space or fix permissions, then `xinan audit verify`",
            ) from None
        leaf, cr = self.h.leaf, self._cr
        for line in lines:
            cr.append(leaf(line))
        self.size += len(lines)
        self._voffset += len(data)
        self._write_checkpoint()

    def _write_checkpoint(self) -> None:
        cp = Checkpoint.for_hash(self.origin, self.size, self._cr.root(), self.h.name)
        note = sign_checkpoint(cp, self._signers).to_bytes()
        record = _encode_header(self._voffset, self._cr.frontier()) + note + b"\n"
        try:
            _write_all(self._cfd, record)
            os.fsync(self._cfd)
        except OSError as exc:
            raise AuditError(
                f"{self._sidecar}: checkpoint write failed ({exc}); the operation is abandoned",
                hint="free disk space or fix permissions, then `xinan audit verify`",
            ) from None
        self._sidecar_len += len(record)
        self.latest_note = note

    def append(self, event: AuditEvent) -> int:
        """Log ``event`` durably and return its ``seq``.

        Outside a batch, the entry and a signed checkpoint covering it are fsynced before this
        returns. Inside :meth:`batch`, the seq is returned at once and durability comes when
        the batch exits. Raises :class:`AuditError` on any failure: the caller's operation
        must then fail.
        """
        body = event.body()
        if self._in_batch:
            seq = self._append_locked(body)
            if len(self._buf) >= BATCH_MAX_LINES or self._buf_bytes >= BATCH_MAX_BYTES:
                self._commit_locked()
            return seq
        self._require_writable()
        with self._lock():
            self._sync()
            self._require_writable()
            seq = self._append_locked(body)
            self._commit_locked()
        return seq

    @contextlib.contextmanager
    def batch(self) -> Iterator[AuditLog]:
        """Group commit: appends inside the block share one write, fsync and signature.

        The lock is held for the whole block. If the block raises, what was appended is
        still committed (it describes work done), then the exception propagates.
        """
        if self._in_batch:
            raise AuditError("audit batches do not nest")
        self._require_writable()
        with self._lock():
            self._sync()
            self._require_writable()
            self._in_batch = True
            try:
                yield self
            finally:
                self._in_batch = False
                self._commit_locked()

    # -- crash repair -------------------------------------------------------------------------
    def quarantine_torn_tail(self) -> int:
        """Move a torn last line to ``L.torn-<offset>``, truncate ``L`` to its last newline,
        and log an ``audit.quarantine`` event. Returns the number of bytes moved."""
        if not self._signers:
            raise AuditError(f"{self.path}: opened without a signer (read-only)")
        with self._lock():
            self._load_state()
            off = self.torn_offset
            if off is None:
                return 0
            length = os.fstat(self._fd).st_size
            torn = os.pread(self._fd, length - off, off)
            side = Path(f"{self.path}.torn-{off}")
            _atomic_write(side, torn)
            os.ftruncate(self._fd, off)
            os.fsync(self._fd)
            self.torn_offset = None
            if self._uncovered:
                self._adopt_uncovered()
            self._append_locked(
                self._system_event(
                    "audit.quarantine", counts={"offset": off, "bytes": len(torn)}, ref=side.name
                )
            )
            self._commit_locked()
            return len(torn)

    # -- retention ------------------------------------------------------------------------------
    def prune(self, before: datetime, *, retention_days: int, now: datetime) -> PruneResult:
        """Remove the longest prefix of entries older than ``min(before, now − retention)``.

        ``retention_days`` below 180 raises :class:`AuditRetentionError` (Cybersecurity Law
        art. 21). What verification needs stays: ``L.pruned`` holds the frontier of the cut
        and a checkpoint signed at it (docs/audit-log.md §8).
        """
        if retention_days < MIN_RETENTION_DAYS:
            raise AuditRetentionError(
                f"audit retention of {retention_days} days is below the legal minimum of "
                f"{MIN_RETENTION_DAYS} (Cybersecurity Law art. 21)",
                hint=f"use a retention of at least {MIN_RETENTION_DAYS} days",
            )
        cutoff = min(before, now - timedelta(days=retention_days))
        self._require_writable()
        with self._lock():
            self._sync()
            self._require_writable()
            length = os.fstat(self._fd).st_size
            data = os.pread(self._fd, length, 0)
            cr = CompactRange(self.h, self._pruned, self._frontier_at_prune())
            pos = count = 0
            while pos < len(data):
                eol = data.index(b"\n", pos)
                line = data[pos:eol]
                try:
                    old = parse_time(parse_entry(line)["time"]) < cutoff
                except ValueError:
                    old = False
                if not old:
                    break
                cr.append(self.h.leaf(line))
                pos, count = eol + 1, count + 1
            if count == 0:
                return PruneResult(0, 0, self._pruned, cutoff)
            new_size = self._pruned + count
            cp = Checkpoint.for_hash(self.origin, new_size, cr.root(), self.h.name)
            note = sign_checkpoint(cp, self._signers).to_bytes()
            state = PruneState(new_size, self._pruned_bytes + pos, tuple(cr.frontier()), note)
            # L.pruned first (it holds the cut's signed checkpoint), then the new L. The
            # sidecar is left alone: its last record stays the largest tree head.
            rest = data[pos:]
            new_log = self.path.with_name(self.path.name + ".new")
            fd = os.open(new_log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                if rest:
                    _write_all(fd, rest)
                os.fsync(fd)
            finally:
                os.close(fd)
            _atomic_write(Path(str(self.path) + ".pruned"), state.to_bytes())
            os.replace(new_log, self.path)
            _fsync_dir(self.path)
            self._load_state()
            self._append_locked(
                self._system_event(
                    "audit.prune", counts={"entries": count, "bytes": pos}, ref=format_time(cutoff)
                )
            )
            self._commit_locked()
            return PruneResult(count, pos, new_size, cutoff)

    def _frontier_at_prune(self) -> tuple[bytes, ...]:
        prune = read_prune_state(self.path)
        return prune.frontier if prune else ()

    # -- reading ----------------------------------------------------------------------------
    def checkpoint(self) -> Note | None:
        """The latest signed checkpoint, as a note (``None`` for an empty, unsigned log)."""
        return parse_note(self.latest_note) if self.latest_note else None


def _note_size(note: bytes) -> int:
    return Checkpoint.parse(parse_note(note).text).size


def read_entries(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line offset, entry)`` for each complete, valid line; stops at a torn tail.

    Invalid lines raise :class:`AuditError` naming their byte offset. For display only:
    integrity is :func:`xinan.audit.verify.verify_log`'s job.
    """
    p = Path(path)
    try:
        f = p.open("rb")
    except OSError as exc:
        raise AuditError(f"{p}: cannot read the audit log ({exc.strerror})") from None
    with f:
        offset = 0
        for raw in f:
            if not raw.endswith(b"\n"):
                return
            try:
                entry = parse_entry(raw[:-1])
            except ValueError as exc:
                raise AuditError(
                    f"{p}: byte {offset}: not a valid audit entry ({exc})",
                    hint="run `xinan audit verify`",
                ) from None
            yield offset, entry
            offset += len(raw)


def filter_time(entry: dict[str, Any], since: datetime | None, until: datetime | None) -> bool:
    t = parse_time(entry["time"])
    return (since is None or t >= since) and (until is None or t < until)
