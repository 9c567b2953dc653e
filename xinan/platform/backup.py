"""Backup and restore of the vault with its audit chain (GB/T 22239-2019 8.1.4.9 a; docs/backup.md).

* :class:`BackupOps` — ``Platform.backup``: role ``sys-admin``; consistent copies of both
  databases, ``vault.json``, the revocation list and the destruction certificates, sealed to
  the platform key, with the vault's audit log up to and including the backup's own entry;
  a manifest signed by the administrator; written atomically, 0600.
* :func:`restore_vault` — role ``sec-admin`` (with the platform key, which alone opens the
  archive): checks every byte, puts the audit log back if it is gone (or checks that the live
  log extends the archived one), writes the vault to a new directory and binds it to its log
  there; logged before the vault appears.
* :func:`rebind_vault` — role ``sec-admin``: a vault whose audit log was moved is bound to it
  at its new path (same origin and key: the same history).

Does not own: the archive's bytes (:mod:`xinan.platform.backup_format`), SQL
(:mod:`xinan.platform.store`), the log (:mod:`xinan.audit`), the roster (:mod:`xinan.roster`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from xinan.access import Session, load_audit_config, log_verifiers, open_session
from xinan.audit.checkpoint import Checkpoint, open_checkpoint
from xinan.audit.entry import parse_entry
from xinan.audit.note import parse_note
from xinan.audit.proof import load_tree
from xinan.audit.verify import verify_log
from xinan.authn import TokenSource
from xinan.errors import (
    AuditError,
    BackupInvalid,
    IntegrityError,
    KeyringError,
    UsageError,
    XinanError,
)
from xinan.fileio import atomic_writer, write_bytes_atomic
from xinan.keys import Identity, Keyring, PublicKeyInfo, Role
from xinan.platform.backup_format import (
    FORMAT,
    Archive,
    extract_files,
    new_archive_key,
    read_archive,
    write_archive,
)
from xinan.platform.lifecycle_common import require
from xinan.platform.service import Clock, Passphrase, PlatformCore, system_clock
from xinan.platform.vault import Vault
from xinan.platform.vault_config import (
    CONFIG_FILE,
    REVOCATIONS_FILE,
    VaultConfig,
    rebind_config,
    resolve_vault_path,
)
from xinan.roster import LogBinding, load_roster, parse_roster, roster_dir

__all__ = [
    "BackupOps",
    "BackupSummary",
    "RebindSummary",
    "RestoreSummary",
    "rebind_vault",
    "restore_vault",
]

LOG_SUFFIXES = ("", ".checkpoints", ".config", ".pruned", ".signer")  # docs/audit-log.md §1, §12


def _t(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    id: str
    vault: str
    records: int
    files: int
    bytes: int
    entry: int  # seq of the backup's audit entry

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "archive": str(self.path),
            "id": self.id,
            "vault": self.vault,
            "records": self.records,
            "files": self.files,
            "bytes": self.bytes,
            "audit_entry": self.entry,
        }


@dataclass(frozen=True)
class RestoreSummary:
    path: Path
    id: str
    vault: str
    records: int
    audit_log: str
    log_restored: bool  # the log was gone and was put back from the archive
    rebound: bool  # the log is at another path than when the backup was made
    entry: int

    def to_json(self) -> dict[str, Any]:
        return {
            "vault": str(self.path),
            "backup": self.id,
            "id": self.vault,
            "records": self.records,
            "audit_log": self.audit_log,
            "log_restored": self.log_restored,
            "rebound": self.rebound,
            "audit_entry": self.entry,
        }


@dataclass(frozen=True)
class RebindSummary:
    path: Path
    vault: str
    audit_log: str
    previous: str
    changed: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "vault": str(self.path),
            "id": self.vault,
            "audit_log": self.audit_log,
            "previous": self.previous,
            "changed": self.changed,
        }


# ============================================================================================
# Backup (docs/backup.md §7)
# ============================================================================================
@contextlib.contextmanager
def _log_locked(log: Path) -> Iterator[None]:
    """Hold the log's writer lock (docs/audit-log.md §6): no entry is half-written while the
    log's files are copied, so the copy ends at a signed checkpoint."""
    fd = os.open(f"{log}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _copy_private(src: Path, dst: Path) -> None:
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, src.open("rb") as f:
        shutil.copyfileobj(f, out, 1 << 20)


def _private_dir(near: Path) -> Path:
    """A fresh 0700 directory beside ``near`` (same file system: the staged files are moved,
    not copied, into place)."""
    near.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".xinan-backup-", dir=near))


