"""Grants (``xinan-grant+jwt``) and revocation lists (``xinan-revocations/1``): docs/grant.md.

Sections follow the spec: §1 roles, §3 header and the pinned algorithms (registered with a
private pyjwt instance), §4 claims and the ``cnf`` key binding, §5 issuing (with the consent
model and :func:`check_within_consent`), §6 verifying, §7 revocation lists.

Owns the grant format and its checks. It does not own the primitives (every signature is made
and checked by a :class:`~xinan.crypto.CryptoSuite`), key files (:mod:`xinan.keys`), where
consents and revocations are stored (the vault), nor the audit entries (the caller logs).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

import jwt
from jwt.algorithms import Algorithm
from jwt.exceptions import InvalidKeyError, PyJWTError

from xinan._codec import canonical_json, compact_json, loads_strict, pretty_json
from xinan.crypto import Compliance, CryptoSuite, PrivateKey, SuiteName, get_suite
from xinan.crypto.compliance import require as require_suite
from xinan.crypto.recipes import hash_function
from xinan.errors import (  # re-exported: the classes live in xinan.errors
    AccessDenied,
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
    IntegrityError,
    KeyringError,
    RevocationListInvalid,
    RevocationListRollback,
    RevocationListStale,
    UsageError,
    VerificationError,
)
from xinan.fileio import write_bytes_atomic
from xinan.identifiers import IdKind, find_identifiers
from xinan.keys import Identity, Keyring, PublicKeyInfo, Role

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


# ============================================================================================
# §3 The pinned algorithms, as pyjwt algorithms that call the crypto suite
# ============================================================================================
@dataclass(frozen=True)
class VerifyingKey:
    """A public signing key with the suite that checks it (for :class:`SuiteAlgorithm`)."""

    suite: CryptoSuite
    public: bytes = field(repr=False)


@dataclass(frozen=True)
class SigningKey:
    """A private signing key handle with its suite (never key bytes)."""

    suite: CryptoSuite
    private: PrivateKey


_ALG_FOR_SIG = {"ed25519": ALG_EDDSA, "sm2-sign": ALG_SM2}
_SIG_LEN = 64  # Ed25519 (RFC 8032) and SM2 r ‖ s (spec §3.1) alike


class SuiteAlgorithm(Algorithm):
    """A JWS algorithm whose signatures are made and checked by a :class:`CryptoSuite`.

    ``EdDSA`` (Ed25519) for the intl and pq suites, ``XINAN-SM2-SM3`` for gm. Keys are
    :class:`SigningKey` / :class:`VerifyingKey`; a key of another suite's algorithm is refused,
    so one algorithm never verifies with another's key.
    """

    def __init__(self, name: str, sig_name: str) -> None:
        self.name = name
        self.sig_name = sig_name

    def prepare_key(self, key: Any) -> Any:
        if isinstance(key, SigningKey | VerifyingKey) and key.suite.sig_name == self.sig_name:
            return key
        raise InvalidKeyError(f"not a {self.name} key of a xinan crypto suite")

    def sign(self, msg: bytes, key: Any) -> bytes:
        if not isinstance(key, SigningKey):
            raise InvalidKeyError("signing needs a private key handle")
        return key.suite.sign(key.private, msg)

    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        if not isinstance(key, VerifyingKey) or len(sig) != _SIG_LEN:
            return False
        try:
            key.suite.verify(key.public, msg, sig)
        except IntegrityError:
            return False
        return True

    @staticmethod
    def to_jwk(key_obj: Any, as_dict: bool = False) -> Any:
        raise InvalidKeyError("export keys with `xinan keys export --format jwk`")

    @staticmethod
    def from_jwk(jwk: Any) -> Any:
        raise InvalidKeyError("xinan keys come from key files, not JWKs")


def _make_jws() -> jwt.PyJWS:
    # algorithms=[]: pyjwt's defaults (none, HS*, RS*, …) are removed; only ours exist here.
    jws = jwt.PyJWS(algorithms=[])
    jws.register_algorithm(ALG_EDDSA, SuiteAlgorithm(ALG_EDDSA, "ed25519"))
    jws.register_algorithm(ALG_SM2, SuiteAlgorithm(ALG_SM2, "sm2-sign"))
    return jws


_JWS = _make_jws()


def pinned_algorithm(suite: CryptoSuite) -> str:
    """The one JWS algorithm a platform key of this suite signs grants with (spec §3)."""
    try:
        return _ALG_FOR_SIG[suite.sig_name]
    except KeyError:
        raise KeyringError(f"suite {suite.name.value} has no grant algorithm") from None


# ============================================================================================
# §4.1 Key binding
# ============================================================================================
# The thumbprint hash is the querent suite's (spec §4.1), fixed by the cnf member's name:
# SHA-256 for jkt (RFC 7638/9449) and xinan-jkt-pq, SM3 for xinan-jkt-sm3.
_SHA256 = hash_function("sha256")
_SM3 = hash_function("sm3")


def _thumbprint_input(members: dict[str, str]) -> bytes:
    # RFC 7638 §3.3: required members only, sorted, no white space, UTF-8 (for these ASCII
    # member names JCS order is that order)
    return canonical_json(members)


def querent_binding(querent: PublicKeyInfo) -> tuple[str, str]:
    """The ``cnf`` member and value that bind a grant to ``querent``'s KEM key (spec §4.1)."""
    kem = querent.kem
    if querent.suite is SuiteName.INTL:
        jwk = {"crv": "X25519", "kty": "OKP", "x": _b64u(kem)}  # RFC 8037 §2
        return "jkt", _b64u(_SHA256(_thumbprint_input(jwk)))  # RFC 7638 §3.1: SHA-256
    if querent.suite is SuiteName.PQ:
        jwk = {"alg": "MLKEM768-X25519", "kty": "AKP", "pub": _b64u(kem)}
        return "xinan-jkt-pq", _b64u(_SHA256(_thumbprint_input(jwk)))
    if len(kem) != 65 or kem[0] != 0x04:
        raise KeyringError(f"querent {querent.id}: KEM key is not an uncompressed SM2 point")
    jwk = {"crv": "SM2", "kty": "EC", "x": _b64u(kem[1:33]), "y": _b64u(kem[33:])}
    return "xinan-jkt-sm3", _b64u(_SM3(_thumbprint_input(jwk)))  # gm: SM3 (spec §4.1)


