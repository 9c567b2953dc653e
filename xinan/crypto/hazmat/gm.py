"""The 国密 suite ``gm`` (software): SM4-GCM, SM2 encryption and signatures, SM3, HMAC-SM3.

hazmat (explicit nonces, no compliance check): obtain it through :func:`xinan.crypto.get_suite`.

* SM4-GCM (RFC 8998 §2.1): cryptography's ``algorithms.SM4`` in ``modes.GCM``, 16-byte tag.
* SM3 (GB/T 32905-2016), HMAC-SM3 (RFC 2104 over SM3) and HKDF-SM3 (RFC 5869 over HMAC-SM3):
  cryptography's ``hashes.SM3``.
* SM2 (GB/T 32918-2016) on the recommended curve: gmalg (pure Python). Signatures use the
  default distinguishing identifier ``1234567812345678`` (GB/T 35276-2017 §10 / GM/T 0009)
  and are encoded as r || s, 32 bytes each. Encryption uses the C1 || C3 || C2 order
  (GB/T 32918.4-2016), C1 uncompressed (04 || x || y). Nonces (the SM2 k) come from
  ``secrets.randbits`` — passed explicitly, not left to gmalg's default — so a CSPRNG is
  guaranteed; tests inject a fixed k through the module-level helpers only.

wrap (SM2 encryption has no associated data): draw a fresh 16-byte key-encryption key (KEK),
SM2-encrypt it to the recipient, then SM4-GCM the secret under the KEK with associated data
``"xinan-sm2-wrap/1" || lp(info) || lp(aad) || lp(recipient public) || lp(SM2 ciphertext)``.
The KEK is used for exactly one message, so the GCM nonce is fixed (12 zero bytes). Output:
SM2 ciphertext (65 + 32 + 16 = 113 bytes) || SM4-GCM ciphertext || tag.

Known limit: gmalg's scalar multiplication is not constant time; production deployments use a
certified module (GB/T 39786-2021) through the CryptoSuite protocol (docs/adr/0002).
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable

import gmalg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as chmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from gmalg.errors import GMError

from xinan.crypto.base import Aead, Hasher, PrivateKey, SuiteName
from xinan.crypto.hazmat._soft import SoftPrivateKey, lp, own_key
from xinan.crypto.hazmat.primitives import sm3
from xinan.errors import IntegrityError, KeyringError

# GB/T 32918.5-2017: the recommended curve (sm2p256v1).
SM2_P = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFF
SM2_N = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_7203DF6B_21C6052B_53BBF409_39D54123
SM2_A = SM2_P - 3
SM2_B = 0x28E9FA9E_9D9F5E34_4D5A9E4B_CF6509A7_F39789F5_15AB8F92_DDBCBD41_4D940E93
DEFAULT_UID = b"1234567812345678"  # GB/T 35276-2017 §10: default user identity
SM2_PUB_LEN = 65
SM2_SIG_LEN = 64
TAG_LEN = 16
KEK_LEN = 16
_WRAP_LABEL = b"xinan-sm2-wrap/1"
_WRAP_NONCE = bytes(12)  # the KEK is fresh per wrap: one message per key, so a fixed nonce
_SM2_CT_LEN = SM2_PUB_LEN + 32 + KEK_LEN  # C1 || C3 || C2 for a 16-byte KEK

RandBits = Callable[[int], int]


def _inverse_in_c() -> None:
    """Make gmalg's field inversion CPython's ``pow(x, -1, p)``, computed in C.

    gmalg inverts a field element with an extended Euclid loop written in Python
    (``gmalg.primefield.PrimeField.inv``). Its scalar multiplication works in affine
    coordinates, so every point addition pays one inversion. That loop is a quarter to a
    third of an SM2 signature, verification or key derivation; with ``pow`` each runs
    1.3–1.6× faster (``bench/sm2.py``). For every x > 0 that is not a multiple of p, both
    give the one inverse. For the other inputs gmalg's own loop still runs: it returns
    something that is no inverse, and that answer is kept unchanged.
    ``tests/crypto/test_gm_inverse.py`` compares the two on random values and on the edge
    cases. Neither version is constant time (the module's known limit, above)."""
    from gmalg.primefield import PrimeField

    original = PrimeField.inv
    if getattr(original, "xinan_original", None) is not None:
        return  # already replaced (a reload of this module)

    def inv(self: PrimeField, x: int) -> int:
        p: int = self.p
        if x <= 0 or x % p == 0:
            return int(original(self, x))
        return pow(x, -1, p)

    inv.xinan_original = original  # type: ignore[attr-defined]
    PrimeField.inv = inv


_inverse_in_c()


class Sm4Gcm:
    """SM4-GCM bound to one key. The SM4 key object is built once; GCM needs a context per
    nonce, so each call builds one (cryptography has no one-shot SM4-GCM)."""

    __slots__ = ("_alg",)

    def __init__(self, key: bytes) -> None:
        if len(key) != 16:
            raise ValueError("SM4 needs a 16-byte key")
        self._alg = algorithms.SM4(key)

    def seal(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        enc = Cipher(self._alg, modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        ct = enc.update(plaintext) + enc.finalize()
        return ct + enc.tag

    def open(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        if len(ciphertext) < TAG_LEN:
            raise IntegrityError("AEAD tag did not verify")
        try:
            dec = Cipher(self._alg, modes.GCM(nonce, ciphertext[-TAG_LEN:])).decryptor()
            dec.authenticate_additional_data(aad)
            pt = dec.update(ciphertext[:-TAG_LEN])
            return pt + dec.finalize()  # finalize raises before any plaintext leaves
        except (InvalidTag, ValueError):
            raise IntegrityError("AEAD tag did not verify") from None

    def __repr__(self) -> str:
        return "<Aead sm4-gcm>"


class _Sm3Hasher:
    __slots__ = ("_h",)

    def __init__(self) -> None:
        self._h = hashes.Hash(hashes.SM3())

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._h.update(data)

    def finalize(self) -> bytes:
        return self._h.finalize()


# -- SM2 helpers (module level so that the KATs can fix k; the suite always passes a CSPRNG) --
def _fixed32(b: bytes) -> bytes:
    return b.rjust(32, b"\x00")


def is_valid_sm2_public(public: bytes) -> bool:
    """Uncompressed point 04 || x || y with x, y < p, on the curve. The cofactor is 1
    (GB/T 32918.5), so every affine point on the curve is in the prime-order group."""
    if len(public) != SM2_PUB_LEN or public[0] != 0x04:
        return False
    x = int.from_bytes(public[1:33], "big")
    y = int.from_bytes(public[33:], "big")
    if x >= SM2_P or y >= SM2_P:
        return False
    return (y * y - (x * x * x + SM2_A * x + SM2_B)) % SM2_P == 0


def sm2_public_from_private(d: bytes) -> bytes:
    pub: bytes = gmalg.SM2().generate_pk(d)
    return pub


def sm2_sign(d: bytes, public: bytes, message: bytes, randbits: RandBits) -> bytes:
    """SM2 signature (GB/T 32918.2 §6.1) with the default uid; r || s, 64 bytes."""
    r, s = gmalg.SM2(sk=d, uid=DEFAULT_UID, pk=public, rnd_fn=randbits).sign(message)
    return _fixed32(r) + _fixed32(s)


def sm2_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(signature) != SM2_SIG_LEN or not is_valid_sm2_public(public):
        return False
    try:
        ok: bool = gmalg.SM2(pk=public, uid=DEFAULT_UID).verify(
            message, signature[:32], signature[32:]
        )
    except (GMError, ValueError, TypeError):
        return False
    return ok


def sm2_encrypt(public: bytes, plaintext: bytes, randbits: RandBits) -> bytes:
    """SM2 public-key encryption (GB/T 32918.4 §6.1), output C1 || C3 || C2."""
    ct: bytes = gmalg.SM2(pk=public, rnd_fn=randbits).encrypt(plaintext)
    return ct


def sm2_decrypt(d: bytes, ciphertext: bytes) -> bytes:
    """Inverse of sm2_encrypt; IntegrityError on any failure (C1 off-curve, C3 mismatch …)."""
    if len(ciphertext) < SM2_PUB_LEN + 32 + 1 or ciphertext[0] != 0x04:
        raise IntegrityError("SM2 ciphertext did not decrypt")
    try:
        pt: bytes = gmalg.SM2(sk=d).decrypt(ciphertext)
    except (GMError, ValueError, TypeError, IndexError):
        raise IntegrityError("SM2 ciphertext did not decrypt") from None
    return pt


_SM3 = hashes.SM3()


def _hmac_sm3(key: bytes, data: bytes) -> bytes:
    h = chmac.HMAC(key, _SM3)
    h.update(data)
    return h.finalize()


class GmSuite:
    """``gm``: see the module docstring. Stateless and thread-safe."""

    name: SuiteName = SuiteName.GM
    hash_name = "sm3"
    aead_name = "sm4-gcm"
    kem_name = "sm2-enc"
    sig_name = "sm2-sign"
    key_len = 16
    nonce_len = 12
    digest_len = 32

    def __repr__(self) -> str:
        return f"<CryptoSuite {self.name.value}>"

    # -- symmetric -----------------------------------------------------------------------
    # hazmat.primitives.sm3 itself (no frame in between): hashlib's one C call where OpenSSL
    # has SM3, about half the cost of a cryptography Hash object per sealed value; the KAT
    # pins both paths.
    digest = staticmethod(sm3)

    def hasher(self) -> Hasher:
        return _Sm3Hasher()

    def mac(self, key: bytes, data: bytes) -> bytes:
        return _hmac_sm3(key, data)

    def kdf(self, key: bytes, info: bytes, length: int, salt: bytes = b"") -> bytes:
        return HKDF(_SM3, length, salt or None, info).derive(key)

    def aead(self, key: bytes) -> Aead:
        return Sm4Gcm(key)

    def random(self, n: int) -> bytes:
        return os.urandom(n)

    # -- keys ----------------------------------------------------------------------------
    def _generate(self, purpose: str) -> PrivateKey:
        # GB/T 32918.1 §6.1: d uniformly in [1, n-2]
        d = (secrets.randbelow(SM2_N - 2) + 1).to_bytes(32, "big")
        return SoftPrivateKey(self.name, purpose, d, sm2_public_from_private(d))

    def generate_signing_key(self) -> PrivateKey:
        return self._generate("sign")

    def generate_kem_key(self) -> PrivateKey:
        return self._generate("kem")

    def check_public(self, purpose: str, public: bytes) -> None:
        if purpose not in ("sign", "kem") or not is_valid_sm2_public(public):
            raise KeyringError(f"malformed gm {purpose} public key (SM2 point)")

    def export_private(self, private: PrivateKey) -> bytes:
        key = own_key(private, self.name, private.purpose)
        d: bytes = key.obj
        return d

    def import_private(self, purpose: str, raw: bytes) -> PrivateKey:
        if purpose not in ("sign", "kem") or len(raw) != 32:
            raise KeyringError(f"not a valid gm {purpose} private key")
        d = int.from_bytes(raw, "big")
        if not 1 <= d <= SM2_N - 2:
            raise KeyringError(f"not a valid gm {purpose} private key")
        return SoftPrivateKey(self.name, purpose, bytes(raw), sm2_public_from_private(raw))

    # -- signatures ----------------------------------------------------------------------
    def sign(self, private: PrivateKey, message: bytes) -> bytes:
        key = own_key(private, self.name, "sign")
        return sm2_sign(key.obj, key.public_bytes(), message, secrets.randbits)

    def verify(self, public: bytes, message: bytes, signature: bytes) -> None:
        if not sm2_verify(public, message, signature):
            raise IntegrityError("signature did not verify")

    # -- wrap ----------------------------------------------------------------------------
    @staticmethod
    def _wrap_aad(info: bytes, aad: bytes, recipient: bytes, sm2_ct: bytes) -> bytes:
        return _WRAP_LABEL + lp(info) + lp(aad) + lp(recipient) + lp(sm2_ct)

    def wrap(self, recipient_public: bytes, secret: bytes, info: bytes, aad: bytes) -> bytes:
        if not is_valid_sm2_public(recipient_public):
            raise IntegrityError("recipient public key is malformed")
        kek = os.urandom(KEK_LEN)
        sm2_ct = sm2_encrypt(recipient_public, kek, secrets.randbits)
        body = Sm4Gcm(kek).seal(
            _WRAP_NONCE, secret, self._wrap_aad(info, aad, recipient_public, sm2_ct)
        )
        return sm2_ct + body

    def unwrap(self, private: PrivateKey, wrapped: bytes, info: bytes, aad: bytes) -> bytes:
        key = own_key(private, self.name, "kem")
        if len(wrapped) < _SM2_CT_LEN + TAG_LEN:
            raise IntegrityError("wrapped key did not open")
        sm2_ct, body = wrapped[:_SM2_CT_LEN], wrapped[_SM2_CT_LEN:]
        kek = sm2_decrypt(key.obj, sm2_ct)
        return Sm4Gcm(kek).open(
            _WRAP_NONCE, body, self._wrap_aad(info, aad, key.public_bytes(), sm2_ct)
        )

    # -- exports -------------------------------------------------------------------------
    def public_pem(self, purpose: str, public: bytes) -> str:
        """SubjectPublicKeyInfo PEM: id-ecPublicKey with the SM2 curve OID 1.2.156.10197.1.301
        (GB/T 35276-2017 / RFC 8998 §2.3: the form OpenSSL and Tongsuo read)."""
        self.check_public(purpose, public)
        der = _SM2_SPKI_PREFIX + public
        b64 = base64.b64encode(der).decode("ascii")
        lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
        return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"

    def jwk_curve(self, purpose: str) -> str:
        raise KeyringError(
            "SM2 keys have no registered JWK curve (RFC 7518/8037 list none)",
            hint="use --format pem (SubjectPublicKeyInfo with the SM2 OID)",
        )


# SEQUENCE { SEQUENCE { OID id-ecPublicKey 1.2.840.10045.2.1, OID sm2 1.2.156.10197.1.301 },
#            BIT STRING (0 unused bits) 04 || x || y }
_SM2_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")


__all__ = ["GmSuite", "Sm4Gcm", "sm2_decrypt", "sm2_encrypt", "sm2_sign", "sm2_verify"]