class BackupOps(PlatformCore):
    def backup(self, output: Path | str) -> BackupSummary:
        """Write the vault and its audit chain to an encrypted, signed archive at ``output``.

        Role ``sys-admin`` (GB/T 22239-2019 8.1.5.1 b); needs only the administrator's own key
        and the platform's public key. The ``key.vault-backup`` entry is in the log before the
        archive exists, and the archive holds the log up to and including that entry."""
        out = Path(output)
        cfg = self.vault.config
        require(self.session, "vault.backup")
        signer = self.session.identity
        if signer is None:
            raise KeyringError("the backup is signed with the administrator's own key")
        platform = self.keyring.get_public(cfg.platform_id)
        if platform.key_id != cfg.platform_key_id:
            raise KeyringError(f"the trust store's {cfg.platform_id} is not the vault's key")
        if signer.info.suite is not platform.suite:
            raise UsageError(
                f"{signer.info.id} is a {signer.info.suite.value} key; the vault is "
                f"{platform.suite.value}",
                hint="back up as a system administrator whose key has the vault's suite",
            )
        archive_id = secrets.token_hex(16)
        stage = _private_dir(out.resolve().parent)
        try:
            files = self._stage(stage)
            records = self.vault.count()
            seq = self.session.record(
                "key.vault-backup",
                objects={
                    "ref": f"backup:{archive_id}",
                    "key_ids": [cfg.platform_key_id],
                    "policy": cfg.policy,
                    "counts": {"records": records, "files": len(files) + len(LOG_SUFFIXES)},
                },
            )
            log_files = self._stage_log(stage)
            _tree, note = load_tree(stage / "log" / "audit")
            cp = Checkpoint.parse(parse_note(note).text)
            if not seq < cp.size:
                raise AuditError("the backup's entry is not under the copied log's checkpoint")
            body = {
                "created": _t(self.now()),
                "vault": {
                    "id": cfg.id,
                    "suite": cfg.suite.value,
                    "policy": cfg.policy,
                    "platform_key_id": cfg.platform_key_id,
                    "records": records,
                },
                "made_by": {
                    "id": signer.info.id,
                    "key_id": signer.key_id,
                    "role": signer.info.role.value,
                },
                "audit": {
                    "origin": cfg.audit_origin,
                    "key_id": cfg.audit_key_id,
                    "path": cfg.audit_path,
                    "size": cp.size,
                    "entry": seq,
                    "checkpoint": note.decode("utf-8"),
                },
            }
            key = new_archive_key(self.vault.suite)
            with atomic_writer(out, binary=True, secret=True) as f:
                manifest = write_archive(
                    f,
                    archive_id=archive_id,
                    key=key,
                    platform=platform,
                    body=body,
                    files=[*files, *log_files],
                    signer=signer,
                )
            del key
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        return BackupSummary(
            out, archive_id, cfg.id, records, len(manifest.files), out.stat().st_size, seq
        )

    def _stage(self, stage: Path) -> list[tuple[str, Path]]:
        """The vault's files, copied consistently into ``stage``: the databases through
        SQLite's backup API, the small files as they are."""
        vdir = stage / "vault"
        vdir.mkdir(mode=0o700)
        db, keys = self.vault.store.snapshot(vdir)
        src = self.vault.path
        files = [("vault/vault.json", src / CONFIG_FILE), ("vault/vault.db", db)]
        files.append(("vault/keys.db", keys))
        if (src / REVOCATIONS_FILE).is_file():
            files.append((f"vault/{REVOCATIONS_FILE}", src / REVOCATIONS_FILE))
        certs = src / "destruction"
        if certs.is_dir():
            files += [(f"vault/destruction/{p.name}", p) for p in sorted(certs.glob("dc1*.json"))]
        return files

    def _stage_log(self, stage: Path) -> list[tuple[str, Path]]:
        log = Path(self.vault.config.audit_path)
        ldir = stage / "log"
        ldir.mkdir(mode=0o700)
        out: list[tuple[str, Path]] = []
        with _log_locked(log):
            for suffix in LOG_SUFFIXES:
                src = Path(f"{log}{suffix}")
                if src.is_file():
                    dst = ldir / f"audit{suffix}"
                    _copy_private(src, dst)
                    out.append((f"log/audit{suffix}", dst))
        return out


