"""The roots of the error tree: exit codes, :class:`XinanError` and the family roots
(usage, input, policy, integrity, verification, access, keyring, audit), with the
structured parts errors carry (:class:`Location`, :class:`PolicyProblem`, :class:`Counts`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

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


__all__ = [
    "EXIT_ALERT",
    "EXIT_DATA",
    "EXIT_FAILURE",
    "EXIT_NOPERM",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
    "AccessDenied",
    "AccountLocked",
    "AuditError",
    "AuthenticationFailed",
    "ComplianceError",
    "Counts",
    "InputError",
    "IntegrityError",
    "KeyringError",
    "Location",
    "MalformedJSON",
    "PolicyError",
    "PolicyProblem",
    "UsageError",
    "VerificationError",
    "WrongPassphrase",
    "XinanError",
]
