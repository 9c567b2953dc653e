"""The audit package's errors, kept importable from here; they live in :mod:`xinan.errors`
(the one error tree, by family), under "The audit log"."""

from __future__ import annotations

from xinan.errors import (
    VIOLATION_ORDER,
    AuditRetentionError,
    AuditViolation,
    BadSignature,
    EntriesMissing,
    EntriesReordered,
    EntryModified,
    InvalidProof,
    LogForked,
    LogRolledBack,
    LogTruncated,
    NoteError,
    SignatureMissing,
    TornLogError,
    TornTail,
    UncoveredEntries,
    UnsignedEntries,
    UnsignedEntriesError,
)

__all__ = [
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
