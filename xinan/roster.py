"""The role roster (format ``xinan-roster/1``, docs/keys.md §8): who may act in a keyring, in
which role, with which clearance, second factor, status and expiry.

A key file's role is its holder's claim; the roster is the authority's word (GB/T 22239-2019
8.1.4.2: roles assigned by the administrator, 三权分立). Each roster is a file
``<keyring>/roster/<serial>.json`` signed by a system administrator who is active in the
previous roster (a security administrator may sign a roster that changes clearances only: the
labels are the security administrator's, 8.1.5.3), chained by digest to the one before, and
anchored in the keyring's own audit log: every roster's digest is a ``key.roster`` entry, the
first one written by the explicit bootstrap (:func:`bootstrap`). So a roster is believed only
when (1) the chain from the first roster verifies, (2) the oldest ``key.roster`` entry in the
bound log names a roster of the chain, and (3) the newest names the newest roster: a file
placed by hand, an older roster put back, or a roster made for another log is refused.

Owns the roster files; not the unlocking (:mod:`xinan.authn`) nor the session
(:mod:`xinan.access`). Times come from the caller's clock.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import mmap
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from xinan._codec import loads_strict
from xinan.audit.entry import parse_entry
from xinan.audit.log import read_prune_state
from xinan.crypto import CryptoSuite, SuiteName, get_suite_unchecked
from xinan.errors import AccessDenied, IntegrityError, KeyringError, UsageError
from xinan.fileio import write_bytes_atomic
from xinan.keys import SECRET_ROLES, Identity, Keyring, Role

FORMAT = "xinan-roster/1"
DOMAIN = b"xinan-roster/1\n"
ENTRY_TYPE = "key.roster"
STATUSES = ("active", "disabled", "revoked")
CLEARANCES = (1, 2, 3, 4)  # the policy's grades: 公开 < 内部 < 敏感 < 高敏感 (docs/policy.md)
ADMIN_ROLES = frozenset({Role.SYS_ADMIN, Role.SEC_ADMIN, Role.AUDIT_ADMIN})
# Default clearance by role: those that handle credit data in clear up to the highest grade;
# administrators see internal data only (GB/T 22239-2019 8.1.5: no administrator reads
# business data); a witness sees only what is public.
DEFAULT_CLEARANCE: dict[Role, int] = {
    Role.PROVIDER: 4,
    Role.PLATFORM: 4,
    Role.QUERENT: 4,
    Role.AUDITOR: 2,
    Role.SYS_ADMIN: 2,
    Role.SEC_ADMIN: 2,
    Role.AUDIT_ADMIN: 2,
    Role.WITNESS: 1,
}
_MEMBERS = ["format", "serial", "previous", "issued", "log", "members", "signer", "sig"]
_LOG_MEMBERS = ["origin", "log_key_id", "path"]
_MEMBER_MEMBERS = [
    "id",
    "key_id",
    "role",
    "clearance",
    "status",
    "not_after",
    "token_id",
    "token_public",
]
_TIME_FMT = "%Y-%m-%dT%H:%M:%SZ"
_FILE_RE = re.compile(r"\A(\d{6})\.json\Z")
MAX_FILE_BYTES = 1 << 20
_MARKER = b'"type":"key.roster","v":"xinan-audit/1"'


@dataclass(frozen=True)
class Member:
    """One identity of the keyring as the authority sees it."""

    id: str
    key_id: str
    role: Role
    clearance: int
    status: str = "active"
    not_after: datetime | None = None
    token_id: str | None = None
    token_public: bytes | None = None

    def check_usable(self, now: datetime) -> None:
        """Raise :class:`AccessDenied` unless this identity may act at ``now``."""
        if self.status != "active":
            raise AccessDenied(
                f"{self.id} ({self.key_id}) is {self.status} in the roster",
                rule=f"roster:{self.status}",
                hint="ask the system administrator (xinan keys enable) if this is wrong"
                if self.status == "disabled"
                else "a revoked key never acts again; the holder needs a new key",
            )
        if self.not_after is not None and now >= self.not_after:
            raise AccessDenied(
                f"{self.id} ({self.key_id}) expired on {self.not_after:%Y-%m-%d %H:%M} UTC",
                rule="roster:expired",
                hint="the system administrator extends it (xinan keys expire ID --on DATE) "
                "or issues a new key",
            )


@dataclass(frozen=True)
class LogBinding:
    """The audit log a keyring is bound to: its origin, its key and where it is."""

    origin: str
    log_key_id: str
    path: str


@dataclass(frozen=True)
class Roster:
    serial: int
    previous: str
    issued: datetime
    log: LogBinding
    members: tuple[Member, ...]
    signer: str
    sig: bytes
    data: bytes  # the file's bytes (canonical)

    def member(self, ref: str) -> Member | None:
        """The member with this key id (or id)."""
        for m in self.members:
            if ref in (m.key_id, m.id):
                return m
        return None

    def digest(self, suite: CryptoSuite) -> str:
        return suite.digest(self.data).hex()


# -- encoding ----------------------------------------------------------------------------------
def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _compact(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _encode(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _time(t: datetime) -> str:
    if t.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return t.astimezone(UTC).strftime(_TIME_FMT)


def _member_doc(m: Member) -> dict[str, Any]:
    return {
        "id": m.id,
        "key_id": m.key_id,
        "role": m.role.value,
        "clearance": m.clearance,
        "status": m.status,
        "not_after": _time(m.not_after) if m.not_after else None,
        "token_id": m.token_id,
        "token_public": _b64(m.token_public) if m.token_public else None,
    }


def _unsigned_doc(
    serial: int,
    previous: str,
    issued: datetime,
    log: LogBinding,
    members: Iterable[Member],
    signer: str,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "serial": serial,
        "previous": previous,
        "issued": _time(issued),
        "log": {"origin": log.origin, "log_key_id": log.log_key_id, "path": log.path},
        "members": [_member_doc(m) for m in sorted(members, key=lambda m: m.id)],
        "signer": signer,
    }


def _bad(where: str, what: str) -> KeyringError:
    return KeyringError(
        f"{where}: damaged roster ({what})",
        hint="restore the keyring's roster/ directory from backup; never edit it by hand",
    )


def _parse_member(d: Any, where: str) -> Member:
    if not isinstance(d, dict) or list(d) != _MEMBER_MEMBERS:
        raise _bad(where, "member")
    try:
        role = Role(d["role"])
        not_after = (
            None
            if d["not_after"] is None
            else datetime.strptime(d["not_after"], _TIME_FMT).replace(tzinfo=UTC)
        )
        token_public = (
            None
            if d["token_public"] is None
            else base64.b64decode(d["token_public"].encode("ascii"), validate=True)
        )
    except (ValueError, TypeError, AttributeError, binascii.Error):
        raise _bad(where, "member role, expiry or token") from None
    if (
        not isinstance(d["id"], str)
        or not isinstance(d["key_id"], str)
        or d["clearance"] not in CLEARANCES
        or type(d["clearance"]) is not int
        or d["status"] not in STATUSES
        or (d["token_id"] is None) != (token_public is None)
        or not (d["token_id"] is None or isinstance(d["token_id"], str))
        or role in SECRET_ROLES
    ):
        raise _bad(where, f"member {d.get('id')!r}")
    return Member(
        d["id"],
        d["key_id"],
        role,
        d["clearance"],
        d["status"],
        not_after,
        d["token_id"],
        token_public,
    )


def parse_roster(data: bytes, where: str) -> Roster:
    """Parse a roster file (structure and canonical form; not yet its signature)."""
    if len(data) > MAX_FILE_BYTES:
        raise _bad(where, "too large")
    try:
        doc = loads_strict(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _bad(where, "not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise KeyringError(f"{where}: not a {FORMAT} file")
    if list(doc) != _MEMBERS or _encode(doc) != data:
        raise _bad(where, "members or not canonical")
    log = doc["log"]
    if not isinstance(log, dict) or list(log) != _LOG_MEMBERS:
        raise _bad(where, "log")
    if not all(isinstance(log[k], str) for k in _LOG_MEMBERS):
        raise _bad(where, "log")
    if type(doc["serial"]) is not int or doc["serial"] < 1 or not isinstance(doc["members"], list):
        raise _bad(where, "serial or members")
    try:
        issued = datetime.strptime(doc["issued"], _TIME_FMT).replace(tzinfo=UTC)
        sig = base64.b64decode(doc["sig"].encode("ascii"), validate=True)
    except (ValueError, TypeError, AttributeError, binascii.Error):
        raise _bad(where, "issued or sig") from None
    members = tuple(_parse_member(m, where) for m in doc["members"])
    if len({m.key_id for m in members}) != len(members) or len({m.id for m in members}) != len(
        members
    ):
        raise _bad(where, "a key or id listed twice")
    if not isinstance(doc["previous"], str) or not isinstance(doc["signer"], str):
        raise _bad(where, "previous or signer")
    return Roster(
        doc["serial"],
        doc["previous"],
        issued,
        LogBinding(log["origin"], log["log_key_id"], log["path"]),
        members,
        doc["signer"],
        sig,
        data,
    )


def _message(r: Roster) -> bytes:
    doc = _unsigned_doc(r.serial, r.previous, r.issued, r.log, r.members, r.signer)
    return DOMAIN + _compact(doc)


def _sign(
    serial: int,
    previous: str,
    issued: datetime,
    log: LogBinding,
    members: Iterable[Member],
    signer: Identity,
) -> bytes:
    doc = _unsigned_doc(serial, previous, issued, log, members, signer.key_id)
    doc["sig"] = _b64(signer.sign(DOMAIN + _compact(doc)))
    return _encode(doc)


# -- where rosters live ------------------------------------------------------------------------
def roster_dir(keyring: Keyring) -> Path:
    return keyring.path / "roster"


def is_bootstrapped(keyring: Keyring) -> bool:
    d = roster_dir(keyring)
    return d.is_dir() and any(_FILE_RE.match(p.name) for p in d.iterdir())


def _files(keyring: Keyring) -> list[tuple[int, Path]]:
    d = roster_dir(keyring)
    if not d.is_dir():
        return []
    out = [(int(m.group(1)), p) for p in d.iterdir() if (m := _FILE_RE.match(p.name))]
    return sorted(out)


def _log_suite(log_path: Path) -> CryptoSuite:
    from xinan.access import load_audit_config

    cfg = load_audit_config(log_path)
    # the roster's digests use the log's hash, fixed when the log was set up under the
    # compliance mode then in force (SM3 for a gm log)
    return get_suite_unchecked(SuiteName.GM if cfg.hash == "sm3" else SuiteName.INTL)


# -- anchors in the log ------------------------------------------------------------------------
def roster_anchors(log_path: Path) -> tuple[str | None, str | None]:
    """The ``ref`` of the oldest and of the newest ``key.roster`` entry in the log (None if
    there is none). Finds them by their canonical marker from either end, so the cost is the
    distance from the log's ends, not its length."""
    try:
        f = log_path.open("rb")
    except FileNotFoundError:
        return None, None
    with f:
        size = f.seek(0, 2)
        if size == 0:
            return None, None
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return _scan(m, forward=True), _scan(m, forward=False)


