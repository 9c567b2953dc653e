"""Roles from an authority (issue 12, build item 2): the signed roster bound to the keyring's
own log, the explicit bootstrap, key management gated by the bound log, the key life cycle.

Each test names the measurement of the issue it answers; on the code before the roster each
of them fails (the role came from the editable public file, key commands followed
``--audit-log``, and there was no bootstrap, disable, revoke or expiry)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import CLI_PASSPHRASE, bootstrap_keyring, cli_workplace
from xinan.access import init_audit_log, open_session
from xinan.authn import TokenDir
from xinan.errors import AccessDenied, IntegrityError, KeyringError
from xinan.key_management import (
    admin_session,
    enroll_token,
    generate_key,
    set_clearance,
    set_expiry,
    set_status,
)
from xinan.keys import Keyring, pair_key_id
from xinan.roster import load_roster, roster_dir, write_roster

PASS = CLI_PASSPHRASE
T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


class Clock:
    def __init__(self, t: datetime = T0) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


@pytest.fixture()
def ring(tmp_path: Path, fast_kdf) -> tuple[Keyring, Path, TokenDir, Clock]:
    """A platform keyring: platform (the log key), a sys-admin, a sec-admin, an auditor."""
    ring = Keyring(tmp_path / "keys")
    for name, role in (
        ("platform", "platform"),
        ("sa", "sys-admin"),
        ("sec", "sec-admin"),
        ("aud", "auditor"),
    ):
        ring.generate(name, role, "intl", PASS, now=T0)
    log = tmp_path / "audit" / "audit.log"
    init_audit_log(log, keyring=ring)
    tokens = bootstrap_keyring(ring, log, tmp_path / "tokens", passphrase=PASS, now=T0)
    return ring, log, tokens, Clock()


def session(ring, log, tokens, clock, who, operation=None):
    return open_session(
        keyring=ring,
        identity=who,
        log_path=log,
        passphrase=lambda _: PASS,
        clock=clock,
        operation=operation,
        tokens=tokens,
    )


def entries(log: Path) -> list[dict]:
    return [json.loads(x) for x in log.read_text("utf-8").splitlines()]


def test_bootstrap_is_explicit_logged_and_once(ring, tmp_path) -> None:
    keyring, log, _tokens, _clock = ring
    first = entries(log)[0]
    assert first["type"] == "key.roster" and first["why"] == {"purpose": "bootstrap"}
    r = load_roster(keyring)
    assert sorted(first["objects"]["key_ids"]) == sorted(m.key_id for m in r.members)
    assert {m.id: m.role.value for m in r.members} == {
        "platform": "platform",
        "sa": "sys-admin",
        "sec": "sec-admin",
        "aud": "auditor",
    }
    assert all((m.token_id is not None) == (m.id in ("sa", "sec")) for m in r.members)
    with pytest.raises(KeyringError, match="already bootstrapped"):
        bootstrap_keyring(keyring, log, tmp_path / "t2", passphrase=PASS)
    # the roster removed by hand: the log still anchors the first one, so no second bootstrap
    for p in roster_dir(keyring).iterdir():
        p.unlink()
    with pytest.raises(KeyringError, match="already anchors a roster"):
        bootstrap_keyring(keyring, log, tmp_path / "t3", passphrase=PASS)


def test_no_identity_acts_before_the_bootstrap(tmp_path, fast_kdf) -> None:
    keyring = Keyring(tmp_path / "keys")
    keyring.generate("platform", "platform", "intl", PASS, now=T0)
    log = tmp_path / "audit.log"
    init_audit_log(log, keyring=keyring)
    with pytest.raises(KeyringError, match="has no roster"):
        session(keyring, log, None, Clock(), "platform")


def test_an_edited_public_file_does_not_make_an_auditor_sec_admin(ring) -> None:
    """Issue 12: 'an auditor that edits its own public file to say sec-admin can destroy a
    record'. The edited file (key id recomputed, so it reads as valid) is not the roster's."""
    keyring, log, tokens, clock = ring
    pub = keyring.public_path("aud")
    doc = json.loads(pub.read_text("utf-8"))
    doc["role"] = "sec-admin"
    from xinan.crypto import get_suite

    doc["key_id"] = pair_key_id(get_suite("intl"), doc)
    pub.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert keyring.get_public("aud").role.value == "sec-admin"  # the file alone would say so
    with pytest.raises(AccessDenied, match="not in this keyring's roster"):
        session(keyring, log, tokens, clock, "aud", "destroy")
    last = entries(log)[-1]
    assert last["type"] == "key.auth" and last["outcome"] == "denied"
    assert last["objects"]["ref"] == "authn:not-in-roster"


def test_a_key_file_placed_by_hand_never_acts(ring, tmp_path) -> None:
    keyring, log, tokens, clock = ring
    keyring.generate("intruder", "sec-admin", "intl", PASS, now=T0)  # no session, no roster
    with pytest.raises(AccessDenied, match="not in this keyring's roster"):
        session(keyring, log, tokens, clock, "intruder", "destroy")


def test_roster_tampering_is_refused(ring, tmp_path) -> None:
    keyring, _log, _tokens, _clock = ring
    path = roster_dir(keyring) / "000001.json"
    good = path.read_bytes()
    # a role changed in the roster file itself: the signature no longer verifies
    path.write_bytes(good.replace(b'"role": "auditor"', b'"role": "sec-admin"'))
    with pytest.raises(IntegrityError):
        load_roster(keyring)
    path.write_bytes(good)
    load_roster(keyring)


def test_an_older_roster_put_back_is_refused(ring) -> None:
    keyring, log, tokens, clock = ring
    with admin_session(
        keyring, identity="sa", passphrase=lambda _: PASS, clock=clock, tokens=tokens
    ) as s:
        set_status(keyring, s, "aud", "revoked")
    with pytest.raises(AccessDenied, match="revoked"):
        session(keyring, log, tokens, clock, "aud")
    (roster_dir(keyring) / "000002.json").unlink()  # back to the roster before the revocation
    with pytest.raises(IntegrityError, match="newest roster in the audit log"):
        load_roster(keyring)


def test_a_roster_signed_by_a_non_sys_admin_is_refused(ring) -> None:
    """A sec-admin may sign a roster that changes clearances only."""
    keyring, log, tokens, clock = ring
    with session(keyring, log, tokens, clock, "sec", "key.clearance") as s:
        set_clearance(keyring, s, "aud", 3)
    assert load_roster(keyring).member("aud").clearance == 3
    with session(keyring, log, tokens, clock, "sec", "key.clearance") as s:
        with pytest.raises(AccessDenied, match="may not change the roster"):
            set_status(keyring, s, "aud", "disabled")
        # the same change written past the library's check fails the chain check
        current = load_roster(keyring)
        members = tuple(
            replace(m, status="disabled") if m.id == "aud" else m for m in current.members
        )
        write_roster(
            keyring,
            current,
            members,
            signer=s.identity,
            log=current.log,
            now=T0,
            action="disable",
            changed=[],
            record=lambda ref, ids, why: s.record(
                "key.roster", objects={"ref": ref, "key_ids": ids}, why={"purpose": why}
            ),
        )
    with pytest.raises(IntegrityError, match="clearances only"):
        load_roster(keyring)


def test_key_management_follows_the_bound_log_whatever_flags_say(
    tmp_path, monkeypatch, fast_kdf
) -> None:
    """Issue 12: '--audit-log at a path with no log: keygen --role sec-admin succeeds with no
    sys-admin and no audit entry'. Now refused without the sys-admin; with it, logged in the
    keyring's own log and nowhere else."""
    runner = cli_workplace(
        tmp_path,
        monkeypatch,
        ["keygen", "--id", "platform", "--role", "platform"],
        ["keygen", "--id", "sa", "--role", "sys-admin"],
        ["audit", "init"],
        ["--as", "sa", "keys", "bootstrap"],
    )
    from xinan.cli import app

    elsewhere = tmp_path / "elsewhere" / "audit.log"
    r = runner.invoke(
        app, ["--audit-log", str(elsewhere), "keygen", "--id", "evil", "--role", "sec-admin"]
    )
    assert r.exit_code == 2 and "system administrator" in r.output
    assert not Keyring(tmp_path / "keys").private_path("evil").exists()
    other = Keyring(tmp_path / "other")
    other.generate("bank", "querent", "intl", PASS, now=T0)
    r = runner.invoke(
        app,
        ["--audit-log", str(elsewhere), "keys", "add", str(other.public_path("bank"))],
    )
    assert r.exit_code == 2
    r = runner.invoke(
        app,
        [
            "--audit-log",
            str(elsewhere),
            "--as",
            "sa",
            "keys",
            "add",
            str(other.public_path("bank")),
        ],
    )
    assert r.exit_code == 0, r.output
    assert not elsewhere.exists()
    assert entries(tmp_path / "audit" / "audit.log")[-1]["type"] == "key.add"


