"""Packages and records at rest (docs/vault.md §3, §5): rows in, rows out, status changes.

Rows come back as tuples in the order of :data:`RECORD_COLUMNS`; the vault turns them into
:class:`~xinan.platform.vault.StoredRecord`. Only fixed column names and ``?`` placeholders
are ever interpolated into SQL; every value is a bound parameter.

Row integrity (docs/vault.md §3.1): every record row carries ``mac``, the vault's row MAC over
:func:`row_mac_input` of its other columns. The key is the vault's, never the store's: the
vault hands the store a MAC function (:meth:`RecordStore.set_row_mac`) once its key is
unwrapped. Every status change here checks the row's MAC *before* it changes the row and
writes the new MAC in the same statement's transaction, so a row edited outside xinan is
never re-blessed by a later legitimate change; without the MAC function a change is refused.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from xinan.errors import (  # re-exported: the classes live in xinan.errors
    DuplicateRecord,
    IntegrityError,
    KeyringError,
)
from xinan.platform.store.base import StoreBase

STATUS_COLUMNS = ("disputed_at", "repaired_at", "archived_at", "destroyed_at")
#: The columns the row MAC covers, in the order :func:`row_mac_input` encodes them; a read
#: returns them in this order followed by ``mac`` (so ``row[:MAC_AT]`` is the MAC's input).
MAC_COLUMNS = (
    "record_id",
    "package_id",
    "kind",
    "subject_class",
    "subjects",
    "clear",
    "sealed",
    "decision_date",
    "severity",
    "valid_until",
    "declared_end",
    "end_of_act",
    "domains",
    "disputed_at",
    "repaired_at",
    "archived_at",
    "destroyed_at",
    "position",
    "policy",
    "ingested_at",
)
MAC_AT = len(MAC_COLUMNS)
RECORD_COLUMNS = ", ".join(MAC_COLUMNS) + ", mac"
_RECORD_SELECT = ", ".join(f"r.{c}" for c in MAC_COLUMNS) + ", r.mac"
RowMac = Callable[[Sequence[Any]], bytes]


_LENGTHS = struct.Struct(f">{MAC_AT}I")
_TYPES: dict[type, int] = {type(None): 0, int: 1, str: 2, bytes: 3, bytearray: 3, memoryview: 3}


def row_mac_input(label: bytes, values: Sequence[Any]) -> bytes:
    """The canonical bytes of a record row (docs/vault.md §3.1): ``label`` (the format's row
    label and the vault id), one type byte per column of :data:`MAC_COLUMNS` (0 NULL, 1
    integer, 2 text, 3 blob), the 20 contents' lengths as u32, then the contents (an integer
    as i64, a text as UTF-8, a blob as is, NULL as nothing). Fixed columns, typed and
    length-prefixed: no two rows share an encoding."""
    if len(values) != MAC_AT:
        raise ValueError("a record row has 20 covered columns")
    try:
        types = bytes([_TYPES[type(v)] for v in values])
    except KeyError:
        raise TypeError("a record row holds a value of no column type") from None
    parts = [
        v.encode("utf-8")
        if type(v) is str
        else b""
        if v is None
        else v.to_bytes(8, "big", signed=True)
        if type(v) is int
        else bytes(v)
        for v in values
    ]
    return b"".join((label, types, _LENGTHS.pack(*map(len, parts)), *parts))


def _equal(a: bytes, b: bytes) -> bool:
    return secrets.compare_digest(a, b)  # constant time: no early exit on a differing byte


_LIVE = " AND ".join(f"r.{c} IS NULL" for c in STATUS_COLUMNS)
_IN_CHUNK = 500  # bound parameters per IN (...) list


class RecordStore(StoreBase):
    _row_mac: RowMac | None = None
    _on_bad_row: Callable[[str], None] | None = None

    # -- row integrity (docs/vault.md §3.1) --------------------------------------------------
    def set_row_mac(self, mac: RowMac | None, on_bad_row: Callable[[str], None] | None) -> None:
        """The vault's row MAC (None: locked) and what to call, with the record id, before a
        row that fails its MAC is refused (the vault logs it)."""
        self._row_mac = mac
        self._on_bad_row = on_bad_row

    def row_mac(self, values: Sequence[Any]) -> bytes:
        if self._row_mac is None:
            raise KeyringError(
                "the vault is locked: record integrity cannot be checked or kept",
                hint="unlock the vault with the platform identity first",
            )
        return self._row_mac(values)

    def check_row(self, row: Sequence[Any]) -> None:
        """Raise IntegrityError (after telling the vault) unless ``row`` — a read in
        :data:`RECORD_COLUMNS` order — carries its own MAC."""
        want = self.row_mac(row[:MAC_AT])
        got = row[MAC_AT]
        if not isinstance(got, bytes) or not _equal(want, got):
            rid = str(row[0])
            if self._on_bad_row is not None:
                self._on_bad_row(rid)
            raise IntegrityError(
                f"vault record {rid!r}: integrity check failed — the row was changed outside "
                "xinan; it is not used",
                hint="restore the record from a verified backup; the failure is in the audit log",
            )

    def reseal_all(self) -> int:
        """Give every record row its MAC (the version 1 → 2 upgrade, docs/vault.md §11.1)."""
        n = 0
        last = -1
        while True:
            rows = self._db.execute(
                f"SELECT rowid, {RECORD_COLUMNS} FROM records WHERE rowid > ? "  # noqa: S608  # nosec B608
                "ORDER BY rowid LIMIT 2000",
                (last,),
            ).fetchall()
            if not rows:
                return n
            self._db.executemany(
                "UPDATE records SET mac = ? WHERE rowid = ?",
                [(self.row_mac(r[1 : 1 + MAC_AT]), r[0]) for r in rows],
            )
            n += len(rows)
            last = rows[-1][0]

    def _checked_update(self, record_id: str, sql: str, args: Sequence[Any]) -> None:
        """Run one UPDATE of a record row: its MAC checked before, rewritten after (inside the
        caller's transaction when there is one)."""
        row = self.record_row(record_id)
        if row is None:
            return
        self.check_row(row)
        self._db.execute(sql, (*args, record_id))
        self.reseal_rows([record_id])

    def reseal_rows(self, record_ids: Sequence[str]) -> None:
        """Write the MAC of rows xinan itself just changed (a status change, a tombstone)."""
        for rid in record_ids:
            row = self.record_row(rid)
            if row is not None:
                self._db.execute(
                    "UPDATE records SET mac = ? WHERE record_id = ?",
                    (self.row_mac(row[:MAC_AT]), rid),
                )

    # -- packages ------------------------------------------------------------------------------
    def package_summary(self, package_id: str) -> tuple[str, int, str, str, str] | None:
        """(records digest, count, kind, sender, sender key id) of an ingested package."""
        row = self._db.execute(
            "SELECT records_digest, count, kind, sender, sender_key_id FROM packages "
            "WHERE package_id = ?",
            (package_id,),
        ).fetchone()
        return None if row is None else (str(row[0]), int(row[1]), row[2], row[3], row[4])

    def insert_package(
        self,
        *,
        package_id: str,
        sender: str,
        sender_key_id: str,
        suite: str,
        kind: str,
        policy: str,
        clear_fields: Sequence[str],
        sealed_fields: Sequence[str],
        ingested_at: str,
        ingested_by: str,
    ) -> None:
        """The package row goes first (records reference it); its facts are completed by
        :meth:`complete_package` from the verified package, in the same transaction."""
        self._db.execute(
            "INSERT INTO packages VALUES (?,?,?,?,?,?,?,'',0,?,?,?,?)",
            (
                package_id,
                sender,
                sender_key_id,
                suite,
                kind,
                policy,
                "",
                json.dumps(list(clear_fields), ensure_ascii=False),
                json.dumps(list(sealed_fields), ensure_ascii=False),
                ingested_at,
                ingested_by,
            ),
        )

    def complete_package(
        self, package_id: str, *, suite: str, created: str, records_digest: str, count: int
    ) -> None:
        self._db.execute(
            "UPDATE packages SET suite = ?, created = ?, records_digest = ?, count = ? "
            "WHERE package_id = ?",
            (suite, created, records_digest, count, package_id),
        )

    def package_fields(self, package_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(clear fields, sealed fields) of a package, in the package's order."""
        row = self._db.execute(
            "SELECT clear_fields, sealed_fields FROM packages WHERE package_id = ?", (package_id,)
        ).fetchone()
        return tuple(json.loads(row[0])), tuple(json.loads(row[1]))

    # -- records -------------------------------------------------------------------------------
    def insert_records(
        self,
        rows: Sequence[tuple[Any, ...]],
        subjects: Sequence[tuple[str, str]],
        keys: Sequence[tuple[str, bytes]],
    ) -> None:
        """One batch of ingested records (each in :data:`RECORD_COLUMNS` order, its MAC last),
        their subject pseudonyms and wrapped record keys (inside :meth:`both_transaction`)."""
        if not rows:
            return
        try:
            self._db.executemany(
                f"INSERT INTO records({RECORD_COLUMNS}) "  # noqa: S608  # nosec B608
                f"VALUES ({','.join('?' * (MAC_AT + 1))})",
                rows,
            )
            self._db.executemany("INSERT INTO record_subjects VALUES (?, ?)", subjects)
        except sqlite3.IntegrityError:
            raise DuplicateRecord("a record id is already in the vault") from None
        self._keys.executemany("INSERT OR REPLACE INTO record_keys VALUES (?, ?)", keys)

    def record_rows(
        self,
        *,
        kind: str | None = None,
        subject: str | None = None,
        shareable_only: bool = False,
        limit: int | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """Record rows by kind and/or subject pseudonym, in ingest order."""
        sql = f"SELECT {_RECORD_SELECT} FROM records r"  # noqa: S608  # nosec B608
        where: list[str] = []
        args: list[Any] = []
        if subject is not None:
            where.append(
                "r.record_id IN (SELECT record_id FROM record_subjects WHERE pseudonym = ?)"
            )
            args.append(subject)
        if kind is not None:
            where.append("r.kind = ?")
            args.append(kind)
        if shareable_only:
            where.append(_LIVE)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY r.rowid"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        yield from self._db.execute(sql, args)

    def record_row(self, record_id: str) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._db.execute(
            f"SELECT {RECORD_COLUMNS} FROM records r WHERE record_id = ?",  # noqa: S608  # nosec B608
            (record_id,),
        ).fetchone()
        return row

    def count_package_records(self, package_id: str) -> int:
        """Records of one package the vault holds: stored (its rejected records never were)
        and not destroyed since (a destroyed record's row is a tombstone without data)."""
        return int(
            self._db.execute(
                "SELECT count(*) FROM records WHERE package_id = ? AND destroyed_at IS NULL",
                (package_id,),
            ).fetchone()[0]
        )

    def count_package_destroyed(self, package_id: str) -> int:
        """Records of one package stored once and destroyed since (their tombstones)."""
        return int(
            self._db.execute(
                "SELECT count(*) FROM records WHERE package_id = ? AND destroyed_at IS NOT NULL",
                (package_id,),
            ).fetchone()[0]
        )

    def count_package_classes(self, package_id: str) -> dict[str, int]:
        """Records of one package the vault holds, by subject class."""
        rows = self._db.execute(
            "SELECT subject_class, count(*) FROM records WHERE package_id = ? "
            "AND destroyed_at IS NULL GROUP BY subject_class ORDER BY subject_class",
            (package_id,),
        ).fetchall()
        return {str(c): int(n) for c, n in rows}

    def count_package_subjects(self, package_id: str) -> int:
        """Distinct subjects (keyed pseudonyms) of the records of one package the vault holds
        (destruction shreds a record's subjects too; the condition says so here as well)."""
        return int(
            self._db.execute(
                "SELECT count(DISTINCT s.pseudonym) FROM record_subjects s "
                "JOIN records r ON r.record_id = s.record_id "
                "WHERE r.package_id = ? AND r.destroyed_at IS NULL",
                (package_id,),
            ).fetchone()[0]
        )

    def record_ids_from(self, prefix: str, limit: int) -> list[str]:
        """Record ids that begin with ``prefix`` (at most ``limit``), by the primary key's
        order: a typed short id (xinan/short_ids.py) without a scan."""
        rows = self._db.execute(
            "SELECT record_id FROM records WHERE record_id >= ? AND record_id < ? "
            "ORDER BY record_id LIMIT ?",
            (prefix, prefix + "\U0010ffff", int(limit)),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def count_records(self, kind: str | None = None) -> int:
        if kind is not None:  # a pass's size, for progress (xinan/progress.py)
            sql = "SELECT count(*) FROM records WHERE kind = ?"
            return int(self._db.execute(sql, (kind,)).fetchone()[0])
        return int(self._db.execute("SELECT count(*) FROM records").fetchone()[0])

    def _shared_where(
        self, subjects: Sequence[str], withheld_kinds: Sequence[str]
    ) -> tuple[str, list[Any]]:
        # Only fixed column names and '?' placeholders are interpolated; values are bound.
        marks = ",".join("?" * len(subjects))
        base = f"FROM records r WHERE r.record_id IN (SELECT record_id FROM record_subjects WHERE pseudonym IN ({marks})) AND {_LIVE}"  # noqa: E501,S608  # nosec B608
        args: list[Any] = list(subjects)
        if withheld_kinds:
            base += f" AND r.kind NOT IN ({','.join('?' * len(withheld_kinds))})"
            args += list(withheld_kinds)
        return base, args

    def shareable_packages(
        self, subjects: Sequence[str], withheld_kinds: Sequence[str]
    ) -> list[tuple[str, str]]:
        """(package id, kind) of the live records of these subjects outside withheld kinds."""
        base, args = self._shared_where(subjects, withheld_kinds)
        sql = f"SELECT DISTINCT r.package_id, r.kind {base}"  # nosec B608
        return [(str(p), str(k)) for p, k in self._db.execute(sql, args)]

    def shareable_rows(
        self, subjects: Sequence[str], withheld_kinds: Sequence[str]
    ) -> Iterator[tuple[Any, ...]]:
        """Record rows of the live records of these subjects outside withheld kinds."""
        base, args = self._shared_where(subjects, withheld_kinds)
        sql = f"SELECT {_RECORD_SELECT} {base} ORDER BY r.rowid"  # nosec B608
        yield from self._db.execute(sql, args)

    def live_record_ids(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` still in every view: not disputed, repaired, archived or destroyed."""
        status = " AND ".join(f"{c} IS NULL" for c in STATUS_COLUMNS)
        live: set[str] = set()
        for i in range(0, len(ids), _IN_CHUNK):
            chunk = list(ids[i : i + _IN_CHUNK])
            sql = (
                f"SELECT record_id FROM records WHERE record_id IN ({','.join('?' * len(chunk))}) "  # noqa: S608  # nosec B608
                f"AND {status}"
            )
            live.update(r[0] for r in self._db.execute(sql, chunk))
        return live

    def archived_record_ids(self) -> list[str]:
        return [
            str(r[0])
            for r in self._db.execute(
                "SELECT record_id FROM records WHERE archived_at IS NOT NULL ORDER BY rowid"
            )
        ]

    # -- status changes (docs/lifecycle.md) -----------------------------------------------------
    def set_disputed(self, record_id: str, at: str) -> None:
        self._checked_update(
            record_id,
            "UPDATE records SET disputed_at = coalesce(disputed_at, ?), updated_at = ? "
            "WHERE record_id = ?",
            (at, at),
        )

    def clear_disputed(self, record_id: str, at: str) -> None:
        self._checked_update(
            record_id,
            "UPDATE records SET disputed_at = NULL, updated_at = ? WHERE record_id = ?",
            (at,),
        )

    def correct_record(
        self, record_id: str, *, clear: Sequence[str], facts: dict[str, Any], at: str
    ) -> None:
        """A corrected clear part and its facts; the objection flag is lifted."""
        self._checked_update(
            record_id,
            "UPDATE records SET clear = ?, decision_date = ?, severity = ?, valid_until = ?, "
            "declared_end = ?, disputed_at = NULL, updated_at = ? WHERE record_id = ?",
            (
                json.dumps(list(clear), ensure_ascii=False),
                facts["decision_date"],
                facts["severity"],
                facts["valid_until"],
                facts["declared_end"],
                at,
            ),
        )

    def set_archived(self, record_id: str, at: str) -> None:
        self._checked_update(
            record_id,
            "UPDATE records SET archived_at = coalesce(archived_at, ?), updated_at = ? "
            "WHERE record_id = ?",
            (at, at),
        )

    def set_repaired(self, record_id: str, at: str) -> None:
        self._checked_update(
            record_id,
            "UPDATE records SET repaired_at = ?, archived_at = coalesce(archived_at, ?), "
            "updated_at = ? WHERE record_id = ?",
            (at, at, at),
        )