# ============================================================================================
# §5 Issuing
# ============================================================================================
def check_within_consent(
    request: GrantRequest | GrantClaims, consent: Consent, *, now: datetime
) -> None:
    """Raise unless ``request`` stays within ``consent`` at ``now`` (spec §5 items 2–3).

    Works on a request before issue and on verified claims at share time, so a consent
    revoked after issue stops the share. :class:`GrantWiderThanConsent` names every wider
    dimension at once.
    """
    now_utc = _aware(now, "now")
    if consent.revoked:
        raise ConsentRevoked(
            f"consent {consent.id!r} has been revoked",
            rule="consent-valid",
            hint="the data subject withdrew the authorisation; nothing can be granted under it",
        )
    if now_utc >= consent.valid_until:
        raise ConsentExpired(
            f"consent {consent.id!r} expired at {_time_text(consent.valid_until)}",
            rule="consent-valid",
            hint="record a new consent from the data subject",
        )
    consent_id = request.consent_id
    problems: list[tuple[str, str]] = []
    if consent_id != consent.id:
        problems.append(("consent", f"the grant names consent {consent_id!r}"))
    if request.querent != consent.querent:
        problems.append(("querent", f"{request.querent} is not the consented querent"))
    if request.purpose != consent.purpose:
        problems.append(("purpose", f"{request.purpose!r} is not {consent.purpose!r}"))
    extra = [f for f in request.fields if f not in set(consent.fields)]
    if extra:
        problems.append(("fields", f"not consented: {', '.join(extra)}"))
    others = sum(1 for s in request.subjects if s != consent.subject)
    if others:
        problems.append(("subjects", f"{others} subject(s) not covered by the consent"))
    if request.expires > consent.valid_until:
        problems.append(
            (
                "time",
                f"grant ends {_time_text(request.expires)}, consent ends "
                f"{_time_text(consent.valid_until)}",
            )
        )
    if problems:
        raise GrantWiderThanConsent(consent.id, problems)