def test_disable_enable_revoke_and_expire_are_logged_and_enforced(ring) -> None:
    keyring, log, tokens, clock = ring

    def admin():
        return admin_session(
            keyring, identity="sa", passphrase=lambda _: PASS, clock=clock, tokens=tokens
        )

    with admin() as s:
        set_status(keyring, s, "aud", "disabled")
    with pytest.raises(AccessDenied, match="disabled"):
        session(keyring, log, tokens, clock, "aud")
    assert entries(log)[-1]["objects"]["ref"] == "authn:disabled"
    with admin() as s:
        set_status(keyring, s, "aud", "active")
    session(keyring, log, tokens, clock, "aud").close()
    with admin() as s:
        set_expiry(keyring, s, "aud", T0 + timedelta(days=30))
    session(keyring, log, tokens, clock, "aud").close()
    clock.t = T0 + timedelta(days=30)
    with pytest.raises(AccessDenied, match="expired"):
        session(keyring, log, tokens, clock, "aud")
    with admin() as s:
        set_status(keyring, s, "aud", "revoked")
        with pytest.raises(AccessDenied, match="revoked"):
            set_status(keyring, s, "aud", "active")
    purposes = [e["why"].get("purpose") for e in entries(log) if e["type"] == "key.roster"]
    assert purposes == ["bootstrap", "disable", "enable", "expire", "revoke"]