# ============================================================================================
# Restore (docs/backup.md §8)
# ============================================================================================
def _binding(keyring: Keyring) -> LogBinding:
    """Where the keyring's roster says its log is. Read without checking (the log it checks
    against may be the thing to put back); the session opened afterwards checks it all."""
    d = roster_dir(keyring)
    files = sorted(p for p in d.glob("[0-9]" * 6 + ".json")) if d.is_dir() else []
    if not files:
        raise KeyringError(
            f"keyring {keyring.path} has no roster",
            hint="restore with the keyring of the platform that made the backup",
        )
    return parse_roster(files[-1].read_bytes(), str(files[-1])).log


def _signers(keyring: Keyring) -> dict[str, PublicKeyInfo]:
    """The keyring's system administrators (by their key files; the roster is checked once a
    session is open)."""
    out: dict[str, PublicKeyInfo] = {}
    for e in keyring.list():
        if e.kind != "secret" and e.role == Role.SYS_ADMIN.value:
            with contextlib.suppress(KeyringError):
                info = keyring.get_public(e.id)
                out[info.key_id] = info
    return out


def _put_back_log(archive: Archive, binding: LogBinding, keyring: Keyring) -> None:
    """The log is gone: write the archived one where the roster says it is, then verify it."""
    audit = archive.manifest.body["audit"]
    if (audit["origin"], audit["key_id"]) != (binding.origin, binding.log_key_id):
        raise BackupInvalid(
            f"{archive.path}: the archive's audit log ({audit['origin']}) is not this "
            f"keyring's ({binding.origin})",
            hint="restore with the keyring of the platform that made the backup",
        )
    log = Path(binding.path)
    if any(Path(f"{log}{s}").exists() for s in LOG_SUFFIXES):
        raise UsageError(
            f"{log}: part of an audit log is there but not the log itself",
            hint="move the remains aside (keep them for the auditor), then restore again",
        )
    stage = _private_dir(log.parent)
    try:
        got = extract_files(archive, None, stage)
        for name, path in got.items():
            os.replace(path, f"{log}{name.removeprefix('log/audit')}")
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    verify_log(log, keys=log_verifiers(log, keyring))  # raises the first violation


def _check_live_log(archive: Archive, log: Path, keyring: Keyring) -> None:
    """The live log is the archived one, grown since: the archive's signed checkpoint is a
    prefix of it (same origin and key, same root at the archived size)."""
    audit = archive.manifest.body["audit"]
    cfg = load_audit_config(log)
    if (audit["origin"], audit["key_id"]) != (cfg.origin, cfg.log_key_id):
        raise BackupInvalid(
            f"{archive.path}: the archive's audit log ({audit['origin']}) is not {log} "
            f"({cfg.origin})",
            hint="restore with the keyring of the platform that made the backup",
        )
    cp, _ = open_checkpoint(audit["checkpoint"], log_verifiers(log, keyring), origin=cfg.origin)
    tree, _ = load_tree(log)
    if tree.size < cp.size:
        raise BackupInvalid(
            f"{log} is shorter ({tree.size} entries) than the log in the archive ({cp.size}): "
            "it was rolled back or replaced",
            hint="keep this log for the auditor (xinan audit verify), then restore with the "
            "log moved aside: the archive's log is put back",
        )
    if cp.size < tree.start or tree.root(cp.size) != cp.root:
        raise IntegrityError(f"{log} does not extend the log in the archive")


