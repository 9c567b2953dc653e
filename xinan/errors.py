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

Every error class of xinan is defined here, by family, each family under its own heading; the
exit code comes from the family's root (``exit_code``):

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

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: these modules import this one
    from xinan.audit.verify import Report
    from xinan.platform.store.shred import PurgeResult

# Exit codes (documented in docs/cli.md). Scripts rely on these; do not renumber.
EXIT_OK = 0
EXIT_FAILURE = 1  # verification failed, operation refused, or any other error
EXIT_USAGE = 2  # bad command line (click uses 2 as well)
EXIT_PARTIAL = 3  # the job finished, but some input rows were rejected (see the rejects file)
EXIT_ALERT = 4  # the listing finished and found what needs action (overdue objections)
EXIT_DATA = 65  # input unusable as a whole (EX_DATAERR): nothing was written
EXIT_NOPERM = 77  # refused by access control (EX_NOPERM)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class XinanError(Exception):
    """Base of every error xinan raises on purpose.

    ``code`` is the error's stable machine code (``--json`` prints it; scripts may rely on
    it): the snake-case name of its class unless the class sets one (``WrongPassphrase`` →
    ``wrong_passphrase``). The message is English and language-neutral: the command line
    translates it when it renders it (xinan/i18n, docs/i18n.md), the library never does.
    """

    exit_code: int = EXIT_FAILURE
    code: str = "xinan_error"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:  # a stable code for every class, from its name
            cls.code = _snake(cls.__name__)

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "error": type(self).__name__,
            "code": self.code,
            "message": self.message,
        }
        if self.hint:
            out["hint"] = self.hint
        return out


class UsageError(XinanError):
    """The command was called in a way that cannot work (missing option, bad value)."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Location:
    """Where in an input something is: file, row (1 = header line) and column name."""

    file: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)


class InputError(XinanError):
    """An input file cannot be used as a whole (empty, wrong encoding, header mismatch…).

    Row-level problems do not raise: they become rejects (see :mod:`xinan.records`).
    """

    exit_code = EXIT_DATA

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None):
        full = f"{location}: {message}" if location else message
        super().__init__(full, hint=hint)
        self.location = location


@dataclass(frozen=True)
class PolicyProblem:
    """One problem in a policy file, with its place (``file:line`` and the TOML path)."""

    path: str  # TOML path, e.g. "kind.penalty.field[3](证件号码).public"
    message: str
    line: int | None = None
    severity: str = "error"  # "error" | "warning"

    def render(self, file: str) -> str:
        where = f"{file}:{self.line}" if self.line else file
        return f"{where}: {self.severity}: {self.path}: {self.message}"


class PolicyError(XinanError):
    """A policy file is invalid; ``problems`` lists every problem found, each with its place."""

    exit_code = EXIT_DATA

    def __init__(
        self, file: str, problems: list[PolicyProblem], *, hint: str | None = None
    ) -> None:
        errors = [p for p in problems if p.severity == "error"]
        head = f"{file}: policy invalid ({len(errors)} problem{'s' if len(errors) != 1 else ''})"
        super().__init__(
            head + "".join("\n  " + p.render(file) for p in problems),
            hint=hint or "fix the places listed above, then run `xinan policy check` again",
        )
        self.file = file
        self.problems = problems


class IntegrityError(XinanError):
    """Something that must verify did not: a signature, a MAC, an AEAD tag, a digest.

    Deliberately opaque (STYLE.md practice 3). The message may name *which artifact* failed
    (e.g. "package trailer", "record 17") but never why in cryptographic detail.
    """


class VerificationError(XinanError):
    """A structural or semantic check on a signed artifact failed (wrong sender, expired,
    count mismatch, truncated log …). Specific, because the user needs to know which rule."""


class MalformedJSON(VerificationError, ValueError):
    """Bytes that are not the strict JSON an artifact is written in (not UTF-8, a lone
    surrogate, a member named twice, a float, an integer beyond ±(2^53 − 1)), or not in the one
    canonical encoding its spec requires (docs/encoding.md). Also a ``ValueError``, so that a
    parser that turns ``ValueError`` into its own, more specific error keeps doing so."""


class AccessDenied(XinanError):
    """Refused by policy or access control: which identity, which rule, which field."""

    exit_code = EXIT_NOPERM

    def __init__(self, message: str, *, rule: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.rule = rule


class AuthenticationFailed(AccessDenied):
    """An identity could not be authenticated: a second factor missing or wrong, a key not
    the roster's, a key disabled, revoked or expired (GB/T 22239-2019 8.1.4.1)."""


class AccountLocked(AuthenticationFailed):
    """Too many failed unlocks in a row: the key is locked for a while (8.1.4.1 b)."""


