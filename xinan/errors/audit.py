"""The audit log's errors: torn writes, unsigned entries, proofs, notes and the named
violations of a log (docs/audit-log.md §7, §9)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xinan.errors.base import (
    AuditError,
    IntegrityError,
    UsageError,
    VerificationError,
)

if TYPE_CHECKING:  # annotations only: these modules import this one
    from xinan.audit.verify import Report

# ============================================================================================
# The audit log: torn writes, unsigned entries, proofs, notes and the named violations of a
# log (docs/audit-log.md §7, §9). Exit 1; AuditError means the operation was abandoned.
# ============================================================================================
AUDIT_VERIFY_HINT = (
    "the audit administrator runs `xinan audit verify` (it names what was added, removed or "
    "cut) and restores the log and its .checkpoints from a backup; the log key never signs "
    "entries it did not write"
)


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


class UnsignedEntriesError(AuditError):
    """The log holds bytes that no signature the writer can verify vouches for.

    Entries after the last signed checkpoint with no signed intent of this log's key for
    exactly those bytes: written without the key, or the checkpoints that covered them were
    removed. The writer refuses to append (it would sign them) until an audit administrator
    has verified and restored the log (docs/audit-log.md §7).
    """

    def __init__(self, message: str, *, offset: int, file: str) -> None:
        super().__init__(message, hint=AUDIT_VERIFY_HINT)
        self.offset = offset
        self.file = file


class InvalidProof(IntegrityError):
    """An inclusion or consistency proof does not verify (docs/audit-log.md §3)."""


class NoteError(IntegrityError):
    """A signed note or checkpoint is malformed or does not open with the keys given."""


class AuditRetentionError(UsageError):
    """Pruning was asked with a retention below the legal minimum (184 days: six months)."""


class AuditViolation(VerificationError):
    """A named violation found by ``verify_log``; ``report`` lists every violation found."""

    kind: str = "violation"

    def __init__(
        self, message: str, *, hint: str | None = None, data: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.data: dict[str, Any] = dict(data or {})
        self.report: Report | None = None

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out["violation"] = self.kind
        out.update(self.data)
        return out


class LogForked(AuditViolation):
    """Two validly signed checkpoints of one size disagree (both kept as evidence)."""

    kind = "fork"


class LogRolledBack(AuditViolation):
    """The log and its checkpoints are older than a trusted checkpoint."""

    kind = "rolled-back"


class LogTruncated(AuditViolation):
    """A validly signed checkpoint covers more entries than the log holds."""

    kind = "truncated"


class EntriesMissing(AuditViolation):
    """``seq`` jumps forward: entries were deleted."""

    kind = "missing"


class EntriesReordered(AuditViolation):
    """``seq`` goes backwards or repeats: entries were moved or duplicated."""

    kind = "reordered"


class EntryModified(AuditViolation):
    """A signed root disagrees with the log: an entry's bytes changed."""

    kind = "modified"


class BadSignature(AuditViolation):
    """A checkpoint does not open with the keys given."""

    kind = "bad-signature"


class SignatureMissing(AuditViolation):
    """No signed checkpoint covers the log, or there is no key to check with."""

    kind = "missing-signature"


class UncoveredEntries(AuditViolation):
    """Entries after the largest signed checkpoint (nothing vouches for them)."""

    kind = "uncovered"


class UnsignedEntries(AuditViolation):
    """Entries (or bytes) after the last signed checkpoint that no signed intent of the log
    key vouches for: added without the key, or the checkpoints that covered them were removed
    or cut back (docs/audit-log.md §7, §9). A writer refuses to append to such a log."""

    kind = "unsigned"


class TornTail(AuditViolation):
    """The log does not end with a newline: a write was cut by a crash."""

    kind = "torn-tail"


# The order verify_log raises in (docs/audit-log.md §9).
VIOLATION_ORDER: tuple[type[AuditViolation], ...] = (
    LogForked,
    LogRolledBack,
    EntriesMissing,  # a seq gap is more precise than the shorter log it also causes
    EntriesReordered,
    LogTruncated,
    EntryModified,
    BadSignature,
    SignatureMissing,
    UnsignedEntries,
    UncoveredEntries,
    TornTail,
)

__all__ = [
    "AUDIT_VERIFY_HINT",
    "VIOLATION_ORDER",
    "AuditRetentionError",
    "AuditViolation",
    "BadSignature",
    "EntriesMissing",
    "EntriesReordered",
    "EntryModified",
    "InvalidProof",
    "LogForked",
    "LogRolledBack",
    "LogTruncated",
    "NoteError",
    "SignatureMissing",
    "TornLogError",
    "TornTail",
    "UncoveredEntries",
    "UnsignedEntries",
    "UnsignedEntriesError",
]
