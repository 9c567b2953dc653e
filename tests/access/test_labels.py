"""Security labels (issue 12 item 8; GB/T 22239-2019 8.1.4.2 g): every field's grade is its
label, every identity has a clearance in the roster, and a read needs clearance ≥ label —
checked in the library, the refusal logged. Before the roster there were no clearances."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import CLI_PASSPHRASE, bootstrap_keyring
from xinan.access import field_labels, init_audit_log, open_session
from xinan.errors import AccessDenied
from xinan.key_management import set_clearance
from xinan.keys import Keyring
from xinan.roster import load_roster

PASS = CLI_PASSPHRASE
T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


@pytest.fixture()
def world(tmp_path: Path, fast_kdf):
    ring = Keyring(tmp_path / "keys")
    for name, role in (("platform", "platform"), ("sec", "sec-admin"), ("bank", "querent")):
        ring.generate(name, role, "intl", PASS, now=T0)
    log = tmp_path / "audit" / "audit.log"
    init_audit_log(log, keyring=ring)
    tokens = bootstrap_keyring(ring, log, tmp_path / "tokens", passphrase=PASS, now=T0)

    def session(who: str, operation: str | None = None):
        return open_session(
            keyring=ring,
            identity=who,
            log_path=log,
            passphrase=lambda _: PASS,
            clock=lambda: T0,
            tokens=tokens,
            operation=operation,
        )

    return ring, log, session


def test_labels_are_the_policy_grades(policy) -> None:
    kind = policy.kind("penalty")
    labels = field_labels(kind)
    assert labels == {f.name: f.grade for f in kind.fields}
    assert labels["证件号码"] == 4 and min(labels.values()) == 1
    assert field_labels(kind, ["证件号码"]) == {"证件号码": 4}


def test_a_read_above_the_clearance_is_refused_and_logged(world, policy) -> None:
    _ring, log, session = world
    kind = policy.kind("penalty")
    with session("bank") as s:  # a querent: clearance 4 by default
        assert s.clearance == 4
        s.require_clearance(field_labels(kind, ["证件号码", "罚款金额"]))
    with session("sec") as s:  # an administrator: clearance 2 (内部)
        assert s.clearance == 2
        s.require_clearance(
            field_labels(kind, [n for n, g in field_labels(kind).items() if g <= 2])
        )
        with pytest.raises(AccessDenied, match="clearance 2") as exc:
            s.require_clearance(field_labels(kind, ["证件号码"]))
        assert exc.value.rule == "label:证件号码"
    last = json.loads(log.read_text("utf-8").splitlines()[-1])
    assert last["type"] == "denied" and last["objects"]["ref"] == "label:证件号码"


def test_the_security_administrator_sets_clearances(world, policy) -> None:
    ring, _log, session = world
    kind = policy.kind("penalty")
    with session("sec", "key.clearance") as s:
        set_clearance(ring, s, "bank", 3)
    assert load_roster(ring).member("bank").clearance == 3
    with session("bank") as s, pytest.raises(AccessDenied):
        s.require_clearance(field_labels(kind, ["证件号码"]))
    with pytest.raises(AccessDenied):  # the platform operator may not change a clearance
        session("platform", "key.clearance")


def test_the_platforms_reads_check_the_readers_clearance(tmp_path, monkeypatch, fast_kdf) -> None:
    """The internal view of a natural person's record releases fields up to grade 2 verbatim: a
    reader cleared for grade 1 only is refused `vault list` and `vault show`, and the refusal
    is logged. (The default policy's company view releases 基本户开户银行, grade 3, so the
    security administrator's clearance 2 is refused there.)"""
    from tests.support.worlds import build_world

    w = build_world(tmp_path, monkeypatch, people=3)
    w.ok("plat", "secadm", "vault", "list", "--vault", str(w.vault))  # clearance 2: enough
    w.ok("plat", "secadm", "keys", "clearance", "secadm", "1")
    r = w.run("plat", "secadm", "vault", "list", "--vault", str(w.vault))
    assert r.exit_code == 77 and "clearance 1" in r.output
    last = w.entries("plat")[-1]
    assert last["type"] == "denied" and last["objects"]["ref"].startswith("label:")
    listed = w.ok("plat", "platform", "vault", "list", "--vault", str(w.vault), "--json")
    rid = json.loads(listed.stdout)
    first = (rid.get("records") or rid)[0]
    record_id = first["record_id"] if isinstance(first, dict) else first
    r = w.run("plat", "secadm", "vault", "show", record_id, "--vault", str(w.vault))
    assert r.exit_code == 77 and "clearance 1" in r.output
