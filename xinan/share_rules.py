"""The rules granted data must pass before it moves, as small composable objects
(docs/vault.md §8 share, §8.1 release, §9 the querent's open; docs/grant.md §6).

Three places decide whether a subject's data may go to a querent: the platform's ``share``
(build the package), its ``release`` (hand over the per-record secrets) and the querent's
``open``. Each is an :class:`AllOf` of the rules below, read top to bottom like the spec. A
rule raises its own refusal — a specific :class:`~xinan.errors.XinanError` saying which rule
and what to do — and :class:`AllOf` hands the rule's name to the caller, which logs
``rule:<name>`` before the refusal is raised (GB/T 22239-2019 8.1.4.3: denials are audited).

Rules look at one :class:`ShareCase` and may fill it in as they go (the verified grant, the
querent's key, the consent): later rules rely only on what earlier rules established.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from xinan.access import Session
from xinan.errors import (
    AccessDenied,
    GrantExpired,
    GrantNotYetValid,
    GrantRejected,
    GrantRevoked,
    KeyringError,
    XinanError,
)
from xinan.formats.grant import (
    Consent,
    GrantClaims,
    GrantRequest,
    RevocationList,
    Trust,
    check_within_consent,
    verify_grant,
)
from xinan.keys import Keyring, PublicKeyInfo, Role


@dataclass
class ShareCase:
    """What the rules of one share, release or open look at."""

    now: datetime
    token: str = ""  # the grant as presented (share, open)
    claims: GrantClaims | None = None  # the verified grant
    # what the grant allows (the verified claims; at release, the vault's own record)
    terms: GrantRequest | GrantClaims | None = None
    jti: str = ""
    querent: PublicKeyInfo | None = None
    revoked_at: str | None = None  # release: the vault's own record of a revocation


class Rule(Protocol):
    """One rule: ``check`` raises the rule's refusal; ``refused_as`` names it for the log."""

    def check(self, case: ShareCase) -> None: ...

    def refused_as(self, exc: XinanError) -> str: ...


class Named:
    """A rule refused under one fixed name."""

    name = ""

    def refused_as(self, exc: XinanError) -> str:
        return self.name


class ByError:
    """A rule whose refusals are named by the error itself: its ``rule`` when it carries one
    (consent rules), else its class (``GrantExpired``, ``GrantWrongQuerent`` …)."""

    def refused_as(self, exc: XinanError) -> str:
        return getattr(exc, "rule", None) or type(exc).__name__


class AllOf:
    """Every rule, in order; the first refusal stops the rest (deny by default)."""

    def __init__(self, *rules: Rule) -> None:
        self.rules = rules

    def check(self, case: ShareCase, *, refuse: Callable[[str, XinanError], XinanError]) -> None:
        """Run the rules; on a refusal, ``refuse(rule name, error)`` logs it and returns the
        error to raise."""
        for rule in self.rules:
            try:
                rule.check(case)
            except XinanError as e:
                raise refuse(rule.refused_as(e), e) from None


def refusal_context(case: ShareCase, exc: XinanError) -> tuple[dict[str, str], Sequence[str]]:
    """What a refusal's audit entry says about the grant: the verified grant and its consent and
    subjects; before the grant verified, only the id a refused grant named."""
    c = case.claims
    if c is not None:
        return {"grant": c.jti, "consent": c.consent_id}, c.subjects
    if isinstance(exc, GrantRejected) and exc.jti:
        return {"grant": exc.jti}, ()
    return {}, ()


def log_refusal(
    session: Session,
    entry_type: str,
    rule: str,
    exc: XinanError,
    *,
    why: Mapping[str, str],
    subjects: Sequence[str],
) -> XinanError:
    """Record a refusal — outcome ``denied``, ``rule:<name>`` — before it is raised (GB/T
    22239-2019 8.1.4.3); returns ``exc`` for the caller to raise."""
    session.record(
        entry_type,
        outcome="denied",
        objects={"ref": f"rule:{rule}"},
        why=why,
        subjects=subjects,
    )
    return exc


def _claims(case: ShareCase) -> GrantClaims:
    if case.claims is None:  # pragma: no cover - rules are ordered after GrantVerifies
        raise AccessDenied("no verified grant")
    return case.claims


def _querent(case: ShareCase) -> PublicKeyInfo:
    if case.querent is None:  # pragma: no cover - rules are ordered after QuerentKnown
        raise AccessDenied("the querent is not known")
    return case.querent


