"""gm-only means gm-only, end to end (issue 12 item 7): the whole flow provider → platform →
querent → auditor with every key in the gm suite and XINAN_COMPLIANCE=gm-only. Every key file
is sealed under PBKDF2-HMAC-SM3 + SM4-GCM, the vault binds its policy by SM3 and keeps grant
tokens as SM3 digests, and every party's log is an SM3 tree that verifies."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.support.worlds import build_world
from xinan.crypto.recipes import hex_fingerprint


@pytest.fixture()
def world(tmp_path, monkeypatch, fast_kdf):
    monkeypatch.setenv("XINAN_COMPLIANCE", "gm-only")
    return build_world(tmp_path, monkeypatch, people=6, suite="gm")


def test_gm_only_flow(world):
    w = world
    p = w.person(2)
    consent = w.consent(p["证件号码"])
    assert w.grant(p["证件号码"], consent).exit_code == 0
    assert w.share().exit_code == 0
    assert w.release().exit_code == 0
    o = w.open()
    assert o.exit_code == 0, o.output
    assert [(r["手机号码"], r["现住址"]) for r in w.opened()] == [(p["手机号码"], p["现住址"])]

    for party in ("prov", "plat", "bank"):
        for f in (w.ring(party) / "private").glob("*.key"):
            doc = json.loads(f.read_text("utf-8"))
            assert doc["suite"] == "gm" and doc["cipher"] == "sm4-gcm", f
            assert doc["kdf"]["name"] == "pbkdf2-hmac-sm3", f
    cfg = json.loads((w.vault / "vault.json").read_text("utf-8"))
    assert cfg["suite"] == "gm" and "#sm3:" in cfg["policy"]
    token = (w.root / "bank.grant").read_text("utf-8").strip()
    con = sqlite3.connect(w.vault / "vault.db")
    try:
        (stored,) = con.execute("SELECT token_digest FROM grants").fetchone()
    finally:
        con.close()
    assert stored == hex_fingerprint("sm3", token.encode("ascii"))
    for party, actor in (("prov", "amr"), ("plat", "auditadm"), ("bank", "bank")):
        report = w.js(party, actor, "audit", "verify")
        assert report["ok"] and report["hash"] == "sm3", party
