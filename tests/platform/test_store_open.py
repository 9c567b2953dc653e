"""A store that is refused when it opens keeps no file open (Python 3.13 reports a leaked
connection as a ResourceWarning; a long-running service would run out of descriptors), and
says which file and why in xinan's own error (it was "internal error (DatabaseError)")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xinan.errors import IntegrityError, VerificationError
from xinan.platform.store.base import DB_FILE, KEYS_FILE, StoreBase, create_databases


def _open_files(folder: Path) -> list[str]:
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            out.append(target)
    return out


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
def test_a_refused_store_closes_both_databases(tmp_path: Path) -> None:
    create_databases(tmp_path, vault_id="v-1", format="xinan-vault/3", schema_version=2)
    assert _open_files(tmp_path) == []
    with pytest.raises(IntegrityError, match="does not belong"):
        StoreBase(tmp_path, vault_id="v-2", format="xinan-vault/3", schema_version=2)
    assert _open_files(tmp_path) == []
    with pytest.raises(VerificationError, match="schema version"):
        StoreBase(tmp_path, vault_id="v-1", format="xinan-vault/3", schema_version=9)
    assert _open_files(tmp_path) == []
    (tmp_path / KEYS_FILE).write_bytes(b"not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"{KEYS_FILE}{suffix}").unlink(missing_ok=True)
    with pytest.raises(VerificationError, match=r"keys\.db: the vault's database cannot be read"):
        StoreBase(tmp_path, vault_id="v-1", format="xinan-vault/3", schema_version=2)
    assert _open_files(tmp_path) == [], "vault.db stayed open after keys.db failed"
    good = tmp_path / "good"
    good.mkdir()
    create_databases(good, vault_id="v", format="xinan-vault/3", schema_version=2)
    store = StoreBase(good, vault_id="v", format="xinan-vault/3", schema_version=2)
    assert {DB_FILE, KEYS_FILE} <= {Path(p).name for p in _open_files(good)}
    store.close()
    assert _open_files(good) == []


def test_a_damaged_vault_database_is_named_by_the_cli(tmp_path: Path, monkeypatch) -> None:
    """`vault list` on a vault whose keys.db was overwritten: the file and SQLite's reason,
    exit 1, no traceback and no "internal error"."""
    from tests.support.worlds import build_world

    w = build_world(tmp_path, monkeypatch, people=3, kind="penalty")
    keys_db = w.vault / KEYS_FILE
    keys_db.write_bytes(b"not a database!!" * 512)
    for suffix in ("-wal", "-shm"):
        Path(f"{keys_db}{suffix}").unlink(missing_ok=True)
    r = w.run("plat", "platform", "vault", "list", "--vault", str(w.vault))
    assert r.exit_code == 1, r.output
    assert "keys.db: the vault's database cannot be read (file is not a database)" in r.output
    assert "internal error" not in r.output and "Traceback" not in r.output


def test_a_vault_another_process_is_writing_is_reported_busy(tmp_path: Path, monkeypatch) -> None:
    """In WAL mode a held write lock shows at BEGIN IMMEDIATE, not at open: xinan's error
    names the file and SQLite's reason, and neither database keeps a transaction open."""
    import sqlite3

    from xinan.platform.store import base

    monkeypatch.setattr(base, "BUSY_TIMEOUT", 0.2)
    create_databases(tmp_path, vault_id="v", format="xinan-vault/3", schema_version=2)
    store = StoreBase(tmp_path, vault_id="v", format="xinan-vault/3", schema_version=2)
    for held in (DB_FILE, KEYS_FILE):
        other = sqlite3.connect(tmp_path / held, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with (
                pytest.raises(VerificationError, match=r"the vault is busy \(database is locked\)"),
                store.both_transaction(),
            ):
                pass
            assert not store._db.in_transaction and not store._keys.in_transaction
        finally:
            other.execute("ROLLBACK")
            other.close()
    with store.both_transaction():  # free again
        pass
    store.close()
