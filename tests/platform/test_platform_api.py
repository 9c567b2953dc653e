"""The library holds the guarantees (issue 10): a program that embeds xinan gets the same role
checks, denials and audit entries as a CLI user — and the CLI holds none of them itself."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.worlds import PASS, build_world
from xinan.errors import AccessDenied
from xinan.keys import Keyring
from xinan.platform import Platform, PlatformContext

CLI = Path(__file__).resolve().parents[2] / "xinan" / "cli"
# Calls that decide access or write audit entries: they belong to the library only. (The CLI
# may call the library's own entry points that authenticate, check and log — a party object,
# ``authenticate_reader``, ``admin_session`` — never write an entry or check a role itself.)
GUARD_CALLS = {"record", "require", "refuse", "open_session"}


@pytest.fixture()
def world(tmp_path, monkeypatch, fast_kdf):
    w = build_world(tmp_path, monkeypatch, people=6)
    w.subject = w.person(0)["证件号码"]
    w.consent_id = w.consent(w.subject)
    return w


def open_platform(w, identity: str) -> Platform:
    return Platform.open(
        PlatformContext(
            vault=w.vault,
            keyring=Keyring(w.ring("plat")),
            identity=identity,
            passphrase=lambda _what: PASS,
            clock=w.clock,
        )
    )


def comparable(entry: dict) -> dict:
    """An entry without what differs between two runs: position, time, chaining, and the
    request's id (a fresh random id per call; docs/audit-log.md §2)."""
    out = {k: v for k, v in entry.items() if k not in {"seq", "time", "prev", "ts", "id"}}
    out["actor"] = {k: v for k, v in entry["actor"].items() if k != "request"}
    return out


def test_a_grant_refused_through_the_api_is_logged_exactly_as_through_the_cli(world):
    w = world
    # wider than the consent (the consent covers 手机号码,现住址): refused by the rule
    r = w.grant(w.subject, w.consent_id, fields="手机号码,现住址,证件号码", out="x.grant")
    assert r.exit_code != 0
    cli_entry = w.entries("plat")[-1]
    assert cli_entry["type"] == "grant" and cli_entry["outcome"] == "denied"

    with open_platform(w, "secadm") as p, pytest.raises(AccessDenied):
        p.issue_grant(
            querent="bank",
            purpose="信易贷授信审查",
            fields=["手机号码", "现住址", "证件号码"],
            subject=w.subject,
            consent_id=w.consent_id,
            ttl=timedelta(hours=1),
            output=w.root / "y.grant",
        )
    api_entry = w.entries("plat")[-1]
    assert comparable(api_entry) == comparable(cli_entry)
    assert not (w.root / "x.grant").exists() and not (w.root / "y.grant").exists()


def test_a_role_refused_through_the_api_is_logged_before_it_is_raised(world):
    w = world
    before = len(w.entries("plat"))
    # the audit administrator may not read consents (三权分立: it reads the log, not the data)
    with open_platform(w, "auditadm") as p, pytest.raises(AccessDenied, match="consent"):
        p.consents()
    new = w.entries("plat")[before:]
    assert [(e["type"], e["outcome"]) for e in new] == [("denied", "denied")]
    assert new[0]["objects"]["ref"] == "operation:consent"


def test_reads_through_the_api_are_logged(world):
    w = world
    before = len(w.entries("plat"))
    with open_platform(w, "platform") as p:
        rows = p.consents()
        listed = p.list_records(limit=3)
    assert len(rows) == 1 and len(listed) == 3
    new = w.entries("plat")[before:]
    assert [e["type"] for e in new] == ["open", "open"]
    assert new[0]["objects"]["ref"].endswith(":consents")
    assert new[1]["objects"]["counts"] == {"records": 3}


def test_a_different_audit_log_is_refused(world, tmp_path):
    w = world
    w.ok("bank", None, "keys", "list")  # the bank's log exists and is not the vault's
    ctx = PlatformContext(
        vault=w.vault,
        keyring=Keyring(w.ring("plat")),
        identity="platform",
        passphrase=lambda _what: PASS,
        clock=w.clock,
        audit_log=w.log("bank"),
    )
    with pytest.raises(AccessDenied, match="not this vault's audit log"):
        Platform.open(ctx)


def _guard_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name in GUARD_CALLS:
                found.append(f"{path.name}:{node.lineno}: {name}")
    return found


# Files allowed a guard call for now: none (the Spark commands act through
# xinan.spark.provider.SparkProvider since issue 14's last step).
PENDING: set[str] = set()


def test_the_cli_holds_no_role_check_or_audit_entry():
    found = [c for p in sorted(CLI.glob("*.py")) if p.name not in PENDING for c in _guard_calls(p)]
    assert found == []


def test_the_fence_test_sees_a_guard_call(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(s):\n    s.record('open')\n    s.require('x')\n", encoding="utf-8")
    assert _guard_calls(bad) == ["bad.py:2: record", "bad.py:3: require"]