def _scan(m: mmap.mmap, *, forward: bool) -> str | None:
    pos = m.find(_MARKER) if forward else m.rfind(_MARKER)
    while pos >= 0:
        start = m.rfind(b"\n", 0, pos) + 1
        end = m.find(b"\n", pos)
        if end < 0:  # a torn last line is not an entry
            end = -1
        if end >= 0:
            try:
                entry = parse_entry(m[start:end])
            except ValueError:
                entry = None
            if entry is not None and entry["type"] == ENTRY_TYPE:
                ref = entry["objects"].get("ref")
                return ref if isinstance(ref, str) else None
        pos = m.find(_MARKER, pos + 1) if forward else m.rfind(_MARKER, 0, pos)
    return None


def _ref(r: Roster, suite: CryptoSuite) -> str:
    return f"roster:{r.serial}:{r.digest(suite)}"


# -- loading -----------------------------------------------------------------------------------
def load_roster(keyring: Keyring) -> Roster:
    """The keyring's current roster, believed only after every check of the module docstring.

    Raises :class:`KeyringError` if the keyring has no roster, :class:`IntegrityError` if a
    signature, the chain or the log's anchors do not agree."""
    files = _files(keyring)
    if not files:
        raise KeyringError(
            f"keyring {keyring.path} has no roster: no identity may act yet",
            hint="the system administrator bootstraps it once, after `xinan audit init`: "
            "xinan --as SYS_ADMIN_KEY keys bootstrap --token-dir DIR",
        )
    chain: list[Roster] = []
    for i, (serial, path) in enumerate(files):
        if serial != i + 1:
            raise IntegrityError(f"{path}: roster {i + 1} is missing from the chain")
        r = parse_roster(path.read_bytes(), str(path))
        if r.serial != serial:
            raise IntegrityError(f"{path}: file name and serial disagree")
        chain.append(r)
    first = chain[0]
    log_path = Path(first.log.path)
    suite = _log_suite(log_path)
    _check_binding(first, log_path)
    _verify(keyring, first, first)
    for prev, cur in itertools.pairwise(chain):
        if cur.previous != prev.digest(suite) or cur.log != first.log:
            raise IntegrityError(f"roster {cur.serial} does not follow roster {prev.serial}")
        _verify(keyring, prev, cur)
    oldest, newest = roster_anchors(log_path)
    refs = [_ref(r, suite) for r in chain]
    if oldest is None and newest is None and read_prune_state(log_path) is not None:
        # Retention pruned every roster entry (docs/keys.md §8.4, a known limit): the chain's
        # signatures still hold, but a roll-back is no longer visible until the next change
        # re-anchors the roster. `xinan keys roster` says so.
        return chain[-1]
    if oldest is None or oldest not in refs:
        raise IntegrityError(
            f"{log_path}: the audit log does not anchor this keyring's rosters",
            hint="the roster was replaced or the log is not this keyring's; restore both "
            "from backup",
        )
    if newest != refs[-1]:
        raise IntegrityError(
            f"{log_path}: the newest roster in the audit log is not roster {chain[-1].serial} "
            "(an older roster was put back, or a change was not finished)",
            hint="restore the keyring's roster/ directory from backup",
        )
    return chain[-1]


