"""Crypto: the only package that touches primitives.

Use :func:`get_suite` to obtain a :class:`~xinan.crypto.base.CryptoSuite` by name; it applies
the compliance mode (:mod:`xinan.crypto.compliance`). Suites: ``intl`` and ``pq``
(:mod:`xinan.crypto.intl`), ``gm`` (:mod:`xinan.crypto.gm`).
"""

from __future__ import annotations

from xinan.crypto.base import Aead, CryptoSuite, Hasher, PrivateKey, SuiteName
from xinan.crypto.compliance import Compliance
from xinan.crypto.suites import get_suite, suite_names

__all__ = [
    "Aead",
    "Compliance",
    "CryptoSuite",
    "Hasher",
    "PrivateKey",
    "SuiteName",
    "get_suite",
    "suite_names",
]
