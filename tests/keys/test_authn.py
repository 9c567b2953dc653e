"""Two factors for administrators, lockout, failure logging and passphrase strength (issue 12,
build item 3; GB/T 22239-2019 8.1.4.1 a, b, d).

Measured on the code before: 'ten wrong passphrases, then the right one works, and none of the
failures is logged'; 'no second factor for administrators'; 'passphrases are checked for
length only (twelve spaces pass)'. Each test below fails on that code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import CLI_PASSPHRASE, bootstrap_keyring
from xinan.access import init_audit_log, open_session
from xinan.authn import AuthPolicy, ChallengeBook, Token, TokenDir, TokenFile
from xinan.errors import (
    AccessDenied,
    AccountLocked,
    AuthenticationFailed,
    KeyringError,
    UsageError,
    WrongPassphrase,
)
from xinan.key_management import change_passphrase
from xinan.keys import Keyring

PASS = CLI_PASSPHRASE
T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> datetime:
        return self.t


@pytest.fixture()
def world(tmp_path: Path, fast_kdf):
    ring = Keyring(tmp_path / "keys")
    for name, role in (("platform", "platform"), ("sec", "sec-admin"), ("bank", "querent")):
        ring.generate(name, role, "intl", PASS, now=T0)
    log = tmp_path / "audit" / "audit.log"
    init_audit_log(log, keyring=ring)
    tokens = bootstrap_keyring(ring, log, tmp_path / "tokens", passphrase=PASS, now=T0)
    return ring, log, tokens, Clock()


def attempt(world, who, passphrase=PASS, *, tokens="default", policy=None, operation=None):
    ring, log, default, clock = world
    return open_session(
        keyring=ring,
        identity=who,
        log_path=log,
        passphrase=lambda what: passphrase if what.startswith(who) else PASS,
        clock=clock,
        tokens=default if tokens == "default" else tokens,
        auth_policy=policy,
        operation=operation,
    )


def auth_entries(log: Path) -> list[dict]:
    out = [json.loads(x) for x in log.read_text("utf-8").splitlines()]
    return [e for e in out if e["type"] == "key.auth"]


# -- two factors -------------------------------------------------------------------------------
def test_an_administrator_needs_passphrase_and_token(world, monkeypatch) -> None:
    _ring, log, _tokens, _ = world
    monkeypatch.delenv("XINAN_TOKEN", raising=False)
    monkeypatch.delenv("XINAN_TOKEN_DIR", raising=False)
    with pytest.raises(AuthenticationFailed, match="passphrase alone is not enough"):
        attempt(world, "sec", tokens=None)  # passphrase only
    with pytest.raises(WrongPassphrase):
        attempt(world, "sec", "not the passphrase at all")  # token only
    with attempt(world, "sec", operation="grant") as s:  # both
        assert s.actor.role.value == "sec-admin"
    # a non-administrator needs no token
    attempt(world, "bank", tokens=None).close()
    reasons = [e["objects"]["ref"] for e in auth_entries(log)]
    assert reasons == ["authn:token-missing", "authn:passphrase"]


def test_another_administrators_token_is_refused(world, tmp_path) -> None:
    _ring, log, _tokens, _ = world
    other = Token.generate("sec", "xk1aaaaaaaaaaaaaaaaaaaaaaaa", "intl")
    path = other.save(tmp_path / "forged.token")
    with pytest.raises(AuthenticationFailed, match="not the one enrolled"):
        attempt(world, "sec", tokens=TokenFile(path))
    assert auth_entries(log)[-1]["objects"]["ref"] == "authn:token"


def test_a_replayed_challenge_response_is_rejected(tmp_path) -> None:
    token = Token.generate("sec", "xk1holder", "intl")
    book = ChallengeBook()
    ch = book.issue(origin="o", holder_key_id="xk1holder", token_id=token.token_id, now=T0)
    sig = token.respond(ch)
    book.verify(ch, sig, suite=token.suite, token_public=token.public, now=T0)
    with pytest.raises(AuthenticationFailed, match="replayed"):
        book.verify(ch, sig, suite=token.suite, token_public=token.public, now=T0)
    # a response to one challenge does not answer another
    ch2 = book.issue(origin="o", holder_key_id="xk1holder", token_id=token.token_id, now=T0)
    with pytest.raises(AuthenticationFailed, match="does not verify"):
        book.verify(ch2, sig, suite=token.suite, token_public=token.public, now=T0)
    # nor one answered too late
    ch3 = book.issue(origin="o", holder_key_id="xk1holder", token_id=token.token_id, now=T0)
    late = T0 + timedelta(minutes=3)
    with pytest.raises(AuthenticationFailed, match="expired"):
        book.verify(ch3, token.respond(ch3), suite=token.suite, token_public=token.public, now=late)


@pytest.mark.parametrize("suite", ["intl", "gm"])
def test_token_file_round_trip_and_tamper(tmp_path, suite) -> None:
    token = Token.generate("sec", "xk1holder", suite)
    path = token.save(tmp_path / "t.token")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again = Token.load(path)
    assert again.token_id == token.token_id and repr(again).startswith("<Token sec xt1")
    assert "private" not in repr(again)
    with pytest.raises(KeyringError, match="already exists"):
        token.save(path)
    data = path.read_bytes()
    for i in range(0, len(data), 7):
        bad = bytearray(data)
        bad[i] ^= 0x01
        path.write_bytes(bytes(bad))
        with pytest.raises(KeyringError):
            Token.load(path)


# -- lockout and logging -----------------------------------------------------------------------
def test_ten_wrong_passphrases_lock_the_key_and_every_failure_is_logged(world) -> None:
    """Issue 12: 'ten wrong passphrases, then the right one works, and none of the failures is
    logged'. After five, the key is locked for thirty minutes even with the right passphrase."""
    _ring, log, _tokens, clock = world
    for _ in range(10):
        with pytest.raises((WrongPassphrase, AccountLocked)):
            attempt(world, "bank", "wrong passphrase, again")
        clock.t += timedelta(seconds=10)
    with pytest.raises(AccountLocked, match="locked until"):
        attempt(world, "bank")  # the right passphrase, but locked
    got = [(e["outcome"], e["objects"]["ref"]) for e in auth_entries(log)]
    assert got[:5] == [("failed", "authn:passphrase")] * 5
    assert got[5] == ("denied", "authn:locked")  # the fifth failure locks
    assert got[6:] == [("denied", "authn:locked")] * 6  # five more tries and the right one
    clock.t += timedelta(minutes=30)
    attempt(world, "bank").close()  # the lock ran out


