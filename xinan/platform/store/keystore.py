"""The key store ``keys.db`` (docs/vault.md §4): wrapped record keys and release secrets.

Values here are opaque blobs, wrapped under the vault key by :mod:`xinan.platform.vault`; the
store never sees a key in clear.
"""

from __future__ import annotations

from collections.abc import Sequence

from xinan.platform.store.base import StoreBase


class KeyStore(StoreBase):
    def wrapped_record_key(self, record_id: str) -> bytes | None:
        row = self._keys.execute(
            "SELECT wrapped FROM record_keys WHERE record_id = ?", (record_id,)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def begin_keys(self) -> None:
        """Open the key store's own write transaction (a share's release secrets, committed
        with the share's bookkeeping by :meth:`commit_both`)."""
        self._keys.execute("BEGIN IMMEDIATE")

    def commit_both(self) -> None:
        """Commit the key store, then vault.db (as :meth:`both_transaction` does)."""
        self._keys.execute("COMMIT")
        self._db.execute("COMMIT")

    def rollback_both(self) -> None:
        for conn in (self._keys, self._db):
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def insert_release_secrets(self, rows: Sequence[tuple[str, str, bytes]]) -> None:
        """(share id, record id, wrapped secret) rows, inside the key store's transaction."""
        self._keys.executemany("INSERT INTO release_secrets VALUES (?, ?, ?)", rows)

    def release_secret_rows(self, share_id: str) -> list[tuple[str, bytes]]:
        """(record id, wrapped secret) of one share, by record id; destroyed records have none."""
        return [
            (str(r), bytes(w))
            for r, w in self._keys.execute(
                "SELECT record_id, wrapped FROM release_secrets WHERE share_id = ? "
                "ORDER BY record_id",
                (share_id,),
            )
        ]

    def release_secrets_of(self, record_id: str) -> list[tuple[str, bytes]]:
        """(share id, wrapped secret) of one record, for the digests of a destruction."""
        return [
            (str(s), bytes(w))
            for s, w in self._keys.execute(
                "SELECT share_id, wrapped FROM release_secrets WHERE record_id = ?", (record_id,)
            )
        ]
