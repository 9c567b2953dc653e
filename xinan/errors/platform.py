"""The platform's and the tools' errors: destruction certificates, source changes, backups,
shredding, the store, the life cycle, periods, the calendar, outputs, working directories,
the demo and reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xinan.errors.base import (
    EXIT_DATA,
    AccessDenied,
    InputError,
    IntegrityError,
    UsageError,
    VerificationError,
    XinanError,
)

if TYPE_CHECKING:  # annotations only: these modules import this one
    from xinan.platform.store.shred import PurgeResult


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


class WorkerFailed(XinanError):
    """A worker process of the batch engine died mid-job (docs/engine.md §3): the job stopped
    rather than wait for a batch that will never come back."""


# ============================================================================================
# Reports (docs/report.md)
# ============================================================================================
class PdfError(XinanError):
    """The PDF cannot be made faithfully (a missing font, or WeasyPrint is unavailable)."""


__all__ = [
    "AuditEntryMismatch",
    "AuditEntryMissing",
    "AuditEntryNotCovered",
    "AuditLogUnavailable",
    "BackupInvalid",
    "CalendarError",
    "CalendarRangeError",
    "CertificateInvalid",
    "CertificateMalformed",
    "CertificateRejected",
    "CertificateSignerNotAuthorised",
    "CertificateUnknownKey",
    "ConfigError",
    "DemoStepFailed",
    "DisclosureError",
    "DuplicateRecord",
    "LifecycleRefused",
    "PdfError",
    "ProtectedOutputError",
    "PurgeIncomplete",
    "RetentionTooShort",
    "RuleNotMet",
    "SourceChangeInvalid",
]
