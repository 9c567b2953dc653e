"""Authentication of an identity: the second factor (a token), lockout, failure accounting.

GB/T 22239-2019 8.1.4.1 b) and d): administrators authenticate with two factors, one of them
cryptographic, and repeated failures lock the account. GB/T 39786-2021 8.4 a) names digital
signatures among the accepted mechanisms. Here:

* factor 1 is the key file's passphrase (:meth:`xinan.keys.Keyring.unlock`);
* factor 2 is a **token**: a separate signing key (``xinan-token/1``, docs/keys.md §9) kept
  apart from the keyring (removable medium, a hardware token behind the same protocol). The
  roster holds only its public key, so the verifier keeps no secret; each unlock signs a fresh
  single-use challenge, so a response cannot be replayed (:class:`ChallengeBook`);
* :class:`LockoutStore` counts consecutive failures per key and locks the key for
  ``AuthPolicy.lockout`` after ``AuthPolicy.max_failures`` of them; the clock is passed in.

:func:`unlock_member` runs the factors in order and reports every failure and refusal through
a callback, which :mod:`xinan.access` turns into audit entries. Owns no file of the keyring
but ``authn-state.json``; owns no primitive (:mod:`xinan.crypto` does).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from xinan._codec import loads_strict
from xinan.crypto import CryptoSuite, PrivateKey, SuiteName, get_suite, get_suite_unchecked
from xinan.errors import (
    AccountLocked,
    AuthenticationFailed,
    IntegrityError,
    KeyringError,
    UsageError,
    WrongPassphrase,
)
from xinan.fileio import write_bytes_atomic

if TYPE_CHECKING:
    from xinan.keys import Identity, Keyring
    from xinan.roster import Member

TOKEN_FORMAT = "xinan-token/1"  # noqa: S105 - a format marker, not a password
TOKEN_PREFIX = "xt1"  # noqa: S105 - a token id prefix
STATE_FORMAT = "xinan-authn-state/1"
CHALLENGE_DOMAIN = b"xinan-token-challenge/1\n"
_TOKEN_MEMBERS = ["format", "holder", "holder_key_id", "token_id", "suite", "public", "private"]
_TIME_FMT = "%Y-%m-%dT%H:%M:%S.%fZ"
MAX_TOKEN_BYTES = 16 * 1024


@dataclass(frozen=True)
class AuthPolicy:
    """How unlocking is guarded (configurable; the defaults follow common MLPS practice:
    five consecutive failures lock the key for thirty minutes)."""

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=30)
    challenge_ttl: timedelta = timedelta(minutes=2)

    def __post_init__(self) -> None:
        if not 1 <= self.max_failures <= 100:
            raise UsageError("max_failures must be between 1 and 100")
        if self.lockout < timedelta(minutes=1):
            raise UsageError("a lockout shorter than one minute does not slow an attacker")
        if not timedelta(seconds=1) <= self.challenge_ttl <= timedelta(minutes=10):
            raise UsageError("challenge_ttl must be between 1 second and 10 minutes")


DEFAULT_POLICY = AuthPolicy()


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _unb64(value: object, what: str, where: str) -> bytes:
    if not isinstance(value, str):
        raise KeyringError(f"{where}: {what} is not a base64 string")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise KeyringError(f"{where}: {what} is not valid base64") from None


def _compact(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _encode(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _time(t: datetime) -> str:
    if t.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return t.astimezone(UTC).strftime(_TIME_FMT)


def _parse_time(s: str) -> datetime:
    return datetime.strptime(s, _TIME_FMT).replace(tzinfo=UTC)


# -- tokens (docs/keys.md §9) ------------------------------------------------------------------
def token_id_for(suite: CryptoSuite, holder_key_id: str, public: bytes) -> str:
    """``xt1`` ‖ base32(H(compact {format, holder_key_id, public, suite}))[:24]."""
    covered = {
        "format": TOKEN_FORMAT,
        "holder_key_id": holder_key_id,
        "public": _b64(public),
        "suite": suite.name.value,
    }
    return TOKEN_PREFIX + base64.b32encode(suite.digest(_compact(covered))[:15]).decode().lower()


class Token:
    """A holder's second factor: a signing key kept apart from the keyring.

    ``repr`` shows the holder and token id only; the private key never leaves but as the
    token file written by :meth:`save`."""

    __slots__ = ("_private", "holder", "holder_key_id", "public", "suite", "token_id")

    def __init__(
        self, holder: str, holder_key_id: str, suite: SuiteName, private: PrivateKey
    ) -> None:
        self.holder = holder
        self.holder_key_id = holder_key_id
        self.suite = suite
        self._private = private
        self.public = private.public_bytes()
        # the suite passed the compliance check in generate() or load()
        self.token_id = token_id_for(get_suite_unchecked(suite), holder_key_id, self.public)

    @classmethod
    def generate(cls, holder: str, holder_key_id: str, suite: str | SuiteName) -> Token:
        s = get_suite(suite, what=f"the token of {holder}")
        return cls(holder, holder_key_id, s.name, s.generate_signing_key())

    def respond(self, challenge: Challenge) -> bytes:
        """Sign ``challenge`` (what a hardware token does on its button press)."""
        if challenge.token_id != self.token_id:
            raise AuthenticationFailed(f"this challenge is for another token, not {self.token_id}")
        # the suite passed the compliance check in generate() or load()
        return get_suite_unchecked(self.suite).sign(self._private, challenge.message())

    def to_bytes(self) -> bytes:
        s = get_suite_unchecked(self.suite)  # checked in generate() or load()
        doc = {
            "format": TOKEN_FORMAT,
            "holder": self.holder,
            "holder_key_id": self.holder_key_id,
            "token_id": self.token_id,
            "suite": self.suite.value,
            "public": _b64(self.public),
            "private": _b64(s.export_private(self._private)),
        }
        return _encode(doc)

    def save(self, path: str | Path) -> Path:
        """Write the token file (mode 0600); never overwrites an existing file."""
        p = Path(path)
        if p.exists():
            raise KeyringError(
                f"{p} already exists", hint="choose another --token-out path, or move it aside"
            )
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_bytes_atomic(p, self.to_bytes(), secret=True)
        return p

    @classmethod
    def load(cls, path: str | Path) -> Token:
        """Read a token file: canonical form, version marker, token id and key pair checked."""
        p = Path(path)
        where = str(p)
        try:
            data = p.read_bytes()
        except OSError as e:
            raise KeyringError(
                f"{where}: cannot read the token file ({e.strerror})",
                hint="pass the holder's token: XINAN_TOKEN=FILE or XINAN_TOKEN_DIR=DIR",
            ) from None
        if len(data) > MAX_TOKEN_BYTES:
            raise KeyringError(f"{where}: not a token file (too large)")
        try:
            doc = loads_strict(data)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise KeyringError(f"{where}: not a token file (invalid JSON)") from None
        if not isinstance(doc, dict) or doc.get("format") != TOKEN_FORMAT:
            raise KeyringError(f"{where}: not a {TOKEN_FORMAT} file")
        if list(doc) != _TOKEN_MEMBERS or _encode(doc) != data:
            raise KeyringError(f"{where}: damaged token file (members or not canonical)")
        if not all(isinstance(doc[k], str) for k in _TOKEN_MEMBERS):
            raise KeyringError(f"{where}: damaged token file")
        try:
            s = get_suite(doc["suite"], what=f"token {where}")
        except (UsageError, ValueError):
            raise KeyringError(f"{where}: damaged token file (suite)") from None
        private = s.import_private("sign", _unb64(doc["private"], "private", where))
        public = _unb64(doc["public"], "public", where)
        tok = cls(doc["holder"], doc["holder_key_id"], s.name, private)
        if tok.public != public or tok.token_id != doc["token_id"]:
            raise KeyringError(f"{where}: damaged token file (keys do not match its token id)")
        return tok

    def __repr__(self) -> str:
        return f"<Token {self.holder} {self.token_id} {self.suite.value}>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("tokens cannot be pickled or copied")


class TokenSource(Protocol):
    """Where a holder's token comes from (a file, a directory of them, a prompt, a device)."""

    def __call__(self, holder: str) -> Token | None: ...


