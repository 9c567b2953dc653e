"""Grant models and the checks every part shares: constants of the format (docs/grant.md),
consents, requests, claims, replay guards and the text, field and subject checks.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Protocol

from xinan.errors import (  # re-exported: the classes live in xinan.errors
    ClearIdentifierRefused,
    GrantWrongQuerent,
    UsageError,
)
from xinan.identifiers import IdKind, find_identifiers
from xinan.keys import Keyring, PublicKeyInfo

TYP = "xinan-grant+jwt"
FORMAT = "xinan-grant/1"
REVOCATIONS_FORMAT = "xinan-revocations/1"
AUDIENCE = "xinan-share"
ALG_EDDSA = "EdDSA"  # RFC 8037 §3.1
ALG_SM2 = "XINAN-SM2-SM3"  # private: no registered JWS name for the SM2 signature (spec §3.1)
MAX_TOKEN_CHARS = 32 * 1024
MAX_REVOCATIONS_BYTES = 8 * 1024 * 1024
MAX_FIELDS = 128
MAX_SUBJECTS = 256
MAX_TTL = timedelta(days=366)
MAX_LEEWAY = timedelta(seconds=300)
CST = timezone(timedelta(hours=8), "CST")  # China Standard Time, for date-only validities

# The claims, in the order they are written (spec §4).
CLAIMS = (
    "format",
    "iss",
    "sub",
    "aud",
    "iat",
    "nbf",
    "exp",
    "jti",
    "purpose",
    "fields",
    "subjects",
    "consent",
    "policy",
    "cnf",
    "authorised_by",
)
_HEADER_MEMBERS = frozenset({"alg", "kid", "typ"})

_B64URL_RE = re.compile(r"\A[A-Za-z0-9_-]+\Z")
_KEY_ID_RE = re.compile(r"\Axk1[a-z2-7]{24}\Z")
_NAME_RE = re.compile(r"\A[a-z0-9][a-z0-9._-]{0,63}\Z")  # docs/keys.md §2.1 `id`
# xinan.masking.pseudonym: ps1.<secret key id>.<128-bit tag>; both parts in the base32 alphabet,
# which has no 0, 1, 8 or 9, so no ID number can hide inside a well-formed pseudonym
_PSEUDONYM_RE = re.compile(r"\Aps1\.xs1[a-z2-7]{1,61}\.[a-z2-7]{26}\Z")
_POLICY_RE = re.compile(r"\A[a-z0-9][a-z0-9._-]{0,63}@[A-Za-z0-9][A-Za-z0-9._-]{0,31}\Z")
_CONSENT_ID_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
_AUD_RE = re.compile(r"\A[\x21-\x7e]{1,128}\Z")
# GB 11643-1999: 17 digits + check character, or the 15-digit legacy form
_RID_SHAPE_RE = re.compile(r"\A(?:\d{17}[\dX]|\d{15})\Z")
# GB 32100-2015: 18 characters of the USCC alphabet
_USCC_SHAPE_RE = re.compile(r"\A[0-9A-HJ-NPQRTUWXY]{18}\Z")
_TIME_FMT = "%Y-%m-%dT%H:%M:%SZ"


# ============================================================================================
# Errors (spec §5, §6). Before the signature: opaque (IntegrityError family). After it:
# specific (VerificationError family). Refusals to issue: AccessDenied family.
# ============================================================================================


# ============================================================================================
# Models
# ============================================================================================
@dataclass(frozen=True)
class Consent:
    """A data subject's authorisation (征信业管理条例 art. 18), as the vault stores it.

    ``valid_until`` is exclusive and timezone-aware; :func:`end_of_day_cst` turns a date from
    the command line into it. ``ref`` points at the signed paper or electronic consent.
    """

    id: str
    subject: str  # keyed pseudonym ps1.<key id>.<mac>
    querent: str  # the querent's key id
    purpose: str
    fields: tuple[str, ...]
    valid_until: datetime
    ref: str
    revoked: bool = False

    def __post_init__(self) -> None:
        if not _CONSENT_ID_RE.match(self.id):
            raise UsageError(f"invalid consent id {self.id!r}")
        _check_subject(self.subject, "consent subject", None)
        if not _KEY_ID_RE.match(self.querent):
            raise UsageError("consent querent must be a key id (xk1…)")
        _check_text(self.purpose, "consent purpose", 200)
        _check_fields(self.fields, "consent fields")
        _aware(self.valid_until, "consent valid_until")
        if not self.ref.strip():
            raise UsageError("consent ref is empty", hint="name the signed consent document")
        object.__setattr__(self, "fields", tuple(self.fields))


def end_of_day_cst(day: date) -> datetime:
    """A date-only validity ``--valid-until DAY``: valid through DAY in China Standard Time,
    i.e. until the next day 00:00 +08:00 (exclusive)."""
    return datetime(day.year, day.month, day.day, tzinfo=CST) + timedelta(days=1)


@dataclass(frozen=True)
class GrantRequest:
    """What a grant would allow: checked against the consent before anything is signed."""

    querent: str
    purpose: str
    fields: tuple[str, ...]
    subjects: tuple[str, ...]
    consent_id: str
    not_before: datetime
    expires: datetime


@dataclass(frozen=True)
class GrantClaims:
    """The verified claims of a grant (spec §4), times as aware UTC datetimes."""

    issuer: str
    querent: str
    audience: str
    issued_at: datetime
    not_before: datetime
    expires: datetime
    jti: str
    purpose: str
    fields: tuple[str, ...]
    subjects: tuple[str, ...]
    consent_id: str
    policy: str
    cnf: tuple[str, str]  # (member, thumbprint)
    authorised_by: str
    kid: str  # from the header: the platform signing key's key id

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "iss": self.issuer,
            "sub": self.querent,
            "aud": self.audience,
            "iat": _numeric(self.issued_at),
            "nbf": _numeric(self.not_before),
            "exp": _numeric(self.expires),
            "jti": self.jti,
            "purpose": self.purpose,
            "fields": list(self.fields),
            "subjects": list(self.subjects),
            "consent": self.consent_id,
            "policy": self.policy,
            "cnf": {self.cnf[0]: self.cnf[1]},
            "authorised_by": self.authorised_by,
        }

    def check_querent(self, querent: PublicKeyInfo) -> None:
        """Raise :class:`GrantWrongQuerent` unless the grant is bound to ``querent``'s key."""
        from xinan.formats.grant.jws import querent_binding  # jws builds on this module

        if self.querent != querent.key_id or self.cnf != querent_binding(querent):
            raise GrantWrongQuerent(
                f"grant {self.jti} is bound to another querent key, not {querent.key_id}",
                jti=self.jti,
                hint="a grant opens only for the key it was issued to; ask for your own grant",
            )


