"""The roster and key life cycle through the command line (`xinan keys …`): each command
parses, calls one library function and renders; the guarantees are tested in test_roster.py."""

from __future__ import annotations

import json

from tests.conftest import cli_workplace


def _workplace(tmp_path, monkeypatch):
    return cli_workplace(
        tmp_path,
        monkeypatch,
        ["keygen", "--id", "platform", "--role", "platform"],
        ["keygen", "--id", "sa", "--role", "sys-admin"],
        ["keygen", "--id", "sec", "--role", "sec-admin"],
        ["audit", "init"],
        ["--as", "sa", "keys", "bootstrap", "--json"],
    )


def test_roster_life_cycle_commands(tmp_path, monkeypatch, fast_kdf) -> None:
    from xinan.cli import app

    runner = _workplace(tmp_path, monkeypatch)

    def ok(*args: str) -> dict:
        r = runner.invoke(app, [*args, "--json"])
        assert r.exit_code == 0, (args, r.output)
        return json.loads(r.stdout)

    roster = ok("keys", "roster")
    assert roster["serial"] == 1
    assert {m["id"]: m["role"] for m in roster["members"]} == {
        "platform": "platform",
        "sa": "sys-admin",
        "sec": "sec-admin",
    }
    assert (tmp_path / "tokens" / "sa.token").is_file()
    made = ok("--as", "sa", "keygen", "--id", "clerk", "--role", "provider", "--clearance", "3")
    assert "token_file" not in made
    made = ok("--as", "sa", "keygen", "--id", "aa", "--role", "audit-admin")
    assert made["token_file"].endswith("aa.token")
    assert ok("--as", "sa", "keys", "disable", "clerk")["status"] == "disabled"
    assert runner.invoke(app, ["fake", "company", "-n", "2", "-o", "x.csv"]).exit_code == 0
    r = runner.invoke(app, ["--as", "clerk", "scan", "x.csv"])
    assert r.exit_code == 77 and "disabled" in r.output
    assert ok("--as", "sa", "keys", "enable", "clerk")["status"] == "active"
    exp = ok("--as", "sa", "keys", "expire", "clerk", "--on", "2099-01-01T00:00:00+08:00")
    assert exp["not_after"] == "2098-12-31T16:00:00Z"
    assert ok("--as", "sec", "keys", "clearance", "clerk", "2")["clearance"] == 2
    r = runner.invoke(app, ["--as", "sa", "keys", "clearance", "clerk", "4"])
    assert r.exit_code == 77  # labels are the security administrator's
    (tmp_path / "tokens" / "aa.token").rename(tmp_path / "aa.old")
    assert ok("--as", "sa", "keys", "enroll", "aa")["token_file"].endswith("aa.token")
    assert ok("--as", "sa", "keys", "revoke", "clerk")["status"] == "revoked"
    monkeypatch.setenv("XINAN_NEW_PASSPHRASE", "violet kettle orbit 17 lantern")
    assert ok("--as", "sec", "keys", "passphrase")["key_id"].startswith("xk1")
    # `keys passwd` is the same command (issue 12 item 2); the old passphrase is now the new
    monkeypatch.setenv("XINAN_PASSPHRASE_SEC", "violet kettle orbit 17 lantern")
    monkeypatch.setenv("XINAN_NEW_PASSPHRASE", "amber quartz meadow 42 ferry")
    assert ok("--as", "sec", "keys", "passwd")["key_id"].startswith("xk1")
    roster = ok("keys", "roster")
    assert roster["serial"] == 9
    text = runner.invoke(app, ["keys", "roster"]).output
    assert "revoked" in text and "CLEARANCE" in text
    log = (tmp_path / "audit" / "audit.log").read_text("utf-8").splitlines()
    kinds = [json.loads(x)["type"] for x in log]
    assert kinds.count("key.roster") == 9 and kinds[-2:] == ["key.passphrase"] * 2


def test_a_weak_passphrase_and_a_missing_token_are_refused(tmp_path, monkeypatch, fast_kdf) -> None:
    from xinan.cli import app

    runner = _workplace(tmp_path, monkeypatch)
    monkeypatch.setenv("XINAN_NEW_PASSPHRASE", " " * 12)
    r = runner.invoke(app, ["--as", "sa", "keygen", "--id", "x", "--role", "provider"])
    assert r.exit_code == 2 and "too easy to guess" in r.output
    monkeypatch.delenv("XINAN_NEW_PASSPHRASE")
    monkeypatch.delenv("XINAN_TOKEN_DIR")
    r = runner.invoke(app, ["--as", "sa", "keygen", "--id", "x", "--role", "provider"])
    assert r.exit_code == 77 and "XINAN_TOKEN" in r.output
    monkeypatch.setenv("XINAN_TOKEN", str(tmp_path / "tokens" / "sa.token"))
    r = runner.invoke(app, ["--as", "sa", "keygen", "--id", "x", "--role", "provider"])
    assert r.exit_code == 0, r.output
