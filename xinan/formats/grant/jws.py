"""The JWS layer (docs/grant.md §3): keys as pyjwt algorithms pinned per suite, registered on a
private PyJWS instance, and the querent's key binding (cnf).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt.algorithms import Algorithm
from jwt.exceptions import InvalidKeyError

from xinan._codec import canonical_json
from xinan.crypto import CryptoSuite, PrivateKey, SuiteName
from xinan.crypto.recipes import hash_function
from xinan.errors import (  # re-exported: the classes live in xinan.errors
    IntegrityError,
    KeyringError,
)
from xinan.formats.grant.model import ALG_EDDSA, ALG_SM2, _b64u
from xinan.keys import PublicKeyInfo


# ============================================================================================
# §3 The pinned algorithms, as pyjwt algorithms that call the crypto suite
# ============================================================================================
@dataclass(frozen=True)
class VerifyingKey:
    """A public signing key with the suite that checks it (for :class:`SuiteAlgorithm`)."""

    suite: CryptoSuite
    public: bytes = field(repr=False)


@dataclass(frozen=True)
class SigningKey:
    """A private signing key handle with its suite (never key bytes)."""

    suite: CryptoSuite
    private: PrivateKey


_ALG_FOR_SIG = {"ed25519": ALG_EDDSA, "sm2-sign": ALG_SM2}
_SIG_LEN = 64  # Ed25519 (RFC 8032) and SM2 r ‖ s (spec §3.1) alike


class SuiteAlgorithm(Algorithm):
    """A JWS algorithm whose signatures are made and checked by a :class:`CryptoSuite`.

    ``EdDSA`` (Ed25519) for the intl and pq suites, ``XINAN-SM2-SM3`` for gm. Keys are
    :class:`SigningKey` / :class:`VerifyingKey`; a key of another suite's algorithm is refused,
    so one algorithm never verifies with another's key.
    """

    def __init__(self, name: str, sig_name: str) -> None:
        self.name = name
        self.sig_name = sig_name

    def prepare_key(self, key: Any) -> Any:
        if isinstance(key, SigningKey | VerifyingKey) and key.suite.sig_name == self.sig_name:
            return key
        raise InvalidKeyError(f"not a {self.name} key of a xinan crypto suite")

    def sign(self, msg: bytes, key: Any) -> bytes:
        if not isinstance(key, SigningKey):
            raise InvalidKeyError("signing needs a private key handle")
        return key.suite.sign(key.private, msg)

    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        if not isinstance(key, VerifyingKey) or len(sig) != _SIG_LEN:
            return False
        try:
            key.suite.verify(key.public, msg, sig)
        except IntegrityError:
            return False
        return True

    @staticmethod
    def to_jwk(key_obj: Any, as_dict: bool = False) -> Any:
        raise InvalidKeyError("export keys with `xinan keys export --format jwk`")

    @staticmethod
    def from_jwk(jwk: Any) -> Any:
        raise InvalidKeyError("xinan keys come from key files, not JWKs")


def _make_jws() -> jwt.PyJWS:
    # algorithms=[]: pyjwt's defaults (none, HS*, RS*, …) are removed; only ours exist here.
    jws = jwt.PyJWS(algorithms=[])
    jws.register_algorithm(ALG_EDDSA, SuiteAlgorithm(ALG_EDDSA, "ed25519"))
    jws.register_algorithm(ALG_SM2, SuiteAlgorithm(ALG_SM2, "sm2-sign"))
    return jws


_JWS = _make_jws()


def pinned_algorithm(suite: CryptoSuite) -> str:
    """The one JWS algorithm a platform key of this suite signs grants with (spec §3)."""
    try:
        return _ALG_FOR_SIG[suite.sig_name]
    except KeyError:
        raise KeyringError(f"suite {suite.name.value} has no grant algorithm") from None


# ============================================================================================
# §4.1 Key binding
# ============================================================================================
# The thumbprint hash is the querent suite's (spec §4.1), fixed by the cnf member's name:
# SHA-256 for jkt (RFC 7638/9449) and xinan-jkt-pq, SM3 for xinan-jkt-sm3.
_SHA256 = hash_function("sha256")
_SM3 = hash_function("sm3")


def _thumbprint_input(members: dict[str, str]) -> bytes:
    # RFC 7638 §3.3: required members only, sorted, no white space, UTF-8 (for these ASCII
    # member names JCS order is that order)
    return canonical_json(members)


def querent_binding(querent: PublicKeyInfo) -> tuple[str, str]:
    """The ``cnf`` member and value that bind a grant to ``querent``'s KEM key (spec §4.1)."""
    kem = querent.kem
    if querent.suite is SuiteName.INTL:
        jwk = {"crv": "X25519", "kty": "OKP", "x": _b64u(kem)}  # RFC 8037 §2
        return "jkt", _b64u(_SHA256(_thumbprint_input(jwk)))  # RFC 7638 §3.1: SHA-256
    if querent.suite is SuiteName.PQ:
        jwk = {"alg": "MLKEM768-X25519", "kty": "AKP", "pub": _b64u(kem)}
        return "xinan-jkt-pq", _b64u(_SHA256(_thumbprint_input(jwk)))
    if len(kem) != 65 or kem[0] != 0x04:
        raise KeyringError(f"querent {querent.id}: KEM key is not an uncompressed SM2 point")
    jwk = {"crv": "SM2", "kty": "EC", "x": _b64u(kem[1:33]), "y": _b64u(kem[33:])}
    return "xinan-jkt-sm3", _b64u(_SM3(_thumbprint_input(jwk)))  # gm: SM3 (spec §4.1)
