"""Crypto-shredding destruction through the command line (issue 7, part 4), with an injected
clock: records past their retention are destroyed by the security administrator, the key store
and the database files hold no trace of their keys, the certificate verifies against the
platform's audit log, and the log still verifies."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest

from tests.support.worlds import PASS, build_world
from xinan.keys import Keyring
from xinan.platform.destruction import residue_scan, sqlite_files
from xinan.platform.retention import expired_records
from xinan.platform.vault import Vault
from xinan.policy.catalogue import load_policy

AS_OF = date(2032, 6, 1)  # five years after the end of some of the synthetic acts, not all


@contextlib.contextmanager
def _unlocked(w: Any) -> Iterator[Vault]:
    """The vault unlocked with the platform key: records are read with their row MAC checked
    (docs/vault.md §3.1)."""
    with Vault.open(w.vault) as v:
        v.unlock(Keyring(w.ring("plat")).unlock("platform", PASS))
        yield v


@pytest.fixture()
def world(tmp_path, monkeypatch, fast_kdf):
    return build_world(tmp_path, monkeypatch, kind="penalty", people=40)


def _wrapped_keys(w) -> dict[str, bytes]:
    conn = sqlite3.connect(w.vault / "keys.db")
    try:
        return {r: bytes(k) for r, k in conn.execute("SELECT record_id, wrapped FROM record_keys")}
    finally:
        conn.close()


def _at(w, monkeypatch, day: date) -> None:
    w.clock.now = datetime(day.year, day.month, day.day, 2, 0, tzinfo=w.clock.now.tzinfo)
    monkeypatch.setenv("XINAN_TODAY", day.isoformat())


def test_destroy_expired_leaves_no_trace_and_certifies(world, monkeypatch):
    w = world
    with _unlocked(w) as v:
        due = {d.record.record_id for d in expired_records(v, load_policy(None), AS_OF)}
        total = v.count()
    assert 0 < len(due) < total  # the date splits the records
    keys_before = _wrapped_keys(w)
    _at(w, monkeypatch, AS_OF)

    r = w.run("plat", "platform", "destroy", "--yes", "--expired", "--vault", str(w.vault))
    assert r.exit_code == 77  # only the security administrator destroys (三权分立)

    out = w.js("plat", "secadm", "destroy", "--yes", "--expired", "--vault", str(w.vault))
    assert set(out["record_ids"]) == due and out["destroyed"] == len(due)
    cert = out["certificates"][0]

    # nothing opens them: their wrapped keys are gone from keys.db, its WAL and the data db
    files = [*sqlite_files(w.vault / "keys.db"), *sqlite_files(w.vault / "vault.db")]
    gone = [keys_before[r] for r in due]
    kept = [k for r, k in keys_before.items() if r not in due]
    assert residue_scan(files, gone) == []
    assert residue_scan(files, kept[:3])  # the scan does find what is still there
    with _unlocked(w) as v:
        assert all(v.get(r).status["destroyed_at"] for r in due)
        assert all(v.get(r).clear == {} and v.get(r).blobs == () for r in due)

    # the certificate verifies, and matches its entry in the platform's signed log
    r = w.run("plat", None, "destroy", "verify", cert, "--audit-log", str(w.log("plat")))
    assert r.exit_code == 0, r.output
    assert "matches audit entry" in r.output
    assert w.run("plat", None, "audit", "verify").exit_code == 0
    destroy_entries = [e for e in w.entries("plat") if e["type"] == "destroy"]
    assert len(destroy_entries) == 1
    assert sorted(destroy_entries[0]["objects"]["record_ids"]) == sorted(due)

    # a second run on the same day has nothing left to do
    again = w.js("plat", "secadm", "destroy", "--yes", "--expired", "--vault", str(w.vault))
    assert again["destroyed"] == 0


def test_destroy_one_record_with_a_reason(world, monkeypatch, tmp_path):
    w = world
    with _unlocked(w) as v:
        rid = next(v.records()).record_id
    out = w.js(
        "plat", "secadm", "destroy", "--yes", "--record", rid, "--reason", "异议核实后依法删除",
        "--vault", str(w.vault), "-o", str(tmp_path / "cert.json"),
    )  # fmt: skip
    assert out["record_ids"] == [rid]
    doc = json.loads((tmp_path / "cert.json").read_text(encoding="utf-8"))
    assert doc["format"] == "xinan-destruction/1"
    assert doc["certificate"]["rule"]["kind"] == "manual"
    r = w.run("plat", None, "destroy", "verify", str(tmp_path / "cert.json"),
              "--audit-log", str(w.log("plat")))  # fmt: skip
    assert r.exit_code == 0, r.output
    r = w.run(
        "plat", "secadm", "destroy", "--yes", "--record", rid, "--reason", "again",
        "--vault", str(w.vault),
    )  # fmt: skip
    assert r.exit_code == 2 and "already destroyed" in r.output


def test_destroy_refuses_a_reason_with_a_clear_identifier(world):
    w = world
    with _unlocked(w) as v:
        rid = next(v.records()).record_id
    ident = w.person(0)["证件号码"] or w.person(0)["法定代表人证件号码"]
    r = w.run("plat", "secadm", "destroy", "--yes", "--record", rid,
              "--reason", f"删除{ident}", "--vault", str(w.vault))  # fmt: skip
    assert r.exit_code != 0 and ident not in r.output
    with _unlocked(w) as v:
        assert v.get(rid).status["destroyed_at"] is None


def test_destroy_needs_a_target(world):
    r = world.run("plat", "secadm", "destroy", "--vault", str(world.vault))
    assert r.exit_code == 2 and "--expired" in r.output


def test_nothing_due_today(world):
    out = world.js("plat", "secadm", "destroy", "--yes", "--expired", "--vault", str(world.vault))
    assert out["destroyed"] == 0


def test_destroy_clears_the_objection_history_of_the_record(world):
    w = world
    with _unlocked(w) as v:
        rid = next(r.record_id for r in v.records() if r.subject_class.value == "legal")
    d = w.js("plat", "platform", "dispute", "open", rid, "--reason", "处罚已撤销", "--by", "某公司",
             "--vault", str(w.vault))  # fmt: skip
    w.ok("plat", "platform", "dispute", "resolve", d["id"], "--outcome", "removed",
         "--vault", str(w.vault))  # fmt: skip
    w.ok("plat", "secadm", "destroy", "--yes", "--record", rid, "--reason", "异议核实后删除",
         "--vault", str(w.vault))  # fmt: skip
    conn = sqlite3.connect(w.vault / "vault.db")
    try:
        assert (
            conn.execute("SELECT count(*) FROM disputes WHERE record_id = ?", (rid,)).fetchone()[0]
            == 0
        )
    finally:
        conn.close()


def test_destroy_previews_and_scripts_must_say_yes(world, monkeypatch):
    """Issue 15: `destroy --record` shredded an active record at once, with no preview."""
    w = world
    _at(w, monkeypatch, AS_OF)
    with _unlocked(w) as v:
        due = {d.record.record_id for d in expired_records(v, load_policy(None), AS_OF)}
    out = w.js("plat", "secadm", "destroy", "--expired", "--dry-run", "--vault", str(w.vault))
    assert out["dry_run"] is True and out["destroyed"] == 0
    assert {d["record_id"] for d in out["due"]} == due
    # off a terminal, without --yes: refused before any key is unlocked, with the way out
    r = w.run("plat", "secadm", "destroy", "--expired", "--vault", str(w.vault))
    assert r.exit_code == 2 and "--yes" in r.output and "--dry-run" in r.output
    with _unlocked(w) as v:
        assert not any(v.get(rid).status["destroyed_at"] for rid in due)
    assert "destroy" not in [e["type"] for e in w.entries("plat")]


def test_ingesting_again_after_a_destruction_counts_the_record_as_destroyed(world, tmp_path):
    """The package is still in the vault's ledger, so ingesting it again changes nothing — the
    destroyed record is not brought back — and the summary says what the vault holds now: the
    tombstone is counted as destroyed, not as held (docs/vault.md §5 step 2)."""
    w = world
    with _unlocked(w) as v:
        rid = next(v.records()).record_id
    w.js(
        "plat", "secadm", "destroy", "--yes", "--record", rid, "--reason", "异议核实后依法删除",
        "--vault", str(w.vault), "-o", str(tmp_path / "cert.json"),
    )  # fmt: skip
    data = w.js("plat", "platform", "vault", "ingest", str(w.package), "--vault", str(w.vault))
    n = len(w.people)
    assert data["already_ingested"] is True
    assert data["in_package"] == n and data["rejected"] == 0
    assert data["destroyed"] == 1 and data["records"] == n - 1
    assert sum(data["classes"].values()) == data["records"]
    assert 0 < data["subjects"] <= data["records"]
    with _unlocked(w) as v:
        assert v.get(rid).status["destroyed_at"] and v.get(rid).clear == {}
    r = w.run("plat", "platform", "vault", "ingest", str(w.package), "--vault", str(w.vault))
    assert r.exit_code == 0 and "nothing changed (1 of its records destroyed since)" in r.output