def _backup_entry(archive: Archive, log: Path) -> None:
    """The entry the manifest names is this backup's ``key.vault-backup``, by its signer."""
    audit = archive.manifest.body["audit"]
    seq = audit["entry"]
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise BackupInvalid(f"{archive.path}: audit.entry must be an entry number")
    tree, _ = load_tree(log)
    line = None
    if tree.start <= seq < tree.size:
        with log.open("rb") as f:
            for i, raw in enumerate(f):
                if i == seq - tree.start:
                    line = raw.rstrip(b"\n")
                    break
    try:
        e = parse_entry(line) if line is not None else None
    except ValueError:
        e = None
    if (
        e is None
        or e["type"] != "key.vault-backup"
        or e["outcome"] != "success"
        or e["objects"].get("ref") != f"backup:{archive.manifest.id}"
        or e["actor"]["key_id"] != archive.signer.key_id
    ):
        raise BackupInvalid(
            f"{archive.path}: entry {seq} of {log} is not this backup's entry",
            hint="the archive does not belong to this audit log",
        )


def _platform_identity(keyring: Keyring, cfg_id: str, key_id: str, ask: Passphrase) -> Identity:
    ident = keyring.unlock(cfg_id, ask(f"{cfg_id} (platform)"))
    if ident.key_id != key_id:
        raise KeyringError(f"the keyring's {cfg_id} is not the vault's platform key")
    return ident


def restore_vault(
    archive_path: Path | str,
    to: Path | str,
    *,
    keyring: Keyring,
    identity: str | None,
    passphrase: Passphrase,
    clock: Clock = system_clock,
    tokens: TokenSource | None = None,
) -> RestoreSummary:
    """Verify the archive and restore its vault into the new directory ``to``, bound to the
    keyring's audit log where it is now (docs/backup.md §8).

    Role ``sec-admin``; the platform key's passphrase is asked for as well (only it opens the
    archive and seals the vault's configuration). If the log is gone it is put back from the
    archive first (nobody can act without it: the roster is anchored in it). A refusal after
    the session is open is logged (``key.vault-restore``, outcome ``failed``); the success
    entry is in the log before the vault is moved into place."""
    src, dest = Path(archive_path), Path(to)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UsageError(f"{dest} exists and is not empty", hint="restore into a new directory")
    binding = _binding(keyring)
    log = Path(binding.path)
    archive: Archive | None = None
    log_restored = False
    if not log.exists():
        archive = read_archive(src, _signers(keyring))
        _put_back_log(archive, binding, keyring)
        log_restored = True
    session = open_session(
        keyring=keyring,
        identity=identity,
        log_path=log,
        passphrase=passphrase,
        clock=clock,
        tokens=tokens,
    )
    with session:
        require(session, "vault.restore")
        try:
            if archive is None:
                archive = read_archive(src, _signers(keyring))
                _check_live_log(archive, log, keyring)
            return _restore(archive, dest, session, keyring, passphrase, log, log_restored)
        except XinanError as e:
            # the refusal is in the log before it is raised: which archive (if it was read
            # that far) and which check refused it — never the archive's bytes
            which = archive.manifest.id if archive is not None else "unread"
            session.record(
                "key.vault-restore",
                outcome="failed",
                objects={"ref": f"backup:{which}#refused:{type(e).__name__}"},
            )
            raise


