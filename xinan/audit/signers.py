"""Who signs a log's checkpoints: a keyring identity, or the log's own service-held signer.

Owns the signed-note signers and verifiers of xinan's audit logs (docs/audit-log.md §4.1,
§12) and the log-signer file ``xinan-log-signer/1`` with its service secret
``xinan-log-secret/1`` (docs/audit-log.md §12). It does not own the log's configuration
(:mod:`xinan.audit.config`) nor the files of the log itself (:mod:`xinan.audit.log`).

Why a service-held signer (issue 12, 三权分立; GB/T 22239-2019 8.1.4.3 c, 8.1.5): when a
log is signed by an operator's key, whoever may unlock that key can re-sign history, and every
administrator who opens the log must be given its passphrase. The log signer is made at
``xinan audit init`` and wrapped under a random 32-byte *service secret* kept in a 0600 file
of the logging service, outside every keyring: no administrator's key file, passphrase or
token opens it, as in Tessera and the Go checksum database, where the log's signing key is
the log operator's service credential and never a person's.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xinan._codec import b64decode, b64encode, canonical_json, loads_strict, pretty_json
from xinan.audit.note import (
    SIG_TYPE_ED25519,
    SIG_TYPE_SM2,
    Ed25519Verifier,
    NoteVerifier,
    key_id,
    register_vkey_type,
)
from xinan.crypto import CryptoSuite, PrivateKey, SuiteName, get_suite
from xinan.crypto.compliance import Compliance
from xinan.errors import AuditError, IntegrityError, KeyringError, NoteError
from xinan.fileio import write_bytes_atomic

if TYPE_CHECKING:
    from xinan.keys import Identity, PublicKeyInfo

SIGNER_FORMAT = "xinan-log-signer/1"
SECRET_FORMAT = "xinan-log-secret/1"  # noqa: S105 - a format marker, not a password
SIGNER_PREFIX = "xl1"
SECRET_LEN = 32
_WRAP_INFO = b"xinan-log-signer/1 wrap key"
_MEMBERS = ["format", "origin", "suite", "key_id", "created", "public", "cipher", "nonce", "sealed"]
_MAX_FILE = 16 * 1024


def _sig_type(suite: SuiteName) -> bytes:
    return SIG_TYPE_SM2 if suite is SuiteName.GM else SIG_TYPE_ED25519


# --------------------------------------------------------------------------------------------
# Keyring identities as signed-note signers and verifiers (docs/audit-log.md §4)


class IdentityNoteSigner:
    """Signs checkpoints with a keyring identity's signing key (Ed25519, or SM2 in gm)."""

    def __init__(self, name: str, identity: Identity) -> None:
        self._name = name
        self._identity = identity
        self._type = _sig_type(identity.info.suite)

    def __repr__(self) -> str:
        return f"IdentityNoteSigner({self._name!r}, {self._identity.key_id})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return key_id(self._name, self._type, self._identity.info.sig)

    def sign(self, msg: bytes) -> bytes:
        return self._identity.sign(msg)

    def verifier(self) -> NoteVerifier:
        # The log writer checks every signature it extends with this (docs/audit-log.md §7).
        return note_verifier(self._name, self._identity.info)


