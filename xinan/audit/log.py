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

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from xinan.audit._files import (
    CLOEXEC,
    NOFOLLOW,
    fsync_dir,
    write_all,
)
from xinan.audit.checkpoint import Checkpoint, sign_checkpoint
from xinan.audit.entry import AuditEvent, format_time, make_line, parse_entry

# read_entries, filter_time and PruneResult live in log_ops; their import path stays here
from xinan.audit.log_ops import PruneResult, filter_time, read_entries
from xinan.audit.merkle import CompactRange, HashAlgorithm, get_hash, root_from_frontier
from xinan.audit.note import Note, NoteSigner, NoteVerifier, open_note, parse_note, sign_note
from xinan.audit.sidecar import (
    SIDECAR_MAGIC,
    SIDECAR_MAGIC_V1,
    CheckpointRecord,
    Intent,
    PruneState,
    encode_checkpoint_record,
    encode_intent_record,
    read_prune_state,
    read_sidecar,
    tail_records,
)
from xinan.errors import (
    AUDIT_VERIFY_HINT,
    AuditError,
    NoteError,
    TornLogError,
    UnsignedEntriesError,
)
from xinan.fileio import protect
from xinan.policy.periods import AUDIT_LOG_MIN_DAYS

__all__ = [
    "MIN_RETENTION_DAYS",
    "AuditLog",
    "CheckpointRecord",
    "PruneResult",
    "PruneState",
    "TornLogError",
    "UnsignedEntriesError",
    "filter_time",
    "read_entries",
    "read_prune_state",
    "read_sidecar",
]

# Cybersecurity Law art. 21: logs kept at least six months — one number for the whole of
# xinan, the policy's floor (184 days: six months from any start date; xinan.policy.periods)
MIN_RETENTION_DAYS = AUDIT_LOG_MIN_DAYS
BATCH_MAX_LINES = 20_000
BATCH_MAX_BYTES = 8 << 20


def _note_size(note: bytes) -> int:
    return Checkpoint.parse(parse_note(note).text).size


def _last_record(path: Path) -> tuple[CheckpointRecord | None, int, int | None]:
    """The last checkpoint record of a sidecar, the sidecar's length and any torn offset."""
    tail = tail_records(path)
    return tail.checkpoint, tail.length, tail.torn


def _own_verifiers(signers: Sequence[NoteSigner]) -> list[NoteVerifier]:
    """A writer checks every signature it builds on, so each signer must give its verifier."""
    out: list[NoteVerifier] = []
    for s in signers:
        make = getattr(s, "verifier", None)
        if not callable(make):
            raise AuditError(
                f"the audit log signer {s.name!r} offers no verifier(): a writer must check "
                "the signatures it extends"
            )
        out.append(make())
    return out


