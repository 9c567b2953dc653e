"""The vault (docs/vault.md): layout, KEK and config integrity, ingest (idempotent, sealed at
rest, no clear identifiers), lookups by record id and subject pseudonym, roles."""

from __future__ import annotations

import json
import sqlite3
import stat

import pytest

from tests.support.worlds import PASS, build_world
from xinan.errors import IntegrityError, KeyringError
from xinan.keys import Keyring
from xinan.platform.vault import Vault, parse_duration, resolve_fields


@pytest.fixture()
def world(tmp_path, monkeypatch, fast_kdf):
    return build_world(tmp_path, monkeypatch)


def _rows(w):
    con = sqlite3.connect(w.vault / "vault.db")
    try:
        return {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("packages", "records", "record_subjects")
        }
    finally:
        con.close()


def test_layout_modes_and_config(world):
    w = world
    for name in ("vault.json", "vault.db", "keys.db"):
        mode = stat.S_IMODE((w.vault / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    cfg = json.loads((w.vault / "vault.json").read_text("utf-8"))
    assert list(cfg) == [
        "format", "id", "created", "suite", "policy", "platform", "pseudonym", "kek", "audit",
        "row_key", "mac", "mac_row",
    ]  # fmt: skip
    assert cfg["audit"]["origin"] and cfg["policy"].startswith("credit-default@")
    assert "#" in cfg["policy"]  # the policy file's digest is bound too
    assert cfg["format"] == "xinan-vault/3" and cfg["policy"].startswith("credit-default@")
    assert cfg["platform"]["id"] == "platform" and cfg["pseudonym"]["id"] == "subject-ps"
    con = sqlite3.connect(w.vault / "vault.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_config_tamper_and_foreign_key_store_are_caught(world):
    w = world
    plat = Keyring(w.ring("plat")).unlock("platform", PASS)
    p = w.vault / "vault.json"
    good = p.read_bytes()
    cfg = json.loads(good)
    cfg["pseudonym"]["key_id"] = "xs1" + "a" * 24
    p.write_text(json.dumps(cfg, ensure_ascii=False, indent=2) + "\n")
    with Vault.open(w.vault) as v, pytest.raises(IntegrityError, match="altered"):
        v.unlock(plat)
    p.write_bytes(good)
    with Vault.open(w.vault) as v:
        v.unlock(plat)
        rec = next(v.records())
        assert v.open_sealed(rec)  # opens
    sec = Keyring(w.ring("plat")).unlock("secadm", PASS)
    with Vault.open(w.vault) as v, pytest.raises(KeyringError):
        v.unlock(sec)
    # a key row moved to another record does not open (aad binds vault id and record id)
    con = sqlite3.connect(w.vault / "keys.db")
    ids = [r[0] for r in con.execute("SELECT record_id FROM record_keys LIMIT 2")]
    w0 = con.execute("SELECT wrapped FROM record_keys WHERE record_id=?", (ids[0],)).fetchone()[0]
    con.execute("UPDATE record_keys SET wrapped=? WHERE record_id=?", (w0, ids[1]))
    con.commit()
    con.close()
    with Vault.open(w.vault) as v:
        v.unlock(plat)
        with pytest.raises(IntegrityError, match="did not open"):
            v.record_key(ids[1])


def test_ingest_twice_changes_nothing(world):
    w = world
    before = _rows(w)
    keys_before = (w.vault / "keys.db").read_bytes()
    data = w.js("plat", "platform", "vault", "ingest", str(w.package), "--vault", str(w.vault))
    assert data["already_ingested"] is True and data["records"] == len(w.people)
    # the summary says what the vault holds of it, not an empty ingest
    assert sum(data["classes"].values()) == data["records"]
    assert 0 < data["subjects"] <= data["records"]
    assert (
        _rows(w)
        == before
        == {
            "packages": 1,
            "records": len(w.people),
            "record_subjects": len(w.people),
        }
    )
    assert (w.vault / "keys.db").read_bytes() == keys_before
    assert [e["type"] for e in w.entries("plat")].count("ingest") == 1


def test_vault_files_hold_no_clear_sensitive_values(world):
    w = world
    raw = b"".join(
        (w.vault / n).read_bytes()
        for n in ("vault.db", "vault.db-wal", "keys.db", "keys.db-wal", "vault.json")
        if (w.vault / n).exists()
    )
    assert len(raw) > 10_000
    sealed = ("证件号码", "手机号码", "固定电话", "银行账号", "现住址", "户籍地址", "电子邮箱")
    for person in w.people:
        for col in sealed:
            v = person[col]
            if len(v) >= 6:
                assert v.encode() not in raw, col
    # and the clear part is the masked submission view (names stay; they are not sealed)
    assert w.people[0]["姓名"].encode() in raw


def test_list_and_show_by_subject_are_masked_and_audited(world):
    w = world
    p = w.person(2)
    data = w.js(
        "plat", "platform", "vault", "list", "--vault", str(w.vault), "--subject", p["证件号码"]
    )
    assert len(data["records"]) == 1
    rec = data["records"][0]
    assert rec["fields"]["证件号码"] == "〔密封〕" and rec["subject_class"] == "natural"
    shown = w.js("plat", "platform", "vault", "show", rec["record_id"], "--vault", str(w.vault))
    f = shown["fields"]
    assert f["证件号码"] == p["证件号码"][0] + "*" * 16 + p["证件号码"][-1]  # keep(1,1)
    assert f["手机号码"] == p["手机号码"][:3] + "****" + p["手机号码"][-4:]  # keep(3,4)
    assert f["姓名"].endswith("*")
    assert p["证件号码"] not in json.dumps(shown, ensure_ascii=False)
    opens = [e for e in w.entries("plat") if e["type"] == "open"]
    assert opens[-1]["objects"]["record_ids"] == [rec["record_id"]]
    assert opens[-1]["subjects"] == rec["subjects"] and opens[-2]["subjects"] == rec["subjects"]
    log = w.log("plat").read_text("utf-8")
    assert p["证件号码"] not in log
    # the sec-admin may read too; the audit-admin and the sys-admin may not (deny by default)
    assert w.run("plat", "secadm", "vault", "list", "--vault", str(w.vault)).exit_code == 0
    for actor in ("auditadm", "sysadm"):
        r = w.run("plat", actor, "vault", "list", "--vault", str(w.vault))
        assert r.exit_code == 77 and "may not vault.read" in r.output
    assert w.entries("plat")[-1]["outcome"] == "denied"


def test_roles_for_init_ingest_share_consent(world):
    w = world
    other = w.root / "v2"
    r = w.run(
        "plat", "platform", "vault", "init", "--vault", str(other), "--platform", "platform",
        "--pseudonym-key", "subject-ps",
    )  # fmt: skip
    assert r.exit_code == 77 and not other.exists()
    r = w.run("plat", "secadm", "vault", "ingest", str(w.package), "--vault", str(w.vault))
    assert r.exit_code == 77
    r = w.run("plat", "auditadm", "consent", "list", "--vault", str(w.vault))
    assert r.exit_code == 77
    r = w.run(
        "plat", "secadm", "share", "--grant", str(w.package), "-o", "x", "--vault", str(w.vault)
    )
    assert r.exit_code == 77
    denied = [e for e in w.entries("plat") if e["type"] == "denied"]
    assert [e["objects"]["ref"] for e in denied][-4:] == [
        "operation:vault.init",
        "operation:vault.ingest",
        "operation:consent",
        "operation:share",
    ]


def test_legal_persons_are_found_by_uscc(tmp_path, monkeypatch, fast_kdf):
    w = build_world(tmp_path, monkeypatch, people=12, kind="company")
    c = w.people[5]
    data = w.js(
        "plat", "platform", "vault", "list", "--vault", str(w.vault),
        "--subject", c["统一社会信用代码"],
    )  # fmt: skip
    assert len(data["records"]) == 1 and data["records"][0]["subject_class"] == "legal"
    assert data["records"][0]["fields"]["企业名称"] == c["企业名称"]


def test_penalty_lifecycle_facts_and_status_columns(tmp_path, monkeypatch, fast_kdf):
    w = build_world(tmp_path, monkeypatch, people=20, kind="penalty")
    data = w.js("plat", "platform", "vault", "list", "--vault", str(w.vault), "--limit", "20")
    assert len(data["records"]) == 20
    for rec, row in zip(data["records"], w.people, strict=True):
        assert rec["facts"].get("decision_date") == row["处罚决定日期"]
        assert rec["facts"].get("severity") == row["违法行为严重程度"]
        assert rec["status"] == {}
    con = sqlite3.connect(w.vault / "vault.db")
    cols = {r[1] for r in con.execute("PRAGMA table_info(records)")}
    con.close()
    assert {"disputed_at", "repaired_at", "archived_at", "destroyed_at", "end_of_act"} <= cols


def test_disputed_or_destroyed_records_are_not_shared(world):
    w = world
    p = w.person(0)
    consent = w.consent(p["证件号码"])
    assert w.grant(p["证件号码"], consent).exit_code == 0
    con = sqlite3.connect(w.vault / "vault.db")
    con.execute("UPDATE records SET disputed_at = '2026-11-25T00:00:00Z'")
    con.commit()
    con.close()
    data = w.js(
        "plat", "platform", "share", "--vault", str(w.vault),
        "--grant", str(w.root / "bank.grant"), "-o", str(w.root / "s.xpkg"),
    )  # fmt: skip
    assert data["records"] == 0 and data["kind"] == "none"


def test_ingest_refuses_wrong_sender_role_and_foreign_recipient(world):
    w = world
    # a package sealed by the provider to someone else is not for this vault
    export = w.root / "prov" / "person.csv"
    w.ok("prov", "provsa", "keys", "add", str(w.ring("bank") / "public" / "bank.pub"))
    w.ok("prov", "amr", "seal", str(export), "-o", str(w.root / "b.xpkg"), "--to", "bank")
    r = w.run(
        "plat", "platform", "vault", "ingest", str(w.root / "b.xpkg"), "--vault", str(w.vault)
    )
    assert r.exit_code == 1 and "not addressed" in r.output
    e = [x for x in w.entries("plat") if x["type"] == "ingest"][-1]
    assert e["outcome"] == "failed"


def test_helpers():
    assert parse_duration("30s").total_seconds() == 30
    assert parse_duration("7d").days == 7
    with pytest.raises(Exception, match="duration"):
        parse_duration("1y")
    from tests.conftest import POLICY_FILE
    from xinan.policy.catalogue import load_policy

    pol = load_policy(POLICY_FILE)
    assert resolve_fields(pol, ["mobile", "现住址"]) == ("手机号码", "现住址")
    with pytest.raises(Exception, match="several columns"):
        resolve_fields(pol, ["phone"])
    with pytest.raises(Exception, match="not in policy"):
        resolve_fields(pol, ["religion"])


def test_an_edited_policy_with_the_same_label_is_refused(world):
    """Security review: the vault binds the exact policy file, not just id@version; a copy
    that publishes natural persons is not the policy in force."""
    w = world
    from tests.conftest import POLICY_FILE

    evil = w.root / "evil.toml"
    evil.write_text(
        POLICY_FILE.read_text(encoding="utf-8").replace(
            "public_natural_persons = false", "public_natural_persons = true"
        ),
        encoding="utf-8",
    )
    r = w.run("plat", "platform", "vault", "list", "--vault", str(w.vault), "--policy", str(evil))
    assert r.exit_code == 2 and "follows policy" in r.output


def test_a_vault_refuses_another_audit_log(world):
    """Security review: whoever runs a command must not choose where its audit entries go."""
    w = world
    scratch = w.root / "scratch.log"
    w.ok("plat", None, "audit", "init", str(scratch))
    r = w.run(
        "plat", "platform", "--audit-log", str(scratch), "vault", "list", "--vault", str(w.vault)
    )
    assert r.exit_code == 77 and "not this vault's audit log" in r.output
