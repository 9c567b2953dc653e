"""The crypto provider protocol: the one seam between xinan and its primitives.

Everything above this package (keys, packages, the audit log, grants) asks a
:class:`CryptoSuite` for what it needs and never imports a primitive itself. A certified
hardware module (GB/T 39786-2021 level 3 wants one in production) plugs in by implementing
this protocol; the software suites in :mod:`xinan.crypto.hazmat.intl` (``intl``, ``pq``) and
:mod:`xinan.crypto.hazmat.gm` (``gm``) are the reference, and :func:`xinan.crypto.get_suite` is the
one way to obtain a suite (it enforces the compliance mode, :mod:`xinan.crypto.compliance`).

Contract (the same contract test runs against every implementation):

* Symmetric work is cheap and per record/field; asymmetric work (``wrap``/``unwrap``,
  ``sign``/``verify``) is expensive and happens once per package, grant or checkpoint.
* Failures of ``Aead.open``, ``unwrap`` and ``verify`` raise the opaque
  :class:`xinan.errors.IntegrityError` and nothing else; they never return a bool.
* Private keys are opaque :class:`PrivateKey` handles. Their ``repr`` shows the suite, the
  purpose and a short fingerprint of the *public* key only, never the key.
* Public keys travel as bytes in the suite's raw encoding (``check_public`` says which);
  ``verify``/``wrap`` reject malformed public keys with the same opaque IntegrityError.
* ``export_private``/``import_private`` exist so that :mod:`xinan.keys` can store software keys
  encrypted at rest; a hardware module raises :class:`xinan.errors.KeyringError` from
  ``export_private`` (its keys never leave it) and resolves its own handles instead.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol, runtime_checkable


class SuiteName(StrEnum):
    """The crypto suites. ``gm`` is the 国密 suite (SM2/SM3/SM4)."""

    INTL = "intl"  # AES-256-GCM, HPKE X25519/HKDF-SHA256/AES-256-GCM, Ed25519, SHA-256
    PQ = "pq"  # as intl, HPKE KEM = MLKEM768_X25519 (hybrid post-quantum)
    GM = "gm"  # SM4-GCM, SM2 encryption + signatures, SM3, HMAC-SM3


class Aead(Protocol):
    """An AEAD bound to one key (the key schedule is done once, then reused per value)."""

    def seal(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """Return ciphertext || tag."""
        ...

    def open(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """Return the plaintext or raise IntegrityError."""
        ...


class Hasher(Protocol):
    """Incremental hash (SHA-256 or SM3)."""

    def update(self, data: bytes | bytearray | memoryview) -> None: ...

    def finalize(self) -> bytes: ...


@runtime_checkable
class PrivateKey(Protocol):
    """An opaque private key handle (software bytes, or a reference into an HSM)."""

    @property
    def suite(self) -> SuiteName: ...

    @property
    def purpose(self) -> str:
        """'sign' or 'kem' (decryption/unwrapping)."""
        ...

    def public_bytes(self) -> bytes: ...


class CryptoSuite(Protocol):
    """One suite of algorithms. Implementations are stateless and thread-safe."""

    name: SuiteName
    hash_name: str  # "sha256" | "sm3"
    aead_name: str  # "aes-256-gcm" | "sm4-gcm"
    kem_name: str  # "hpke-x25519-hkdf-sha256-aes256gcm" | "hpke-mlkem768x25519-…" | "sm2-enc"
    sig_name: str  # "ed25519" | "sm2-sign"
    key_len: int  # AEAD key length in bytes: 32 (AES-256) or 16 (SM4)
    nonce_len: int  # 12 for both GCMs
    digest_len: int  # 32 for SHA-256 and SM3

    # -- symmetric, cheap ------------------------------------------------------------
    def digest(self, data: bytes) -> bytes: ...

    def hasher(self) -> Hasher: ...

    def mac(self, key: bytes, data: bytes) -> bytes:
        """HMAC-SHA256 / HMAC-SM3."""
        ...

    def kdf(self, key: bytes, info: bytes, length: int, salt: bytes = b"") -> bytes:
        """HKDF (RFC 5869) with the suite's hash."""
        ...

    def aead(self, key: bytes) -> Aead: ...

    def random(self, n: int) -> bytes:
        """Cryptographically secure random bytes (os.urandom in software)."""
        ...

    # -- asymmetric, once per package / grant / checkpoint ---------------------------
    def generate_kem_key(self) -> PrivateKey: ...

    def generate_signing_key(self) -> PrivateKey: ...

    def wrap(self, recipient_public: bytes, secret: bytes, info: bytes, aad: bytes) -> bytes:
        """Encrypt a short secret (a package key) to one recipient. HPKE base mode single-shot
        in intl/pq; SM2 encryption (+ SM4-GCM for the aad binding) in gm."""
        ...

    def unwrap(self, private: PrivateKey, wrapped: bytes, info: bytes, aad: bytes) -> bytes:
        """Inverse of wrap; raises IntegrityError."""
        ...

    def sign(self, private: PrivateKey, message: bytes) -> bytes: ...

    def verify(self, public: bytes, message: bytes, signature: bytes) -> None:
        """Raise IntegrityError unless signature is valid for message under public."""
        ...

    # -- key handling (added for xinan.keys; additive, nothing above changed) -----------
    def check_public(self, purpose: str, public: bytes) -> None:
        """Raise KeyringError unless ``public`` is a well-formed public key of this suite for
        ``purpose`` ('sign' or 'kem'): right length, on the curve, canonical encoding."""
        ...

    def export_private(self, private: PrivateKey) -> bytes:
        """The raw private key (for encryption at rest only). KeyringError if not exportable."""
        ...

    def import_private(self, purpose: str, raw: bytes) -> PrivateKey:
        """Inverse of export_private; KeyringError if ``raw`` is not a valid key."""
        ...
