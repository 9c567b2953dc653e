"""The platform key's signing half, held by the platform service (issue 12 item 2).

Grants and revocation lists are signed by the platform key (docs/grant.md §1), whose other
half unwraps the vault's key. Before this module the security administrator's `grant issue`
needed the platform key's passphrase, so the process that issued a grant could also decrypt
every stored value. ``xinan --as platform vault delegate-signing`` (the platform operator,
once) wraps the platform key's **signing** private key — never its KEM key — under a random
32-byte service secret (docs/vault.md §2.1, format ``xinan-platform-signer/1``). The
grant commands then sign with :class:`DelegatedSigner`, which signs as the platform and cannot
unwrap anything: no passphrase of the platform key is asked, and the vault stays locked.

Owns the delegation file and :class:`DelegatedSigner`; the secret file's format and its
checks are the log signer's (``xinan-log-secret/1``, :mod:`xinan.audit.signers`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from xinan._codec import b64decode, b64encode, canonical_json, loads_strict, pretty_json
from xinan.audit.signers import SECRET_FORMAT, SECRET_LEN, read_service_secret
from xinan.crypto import CryptoSuite, PrivateKey, get_suite
from xinan.errors import IntegrityError, KeyringError, UsageError
from xinan.fileio import write_bytes_atomic
from xinan.keys import Identity, Keyring, PublicKeyInfo

FORMAT = "xinan-platform-signer/1"
FILE = "platform-signer.json"
_WRAP_INFO = b"xinan-platform-signer/1 wrap key"
_MEMBERS = [
    "format",
    "vault",
    "platform_id",
    "platform_key_id",
    "suite",
    "created",
    "secret_file",
    "cipher",
    "nonce",
    "sealed",
]
_MAX_FILE = 16 * 1024


class DelegatedSigner(Identity):
    """The platform key's signing half: :meth:`sign` signs as the platform; :meth:`unwrap`
    refuses, so a vault, a submission or a release never opens with it."""

    __slots__ = ()

    def __init__(self, info: PublicKeyInfo, signing: PrivateKey) -> None:
        # the KEM slot holds the signing handle only to satisfy Identity's shape; unwrap() is
        # overridden to refuse, and no code path hands this object a KEM job
        super().__init__(info, signing, signing)

    def unwrap(self, wrapped: bytes, info: bytes, aad: bytes) -> bytes:
        raise KeyringError(
            f"{self.info.id}: the platform's delegated signer signs only; it cannot unwrap",
            hint="operations that need plaintext run as the platform (--as platform)",
        )

    def __repr__(self) -> str:
        i = self.info
        return f"<DelegatedSigner {i.id} {i.key_id} sign-only {i.suite.value}>"

    __str__ = __repr__


def _wrap_key(suite: CryptoSuite, secret: bytes) -> bytes:
    # 32 uniformly random bytes: HKDF with the suite's hash suffices (HKDF-SM3 in gm)
    key: bytes = suite.kdf(secret, _WRAP_INFO, suite.key_len)
    return key


def default_secret_file(vault: Path) -> Path:
    return vault / "service" / "platform-signer.secret"


def delegate_signing(
    vault: Path,
    *,
    vault_id: str,
    platform: Identity,
    now: datetime,
    secret_file: Path | None = None,
) -> Path:
    """Write the delegation of ``platform``'s signing key for ``vault`` (both files 0600,
    never overwriting one). Returns the delegation file's path."""
    target = vault / FILE
    secret_path = (secret_file or default_secret_file(vault)).expanduser().resolve()
    for p in (target, secret_path):
        if p.exists():
            raise UsageError(
                f"{p} exists: the platform's signing key is already delegated",
                hint="delete both files to withdraw the delegation, then delegate again",
            )
    s = get_suite(platform.info.suite, what=f"key {platform.info.id}")
    secret = s.random(SECRET_LEN)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "vault": vault_id,
        "platform_id": platform.info.id,
        "platform_key_id": platform.key_id,
        "suite": s.name.value,
        "created": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "secret_file": str(secret_path),
        "cipher": s.aead_name,
        "nonce": b64encode(s.random(s.nonce_len)),
    }
    sealed = s.aead(_wrap_key(s, secret)).seal(
        b64decode(doc["nonce"]), s.export_private(platform.signing), canonical_json(doc)
    )
    doc["sealed"] = b64encode(sealed)
    secret_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_bytes_atomic(
        secret_path, f"{SECRET_FORMAT}\n{b64encode(secret)}\n".encode("ascii"), secret=True
    )
    write_bytes_atomic(target, pretty_json(doc), secret=True, owner="vault")
    return target


def load_delegated_signer(
    vault: Path, *, vault_id: str, keyring: Keyring, platform_key_id: str
) -> DelegatedSigner | None:
    """The platform's delegated signer of ``vault``, or None when there is no delegation.
    A delegation for another vault or key, an edited file or a wrong secret fails closed."""
    path = vault / FILE
    if not path.exists():
        return None
    where = str(path)
    data = path.read_bytes()
    if len(data) > _MAX_FILE:
        raise IntegrityError(f"{where}: not a {FORMAT} file")
    try:
        doc = loads_strict(data)
    except ValueError:
        raise IntegrityError(f"{where}: not a {FORMAT} file") from None
    if (
        not isinstance(doc, dict)
        or list(doc) != _MEMBERS
        or doc["format"] != FORMAT
        or not all(isinstance(doc[m], str) for m in _MEMBERS)
        or pretty_json(doc) != data
    ):
        raise IntegrityError(f"{where}: not a {FORMAT} file (or edited)")
    if doc["vault"] != vault_id or doc["platform_key_id"] != platform_key_id:
        raise IntegrityError(f"{where}: a delegation for another vault or platform key")
    info = keyring.get_public(platform_key_id)
    s = get_suite(info.suite, compliance_mode=keyring.compliance_mode, what=f"key {info.id}")
    if doc["suite"] != s.name.value or doc["cipher"] != s.aead_name:
        raise IntegrityError(f"{where}: suite or cipher does not match the platform key")
    secret = read_service_secret(Path(doc["secret_file"]))
    header = {k: v for k, v in doc.items() if k != "sealed"}
    try:
        raw = s.aead(_wrap_key(s, secret)).open(
            b64decode(doc["nonce"]), b64decode(doc["sealed"]), canonical_json(header)
        )
        signing = s.import_private("sign", raw)
    except (IntegrityError, KeyringError, ValueError):
        raise IntegrityError(f"{where}: the delegated signer does not open") from None
    if signing.public_bytes() != info.sig:  # the platform key's own signing key, no other
        raise IntegrityError(f"{where}: the delegated key is not the platform's signing key")
    return DelegatedSigner(info, signing)
