"""Crypto: the only package that touches primitives, in two layers (docs/crypto.md, "Layers").

* Here: :func:`get_suite` gives a :class:`~xinan.crypto.base.CryptoSuite` by name after the
  compliance check (:mod:`xinan.crypto.compliance`); :mod:`xinan.crypto.recipes` holds the
  small safe operations (wrap a secret choosing its own nonce, digests and fingerprints by the
  suite's hash, password KDFs, Ed25519 for signed notes).
* :mod:`xinan.crypto.hazmat`: the suites' implementations (``intl`` and ``pq`` in
  :mod:`~xinan.crypto.hazmat.intl`, ``gm`` in :mod:`~xinan.crypto.hazmat.gm`) and the only
  imports of cryptography, gmalg, hashlib and hmac. Nothing outside this package imports it.
"""

from __future__ import annotations

from xinan.crypto.base import Aead, CryptoSuite, Hasher, PrivateKey, SuiteName
from xinan.crypto.compliance import Compliance
from xinan.crypto.suites import get_suite, get_suite_unchecked, suite_names

__all__ = [
    "Aead",
    "Compliance",
    "CryptoSuite",
    "Hasher",
    "PrivateKey",
    "SuiteName",
    "get_suite",
    "get_suite_unchecked",
    "suite_names",
]
