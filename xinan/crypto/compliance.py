"""The compliance mode: which crypto suites may be used at all.

``gm-only`` (GB/T 39786-2021 deployments whose assessor requires the national algorithms)
allows the ``gm`` suite (SM2/SM3/SM4) and refuses every other suite wherever a suite is
obtained: :func:`xinan.crypto.get_suite`, loading a key file, verifying a signature. ``any``
(the default) allows every suite.

The mode is an explicit parameter wherever it matters; when the parameter is ``None`` it is
read from the environment variable ``XINAN_COMPLIANCE`` (a deployment setting, like a config
file), else ``any``. The one way round the check is :func:`xinan.crypto.get_suite_unchecked`,
named so; a library module never passes ``compliance_mode="any"``
(tests/crypto/test_crypto_fence.py). This module owns the rule; it does not own where suites
come from.
"""

from __future__ import annotations

import os
from enum import StrEnum

from xinan.crypto.base import SuiteName
from xinan.errors import ComplianceError, UsageError

ENV_VAR = "XINAN_COMPLIANCE"


class Compliance(StrEnum):
    ANY = "any"
    GM_ONLY = "gm-only"


# What each suite uses, named the way an assessor reads them (for refusals and docs).
ALGORITHMS: dict[SuiteName, str] = {
    SuiteName.INTL: "AES-256-GCM, HPKE X25519/HKDF-SHA256, Ed25519, SHA-256, HMAC-SHA256",
    SuiteName.PQ: "AES-256-GCM, HPKE ML-KEM-768+X25519/HKDF-SHA256, Ed25519, SHA-256",
    SuiteName.GM: "SM4-GCM, SM2 encryption, SM2 signature, SM3, HMAC-SM3",
}

_ALLOWED: dict[Compliance, frozenset[SuiteName]] = {
    Compliance.ANY: frozenset(SuiteName),
    Compliance.GM_ONLY: frozenset({SuiteName.GM}),
}


def active(mode: str | Compliance | None = None) -> Compliance:
    """The mode in force: ``mode`` if given, else ``$XINAN_COMPLIANCE``, else ``any``."""
    raw = mode if mode is not None else os.environ.get(ENV_VAR) or Compliance.ANY
    try:
        return Compliance(str(raw).strip().lower())
    except ValueError:
        source = "compliance mode" if mode is not None else f"${ENV_VAR}"
        raise UsageError(
            f"unknown {source} {str(raw)!r}",
            hint=f"use one of: {', '.join(c.value for c in Compliance)}",
        ) from None


def allowed_suites(mode: str | Compliance | None = None) -> frozenset[SuiteName]:
    return _ALLOWED[active(mode)]


def require(suite: SuiteName, mode: str | Compliance | None = None, *, what: str = "") -> None:
    """Raise ComplianceError unless ``suite`` is allowed under the active mode.

    ``what`` names the object that wanted the suite (e.g. "key amr-zaozhuang") for the message.
    """
    m = active(mode)
    if suite in _ALLOWED[m]:
        return
    subject = f"{what}: " if what else ""
    raise ComplianceError(
        f"{subject}suite {suite.value!r} ({ALGORITHMS[suite]}) is not allowed "
        f"under compliance mode {m.value!r}",
        rule=f"compliance:{m.value}",
        hint="use a gm key/suite (SM2/SM3/SM4), or run without the gm-only setting "
        f"(--compliance / ${ENV_VAR})",
    )
