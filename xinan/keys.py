"""Key files, the keyring and the trust store (format ``xinan-key/1``, docs/keys.md).

Sections follow the spec: §2 encoding (:func:`_encode`, :func:`_parse`), §3 key ids, §4
encryption at rest, §5 the keyring. Owns key files and where they live; it does not own the
primitives (:mod:`xinan.crypto`) nor passphrase prompts (the CLI passes the passphrase in).
"""

from __future__ import annotations

import base64
import json
import re
import struct
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from xinan._codec import b64decode, canonical_json, loads_strict, pretty_json
from xinan.crypto import CryptoSuite, PrivateKey, SuiteName, get_suite, get_suite_unchecked
from xinan.crypto.compliance import Compliance
from xinan.crypto.recipes import derive_passphrase_key, passphrase_kdf_for
from xinan.errors import IntegrityError, KeyringError, UsageError, WrongPassphrase
from xinan.fileio import protect, write_bytes_atomic
from xinan.process import disable_core_dumps

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


DEFAULT_KDF = KdfParams()


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


class Identity:
    """An unlocked key pair: private key handles, never key bytes, in its repr."""

    __slots__ = ("info", "kem", "signing", "suite")

    def __init__(self, info: PublicKeyInfo, signing: PrivateKey, kem: PrivateKey) -> None:
        self.info = info
        self.signing = signing
        self.kem = kem
        # unchecked: an Identity comes from Keyring.unlock, which checked the suite under the
        # keyring's compliance mode (_public_info) before decrypting anything
        self.suite: CryptoSuite = get_suite_unchecked(info.suite)

    @property
    def key_id(self) -> str:
        return self.info.key_id

    def sign(self, message: bytes) -> bytes:
        return self.suite.sign(self.signing, message)

    def unwrap(self, wrapped: bytes, info: bytes, aad: bytes) -> bytes:
        return self.suite.unwrap(self.kem, wrapped, info, aad)

    def __repr__(self) -> str:
        i = self.info
        return f"<Identity {i.id} {i.key_id} {i.role.value} {i.suite.value}>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("identities cannot be pickled or copied")


class SecretKey:
    """A symmetric key (e.g. the HMAC key of pseudonyms). ``repr`` shows the key id only;
    :meth:`material` hands out the bytes to the one caller that needs them."""

    __slots__ = ("_key", "_mac", "info")

    def __init__(self, info: SecretKeyInfo, key: bytes) -> None:
        self.info = info
        self._key = key
        # bound once: mac() runs per record in masking, so no suite lookup per call
        # unchecked: a SecretKey comes from Keyring.secret, which checked the suite under the
        # keyring's compliance mode before decrypting anything
        self._mac = get_suite_unchecked(info.suite).mac

    @property
    def key_id(self) -> str:
        return self.info.key_id

    def material(self) -> bytes:
        return self._key

    def mac(self, data: bytes) -> bytes:
        """The suite's HMAC (HMAC-SHA256 or HMAC-SM3) under this key."""
        return self._mac(self._key, data)

    def __repr__(self) -> str:
        return f"<SecretKey {self.info.id} {self.info.key_id} {self.info.suite.value}>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("secret keys cannot be pickled or copied")


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


def _read_public(
    src: Path, compliance_mode: str | Compliance | None
) -> tuple[PublicKeyInfo, bytes, dict[str, Any]]:
    try:
        data = src.read_bytes()
    except OSError as e:
        raise KeyringError(f"{src}: cannot read ({e.strerror})") from None
    doc = _parse(data, str(src))
    if doc["kind"] != "public":
        raise KeyringError(
            f"{src}: is a {doc['kind']} key file; only public files go into the trust store",
            hint="hand out and add the .pub file; never copy a private key file",
        )
    return _public_info(doc, str(src), compliance_mode), data, doc


def read_public_file(
    file: str | Path, *, compliance_mode: str | Compliance | None = None
) -> PublicKeyInfo:
    """Read and check one ``.pub`` file (every check of §2–§3) without adding it anywhere."""
    return _read_public(Path(file), compliance_mode)[0]


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