def test_keygen_after_bootstrap_adds_to_the_roster_with_a_token(ring, tmp_path) -> None:
    keyring, log, tokens, clock = ring
    with admin_session(
        keyring, identity="sa", passphrase=lambda _: PASS, clock=clock, tokens=tokens
    ) as s:
        _info, token = generate_key(
            keyring,
            s,
            key_name="aa",
            role="audit-admin",
            suite="intl",
            passphrase=PASS,
            now=T0,
            token_out=lambda h: tmp_path / "tokens" / f"{h}.token",
        )
        assert token is not None and token.is_file()
        old = (tmp_path / "tokens" / "aa.token").read_bytes()
        (tmp_path / "tokens" / "aa.token").rename(tmp_path / "aa.old")
        enroll_token(keyring, s, "aa", lambda h: tmp_path / "tokens" / f"{h}.token")
    m = load_roster(keyring).member("aa")
    assert m is not None and m.role.value == "audit-admin" and m.clearance == 2
    session(keyring, log, tokens, clock, "aa", "audit.read").close()
    # the token enrolled before is no longer accepted
    (tmp_path / "tokens" / "aa.token").write_bytes(old)
    with pytest.raises(AccessDenied, match="not the one enrolled"):
        session(keyring, log, tokens, clock, "aa")
