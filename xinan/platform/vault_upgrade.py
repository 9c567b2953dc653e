"""Upgrading a ``xinan-vault/1`` vault to ``xinan-vault/2`` (docs/vault.md §11.1).

Version 2 adds the row MAC (§3.1). A version-1 vault is refused by every other command until
the platform upgrades it here, once, as a logged act: the vault key is unwrapped with the
platform key (its commitment and the configuration MAC checked as for any operation), every
record row gets its MAC in one transaction per database — the ``key.vault-upgrade`` audit
entry appended before the commit —, and ``vault.json`` is rewritten with the new marker and a
new configuration MAC. Rows cannot be checked before they have a MAC: the upgrade vouches for
the rows as they are when it runs, which is why it is an explicit, logged decision.

A crash after the databases committed and before ``vault.json`` was rewritten leaves version-2
databases under a version-1 configuration; running the upgrade again checks every row's MAC
and finishes the configuration.
"""

from __future__ import annotations

import dataclasses
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
    _mac_key,
    resolve_vault_path,
)


@dataclass(frozen=True)
class VaultUpgraded:
    path: str
    id: str
    format: str
    records: int  # rows that received their MAC (0 when finishing an interrupted upgrade)


def upgrade_vault(ctx: PlatformContext) -> VaultUpgraded:
    """Upgrade the vault at ``ctx.vault`` from version 1 to 2 (role platform; logged)."""
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
            n = _upgrade(vault, ident, done=stored[0] == FORMAT, record=session.record)
    finally:
        vault.close()
    return VaultUpgraded(str(path), cfg.id, FORMAT, n)


def _upgrade(vault: Vault, platform: Identity, *, done: bool, record: Callable[..., object]) -> int:
    kek = vault._unwrap_kek(platform)  # commitment and the version-1 configuration MAC checked
    vault._unlock_with(kek)
    cfg = vault.config
    objects: dict[str, Any] = {"ref": f"vault:{cfg.id}", "key_ids": [cfg.platform_key_id]}
    why = {"basis": f"{FORMAT_V1} → {FORMAT}: row MACs (docs/vault.md §11.1)"}
    n = 0
    if done:  # an interrupted upgrade: the rows have their MACs; check every one
        for row in vault.store.record_rows():
            vault.store.check_row(row)
        record("key.vault-upgrade", objects=objects, why=why)
    else:

        def before_commit() -> None:
            nonlocal n
            n = vault.store.reseal_all()
            record("key.vault-upgrade", objects={**objects, "counts": {"records": n}}, why=why)

        vault.store.upgrade_schema(
            format=FORMAT, schema_version=SCHEMA_VERSION, before_commit=before_commit
        )
    s = vault.suite
    new = dataclasses.replace(cfg, format=FORMAT, mac=b"")
    new = dataclasses.replace(new, mac=s.mac(_mac_key(s, kek, cfg.vid), new.mac_input()))
    write_bytes_atomic(vault.path / CONFIG_FILE, new.to_bytes(), secret=True, owner="vault")
    return n
