"""Request id and source in every entry (CONTROLS.md 7; GB/T 22239-2019 8.1.4.3 b) and the
idle timeout of a long-lived party object (CONTROLS.md 2; 8.1.4.1 b); xinan/session_guard.py,
docs/audit-log.md §2."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.worlds import PASS, World, build_world
from xinan.audit.entry import AuditEvent
from xinan.authn import TokenDir
from xinan.errors import AccessDenied, AuditError
from xinan.keys import Keyring
from xinan.platform import Platform, PlatformContext

pytestmark = pytest.mark.usefixtures("fast_kdf")
HEX32 = re.compile(r"[0-9a-f]{32}")


def _world(tmp_path: Path, monkeypatch: Any) -> World:
    return build_world(tmp_path, monkeypatch, people=6)


def _as(w: World, who: str, **kw: Any) -> Platform:
    return Platform.open(
        PlatformContext(
            vault=w.vault,
            keyring=Keyring(w.ring("plat")),
            identity=who,
            passphrase=lambda _what: PASS,
            clock=w.clock,
            tokens=TokenDir(w.root / "tokens"),
            **kw,
        )
    )


def _new(w: World, before: int) -> list[dict[str, Any]]:
    return w.entries("plat")[before:]


def test_every_call_is_a_request_with_its_own_id_and_a_source(
    tmp_path: Path, monkeypatch: Any
) -> None:
    w = _world(tmp_path, monkeypatch)
    n = len(w.entries("plat"))
    with _as(w, "secadm", source="10.20.30.40:51234") as p:
        p.list_records(limit=1)
        p.list_records(limit=2)
    opens = [e for e in _new(w, n) if e["type"] == "open"]
    assert len(opens) == 2
    ids = [e["actor"]["request"] for e in opens]
    assert all(HEX32.fullmatch(i) for i in ids) and ids[0] != ids[1]
    assert {e["actor"]["source"] for e in opens} == {"10.20.30.40:51234"}
    # a CLI invocation: one request, the host and process as its source
    n = len(w.entries("plat"))
    w.ok("plat", "secadm", "vault", "list", "--vault", str(w.vault))
    w.ok("plat", "secadm", "vault", "list", "--vault", str(w.vault))
    cli = [e for e in _new(w, n) if e["type"] == "open"]
    assert len(cli) == 2 and cli[0]["actor"]["request"] != cli[1]["actor"]["request"]
    assert all(re.fullmatch(r".+/pid\d+", e["actor"]["source"]) for e in cli)


def test_request_and_source_are_checked_like_every_member() -> None:
    ok = AuditEvent("open", "xk1x", "platform", request="ab" * 16, source="host/pid1").body()
    assert ok["actor"] == {
        "key_id": "xk1x",
        "role": "platform",
        "request": "ab" * 16,
        "source": "host/pid1",
    }
    # without them the entry is what it was before 2026-12 (old logs and readers unchanged)
    assert AuditEvent("open", "xk1x", "platform").body()["actor"] == {
        "key_id": "xk1x",
        "role": "platform",
    }
    for bad in ("AB" * 16, "ab" * 15, "g" * 32):
        with pytest.raises(AuditError, match="request"):
            AuditEvent("open", "xk1x", "platform", request=bad).body()
    with pytest.raises(AuditError, match="source"):
        AuditEvent("open", "xk1x", "platform", source="x" * 201).body()
    with pytest.raises(AuditError, match="mobile"):
        AuditEvent("open", "xk1x", "platform", source="13812345678").body()


def test_an_idle_platform_object_refuses_the_next_call_and_logs_it(
    tmp_path: Path, monkeypatch: Any
) -> None:
    w = _world(tmp_path, monkeypatch)
    with _as(w, "secadm") as p:
        p.list_records(limit=1)
        w.clock.advance(minutes=29)
        p.list_records(limit=1)  # within the 30 minutes (counted from the last call)
        w.clock.advance(minutes=31)
        n = len(w.entries("plat"))
        with pytest.raises(AccessDenied, match="idle") as e:
            p.list_records(limit=1)
        assert e.value.rule == "session:idle-timeout"
        logged = _new(w, n)
        assert [(x["type"], x["outcome"], x["objects"]["ref"]) for x in logged] == [
            ("denied", "denied", "session:idle-timeout")
        ]
        assert "vault.read" in logged[0]["why"]["basis"]
        with pytest.raises(AccessDenied, match="idle"):  # and stays refused
            p.disputes()
    with _as(w, "secadm") as p:  # opened again: authenticated again, works
        assert len(p.list_records(limit=1)) == 1


def test_the_idle_timeout_is_configurable(tmp_path: Path, monkeypatch: Any) -> None:
    w = _world(tmp_path, monkeypatch)
    with _as(w, "secadm", idle_timeout=timedelta(minutes=5)) as p:
        p.list_records(limit=1)
        w.clock.advance(minutes=6)
        with pytest.raises(AccessDenied, match="idle"):
            p.list_records(limit=1)
    with _as(w, "secadm", idle_timeout=None) as p:
        p.list_records(limit=1)
        w.clock.advance(days=3)
        p.list_records(limit=1)


def test_a_provider_object_times_out_too(tmp_path: Path, monkeypatch: Any) -> None:
    """Every long-lived party object (xinan.access.Actor: Provider, Querent, Desk, Auditor)."""
    from xinan.policy.catalogue import load_policy
    from xinan.provider.service import Provider

    w = _world(tmp_path, monkeypatch)
    src = w.root / "prov" / "person.csv"
    pol = load_policy(None)
    with Provider.open(
        keyring=Keyring(w.ring("prov")),
        identity="amr",
        passphrase=lambda _what: PASS,
        audit_log=w.log("prov"),
        clock=w.clock,
    ) as prov:
        prov.scan(src, policy=pol, today=w.clock().date())
        w.clock.advance(minutes=31)
        with pytest.raises(AccessDenied, match="idle"):
            prov.scan(src, policy=pol, today=w.clock().date())
    last = w.entries("prov")[-1]
    assert (last["type"], last["objects"]["ref"]) == ("denied", "session:idle-timeout")
    assert HEX32.fullmatch(last["actor"]["request"])