def _require_role(ident: PublicKeyInfo, role: Role, what: str) -> None:
    if ident.role is not role:
        raise GrantIssuerNotAuthorised(
            f"{what} {ident.id} ({ident.key_id}) has role {ident.role.value}, not {role.value}",
            rule="mlps-8.1.4.2-separation-of-duties",
            hint=f"act as an identity of role {role.value} (--as KEY_ID)",
        )


def issue_grant(
    *,
    platform: Identity,
    authorised_by: Identity,
    querent: PublicKeyInfo,
    consent: Consent,
    purpose: str,
    fields: Sequence[str],
    subjects: Sequence[str],
    policy_label: str,
    ttl: timedelta,
    now: datetime,
    audience: str = AUDIENCE,
    not_before: datetime | None = None,
    compliance_mode: str | Compliance | None = None,
) -> Grant:
    """Issue a grant signed by ``platform`` on the authority of ``authorised_by`` (spec §5).

    Refuses (AccessDenied family) unless ``authorised_by`` is a sec-admin, ``platform`` a
    platform key and ``querent`` a querent key; unless the grant stays within ``consent``;
    and if a subject or the purpose carries a clear identifier.
    """
    _require_role(authorised_by.info, Role.SEC_ADMIN, "authorising identity")
    _require_role(platform.info, Role.PLATFORM, "signing identity")
    if querent.role is not Role.QUERENT:
        raise AccessDenied(
            f"grants are issued to querent keys; {querent.id} has role {querent.role.value}",
            rule="grant-to-querent",
        )
    suite = get_suite(platform.info.suite, compliance_mode=compliance_mode)
    require_suite(querent.suite, compliance_mode, what=f"querent key {querent.id}")
    alg = pinned_algorithm(suite)
    now_utc = _aware(now, "now").replace(microsecond=0)
    nbf = _aware(not_before, "not_before").replace(microsecond=0) if not_before else now_utc
    if not timedelta(seconds=1) <= ttl <= MAX_TTL:
        raise UsageError(f"grant ttl must be between 1 second and {MAX_TTL.days} days")
    if nbf < now_utc:
        raise UsageError("not_before is before the issue time")
    exp = nbf + timedelta(seconds=int(ttl.total_seconds()))
    if exp - nbf > MAX_TTL:
        raise UsageError(f"grant lifetime exceeds {MAX_TTL.days} days")

    today = now_utc.astimezone(CST).date()
    purpose = _check_text(purpose, "purpose", 200)
    kind = _clear_identifier(purpose, today)
    if kind:
        raise ClearIdentifierRefused(
            f"purpose contains {kind} in clear", rule="grant-subjects-pseudonymous"
        )
    field_t = _check_fields(list(fields), "fields")
    if not subjects or len(subjects) > MAX_SUBJECTS:
        raise UsageError(f"a grant names 1 to {MAX_SUBJECTS} subjects")
    subject_t = tuple(_check_subject(s, f"subjects[{i}]", today) for i, s in enumerate(subjects))
    if len(set(subject_t)) != len(subject_t):
        raise UsageError("a subject is listed twice")
    if not _POLICY_RE.match(policy_label):
        raise UsageError(f"policy label {policy_label!r} is not id@version")
    if not _AUD_RE.match(audience):
        raise UsageError("audience must be 1-128 printable ASCII characters")

    request = GrantRequest(querent.key_id, purpose, field_t, subject_t, consent.id, nbf, exp)
    check_within_consent(request, consent, now=now_utc)

    claims = GrantClaims(
        issuer=platform.info.id,
        querent=querent.key_id,
        audience=audience,
        issued_at=now_utc,
        not_before=nbf,
        expires=exp,
        jti=_b64u(secrets.token_bytes(16)),
        purpose=purpose,
        fields=field_t,
        subjects=subject_t,
        consent_id=consent.id,
        policy=policy_label,
        cnf=querent_binding(querent),
        authorised_by=authorised_by.key_id,
        kid=platform.key_id,
    )
    token = _encode_token(platform, claims.to_json(), alg=alg, suite=suite)
    return Grant(token, claims)