def _check_binding(r: Roster, log_path: Path) -> None:
    from xinan.access import load_audit_config

    cfg = load_audit_config(log_path)
    if cfg.origin != r.log.origin or cfg.log_key_id != r.log.log_key_id:
        raise IntegrityError(f"{log_path}: not the audit log this keyring's roster is bound to")


def _verify(keyring: Keyring, prev: Roster, cur: Roster) -> None:
    """``cur`` is signed by an active system administrator of ``prev`` (for the first roster,
    of itself), or by an active security administrator of ``prev`` when only clearances
    changed."""
    signer = prev.member(cur.signer)
    if signer is None or signer.status != "active" or signer.key_id != cur.signer:
        raise IntegrityError(f"roster {cur.serial}: signed by a key the roster does not name")
    if signer.not_after is not None and cur.issued >= signer.not_after:
        raise IntegrityError(f"roster {cur.serial}: signed by an expired key")
    if signer.role is Role.SEC_ADMIN and prev is not cur:
        if _strip_clearance(prev.members) != _strip_clearance(cur.members):
            raise IntegrityError(
                f"roster {cur.serial}: a security administrator may change clearances only"
            )
    elif signer.role is not Role.SYS_ADMIN:
        raise IntegrityError(f"roster {cur.serial}: not signed by a system administrator")
    info = keyring.get_public(signer.id)
    if info.key_id != signer.key_id:
        raise IntegrityError(f"roster {cur.serial}: the trust store's {signer.id} is another key")
    # the signer's key passed the keyring's compliance check in get_public()
    get_suite_unchecked(info.suite).verify(info.sig, _message(cur), cur.sig)


