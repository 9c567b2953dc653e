"""Hashes by name, HMAC and the password KDFs: plain functions over hashlib and cryptography.

hazmat (see the package docstring): callers outside :mod:`xinan.crypto` use
:mod:`xinan.crypto.recipes`. The hash functions here are the hot paths of the audit log
(RFC 9162 leaf and node hashes, one per line) and of fingerprints, so they are the cheapest
form each library offers: ``hashlib`` one-shot constructors (OpenSSL, one C call) where
hashlib has the hash, cryptography's ``Hash`` object otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import partial
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

HASH_NAMES = ("sha256", "sm3")
HASHLIB_HAS_SM3 = "sm3" in hashlib.algorithms_available
_SM3 = hashes.SM3()


class HashObject(Protocol):
    def digest(self) -> bytes: ...


class _CryptoSm3:
    """The hashlib shape (``digest()``) over cryptography's SM3, for OpenSSLs without hashlib
    SM3. Only used when :data:`HASHLIB_HAS_SM3` is false."""

    __slots__ = ("_d",)

    def __init__(self, data: bytes = b"") -> None:
        h = hashes.Hash(_SM3)
        h.update(data)
        self._d = h.finalize()

    def digest(self) -> bytes:
        return self._d


def sha256(data: bytes) -> bytes:
    """SHA-256 (FIPS 180-4) of ``data``."""
    return hashlib.sha256(data).digest()


if HASHLIB_HAS_SM3:

    def sm3(data: bytes) -> bytes:
        """SM3 (GB/T 32905-2016) of ``data``: hashlib reaches OpenSSL's SM3 in one C call,
        about half the cost of a cryptography Hash object (the KAT pins both paths)."""
        return hashlib.new("sm3", data).digest()

    _sm3_new: Callable[[bytes], HashObject] = partial(hashlib.new, "sm3")
else:  # pragma: no cover - OpenSSL builds without SM3 in hashlib

    def sm3(data: bytes) -> bytes:
        """SM3 (GB/T 32905-2016) of ``data`` through cryptography."""
        h = hashes.Hash(_SM3)
        h.update(data)
        return h.finalize()

    _sm3_new = _CryptoSm3


def sm3_cryptography(data: bytes) -> bytes:
    """SM3 through cryptography's Hash object (the second path the KAT checks)."""
    h = hashes.Hash(_SM3)
    h.update(data)
    return h.finalize()


_DIGESTS: dict[str, Callable[[bytes], bytes]] = {"sha256": sha256, "sm3": sm3}
_CONSTRUCTORS: dict[str, Callable[[bytes], HashObject]] = {
    "sha256": hashlib.sha256,
    "sm3": _sm3_new,
}


def digest_function(name: str) -> Callable[[bytes], bytes]:
    """The one-shot digest function of hash ``name`` ("sha256" or "sm3"); KeyError if unknown."""
    return _DIGESTS[name]


def hash_constructor(name: str) -> Callable[[bytes], HashObject]:
    """``new(data).digest()`` for hash ``name``: the form for tight comprehensions, with no
    Python frame per call for either hash when hashlib has SM3; KeyError if unknown."""
    return _CONSTRUCTORS[name]


hmac_digest = hmac.digest  # the stdlib one-shot HMAC (RFC 2104): no object per call
compare_digest = hmac.compare_digest  # constant time equality of MACs and digests


def argon2id(secret: bytes, salt: bytes, length: int, *, m_kib: int, t: int, p: int) -> bytes:
    """Argon2id (RFC 9106); the caller bounds the parameters."""
    return Argon2id(salt=salt, length=length, iterations=t, lanes=p, memory_cost=m_kib).derive(
        secret
    )


def pbkdf2_hmac_sm3(secret: bytes, salt: bytes, length: int, *, iterations: int) -> bytes:
    """PBKDF2 (RFC 8018 §5.2) with HMAC-SM3 as the PRF, the construction of GM/T 0091-2020 §6;
    the caller bounds the iteration count."""
    return PBKDF2HMAC(_SM3, length, salt, iterations).derive(secret)


__all__ = [
    "HASHLIB_HAS_SM3",
    "HASH_NAMES",
    "argon2id",
    "compare_digest",
    "digest_function",
    "hash_constructor",
    "hmac_digest",
    "pbkdf2_hmac_sm3",
    "sha256",
    "sm3",
    "sm3_cryptography",
]
