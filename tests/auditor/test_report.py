"""The subject access report (xinan/auditor/subject_report.py, `xinan report subject`): from a
real audit log written through Session.record, filtered by the subject's keyed pseudonym; the
clear ID never appears in the output nor in the log."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

import xinan.cli.lifecycle_cmds  # noqa: F401  registers destroy / report
from tests.conftest import TODAY, bootstrap_keyring
from xinan.access import init_audit_log, open_session
from xinan.audit.log import read_entries
from xinan.auditor.subject_report import (
    REPORT_PURPOSE,
    key_names,
    report_event,
    subject_pseudonym,
    subject_report,
)
from xinan.authn import TokenDir
from xinan.cli._app import app
from xinan.errors import UsageError
from xinan.identifiers import resident_id_check_char, uscc_check_char
from xinan.keys import Keyring
from xinan.masking import pseudonym

PASS = "correct horse battery staple"
# Synthetic identities with correct check characters (GB 11643-1999, GB 32100-2015).
RID_A = "11010519900307" + "123" + resident_id_check_char("11010519900307123")
RID_B = "37040219851111" + "246" + resident_id_check_char("37040219851111246")
USCC_C = "91370400MA3C1234X" + uscc_check_char("91370400MA3C1234X")


class Clock:
    def __init__(self) -> None:
        self.t = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


@pytest.fixture()
def world(tmp_path: Path, fast_kdf):
    """A platform keyring and an audit log with entries about subjects A, B and C."""
    ring = Keyring(tmp_path / "keys")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    for name, role in (
        ("platform", "platform"),
        ("sec", "sec-admin"),
        ("bank", "querent"),
        ("auditor", "audit-admin"),
    ):
        ring.generate(name, role, "intl", PASS, now=now)
    ring.generate_secret("subject-ps", "intl", PASS, now=now)
    key = ring.secret("subject-ps", PASS)
    ps = {x: pseudonym(key, "subject", x) for x in (RID_A, RID_B, USCC_C)}
    log = tmp_path / "audit" / "audit.log"
    init_audit_log(log, keyring=ring)
    tokens = bootstrap_keyring(ring, log, tmp_path / "tokens", passphrase=PASS)
    clock = Clock()

    def session(who: str):
        return open_session(
            keyring=ring,
            identity=who,
            log_path=log,
            passphrase=lambda _: PASS,
            clock=clock,
            tokens=tokens,
        )

    with session("platform") as s:
        s.record(
            "ingest",
            objects={"package": "p" * 32, "counts": {"records": 3}},
            subjects=[ps[RID_A], ps[RID_B], ps[USCC_C]],
        )
        s.record(
            "collect",
            objects={"ref": "consent:c1"},
            why={"purpose": "loan", "consent": "c1"},
            subjects=[ps[RID_A]],
        )
    with session("sec") as s:
        s.record(
            "grant",
            objects={"ref": "grant:j1", "key_ids": [ring.get_public("bank").key_id]},
            why={"purpose": "loan", "grant": "j1", "consent": "c1"},
            subjects=[ps[RID_A]],
        )
    with session("platform") as s:
        s.record(
            "share",
            objects={"package": "s" * 32, "record_ids": ["r-1", "r-2"], "counts": {"records": 2}},
            why={"purpose": "loan", "grant": "j1", "consent": "c1"},
            subjects=[ps[RID_A]],
        )
        s.record("share", objects={"ref": "grant:j2"}, outcome="denied", subjects=[ps[RID_B]])
    with session("bank") as s:
        s.record(
            "open",
            objects={"package": "s" * 32, "counts": {"records": 2}},
            why={"purpose": "loan", "grant": "j1", "consent": "c1"},
            subjects=[ps[RID_A]],
        )
    return ring, log, key, ps, tmp_path


def test_report_filters_by_pseudonym(world) -> None:
    ring, log, _, ps, _ = world
    rep = subject_report(log, ps[RID_A], names=key_names(ring))
    assert [e.type for e in rep.entries] == ["ingest", "collect", "grant", "share", "open"]
    assert [e.type for e in rep.accesses] == ["grant", "share", "open"]
    share = rep.entries[3]
    assert share.actor_name == "platform" and share.actor_role == "platform"
    assert share.objects["record_ids"] == ["r-1", "r-2"] and share.why["grant"] == "j1"
    opened = rep.entries[4]
    assert opened.actor_name == "bank" and opened.why == {
        "purpose": "loan",
        "grant": "j1",
        "consent": "c1",
    }
    rep_b = subject_report(log, ps[RID_B], names=key_names(ring))
    assert [(e.type, e.outcome) for e in rep_b.entries] == [
        ("ingest", "success"),
        ("share", "denied"),
    ]
    assert rep.scanned == rep_b.scanned == 7 and rep.last_seq == 6  # after the bootstrap
    text = rep.text()
    assert "who queried or received the data:" in text and "bank (" in text
    assert json.loads(json.dumps(rep.to_json()))["accesses"] == 3
    with pytest.raises(UsageError):
        subject_report(log, RID_A)


def test_report_event(world) -> None:
    ring, log, _, ps, _ = world
    rep = subject_report(log, ps[RID_A])
    ev = report_event(rep)
    assert ev["why"] == {"purpose": REPORT_PURPOSE} and ev["subjects"] == [ps[RID_A]]
    with open_session(
        keyring=ring,
        identity="auditor",
        log_path=log,
        passphrase=lambda _: PASS,
        clock=Clock(),
        operation="report.subject",
        tokens=TokenDir(ring.path.parent / "tokens"),
    ) as s:
        seq = s.record(**ev)
    again = subject_report(log, ps[RID_A])
    assert again.entries[-1].seq == seq and again.entries[-1].why["purpose"] == REPORT_PURPOSE


def test_subject_pseudonym(world) -> None:
    _, _, key, ps, _ = world
    assert subject_pseudonym(RID_A, key, "subject", today=TODAY) == ps[RID_A]
    assert subject_pseudonym(f" {RID_A.lower()} ", key, "subject", today=TODAY) == ps[RID_A]
    assert subject_pseudonym(USCC_C, key, "subject", today=TODAY) == ps[USCC_C]
    assert subject_pseudonym(ps[RID_B], key, "subject", today=TODAY) == ps[RID_B]
    bad = RID_A[:-1] + ("0" if RID_A[-1] != "0" else "1")
    with pytest.raises(UsageError) as exc:
        subject_pseudonym(bad, key, "subject", today=TODAY)
    assert bad not in exc.value.message and (exc.value.hint or "").find(bad) < 0
    other = "ps1.xs1abcdefgh." + "a" * 26
    with pytest.raises(UsageError, match="another pseudonym key"):
        subject_pseudonym(other, key, "subject", today=TODAY)


# -- CLI --------------------------------------------------------------------------------------
@pytest.fixture()
def cli(world, monkeypatch):
    ring, log, _, _, tmp = world
    monkeypatch.setenv("XINAN_KEYRING", str(ring.path))
    monkeypatch.setenv("XINAN_PASSPHRASE", PASS)
    monkeypatch.setenv("XINAN_TODAY", TODAY.isoformat())
    monkeypatch.setenv("XINAN_PSEUDONYM_KEY", "subject-ps")
    monkeypatch.setenv("XINAN_TOKEN_DIR", str(tmp / "tokens"))
    monkeypatch.delenv("XINAN_AUDIT_LOG", raising=False)
    monkeypatch.delenv("XINAN_IDENTITY", raising=False)
    monkeypatch.chdir(tmp)
    assert log == ring.path.parent / "audit" / "audit.log"  # the default log of this keyring
    return world


def _said(r) -> str:
    return r.output + (r.stderr if hasattr(r, "stderr") else "")


def test_cli_report_subject(cli) -> None:
    ring, log, _, ps, _ = cli
    size_before = sum(1 for _ in read_entries(log))
    r = CliRunner().invoke(app, ["--as", "platform", "report", "subject", RID_A])
    assert r.exit_code == 0, _said(r)
    assert ps[RID_A] in r.output and "bank (" in r.output and "grant=j1" in r.output
    assert RID_A not in _said(r)
    entries = [e for _, e in read_entries(log)]
    assert len(entries) == size_before + 1
    last = entries[-1]
    assert last["type"] == "open" and last["why"] == {"purpose": REPORT_PURPOSE}
    assert last["subjects"] == [ps[RID_A]] and last["actor"]["role"] == "platform"
    # JSON, as the audit-admin, the ID read from standard input
    r = CliRunner().invoke(
        app, ["--as", "auditor", "report", "subject", "-", "--json"], input=RID_A + "\n"
    )
    assert r.exit_code == 0, _said(r)
    out = json.loads(r.output)
    assert out["subject"] == ps[RID_A] and out["accesses"] == 3
    assert [e["type"] for e in out["entries"]][-1] == "open"  # the first report is listed
    assert out["entries"][2]["actor"] == {
        "key_id": ring.get_public("sec").key_id,
        "role": "sec-admin",
        "name": "sec",
    }
    # the clear ID is nowhere: not in any output, not in the log or its checkpoints
    for p in log.parent.rglob("*"):
        assert p.is_dir() or RID_A.encode() not in p.read_bytes(), p
    # a USCC works the same way
    r = CliRunner().invoke(app, ["--as", "platform", "report", "subject", USCC_C, "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["subject"] == ps[USCC_C]


def test_cli_report_refusals(cli) -> None:
    _, log, _, _, _ = cli
    r = CliRunner().invoke(app, ["--as", "bank", "report", "subject", RID_A])
    assert r.exit_code == 77 and "may not report.subject" in _said(r)
    assert RID_A not in _said(r)
    denied = [e for _, e in read_entries(log)][-1]
    assert denied["type"] == "denied" and RID_A not in json.dumps(denied)
    bad = RID_A[:-1] + ("0" if RID_A[-1] != "0" else "1")
    r = CliRunner().invoke(app, ["--as", "platform", "report", "subject", bad])
    assert r.exit_code == 2 and bad not in _said(r) and "not shown" in _said(r)
    r = CliRunner().invoke(app, ["report", "subject", RID_A])
    assert r.exit_code == 2 and "no acting identity" in _said(r)


def test_dates_are_injected(world) -> None:
    """A birth date after 'today' is not a valid ID: the clock is a parameter, not read inside."""
    _, _, key, _, _ = world
    future = "11010520300101" + "123" + resident_id_check_char("11010520300101123")
    with pytest.raises(UsageError):
        subject_pseudonym(future, key, "subject", today=date(2026, 11, 25))
    assert subject_pseudonym(future, key, "subject", today=date(2031, 1, 1)).startswith("ps1.")


def test_report_under_the_wrong_pseudonym_key_is_refused(tmp_path, monkeypatch, fast_kdf):
    """Security review: an empty report under another key would falsely say nobody received
    the subject's data."""
    from tests.support.worlds import build_world

    w = build_world(tmp_path, monkeypatch, people=5)
    person = w.person(0)["证件号码"]
    w.consent(person)
    w.ok("plat", "sysadm", "keygen", "--id", "other-ps", "--role", "pseudonym")
    r = w.run("plat", "platform", "report", "subject", person, "--pseudonym-key", "other-ps")
    assert r.exit_code == 2 and "pseudonymised under" in r.output
    assert person not in r.output
    r = w.run("plat", "platform", "report", "subject", person, "--pseudonym-key", "subject-ps")
    assert r.exit_code == 0, r.output