@dataclass(frozen=True)
class Grant:
    token: str = field(repr=False)
    claims: GrantClaims

    def file_bytes(self) -> bytes:
        """The grant file: the compact token and one newline (spec §2)."""
        return self.token.encode("ascii") + b"\n"


class ReplayGuard(Protocol):
    """Remembers grant ids until they expire (the vault keeps one in SQLite)."""

    def first_use(self, jti: str, expires: datetime) -> bool:
        """Record ``jti``; True the first time, False if already recorded."""
        ...


class MemoryReplayGuard:
    """An in-memory :class:`ReplayGuard` (tests, single-process tools)."""

    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}

    def first_use(self, jti: str, expires: datetime) -> bool:
        if jti in self._seen:
            return False
        self._seen[jti] = expires
        return True

    def prune(self, now: datetime) -> None:
        self._seen = {j: e for j, e in self._seen.items() if e > now}


Trust = Mapping[str, PublicKeyInfo] | Callable[[str], PublicKeyInfo | None] | Keyring


# ============================================================================================
# Small helpers
# ============================================================================================
def _b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def _unb64u(s: str) -> bytes:
    """Canonical base64url without padding; ValueError otherwise."""
    if not _B64URL_RE.match(s) or len(s) % 4 == 1:
        raise ValueError("not base64url")
    try:
        out = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None
    if _b64u(out) != s:  # trailing bits set: two strings for one value
        raise ValueError("not canonical base64url")
    return out


def _aware(t: datetime, what: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise UsageError(f"{what} must be a timezone-aware datetime")
    return t.astimezone(UTC)


def _numeric(t: datetime) -> int:
    return int(_aware(t, "time").timestamp())


def _from_numeric(n: int) -> datetime:
    return datetime.fromtimestamp(n, UTC)


def _time_text(t: datetime) -> str:
    return _aware(t, "time").strftime(_TIME_FMT)


def _has_control(s: str) -> bool:
    # str.isprintable is False for categories C* (control, format, surrogate, private, unassigned)
    # and Z* other than the ASCII space; the ideographic space U+3000 is ordinary Chinese text
    return not s.replace("\u3000", " ").isprintable()


def _text_problem(value: object, limit: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string"
    if len(value) > limit:
        return f"longer than {limit} characters"
    if _has_control(value):
        return "contains control characters"
    return None


def _check_text(value: object, what: str, limit: int) -> str:
    why = _text_problem(value, limit)
    if why:
        raise UsageError(f"{what} {why}")
    return str(value)


def _fields_problem(fields: object) -> str | None:
    if not isinstance(fields, list | tuple) or not fields:
        return "must be a non-empty list of field names"
    if len(fields) > MAX_FIELDS:
        return f"more than {MAX_FIELDS} fields"
    for i, f in enumerate(fields):
        why = _text_problem(f, 64)
        if why:
            return f"[{i}] {why}"
    if len(set(fields)) != len(fields):
        return "a field is listed twice"
    return None


def _check_fields(fields: object, what: str) -> tuple[str, ...]:
    why = _fields_problem(fields)
    if why:
        raise UsageError(f"{what} {why}")
    return tuple(fields)  # type: ignore[arg-type]


def _clear_identifier(value: str, today: date | None) -> str | None:
    """The kind of clear identifier ``value`` is or contains, if any (never the value)."""
    folded = unicodedata.normalize("NFKC", value).strip().upper()
    if _RID_SHAPE_RE.match(folded):
        return "a resident ID number"
    if _USCC_SHAPE_RE.match(folded) and any(c.isdigit() for c in folded):
        return "a unified social credit code"
    kinds = {IdKind.RESIDENT_ID, IdKind.USCC, IdKind.MOBILE, IdKind.BANK_CARD}
    found = find_identifiers(value, today=today, kinds=kinds)
    if found:
        return f"a {found[0].kind.value.replace('_', ' ')}"
    return None


def _check_subject(value: object, where: str, today: date | None) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{where} must be a string")
    if _PSEUDONYM_RE.match(value):
        return value
    kind = _clear_identifier(value, today)
    if kind:
        raise ClearIdentifierRefused(
            f"{where} is {kind} in clear; grants carry keyed pseudonyms only",
            rule="grant-subjects-pseudonymous",
            hint="pass the subject's pseudonym (ps1.…) from the vault, never the ID number",
        )
    raise UsageError(
        f"{where} is not a keyed pseudonym (ps1.<key id>.<mac>)",
        hint="look the subject up in the vault and pass its pseudonym",
    )
