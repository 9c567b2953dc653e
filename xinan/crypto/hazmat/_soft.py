"""Pieces shared by the software suites: the private key handle and framing.

hazmat: owns nothing a caller outside :mod:`xinan.crypto` should import.
"""

from __future__ import annotations

import struct
from typing import Any, NoReturn

from xinan.crypto.base import SuiteName
from xinan.crypto.hazmat.primitives import sha256, sm3
from xinan.errors import KeyringError

PURPOSES = ("sign", "kem")


class SoftPrivateKey:
    """A software private key held in memory.

    ``repr``/``str`` show the suite, the purpose and a short fingerprint of the public key,
    never the key. Pickling and copying are refused so that key material cannot leave by
    accident (``pickle`` into a cache, ``copy.deepcopy`` into a log record).
    """

    __slots__ = ("_obj", "_public", "_purpose", "_suite")

    def __init__(self, suite: SuiteName, purpose: str, obj: Any, public: bytes) -> None:
        if purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {PURPOSES}")
        self._suite = suite
        self._purpose = purpose
        self._obj = obj  # a cryptography key object, or the raw SM2 scalar bytes
        self._public = public

    @property
    def suite(self) -> SuiteName:
        return self._suite

    @property
    def purpose(self) -> str:
        return self._purpose

    def public_bytes(self) -> bytes:
        return self._public

    @property
    def obj(self) -> Any:
        """The primitive behind the handle; for the suite modules only."""
        return self._obj

    def __repr__(self) -> str:
        # the suite's own hash (SM3 in gm): a gm deployment computes no SHA-256 (GB/T 39786)
        fp = (sm3 if self._suite is SuiteName.GM else sha256)(self._public).hex()[:12]
        return f"<PrivateKey {self._suite.value} {self._purpose} pub:{fp}>"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("private keys cannot be pickled or copied")

    def __copy__(self) -> NoReturn:
        raise TypeError("private keys cannot be pickled or copied")

    def __deepcopy__(self, memo: object) -> NoReturn:
        raise TypeError("private keys cannot be pickled or copied")


def own_key(key: object, suite: SuiteName, purpose: str) -> SoftPrivateKey:
    """Check that ``key`` is a software key of this suite and purpose (mixed suites refused)."""
    if not isinstance(key, SoftPrivateKey):
        raise KeyringError("this suite works with its own software keys only")
    if key.suite is not suite or key.purpose != purpose:
        raise KeyringError(
            f"a {key.suite.value} {key.purpose} key cannot be used for {suite.value} {purpose}",
            hint="use a key generated for this suite and purpose",
        )
    return key


def lp(data: bytes) -> bytes:
    """Length-prefixed framing (u32 big endian || data): unambiguous concatenation."""
    return struct.pack(">I", len(data)) + data
