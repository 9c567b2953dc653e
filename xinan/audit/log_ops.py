"""Work on a log beside appending: crash repair, retention, reading entries for display.

:class:`xinan.audit.log.AuditLog` delegates :meth:`~xinan.audit.log.AuditLog.quarantine_torn_tail`
(docs/audit-log.md §7) and :meth:`~xinan.audit.log.AuditLog.prune` (§8) here; both run under the
log's lock with its state, as methods would. :func:`read_entries` and :func:`filter_time` are
for display; integrity is :func:`xinan.audit.verify.verify_log`'s job.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xinan.audit._files import atomic_replace, create_exclusive, fsync_dir
from xinan.audit.checkpoint import Checkpoint, sign_checkpoint
from xinan.audit.entry import format_time, parse_entry, parse_time
from xinan.audit.merkle import CompactRange
from xinan.audit.sidecar import PruneState, read_prune_state
from xinan.errors import AuditError, AuditRetentionError, UnsignedEntriesError
from xinan.policy.periods import AUDIT_LOG_MIN_DAYS as MIN_RETENTION_DAYS

if TYPE_CHECKING:
    from xinan.audit.log import AuditLog


@dataclass(frozen=True)
class PruneResult:
    entries: int
    bytes: int
    size: int  # the new prune point (total entries ever pruned)
    cutoff: datetime


# -- crash repair -------------------------------------------------------------------------
def quarantine_torn_tail(log: AuditLog) -> int:
    """Move what a crash cut short aside, and log an ``audit.quarantine`` event per file.

    A torn last record of ``L.checkpoints`` goes to ``L.checkpoints.torn-<offset>-<hex>``;
    the bytes of an interrupted commit (a signed intent announced more than reached
    ``L``) go to ``L.torn-<offset>-<hex>``, both created exclusively under unpredictable
    names. Nothing is adopted that a signed intent does not prove: bytes no signature
    vouches for raise :class:`UnsignedEntriesError`. Returns the number of bytes moved.
    """
    if not log._signers:
        raise AuditError(f"{log.path}: opened without a signer (read-only)")
    with log._lock():
        log._load_state()
        events: list[dict[str, Any]] = []
        moved = 0
        if log.sidecar_torn is not None:
            off = log.sidecar_torn
            n = moved = _move_aside(log, log._cfd, log._sidecar, off, events)
            log._sidecar_len -= n
            log._load_state()
        if log.unsigned_offset is not None:
            log._refuse_unclean()
        if log.torn_offset is not None:
            moved += _move_aside(log, log._fd, log.path, log.torn_offset, events)
            log._load_state()
        log._refuse_unclean()
        if log._adoptable:
            log._adopt()
        for ev in events:
            log._append_locked(ev)
        log._commit_locked()
        return moved


def _move_aside(log: AuditLog, fd: int, path: Path, off: int, events: list[dict[str, Any]]) -> int:
    length = os.fstat(fd).st_size
    torn = os.pread(fd, length - off, off)
    side = create_exclusive(path.parent, f"{path.name}.torn-{off}", torn)
    os.ftruncate(fd, off)
    os.fsync(fd)
    events.append(
        log._system_event(
            "audit.quarantine", counts={"offset": off, "bytes": len(torn)}, ref=side.name
        )
    )
    return len(torn)


# -- retention ------------------------------------------------------------------------------
def prune(log: AuditLog, before: datetime, *, retention_days: int, now: datetime) -> PruneResult:
    """Remove the longest prefix of entries older than ``min(before, now − retention)``.

    ``retention_days`` below :data:`MIN_RETENTION_DAYS` (184, six months from any start
    date) raises :class:`AuditRetentionError` (Cybersecurity Law art. 21). What
    verification needs stays: ``L.pruned`` holds the frontier of the cut and a checkpoint
    signed at it (docs/audit-log.md §8).
    """
    if retention_days < MIN_RETENTION_DAYS:
        raise AuditRetentionError(
            f"audit retention of {retention_days} days is below the legal minimum of "
            f"{MIN_RETENTION_DAYS} (Cybersecurity Law art. 21)",
            hint=f"use a retention of at least {MIN_RETENTION_DAYS} days",
        )
    cutoff = min(before, now - timedelta(days=retention_days))
    log._require_writable()
    with log._lock():
        log._sync()
        log._require_writable()
        length = os.fstat(log._fd).st_size
        data = os.pread(log._fd, length, 0)
        cr = CompactRange(log.h, log._pruned, _frontier_at_prune(log))
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
            cr.append(log.h.leaf(line))
            pos, count = eol + 1, count + 1
        if count == 0:
            return PruneResult(0, 0, log._pruned, cutoff)
        # Sign the cut only if the file's entries are the ones the signed tree holds: a
        # prune must never vouch for entries edited since they were written.
        whole = cr.copy()
        for line in data[pos:].split(b"\n")[:-1]:
            whole.append(log.h.leaf(line))
        if whole.size != log.size or whole.root() != log._cr.root():
            raise UnsignedEntriesError(
                f"{log.path}: the entries do not hash to the last signed checkpoint; "
                "nothing is pruned",
                offset=0,
                file=str(log.path),
            )
        new_size = log._pruned + count
        cp = Checkpoint.for_hash(log.origin, new_size, cr.root(), log.h.name)
        note = sign_checkpoint(cp, log._signers).to_bytes()
        state = PruneState(new_size, log._pruned_bytes + pos, tuple(cr.frontier()), note)
        # L.pruned first (it holds the cut's signed checkpoint), then the new L. The
        # sidecar is left alone: its last record stays the largest tree head.
        rest = data[pos:]
        new_log = create_exclusive(log.path.parent, f".{log.path.name}.new", rest)
        atomic_replace(Path(str(log.path) + ".pruned"), state.to_bytes())
        os.replace(new_log, log.path)
        fsync_dir(log.path)
        log._load_state()
        log._append_locked(
            log._system_event(
                "audit.prune", counts={"entries": count, "bytes": pos}, ref=format_time(cutoff)
            )
        )
        log._commit_locked()
        return PruneResult(count, pos, new_size, cutoff)


def _frontier_at_prune(log: AuditLog) -> tuple[bytes, ...]:
    prune = read_prune_state(log.path)
    return prune.frontier if prune else ()


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
