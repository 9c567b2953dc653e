"""Grants (``xinan-grant+jwt``) and revocation lists (``xinan-revocations/1``): docs/grant.md.

Sections follow the spec: §1 roles, §3 header and the pinned algorithms (registered with a
private pyjwt instance), §4 claims and the ``cnf`` key binding, §5 issuing (with the consent
model and :func:`check_within_consent`), §6 verifying, §7 revocation lists.

Owns the grant format and its checks. It does not own the primitives (every signature is made
and checked by a :class:`~xinan.crypto.CryptoSuite`), key files (:mod:`xinan.keys`), where
consents and revocations are stored (the vault), nor the audit entries (the caller logs).
"""

from __future__ import annotations

# the error classes live in xinan.errors; re-exported for callers of the format
from xinan.errors import (
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
from xinan.formats.grant.issue import check_within_consent, issue_grant
from xinan.formats.grant.jws import (
    SigningKey,
    SuiteAlgorithm,
    VerifyingKey,
    pinned_algorithm,
    querent_binding,
)
from xinan.formats.grant.model import (
    ALG_EDDSA,
    ALG_SM2,
    AUDIENCE,
    CLAIMS,
    FORMAT,
    MAX_TOKEN_CHARS,
    REVOCATIONS_FORMAT,
    TYP,
    Consent,
    Grant,
    GrantClaims,
    GrantRequest,
    MemoryReplayGuard,
    ReplayGuard,
    Trust,
    end_of_day_cst,
)
from xinan.formats.grant.revocations import (
    Revocation,
    RevocationList,
    sign_revocations,
    verify_revocations,
)
from xinan.formats.grant.verify import read_grant, verify_grant, write_grant

__all__ = [
    "ALG_EDDSA",
    "ALG_SM2",
    "AUDIENCE",
    "CLAIMS",
    "FORMAT",
    "MAX_TOKEN_CHARS",
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