@dataclass(frozen=True)
class TokenFile:
    """One token file for whoever acts (``XINAN_TOKEN``)."""

    path: Path

    def __call__(self, holder: str) -> Token | None:
        return Token.load(self.path)


@dataclass(frozen=True)
class TokenDir:
    """A directory of ``<holder>.token`` files (``XINAN_TOKEN_DIR``: scripts acting as several
    administrators)."""

    path: Path

    def __call__(self, holder: str) -> Token | None:
        p = self.path / f"{holder}.token"
        return Token.load(p) if p.is_file() else None


def tokens_from_environment() -> TokenSource | None:
    """``$XINAN_TOKEN`` (one token file) or ``$XINAN_TOKEN_DIR`` (``<id>.token`` files): how
    scripts, tests and CI supply an administrator's second factor without a prompt, to every
    caller that does not pass its own source (like ``$XINAN_COMPLIANCE`` for the suite)."""
    file = os.environ.get("XINAN_TOKEN")
    if file:
        return TokenFile(Path(file))
    directory = os.environ.get("XINAN_TOKEN_DIR")
    if directory:
        return TokenDir(Path(directory))
    return None


# -- challenges --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Challenge:
    """What the token signs: the log it unlocks for, the holder, the token, a time, a nonce."""

    origin: str
    holder_key_id: str
    token_id: str
    issued: datetime
    nonce: bytes = field(repr=False)

    def message(self) -> bytes:
        return CHALLENGE_DOMAIN + _compact(
            {
                "holder_key_id": self.holder_key_id,
                "issued": _time(self.issued),
                "nonce": _b64(self.nonce),
                "origin": self.origin,
                "token_id": self.token_id,
            }
        )