# -- the store -------------------------------------------------------------------------------


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
        self._verifiers = _own_verifiers(signers)
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
        self._sidecar_version = 2
        self._log_ino = 0
        self.latest_note: bytes | None = None
        # what lies beyond the last checkpoint (docs/audit-log.md §7)
        self.torn_offset: int | None = None  # an interrupted commit starts here
        self.sidecar_torn: int | None = None  # a torn sidecar record starts here
        self.unsigned_offset: int | None = None  # bytes no signature vouches for start here
        self._adoptable: list[bytes] = []
        self._unprotect: list[Callable[[], None]] = []

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
        then only :meth:`quarantine_torn_tail` may write) and :class:`UnsignedEntriesError` if
        the log holds entries that no signature of this log's key vouches for. Entries after
        the last checkpoint that match a signed intent exactly (a crash between the entries'
        fsync and the checkpoint's) are adopted: checkpointed and recorded by an
        ``audit.recovered`` event. Without a signer the log is read-only. A writer's signers
        must offer ``verifier()``: it checks every signature it builds on.
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
            # issue 11: while the log is open no output of this process may replace one of
            # its files (xinan.fileio); this module writes them itself, never through fileio
            for suffix in ("", ".checkpoints", ".pruned", ".lock", ".config"):
                log._unprotect.append(protect(f"{log.path}{suffix}", "the audit log"))
            with log._lock():
                log._load_state()
                if not allow_torn:
                    log._refuse_unclean()
                if log._adoptable and log._signers:
                    log._adopt()
        except BaseException:
            log.close()
            raise
        return log

    def _open_files(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writable = bool(self._signers)
        # O_NOFOLLOW: the log's files are never written through a planted symbolic link.
        try:
            if writable:
                self._lfd = os.open(
                    self._lock_path, os.O_RDWR | os.O_CREAT | NOFOLLOW | CLOEXEC, 0o600
                )
                created = not self.path.exists()
                flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | NOFOLLOW | CLOEXEC
                self._fd = os.open(self.path, flags, 0o600)
                self._cfd = os.open(self._sidecar, flags, 0o600)
                if os.fstat(self._cfd).st_size == 0:
                    write_all(self._cfd, SIDECAR_MAGIC)
                    os.fsync(self._cfd)
                if created:
                    fsync_dir(self.path)
            else:
                self._fd = os.open(self.path, os.O_RDONLY | CLOEXEC)
        except OSError as exc:
            raise AuditError(
                f"{self.path}: cannot open the audit log ({exc.strerror})",
                hint="check the path and permissions (--audit-log / XINAN_AUDIT_LOG); "
                "the log's files must not be symbolic links",
            ) from None
        self._log_ino = os.fstat(self._fd).st_ino

    def close(self) -> None:
        while self._unprotect:
            self._unprotect.pop()()
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
            self._fd = os.open(self.path, flags | NOFOLLOW | CLOEXEC)
            self._log_ino = os.fstat(self._fd).st_ino
        try:
            self._load_records()
        except NoteError as exc:
            raise AuditError(f"{self.path}: {exc.message}", hint=AUDIT_VERIFY_HINT) from None
        self._classify_tail()

    def _load_records(self) -> None:
        prune = read_prune_state(self.path)
        if prune is not None:
            cp = prune.checkpoint()
            if cp.size != prune.size or root_from_frontier(prune.frontier, self.h) != cp.root:
                raise AuditError(f"{self.path}.pruned: frontier does not match its checkpoint")
            self._check_own_signature(prune.note, f"{self.path}.pruned")
            self._pruned, self._pruned_bytes = prune.size, prune.offset
        else:
            self._pruned, self._pruned_bytes = 0, 0
        tail = tail_records(self._sidecar)
        self._sidecar_len, self._sidecar_version = tail.length, tail.version
        self.sidecar_torn = tail.torn
        rec = tail.checkpoint
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
            self._check_own_signature(rec.note, str(self._sidecar))
            self.size, self._voffset, self._cr = cp.size, rec.offset, cr
            self.latest_note = rec.note
        elif prune is not None:
            self.size, self._voffset = prune.size, prune.offset
            self._cr = CompactRange(self.h, prune.size, prune.frontier)
            self.latest_note = prune.note
        else:
            self.size, self._voffset, self._cr = 0, 0, CompactRange(self.h)
            self.latest_note = None
        # Intents after the last checkpoint that start where it ends and that this log's key
        # signed: the only evidence that lets a writer adopt bytes beyond the checkpoint.
        self._intents: list[Intent] = []
        for irec in tail.intents:
            try:
                it = irec.intent()
                if self._verifiers:
                    open_note(irec.note, self._verifiers)
            except NoteError:
                continue  # a forged or damaged intent vouches for nothing
            ours = (it.origin, it.hash_name) == (self.origin, self.h.name)
            here = (it.old_size, it.old_offset) == (self.size, self._voffset)
            if self._verifiers and ours and here:
                self._intents.append(it)

    def _classify_tail(self) -> None:
        """Sort what lies beyond the last checkpoint (docs/audit-log.md §7)."""
        expected = self._voffset - self._pruned_bytes
        length = os.fstat(self._fd).st_size
        self.torn_offset = self.unsigned_offset = None
        self._adoptable = []
        if length < expected:
            raise AuditError(
                f"{self.path}: the log is shorter ({length} bytes) than its last checkpoint "
                f"covers ({expected} bytes): it was truncated",
                hint="run `xinan audit verify` and restore the log from a backup",
            )
        self._check_boundary(expected)
        if length == expected:
            return
        region = os.pread(self._fd, length - expected, expected)
        for it in self._intents:
            if it.new_offset - it.old_offset == len(region) and region.endswith(b"\n"):
                lines = region[:-1].split(b"\n")
                cr = self._cr.copy()
                for line in lines:
                    cr.append(self.h.leaf(line))
                if cr.size == it.new_size and cr.root() == it.root:
                    self._adoptable = lines
                    return
        if any(len(region) < it.new_offset - it.old_offset for it in self._intents):
            self.torn_offset = expected  # a commit this key announced was cut short
        else:
            self.unsigned_offset = expected

    def _check_boundary(self, expected: int) -> None:
        """The checkpoint header's offset is not signed: check that it falls just after the
        entry of ``seq`` = size − 1, so that no line is hidden inside the covered bytes."""
        if expected == 0:
            if self.size != self._pruned:
                raise UnsignedEntriesError(
                    f"{self._sidecar}: the last checkpoint's offset does not match the log",
                    offset=0,
                    file=str(self._sidecar),
                )
            return
        back = min(expected, 1 << 16)
        while True:
            chunk = os.pread(self._fd, back, expected - back)
            i = chunk.rfind(b"\n", 0, len(chunk) - 1)
            if i >= 0 or back == expected:
                break
            back = min(expected, back * 4)
        line = chunk[i + 1 : -1]
        try:
            ok = chunk.endswith(b"\n") and parse_entry(line)["seq"] == self.size - 1
        except ValueError:
            ok = False
        if not ok:
            raise UnsignedEntriesError(
                f"{self._sidecar}: the last checkpoint's offset ({self._voffset}) does not end "
                f"at entry {self.size - 1} of {self.path}",
                offset=expected,
                file=str(self._sidecar),
            )

    def _refuse_unclean(self) -> None:
        if self.sidecar_torn is not None:
            raise TornLogError(
                f"{self._sidecar}: torn last checkpoint record at byte {self.sidecar_torn}",
                offset=self.sidecar_torn,
                file=str(self._sidecar),
            )
        if self.torn_offset is not None:
            raise TornLogError(
                f"{self.path}: a commit was cut short at byte {self.torn_offset} "
                "(a write was interrupted by a crash)",
                offset=self.torn_offset,
                file=str(self.path),
            )
        if self.unsigned_offset is not None:
            raise UnsignedEntriesError(
                f"{self.path}: bytes from {self.unsigned_offset} on are covered by no signature "
                "of this log's key (entries added without the key, or checkpoints removed); "
                "nothing is appended",
                offset=self.unsigned_offset,
                file=str(self.path),
            )

    def _check_own_signature(self, note: bytes, where: str) -> None:
        if not self._signers:
            return
        try:
            open_note(note, self._verifiers)
        except NoteError:
            raise AuditError(
                f"{where}: the last checkpoint is not signed by this log's key",
                hint="run `xinan audit verify`; check that the right key signs this log",
            ) from None

    def _adopt(self) -> None:
        lines, self._adoptable = self._adoptable, []
        for line in lines:
            self._cr.append(self.h.leaf(line))
            self._voffset += len(line) + 1
        self.size += len(lines)
        self._write_checkpoint()
        self._append_locked(
            self._system_event("audit.recovered", counts={"entries": len(lines)}, ref="intent")
        )
        self._commit_locked()

    def _system_event(self, type_: str, **objects: Any) -> dict[str, Any]:
        name = self._signers[0].name if self._signers else "xinan"
        return AuditEvent(type_, name, "system", objects=objects).body()

    # -- writing -----------------------------------------------------------------------------
    def _require_writable(self) -> None:
        if not self._signers:
            raise AuditError(f"{self.path}: opened without a signer (read-only)")
        self._refuse_unclean()

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
            self._refuse_unclean()
            if self._adoptable:
                self._adopt()

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
        cr, leaf = self._cr.copy(), self.h.leaf
        for line in lines:
            cr.append(leaf(line))
        # The signed intent goes first (fsynced): after a crash, the entries are adopted only
        # if they hash to the root this key announced (docs/audit-log.md §5.2, §7).
        self._write_intent(
            Intent(
                self.origin,
                self.h.name,
                self.size,
                cr.size,
                self._voffset,
                self._voffset + len(data),
                cr.root(),
            )
        )
        try:
            write_all(self._fd, data)
            os.fsync(self._fd)
        except OSError as exc:
            raise AuditError(
                f"{self.path}: audit write failed ({exc}); the operation is abandoned",
                hint="free disk space or fix permissions, then `xinan audit verify`",
            ) from None
        self._cr = cr
        self.size = cr.size
        self._voffset += len(data)
        self._write_checkpoint()

    def _append_sidecar(self, record: bytes) -> None:
        try:
            write_all(self._cfd, record)
            os.fsync(self._cfd)
        except OSError as exc:
            raise AuditError(
                f"{self._sidecar}: checkpoint write failed ({exc}); the operation is abandoned",
                hint="free disk space or fix permissions, then `xinan audit verify`",
            ) from None
        self._sidecar_len += len(record)

    def _write_intent(self, intent: Intent) -> None:
        if self._sidecar_version == 1:
            self._upgrade_sidecar()
        note = sign_note(intent.text(), self._signers).to_bytes()
        self._append_sidecar(encode_intent_record(note))

    def _upgrade_sidecar(self) -> None:
        """Version 1 → 2 in place: the one byte that differs, before the first intent."""
        fd = os.open(self._sidecar, os.O_RDWR | NOFOLLOW | CLOEXEC)
        try:
            if os.pread(fd, len(SIDECAR_MAGIC_V1), 0) != SIDECAR_MAGIC_V1:
                raise AuditError(f"{self._sidecar}: changed while being upgraded")
            os.pwrite(fd, SIDECAR_MAGIC[-2:-1], len(SIDECAR_MAGIC) - 2)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._sidecar_version = 2

    def _write_checkpoint(self) -> None:
        cp = Checkpoint.for_hash(self.origin, self.size, self._cr.root(), self.h.name)
        note = sign_checkpoint(cp, self._signers).to_bytes()
        self._append_sidecar(encode_checkpoint_record(self._voffset, self._cr.frontier(), note))
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

    # -- crash repair and retention (xinan.audit.log_ops) ----------------------------------
    def quarantine_torn_tail(self) -> int:
        """Move what a crash cut short aside (docs/audit-log.md §7); see
        :func:`xinan.audit.log_ops.quarantine_torn_tail`."""
        from xinan.audit.log_ops import quarantine_torn_tail

        return quarantine_torn_tail(self)

    def prune(self, before: datetime, *, retention_days: int, now: datetime) -> PruneResult:
        """Remove the longest prefix of old entries (docs/audit-log.md §8); see
        :func:`xinan.audit.log_ops.prune`."""
        from xinan.audit.log_ops import prune

        return prune(self, before, retention_days=retention_days, now=now)

    # -- reading ----------------------------------------------------------------------------
    def checkpoint(self) -> Note | None:
        """The latest signed checkpoint, as a note (``None`` for an empty, unsigned log)."""
        return parse_note(self.latest_note) if self.latest_note else None