@dataclass(frozen=True)
class SM2NoteVerifier:
    """Verifies the SM2 signature lines of a gm-suite log (private type, docs/audit-log.md)."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> int:
        return key_id(self.name, SIG_TYPE_SM2, self.public_key)

    def verify(self, msg: bytes, sig: bytes) -> None:
        try:
            get_suite(SuiteName.GM).verify(self.public_key, msg, sig)
        except IntegrityError:
            raise NoteError(f"signature by {self.name} does not verify") from None


register_vkey_type(SIG_TYPE_SM2, SM2NoteVerifier)


def raw_note_verifier(name: str, suite: SuiteName, public: bytes) -> NoteVerifier:
    """The signed-note verifier of a raw signing public key of ``suite``."""
    if suite is SuiteName.GM:
        return SM2NoteVerifier(name, public)
    return Ed25519Verifier(name, public)


def note_verifier(name: str, info: PublicKeyInfo) -> NoteVerifier:
    """The signed-note verifier of a log key, from its xinan public key."""
    return raw_note_verifier(name, info.suite, info.sig)


# --------------------------------------------------------------------------------------------
# The service-held log signer (docs/audit-log.md §12)


def signer_key_id(suite: CryptoSuite, origin: str, public: bytes) -> str:
    """``xl1`` ‖ base32 of the first 15 bytes of H(canonical {format, origin, public, suite})
    (§12.2): it names the log signer wherever a key id is pinned (roster, vault, config)."""
    import base64

    doc = {"format": SIGNER_FORMAT, "origin": origin, "public": b64encode(public)}
    doc["suite"] = suite.name.value
    digest = suite.digest(canonical_json(doc))
    return SIGNER_PREFIX + base64.b32encode(digest[:15]).decode("ascii").lower()


class ServiceNoteSigner:
    """The log's own checkpoint signer, unwrapped from its file with the service secret."""

    def __init__(self, origin: str, suite: CryptoSuite, private: PrivateKey, kid: str) -> None:
        self._name = origin
        self._suite = suite
        self._private = private
        self._type = _sig_type(suite.name)
        self.fingerprint = kid

    def __repr__(self) -> str:
        return f"ServiceNoteSigner({self._name!r}, {self.fingerprint})"

    def __reduce__(self) -> Any:
        raise TypeError("log signers cannot be pickled or copied")

    @property
    def name(self) -> str:
        return self._name

    @property
    def public(self) -> bytes:
        return self._private.public_bytes()

    @property
    def key_id(self) -> int:
        return key_id(self._name, self._type, self.public)

    def sign(self, msg: bytes) -> bytes:
        return self._suite.sign(self._private, msg)

    def verifier(self) -> NoteVerifier:
        return raw_note_verifier(self._name, self._suite.name, self.public)


def _wrap_key(suite: CryptoSuite, secret: bytes) -> bytes:
    # the secret is 32 uniformly random bytes, so HKDF (the suite's: HMAC-SM3 in gm) suffices;
    # a password KDF would only slow every session down (§12.3)
    return suite.kdf(secret, _WRAP_INFO, suite.key_len)


def _signer_doc(data: bytes, where: str) -> dict[str, Any]:
    if len(data) > _MAX_FILE:
        raise AuditError(f"{where}: not a log-signer file (too large)")
    try:
        doc = loads_strict(data)
    except ValueError:
        raise AuditError(f"{where}: not a log-signer file (invalid JSON)") from None
    if not isinstance(doc, dict) or doc.get("format") != SIGNER_FORMAT:
        raise AuditError(f"{where}: not a {SIGNER_FORMAT} file")
    if list(doc) != _MEMBERS or not all(isinstance(doc[m], str) for m in _MEMBERS):
        raise AuditError(f"{where}: damaged log-signer file (members)")
    if pretty_json(doc) != data:
        raise AuditError(f"{where}: damaged log-signer file (not in canonical form)")
    return doc


