"""信安 xinan: privacy-preserving exchange of public credit data.

The public surface, by who uses it (docs/api.md has a runnable example for each party):

* everyone — :class:`Keyring` (keys and the trust store), :func:`init_audit_log` and
  :func:`bootstrap` (the keyring's roster of who may act, administrators' tokens in a
  :class:`TokenDir`), :func:`load_policy` / :class:`Policy`, and the error tree rooted at
  :class:`XinanError`;
* the provider — :class:`Provider` (``scan``, ``mask``, ``seal``);
* the platform — :func:`create_vault`, :class:`Platform` opened with a
  :class:`PlatformContext` (ingest, views, consents, grants, shares, releases, disclosure,
  objections, repair, destruction), :class:`Desk` (verify a package, open a submission);
* the querent — :class:`Querent` (``open_share``);
* the auditor — :class:`Auditor` (the subject access report), :func:`verify_log`,
  :func:`verify_certificate`;
* data helpers — :class:`View` and :class:`MaskContext` (one audience's view of a record),
  :func:`find_identifiers`, :func:`is_valid_resident_id`, :func:`is_valid_uscc`.

Every party object checks the actor's role, logs a refusal before raising it, and appends its
audit entry before the effect: a program gets the guarantees a CLI user gets. Lower layers
(``xinan.crypto``, ``xinan.platform.store``) are for the library itself, not for callers.

Names are imported on first use, so ``import xinan`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name → the module that defines it
_EXPORTS = {
    "XinanError": "xinan.errors",
    "AccessDenied": "xinan.errors",
    "IntegrityError": "xinan.errors",
    "VerificationError": "xinan.errors",
    "UsageError": "xinan.errors",
    "Keyring": "xinan.keys",
    "Role": "xinan.keys",
    "Policy": "xinan.policy.catalogue",
    "load_policy": "xinan.policy.catalogue",
    "init_audit_log": "xinan.access",
    "bootstrap": "xinan.key_management",
    "TokenDir": "xinan.authn",
    "Provider": "xinan.provider.service",
    "create_vault": "xinan.platform.service",
    "Platform": "xinan.platform",
    "PlatformContext": "xinan.platform.service",
    "Desk": "xinan.platform.submissions",
    "Querent": "xinan.querent.service",
    "Auditor": "xinan.auditor.service",
    "verify_log": "xinan.audit.verify",
    "verify_certificate": "xinan.platform.destruction",
    "View": "xinan.masking",
    "MaskContext": "xinan.masking",
    "find_identifiers": "xinan.identifiers",
    "is_valid_resident_id": "xinan.identifiers",
    "is_valid_uscc": "xinan.identifiers",
}

__all__ = [
    "AccessDenied",
    "Auditor",
    "Desk",
    "IntegrityError",
    "Keyring",
    "MaskContext",
    "Platform",
    "PlatformContext",
    "Policy",
    "Provider",
    "Querent",
    "Role",
    "TokenDir",
    "UsageError",
    "VerificationError",
    "View",
    "XinanError",
    "__version__",
    "bootstrap",
    "create_vault",
    "find_identifiers",
    "init_audit_log",
    "is_valid_resident_id",
    "is_valid_uscc",
    "load_policy",
    "verify_certificate",
    "verify_log",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'xinan' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # next time without this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from xinan.access import init_audit_log
    from xinan.audit.verify import verify_log
    from xinan.auditor.service import Auditor
    from xinan.authn import TokenDir
    from xinan.errors import (
        AccessDenied,
        IntegrityError,
        UsageError,
        VerificationError,
        XinanError,
    )
    from xinan.identifiers import find_identifiers, is_valid_resident_id, is_valid_uscc
    from xinan.key_management import bootstrap
    from xinan.keys import Keyring, Role
    from xinan.masking import MaskContext, View
    from xinan.platform import Platform
    from xinan.platform.destruction import verify_certificate
    from xinan.platform.service import PlatformContext, create_vault
    from xinan.platform.submissions import Desk
    from xinan.policy.catalogue import Policy, load_policy
    from xinan.provider.service import Provider
    from xinan.querent.service import Querent