def _encode_token(
    platform: Identity,
    payload: Mapping[str, Any],
    *,
    alg: str,
    suite: CryptoSuite,
    header: Mapping[str, Any] | None = None,
) -> str:
    """Sign ``payload`` as a compact JWS with the platform key (``header`` overrides are for
    tests that build hostile tokens)."""
    body = compact_json(payload)
    headers: dict[str, Any] = {"kid": platform.key_id, "typ": TYP}
    if header:
        headers.update(header)
    key: Any = SigningKey(suite, platform.signing)  # pyjwt's key type list knows no handles
    return _JWS.encode(body, key, algorithm=alg, headers=headers)


# ============================================================================================
# §6 Verifying
# ============================================================================================


def _strict_json(data: bytes) -> Any:
    """docs/encoding.md strict JSON (UTF-8, no duplicate members, no NaN/Infinity, no floats,
    integers within ±(2^53 - 1), no lone surrogate); ValueError (MalformedJSON) otherwise."""
    return loads_strict(data)


def _lookup(trust: Trust, kid: str) -> PublicKeyInfo | None:
    info: PublicKeyInfo | None
    if isinstance(trust, Keyring):
        try:
            info = trust.get_public(kid)
        except KeyringError:
            return None
    elif isinstance(trust, Mapping):
        info = trust.get(kid)
    else:
        info = trust(kid)
    if info is None or info.key_id != kid:
        return None
    return info


def _typ_ok(typ: object) -> bool:
    # RFC 7515 §4.1.9: compare case-insensitively; "application/" may be omitted
    if not isinstance(typ, str):
        return False
    t = typ.lower()
    return t.removeprefix("application/") == TYP


def _platform_key(
    trust: Trust, kid: object, alg: object, compliance_mode: str | Compliance | None
) -> tuple[PublicKeyInfo, CryptoSuite, str]:
    """The trusted platform key named by ``kid`` and its pinned algorithm (spec §3)."""
    if not isinstance(kid, str) or not _KEY_ID_RE.match(kid):
        raise GrantUnknownKey("grant names no platform key (kid)")
    info = _lookup(trust, kid)
    if info is None or info.role is not Role.PLATFORM:
        raise GrantUnknownKey(
            f"grant is signed by key {kid}, which is not a trusted platform key",
            hint="add the platform's public key file to the trust store (xinan keys add) and "
            "compare its key id with the platform out of band",
        )
    suite = get_suite(info.suite, compliance_mode=compliance_mode)
    pinned = pinned_algorithm(suite)
    if alg != pinned:
        shown = alg if isinstance(alg, str) and len(alg) <= 32 else "(malformed)"
        raise GrantAlgorithmRefused(
            f"grant algorithm {shown!r} refused: platform key {kid} signs with {pinned}",
        )
    return info, suite, pinned


