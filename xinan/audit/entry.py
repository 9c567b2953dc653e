"""Audit entries: the event model, its checks, and canonical JSON (docs/audit-log.md §2).

Owns: :class:`AuditEvent` (what a caller logs), the canonical serialisation of an entry
(one line, its bytes are the Merkle leaf), the schema checks, and the guard against clear
personal identifiers (resident ID numbers, mobile numbers) slipping into an entry.

Does not own: pseudonymisation (the caller passes keyed pseudonyms), files, sequence numbers
and time (the store assigns them).
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from xinan._codec import INT_MAX, INT_MIN, canonical_json, loads_strict
from xinan.errors import AuditError

__all__ = [
    "ENTRY_VERSION",
    "EVENT_TYPES",
    "OUTCOMES",
    "AuditEvent",
    "canonical_json",
    "format_time",
    "looks_like_resident_id",
    "new_request_id",
    "parse_entry",
    "parse_time",
    "process_source",
]

ENTRY_VERSION = "xinan-audit/1"
EVENT_TYPES = frozenset(
    [
        "collect",
        "consent",
        "reject",
        "seal",
        "verify",
        "ingest",
        "open",
        "grant",
        "revoke",
        "share",
        "disclose",
        "dispute",
        "repair",
        "destroy",
        "denied",
        # a correction at the source (docs/source-change.md; a revocation is a `revoke`)
        "correct",
        # a record restricted at its subject's deletion request (docs/lifecycle.md §8)
        "restrict",
    ]
)
EVENT_TYPE_PREFIXES = ("key.", "policy.", "audit.")
OUTCOMES = frozenset({"success", "denied", "failed"})
TOP_KEYS = frozenset({"v", "seq", "time", "actor", "type", "objects", "why", "outcome", "subjects"})
OBJECT_KEYS = {
    "record_ids": list,
    "package": str,
    "counts": dict,
    "key_ids": list,
    "policy": str,
    "ref": str,
    "fields": list,  # catalogue field names an access covered (grant, share, release, open)
    "name": str,  # a display name for the keys in key_ids (an institution's registered name)
}
# entries whose objects.name registers a display name for their key_ids (docs/audit-log.md)
NAMING_ENTRIES = frozenset({"key.add", "key.name"})
WHY_KEYS = frozenset({"purpose", "grant", "consent", "basis"})
# actor.request and actor.source (docs/audit-log.md §2; GB/T 22239-2019 8.1.4.3 b): optional,
# written since 2026-12 — one random id per library call / CLI invocation, and where the request
# came from (host/process, or the caller's address a service passes)
_REQUEST = re.compile(r"[0-9a-f]{32}")
MAX_SOURCE = 200
MAX_STR = 512
MAX_ITEMS = 10_000

_TYPE_NAME = re.compile(r"[a-z0-9_.-]{1,32}")
_PSEUDONYM = re.compile(r"[A-Za-z0-9+/=_:.-]{16,128}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# 18 characters between non-alphanumeric boundaries: a candidate resident ID.
_RID = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")

# GB 11643-1999 §5: ISO 7064 MOD 11-2 weights 2^(18-i) mod 11 and check characters.
_RID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RID_CHECK = "10X98765432"


def looks_like_resident_id(s: str) -> bool:
    """True if ``s`` is 18 characters forming a plausible resident identity number:
    a valid birth date (positions 7–14) and a valid ISO 7064 MOD 11-2 check character.

    A local guard (the audit package must not depend on the validators' module); it is
    deliberately narrow: it exists to stop a clear ID being logged, not to validate IDs.
    """
    if len(s) != 18 or not s[:17].isdigit() or not s.isascii():
        return False
    try:
        datetime.strptime(s[6:14], "%Y%m%d")
    except ValueError:
        return False
    total = sum(int(c) * w for c, w in zip(s[:17], _RID_WEIGHTS, strict=True))
    return _RID_CHECK[total % 11] == s[17].upper()


def format_time(t: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC; naive datetimes are refused."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise AuditError("audit clock returned a time without a zone", hint="pass an aware clock")
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(s: str) -> datetime:
    """Inverse of :func:`format_time`; also accepts any ISO 8601 time with a zone."""
    t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError(f"time {s!r} has no zone")
    return t.astimezone(UTC)


def _check_str(where: str, s: object) -> str:
    if not isinstance(s, str):
        raise AuditError(f"audit event: {where} must be a string")
    if len(s) > MAX_STR:
        raise AuditError(f"audit event: {where} longer than {MAX_STR} characters")
    if _CONTROL.search(s):
        raise AuditError(f"audit event: {where} contains control characters")
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise AuditError(f"audit event: {where} is not valid Unicode") from None
    for m in _RID.finditer(s):
        if looks_like_resident_id(m.group(1)):
            raise AuditError(
                f"audit event: {where} holds what looks like a clear resident ID number",
                hint="log keyed pseudonyms and record ids, never clear identifiers",
            )
    if _MOBILE.search(s):
        raise AuditError(
            f"audit event: {where} holds what looks like a clear mobile number",
            hint="log keyed pseudonyms and record ids, never clear identifiers",
        )
    return s


def _check_str_list(where: str, xs: object) -> list[str]:
    if not isinstance(xs, list | tuple):
        raise AuditError(f"audit event: {where} must be a list of strings")
    if len(xs) > MAX_ITEMS:
        raise AuditError(f"audit event: {where} has more than {MAX_ITEMS} items")
    return [_check_str(f"{where}[{i}]", x) for i, x in enumerate(xs)]


def _check_int(where: str, x: object) -> int:
    if isinstance(x, bool) or not isinstance(x, int) or not INT_MIN <= x <= INT_MAX:
        # docs/audit-log.md §2.1: RFC 8785 / I-JSON integers
        raise AuditError(f"audit event: {where} must be an integer within ±(2^53 - 1)")
    return x


@dataclass(frozen=True)
class AuditEvent:
    """What happened: the store adds ``v``, ``seq`` and ``time`` (docs/audit-log.md §2.2).

    ``subjects`` are keyed pseudonyms supplied by the caller, never clear identifiers.
    """

    type: str
    actor_key_id: str
    actor_role: str
    outcome: str = "success"
    objects: Mapping[str, Any] = field(default_factory=dict)
    why: Mapping[str, str] = field(default_factory=dict)
    subjects: Sequence[str] = ()
    request: str = ""  # actor.request: 32 hex digits (:func:`new_request_id`); "" for none
    source: str = ""  # actor.source: host/process or a caller's address; "" for none

    def body(self) -> dict[str, Any]:
        """The checked entry without ``v``, ``seq`` and ``time``; raises :class:`AuditError`."""
        t = _check_str("type", self.type)
        if t not in EVENT_TYPES and not (
            t.startswith(EVENT_TYPE_PREFIXES) and _TYPE_NAME.fullmatch(t.split(".", 1)[1])
        ):
            raise AuditError(f"audit event: unknown type {t!r}")
        if self.outcome not in OUTCOMES:
            raise AuditError(f"audit event: outcome must be one of {sorted(OUTCOMES)}")
        actor = {
            "key_id": _check_str("actor.key_id", self.actor_key_id),
            "role": _check_str("actor.role", self.actor_role),
        }
        if self.request:
            if not isinstance(self.request, str) or not _REQUEST.fullmatch(self.request):
                raise AuditError("audit event: actor.request must be 32 lowercase hex digits")
            actor["request"] = self.request
        if self.source:
            if len(self.source) > MAX_SOURCE:
                raise AuditError(f"audit event: actor.source longer than {MAX_SOURCE} characters")
            actor["source"] = _check_str("actor.source", self.source)
        objects: dict[str, Any] = {}
        for k, v in self.objects.items():
            kind = OBJECT_KEYS.get(k)
            if kind is None:
                raise AuditError(f"audit event: unknown objects member {k!r}")
            if kind is str:
                objects[k] = _check_str(f"objects.{k}", v)
            elif kind is list:
                objects[k] = _check_str_list(f"objects.{k}", v)
            else:
                if not isinstance(v, Mapping) or len(v) > 64:
                    raise AuditError("audit event: objects.counts must map names to integers")
                objects[k] = {
                    _check_str("objects.counts key", n): _check_int(f"objects.counts.{n}", c)
                    for n, c in v.items()
                }
        why: dict[str, str] = {}
        for k, v in self.why.items():
            if k not in WHY_KEYS:
                raise AuditError(f"audit event: unknown why member {k!r}")
            why[k] = _check_str(f"why.{k}", v)
        subjects = _check_str_list("subjects", list(self.subjects))
        for i, s in enumerate(subjects):
            if not _PSEUDONYM.fullmatch(s) or s.isdigit():
                raise AuditError(
                    f"audit event: subjects[{i}] is not a keyed pseudonym",
                    hint="pass pseudonyms of 16–128 characters [A-Za-z0-9+/=_:.-], never a "
                    "clear name, ID or phone number",
                )
        return {
            "actor": actor,
            "objects": objects,
            "outcome": self.outcome,
            "subjects": subjects,
            "type": t,
            "why": why,
        }


def new_request_id() -> str:
    """A fresh request id: 128 random bits from the OS CSPRNG, as 32 hex digits."""
    return secrets.token_hex(16)


def process_source() -> str:
    """Where a request comes from when no caller address is given: ``host/pid<n>``."""
    return f"{socket.gethostname()[:150]}/pid{os.getpid()}"


def make_line(body: Mapping[str, Any], seq: int, time: str) -> bytes:
    """The canonical line of an entry (without its newline)."""
    entry = dict(body)
    entry["v"] = ENTRY_VERSION
    entry["seq"] = seq
    entry["time"] = time
    return canonical_json(entry)


def parse_entry(line: bytes) -> dict[str, Any]:
    """Parse and check one line: canonical, version, members. Raises :class:`ValueError`."""
    try:
        obj = loads_strict(line)  # docs/encoding.md: no floats, repeats or lone surrogates
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(obj, dict) or set(obj) != TOP_KEYS:
        raise ValueError("not an audit entry (members)")
    if obj["v"] != ENTRY_VERSION:
        raise ValueError(f"unknown entry version {obj['v']!r}")
    if not isinstance(obj["seq"], int) or isinstance(obj["seq"], bool) or obj["seq"] < 0:
        raise ValueError("seq is not a non-negative integer")
    if not isinstance(obj["time"], str) or not _TIME.fullmatch(obj["time"]):
        raise ValueError("time is not canonical")
    if canonical_json(obj) != line:
        raise ValueError("not canonical JSON")
    return obj
