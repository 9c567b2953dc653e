"""Consistent copies of the vault's two databases, for backups (docs/backup.md §7).

Owns the one SQL-level operation a backup needs: SQLite's online backup API copies each
database page by page into a new private file while other connections keep working. Does not
own what an archive holds or how it is sealed (:mod:`xinan.platform.backup`).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from xinan.platform.store.base import DB_FILE, KEYS_FILE, StoreBase


def _copy(src: sqlite3.Connection, target: Path) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        src.backup(dst)
        # one self-contained file: no -wal beside it (the archive holds single files)
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()


class SnapshotStore(StoreBase):
    def snapshot(self, into: Path) -> tuple[Path, Path]:
        """Copy ``vault.db``, then ``keys.db``, into the directory ``into`` (new files, 0600).

        In this order on purpose: every write commits ``keys.db`` before ``vault.db``
        (docs/vault.md §5) and a destruction shreds keys before data, so the copies can only
        show a state a crash could also leave — keys without records, or records whose key
        was already destroyed — never records missing keys they still had."""
        db, keys = into / DB_FILE, into / KEYS_FILE
        _copy(self._db, db)
        _copy(self._keys, keys)
        return db, keys
