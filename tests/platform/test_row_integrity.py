"""Row integrity at rest (issue 12 item 5, docs/vault.md §3.1).

The issue's measurement: changing 严重 to 轻微 directly in vault.db went through silently and
shortens how long the record stays public (GB/T 22239-2019 8.1.4.7 b). Every stored record now
carries a MAC over its canonical bytes under a key derived from the vault key, checked on every
read; a mismatch fails closed, names the record and is logged.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.sqlite import edit_db
from tests.support.worlds import PASS, World, build_world
from xinan.errors import IntegrityError, VerificationError
from xinan.keys import Keyring
from xinan.platform.store.records import MAC_COLUMNS
from xinan.platform.vault import Vault

pytestmark = pytest.mark.usefixtures("fast_kdf")


def _world(tmp_path: Path, monkeypatch: Any) -> World:
    return build_world(tmp_path, monkeypatch, people=12, kind="penalty")


def _db(w: World) -> AbstractContextManager[sqlite3.Connection]:
    return edit_db(w.vault / "vault.db")


def _serious(w: World) -> str:
    with _db(w) as con:
        row = con.execute("SELECT record_id FROM records WHERE severity = '严重'").fetchone()
    assert row is not None, "the synthetic penalties hold a serious one"
    return str(row[0])


def _v(w: World, actor: str, *args: str) -> Any:
    return w.run("plat", actor, "vault", *args, "--vault", str(w.vault))


def _row_mac_entries(w: World) -> list[dict[str, Any]]:
    return [
        e
        for e in w.entries("plat")
        if e["type"] == "open"
        and e["outcome"] == "failed"
        and str(e["objects"].get("ref", "")).endswith(":row-mac")
    ]


def test_severity_edited_in_the_database_fails_every_read_and_is_logged(
    tmp_path: Path, monkeypatch: Any
) -> None:
    w = _world(tmp_path, monkeypatch)
    rid = _serious(w)
    assert _v(w, "platform", "show", rid).exit_code == 0
    with _db(w) as con:  # what the issue did: 严重 → 轻微, in the fact and in the clear part
        con.execute(
            "UPDATE records SET severity = '轻微', clear = replace(clear, '严重', '轻微') "
            "WHERE record_id = ?",
            (rid,),
        )
    for args in (["show", rid], ["list"], ["disclose", "--audience", "public", "-o", "p.csv"]):
        r = _v(w, "platform", *args)
        assert r.exit_code == 1, (args, r.output)
        assert rid in r.output and "integrity" in r.output
    assert not (w.root / "p.csv").exists()
    r = _v(w, "secadm", "list")  # the security administrator's listing too
    assert r.exit_code == 1 and rid in r.output
    logged = _row_mac_entries(w)
    assert len(logged) >= 4
    assert all(e["objects"]["record_ids"] == [rid] for e in logged)


def test_a_dispute_on_a_tampered_record_is_refused_and_does_not_reseal_it(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """A legitimate status change checks the row first: an edited row is not re-blessed."""
    w = _world(tmp_path, monkeypatch)
    rid = _serious(w)
    with _db(w) as con:
        con.execute("UPDATE records SET severity = '一般' WHERE record_id = ?", (rid,))
    r = w.run(
        "plat", "platform", "dispute", "open", rid, "--vault", str(w.vault),
        "--by", "某某公司", "--reason", "处罚决定已撤销",
    )  # fmt: skip
    assert r.exit_code == 1, r.output
    with _db(w) as con:
        con.execute("UPDATE records SET severity = '严重' WHERE record_id = ?", (rid,))
    # restored byte for byte: the record reads again (the MAC was never rewritten)
    assert _v(w, "platform", "show", rid).exit_code == 0


def test_status_changes_by_xinan_keep_the_mac(tmp_path: Path, monkeypatch: Any) -> None:
    w = _world(tmp_path, monkeypatch)
    rid = _serious(w)
    r = w.run(
        "plat", "platform", "dispute", "open", rid, "--vault", str(w.vault),
        "--by", "某某公司", "--reason", "处罚决定已撤销",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert _v(w, "platform", "show", rid).exit_code == 0
    with _db(w) as con:  # lifting the objection flag by hand is caught like any other edit
        con.execute("UPDATE records SET disputed_at = NULL WHERE record_id = ?", (rid,))
    assert _v(w, "platform", "show", rid).exit_code == 1


def test_a_row_copied_under_another_id_or_vault_fails(tmp_path: Path, monkeypatch: Any) -> None:
    w = _world(tmp_path, monkeypatch)
    with _db(w) as con:
        a, b = (r[0] for r in con.execute("SELECT record_id FROM records LIMIT 2"))
        mac_a = con.execute("SELECT mac FROM records WHERE record_id = ?", (a,)).fetchone()[0]
        con.execute("UPDATE records SET mac = ? WHERE record_id = ?", (mac_a, b))
    r = _v(w, "platform", "show", b)
    assert r.exit_code == 1 and b in r.output
    assert _v(w, "platform", "show", a).exit_code == 0


_EDITS = [c for c in MAC_COLUMNS if c not in ("record_id",)] + ["mac"]


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(column=st.sampled_from(_EDITS), salt=st.binary(min_size=1, max_size=4))
def test_any_change_to_any_covered_column_fails_closed(
    tmp_path: Path, monkeypatch: Any, column: str, salt: bytes
) -> None:
    w = _world(tmp_path, monkeypatch)
    ring = Keyring(w.ring("plat"))
    with _db(w) as con:
        rid, old = con.execute(f"SELECT record_id, {column} FROM records LIMIT 1").fetchone()
        if isinstance(old, bytes):
            new: Any = old + salt
        elif isinstance(old, int):
            new = old + 1 + salt[0]
        elif old is None:
            new = "2026-01-01"
        else:
            new = old + salt.hex()
        con.execute(f"UPDATE records SET {column} = ? WHERE record_id = ?", (new, rid))
    with Vault.open(w.vault) as v:
        v.unlock(ring.unlock("platform", PASS))
        with pytest.raises(IntegrityError, match=rid):
            v.get(rid)
        with pytest.raises(IntegrityError):
            list(v.records())


def test_a_locked_vault_does_not_hand_out_unchecked_records(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """A version-3 vault reads records with the row key the platform service holds (§3.2):
    without the log's service secret nothing is handed out; a version-2 vault without the
    platform key neither."""
    from xinan.audit.config import load_audit_config, service_paths
    from xinan.errors import AuditError, KeyringError

    w = _world(tmp_path, monkeypatch)
    log = w.log("plat")
    secret = service_paths(log, load_audit_config(log))[1]
    moved = secret.with_name("elsewhere")
    secret.rename(moved)
    with Vault.open(w.vault) as v, pytest.raises(AuditError, match="service secret"):
        next(v.records())
    moved.rename(secret)
    with Vault.open(w.vault) as v:
        assert next(v.records()).record_id
        assert not v.is_unlocked
    _as_version(w, "xinan-vault/2")
    with Vault.open(w.vault) as v, pytest.raises(KeyringError, match="locked"):
        next(v.records())


def test_a_version_1_vault_is_refused_with_a_hint(tmp_path: Path, monkeypatch: Any) -> None:
    w = _world(tmp_path, monkeypatch)
    cfg = json.loads((w.vault / "vault.json").read_text("utf-8"))
    assert cfg["format"] == "xinan-vault/3"
    cfg["format"] = "xinan-vault/1"
    (w.vault / "vault.json").write_text(json.dumps(cfg), "utf-8")
    with pytest.raises(VerificationError, match="upgrade") as e:
        Vault.open(w.vault)
    assert "vault upgrade" in (e.value.hint or "")
    r = _v(w, "platform", "list")
    assert r.exit_code != 0 and "vault upgrade" in r.output


def _as_version_1(w: World) -> None:
    _as_version(w, "xinan-vault/1")


def _as_version(w: World, marker: str) -> None:
    """Turn the world's vault into the layout an older version had: version 1 without the
    ``records.mac`` column, both databases' meta saying ``marker`` (schema 1 for version 1),
    and a ``vault.json`` with that marker and without the sealed row key, under a
    configuration MAC recomputed with the vault key (what that version wrote)."""
    import dataclasses

    from xinan.platform.vault_config import VaultConfig, _mac_key

    v1 = marker == "xinan-vault/1"
    for name in ("vault.db", "keys.db"):
        con = sqlite3.connect(w.vault / name)
        with con:
            if name == "vault.db" and v1:
                con.execute("ALTER TABLE records DROP COLUMN mac")
            con.execute("UPDATE meta SET value = ? WHERE key = 'format'", (marker,))
            if v1:
                con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        con.close()
    ring = Keyring(w.ring("plat"))
    cfg = VaultConfig.read(w.vault)
    v = Vault(w.vault, cfg, store_format=(marker, 1 if v1 else 2))
    try:
        kek = v._unwrap_kek(ring.unlock("platform", PASS))
    finally:
        v.close()
    old = dataclasses.replace(
        cfg, format=marker, mac=b"", row_key_sealed=b"", row_key_commitment=b"", mac_row=b""
    )
    old = dataclasses.replace(
        old, mac=v.suite.mac(_mac_key(v.suite, kek, cfg.vid), old.mac_input())
    )
    (w.vault / "vault.json").write_bytes(old.to_bytes())


def test_a_version_1_vault_is_upgraded_once_by_the_platform_and_logged(
    tmp_path: Path, monkeypatch: Any
) -> None:
    w = _world(tmp_path, monkeypatch)
    with _db(w) as con:
        n = con.execute("SELECT count(*) FROM records").fetchone()[0]
    _as_version_1(w)
    r = _v(w, "platform", "list")
    assert r.exit_code == 1 and "vault upgrade" in r.output
    assert _v(w, "secadm", "upgrade").exit_code == 77  # the platform's act, not an admin's
    out = json.loads(_v(w, "platform", "upgrade", "--json").stdout)
    assert out["format"] == "xinan-vault/3" and out["records"] == n
    e = [x for x in w.entries("plat") if x["type"] == "key.vault-upgrade"]
    assert len(e) == 1 and e[0]["objects"]["counts"] == {"records": n}
    assert json.loads((w.vault / "vault.json").read_text("utf-8"))["format"] == "xinan-vault/3"
    assert len(_v(w, "platform", "list", "--json").stdout) > 0
    assert _v(w, "platform", "list").exit_code == 0
    assert _v(w, "platform", "upgrade").exit_code == 2  # once
    rid = _serious(w)
    with _db(w) as con:
        con.execute("UPDATE records SET severity = '轻微' WHERE record_id = ?", (rid,))
    assert _v(w, "platform", "show", rid).exit_code == 1


def test_a_version_2_vault_still_opens_and_is_upgraded_to_the_sealed_row_key(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """docs/vault.md §11.2: a version-2 vault opens as before (its reads unlock the platform
    key); `vault upgrade` (the platform, logged) checks every row and seals the row key, after
    which the security administrator lists records without the platform key."""
    from tests.keys.test_separation import NoPlatformPassphrase, platform_as

    w = _world(tmp_path, monkeypatch)
    _as_version(w, "xinan-vault/2")
    assert _v(w, "platform", "list").exit_code == 0  # still opens
    with platform_as(w, "secadm", lambda _what: PASS) as p:
        p.list_records(limit=1)
        assert p.vault.is_unlocked  # version 2: the row key derives from the vault key
    rid = _serious(w)
    with _db(w) as con:  # an edited row is not blessed by the upgrade
        con.execute("UPDATE records SET severity = '轻微' WHERE record_id = ?", (rid,))
    r = _v(w, "platform", "upgrade")
    assert r.exit_code == 1 and rid in r.output
    assert json.loads((w.vault / "vault.json").read_text("utf-8"))["format"] == "xinan-vault/2"
    with _db(w) as con:
        con.execute("UPDATE records SET severity = '严重' WHERE record_id = ?", (rid,))
    out = json.loads(_v(w, "platform", "upgrade", "--json").stdout)
    assert out["format"] == "xinan-vault/3" and out["records"] == 0
    e = [x for x in w.entries("plat") if x["type"] == "key.vault-upgrade"]
    assert len(e) == 1 and "xinan-vault/2 → xinan-vault/3" in e[0]["why"]["basis"]
    with platform_as(w, "secadm", NoPlatformPassphrase("secadm")) as p:
        assert len(p.list_records(limit=3)) == 3
        assert not p.vault.is_unlocked
    assert _v(w, "platform", "upgrade").exit_code == 2  # once
