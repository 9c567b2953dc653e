"""Recipes: the small safe operations the rest of xinan calls instead of primitives.

A recipe picks its own nonces, takes its hash from the suite (SHA-256 in intl and pq, SM3 in
gm), raises the opaque :class:`~xinan.errors.IntegrityError` when something does not verify,
and has no knob that can make it unsafe. Under them is :mod:`xinan.crypto.hazmat`, which only
:mod:`xinan.crypto` imports (docs/crypto.md, "Layers").

* :class:`SecretWrapper` — wrap a short secret (a record key, a release secret) under a
  symmetric key: ``nonce ‖ AEAD(key, nonce, secret, aad)``, the nonce drawn here.
* :func:`digest`, :func:`hex_fingerprint` — the suite's hash of some bytes (policy
  fingerprints, grant-token hashes, key ids).
* :func:`hash_function`, :func:`hash_constructor` — a hash by name for the audit log, whose
  file says which hash it uses (RFC 9162 hashing is a hot path: no object per call).
* :func:`derive_passphrase_key` — the password KDFs of key files (Argon2id, PBKDF2-HMAC-SM3).
* :func:`sign_ed25519`, :func:`verify_ed25519` — the C2SP signed-note types that are Ed25519 by
  their spec (type 0x01 and cosignature/v1), whatever suite a deployment uses.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Mapping

from xinan.crypto.base import CryptoSuite, PrivateKey, SuiteName
from xinan.crypto.hazmat import primitives as _p
from xinan.crypto.suites import get_suite_unchecked
from xinan.errors import IntegrityError, KeyringError

NONCE_LEN = 12  # both suites' GCMs (base.CryptoSuite.nonce_len)
TAG_LEN = 16
_NONCE_BATCH = 1024  # nonces drawn from the CSPRNG per refill


class SecretWrapper:
    """Wraps short secrets under one symmetric key; draws a fresh random nonce per wrap.

    Output: ``nonce (12) ‖ ciphertext ‖ tag (16)`` with the suite's AEAD (AES-256-GCM or
    SM4-GCM). Random 96-bit nonces keep the GCM collision bound as long as one key wraps
    fewer than 2^32 secrets (NIST SP 800-38D §8.3); the vault wraps one per record.

    Nonces are drawn from the suite's CSPRNG 1,024 at a time (one ``os.urandom`` call costs
    about as much as one seal) and handed out with ``list.pop``, which is atomic: threads that
    share a wrapper never get the same nonce. A forked child forgets the nonces it inherited
    (``os.register_at_fork``), so parent and child never hand out the same one. The key
    schedule is done once, here.
    """

    __slots__ = ("__weakref__", "_aead", "_nonces", "_random", "_seal")

    def __init__(self, suite: CryptoSuite, key: bytes) -> None:
        if len(key) != suite.key_len or suite.nonce_len != NONCE_LEN:
            raise KeyringError(f"a {suite.name.value} wrapping key is {suite.key_len} bytes")
        self._aead = suite.aead(key)
        self._seal = self._aead.seal  # bound once: wrap is per record on ingest
        self._random = suite.random
        self._nonces: list[bytes] = []
        _WRAPPERS.add(self)

    def __repr__(self) -> str:
        return "<SecretWrapper>"  # never the key

    def _refill(self) -> bytes:
        pool = self._random(NONCE_LEN * _NONCE_BATCH)
        fresh = [pool[i : i + NONCE_LEN] for i in range(0, len(pool), NONCE_LEN)]
        nonce = fresh.pop()
        self._nonces = fresh
        return nonce

    def wrap(self, secret: bytes, aad: bytes) -> bytes:
        """``nonce ‖ AEAD.seal(nonce, secret, aad)`` under a nonce never handed out before."""
        try:
            nonce = self._nonces.pop()  # atomic: one nonce, one caller
        except IndexError:
            nonce = self._refill()
        return nonce + self._seal(nonce, secret, aad)

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        """The secret inside ``wrapped``; IntegrityError if anything differs (key, aad, bytes)."""
        if len(wrapped) < NONCE_LEN + TAG_LEN:
            raise IntegrityError("wrapped secret did not open")
        return self._aead.open(wrapped[:NONCE_LEN], wrapped[NONCE_LEN:], aad)


_WRAPPERS: weakref.WeakSet[SecretWrapper] = weakref.WeakSet()


def _forget_inherited_nonces() -> None:
    for w in list(_WRAPPERS):
        w._nonces = []


os.register_at_fork(after_in_child=_forget_inherited_nonces)


# -- digests ---------------------------------------------------------------------------------
def digest(suite: CryptoSuite, data: bytes) -> bytes:
    """The suite's hash of ``data`` (SHA-256, or SM3 in gm)."""
    return suite.digest(data)


