"""Upgrading a vault to ``xinan-vault/3`` (docs/vault.md §11.1, §11.2).

Version 2 added the row MAC (§3.1); version 3 seals the row-MAC key under the bound log's
service secret (§3.2), so that administrators read records without the platform key. A
version-1 vault is refused by every other command until the platform upgrades it here; a
version-2 vault still opens (its reads unlock the platform key) until it is upgraded. The
upgrade is one logged act of the platform: the vault key is unwrapped with the platform key
(its commitment and the configuration MAC checked as for any operation); from version 1 every
record row gets its MAC, from version 2 every row's MAC is checked; both databases' ``meta``
are relabelled in one transaction per database — the ``key.vault-upgrade`` audit entry
appended before the commit —, and ``vault.json`` is rewritten with the new marker, the sealed
row key and new configuration MACs. Rows cannot be checked before they have a MAC: an upgrade
from version 1 vouches for the rows as they are when it runs, which is why it is an explicit,
logged decision.

A crash after the databases committed and before ``vault.json`` was rewritten leaves
version-3 databases under an older configuration; running the upgrade again checks every
row's MAC and finishes the configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xinan.access import open_session
from xinan.fileio import write_bytes_atomic
from xinan.keys import Identity
from xinan.platform.service import PlatformContext, _bound_log
from xinan.platform.store import db_format
from xinan.platform.vault import Vault
from xinan.platform.vault_config import (
    CONFIG_FILE,
    FORMAT,
    FORMAT_V1,
    SCHEMA_VERSION,
    VaultConfig,
    log_service_secret,
    resolve_vault_path,
    seal_row_key,
)


@dataclass(frozen=True)
class VaultUpgraded:
    path: str
    id: str
    format: str
    records: int  # rows that received their MAC (0 when finishing an interrupted upgrade)


def upgrade_vault(ctx: PlatformContext) -> VaultUpgraded:
    """Upgrade the vault at ``ctx.vault`` from version 1 or 2 to 3 (role platform; logged)."""
    path = resolve_vault_path(ctx.vault)
    cfg = VaultConfig.read(path, upgrading=True)
    stored = db_format(path)
    vault = Vault(path, cfg, store_format=stored)
    try:
        log = _bound_log(vault, ctx.audit_log)
        with open_session(
            keyring=ctx.keyring,
            identity=ctx.identity,
            log_path=log,
            passphrase=ctx.passphrase,
            clock=ctx.clock,
            operation="vault.upgrade",
            tokens=ctx.tokens,
        ) as session:
            ident = session.identity
            if ident is None or ident.key_id != cfg.platform_key_id:  # pragma: no cover
                ident = ctx.keyring.unlock(cfg.platform_id, ctx.passphrase(cfg.platform_id))
            n = _upgrade(vault, ident, stored=stored[0], record=session.record)
    finally:
        vault.close()
    return VaultUpgraded(str(path), cfg.id, FORMAT, n)


def _upgrade(
    vault: Vault, platform: Identity, *, stored: str, record: Callable[..., object]
) -> int:
    kek = vault._unwrap_kek(platform)  # commitment and the old configuration MAC checked
    secret = log_service_secret(vault.config.audit_path)  # before anything is changed
    vault._unlock_with(kek)
    cfg = vault.config
    objects: dict[str, Any] = {"ref": f"vault:{cfg.id}", "key_ids": [cfg.platform_key_id]}
    why = {"basis": f"{cfg.format} → {FORMAT}: row MACs, sealed row key (docs/vault.md §11)"}
    n = 0
    if stored == FORMAT_V1:

        def before_commit() -> None:
            nonlocal n
            n = vault.store.reseal_all()
            record("key.vault-upgrade", objects={**objects, "counts": {"records": n}}, why=why)

        vault.store.upgrade_schema(
            format=FORMAT, schema_version=SCHEMA_VERSION, before_commit=before_commit
        )
    else:  # version 2, or an interrupted upgrade: the rows have their MACs; check every one

        def check_all() -> None:
            for row in vault.store.record_rows():
                vault.store.check_row(row)
            record("key.vault-upgrade", objects=objects, why=why)

        vault.store.relabel(format=FORMAT, before_commit=check_all)
    new = seal_row_key(cfg, kek, secret)
    write_bytes_atomic(vault.path / CONFIG_FILE, new.to_bytes(), secret=True, owner="vault")
    return n