class ChallengeBook:
    """Issues challenges and accepts each response once: a replayed response, a response to a
    challenge issued elsewhere or one older than the policy's ``challenge_ttl`` is refused."""

    def __init__(self, policy: AuthPolicy = DEFAULT_POLICY) -> None:
        self._policy = policy
        self._open: dict[bytes, Challenge] = {}

    def issue(self, *, origin: str, holder_key_id: str, token_id: str, now: datetime) -> Challenge:
        nonce = os.urandom(32)
        ch = Challenge(origin, holder_key_id, token_id, now, nonce)
        self._open[nonce] = ch
        return ch

    def verify(
        self,
        challenge: Challenge,
        signature: bytes,
        *,
        suite: SuiteName,
        token_public: bytes,
        now: datetime,
    ) -> None:
        """Accept ``signature`` over ``challenge`` once; raise :class:`AuthenticationFailed`."""
        issued = self._open.pop(challenge.nonce, None)
        if issued is None or issued != challenge:
            raise AuthenticationFailed(
                "second factor: this challenge was not issued here or was already answered "
                "(a replayed response)",
                rule="authn:token-replay",
            )
        if now - challenge.issued > self._policy.challenge_ttl or now < challenge.issued:
            raise AuthenticationFailed(
                "second factor: the challenge expired before it was answered",
                rule="authn:token-expired",
            )
        try:
            get_suite(suite, what="a token").verify(token_public, challenge.message(), signature)
        except IntegrityError:
            raise AuthenticationFailed(
                "second factor: the token's response does not verify",
                rule="authn:token",
                hint="use the token enrolled for this key (xinan keys roster shows its id)",
            ) from None


# -- lockout (GB/T 22239-2019 8.1.4.1 b) ------------------------------------------------------
@dataclass(frozen=True)
class Deferred:
    """A failure that could not be logged when it happened (the log key itself failed to
    unlock): logged by the next session that opens the log."""

    time: str
    key_id: str
    role: str
    reason: str
    outcome: str = "failed"


