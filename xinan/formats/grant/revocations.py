"""Revocation lists (xinan-revocations/1, docs/grant.md §7): signed, monotonic, checked for
staleness.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from xinan._codec import canonical_json, pretty_json
from xinan.crypto import Compliance, get_suite
from xinan.errors import (  # re-exported: the classes live in xinan.errors
    GrantInvalid,
    IntegrityError,
    RevocationListInvalid,
    RevocationListRollback,
    RevocationListStale,
    UsageError,
    VerificationError,
)
from xinan.formats.grant.issue import _require_role
from xinan.formats.grant.jws import pinned_algorithm
from xinan.formats.grant.model import (
    _B64URL_RE,
    _TIME_FMT,
    MAX_REVOCATIONS_BYTES,
    REVOCATIONS_FORMAT,
    Trust,
    _aware,
    _b64u,
    _time_text,
    _unb64u,
)
from xinan.formats.grant.verify import _leeway, _platform_key, _strict_json
from xinan.keys import Identity, Role


# ============================================================================================
# §7 Revocation lists
# ============================================================================================
@dataclass(frozen=True)
class Revocation:
    jti: str
    revoked_at: datetime
    expires: datetime


@dataclass(frozen=True)
class RevocationList:
    """An edition of the platform's revocation list. ``issued``/``next_update`` are set on a
    list read from a signed file; a working copy from :meth:`revoke` has them None."""

    issuer: str
    number: int = 0
    entries: tuple[Revocation, ...] = ()
    issued: datetime | None = None
    next_update: datetime | None = None

    @property
    def jtis(self) -> frozenset[str]:
        return frozenset(e.jti for e in self.entries)

    def __contains__(self, jti: object) -> bool:
        return jti in self.jtis

    def revoke(self, jti: str, *, at: datetime, expires: datetime) -> RevocationList:
        """A new edition with ``jti`` revoked (idempotent on a revoked id)."""
        if not _B64URL_RE.match(jti) or len(jti) != 22:
            raise UsageError(f"{jti[:40]!r} is not a grant id (jti)")
        if jti in self.jtis:
            return self
        entry = Revocation(
            jti,
            _aware(at, "at").replace(microsecond=0),
            _aware(expires, "expires").replace(microsecond=0),
        )
        entries = tuple(sorted((*self.entries, entry), key=lambda e: e.jti))
        return replace(self, number=self.number + 1, entries=entries, issued=None, next_update=None)

    def prune(self, now: datetime) -> RevocationList:
        """Drop entries of grants that have expired anyway (spec §7)."""
        now_utc = _aware(now, "now")
        kept = tuple(e for e in self.entries if e.expires > now_utc)
        if len(kept) == len(self.entries):
            return self
        return replace(self, number=self.number + 1, entries=kept, issued=None, next_update=None)


_REV_MEMBERS = [
    "format",
    "issuer",
    "kid",
    "alg",
    "number",
    "issued",
    "next_update",
    "revoked",
    "sig",
]
_REV_ENTRY = ["jti", "revoked_at", "expires"]


def _rev_encode(doc: dict[str, Any]) -> bytes:
    return pretty_json(doc)


def _rev_signing_input(doc: dict[str, Any]) -> bytes:
    covered = {k: v for k, v in doc.items() if k != "sig"}
    return REVOCATIONS_FORMAT.encode() + b"\n" + canonical_json(covered)


def sign_revocations(
    rl: RevocationList,
    platform: Identity,
    *,
    now: datetime,
    next_update: datetime,
    compliance_mode: str | Compliance | None = None,
) -> bytes:
    """The signed ``xinan-revocations/1`` file of ``rl`` (spec §7)."""
    _require_role(platform.info, Role.PLATFORM, "signing identity")
    if rl.issuer != platform.info.id:
        raise UsageError(f"revocation list of {rl.issuer!r} cannot be signed by {platform.info.id}")
    if rl.number < 1:
        raise UsageError("revocation list number must be at least 1")
    now_utc = _aware(now, "now")
    if _aware(next_update, "next_update") <= now_utc:
        raise UsageError("next_update must be after now")
    suite = get_suite(platform.info.suite, compliance_mode=compliance_mode)
    doc: dict[str, Any] = {
        "format": REVOCATIONS_FORMAT,
        "issuer": rl.issuer,
        "kid": platform.key_id,
        "alg": pinned_algorithm(suite),
        "number": rl.number,
        "issued": _time_text(now_utc),
        "next_update": _time_text(next_update),
        "revoked": [
            {"jti": e.jti, "revoked_at": _time_text(e.revoked_at), "expires": _time_text(e.expires)}
            for e in sorted(rl.entries, key=lambda e: e.jti)
        ],
        "sig": "",
    }
    doc["sig"] = _b64u(platform.sign(_rev_signing_input(doc)))
    return _rev_encode(doc)


def _parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("time")
    return datetime.strptime(value, _TIME_FMT).replace(tzinfo=UTC)


def verify_revocations(
    data: bytes,
    *,
    trust: Trust,
    now: datetime,
    min_number: int = 0,
    leeway: timedelta | int = 0,
    compliance_mode: str | Compliance | None = None,
) -> RevocationList:
    """Verify a ``xinan-revocations/1`` file at ``now`` and return its list (spec §7).

    ``min_number``: the highest edition number seen before (rollback protection).
    """
    now_utc = _aware(now, "now")
    lw = _leeway(leeway)
    bad = RevocationListInvalid(
        "revocation list is invalid", hint="fetch the list again from the platform"
    )
    if len(data) > MAX_REVOCATIONS_BYTES:
        raise bad
    try:
        doc = _strict_json(data)
    except ValueError:
        raise bad from None
    if not isinstance(doc, dict) or doc.get("format") != REVOCATIONS_FORMAT:
        raise bad
    if list(doc) != _REV_MEMBERS or _rev_encode(doc) != data:
        raise bad
    try:
        info, suite, _ = _platform_key(trust, doc["kid"], doc["alg"], compliance_mode)
    except GrantInvalid as e:
        msg = e.message.replace("grant", "revocation list")
        raise RevocationListInvalid(msg, hint=e.hint) from None
    try:
        sig = _unb64u(doc["sig"]) if isinstance(doc["sig"], str) else b""
        suite.verify(info.sig, _rev_signing_input(doc), sig)
    except (ValueError, IntegrityError):
        raise bad from None
    # authentic from here on
    if doc["issuer"] != info.id:
        raise bad
    try:
        number = doc["number"]
        if type(number) is not int or number < 1:
            raise ValueError("number")
        issued, next_update = _parse_time(doc["issued"]), _parse_time(doc["next_update"])
        entries = []
        for item in doc["revoked"]:
            if not isinstance(item, dict) or list(item) != _REV_ENTRY:
                raise ValueError("entry")
            if not isinstance(item["jti"], str) or not _B64URL_RE.match(item["jti"]):
                raise ValueError("jti")
            entries.append(
                Revocation(
                    item["jti"], _parse_time(item["revoked_at"]), _parse_time(item["expires"])
                )
            )
    except (ValueError, TypeError):
        raise bad from None
    jtis = [e.jti for e in entries]
    if jtis != sorted(set(jtis)):
        raise bad
    if number < min_number:
        raise RevocationListRollback(
            f"revocation list edition {number} is older than edition {min_number} seen before",
            hint="someone is serving an old list; fetch the current one from the platform",
        )
    if issued > now_utc + lw:
        raise VerificationError(f"revocation list issued in the future ({_time_text(issued)})")
    if next_update <= now_utc:
        raise RevocationListStale(
            f"revocation list edition {number} is stale since {_time_text(next_update)}",
            hint="fetch the current revocation list from the platform",
        )
    return RevocationList(info.id, number, tuple(entries), issued, next_update)
