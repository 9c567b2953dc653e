"""The international suites ``intl`` and ``pq`` (software, on pyca/cryptography).

``intl``: AES-256-GCM; HPKE (RFC 9180) base mode DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
AES-256-GCM; Ed25519 (RFC 8032); SHA-256; HMAC-SHA256; HKDF-SHA256 (RFC 5869).
``pq``: the same, with the HPKE KEM MLKEM768_X25519 (hybrid post-quantum, as implemented by
cryptography's ``hpke.KEM.MLKEM768_X25519``).

wrap: cryptography's public HPKE API takes ``info`` but no AEAD associated data, so the
caller's ``info`` and ``aad`` are both bound through the HPKE ``info`` (key schedule context,
RFC 9180 §5.1): ``info' = "xinan-wrap/1" || lp(info) || lp(aad)``, the AEAD aad is empty. A
change to either changes the derived key, so the open fails exactly as an aad mismatch would
(docs/adr/0002-crypto-suites.md). Another HPKE implementation opens a xinan wrap by
building the same ``info'``.

hazmat (explicit nonces, no compliance check): obtain the suites through
:func:`xinan.crypto.get_suite`. Owns the primitives for these suites; it does not own key
files (:mod:`xinan.keys`).
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from xinan.crypto.base import Aead, Hasher, PrivateKey, SuiteName
from xinan.crypto.hazmat._soft import SoftPrivateKey, lp, own_key
from xinan.errors import IntegrityError, KeyringError

_WRAP_LABEL = b"xinan-wrap/1"
_hmac_digest = hmac.digest  # the stdlib one-shot HMAC: the fast path (no object per call)
_SHA256 = hashes.SHA256()

# Raw encodings (what key files and packages carry).
ED25519_PUB_LEN = 32
X25519_PUB_LEN = 32
MLKEM768_PUB_LEN = 1184
MLKEM768_SEED_LEN = 64  # FIPS 203 (d || z) seed form of the private key
PQ_KEM_PUB_LEN = MLKEM768_PUB_LEN + X25519_PUB_LEN  # ML-KEM-768 encapsulation key || X25519


class AesGcm:
    """AES-256-GCM bound to one key; the AESGCM object (key schedule) is reused per call.

    ``seal`` is the AESGCM object's own bound method: no Python frame between the caller
    and OpenSSL on the hot path.
    """

    __slots__ = ("_c", "seal")

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("AES-256-GCM needs a 32-byte key")
        self._c = AESGCM(key)
        self.seal = self._c.encrypt

    def open(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        try:
            return self._c.decrypt(nonce, ciphertext, aad)
        except (InvalidTag, ValueError):
            raise IntegrityError("AEAD tag did not verify") from None

    def __repr__(self) -> str:
        return "<Aead aes-256-gcm>"


class _CryptoHasher:
    __slots__ = ("_h",)

    def __init__(self, algorithm: hashes.HashAlgorithm) -> None:
        self._h = hashes.Hash(algorithm)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._h.update(data)

    def finalize(self) -> bytes:
        return self._h.finalize()


class IntlSuite:
    """``intl``: see the module docstring. Stateless and thread-safe."""

    name: SuiteName = SuiteName.INTL
    hash_name = "sha256"
    aead_name = "aes-256-gcm"
    kem_name = "hpke-x25519-hkdf-sha256-aes256gcm"
    sig_name = "ed25519"
    key_len = 32
    nonce_len = 12
    digest_len = 32
    _hpke = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)

    def __repr__(self) -> str:
        return f"<CryptoSuite {self.name.value}>"

    # -- symmetric -----------------------------------------------------------------------
    def digest(self, data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    def hasher(self) -> Hasher:
        return _CryptoHasher(hashes.SHA256())

    def mac(self, key: bytes, data: bytes) -> bytes:
        return _hmac_digest(key, data, "sha256")

    def kdf(self, key: bytes, info: bytes, length: int, salt: bytes = b"") -> bytes:
        # cryptography's HKDF (Rust) beats an HKDF over hmac.digest here; the hash object is
        # shared (stateless). RFC 5869 §2.2: an empty salt means HashLen zeros (None).
        return HKDF(_SHA256, length, salt or None, info).derive(key)

    def aead(self, key: bytes) -> Aead:
        return AesGcm(key)

    def random(self, n: int) -> bytes:
        return os.urandom(n)

    # -- signatures: Ed25519 ---------------------------------------------------------------
    def generate_signing_key(self) -> PrivateKey:
        k = ed25519.Ed25519PrivateKey.generate()
        return SoftPrivateKey(self.name, "sign", k, k.public_key().public_bytes_raw())

    def sign(self, private: PrivateKey, message: bytes) -> bytes:
        key = own_key(private, self.name, "sign")
        sig: bytes = key.obj.sign(message)
        return sig

    def verify(self, public: bytes, message: bytes, signature: bytes) -> None:
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
        except (InvalidSignature, ValueError, TypeError):
            raise IntegrityError("signature did not verify") from None

    # -- KEM: HPKE -----------------------------------------------------------------------
    def generate_kem_key(self) -> PrivateKey:
        k = x25519.X25519PrivateKey.generate()
        return SoftPrivateKey(self.name, "kem", k, k.public_key().public_bytes_raw())

    def _kem_public(self, public: bytes) -> object:
        if len(public) != X25519_PUB_LEN:
            raise ValueError("bad X25519 public key length")
        return x25519.X25519PublicKey.from_public_bytes(public)

    def wrap(self, recipient_public: bytes, secret: bytes, info: bytes, aad: bytes) -> bytes:
        try:
            pub = self._kem_public(recipient_public)
        except ValueError:
            raise IntegrityError("recipient public key is malformed") from None
        out: bytes = self._hpke.encrypt(secret, pub, info=_WRAP_LABEL + lp(info) + lp(aad))  # type: ignore[arg-type]
        return out

    def unwrap(self, private: PrivateKey, wrapped: bytes, info: bytes, aad: bytes) -> bytes:
        key = own_key(private, self.name, "kem")
        try:
            out: bytes = self._hpke.decrypt(wrapped, key.obj, info=_WRAP_LABEL + lp(info) + lp(aad))
        except (InvalidTag, ValueError):
            raise IntegrityError("wrapped key did not open") from None
        return out

    # -- key handling ----------------------------------------------------------------------
    def check_public(self, purpose: str, public: bytes) -> None:
        try:
            if purpose == "sign":
                if len(public) != ED25519_PUB_LEN:
                    raise ValueError
                ed25519.Ed25519PublicKey.from_public_bytes(public)
            elif purpose == "kem":
                self._kem_public(public)
            else:
                raise ValueError
        except ValueError:
            raise KeyringError(f"malformed {self.name.value} {purpose} public key") from None

    def export_private(self, private: PrivateKey) -> bytes:
        key = own_key(private, self.name, private.purpose)
        if key.purpose == "sign":
            raw: bytes = key.obj.private_bytes_raw()
            return raw
        return self._export_kem(key)

    def _export_kem(self, key: SoftPrivateKey) -> bytes:
        raw: bytes = key.obj.private_bytes_raw()
        return raw

    def import_private(self, purpose: str, raw: bytes) -> PrivateKey:
        try:
            if purpose == "sign":
                if len(raw) != 32:
                    raise ValueError
                s = ed25519.Ed25519PrivateKey.from_private_bytes(raw)
                return SoftPrivateKey(self.name, "sign", s, s.public_key().public_bytes_raw())
            if purpose == "kem":
                return self._import_kem(raw)
        except ValueError:
            pass
        raise KeyringError(f"not a valid {self.name.value} {purpose} private key")

    def _import_kem(self, raw: bytes) -> PrivateKey:
        if len(raw) != 32:
            raise ValueError
        k = x25519.X25519PrivateKey.from_private_bytes(raw)
        return SoftPrivateKey(self.name, "kem", k, k.public_key().public_bytes_raw())

    # -- exports in standard encodings (for xinan keys export) -------------------------
    def public_pem(self, purpose: str, public: bytes) -> str:
        """SubjectPublicKeyInfo PEM (RFC 8410) of a public key."""
        self.check_public(purpose, public)
        obj: ed25519.Ed25519PublicKey | x25519.X25519PublicKey
        if purpose == "sign":
            obj = ed25519.Ed25519PublicKey.from_public_bytes(public)
        else:
            obj = x25519.X25519PublicKey.from_public_bytes(public)
        pem = obj.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem.decode("ascii")

    def jwk_curve(self, purpose: str) -> str:
        """The RFC 8037 ``crv`` of this suite's key for ``purpose`` (OKP keys)."""
        return "Ed25519" if purpose == "sign" else "X25519"


