"""Grants, revocation lists and consents (docs/grant.md §5–§7)."""

from __future__ import annotations

from collections.abc import Sequence

from xinan.errors.base import (
    AccessDenied,
    IntegrityError,
    VerificationError,
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


__all__ = [
    "ClearIdentifierRefused",
    "ConsentExpired",
    "ConsentRevoked",
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
    "RevocationListInvalid",
    "RevocationListRollback",
    "RevocationListStale",
]