def _render(state: dict[str, Any]) -> str:
    return json.dumps(state, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


class LockoutStore:
    """Consecutive failures per key id in ``<keyring>/authn-state.json`` (0600, under a lock).

    A success resets the count; ``max_failures`` in a row lock the key until ``lockout`` has
    passed — a locked key is refused even with the right passphrase and token."""

    def __init__(self, directory: Path, policy: AuthPolicy = DEFAULT_POLICY) -> None:
        self.path = directory / "authn-state.json"
        self._lock_path = directory / "authn-state.lock"
        self.policy = policy

    @contextlib.contextmanager
    def _state(self, *, write: bool) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            state = self._read()
            before = _render(state) if write else ""
            yield state
            if write and (after := _render(state)) != before:  # unchanged: no write, no fsync
                write_bytes_atomic(self.path, after.encode(), secret=True)
        finally:
            os.close(fd)

    def _read(self) -> dict[str, Any]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {"format": STATE_FORMAT, "keys": {}, "deferred": []}
        try:
            doc = loads_strict(data)
        except (UnicodeDecodeError, ValueError, RecursionError):
            doc = None
        if (
            not isinstance(doc, dict)
            or doc.get("format") != STATE_FORMAT
            or not isinstance(doc.get("keys"), dict)
            or not isinstance(doc.get("deferred"), list)
        ):
            # fail closed: a damaged state must not reset anyone's failure count silently
            raise KeyringError(
                f"{self.path}: damaged authentication state",
                hint="restore it from backup; the audit log lists every failed unlock",
            )
        return doc

    def check(self, key_id: str, now: datetime) -> None:
        """Raise :class:`AccountLocked` while ``key_id`` is locked."""
        with self._state(write=False) as st:
            rec = st["keys"].get(key_id)
        if rec and rec.get("locked_until"):
            until = _parse_time(rec["locked_until"])
            if now < until:
                raise AccountLocked(
                    f"key {key_id} is locked until {until:%Y-%m-%d %H:%M:%S} UTC after "
                    f"{rec['failures']} failed unlocks",
                    rule="authn:lockout",
                    hint="wait, or ask the system administrator; every failure is in the audit log",
                )

    def failure(self, key_id: str, now: datetime) -> tuple[int, datetime | None]:
        """Count one failure; return the consecutive count and the lock's end if now locked."""
        with self._state(write=True) as st:
            rec = st["keys"].setdefault(key_id, {"failures": 0, "locked_until": None})
            if rec.get("locked_until") and now >= _parse_time(rec["locked_until"]):
                rec["failures"], rec["locked_until"] = 0, None  # the lock ran out: a new count
            rec["failures"] = int(rec["failures"]) + 1
            until = None
            if rec["failures"] >= self.policy.max_failures:
                until = now + self.policy.lockout
                rec["locked_until"] = _time(until)
            return rec["failures"], until

    def success(self, key_id: str) -> None:
        with self._state(write=True) as st:
            st["keys"].pop(key_id, None)

    def defer(self, event: Deferred) -> None:
        with self._state(write=True) as st:
            st["deferred"].append(
                {
                    "time": event.time,
                    "key_id": event.key_id,
                    "role": event.role,
                    "reason": event.reason,
                    "outcome": event.outcome,
                }
            )

    def take_deferred(self) -> list[Deferred]:
        with self._state(write=True) as st:
            out = [Deferred(**d) for d in st["deferred"]]
            st["deferred"] = []
        return out


# -- the factors in order ----------------------------------------------------------------------
Report = Callable[[str, str, int], None]
"""``report(reason, outcome, failures)``: log one failure ("failed") or refusal ("denied")."""


def unlock_member(
    *,
    keyring: Keyring,
    member: Member,
    passphrase: Callable[[str], str],
    tokens: TokenSource | None,
    origin: str,
    now: datetime,
    store: LockoutStore,
    report: Report,
    needs_token: bool,
) -> Identity:
    """Unlock ``member``'s key with its factors: lockout, passphrase, proof that the private
    key is the roster's, then (``needs_token``) the token's answer to a fresh challenge.

    Every failure is counted in ``store`` and passed to ``report`` before the error is raised.
    """

    def fail(reason: str, exc: Exception) -> None:
        n, until = store.failure(member.key_id, now)
        report(reason, "failed", n)
        if until is not None:
            report("locked", "denied", n)

    try:
        store.check(member.key_id, now)
    except AccountLocked:
        report("locked", "denied", store.policy.max_failures)
        raise
    try:
        identity = keyring.unlock(member.id, passphrase(f"{member.id} ({member.role.value})"))
    except WrongPassphrase as e:
        fail("passphrase", e)
        raise
    if identity.info.key_id != member.key_id or identity.info.role is not member.role:
        err = AuthenticationFailed(
            f"the private key file of {member.id} is not the key the roster names "
            f"({identity.info.key_id}, roster {member.key_id})",
            rule="authn:possession",
            hint="the keyring was altered: restore it from backup, or ask the system "
            "administrator to re-enrol the key",
        )
        fail("possession", err)
        raise err
    if needs_token:
        _second_factor(member, tokens, origin, now, fail)
    store.success(member.key_id)
    return identity


def _second_factor(
    member: Member,
    tokens: TokenSource | None,
    origin: str,
    now: datetime,
    fail: Callable[[str, Exception], None],
) -> None:
    if member.token_id is None or member.token_public is None:
        err = AuthenticationFailed(
            f"{member.id} ({member.role.value}) needs a second factor and has none enrolled",
            rule="authn:no-token",
            hint="the system administrator enrols one: xinan keys enroll "
            f"{member.id} --token-out FILE",
        )
        fail("no-token-enrolled", err)
        raise err
    token = tokens(member.id) if tokens is not None else None
    if token is None:
        err = AuthenticationFailed(
            f"{member.id} ({member.role.value}) is an administrator: the passphrase alone is "
            "not enough (GB/T 22239-2019 8.1.4.1 d)",
            rule="authn:token-missing",
            hint="supply the token: XINAN_TOKEN=FILE (or XINAN_TOKEN_DIR=DIR holding "
            f"{member.id}.token)",
        )
        fail("token-missing", err)
        raise err
    if token.token_id != member.token_id:
        err = AuthenticationFailed(
            f"the token {token.token_id} is not the one enrolled for {member.id}",
            rule="authn:token",
            hint="use the token file issued at enrolment (xinan keys roster shows its id)",
        )
        fail("token", err)
        raise err
    book = ChallengeBook()
    challenge = book.issue(
        origin=origin, holder_key_id=member.key_id, token_id=member.token_id, now=now
    )
    try:
        book.verify(
            challenge,
            token.respond(challenge),
            suite=token.suite,
            token_public=member.token_public,
            now=now,
        )
    except AuthenticationFailed as e:
        fail("token", e)
        raise


__all__ = [
    "DEFAULT_POLICY",
    "TOKEN_FORMAT",
    "AuthPolicy",
    "Challenge",
    "ChallengeBook",
    "Deferred",
    "LockoutStore",
    "Token",
    "TokenDir",
    "TokenFile",
    "TokenSource",
    "token_id_for",
    "tokens_from_environment",
    "unlock_member",
]
