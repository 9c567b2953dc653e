"""Issuing a grant (docs/grant.md §5): within a consent, by the platform's security
administrator.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from xinan._codec import compact_json
from xinan.crypto import Compliance, CryptoSuite, get_suite
from xinan.crypto.compliance import require as require_suite
from xinan.errors import (  # re-exported: the classes live in xinan.errors
    AccessDenied,
    ClearIdentifierRefused,
    ConsentExpired,
    ConsentRevoked,
    GrantIssuerNotAuthorised,
    GrantWiderThanConsent,
    UsageError,
)
from xinan.formats.grant.jws import _JWS, SigningKey, pinned_algorithm, querent_binding
from xinan.formats.grant.model import (
    _AUD_RE,
    _POLICY_RE,
    AUDIENCE,
    CST,
    MAX_SUBJECTS,
    MAX_TTL,
    TYP,
    Consent,
    Grant,
    GrantClaims,
    GrantRequest,
    _aware,
    _b64u,
    _check_fields,
    _check_subject,
    _check_text,
    _clear_identifier,
    _time_text,
)
from xinan.keys import Identity, PublicKeyInfo, Role


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