# -- the grant itself ----------------------------------------------------------------------------
class GrantVerifies:
    """The platform's signature, the pinned algorithm, the claims, the clock and the
    revocation list (docs/grant.md §6 steps 1–6); on the querent's side also the binding to
    the querent's own key. Refusals are named by their class (opaque for a bad signature)."""

    def __init__(
        self,
        trust: Trust,
        *,
        revoked: Callable[[], Collection[str] | RevocationList] = frozenset,
        expected_querent: PublicKeyInfo | None = None,
    ) -> None:
        self.trust = trust
        self.revoked = revoked
        self.expected_querent = expected_querent

    def check(self, case: ShareCase) -> None:
        case.claims = verify_grant(
            case.token,
            trust=self.trust,
            now=case.now,
            expected_querent=self.expected_querent,
            revoked=self.revoked(),
        )
        case.terms = case.claims
        case.jti = case.claims.jti

    def refused_as(self, exc: XinanError) -> str:
        return type(exc).__name__


class IssuedHere(Named):
    """The grant is one this vault's security administrator issued (its token on record)."""

    name = "grant-issued-here"

    def __init__(self, matches: Callable[[str, str], bool]) -> None:
        self.matches = matches

    def check(self, case: ShareCase) -> None:
        c = _claims(case)
        if not self.matches(c.jti, case.token):
            raise AccessDenied(
                f"grant {c.jti} was not issued by this vault",
                rule=self.name,
                hint="shares are built only for grants the vault's sec-admin issued",
            )


class SignedByPlatformKey(Named):
    name = "platform-key"

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id

    def check(self, case: ShareCase) -> None:
        if _claims(case).kid != self.key_id:
            raise AccessDenied("grant signed by another platform key", rule=self.name)


class UnderPolicy(Named):
    name = "policy"

    def __init__(self, label: str) -> None:
        self.label = label

    def check(self, case: ShareCase) -> None:
        c = _claims(case)
        if c.policy != self.label:
            raise AccessDenied(f"grant is for policy {c.policy}, the vault {self.label}")


class InForce(ByError):
    """Release time (§8.1): the grant as the vault recorded it is not revoked, expired or
    early — checked again now, since the share may be days old."""

    def __init__(self, revoked: Callable[[], Collection[str]]) -> None:
        self.revoked = revoked

    def check(self, case: ShareCase) -> None:
        t = case.terms
        if t is None:  # pragma: no cover - release fills the terms from the vault
            raise AccessDenied("no grant terms")
        jti = case.jti
        if case.revoked_at is not None or jti in self.revoked():
            raise GrantRevoked(
                f"grant {jti} has been revoked",
                jti=jti,
                hint="a revoked grant releases nothing; the querent needs a new grant",
            )
        if case.now >= t.expires:
            raise GrantExpired(
                f"grant {jti} expired at {t.expires.strftime('%Y-%m-%dT%H:%M:%SZ')}",
                jti=jti,
                hint="an expired grant releases nothing; the querent needs a new grant",
            )
        if case.now < t.not_before:
            raise GrantNotYetValid(
                f"grant {jti} is not valid before {t.not_before.strftime('%Y-%m-%dT%H:%M:%SZ')}",
                jti=jti,
            )


# -- the querent -----------------------------------------------------------------------------------
class QuerentKnown(Named):
    """The grant's querent is in the trust store."""

    name = "querent-known"

    def __init__(self, trust: Keyring) -> None:
        self.trust = trust

    def check(self, case: ShareCase) -> None:
        t = case.terms
        if t is None:  # pragma: no cover
            raise KeyringError("no grant terms")
        case.querent = self.trust.get_public(t.querent)


class ToAQuerent(Named):
    """The key the grant names has the querent role (and is the key named, not a namesake)."""

    name = "grant-to-querent"

    def check(self, case: ShareCase) -> None:
        q = _querent(case)
        t = case.terms
        if q.role is not Role.QUERENT or (t is not None and q.key_id != t.querent):
            raise AccessDenied(f"{q.id} is not a querent key")


class BoundToQuerentKey(ByError):
    """The grant's ``cnf`` binds it to the querent's key (docs/grant.md §4)."""

    def check(self, case: ShareCase) -> None:
        _claims(case).check_querent(_querent(case))


class WithinConsent(ByError):
    """The grant stays within the subject's consent now: not revoked, not expired, no wider
    in querent, purpose, fields, subjects or time (征信业管理条例 第十八条)."""

    def __init__(self, consent_of: Callable[[str], Consent]) -> None:
        self.consent_of = consent_of

    def check(self, case: ShareCase) -> None:
        t = case.terms
        if t is None:  # pragma: no cover
            raise AccessDenied("no grant terms")
        check_within_consent(t, self.consent_of(t.consent_id), now=case.now)
