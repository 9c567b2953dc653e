"""The key file format ``xinan-key/1`` (docs/keys.md §1–§4): bytes ⇄ checked models.

Owns the members and their order (§2), key ids (§3), the passphrase policy for new keys and
encryption at rest (§4: the KDF named in the file, the suite's AEAD). No paths, no keyring:
:mod:`xinan.keys` reads and writes the files and re-exports the public names of this module.
"""

from __future__ import annotations

import base64
import re
import struct
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from xinan._codec import b64decode, canonical_json, loads_strict, pretty_json
from xinan.crypto import CryptoSuite, SuiteName, get_suite
from xinan.crypto.compliance import Compliance
from xinan.crypto.recipes import derive_passphrase_key, passphrase_kdf_for
from xinan.errors import IntegrityError, KeyringError, UsageError, WrongPassphrase

FORMAT = "xinan-key/1"
PAIR_PREFIX = "xk1"
SECRET_PREFIX = "xs1"  # noqa: S105 - a key id prefix, not a password
SECRET_LEN = 32
_ID_RE = re.compile(r"\A[a-z0-9][a-z0-9._-]{0,63}\Z")
_KEY_ID_RE = re.compile(r"\Ax[ks]1[a-z2-7]{24}\Z")
_TIME_FMT = "%Y-%m-%dT%H:%M:%SZ"
MAX_FILE_BYTES = 64 * 1024


class Role(StrEnum):
    PROVIDER = "provider"
    PLATFORM = "platform"
    QUERENT = "querent"
    AUDITOR = "auditor"
    SYS_ADMIN = "sys-admin"
    SEC_ADMIN = "sec-admin"
    AUDIT_ADMIN = "audit-admin"
    WITNESS = "witness"
    PSEUDONYM = "pseudonym"  # a secret (symmetric) key, not a key pair


SECRET_ROLES = frozenset({Role.PSEUDONYM})


PBKDF2_MIN_ITERATIONS = 1_000  # RFC 8018 §4.2's floor; a reader refuses fewer
PBKDF2_MAX_ITERATIONS = 10_000_000  # so that a hostile file cannot make unlocking take minutes


@dataclass(frozen=True)
class KdfParams:
    """Passphrase KDF parameters (docs/keys.md §4, docs/adr/0004).

    Argon2id (RFC 9106; intl and pq key files): ``m_kib``, ``t``, ``p``, default the §4
    second recommended option. PBKDF2-HMAC-SM3 (GM/T 0091-2020; gm key files):
    ``iterations``, default 600,000 (≈0.6 s here, the OWASP count for PBKDF2-HMAC-SHA256).
    """

    m_kib: int = 65536
    t: int = 3
    p: int = 4
    iterations: int = 600_000

    def check(self) -> None:
        if not (1 <= self.p <= 16 and 8 * self.p <= self.m_kib <= 4 * 1024 * 1024):
            raise KeyringError("Argon2id parameters out of range (memory or lanes)")
        if not 1 <= self.t <= 16:
            raise KeyringError("Argon2id parameters out of range (iterations)")
        if not PBKDF2_MIN_ITERATIONS <= self.iterations <= PBKDF2_MAX_ITERATIONS:
            raise KeyringError("PBKDF2-HMAC-SM3 iteration count out of range")


# -- models ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PublicKeyInfo:
    """The public part of an identity, as in its ``.pub`` file (all of it is public)."""

    id: str
    key_id: str
    role: Role
    suite: SuiteName
    created: datetime
    sig: bytes = field(repr=False)
    kem: bytes = field(repr=False)


@dataclass(frozen=True)
class SecretKeyInfo:
    id: str
    key_id: str
    role: Role
    suite: SuiteName
    created: datetime


@dataclass(frozen=True)
class KeyEntry:
    """One line of ``keys list``."""

    id: str
    key_id: str
    kind: str  # "private" (own key pair), "public" (trust store), "secret"
    role: str
    suite: str
    created: str


