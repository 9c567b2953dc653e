"""The platform's store: every SQL statement of the vault, and nothing else.

This package is the only importer of :mod:`sqlite3` in xinan, and no connection leaves it:
the vault, the life-cycle operations and the destruction job call the named methods of one
:class:`Store`. What a row means (models, crypto, policy) is decided by the callers; what the
tables are and how rows are written, read, changed and shredded is decided here.

* :mod:`~xinan.platform.store.base` — files, schema, connections, transactions;
* :mod:`~xinan.platform.store.records` — packages and records, status changes;
* :mod:`~xinan.platform.store.access` — consents, grants, shares, revocation lists;
* :mod:`~xinan.platform.store.keystore` — wrapped record keys and release secrets;
* :mod:`~xinan.platform.store.lifecycle` — objections and repair applications;
* :mod:`~xinan.platform.store.shred` — shredding rows, purging the WAL, digests first;
* :mod:`~xinan.platform.store.snapshot` — consistent copies of both databases (backups);
* :mod:`~xinan.platform.store.source_changes` — revocations and corrections from the source.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xinan.errors import DuplicateRecord
from xinan.platform.store.access import AccessStore
from xinan.platform.store.base import (
    DB_FILE,
    KEYS_FILE,
    create_databases,
    db_format,
    store_exists,
)
from xinan.platform.store.keystore import KeyStore
from xinan.platform.store.lifecycle import LifecycleStore
from xinan.platform.store.records import STATUS_COLUMNS, RecordStore
from xinan.platform.store.shred import ShredResult, ShredTarget, row_digests, shred_many
from xinan.platform.store.snapshot import SnapshotStore
from xinan.platform.store.source_changes import SourceChangeStore

__all__ = [
    "DB_FILE",
    "KEYS_FILE",
    "STATUS_COLUMNS",
    "DuplicateRecord",
    "Store",
    "create_databases",
    "db_format",
    "store_exists",
]


class Store(RecordStore, AccessStore, KeyStore, LifecycleStore, SnapshotStore, SourceChangeStore):
    """Both databases of one vault, opened after their ``meta`` rows name that vault."""

    def __repr__(self) -> str:
        return f"<Store {self.path}>"

    # -- destruction (docs/destruction.md §2, §7) ------------------------------------------------
    def destruction_digests(
        self, record_ids: Sequence[str], *, hash: str
    ) -> tuple[dict[str | int, bytes], dict[str | int, bytes]]:
        """``H`` of each record's ciphertexts and of its wrapped key, as stored, taken before
        they are shredded (the certificate names what was destroyed)."""
        sealed = row_digests(self._db, "records", "record_id", "sealed", record_ids, hash=hash)
        wrapped = row_digests(
            self._keys, "record_keys", "record_id", "wrapped", record_ids, hash=hash
        )
        return sealed, wrapped

    def shred_record_keys(
        self, record_ids: Sequence[str], *, before_commit: Callable[[object], None]
    ) -> ShredResult:
        """Overwrite and delete the records' keys and release secrets: once these rows are
        gone nothing opens the records, anywhere. ``before_commit`` writes the audit entry."""
        ids = tuple(record_ids)
        return shred_many(
            self._keys,
            [
                ShredTarget("record_keys", "record_id", ids),
                ShredTarget("release_secrets", "record_id", ids),
            ],
            before_commit=before_commit,
        )

    def shred_record_data(self, record_ids: Sequence[str], *, destroyed_at: str) -> ShredResult:
        """Overwrite the records' ciphertexts, clear part and subjects; the id stays as a
        tombstone (``destroyed_at``). Objection and repair rows go too: they hold the record's
        pseudonyms and staff text."""
        ids = tuple(record_ids)
        lifecycle = [ShredTarget(t, "record_id", ids) for t in self.lifecycle_tables()]
        result = shred_many(
            self._db,
            [
                *lifecycle,
                ShredTarget("record_subjects", "record_id", ids),
                ShredTarget(
                    "records",
                    "record_id",
                    ids,
                    tombstone={
                        "sealed": None,
                        "clear": "[]",
                        "subjects": "[]",
                        "destroyed_at": destroyed_at,
                    },
                ),
            ],
        )
        # the tombstones carry their own row MAC (docs/vault.md §3.1); until this commits a
        # read of them fails closed
        with self.transaction():
            self.reseal_rows(ids)
        return result
