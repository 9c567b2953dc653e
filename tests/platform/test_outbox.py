"""The outbox (docs/outbox.md; CONTROLS.md 23, 24): change events for subscribers and notices
for applicants, in the same transaction as the change, pulled as a signed file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.worlds import PASS, World, build_world
from xinan.authn import TokenDir
from xinan.errors import AccessDenied, IntegrityError, VerificationError
from xinan.keys import Keyring
from xinan.platform import Platform, PlatformContext
from xinan.platform.outbox import verify_pull

pytestmark = pytest.mark.usefixtures("fast_kdf")


def _world(tmp_path: Path, monkeypatch: Any) -> World:
    return build_world(tmp_path, monkeypatch, people=12, kind="penalty")


def _as(w: World, who: str) -> Platform:
    return Platform.open(
        PlatformContext(
            vault=w.vault,
            keyring=Keyring(w.ring("plat")),
            identity=who,
            passphrase=lambda _what: PASS,
            clock=w.clock,
            tokens=TokenDir(w.root / "tokens"),
        )
    )


def _trust(w: World) -> Any:
    plat = Keyring(w.ring("plat")).get_public("platform")
    return lambda kid: plat if kid == plat.key_id else None


def test_overdue_objections_and_decisions_are_notices_and_changes_are_events(
    tmp_path: Path, monkeypatch: Any
) -> None:
    w = _world(tmp_path, monkeypatch)
    with _as(w, "platform") as p:
        ids = [v.record.record_id for v in p.list_records(limit=3)]
        d1 = p.open_dispute(ids[0], reason="处罚已撤销", by="某区市场监管局")
        d2 = p.open_dispute(ids[1], reason="金额有误", by="某公司")
        assert p.notify_overdue() == 0  # nothing is overdue yet
    w.clock.advance(days=30)
    with _as(w, "secadm") as p:
        assert p.notify_overdue() == 2
        assert p.notify_overdue() == 0  # once per objection
        p.resolve_dispute(d1.id, outcome="removed")
    with _as(w, "platform") as p:
        first = p.pull_outbox(w.root / "out1.jsonl")
        assert first.count == 4 and first.after == 0
        f = verify_pull((w.root / "out1.jsonl").read_bytes(), trust=_trust(w))
        kinds = [(e["kind"], e["ref"]) for e in f.events]
        assert kinds == [
            ("notice.objection-overdue", f"dispute:{d1.id}"),
            ("notice.objection-overdue", f"dispute:{d2.id}"),
            ("change.objection-resolved", f"dispute:{d1.id}"),
            ("notice.objection-decided", f"dispute:{d1.id}"),
        ]
        assert f.events[0]["to"] == "某区市场监管局" and f.events[2]["body"]["outcome"] == "removed"
        assert f.events[2]["record_id"] == ids[0]
        # the next pull starts after the last one seen
        p.resolve_dispute(d2.id, outcome="upheld")
        nxt = p.pull_outbox(w.root / "out2.jsonl", after=first.last)
        assert nxt.count == 2
        g = verify_pull((w.root / "out2.jsonl").read_bytes(), trust=_trust(w))
        assert {e["ref"] for e in g.events} == {f"dispute:{d2.id}"}
    pulls = [e for e in w.entries("plat") if str(e["objects"].get("ref", "")).startswith("outbox:")]
    assert [e["objects"]["counts"]["events"] for e in pulls] == [4, 2]
    notices = [e for e in w.entries("plat") if e["objects"].get("ref") == "notice:overdue"]
    assert len(notices) == 1 and notices[0]["objects"]["counts"] == {"notices": 2}


def test_the_pulled_file_is_signed_every_byte(tmp_path: Path, monkeypatch: Any) -> None:
    w = _world(tmp_path, monkeypatch)
    with _as(w, "platform") as p:
        rid = p.list_records(limit=1)[0].record.record_id
        d = p.open_dispute(rid, reason="金额有误", by="某公司")
        p.resolve_dispute(d.id, outcome="upheld")
        p.pull_outbox(w.root / "o.jsonl")
    data = (w.root / "o.jsonl").read_bytes()
    verify_pull(data, trust=_trust(w))
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x01
        with pytest.raises((IntegrityError, VerificationError)):
            verify_pull(bytes(bad), trust=_trust(w))
    with pytest.raises(VerificationError):
        verify_pull(data, trust=lambda kid: None)


def test_only_the_platform_pulls(tmp_path: Path, monkeypatch: Any) -> None:
    w = _world(tmp_path, monkeypatch)
    with _as(w, "secadm") as p, pytest.raises(AccessDenied):
        p.pull_outbox(w.root / "x.jsonl")
    assert not (w.root / "x.jsonl").exists()


def test_outbox_commands(tmp_path: Path, monkeypatch: Any) -> None:
    w = _world(tmp_path, monkeypatch)
    v = ["--vault", str(w.vault)]
    out = w.js("plat", "platform", "outbox", "pull", *v, "-o", str(w.root / "c.jsonl"))
    assert out["count"] == 0 and out["last"] == 0
    assert w.js("plat", "platform", "dispute", "notify", *v)["notices"] == 0