class PqSuite(IntlSuite):
    """``pq``: intl with the HPKE KEM MLKEM768_X25519 (hybrid: secure if either part is).

    KEM public key encoding: ML-KEM-768 encapsulation key (1184 bytes) || X25519 public key
    (32 bytes). Private: ML-KEM-768 seed (64 bytes, FIPS 203 d||z) || X25519 private (32).
    """

    name: SuiteName = SuiteName.PQ
    kem_name = "hpke-mlkem768x25519-hkdf-sha256-aes256gcm"
    _hpke = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)

    def generate_kem_key(self) -> PrivateKey:
        m = mlkem.MLKEM768PrivateKey.generate()
        x = x25519.X25519PrivateKey.generate()
        return self._kem_handle(m, x)

    def _kem_handle(self, m: mlkem.MLKEM768PrivateKey, x: x25519.X25519PrivateKey) -> PrivateKey:
        pub = m.public_key().public_bytes_raw() + x.public_key().public_bytes_raw()
        return SoftPrivateKey(self.name, "kem", (hpke.MLKEM768X25519PrivateKey(m, x), m, x), pub)

    def _kem_public(self, public: bytes) -> object:
        if len(public) != PQ_KEM_PUB_LEN:
            raise ValueError("bad ML-KEM-768+X25519 public key length")
        m = mlkem.MLKEM768PublicKey.from_public_bytes(public[:MLKEM768_PUB_LEN])
        x = x25519.X25519PublicKey.from_public_bytes(public[MLKEM768_PUB_LEN:])
        return hpke.MLKEM768X25519PublicKey(m, x)

    def unwrap(self, private: PrivateKey, wrapped: bytes, info: bytes, aad: bytes) -> bytes:
        key = own_key(private, self.name, "kem")
        try:
            out: bytes = self._hpke.decrypt(
                wrapped, key.obj[0], info=_WRAP_LABEL + lp(info) + lp(aad)
            )
        except (InvalidTag, ValueError):
            raise IntegrityError("wrapped key did not open") from None
        return out

    def _export_kem(self, key: SoftPrivateKey) -> bytes:
        _, m, x = key.obj
        raw: bytes = m.private_bytes_raw() + x.private_bytes_raw()
        return raw

    def _import_kem(self, raw: bytes) -> PrivateKey:
        if len(raw) != MLKEM768_SEED_LEN + 32:
            raise ValueError
        m = mlkem.MLKEM768PrivateKey.from_seed_bytes(raw[:MLKEM768_SEED_LEN])
        x = x25519.X25519PrivateKey.from_private_bytes(raw[MLKEM768_SEED_LEN:])
        return self._kem_handle(m, x)

    def public_pem(self, purpose: str, public: bytes) -> str:
        if purpose == "kem":
            raise KeyringError(
                "the pq KEM key (ML-KEM-768 + X25519 hybrid) has no standard PEM encoding",
                hint="export the signing key (--part sig), or hand out the .pub file",
            )
        return super().public_pem(purpose, public)

    def jwk_curve(self, purpose: str) -> str:
        if purpose == "kem":
            raise KeyringError(
                "the pq KEM key (ML-KEM-768 + X25519 hybrid) has no registered JWK form",
                hint="export the signing key (--part sig), or hand out the .pub file",
            )
        return "Ed25519"


__all__ = ["AesGcm", "IntlSuite", "PqSuite"]