def _split(token: object) -> tuple[dict[str, Any], bytes]:
    """Check size and encoding (spec §2); return the header and the payload bytes."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise GrantInvalid("not a grant (too large or not text)")
    parts = token.split(".")
    if len(parts) != 3 or not all(_B64URL_RE.match(p) for p in parts):
        raise GrantInvalid("not a grant (not a compact JWS)")
    try:
        header = _strict_json(_unb64u(parts[0]))
        payload = _unb64u(parts[1])
        _unb64u(parts[2])
    except ValueError:
        raise GrantInvalid("not a grant (damaged encoding)") from None
    if not isinstance(header, dict):
        raise GrantInvalid("not a grant (header is not an object)")
    return header, payload


def _check_header(header: dict[str, Any]) -> None:
    extra = sorted(set(header) - _HEADER_MEMBERS)
    if extra:
        names = ", ".join(repr(n[:32]) for n in extra[:5])
        raise GrantInvalid(f"grant header parameter {names} refused (a grant names its key by kid)")
    if not _typ_ok(header.get("typ")):
        raise GrantTypeRefused(f"not a xinan grant: header typ is not {TYP!r}")
    if "alg" not in header:
        raise GrantAlgorithmRefused("grant header has no alg")


def _claim(doc: dict[str, Any], name: str) -> Any:
    if name not in doc:
        raise GrantMissingClaim(name)
    return doc[name]


def _int_claim(doc: dict[str, Any], name: str) -> int:
    v = _claim(doc, name)
    if type(v) is not int or not 0 < v < 2**40:
        raise GrantClaimInvalid(name, "must be an integer NumericDate")
    return v


def _str_claim(doc: dict[str, Any], name: str, pattern: re.Pattern[str] | None, limit: int) -> str:
    v = _claim(doc, name)
    why = _text_problem(v, limit)
    if why is None and pattern is not None and not pattern.match(v):
        why = "has the wrong form"
    if why:
        raise GrantClaimInvalid(name, why)
    return str(v)


def _parse_claims(payload: bytes, kid: str) -> GrantClaims:
    try:
        doc = _strict_json(payload)
    except ValueError:
        raise GrantClaimInvalid("payload", "not a JSON object") from None
    if not isinstance(doc, dict):
        raise GrantClaimInvalid("payload", "not a JSON object")
    for name in CLAIMS:
        _claim(doc, name)
    unknown = sorted(set(doc) - set(CLAIMS))
    if unknown:
        raise GrantClaimInvalid(unknown[0][:32], "not a grant claim")
    if doc["format"] != FORMAT:
        raise GrantClaimInvalid("format", f"must be {FORMAT!r}")
    jti = _str_claim(doc, "jti", _B64URL_RE, 22)
    try:
        if len(_unb64u(jti)) != 16:
            raise ValueError
    except ValueError:
        raise GrantClaimInvalid("jti", "must be 128 bits, base64url") from None
    fields = doc["fields"]
    why = _fields_problem(fields)
    if why:
        raise GrantClaimInvalid("fields", why)
    subjects = doc["subjects"]
    if (
        not isinstance(subjects, list)
        or not 1 <= len(subjects) <= MAX_SUBJECTS
        or not all(isinstance(s, str) and _PSEUDONYM_RE.match(s) for s in subjects)
        or len(set(subjects)) != len(subjects)
    ):
        raise GrantClaimInvalid("subjects", "must be 1 to 256 distinct keyed pseudonyms")
    cnf = doc["cnf"]
    if (
        not isinstance(cnf, dict)
        or len(cnf) != 1
        or not all(isinstance(v, str) and _B64URL_RE.match(v) for v in cnf.values())
    ):
        raise GrantClaimInvalid("cnf", "must hold exactly one key thumbprint")
    ((cnf_name, cnf_value),) = cnf.items()
    iat, nbf, exp = (_int_claim(doc, n) for n in ("iat", "nbf", "exp"))
    if not iat <= nbf < exp or exp - nbf > MAX_TTL.total_seconds():
        raise GrantClaimInvalid("exp", "times out of order (iat ≤ nbf < exp ≤ nbf + 366 days)")
    return GrantClaims(
        issuer=_str_claim(doc, "iss", _NAME_RE, 64),
        querent=_str_claim(doc, "sub", _KEY_ID_RE, 27),
        audience=_str_claim(doc, "aud", _AUD_RE, 128),
        issued_at=_from_numeric(iat),
        not_before=_from_numeric(nbf),
        expires=_from_numeric(exp),
        jti=jti,
        purpose=_str_claim(doc, "purpose", None, 200),
        fields=tuple(fields),
        subjects=tuple(subjects),
        consent_id=_str_claim(doc, "consent", _CONSENT_ID_RE, 128),
        policy=_str_claim(doc, "policy", _POLICY_RE, 97),
        cnf=(cnf_name, cnf_value),
        authorised_by=_str_claim(doc, "authorised_by", _KEY_ID_RE, 27),
        kid=kid,
    )


def _leeway(leeway: timedelta | int) -> timedelta:
    lw = leeway if isinstance(leeway, timedelta) else timedelta(seconds=leeway)
    if not timedelta(0) <= lw <= MAX_LEEWAY:
        raise UsageError(f"leeway must be between 0 and {int(MAX_LEEWAY.total_seconds())} s")
    return lw


def verify_grant(
    token: str,
    *,
    trust: Trust,
    now: datetime,
    audience: str = AUDIENCE,
    expected_querent: PublicKeyInfo | None = None,
    revoked: Collection[str] | RevocationList = (),
    replay: ReplayGuard | None = None,
    leeway: timedelta | int = 0,
    compliance_mode: str | Compliance | None = None,
) -> GrantClaims:
    """Verify ``token`` as a grant at ``now`` and return its claims; raise otherwise (spec §6).

    ``trust`` resolves the header's ``kid`` (a :class:`~xinan.keys.Keyring`, a mapping key id
    → public key, or a function). ``revoked`` is a *verified* revocation list or a set of
    grant ids. ``expected_querent``: the querent's own key (querent side) — the grant must be
    bound to it. ``replay``: the platform's share passes its guard (one grant, one share).
    """
    now_utc = _aware(now, "now")
    lw = _leeway(leeway)
    # 1. encoding and header: opaque refusals, before anything depends on the payload
    header, payload = _split(token)
    _check_header(header)
    info, suite, pinned = _platform_key(trust, header.get("kid"), header["alg"], compliance_mode)
    # 2. the signature, with the pinned algorithm only (RFC 8725 §3.1). _split has parsed the
    # token strictly, so the registered algorithm is called directly, not pyjwt's decoder.
    signing_input, _, sig_b64 = token.rpartition(".")
    algorithm = _JWS.get_algorithm_by_name(pinned)
    try:
        key = algorithm.prepare_key(VerifyingKey(suite, info.sig))
        ok = algorithm.verify(signing_input.encode("ascii"), key, _unb64u(sig_b64))
    except (PyJWTError, ValueError):
        ok = False
    if not ok:
        raise GrantInvalid("grant signature did not verify")
    # 3. claims (authentic from here on: specific errors)
    claims = _parse_claims(payload, info.key_id)
    j = claims.jti
    if claims.issuer != info.id:
        raise GrantWrongIssuer(
            f"grant {j}: issuer {claims.issuer!r} is not {info.id!r}, the holder of key "
            f"{info.key_id}",
            jti=j,
        )
    if claims.audience != audience:
        raise GrantWrongAudience(
            f"grant {j} is for audience {claims.audience!r}, not {audience!r}", jti=j
        )
    # 4. revocation
    revoked_ids = revoked.jtis if isinstance(revoked, RevocationList) else revoked
    if j in revoked_ids:
        raise GrantRevoked(
            f"grant {j} has been revoked by the platform",
            jti=j,
            hint="ask the platform's security administrator for a new grant",
        )
    # 5. time, from the caller's clock (RFC 7519 §4.1.4-4.1.6)
    if now_utc < claims.not_before - lw or claims.issued_at > now_utc + lw:
        raise GrantNotYetValid(
            f"grant {j} is not valid before {_time_text(claims.not_before)}",
            jti=j,
            hint="wait until then, or check this machine's clock",
        )
    if now_utc >= claims.expires + lw:
        raise GrantExpired(
            f"grant {j} expired at {_time_text(claims.expires)}",
            jti=j,
            hint="ask the platform for a new grant (the consent must still be valid)",
        )
    # 6. key binding (RFC 7800)
    if expected_querent is not None:
        require_suite(expected_querent.suite, compliance_mode, what=f"key {expected_querent.id}")
        claims.check_querent(expected_querent)
    # 7. replay, last: a grant that fails a check above does not use up its id
    if replay is not None and not replay.first_use(j, claims.expires):
        raise GrantReplayed(f"grant {j} has already been used", jti=j)
    return claims


def read_grant(path: str | Path) -> str:
    """Read a grant file (spec §2): the token and at most one trailing newline."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            data = f.read(MAX_TOKEN_CHARS + 3)
    except OSError as e:
        raise UsageError(f"{p}: cannot read grant file ({e.strerror})") from None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise GrantInvalid(f"{p}: not a grant file") from None
    return text.removesuffix("\n").removesuffix("\r")