# -- §2 encoding -----------------------------------------------------------------------------
def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _unb64(s: object, what: str, where: str) -> bytes:
    if not isinstance(s, str):
        raise KeyringError(f"{where}: {what} is not a base64 string")
    try:
        return b64decode(s)  # §2: canonical only, so one key has one file and one key id
    except ValueError:
        raise KeyringError(f"{where}: {what} is not valid base64") from None


def _encode(doc: dict[str, Any]) -> bytes:
    return pretty_json(doc)  # §2


def _compact(doc: dict[str, Any]) -> bytes:
    return canonical_json(doc)  # §3, §4: "compact canonical JSON" is RFC 8785


_MEMBERS = {
    "public": ["format", "kind", "id", "key_id", "role", "suite", "created", "sig", "kem"],
    "private": [
        "format",
        "kind",
        "id",
        "key_id",
        "role",
        "suite",
        "created",
        "sig",
        "kem",
        "kdf",
        "cipher",
        "nonce",
        "sealed",
    ],
    "secret": [
        "format",
        "kind",
        "id",
        "key_id",
        "role",
        "suite",
        "created",
        "kdf",
        "cipher",
        "nonce",
        "sealed",
    ],
}
# the members of each passphrase KDF (docs/keys.md §2.1), in order
_KDF_MEMBERS = {
    "argon2id": ["name", "m_kib", "t", "p", "salt"],
    "pbkdf2-hmac-sm3": ["name", "iterations", "salt"],
}