def hex_fingerprint(hash_name: str, data: bytes) -> str:
    """Lower-case hex of hash ``hash_name`` ("sha256" or "sm3") over ``data``.

    For fingerprints whose artifact names its hash (a vault's policy binding, an old grant
    row); new artifacts take the hash from their suite (``suite.hash_name``).
    """
    return hash_function(hash_name)(data).hex()


HASH_NAMES = _p.HASH_NAMES  # the hashes known by name: "sha256", "sm3"


def hash_function(name: str) -> Callable[[bytes], bytes]:
    """The one-shot digest of hash ``name`` ("sha256" or "sm3"); KeyError if unknown."""
    return _p.digest_function(name)


def hash_constructor(name: str) -> Callable[[bytes], _p.HashObject]:
    """``new(data).digest()`` of hash ``name``: for comprehensions over many short inputs (the
    audit log's leaf and node hashes), where a Python frame per call would cost ~15 %."""
    return _p.hash_constructor(name)


HASH_FOR_SUITE: Mapping[SuiteName, str] = {
    SuiteName.INTL: "sha256",
    SuiteName.PQ: "sha256",
    SuiteName.GM: "sm3",
}


# -- password KDFs (key files, docs/keys.md §4) ------------------------------------------------
PASSPHRASE_KDFS = ("argon2id", "pbkdf2-hmac-sm3")


def passphrase_kdf_for(suite: SuiteName) -> str:
    """The KDF a new key file of ``suite`` uses: PBKDF2-HMAC-SM3 for gm (national algorithms
    only, docs/adr/0004), Argon2id otherwise."""
    return "pbkdf2-hmac-sm3" if suite is SuiteName.GM else "argon2id"


def derive_passphrase_key(
    name: str, passphrase: bytes, salt: bytes, length: int, params: Mapping[str, int]
) -> bytes:
    """The key that KDF ``name`` derives from ``passphrase``; the caller (the key file reader)
    has bounded ``params``: Argon2id ``m_kib``, ``t``, ``p``; PBKDF2-HMAC-SM3 ``iterations``."""
    if name == "argon2id":
        return _p.argon2id(
            passphrase, salt, length, m_kib=params["m_kib"], t=params["t"], p=params["p"]
        )
    if name == "pbkdf2-hmac-sm3":
        return _p.pbkdf2_hmac_sm3(passphrase, salt, length, iterations=params["iterations"])
    raise KeyringError(f"unknown passphrase KDF {name!r}")


# -- Ed25519 for signed notes ------------------------------------------------------------------
def _ed25519() -> CryptoSuite:
    # C2SP signed-note type 0x01 and tlog-cosignature/v1 are Ed25519 by their specs, whatever
    # suite the deployment uses; which keys a note must carry is decided by the verifier keys
    # the auditor passes, so no compliance check applies here (docs/audit-log.md §4.1).
    return get_suite_unchecked(SuiteName.INTL)


def ed25519_key_from_seed(seed: bytes) -> PrivateKey:
    """An Ed25519 signing key handle from its 32-byte seed (RFC 8032 §5.1.5)."""
    return _ed25519().import_private("sign", seed)


def sign_ed25519(key: PrivateKey, message: bytes) -> bytes:
    """An Ed25519 signature by ``key`` (an intl or pq signing key handle)."""
    # unchecked: the handle's own suite signs (it refuses keys of another suite); signed-note
    # type 0x01 and cosignature/v1 are Ed25519 by their specs, see _ed25519 above
    return get_suite_unchecked(key.suite).sign(key, message)


def verify_ed25519(public: bytes, message: bytes, signature: bytes) -> None:
    """Raise IntegrityError unless ``signature`` is ``public``'s Ed25519 signature of
    ``message``."""
    _ed25519().verify(public, message, signature)


__all__ = [
    "HASH_FOR_SUITE",
    "HASH_NAMES",
    "NONCE_LEN",
    "PASSPHRASE_KDFS",
    "SecretWrapper",
    "derive_passphrase_key",
    "digest",
    "ed25519_key_from_seed",
    "hash_constructor",
    "hash_function",
    "hex_fingerprint",
    "passphrase_kdf_for",
    "sign_ed25519",
    "verify_ed25519",
]