def write_grant(path: str | Path, grant: Grant) -> None:
    """Write a grant file atomically."""
    write_bytes_atomic(path, grant.file_bytes())


# ============================================================================================
# §7 Revocation lists
# ============================================================================================
@dataclass(frozen=True)
class Revocation:
    jti: str
    revoked_at: datetime
    expires: datetime


@dataclass(frozen=True)
class RevocationList:
    """An edition of the platform's revocation list. ``issued``/``next_update`` are set on a
    list read from a signed file; a working copy from :meth:`revoke` has them None."""

    issuer: str
    number: int = 0
    entries: tuple[Revocation, ...] = ()
    issued: datetime | None = None
    next_update: datetime | None = None

    @property
    def jtis(self) -> frozenset[str]:
        return frozenset(e.jti for e in self.entries)

    def __contains__(self, jti: object) -> bool:
        return jti in self.jtis

    def revoke(self, jti: str, *, at: datetime, expires: datetime) -> RevocationList:
        """A new edition with ``jti`` revoked (idempotent on a revoked id)."""
        if not _B64URL_RE.match(jti) or len(jti) != 22:
            raise UsageError(f"{jti[:40]!r} is not a grant id (jti)")
        if jti in self.jtis:
            return self
        entry = Revocation(
            jti,
            _aware(at, "at").replace(microsecond=0),
            _aware(expires, "expires").replace(microsecond=0),
        )
        entries = tuple(sorted((*self.entries, entry), key=lambda e: e.jti))
        return replace(self, number=self.number + 1, entries=entries, issued=None, next_update=None)

    def prune(self, now: datetime) -> RevocationList:
        """Drop entries of grants that have expired anyway (spec §7)."""
        now_utc = _aware(now, "now")
        kept = tuple(e for e in self.entries if e.expires > now_utc)
        if len(kept) == len(self.entries):
            return self
        return replace(self, number=self.number + 1, entries=kept, issued=None, next_update=None)