class ComplianceError(AccessDenied):
    """An algorithm or setting is not allowed under the active compliance mode (e.g. gm-only)."""


class KeyringError(XinanError):
    """A key is missing, locked, of the wrong role or suite, or its file is damaged."""


class WrongPassphrase(KeyringError):
    """The passphrase does not unlock this private key file (or the file was altered)."""


class AuditError(XinanError):
    """The audit log could not be written; the operation that needed it is abandoned."""


@dataclass
class Counts:
    """Reconciliation of a bulk job: read = written + withheld + rejected, always."""

    read: int = 0
    written: int = 0
    withheld: int = 0
    rejected: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def balanced(self) -> bool:
        return self.read == self.written + self.withheld + self.rejected


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


# ============================================================================================
# Grants and revocation lists (docs/grant.md §5–§7): opaque before the signature, specific
# after it (exit 1); refusals to issue are AccessDenied (exit 77)
# ============================================================================================
class GrantInvalid(IntegrityError):
    """Not a valid grant: malformed, damaged, or its signature does not verify."""

    def __init__(self, message: str = "grant is invalid", *, hint: str | None = None) -> None:
        super().__init__(
            message,
            hint=hint or "ask the platform for a fresh copy of the grant; do not edit grant files",
        )


class GrantTypeRefused(GrantInvalid):
    """The header's ``typ`` is not ``xinan-grant+jwt`` (RFC 8725 §3.11)."""


class GrantAlgorithmRefused(GrantInvalid):
    """The header's ``alg`` is not the algorithm pinned by the platform key's suite."""


class GrantUnknownKey(GrantInvalid):
    """The header's ``kid`` names no trusted platform key."""