def _strip_clearance(members: tuple[Member, ...]) -> tuple[Member, ...]:
    return tuple(replace(m, clearance=0) for m in members)


# -- changing ----------------------------------------------------------------------------------
Record = Callable[[str, list[str], str], None]
"""``record(ref, key_ids, action)``: append the ``key.roster`` entry (durably) or raise."""


def write_roster(
    keyring: Keyring,
    current: Roster | None,
    members: Iterable[Member],
    *,
    signer: Identity,
    log: LogBinding,
    now: datetime,
    action: str,
    changed: list[str],
    record: Record,
) -> Roster:
    """Sign and install the next roster: written aside, anchored in the log (``record``), then
    put in place. A crash before the entry leaves the old roster current; after it, the
    pending file is put in place by :func:`finish_pending`."""
    members = tuple(members)
    for m in members:
        if m.clearance not in CLEARANCES or m.status not in STATUSES:
            raise UsageError(f"roster member {m.id}: bad clearance or status")
    suite = _log_suite(Path(log.path))
    serial = 1 if current is None else current.serial + 1
    previous = "" if current is None else current.digest(suite)
    data = _sign(serial, previous, now, log, members, signer)
    new = parse_roster(data, "new roster")
    d = roster_dir(keyring)
    d.mkdir(parents=True, exist_ok=True, mode=0o755)
    pending = d / f"{serial:06d}.pending"
    write_bytes_atomic(pending, data)
    record(_ref(new, suite), changed, action)
    pending.replace(d / f"{serial:06d}.json")
    return new


def finish_pending(keyring: Keyring) -> bool:
    """Put in place a roster whose ``key.roster`` entry was written before a crash; True if
    one was. A pending roster the log does not name is left alone (and never believed)."""
    d = roster_dir(keyring)
    files = _files(keyring)
    if not files or not d.is_dir():
        return False
    first = parse_roster(files[0][1].read_bytes(), str(files[0][1]))
    log_path = Path(first.log.path)
    suite = _log_suite(log_path)
    _, newest = roster_anchors(log_path)
    for p in sorted(d.glob("*.pending")):
        r = parse_roster(p.read_bytes(), str(p))
        if newest == _ref(r, suite) and r.serial == files[-1][0] + 1:
            p.replace(d / f"{r.serial:06d}.json")
            return True
    return False


__all__ = [
    "ADMIN_ROLES",
    "CLEARANCES",
    "DEFAULT_CLEARANCE",
    "FORMAT",
    "LogBinding",
    "Member",
    "Roster",
    "finish_pending",
    "is_bootstrapped",
    "load_roster",
    "parse_roster",
    "roster_anchors",
    "roster_dir",
    "write_roster",
]
