"""The transparency log of xinan: every operation leaves a signed, verifiable entry.

Public surface (docs/audit-log.md): :class:`AuditLog` and :class:`AuditEvent` to write,
:func:`verify_log` to check, the proof and note helpers for auditors. The layers below
(:mod:`merkle`, :mod:`note`, :mod:`checkpoint`) follow RFC 9162 and the C2SP specs.
"""

from xinan.audit.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from xinan.audit.entry import AuditEvent
from xinan.audit.log import (
    MIN_RETENTION_DAYS,
    AuditLog,
    TornLogError,
    UnsignedEntriesError,
    read_entries,
)
from xinan.audit.note import (
    CosignatureSigner,
    CosignatureVerifier,
    Ed25519Signer,
    Ed25519Verifier,
    NoteSigner,
    NoteVerifier,
    parse_vkeys,
    read_vkeys,
)
from xinan.audit.proof import check_proof, prove_consistency, prove_inclusion
from xinan.audit.verify import Report, verify_log
from xinan.errors import AuditViolation

__all__ = [
    "MIN_RETENTION_DAYS",
    "AuditEvent",
    "AuditLog",
    "AuditViolation",
    "Checkpoint",
    "CosignatureSigner",
    "CosignatureVerifier",
    "Ed25519Signer",
    "Ed25519Verifier",
    "NoteSigner",
    "NoteVerifier",
    "Report",
    "TornLogError",
    "UnsignedEntriesError",
    "check_proof",
    "open_checkpoint",
    "parse_vkeys",
    "prove_consistency",
    "prove_inclusion",
    "read_entries",
    "read_vkeys",
    "sign_checkpoint",
    "verify_log",
]
