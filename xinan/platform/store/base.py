"""The vault's two SQLite databases: files, schema, connections and transactions
(docs/vault.md §1, §3, §4, §12).

``vault.db`` holds packages, records (masked clear part and the provider's ciphertexts),
consents, grants, shares, revocations, objections and repairs; ``keys.db`` holds the wrapped
record keys and release secrets — apart, so that crypto-shredding one file destroys what
opens the other. Both are created 0600, in WAL mode with ``synchronous=FULL`` (a destroyed key
or a used grant must be durable) and ``secure_delete`` (freed pages are zeroed).

The connections are private to this package: every statement the platform runs is a named
method of :class:`~xinan.platform.store.Store`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from xinan.errors import IntegrityError, VerificationError

DB_FILE = "vault.db"
KEYS_FILE = "keys.db"

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE packages(
  package_id TEXT PRIMARY KEY, sender TEXT NOT NULL, sender_key_id TEXT NOT NULL,
  suite TEXT NOT NULL, kind TEXT NOT NULL, policy TEXT NOT NULL, created TEXT NOT NULL,
  records_digest TEXT NOT NULL, count INTEGER NOT NULL, clear_fields TEXT NOT NULL,
  sealed_fields TEXT NOT NULL, ingested_at TEXT NOT NULL, ingested_by TEXT NOT NULL);
CREATE TABLE records(
  record_id TEXT PRIMARY KEY, package_id TEXT NOT NULL REFERENCES packages(package_id),
  position INTEGER NOT NULL, kind TEXT NOT NULL, policy TEXT NOT NULL,
  subject_class TEXT NOT NULL, subjects TEXT NOT NULL, clear TEXT NOT NULL, sealed BLOB,
  decision_date TEXT, severity TEXT, valid_until TEXT, declared_end TEXT, end_of_act TEXT,
  domains TEXT, disputed_at TEXT, repaired_at TEXT, archived_at TEXT, destroyed_at TEXT,
  updated_at TEXT, ingested_at TEXT NOT NULL, mac BLOB NOT NULL);
CREATE INDEX records_kind ON records(kind);
CREATE INDEX records_package ON records(package_id);
CREATE TABLE record_subjects(
  pseudonym TEXT NOT NULL, record_id TEXT NOT NULL REFERENCES records(record_id)
  ON DELETE CASCADE, PRIMARY KEY(pseudonym, record_id)) WITHOUT ROWID;
CREATE INDEX record_subjects_record ON record_subjects(record_id);
CREATE TABLE consents(
  consent_id TEXT PRIMARY KEY, subject TEXT NOT NULL, querent TEXT NOT NULL,
  purpose TEXT NOT NULL, fields TEXT NOT NULL, valid_until TEXT NOT NULL, ref TEXT NOT NULL,
  created_at TEXT NOT NULL, created_by TEXT NOT NULL, revoked_at TEXT, revoked_by TEXT);
CREATE TABLE grants(
  jti TEXT PRIMARY KEY, querent TEXT NOT NULL, subjects TEXT NOT NULL, fields TEXT NOT NULL,
  purpose TEXT NOT NULL, consent_id TEXT NOT NULL REFERENCES consents(consent_id),
  policy TEXT NOT NULL, issued_at TEXT NOT NULL, not_before TEXT NOT NULL,
  expires TEXT NOT NULL, authorised_by TEXT NOT NULL, token_digest TEXT NOT NULL,
  revoked_at TEXT, shares INTEGER NOT NULL DEFAULT 0,
  records_shared INTEGER NOT NULL DEFAULT 0);
CREATE TABLE grant_uses(
  jti TEXT PRIMARY KEY, expires TEXT NOT NULL, used_at TEXT NOT NULL, share_id TEXT);
CREATE TABLE shares(
  share_id TEXT PRIMARY KEY, jti TEXT NOT NULL, querent TEXT NOT NULL, count INTEGER NOT NULL,
  records_digest TEXT NOT NULL, created TEXT NOT NULL, created_by TEXT NOT NULL);
CREATE TABLE revoked_grants(
  jti TEXT PRIMARY KEY, revoked_at TEXT NOT NULL, expires TEXT NOT NULL);
CREATE TABLE revocations(
  number INTEGER PRIMARY KEY, issued TEXT NOT NULL, next_update TEXT NOT NULL,
  body BLOB NOT NULL);
"""