_REV_MEMBERS = [
    "format",
    "issuer",
    "kid",
    "alg",
    "number",
    "issued",
    "next_update",
    "revoked",
    "sig",
]
_REV_ENTRY = ["jti", "revoked_at", "expires"]


def _rev_encode(doc: dict[str, Any]) -> bytes:
    return pretty_json(doc)


def _rev_signing_input(doc: dict[str, Any]) -> bytes:
    covered = {k: v for k, v in doc.items() if k != "sig"}
    return REVOCATIONS_FORMAT.encode() + b"\n" + canonical_json(covered)


def sign_revocations(
    rl: RevocationList,
    platform: Identity,
    *,
    now: datetime,
    next_update: datetime,
    compliance_mode: str | Compliance | None = None,
) -> bytes:
    """The signed ``xinan-revocations/1`` file of ``rl`` (spec §7)."""
    _require_role(platform.info, Role.PLATFORM, "signing identity")
    if rl.issuer != platform.info.id:
        raise UsageError(f"revocation list of {rl.issuer!r} cannot be signed by {platform.info.id}")
    if rl.number < 1:
        raise UsageError("revocation list number must be at least 1")
    now_utc = _aware(now, "now")
    if _aware(next_update, "next_update") <= now_utc:
        raise UsageError("next_update must be after now")
    suite = get_suite(platform.info.suite, compliance_mode=compliance_mode)
    doc: dict[str, Any] = {
        "format": REVOCATIONS_FORMAT,
        "issuer": rl.issuer,
        "kid": platform.key_id,
        "alg": pinned_algorithm(suite),
        "number": rl.number,
        "issued": _time_text(now_utc),
        "next_update": _time_text(next_update),
        "revoked": [
            {"jti": e.jti, "revoked_at": _time_text(e.revoked_at), "expires": _time_text(e.expires)}
            for e in sorted(rl.entries, key=lambda e: e.jti)
        ],
        "sig": "",
    }
    doc["sig"] = _b64u(platform.sign(_rev_signing_input(doc)))
    return _rev_encode(doc)


def _parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("time")
    return datetime.strptime(value, _TIME_FMT).replace(tzinfo=UTC)


