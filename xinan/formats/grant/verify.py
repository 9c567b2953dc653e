"""Verifying a grant (docs/grant.md §6): opaque before the signature, specific after it; reading
and writing grant files.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jwt.exceptions import PyJWTError

from xinan._codec import loads_strict
from xinan.crypto import Compliance, CryptoSuite, get_suite
from xinan.crypto.compliance import require as require_suite
from xinan.errors import (  # re-exported: the classes live in xinan.errors
    GrantAlgorithmRefused,
    GrantClaimInvalid,
    GrantExpired,
    GrantInvalid,
    GrantMissingClaim,
    GrantNotYetValid,
    GrantReplayed,
    GrantRevoked,
    GrantTypeRefused,
    GrantUnknownKey,
    GrantWrongAudience,
    GrantWrongIssuer,
    KeyringError,
    UsageError,
)
from xinan.fileio import write_bytes_atomic
from xinan.formats.grant.jws import _JWS, VerifyingKey, pinned_algorithm
from xinan.formats.grant.model import (
    _AUD_RE,
    _B64URL_RE,
    _CONSENT_ID_RE,
    _HEADER_MEMBERS,
    _KEY_ID_RE,
    _NAME_RE,
    _POLICY_RE,
    _PSEUDONYM_RE,
    AUDIENCE,
    CLAIMS,
    FORMAT,
    MAX_LEEWAY,
    MAX_SUBJECTS,
    MAX_TOKEN_CHARS,
    MAX_TTL,
    TYP,
    Grant,
    GrantClaims,
    ReplayGuard,
    Trust,
    _aware,
    _fields_problem,
    _from_numeric,
    _text_problem,
    _time_text,
    _unb64u,
)
from xinan.keys import Keyring, PublicKeyInfo, Role

if TYPE_CHECKING:
    from xinan.formats.grant.revocations import RevocationList


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
    from xinan.formats.grant.revocations import RevocationList  # it builds on this module

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