def read_service_secret(path: Path) -> bytes:
    """The service secret (§12.3). Refused unless the file is a regular file that only its
    owner may read or write (mode 0600 or stricter), like ssh refuses an open private key."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as e:
        raise AuditError(
            f"{path}: cannot read the audit log's service secret ({e.strerror})",
            hint="the log signer is held by the logging service: run as the account that "
            "holds the secret (docs/audit-log.md §12), or restore the file from its backup",
        ) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o077:
            raise AuditError(
                f"{path}: the audit log's service secret is readable by others "
                f"(mode {stat.S_IMODE(st.st_mode):04o})",
                hint=f"chmod 600 {path}; if others could read it, make a new log",
            )
        data = f.read(256)
    lines = data.split(b"\n")
    try:
        if len(lines) != 3 or lines[0].decode() != SECRET_FORMAT or lines[2]:
            raise ValueError
        secret = b64decode(lines[1].decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        raise AuditError(f"{path}: not a {SECRET_FORMAT} file") from None
    if len(secret) != SECRET_LEN:
        raise AuditError(f"{path}: not a {SECRET_FORMAT} file (length)")
    return secret


def create_service_signer(
    key_file: Path,
    secret_file: Path,
    *,
    origin: str,
    suite: SuiteName,
    now: datetime,
    compliance_mode: str | Compliance | None = None,
) -> tuple[str, bytes]:
    """Make a log signer: a fresh signing key wrapped under a fresh service secret, both
    written 0600, never overwriting a file. Returns its key id and public key."""
    for p in (key_file, secret_file):
        if p.exists():
            raise AuditError(f"{p} exists: a log signer is made once, with its log")
    s = get_suite(suite, compliance_mode=compliance_mode, what="log signer")
    private = s.generate_signing_key()
    public = private.public_bytes()
    secret = s.random(SECRET_LEN)
    kid = signer_key_id(s, origin, public)
    doc: dict[str, Any] = {
        "format": SIGNER_FORMAT,
        "origin": origin,
        "suite": s.name.value,
        "key_id": kid,
        "created": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "public": b64encode(public),
        "cipher": s.aead_name,
        "nonce": b64encode(s.random(s.nonce_len)),
    }
    sealed = s.aead(_wrap_key(s, secret)).seal(
        b64decode(doc["nonce"]), s.export_private(private), canonical_json(doc)
    )
    doc["sealed"] = b64encode(sealed)
    for p in (key_file, secret_file):
        p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret_text = f"{SECRET_FORMAT}\n{b64encode(secret)}\n".encode("ascii")
    write_bytes_atomic(secret_file, secret_text, secret=True)
    write_bytes_atomic(key_file, pretty_json(doc), secret=True)
    return kid, public


def load_service_signer(
    key_file: Path,
    secret: bytes,
    *,
    expect_key_id: str,
    compliance_mode: str | Compliance | None = None,
) -> ServiceNoteSigner:
    """Unwrap the log signer with the service secret. Any other secret — an operator's
    passphrase, its token, its key — fails with one opaque :class:`IntegrityError`."""
    where = str(key_file)
    try:
        data = key_file.read_bytes()
    except OSError as e:
        raise AuditError(f"{where}: cannot read the log signer ({e.strerror})") from None
    doc = _signer_doc(data, where)
    try:
        suite = SuiteName(doc["suite"])
        public = b64decode(doc["public"])
        nonce = b64decode(doc["nonce"])
        sealed = b64decode(doc["sealed"])
    except ValueError:
        raise AuditError(f"{where}: damaged log-signer file") from None
    s = get_suite(suite, compliance_mode=compliance_mode, what="log signer")
    if doc["cipher"] != s.aead_name or doc["key_id"] != expect_key_id:
        raise IntegrityError(f"{where}: not this log's signer")
    if signer_key_id(s, doc["origin"], public) != doc["key_id"]:
        raise IntegrityError(f"{where}: not this log's signer")
    header = {k: v for k, v in doc.items() if k != "sealed"}
    if len(secret) != SECRET_LEN:
        raise IntegrityError(f"{where}: the log signer does not open with this secret")
    try:
        raw = s.aead(_wrap_key(s, secret)).open(nonce, sealed, canonical_json(header))
        private = s.import_private("sign", raw)
    except (IntegrityError, KeyringError):
        raise IntegrityError(f"{where}: the log signer does not open with this secret") from None
    if private.public_bytes() != public:
        raise IntegrityError(f"{where}: the log signer's private key is not its public key")
    return ServiceNoteSigner(doc["origin"], s, private, doc["key_id"])