# -- §5 the keyring --------------------------------------------------------------------------
class Keyring:
    """A keyring directory: ``private/<id>.key`` (0600, dir 0700) and ``public/<id>.pub``.

    ``compliance_mode``: None means ``$XINAN_COMPLIANCE`` (else ``any``); under ``gm-only``
    loading, adding, unlocking or exporting a non-gm key raises ComplianceError.
    """

    def __init__(self, path: str | Path, *, compliance_mode: str | Compliance | None = None):
        self.path = Path(path)
        self.compliance_mode = compliance_mode
        # issue 11: no output of any command replaces a key file (xinan.fileio); the keyring
        # itself writes them with owner="keyring"
        for sub, suffix in (("private", ".key"), ("public", ".pub")):
            protect(
                self.path / sub, "a key file", owner="keyring", directory=True, suffixes=(suffix,)
            )

    def __repr__(self) -> str:
        return f"<Keyring {self.path}>"

    @property
    def private_dir(self) -> Path:
        return self.path / "private"

    @property
    def public_dir(self) -> Path:
        return self.path / "public"

    def private_path(self, key_name: str) -> Path:
        return self.private_dir / f"{key_name}.key"

    def public_path(self, key_name: str) -> Path:
        return self.public_dir / f"{key_name}.pub"

    def _ensure_dirs(self) -> None:
        self.private_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.private_dir.chmod(0o700)
        self.public_dir.mkdir(parents=True, exist_ok=True, mode=0o755)

    def _refuse_existing(self, key_name: str) -> None:
        for p in (self.private_path(key_name), self.public_path(key_name)):
            if p.exists():
                raise KeyringError(
                    f"a key named {key_name!r} already exists ({p})",
                    hint="choose another --id, or remove the old key deliberately",
                )

    # -- generation ------------------------------------------------------------------------
    def generate(
        self,
        key_name: str,
        role: str | Role,
        suite: str | SuiteName,
        passphrase: str,
        *,
        now: datetime,
        kdf_params: KdfParams | None = None,
    ) -> PublicKeyInfo:
        """Generate a key pair; write ``private/<id>.key`` (0600) and ``public/<id>.pub``."""
        _check_id(key_name)
        role_v = _role(role)
        if role_v in SECRET_ROLES:
            raise UsageError(
                f"role {role_v.value!r} is a secret key, not a key pair",
                hint="use Keyring.generate_secret (xinan keygen does this for you)",
            )
        s = get_suite(suite, compliance_mode=self.compliance_mode)
        _passphrase_bytes(passphrase)
        check_new_passphrase(passphrase, user_inputs=(key_name, role_v.value))
        self._refuse_existing(key_name)
        sig_key, kem_key = s.generate_signing_key(), s.generate_kem_key()
        doc: dict[str, Any] = {
            "format": FORMAT,
            "kind": "public",
            "id": key_name,
            "key_id": "",
            "role": role_v.value,
            "suite": s.name.value,
            "created": _now_text(now),
            "sig": _b64(sig_key.public_bytes()),
            "kem": _b64(kem_key.public_bytes()),
        }
        doc["key_id"] = pair_key_id(s, doc)
        public_bytes = _encode(doc)
        priv = dict(doc, kind="private")
        material = _pack(s.export_private(sig_key), s.export_private(kem_key))
        _seal_doc(priv, s, passphrase, material, kdf_params or DEFAULT_KDF)
        self._ensure_dirs()
        write_bytes_atomic(self.private_path(key_name), _encode(priv), secret=True, owner="keyring")
        write_bytes_atomic(self.public_path(key_name), public_bytes, owner="keyring")
        return _public_info(doc, str(self.public_path(key_name)), self.compliance_mode)

    def generate_secret(
        self,
        key_name: str,
        suite: str | SuiteName,
        passphrase: str,
        *,
        now: datetime,
        role: str | Role = Role.PSEUDONYM,
        kdf_params: KdfParams | None = None,
    ) -> SecretKeyInfo:
        """Generate a 32-byte secret key; write ``private/<id>.key`` (0600)."""
        _check_id(key_name)
        role_v = _role(role)
        if role_v not in SECRET_ROLES:
            raise UsageError(f"role {role_v.value!r} is a key pair, not a secret key")
        s = get_suite(suite, compliance_mode=self.compliance_mode)
        _passphrase_bytes(passphrase)
        check_new_passphrase(passphrase, user_inputs=(key_name, role_v.value))
        self._refuse_existing(key_name)
        key = s.random(SECRET_LEN)
        doc: dict[str, Any] = {
            "format": FORMAT,
            "kind": "secret",
            "id": key_name,
            "key_id": secret_key_id(s, key),
            "role": role_v.value,
            "suite": s.name.value,
            "created": _now_text(now),
        }
        _seal_doc(doc, s, passphrase, key, kdf_params or DEFAULT_KDF)
        self._ensure_dirs()
        write_bytes_atomic(self.private_path(key_name), _encode(doc), secret=True, owner="keyring")
        created = datetime.strptime(doc["created"], _TIME_FMT).replace(tzinfo=UTC)
        return SecretKeyInfo(key_name, doc["key_id"], role_v, s.name, created)

    # -- reading ---------------------------------------------------------------------------
    def _read(self, path: Path) -> dict[str, Any]:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise KeyringError(f"{path}: cannot read key file ({e.strerror})") from None
        return _parse(data, str(path))

    def _files(self, directory: Path, suffix: str) -> list[Path]:
        if not directory.is_dir():
            return []
        return sorted(p for p in directory.iterdir() if p.suffix == suffix and p.is_file())

    def _find(self, ref: str, directory: Path, suffix: str) -> tuple[Path, dict[str, Any]] | None:
        if _ID_RE.match(ref) and not _KEY_ID_RE.match(ref):
            p = directory / f"{ref}{suffix}"
            return (p, self._read(p)) if p.is_file() else None
        for p in self._files(directory, suffix):
            doc = self._read(p)
            if doc["key_id"] == ref:
                return p, doc
        return None

    def _not_found(self, ref: str, what: str) -> KeyringError:
        return KeyringError(
            f"no {what} {ref!r} in keyring {self.path}",
            hint="run `xinan keys list`; add others' keys with `xinan keys add FILE`; "
            "check --keyring / XINAN_KEYRING",
        )

    def list(self) -> list[KeyEntry]:
        """Every key file, without decrypting anything (damaged files raise)."""
        out: dict[str, KeyEntry] = {}
        for p in self._files(self.public_dir, ".pub"):
            d = self._read(p)
            out[d["id"]] = KeyEntry(
                d["id"], d["key_id"], "public", d["role"], d["suite"], d["created"]
            )
        for p in self._files(self.private_dir, ".key"):
            d = self._read(p)
            out[d["id"]] = KeyEntry(
                d["id"], d["key_id"], d["kind"], d["role"], d["suite"], d["created"]
            )
        return sorted(out.values(), key=lambda e: e.id)

    def get_public(self, ref: str) -> PublicKeyInfo:
        found = self._find(ref, self.public_dir, ".pub")
        if found is None:
            raise self._not_found(ref, "public key")
        path, doc = found
        if doc["kind"] != "public":
            raise KeyringError(f"{path}: expected a public key file, found {doc['kind']}")
        info = _public_info(doc, str(path), self.compliance_mode)
        if path.name != f"{info.id}.pub":
            raise KeyringError(f"{path}: file name does not match key id name {info.id!r}")
        return info

    def add_public(self, file: str | Path) -> PublicKeyInfo:
        """Add another party's public file to the trust store (§5); idempotent."""
        src = Path(file)
        info, data, doc = _read_public(src, self.compliance_mode)
        dest = self.public_path(info.id)
        if dest.is_file():
            existing = _parse(dest.read_bytes(), str(dest))
            if existing["key_id"] == info.key_id:
                return info
            raise KeyringError(
                f"trust store already has a different key under id {info.id!r} "
                f"({existing['key_id']}, not {info.key_id})",
                hint="if the holder rotated keys, remove the old public file deliberately first",
            )
        for p in self._files(self.public_dir, ".pub"):
            other = self._read(p)
            if other["sig"] == doc["sig"] or other["kem"] == doc["kem"]:
                raise KeyringError(
                    f"{src}: the same public key is already in the trust store as {other['id']!r}",
                    hint="one key, one identity: ask the holder which id is right",
                )
        self._ensure_dirs()
        write_bytes_atomic(dest, data, owner="keyring")
        return info

    def _private_doc(self, ref: str, kind: str) -> tuple[Path, dict[str, Any]]:
        found = self._find(ref, self.private_dir, ".key")
        if found is None:
            raise self._not_found(ref, "private key" if kind == "private" else "secret key")
        path, doc = found
        if doc["kind"] != kind:
            raise KeyringError(f"{path}: is a {doc['kind']} key, not a {kind} key")
        return path, doc

    def unlock(self, ref: str, passphrase: str) -> Identity:
        """Decrypt a private key file into an :class:`Identity` (WrongPassphrase on failure)."""
        disable_core_dumps()  # the unlocked seeds must never reach a core file (issue 11)
        path, doc = self._private_doc(ref, "private")
        where = str(path)
        info = _public_info(doc, where, self.compliance_mode)
        s = get_suite(info.suite, compliance_mode=self.compliance_mode)
        sig_raw, kem_raw = _unpack(_open_doc(doc, s, passphrase, where), where)
        signing = s.import_private("sign", sig_raw)
        kem = s.import_private("kem", kem_raw)
        if signing.public_bytes() != info.sig or kem.public_bytes() != info.kem:
            raise KeyringError(f"{where}: private keys do not match the public keys in the file")
        return Identity(info, signing, kem)

    def secret(self, ref: str, passphrase: str) -> SecretKey:
        """Decrypt a secret key file (WrongPassphrase on failure)."""
        disable_core_dumps()
        path, doc = self._private_doc(ref, "secret")
        where = str(path)
        role, suite_name, created = _parse_common(doc, where)
        s = get_suite(suite_name, compliance_mode=self.compliance_mode, what=f"key {doc['id']}")
        key = _open_doc(doc, s, passphrase, where)
        if len(key) != SECRET_LEN or secret_key_id(s, key) != doc["key_id"]:
            raise KeyringError(f"{where}: key id does not match the secret key")
        return SecretKey(SecretKeyInfo(doc["id"], doc["key_id"], role, suite_name, created), key)

    def change_passphrase(
        self, ref: str, old: str, new: str, *, kdf_params: KdfParams | None = None
    ) -> str:
        """Re-seal a private or secret key file under a new passphrase (§4: new salt, new
        nonce; the key and its key id do not change). The new passphrase must pass
        :func:`check_new_passphrase` and differ from the old. Returns the key id.

        Audit is the caller's (:func:`xinan.key_management.change_passphrase` logs it)."""
        found = self._find(ref, self.private_dir, ".key")
        if found is None:
            raise self._not_found(ref, "private key")
        path, doc = found
        where = str(path)
        if unicodedata.normalize("NFC", old) == unicodedata.normalize("NFC", new):
            raise UsageError("the new passphrase is the old one", hint="choose a new passphrase")
        check_new_passphrase(new, user_inputs=(doc["id"], doc["role"], old))
        _, suite_name, _ = _parse_common(doc, where)
        s = get_suite(suite_name, compliance_mode=self.compliance_mode, what=f"key {doc['id']}")
        material = _open_doc(doc, s, old, where)
        if doc["kind"] == "private":
            self.unlock(ref, old)  # every check of an unlock (key id, key pair) before re-sealing
        else:
            self.secret(ref, old)
        header = {k: v for k, v in doc.items() if k not in ("kdf", "cipher", "nonce", "sealed")}
        _seal_doc(header, s, new, material, kdf_params or DEFAULT_KDF)
        write_bytes_atomic(path, _encode(header), secret=True, owner="keyring")
        return str(doc["key_id"])

    # -- exports (§6) ----------------------------------------------------------------------
    def export(self, ref: str, fmt: str = "pem", *, part: str = "sig") -> str:
        info = self.get_public(ref)
        if part not in ("sig", "kem"):
            raise UsageError(f"unknown key part {part!r}", hint="use sig or kem")
        purpose = "sign" if part == "sig" else "kem"
        public = info.sig if part == "sig" else info.kem
        s = get_suite(info.suite, compliance_mode=self.compliance_mode)
        if fmt == "pem":
            pem: str = s.public_pem(purpose, public)  # type: ignore[attr-defined]
            return pem
        if fmt == "jwk":
            crv: str = s.jwk_curve(purpose)  # type: ignore[attr-defined]
            jwk: dict[str, str] = {
                "kty": "OKP",
                "crv": crv,
                "x": base64.urlsafe_b64encode(public).rstrip(b"=").decode("ascii"),
                "kid": info.key_id,
                "use": "sig" if part == "sig" else "enc",
            }
            if part == "sig":
                jwk["alg"] = "EdDSA"
            return json.dumps(jwk, indent=2) + "\n"
        raise UsageError(f"unknown export format {fmt!r}", hint="use pem or jwk")


def _role(role: str | Role) -> Role:
    try:
        return Role(str(role))
    except ValueError:
        raise UsageError(
            f"unknown role {str(role)!r}", hint=f"use one of: {', '.join(r.value for r in Role)}"
        ) from None


__all__ = [
    "DEFAULT_KDF",
    "FORMAT",
    "MIN_PASSPHRASE_SCORE",
    "Identity",
    "KdfParams",
    "KeyEntry",
    "Keyring",
    "PublicKeyInfo",
    "Role",
    "SecretKey",
    "SecretKeyInfo",
    "check_new_passphrase",
]