def verify_revocations(
    data: bytes,
    *,
    trust: Trust,
    now: datetime,
    min_number: int = 0,
    leeway: timedelta | int = 0,
    compliance_mode: str | Compliance | None = None,
) -> RevocationList:
    """Verify a ``xinan-revocations/1`` file at ``now`` and return its list (spec §7).

    ``min_number``: the highest edition number seen before (rollback protection).
    """
    now_utc = _aware(now, "now")
    lw = _leeway(leeway)
    bad = RevocationListInvalid(
        "revocation list is invalid", hint="fetch the list again from the platform"
    )
    if len(data) > MAX_REVOCATIONS_BYTES:
        raise bad
    try:
        doc = _strict_json(data)
    except ValueError:
        raise bad from None
    if not isinstance(doc, dict) or doc.get("format") != REVOCATIONS_FORMAT:
        raise bad
    if list(doc) != _REV_MEMBERS or _rev_encode(doc) != data:
        raise bad
    try:
        info, suite, _ = _platform_key(trust, doc["kid"], doc["alg"], compliance_mode)
    except GrantInvalid as e:
        msg = e.message.replace("grant", "revocation list")
        raise RevocationListInvalid(msg, hint=e.hint) from None
    try:
        sig = _unb64u(doc["sig"]) if isinstance(doc["sig"], str) else b""
        suite.verify(info.sig, _rev_signing_input(doc), sig)
    except (ValueError, IntegrityError):
        raise bad from None
    # authentic from here on
    if doc["issuer"] != info.id:
        raise bad
    try:
        number = doc["number"]
        if type(number) is not int or number < 1:
            raise ValueError("number")
        issued, next_update = _parse_time(doc["issued"]), _parse_time(doc["next_update"])
        entries = []
        for item in doc["revoked"]:
            if not isinstance(item, dict) or list(item) != _REV_ENTRY:
                raise ValueError("entry")
            if not isinstance(item["jti"], str) or not _B64URL_RE.match(item["jti"]):
                raise ValueError("jti")
            entries.append(
                Revocation(
                    item["jti"], _parse_time(item["revoked_at"]), _parse_time(item["expires"])
                )
            )
    except (ValueError, TypeError):
        raise bad from None
    jtis = [e.jti for e in entries]
    if jtis != sorted(set(jtis)):
        raise bad
    if number < min_number:
        raise RevocationListRollback(
            f"revocation list edition {number} is older than edition {min_number} seen before",
            hint="someone is serving an old list; fetch the current one from the platform",
        )
    if issued > now_utc + lw:
        raise VerificationError(f"revocation list issued in the future ({_time_text(issued)})")
    if next_update <= now_utc:
        raise RevocationListStale(
            f"revocation list edition {number} is stale since {_time_text(next_update)}",
            hint="fetch the current revocation list from the platform",
        )
    return RevocationList(info.id, number, tuple(entries), issued, next_update)


__all__ = [
    "ALG_EDDSA",
    "ALG_SM2",
    "AUDIENCE",
    "FORMAT",
    "REVOCATIONS_FORMAT",
    "TYP",
    "ClearIdentifierRefused",
    "Consent",
    "ConsentExpired",
    "ConsentRevoked",
    "Grant",
    "GrantAlgorithmRefused",
    "GrantClaimInvalid",
    "GrantClaims",
    "GrantExpired",
    "GrantInvalid",
    "GrantIssuerNotAuthorised",
    "GrantMissingClaim",
    "GrantNotYetValid",
    "GrantRejected",
    "GrantReplayed",
    "GrantRequest",
    "GrantRevoked",
    "GrantTypeRefused",
    "GrantUnknownKey",
    "GrantWiderThanConsent",
    "GrantWrongAudience",
    "GrantWrongIssuer",
    "GrantWrongQuerent",
    "MemoryReplayGuard",
    "ReplayGuard",
    "Revocation",
    "RevocationList",
    "RevocationListInvalid",
    "RevocationListRollback",
    "RevocationListStale",
    "SigningKey",
    "SuiteAlgorithm",
    "Trust",
    "VerifyingKey",
    "check_within_consent",
    "end_of_day_cst",
    "issue_grant",
    "pinned_algorithm",
    "querent_binding",
    "read_grant",
    "sign_revocations",
    "verify_grant",
    "verify_revocations",
    "write_grant",
]
