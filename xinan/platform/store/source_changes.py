"""Revocations and corrections from the source at rest (docs/source-change.md §5).

One row per (change, record): which change took the record out of every view, why, from whom,
when, and — for a correction — which record replaced it. The table is created on first use
(``IF NOT EXISTS``), so vaults made before it open unchanged; a destruction shreds its rows
with the record's (:meth:`~xinan.platform.store.lifecycle.LifecycleStore.lifecycle_tables`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xinan.platform.store.base import StoreBase, _statements

SOURCE_SCHEMA = """
CREATE TABLE IF NOT EXISTS source_changes(
  change_id TEXT NOT NULL, record_id TEXT NOT NULL, action TEXT NOT NULL, replaced_by TEXT,
  sender_key_id TEXT NOT NULL, decided TEXT NOT NULL, deadline TEXT NOT NULL,
  basis TEXT NOT NULL, applied_at TEXT NOT NULL, applied_by TEXT NOT NULL,
  PRIMARY KEY(change_id, record_id));
CREATE INDEX IF NOT EXISTS source_changes_record ON source_changes(record_id);
"""
SOURCE_COLUMNS = (
    "change_id, record_id, action, replaced_by, sender_key_id, decided, deadline, basis, "
    "applied_at, applied_by"
)


class SourceChangeStore(StoreBase):
    _source_ready = False

    def prepare_source_changes(self) -> None:
        """Create the table if missing (outside a transaction: call before opening one)."""
        if not self._source_ready and not self._db.in_transaction:
            for stmt in _statements(SOURCE_SCHEMA):
                self._db.execute(stmt)
            self._source_ready = True

    def source_change_rows(self, change_id: str) -> list[tuple[Any, ...]]:
        self.prepare_source_changes()
        return list(
            self._db.execute(
                f"SELECT {SOURCE_COLUMNS} FROM source_changes WHERE change_id = ? "  # noqa: S608  # nosec B608
                "ORDER BY rowid",
                (change_id,),
            )
        )

    def source_changes_of(self, record_id: str) -> list[tuple[Any, ...]]:
        self.prepare_source_changes()
        return list(
            self._db.execute(
                f"SELECT {SOURCE_COLUMNS} FROM source_changes WHERE record_id = ? "  # noqa: S608  # nosec B608
                "ORDER BY applied_at",
                (record_id,),
            )
        )

    def insert_source_changes(self, rows: Sequence[Sequence[Any]]) -> None:
        """Rows of :data:`SOURCE_COLUMNS`, inside the caller's transaction."""
        self._db.executemany(
            f"INSERT INTO source_changes({SOURCE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",  # noqa: S608  # nosec B608
            [tuple(r) for r in rows],
        )

    def set_replaced_by(self, change_id: str, pairs: Sequence[tuple[str, str]]) -> None:
        """(old record, new record) links of a correction, inside the caller's transaction."""
        self._db.executemany(
            "UPDATE source_changes SET replaced_by = ? WHERE change_id = ? AND record_id = ?",
            [(new, change_id, old) for old, new in pairs],
        )

    def package_record_ids(self, package_id: str) -> list[str]:
        """The ids of a package's records in the package's order."""
        return [
            str(r)
            for (r,) in self._db.execute(
                "SELECT record_id FROM records WHERE package_id = ? ORDER BY position",
                (package_id,),
            )
        ]