class GrantRejected(VerificationError):
    """An authentic grant failed a claim check; subclasses say which."""

    def __init__(self, message: str, *, jti: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.jti = jti


class GrantMissingClaim(GrantRejected):
    def __init__(self, claim: str) -> None:
        super().__init__(f"grant lacks the required claim {claim!r}")
        self.claim = claim


class GrantClaimInvalid(GrantRejected):
    def __init__(self, claim: str, why: str) -> None:
        super().__init__(f"grant claim {claim!r} is invalid: {why}")
        self.claim = claim


class GrantWrongIssuer(GrantRejected):
    pass


class GrantWrongAudience(GrantRejected):
    pass


class GrantExpired(GrantRejected):
    pass


class GrantNotYetValid(GrantRejected):
    pass


class GrantRevoked(GrantRejected):
    pass


class GrantWrongQuerent(GrantRejected):
    """The grant is bound (``sub``/``cnf``) to another querent key."""


class GrantReplayed(GrantRejected):
    """The replay guard has seen this ``jti`` (one grant, one share)."""


class RevocationListInvalid(IntegrityError):
    """A revocation list is malformed, damaged, or its signature does not verify."""


class RevocationListStale(VerificationError):
    """The revocation list is past its ``next_update``: it could hide a revocation."""


class RevocationListRollback(VerificationError):
    """The revocation list is older than one already seen."""


class GrantIssuerNotAuthorised(AccessDenied):
    """Only a sec-admin authorises grants (MLPS 2.0 8.1.4.2, 三权分立)."""


class GrantWiderThanConsent(AccessDenied):
    """The grant would exceed its consent; ``dimensions`` names every wider dimension."""

    def __init__(self, consent_id: str, problems: Sequence[tuple[str, str]]) -> None:
        self.consent_id = consent_id
        self.dimensions = tuple(d for d, _ in problems)
        detail = "; ".join(f"{d}: {why}" for d, why in problems)
        super().__init__(
            f"grant is wider than consent {consent_id!r} in {', '.join(self.dimensions)} "
            f"({detail})",
            rule="grant-within-consent",
            hint="narrow the grant to what the data subject authorised, or record a new consent",
        )


class ConsentRevoked(AccessDenied):
    pass


class ConsentExpired(AccessDenied):
    pass


class ClearIdentifierRefused(AccessDenied):
    """A clear identifier where grants carry keyed pseudonyms only. Never echoes the value."""


# ============================================================================================
# Destruction certificates (docs/destruction.md §6)
# ============================================================================================
class CertificateInvalid(IntegrityError):
    """Not a valid destruction certificate: malformed, altered, or its signature fails."""

    def __init__(self, message: str = "destruction certificate is invalid") -> None:
        super().__init__(
            message,
            hint="get the original certificate file from the platform; never edit one",
        )


class CertificateUnknownKey(CertificateInvalid):
    """The signing key is not in the trust store."""


class CertificateRejected(VerificationError):
    """An authentic certificate failed a check; subclasses say which."""


class CertificateMalformed(CertificateRejected):
    """A member of the signed body is missing or ill-formed (the signer made a bad certificate)."""


class CertificateSignerNotAuthorised(CertificateRejected):
    """The signer is not the certificate's destroyer, or not a security administrator."""


class RuleNotMet(CertificateRejected):
    """The rule the certificate cites did not allow this destruction."""


class AuditEntryMismatch(CertificateRejected):
    """The audit entry is not the one the certificate describes; ``member`` names what differs."""

    def __init__(self, message: str, *, member: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.member = member


class AuditEntryMissing(CertificateRejected):
    """The log has no entry with the certificate's seq (beyond its end, or pruned)."""


class AuditEntryNotCovered(CertificateRejected):
    """The entry is not under the signed checkpoint it must be under."""


class AuditLogUnavailable(CertificateRejected):
    """The audit log given to check against cannot be read."""


# ============================================================================================
# Backup archives (docs/backup.md §6)
# ============================================================================================
class SourceChangeInvalid(VerificationError):
    """Not a usable source-change file (docs/source-change.md): malformed, edited, or not from
    the provider that submitted the records. A bad signature is an IntegrityError."""


class BackupInvalid(VerificationError):
    """Not a usable backup archive: cut, malformed, or not this platform's (the message names
    the byte offset or the member). An altered chunk or signature is an IntegrityError."""


# ============================================================================================
# Shredding (docs/destruction.md §7)
# ============================================================================================
class PurgeIncomplete(XinanError):
    """Rows were deleted and committed, but the WAL could not be truncated (a reader holds an
    old snapshot): old page images remain in the -wal file until :func:`purge` succeeds."""

    def __init__(self, message: str, *, result: PurgeResult) -> None:
        super().__init__(
            message,
            hint="close the other connections to the database, then run purge again; until "
            "then the -wal file still holds the deleted rows' old pages",
        )
        self.result = result


# ============================================================================================
# The vault's store (docs/vault.md §5)
# ============================================================================================
class DuplicateRecord(InputError):
    """A record id that is already stored (record ids are unique across the vault)."""


# ============================================================================================
# Life-cycle operations (docs/lifecycle.md)
# ============================================================================================
class LifecycleRefused(AccessDenied):
    """A life-cycle step refused by a rule (minimum period not over, no commitment, the
    record is under objection …). ``rule`` names it; the refusal is audited."""


# ============================================================================================
# Disclosure and retention periods (docs/disclosure.md)
# ============================================================================================
class DisclosureError(XinanError):
    """A lifecycle decision needs a fact the record does not have (its severity for a repair
    date, a decision date), or names something the rules do not know."""


class RetentionTooShort(UsageError):
    """A retention setting below the legal floor was refused."""


# ============================================================================================
# The working-day calendar (docs/disclosure.md §5)
# ============================================================================================
class CalendarError(XinanError):
    """The working-day calendar data is unusable (bad JSON, bad dates, contradictions)."""

    exit_code = EXIT_DATA


class CalendarRangeError(CalendarError):
    """A date falls in a year the calendar has no holiday schedule for.

    Fail closed: without the year's schedule a holiday would count as a working day and a
    deadline would fall early. ``year`` is the year asked for, ``covered`` the years known.
    """

    def __init__(self, year: int, covered: tuple[int, ...], source: str) -> None:
        from xinan.policy.calendar import DEFAULT_CALENDAR_NAME  # the data file's name

        known = ", ".join(str(y) for y in covered) or "none"
        super().__init__(
            f"the working-day calendar has no holiday schedule for {year} "
            f"(covered years: {known}; calendar {source})",
            hint=(
                f"update the calendar data with the State Council's {year} holiday notice "
                f"(国务院办公厅关于{year}年部分节假日安排的通知), e.g. from the chinesecalendar "
                f"package, in xinan/data/{DEFAULT_CALENDAR_NAME} or a calendar file of your own"
            ),
        )
        self.year = year
        self.covered = covered


# ============================================================================================
# Outputs (DEVELOPING.md, "Files")
# ============================================================================================
class ProtectedOutputError(UsageError):
    """An output path names a file xinan must not replace: the command's input, the audit log
    or one of its sidecars, a vault file or a key file."""


# ============================================================================================
# Working directories (docs/config.md)
# ============================================================================================
class ConfigError(UsageError):
    """A working directory's ``xinan.toml`` is missing, unreadable or not the documented
    format; or a party cannot be set up where it was asked to be."""


# ============================================================================================
# The demo
# ============================================================================================
class DemoStepFailed(XinanError):
    """A demo step did not do what it should: a bug, and the demo says which step."""


# ============================================================================================
# Reports (docs/report.md)
# ============================================================================================
class PdfError(XinanError):
    """The PDF cannot be made faithfully (a missing font, or WeasyPrint is unavailable)."""
