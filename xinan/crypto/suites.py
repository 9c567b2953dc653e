"""The suite registry: ``get_suite(name)`` → the one instance of that suite, after the
compliance check. Owns the name → implementation table; a certified module registers here
(see docs/crypto.md, "plugging in a module")."""

from __future__ import annotations

from xinan.crypto import compliance
from xinan.crypto.base import CryptoSuite, SuiteName
from xinan.crypto.hazmat.gm import GmSuite
from xinan.crypto.hazmat.intl import IntlSuite, PqSuite
from xinan.errors import UsageError

_SUITES: dict[SuiteName, CryptoSuite] = {
    SuiteName.INTL: IntlSuite(),
    SuiteName.PQ: PqSuite(),
    SuiteName.GM: GmSuite(),
}


def suite_names() -> list[str]:
    return [s.value for s in SuiteName]


def parse_suite_name(name: str | SuiteName) -> SuiteName:
    try:
        return SuiteName(str(name).strip().lower())
    except ValueError:
        raise UsageError(
            f"unknown crypto suite {str(name)!r}", hint=f"use one of: {', '.join(suite_names())}"
        ) from None


def get_suite(
    name: str | SuiteName,
    *,
    compliance_mode: str | compliance.Compliance | None = None,
    what: str = "",
) -> CryptoSuite:
    """The suite called ``name``; ComplianceError if the compliance mode forbids it.

    ``compliance_mode`` None means ``$XINAN_COMPLIANCE``, else ``any``. ``what`` names the
    object that wants the suite (e.g. "key amr-zaozhuang") in the refusal.
    """
    sn = parse_suite_name(name)
    compliance.require(sn, compliance_mode, what=what)
    return _SUITES[sn]


def get_suite_unchecked(name: str | SuiteName) -> CryptoSuite:
    """The suite called ``name`` WITHOUT the compliance check (STYLE.md: a way round a check
    says so in its name).

    Only for a caller whose suite has already passed :func:`get_suite` or
    :func:`xinan.crypto.compliance.require` under the mode in force (a key the keyring loaded
    under its mode), or whose algorithm a published spec fixes whatever the deployment (the
    Ed25519 of C2SP signed notes). Every call site says which, in a comment; a test keeps
    ``compliance_mode="any"`` literals out of the library (tests/crypto/test_crypto_fence.py).
    """
    return _SUITES[parse_suite_name(name)]


def register(suite: CryptoSuite) -> None:
    """Replace the implementation of a suite (a certified hardware module, a test double)."""
    _SUITES[suite.name] = suite