def _restore(
    archive: Archive,
    dest: Path,
    session: Session,
    keyring: Keyring,
    passphrase: Passphrase,
    log: Path,
    log_restored: bool,
) -> RestoreSummary:
    m = archive.manifest
    member = load_roster(keyring).member(archive.signer.key_id)
    if member is None or member.role is not Role.SYS_ADMIN:
        raise BackupInvalid(
            f"{archive.path}: signed by {archive.signer.key_id}, not a system administrator in "
            "this keyring's roster"
        )
    _backup_entry(archive, log)
    vault = m.body["vault"]
    platform = _platform_identity(
        keyring, archive_platform_id(archive, keyring), m.platform_key_id, passphrase
    )
    stage = _private_dir(dest.resolve().parent)
    try:
        got = extract_files(archive, platform, stage)
        vdir = stage / "vault"
        cfg = VaultConfig.read(vdir)
        if (cfg.id, cfg.platform_key_id, cfg.policy) != (
            vault["id"],
            vault["platform_key_id"],
            vault["policy"],
        ):
            raise BackupInvalid(f"{archive.path}: vault.json is not the manifest's vault")
        new_path = str(log.resolve())
        rebound = new_path != cfg.audit_path
        new_cfg = rebind_config(cfg, platform, audit_path=new_path)
        write_bytes_atomic(vdir / CONFIG_FILE, new_cfg.to_bytes(), secret=True)
        for name in list(got):
            if name.startswith("log/"):
                got.pop(name).unlink()
        with Vault.open(vdir) as v:  # the databases are this vault's, and readable
            v.unlock(platform)
            records = v.count()
        if records != vault["records"]:
            raise IntegrityError(f"{archive.path}: the restored vault does not hold its records")
        seq = session.record(
            "key.vault-restore",
            objects={
                "ref": f"backup:{m.id}",
                "key_ids": [m.platform_key_id, archive.signer.key_id],
                "policy": cfg.policy,
                "counts": {"records": records, "files": len(got)},
            },
        )
        if dest.exists():
            dest.rmdir()
        os.replace(vdir, dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return RestoreSummary(dest, m.id, cfg.id, records, new_path, log_restored, rebound, seq)


def archive_platform_id(archive: Archive, keyring: Keyring) -> str:
    """The keyring's name for the platform key the archive is sealed to."""
    for e in keyring.list():
        if e.key_id == archive.manifest.platform_key_id and e.kind == "private":
            return e.id
    raise KeyringError(
        f"this keyring has no private key {archive.manifest.platform_key_id} (the platform key "
        "the archive is sealed to)",
        hint="restore where the platform key is",
    )


# ============================================================================================
# Rebind (docs/backup.md §9)
# ============================================================================================
def rebind_vault(
    vault_dir: Path | str | None,
    *,
    keyring: Keyring,
    identity: str | None,
    passphrase: Passphrase,
    clock: Clock = system_clock,
    tokens: TokenSource | None = None,
) -> RebindSummary:
    """Bind the vault to the keyring's audit log at its present path (role ``sec-admin``, with
    the platform key's passphrase). The log must be the one the vault was bound to — same
    origin, same key — only its path may differ. Logged (``key.vault-rebind``) before the
    configuration is replaced."""
    path = resolve_vault_path(vault_dir)
    cfg = VaultConfig.read(path)
    log = Path(_binding(keyring).path)
    with open_session(
        keyring=keyring,
        identity=identity,
        log_path=log,
        passphrase=passphrase,
        clock=clock,
        tokens=tokens,
    ) as session:
        require(session, "vault.rebind")
        live = load_audit_config(log)
        if (live.origin, live.log_key_id) != (cfg.audit_origin, cfg.audit_key_id):
            session.record(
                "key.vault-rebind",
                outcome="denied",
                objects={"ref": f"vault:{cfg.id}", "policy": "refused:another-log"},
            )
            raise BackupInvalid(
                f"{log} ({live.origin}) is not the log vault {cfg.id} was bound to "
                f"({cfg.audit_origin}): a vault is rebound only to its own log, moved",
                hint="a different log is a different history; act with the vault's keyring",
            )
        new_path = str(log.resolve())
        if new_path == cfg.audit_path:
            return RebindSummary(path, cfg.id, new_path, cfg.audit_path, False)
        platform = _platform_identity(keyring, cfg.platform_id, cfg.platform_key_id, passphrase)
        new_cfg = rebind_config(cfg, platform, audit_path=new_path)
        session.record(
            "key.vault-rebind",
            objects={
                "ref": f"vault:{cfg.id}",
                "key_ids": [cfg.platform_key_id],
                "policy": cfg.policy,
            },
        )
        write_bytes_atomic(path / CONFIG_FILE, new_cfg.to_bytes(), secret=True, owner="vault")
    return RebindSummary(path, cfg.id, new_path, cfg.audit_path, True)