def _parse(data: bytes, where: str) -> dict[str, Any]:
    """Parse and check a key file's structure (§2); not yet its key id or keys."""
    if len(data) > MAX_FILE_BYTES:
        raise KeyringError(f"{where}: not a key file (too large)")
    try:
        doc = loads_strict(data)
    except ValueError as e:  # MalformedJSON: not UTF-8, not JSON, a repeat, a lone surrogate
        raise KeyringError(
            f"{where}: not a key file or damaged (invalid JSON: {e})",
            hint='a key file is JSON starting with "format": "xinan-key/1"',
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise KeyringError(
            f"{where}: not a {FORMAT} key file", hint="check the file; only xinan-key/1 is read"
        )
    kind = doc.get("kind")
    if kind not in _MEMBERS or list(doc) != _MEMBERS[kind]:
        raise KeyringError(f"{where}: damaged key file (members differ from {FORMAT})")
    if _encode(doc) != data:
        raise KeyringError(
            f"{where}: damaged key file (not in canonical form: edited by hand?)",
            hint="get a fresh copy of the file from its holder",
        )
    for name in ("id", "key_id", "role", "suite", "created"):
        if not isinstance(doc[name], str):
            raise KeyringError(f"{where}: damaged key file ({name})")
    if "kdf" in doc:
        kdf = doc["kdf"]
        if not isinstance(kdf, dict) or not isinstance(kdf.get("name"), str):
            raise KeyringError(f"{where}: damaged key file (kdf)")
        if kdf["name"] not in _KDF_MEMBERS:
            raise KeyringError(
                f"{where}: unknown passphrase KDF {kdf['name']!r}",
                hint="the file may come from a newer xinan; known: " + ", ".join(_KDF_MEMBERS),
            )
        if list(kdf) != _KDF_MEMBERS[kdf["name"]]:
            raise KeyringError(f"{where}: damaged key file (kdf)")
    return doc


def _check_id(key_name: str) -> None:
    if not _ID_RE.match(key_name) or _KEY_ID_RE.match(key_name):
        raise UsageError(
            f"invalid key id name {key_name!r}",
            hint="use 1-64 characters a-z 0-9 . _ - starting with a letter or digit, "
            "e.g. amr-zaozhuang",
        )


def _parse_common(doc: dict[str, Any], where: str) -> tuple[Role, SuiteName, datetime]:
    try:
        role = Role(doc["role"])
        suite = SuiteName(doc["suite"])
        created = datetime.strptime(doc["created"], _TIME_FMT).replace(tzinfo=UTC)
    except ValueError:
        raise KeyringError(f"{where}: damaged key file (role, suite or created)") from None
    if not _ID_RE.match(doc["id"]):
        raise KeyringError(f"{where}: damaged key file (id)")
    if (role in SECRET_ROLES) != (doc["kind"] == "secret"):
        raise KeyringError(f"{where}: role {role.value!r} does not fit a {doc['kind']} key")
    return role, suite, created


# -- §3 key ids ------------------------------------------------------------------------------
def _b32(b: bytes) -> str:
    return base64.b32encode(b[:15]).decode("ascii").lower()


def pair_key_id(suite: CryptoSuite, doc: dict[str, Any]) -> str:
    covered = {k: doc[k] for k in ("created", "format", "id", "kem", "role", "sig", "suite")}
    return PAIR_PREFIX + _b32(suite.digest(_compact(covered)))


def secret_key_id(suite: CryptoSuite, key: bytes) -> str:
    return SECRET_PREFIX + _b32(suite.mac(key, b"xinan key id/1"))


def _public_info(doc: dict[str, Any], where: str, mode: str | Compliance | None) -> PublicKeyInfo:
    role, suite_name, created = _parse_common(doc, where)
    suite = get_suite(suite_name, compliance_mode=mode, what=f"key {doc['id']}")
    sig = _unb64(doc["sig"], "sig", where)
    kem = _unb64(doc["kem"], "kem", where)
    if pair_key_id(suite, doc) != doc["key_id"]:
        raise KeyringError(
            f"{where}: key id does not match the file's contents (altered or damaged)",
            hint="get a fresh copy and compare its key id with the holder out of band",
        )
    suite.check_public("sign", sig)
    suite.check_public("kem", kem)
    return PublicKeyInfo(doc["id"], doc["key_id"], role, suite_name, created, sig, kem)


# -- §4 encryption at rest ---------------------------------------------------------------------
MIN_PASSPHRASE_CHARS = 12
# zxcvbn's score (0-4) of the guesses an attacker needs; 3 = "safely unguessable: moderate
# protection from an offline slow-hash attack" (Wheeler, USENIX Security 2016), which is what a
# key file under Argon2id faces once stolen. Twelve spaces score 0.
MIN_PASSPHRASE_SCORE = 3


def check_new_passphrase(passphrase: str, *, user_inputs: tuple[str, ...] = ()) -> None:
    """GB/T 22239-2019 8.1.4.1 a): passwords of sufficient complexity. A new passphrase (new key,
    passphrase change) has at least 12 characters *and* a zxcvbn score of at least 3, so that
    length made of repeats, keyboard walks, common words or the key's own name does not pass.
    ``user_inputs`` are words the estimator treats as known (the key id, its role). Keys made
    before keep unlocking as they are."""
    text = unicodedata.normalize("NFC", passphrase)
    if len(text) < MIN_PASSPHRASE_CHARS:
        raise UsageError(
            f"a new key's passphrase needs at least {MIN_PASSPHRASE_CHARS} characters",
            hint="use a few unrelated words, e.g. from a diceware list",
        )
    from zxcvbn import zxcvbn

    # the estimator's matchers grow faster than linearly with length; 100 characters is plenty
    verdict = zxcvbn(text[:100], user_inputs=list(user_inputs))
    score = int(verdict["score"])
    if score < MIN_PASSPHRASE_SCORE:
        warning = str(verdict["feedback"].get("warning") or "too easy to guess")
        raise UsageError(
            f"this passphrase is too easy to guess ({warning.rstrip('.')}; strength {score}/4, "
            f"needs {MIN_PASSPHRASE_SCORE})",
            hint="use four or more unrelated words, e.g. from a diceware list; avoid repeats, "
            "keyboard patterns, common words and the key's own name",
        )


def _passphrase_bytes(passphrase: str) -> bytes:
    if not passphrase:
        raise UsageError("empty passphrase", hint="choose a passphrase (or set XINAN_PASSPHRASE)")
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def _kdf_doc(name: str, params: KdfParams, salt: bytes) -> dict[str, Any]:
    if name == "pbkdf2-hmac-sm3":
        return {"name": name, "iterations": params.iterations, "salt": _b64(salt)}
    return {
        "name": "argon2id",
        "m_kib": params.m_kib,
        "t": params.t,
        "p": params.p,
        "salt": _b64(salt),
    }


def _derive(passphrase: str, kdf: dict[str, Any], length: int, where: str) -> bytes:
    # _parse checked the members for kdf["name"]; every member but name and salt is a number
    numbers = {k: v for k, v in kdf.items() if k not in ("name", "salt")}
    if not all(type(v) is int for v in numbers.values()):
        raise KeyringError(f"{where}: damaged key file (kdf)")
    KdfParams(**numbers).check()  # bound every parameter before deriving (§4)
    salt = _unb64(kdf["salt"], "kdf salt", where)
    if not 16 <= len(salt) <= 64:
        raise KeyringError(f"{where}: damaged key file (kdf salt)")
    return derive_passphrase_key(kdf["name"], _passphrase_bytes(passphrase), salt, length, numbers)


def _seal_doc(
    doc: dict[str, Any], suite: CryptoSuite, passphrase: str, material: bytes, params: KdfParams
) -> None:
    params.check()
    salt = suite.random(16)
    # gm key files: PBKDF2-HMAC-SM3, so that a gm key uses national algorithms only
    # (GB/T 39786-2021 §5, docs/adr/0004); Argon2id otherwise
    doc["kdf"] = _kdf_doc(passphrase_kdf_for(suite.name), params, salt)
    doc["cipher"] = suite.aead_name
    doc["nonce"] = _b64(suite.random(suite.nonce_len))
    k = _derive(passphrase, doc["kdf"], suite.key_len, "new key")
    doc["sealed"] = _b64(
        suite.aead(k).seal(_unb64(doc["nonce"], "nonce", ""), material, _compact(doc))
    )


def _open_doc(doc: dict[str, Any], suite: CryptoSuite, passphrase: str, where: str) -> bytes:
    if doc["cipher"] != suite.aead_name:
        raise KeyringError(
            f"{where}: cipher {doc['cipher']!r} does not match suite {suite.name.value}"
        )
    header = {k: v for k, v in doc.items() if k != "sealed"}
    nonce = _unb64(doc["nonce"], "nonce", where)
    sealed = _unb64(doc["sealed"], "sealed", where)
    k = _derive(passphrase, doc["kdf"], suite.key_len, where)
    try:
        return suite.aead(k).open(nonce, sealed, _compact(header))
    except IntegrityError:
        raise WrongPassphrase(
            f"{where}: cannot unlock key {doc['id']}: wrong passphrase, or the file was altered",
            hint="check the passphrase (prompt or XINAN_PASSPHRASE); if it is right, restore "
            "the key file from backup",
        ) from None


def _pack(sig_priv: bytes, kem_priv: bytes) -> bytes:
    return struct.pack(">H", len(sig_priv)) + sig_priv + struct.pack(">H", len(kem_priv)) + kem_priv


def _unpack(material: bytes, where: str) -> tuple[bytes, bytes]:
    try:
        (n,) = struct.unpack(">H", material[:2])
        sig = material[2 : 2 + n]
        (m,) = struct.unpack(">H", material[2 + n : 4 + n])
        kem = material[4 + n : 4 + n + m]
    except struct.error:
        raise KeyringError(f"{where}: damaged private key material") from None
    if len(sig) != n or len(kem) != m or 4 + n + m != len(material):
        raise KeyringError(f"{where}: damaged private key material")
    return sig, kem


def _now_text(now: datetime) -> str:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC).strftime(_TIME_FMT)
