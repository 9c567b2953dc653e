"""The one error tree of xinan.

Every failure a user can meet is an :class:`XinanError`. Each carries a message (what went
wrong, naming the file, row and field where there is one), an optional hint (what to do next)
and the exit code the CLI returns for it. The CLI maps these to ``xinan: error: …`` /
``xinan: hint: …`` in one place (:mod:`xinan.cli`).

Two families, on purpose (STYLE.md practice 3):

* cryptographic failures are *opaque*: :class:`IntegrityError` says that something did not
  verify, never which byte or which key guess came closest, so that an attacker learns nothing
  from the message;
* policy refusals are *specific*: :class:`AccessDenied`, :class:`PolicyError`,
  :class:`InputError` say which field, which purpose, which rule, and carry that as data.

No error ever carries key material or clear credit data: messages name fields, rows and ids,
never values of sensitive fields.

Every error class of xinan is defined in this package, by family, each family in its own
module (:mod:`.base` the roots and the exit codes, :mod:`.audit`, :mod:`.grants`,
:mod:`.platform`) and importable from here (``from xinan.errors import X``); the exit code
comes from the family's root (``exit_code``):

=============================  ==========================================================  ====
family (root)                  what                                                        exit
=============================  ==========================================================  ====
:class:`UsageError`            a call that cannot work; protected outputs; short retention  2
:class:`InputError`            an input unusable as a whole; a duplicate record id          65
:class:`PolicyError`           an invalid policy, every problem with its place              65
:class:`IntegrityError`        opaque: a signature, MAC, tag, proof or note did not verify  1
:class:`VerificationError`     specific: an audit violation, a grant claim, a certificate   1
:class:`AccessDenied`          refused by a rule or a role (grants, consents, life cycle)   77
:class:`KeyringError`          a key missing, locked or of the wrong kind                   1
:class:`AuditError`            the audit log could not be written (torn, unsigned entries)  1
=============================  ==========================================================  ====
"""

from __future__ import annotations

from xinan.errors.audit import (
    AUDIT_VERIFY_HINT,
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
from xinan.errors.base import (
    EXIT_ALERT,
    EXIT_DATA,
    EXIT_FAILURE,
    EXIT_NOPERM,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    AccessDenied,
    AccountLocked,
    AuditError,
    AuthenticationFailed,
    ComplianceError,
    Counts,
    InputError,
    IntegrityError,
    KeyringError,
    Location,
    MalformedJSON,
    PolicyError,
    PolicyProblem,
    UsageError,
    VerificationError,
    WrongPassphrase,
    XinanError,
)
from xinan.errors.grants import (
    ClearIdentifierRefused,
    ConsentExpired,
    ConsentRevoked,
    GrantAlgorithmRefused,
    GrantClaimInvalid,
    GrantExpired,
    GrantInvalid,
    GrantIssuerNotAuthorised,
    GrantMissingClaim,
    GrantNotYetValid,
    GrantRejected,
    GrantReplayed,
    GrantRevoked,
    GrantTypeRefused,
    GrantUnknownKey,
    GrantWiderThanConsent,
    GrantWrongAudience,
    GrantWrongIssuer,
    GrantWrongQuerent,
    RevocationListInvalid,
    RevocationListRollback,
    RevocationListStale,
)
from xinan.errors.platform import (
    AuditEntryMismatch,
    AuditEntryMissing,
    AuditEntryNotCovered,
    AuditLogUnavailable,
    BackupInvalid,
    CalendarError,
    CalendarRangeError,
    CertificateInvalid,
    CertificateMalformed,
    CertificateRejected,
    CertificateSignerNotAuthorised,
    CertificateUnknownKey,
    ConfigError,
    DemoStepFailed,
    DisclosureError,
    DuplicateRecord,
    LifecycleRefused,
    PdfError,
    ProtectedOutputError,
    PurgeIncomplete,
    RetentionTooShort,
    RuleNotMet,
    SourceChangeInvalid,
    WorkerFailed,
)

__all__ = [
    "AUDIT_VERIFY_HINT",
    "EXIT_ALERT",
    "EXIT_DATA",
    "EXIT_FAILURE",
    "EXIT_NOPERM",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
    "VIOLATION_ORDER",
    "AccessDenied",
    "AccountLocked",
    "AuditEntryMismatch",
    "AuditEntryMissing",
    "AuditEntryNotCovered",
    "AuditError",
    "AuditLogUnavailable",
    "AuditRetentionError",
    "AuditViolation",
    "AuthenticationFailed",
    "BackupInvalid",
    "BadSignature",
    "CalendarError",
    "CalendarRangeError",
    "CertificateInvalid",
    "CertificateMalformed",
    "CertificateRejected",
    "CertificateSignerNotAuthorised",
    "CertificateUnknownKey",
    "ClearIdentifierRefused",
    "ComplianceError",
    "ConfigError",
    "ConsentExpired",
    "ConsentRevoked",
    "Counts",
    "DemoStepFailed",
    "DisclosureError",
    "DuplicateRecord",
    "EntriesMissing",
    "EntriesReordered",
    "EntryModified",
    "GrantAlgorithmRefused",
    "GrantClaimInvalid",
    "GrantExpired",
    "GrantInvalid",
    "GrantIssuerNotAuthorised",
    "GrantMissingClaim",
    "GrantNotYetValid",
    "GrantRejected",
    "GrantReplayed",
    "GrantRevoked",
    "GrantTypeRefused",
    "GrantUnknownKey",
    "GrantWiderThanConsent",
    "GrantWrongAudience",
    "GrantWrongIssuer",
    "GrantWrongQuerent",
    "InputError",
    "IntegrityError",
    "InvalidProof",
    "KeyringError",
    "LifecycleRefused",
    "Location",
    "LogForked",
    "LogRolledBack",
    "LogTruncated",
    "MalformedJSON",
    "NoteError",
    "PdfError",
    "PolicyError",
    "PolicyProblem",
    "ProtectedOutputError",
    "PurgeIncomplete",
    "RetentionTooShort",
    "RevocationListInvalid",
    "RevocationListRollback",
    "RevocationListStale",
    "RuleNotMet",
    "SignatureMissing",
    "SourceChangeInvalid",
    "TornLogError",
    "TornTail",
    "UncoveredEntries",
    "UnsignedEntries",
    "UnsignedEntriesError",
    "UsageError",
    "VerificationError",
    "WorkerFailed",
    "WrongPassphrase",
    "XinanError",
]