def test_lockout_is_configurable(world) -> None:
    _ring, _log, _tokens, clock = world
    policy = AuthPolicy(max_failures=2, lockout=timedelta(minutes=5))
    for _ in range(2):
        with pytest.raises(WrongPassphrase):
            attempt(world, "bank", "wrong passphrase, again", policy=policy)
    with pytest.raises(AccountLocked):
        attempt(world, "bank", policy=policy)
    clock.t += timedelta(minutes=5)
    attempt(world, "bank", policy=policy).close()
    with pytest.raises(UsageError):
        AuthPolicy(max_failures=0)


def test_a_failure_is_logged_at_once_on_a_log_with_its_own_signer(world) -> None:
    """Issue 12: the platform's log is signed by its service-held signer, so a failed unlock of
    any key — the platform's included — is in the log before the refusal is raised."""
    _ring, log, _tokens, _clock = world
    with pytest.raises(WrongPassphrase):
        attempt(world, "platform", "wrong passphrase, again")
    (e,) = auth_entries(log)
    assert e["outcome"] == "failed" and e["objects"]["ref"] == "authn:passphrase"


def test_a_failure_of_the_log_key_itself_is_logged_by_the_next_session(
    tmp_path: Path, fast_kdf
) -> None:
    """A log signed by a keyring identity (a querent's own log): when that identity fails to
    unlock, the log cannot be opened; the failure is kept aside and logged by the next
    session."""
    ring = Keyring(tmp_path / "keys")
    ring.generate("bank", "querent", "intl", PASS, now=T0)
    log = tmp_path / "audit" / "audit.log"
    init_audit_log(log, keyring=ring, log_key="bank")
    tokens = bootstrap_keyring(ring, log, tmp_path / "tokens", passphrase=PASS, now=T0)
    own = (ring, log, tokens, Clock())
    with pytest.raises(WrongPassphrase):
        attempt(own, "bank", "wrong passphrase, again")
    assert auth_entries(log) == []  # the log could not be opened: kept aside
    attempt(own, "bank").close()
    (e,) = auth_entries(log)
    assert e["outcome"] == "failed" and e["objects"]["ref"].startswith("authn:passphrase@")


def test_a_success_resets_the_count(world) -> None:
    _ring, _log, _tokens, _clock = world
    for _ in range(4):
        with pytest.raises(WrongPassphrase):
            attempt(world, "bank", "wrong passphrase, again")
    attempt(world, "bank").close()
    for _ in range(4):
        with pytest.raises(WrongPassphrase):
            attempt(world, "bank", "wrong passphrase, again")
    attempt(world, "bank").close()


# -- passphrases -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "weak", [" " * 12, "aaaaaaaaaaaa", "password1234", "123456789012", "qwertyuiopas"]
)
def test_weak_passphrases_are_refused_for_new_keys(tmp_path, fast_kdf, weak) -> None:
    """Issue 12: 'passphrases are checked for length only (twelve spaces pass)'."""
    ring = Keyring(tmp_path / "keys")
    with pytest.raises(UsageError, match="too easy to guess"):
        ring.generate("k", "provider", "intl", weak, now=T0)
    with pytest.raises(UsageError, match="too easy to guess"):
        ring.generate_secret("s", "intl", weak, now=T0)


def test_the_key_name_does_not_make_a_passphrase(tmp_path, fast_kdf) -> None:
    ring = Keyring(tmp_path / "keys")
    with pytest.raises(UsageError, match="too easy to guess"):
        ring.generate("zaozhuang-amr", "provider", "intl", "zaozhuang-amr1", now=T0)


def test_passphrase_change_is_logged_and_takes_effect(world, monkeypatch) -> None:
    ring, log, tokens, clock = world
    new = "violet kettle orbit 17 lantern"
    with pytest.raises(UsageError, match="too easy"):
        change_passphrase(
            ring, identity="sec", old=lambda _: PASS, new=" " * 12, clock=clock, tokens=tokens
        )
    change_passphrase(ring, identity="sec", old=lambda _: PASS, new=new, clock=clock, tokens=tokens)
    with pytest.raises(WrongPassphrase):
        ring.unlock("sec", PASS)
    ring.unlock("sec", new)
    last = json.loads(log.read_text("utf-8").splitlines()[-1])
    assert last["type"] == "key.passphrase" and last["actor"]["role"] == "sec-admin"
    # the token is still needed with the new passphrase
    with pytest.raises(AccessDenied):
        open_session(
            keyring=ring,
            identity="sec",
            log_path=log,
            passphrase=lambda what: new if what.startswith("sec") else PASS,
            clock=clock,
            tokens=TokenDir(Path("/nonexistent")),
        )
