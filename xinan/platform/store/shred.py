"""Shredding rows of the vault's SQLite databases (docs/destruction.md §7).

This module owns overwriting and deleting rows (or leaving a tombstone), the checks that make
that stick (WAL mode, ``secure_delete``), purging the WAL, and the digests of what is about to
be destroyed. It works on a connection the store hands it and never hands one out: callers
outside :mod:`xinan.platform.store` go through :class:`~xinan.platform.store.Store`.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from xinan.crypto.recipes import hash_function
from xinan.errors import (  # re-exported: the classes live in xinan.errors
    PurgeIncomplete,
    UsageError,
)

_SQL_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
BUSY_TIMEOUT_MS = 5_000


@dataclass(frozen=True)
class ShredTarget:
    """Rows of one table to destroy, named by their key column (unique or not).

    Without ``tombstone`` each row is overwritten and deleted. With ``tombstone`` (column →
    value) the row stays: only the columns named are overwritten, then set to the values given
    (e.g. ``{"sealed": None, "clear": "[]", "subjects": "[]", "destroyed_at": t}``) — a record
    that is gone but whose id is remembered.
    """

    table: str
    key_column: str
    ids: tuple[str | int, ...]
    tombstone: Mapping[str, object] | None = None


@dataclass(frozen=True)
class PurgeResult:
    """``PRAGMA wal_checkpoint(TRUNCATE)``: busy (0 = done), WAL frames, frames checkpointed."""

    busy: int
    wal_frames: int
    checkpointed: int
    vacuum: str = "none"


@dataclass(frozen=True)
class ShredResult:
    """What :func:`shred_many` did: rows destroyed (deleted, or tombstoned) per table, bytes
    overwritten, and ``missing``: requested ids that had no row."""

    deleted: Mapping[str, int]
    overwritten_bytes: int
    missing: Mapping[str, tuple[str | int, ...]]
    purge: PurgeResult | None = None


def _quote(name: str) -> str:
    if not _SQL_NAME.match(name):
        raise UsageError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


def _columns(conn: sqlite3.Connection, table: str) -> tuple[list[str], list[str]]:
    """The table's columns, and the columns that address one row (its primary key in order,
    else ``rowid``)."""
    info = list(conn.execute(f"PRAGMA table_info({_quote(table)})"))
    if not info:
        raise UsageError(f"no table {table!r} in the database")
    cols = [str(r[1]) for r in info]
    pk = [str(r[1]) for r in sorted((r for r in info if r[5]), key=lambda r: int(r[5]))]
    return cols, pk or ["rowid"]


def _require_wal_and_secure_delete(conn: sqlite3.Connection, busy_timeout_ms: int) -> None:
    mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    if mode != "wal":
        raise UsageError(
            f"shredding needs a database in WAL mode (this one is in {mode!r})",
            hint="open the database with PRAGMA journal_mode=WAL (docs/destruction.md §7)",
        )
    conn.execute("PRAGMA secure_delete=ON")
    if conn.execute("PRAGMA secure_delete").fetchone()[0] != 1:
        raise UsageError("this SQLite build cannot turn secure_delete on; refusing to shred")
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")


def _check_vacuum(conn: sqlite3.Connection, vacuum: str) -> None:
    if vacuum not in ("none", "incremental", "full"):
        raise UsageError(f"vacuum must be none, incremental or full, not {vacuum!r}")
    # PRAGMA auto_vacuum: 0 none, 1 full, 2 incremental (fixed when the database is created)
    if vacuum == "incremental" and conn.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
        raise UsageError(
            "incremental vacuum needs a database created with PRAGMA auto_vacuum=INCREMENTAL"
        )


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def shred_many(
    conn: sqlite3.Connection,
    targets: Sequence[ShredTarget],
    *,
    vacuum: str = "none",
    before_commit: Callable[[ShredResult], None] | None = None,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
) -> ShredResult:
    """Overwrite, delete, commit, then purge the WAL (docs/destruction.md §7).

    One transaction for every target. ``before_commit`` runs after the rows are overwritten
    and deleted but before ``COMMIT`` (the vault appends its audit entry there); if it raises,
    the transaction rolls back and nothing is destroyed. Raises :class:`PurgeIncomplete` if the
    rows were committed but the WAL could not be truncated.
    """
    if conn.in_transaction:
        raise UsageError("shred runs its own transaction: commit or roll back first")
    _require_wal_and_secure_delete(conn, busy_timeout_ms)
    _check_vacuum(conn, vacuum)  # before anything is destroyed
    plan = []
    for t in targets:
        cols, pk = _columns(conn, t.table)
        if t.key_column not in cols:
            raise UsageError(f"table {t.table!r} has no column {t.key_column!r}")
        keep = dict(t.tombstone or {})
        for c in keep:
            if c not in cols or c == t.key_column or c in pk:
                raise UsageError(f"tombstone column {c!r} is not a data column of {t.table!r}")
        # what is overwritten: the tombstone's columns, else every non-key column
        data = list(keep) if t.tombstone is not None else [c for c in cols if c not in pk]
        plan.append((t, pk, [c for c in data if c != t.key_column], keep))
    deleted: dict[str, int] = {}
    missing: dict[str, tuple[str | int, ...]] = {}
    overwritten = 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        for t, pk, data, keep in plan:
            # SQL identifiers cannot be parameters: they are checked plain names (_quote);
            # every value is a parameter
            table, key = _quote(t.table), _quote(t.key_column)
            where = " AND ".join(f"{_quote(c)} IS ?" if c != "rowid" else "rowid = ?" for c in pk)
            probe = ", ".join(
                [*(_quote(c) if c != "rowid" else "rowid" for c in pk)]
                + [f"typeof({_quote(c)}), length(CAST({_quote(c)} AS BLOB))" for c in data]
            )
            select = f"SELECT {probe} FROM {table} WHERE {key} = ?"  # noqa: S608  # nosec B608
            delete = f"DELETE FROM {table} WHERE {where}"  # noqa: S608  # nosec B608
            finish = ", ".join(f"{_quote(c)} = ?" for c in keep)
            tomb = f"UPDATE {table} SET {finish} WHERE {where}"  # noqa: S608  # nosec B608
            gone: list[str | int] = []
            n = 0
            for rid in t.ids:
                rows = conn.execute(select, (rid,)).fetchall()
                if not rows:
                    gone.append(rid)
                for row in rows:
                    addr, probed = tuple(row[: len(pk)]), row[len(pk) :]
                    sets: list[str] = []
                    values: list[object] = []
                    for j, c in enumerate(data):
                        kind, size = probed[2 * j], probed[2 * j + 1]
                        if kind == "blob":
                            values.append(os.urandom(size))
                        elif kind == "text":
                            # same byte length, ASCII, so TEXT columns of STRICT tables take it
                            values.append(secrets.token_hex((size + 1) // 2)[:size])
                        else:
                            continue
                        sets.append(f"{_quote(c)} = ?")
                        overwritten += size
                    if sets:
                        update = f"UPDATE {table} SET {', '.join(sets)} WHERE {where}"  # noqa: S608  # nosec B608
                        conn.execute(update, (*values, *addr))
                    if t.tombstone is not None:
                        if keep:
                            conn.execute(tomb, (*keep.values(), *addr))
                    else:
                        conn.execute(delete, addr)
                    n += 1
            deleted[t.table] = deleted.get(t.table, 0) + n
            if gone:
                missing[t.table] = tuple(gone)
        result = ShredResult(deleted, overwritten, missing)
        if before_commit is not None:
            before_commit(result)
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise
    return ShredResult(
        deleted, overwritten, missing, purge(conn, vacuum=vacuum, busy_timeout_ms=busy_timeout_ms)
    )


def shred(
    conn: sqlite3.Connection,
    table: str,
    key_column: str,
    ids: Iterable[str | int],
    *,
    vacuum: str = "none",
    before_commit: Callable[[ShredResult], None] | None = None,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
) -> ShredResult:
    """Shred the rows of one table whose ``key_column`` is in ``ids`` (see :func:`shred_many`)."""
    return shred_many(
        conn,
        [ShredTarget(table, key_column, tuple(ids))],
        vacuum=vacuum,
        before_commit=before_commit,
        busy_timeout_ms=busy_timeout_ms,
    )


def purge(
    conn: sqlite3.Connection,
    *,
    vacuum: str = "none",
    attempts: int = 3,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
) -> PurgeResult:
    """Truncate the WAL so it holds no old page images; optionally vacuum (docs §7).

    Waits for readers up to ``busy_timeout_ms`` per attempt; raises :class:`PurgeIncomplete`
    if one still holds an old snapshot after ``attempts``."""
    if conn.in_transaction:
        raise UsageError("purge needs no open transaction on this connection")
    _require_wal_and_secure_delete(conn, busy_timeout_ms)
    _check_vacuum(conn, vacuum)
    if vacuum == "incremental":
        conn.execute("PRAGMA incremental_vacuum").fetchall()
    elif vacuum == "full":
        conn.execute("VACUUM")
    row = (1, -1, -1)
    for i in range(max(1, attempts)):
        row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if row[0] == 0:
            break
        time.sleep(0.05 * (i + 1))
    result = PurgeResult(int(row[0]), int(row[1]), int(row[2]), vacuum)
    if result.busy:
        raise PurgeIncomplete(
            "the WAL could not be checkpointed and truncated: another connection is reading",
            result=result,
        )
    return result


def row_digests(
    conn: sqlite3.Connection,
    table: str,
    key_column: str,
    column: str,
    ids: Iterable[str | int],
    *,
    hash: str = "sha256",
) -> dict[str | int, bytes]:
    """``H`` over ``column`` of each row, as stored (docs/destruction.md §3.4). Take them before
    shredding. TEXT is hashed as its UTF-8 bytes; NULL and missing rows are left out."""
    digest = hash_function(hash)
    col, tab, key = _quote(column), _quote(table), _quote(key_column)
    sql = f"SELECT CAST({col} AS BLOB) FROM {tab} WHERE {key} = ?"  # noqa: S608  # nosec B608
    out: dict[str | int, bytes] = {}
    for rid in ids:
        row = conn.execute(sql, (rid,)).fetchone()
        if row is not None and row[0] is not None:
            out[rid] = digest(bytes(row[0]))
    return out