_KEYS_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE record_keys(record_id TEXT PRIMARY KEY, wrapped BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE release_secrets(
  share_id TEXT NOT NULL, record_id TEXT NOT NULL, wrapped BLOB NOT NULL,
  PRIMARY KEY(share_id, record_id)) WITHOUT ROWID;
"""

# Objections, repairs and restrictions (docs/vault.md §12): tables added with IF NOT EXISTS,
# created on first use, so older vaults open unchanged.
LIFECYCLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS disputes(
  dispute_id TEXT PRIMARY KEY, record_id TEXT NOT NULL, subjects TEXT NOT NULL,
  raised_by TEXT NOT NULL, reason TEXT NOT NULL, track TEXT NOT NULL, received TEXT NOT NULL,
  deadline TEXT NOT NULL, opened_at TEXT NOT NULL, opened_by TEXT NOT NULL, outcome TEXT,
  corrected_fields TEXT, resolved_at TEXT, resolved_by TEXT);
CREATE INDEX IF NOT EXISTS disputes_record ON disputes(record_id);
CREATE TABLE IF NOT EXISTS repairs(
  repair_id TEXT PRIMARY KEY, record_id TEXT NOT NULL, subjects TEXT NOT NULL,
  commitment TEXT NOT NULL, obligations TEXT NOT NULL, earliest TEXT NOT NULL,
  applied_at TEXT NOT NULL, applied_by TEXT NOT NULL, state TEXT NOT NULL, decided_at TEXT,
  decided_by TEXT, reason TEXT);
CREATE INDEX IF NOT EXISTS repairs_record ON repairs(record_id);
CREATE TABLE IF NOT EXISTS restrictions(
  record_id TEXT PRIMARY KEY, subjects TEXT NOT NULL, requested_by TEXT NOT NULL,
  reason TEXT NOT NULL, received TEXT NOT NULL, restricted_at TEXT NOT NULL,
  restricted_by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pias(
  pia_id TEXT PRIMARY KEY, purpose TEXT NOT NULL, fields TEXT NOT NULL, ref TEXT NOT NULL,
  conclusion TEXT NOT NULL, assessed_on TEXT NOT NULL, created_at TEXT NOT NULL,
  created_by TEXT NOT NULL, keep_until TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS consent_bases(
  consent_id TEXT PRIMARY KEY, pia_id TEXT, basis TEXT);
CREATE TABLE IF NOT EXISTS outbox(
  seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, ref TEXT NOT NULL,
  record_id TEXT NOT NULL, subjects TEXT NOT NULL, recipient TEXT, body TEXT NOT NULL,
  created_at TEXT NOT NULL);
"""


def _statements(schema: str) -> list[str]:
    return [s for s in schema.split(";") if s.strip()]


def _create_private(path: Path) -> None:
    """Create an empty file with mode 0600 (SQLite gives -wal/-shm the same mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


# Seconds a write waits for another process's transaction before the vault is reported busy.
BUSY_TIMEOUT = 30.0


def _unreadable(path: Path, e: sqlite3.Error) -> VerificationError:
    """sqlite3's error on opening one of the vault's databases, as xinan's: the file and
    SQLite's reason ("file is not a database", "database is locked" …), never a traceback."""
    return VerificationError(
        f"{path}: the vault's database cannot be read ({e})",
        hint="if another xinan process has the vault open, wait for it to end; if the file is "
        "damaged, restore the vault from its backup (xinan vault restore)",
    )


def _begin(conn: sqlite3.Connection, path: Path) -> None:
    """BEGIN IMMEDIATE: the write lock, waited for up to BUSY_TIMEOUT seconds. In WAL
    mode a writer holding the vault shows here, not when the database is opened."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as e:
        raise VerificationError(
            f"{path}: the vault is busy ({e})",
            hint="another xinan process is writing to the vault: run the command again when "
            "it has finished; nothing was changed",
        ) from None


def _connect(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT)
    except sqlite3.Error as e:
        raise _unreadable(path, e) from None
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # a destroyed key or a used grant is durable
        conn.execute("PRAGMA secure_delete=ON")  # freed pages are zeroed (residual information)
        conn.execute("PRAGMA foreign_keys=ON")
        # 32 MiB of page cache (SQLite's default is 2 MiB): an ingest inserts into B-trees
        # keyed by random record ids, and a cache that holds their upper levels and the pages
        # a batch touches halves its time (bench/ingest.py); two databases stay well inside
        # the memory budget of docs/engine.md.
        conn.execute("PRAGMA cache_size=-32768")
    except sqlite3.Error as e:
        conn.close()  # not a database, or locked: nothing keeps the file open
        raise _unreadable(path, e) from None
    except BaseException:
        conn.close()
        raise
    return conn


def store_exists(path: Path) -> bool:
    return (path / DB_FILE).exists() or (path / KEYS_FILE).exists()


def db_format(path: Path) -> tuple[str, int]:
    """(format, schema version) that ``vault.db`` says it has (read only)."""
    try:
        conn = sqlite3.connect(f"file:{path / DB_FILE}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise _unreadable(path / DB_FILE, e) from None
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.Error as e:
        raise _unreadable(path / DB_FILE, e) from None
    finally:
        conn.close()
    try:
        return str(meta["format"]), int(meta["schema_version"])
    except (KeyError, ValueError):
        raise VerificationError(f"{path / DB_FILE}: no format in its meta table") from None


def create_databases(path: Path, *, vault_id: str, format: str, schema_version: int) -> None:
    """Create both databases, each with its ``meta`` rows, in one transaction per file."""
    for name, schema in ((DB_FILE, _SCHEMA), (KEYS_FILE, _KEYS_SCHEMA)):
        _create_private(path / name)
        conn = _connect(path / name)
        try:
            conn.execute("BEGIN")
            # statement by statement: executescript() would commit on its own
            for stmt in _statements(schema):
                conn.execute(stmt)
            conn.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ("format", format),
                    ("vault_id", vault_id),
                    ("schema_version", str(schema_version)),
                ],
            )
            conn.execute("COMMIT")
        finally:
            conn.close()


class StoreBase:
    """The two connections and the transactions over them."""

    def __init__(self, path: Path, *, vault_id: str, format: str, schema_version: int) -> None:
        self.path = path
        self._db = _connect(path / DB_FILE)
        try:
            self._keys = _connect(path / KEYS_FILE)
        except BaseException:
            self._db.close()
            raise
        try:
            for conn, name in ((self._db, DB_FILE), (self._keys, KEYS_FILE)):
                try:
                    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
                except sqlite3.Error as e:  # a database, but not a vault's
                    raise _unreadable(path / name, e) from None
                if meta.get("vault_id") != vault_id or meta.get("format") != format:
                    raise IntegrityError(f"{path / name} does not belong to vault {vault_id}")
                if meta.get("schema_version") != str(schema_version):
                    raise VerificationError(
                        f"{path / name}: schema version {meta.get('schema_version')} not supported"
                    )
        except BaseException:
            self.close()  # a refused or unreadable store keeps no file open
            raise
        self._lifecycle_ready = False

    def upgrade_schema(
        self, *, format: str, schema_version: int, before_commit: Callable[[], None]
    ) -> None:
        """Schema 1 → 2 (docs/vault.md §11): add ``records.mac`` (filled by the caller inside
        ``before_commit`` through :meth:`reseal_rows`) and relabel both databases' ``meta``.
        One transaction per database, the key store first, as in :meth:`both_transaction`."""
        with self.both_transaction():
            self._db.execute("ALTER TABLE records ADD COLUMN mac BLOB")
            for conn in (self._db, self._keys):
                conn.executemany(
                    "UPDATE meta SET value = ? WHERE key = ?",
                    [(format, "format"), (str(schema_version), "schema_version")],
                )
            before_commit()

    def relabel(self, *, format: str, before_commit: Callable[[], None]) -> None:
        """A new marker on both databases' ``meta`` (schema unchanged; docs/vault.md §11.2),
        one transaction per database; ``before_commit`` checks and logs inside them."""
        with self.both_transaction():
            for conn in (self._db, self._keys):
                conn.execute("UPDATE meta SET value = ? WHERE key = 'format'", (format,))
            before_commit()

    def close(self) -> None:
        self._db.close()
        self._keys.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction on vault.db: the caller logs inside it, so the audit entry
        is durable before the change is committed (and nothing commits if logging fails)."""
        _begin(self._db, self.path / DB_FILE)
        try:
            yield
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextmanager
    def both_transaction(self) -> Iterator[None]:
        """One write transaction on each database. The key store commits first: a crash
        between the two commits leaves keys of records that do not exist (shredded with
        them), never records without keys. Either rolls back on any error."""
        _begin(self._db, self.path / DB_FILE)
        try:
            _begin(self._keys, self.path / KEYS_FILE)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        try:
            yield
        except BaseException:
            for conn in (self._keys, self._db):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            raise
        self._keys.execute("COMMIT")
        self._db.execute("COMMIT")

    def _lifecycle(self) -> sqlite3.Connection:
        """vault.db with the objection and repair tables (§12) created when missing (on first
        use, outside a transaction: the operations open their transaction afterwards)."""
        if not self._lifecycle_ready and not self._db.in_transaction:
            for stmt in _statements(LIFECYCLE_SCHEMA):
                self._db.execute(stmt)
            self._lifecycle_ready = True
        return self._db
