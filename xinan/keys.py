"""Key files, the keyring and the trust store (format ``xinan-key/1``, docs/keys.md).

The file format itself (§2 encoding, §3 key ids, §4 encryption at rest) is
:mod:`xinan.formats.keyfile`, whose public names this module re-exports; this module is §5, the
keyring. Owns key files and where they live; it does not own the
primitives (:mod:`xinan.crypto`) nor passphrase prompts (the CLI passes the passphrase in).
"""

from __future__ import annotations

import base64
import json
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from xinan.crypto import CryptoSuite, PrivateKey, SuiteName, get_suite, get_suite_unchecked
from xinan.crypto.compliance import Compliance
from xinan.errors import KeyringError, UsageError
from xinan.fileio import protect, write_bytes_atomic
from xinan.formats.keyfile import (
    _ID_RE,
    _KEY_ID_RE,
    _TIME_FMT,
    FORMAT,
    MIN_PASSPHRASE_CHARS,
    MIN_PASSPHRASE_SCORE,
    SECRET_LEN,
    SECRET_ROLES,
    KdfParams,
    KeyEntry,
    PublicKeyInfo,
    Role,
    SecretKeyInfo,
    _b64,
    _check_id,
    _encode,
    _now_text,
    _open_doc,
    _pack,
    _parse,
    _parse_common,
    _passphrase_bytes,
    _public_info,
    _seal_doc,
    _unpack,
    check_new_passphrase,
    pair_key_id,
    secret_key_id,
)
from xinan.process import disable_core_dumps

DEFAULT_KDF = KdfParams()


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
    "MIN_PASSPHRASE_CHARS",
    "MIN_PASSPHRASE_SCORE",
    "SECRET_ROLES",
    "Identity",
    "KdfParams",
    "KeyEntry",
    "Keyring",
    "PublicKeyInfo",
    "Role",
    "SecretKey",
    "SecretKeyInfo",
    "check_new_passphrase",
    "pair_key_id",
    "read_public_file",
    "secret_key_id",
]
