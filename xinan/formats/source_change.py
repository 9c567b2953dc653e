"""A revocation or correction at the source — ``xinan-source-change/1`` (docs/source-change.md).

山东省社会信用条例 第四十条 and 行政处罚法 第四十八条: when the unit that decided a penalty
revokes or changes it, the platform must take the old information out of every view at once.
The provider says so in a small file it signs: which records it submitted are revoked, or which
records of a new submission package replace them.

Owns: the model (:class:`SourceChange`), its canonical file form, signing
(:func:`sign_source_change`) and verification (:func:`read_source_change`): bytes in, a frozen
model out, and back. Does not own: who may issue or apply one, the audit entries, the vault
(:mod:`xinan.provider.source_change`, :mod:`xinan.platform.source_changes`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from xinan._codec import canonical_json, loads_strict, pretty_json
from xinan.crypto import get_suite
from xinan.errors import IntegrityError, SourceChangeInvalid
from xinan.keys import Identity, PublicKeyInfo, Role
from xinan.shapes import clear_identifier_kind

FORMAT = "xinan-source-change/1"
MAX_FILE_BYTES = 1 << 20
MAX_RECORDS = 1000
MAX_TEXT = 512
_ID_RE = re.compile(r"\Asc1[0-9a-f]{32}\Z")
_PACKAGE_RE = re.compile(r"\A[0-9a-f]{32}\Z")
_TIME_RE = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")
_DATE_RE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
_BODY_KEYS = frozenset(
    {"format", "id", "action", "issued", "decided", "basis", "policy", "sender", "records"}
)
_SIGNED = FORMAT.encode("ascii") + b"\x00"


class Action(StrEnum):
    REVOKE = "revoke"  # the decision was revoked: the records leave every view
    CORRECT = "correct"  # the decision was changed: new records replace the old ones


def _bad(what: str) -> SourceChangeInvalid:
    return SourceChangeInvalid(f"source change: {what}")


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise _bad(f"{where} must be non-empty text of at most {MAX_TEXT} characters")
    if not value.replace("\u3000", " ").isprintable():
        raise _bad(f"{where} has control characters")
    return value


@dataclass(frozen=True)
class SourceChange:
    """The signed body (docs/source-change.md §2)."""

    id: str
    action: Action
    issued: str  # YYYY-MM-DDTHH:MM:SSZ
    decided: date  # the day the source revoked or changed its decision
    basis: str  # the source's decision, by its reference: no identifiers
    policy: str  # id@version
    sender_id: str
    sender_key_id: str
    records: tuple[str, ...]  # ids of records the sender submitted
    # correct: the submission package whose i-th record replaces records[i], named by its id
    # and its records digest (b64, as its signed trailer has it)
    package: str | None = None
    package_digest: str | None = None

    def __post_init__(self) -> None:
        if not _ID_RE.match(self.id):
            raise _bad("id must be sc1 and 32 lower-case hex digits")
        if not _TIME_RE.match(self.issued):
            raise _bad("issued must be YYYY-MM-DDTHH:MM:SSZ")
        _text(self.basis, "basis")
        kind = clear_identifier_kind(self.basis, today=self.decided)
        if kind:
            raise _bad(f"basis holds a {kind}: cite the decision, never a person's identifier")
        if not 1 <= len(self.records) <= MAX_RECORDS:
            raise _bad(f"records must list 1 to {MAX_RECORDS} records")
        if len(set(self.records)) != len(self.records):
            raise _bad("a record is listed twice")
        for r in self.records:
            _text(r, "records[]")
        if self.action is Action.CORRECT:
            if self.package is None or self.package_digest is None:
                raise _bad("a correction names the package that holds the new records")
            if not _PACKAGE_RE.match(self.package):
                raise _bad("package.id must be 32 lower-case hex digits")
        elif self.package is not None or self.package_digest is not None:
            raise _bad("a revocation names no package")

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "format": FORMAT,
            "id": self.id,
            "action": self.action.value,
            "issued": self.issued,
            "decided": self.decided.isoformat(),
            "basis": self.basis,
            "policy": self.policy,
            "sender": {"id": self.sender_id, "key_id": self.sender_key_id},
            "records": list(self.records),
        }
        if self.package is not None:
            body["package"] = {
                "id": self.package,
                "records_digest": self.package_digest,
                "count": len(self.records),
            }
        return body

    @classmethod
    def from_json(cls, obj: object) -> SourceChange:
        if not isinstance(obj, dict):
            raise _bad("change must be an object")
        keys = set(obj)
        if not keys >= _BODY_KEYS or keys - _BODY_KEYS - {"package"}:
            raise _bad(f"change must have exactly {', '.join(sorted(_BODY_KEYS))} (and package)")
        if obj["format"] != FORMAT:
            raise _bad(f"format must be {FORMAT!r}")
        try:
            action = Action(obj["action"])
        except ValueError:
            raise _bad("action must be revoke or correct") from None
        decided = obj["decided"]
        if not isinstance(decided, str) or not _DATE_RE.match(decided):
            raise _bad("decided must be YYYY-MM-DD")
        try:
            day = date.fromisoformat(decided)
        except ValueError:
            raise _bad("decided is not a date") from None
        sender = obj["sender"]
        if not isinstance(sender, dict) or set(sender) != {"id", "key_id"}:
            raise _bad("sender must be {id, key_id}")
        recs = obj["records"]
        if not isinstance(recs, list):
            raise _bad("records must be an array")
        if not all(isinstance(r, str) for r in recs):
            raise _bad("records must be record ids")
        package = digest = None
        if "package" in obj:
            p = obj["package"]
            if not isinstance(p, dict) or set(p) != {"id", "records_digest", "count"}:
                raise _bad("package must be {id, records_digest, count}")
            package, digest = p["id"], p["records_digest"]
            if not isinstance(package, str) or not isinstance(digest, str):
                raise _bad("package members must be text")
            n = p["count"]
            if isinstance(n, bool) or not isinstance(n, int) or n != len(recs):
                raise _bad("package.count must be the number of records replaced")
        for name in ("id", "issued", "policy"):
            if not isinstance(obj[name], str):
                raise _bad(f"{name} must be text")
        if not all(isinstance(v, str) for v in sender.values()):
            raise _bad("sender members must be text")
        return cls(
            id=obj["id"],
            action=action,
            issued=obj["issued"],
            decided=day,
            basis=_text(obj["basis"], "basis"),
            policy=_text(obj["policy"], "policy"),
            sender_id=sender["id"],
            sender_key_id=sender["key_id"],
            records=tuple(recs),
            package=package,
            package_digest=digest,
        )


def sign_source_change(change: SourceChange, identity: Identity) -> bytes:
    """The file (docs/source-change.md §3): the body, signed by the provider that sends it."""
    info = identity.info
    if (info.id, info.key_id) != (change.sender_id, change.sender_key_id):
        raise _bad(f"{info.id} is not the sender named in the change")
    if info.role is not Role.PROVIDER:
        raise _bad(f"{info.id} has role {info.role.value}; a source change comes from a provider")
    body = change.to_json()
    sig = identity.sign(_SIGNED + canonical_json(body))
    doc = {
        "format": FORMAT,
        "change": body,
        "signature": {
            "alg": identity.suite.sig_name,
            "key_id": info.key_id,
            "value": base64.b64encode(sig).decode("ascii"),
        },
    }
    return pretty_json(doc, sort=True)


def read_source_change(
    data: bytes, trust: Mapping[str, PublicKeyInfo] | Sequence[PublicKeyInfo]
) -> SourceChange:
    """Verify a source-change file against the trust store and return its body.

    The bytes must be exactly the canonical file form; the signature must be by a ``provider``
    key of ``trust`` that is the change's sender. A bad signature is the opaque
    :class:`IntegrityError`; anything else is a :class:`SourceChangeInvalid` saying what."""
    if len(data) > MAX_FILE_BYTES:
        raise _bad("file is larger than 1 MiB")
    try:
        doc = loads_strict(data)
    except ValueError:
        raise _bad("not JSON") from None
    if not isinstance(doc, dict) or set(doc) != {"format", "change", "signature"}:
        raise _bad("must have exactly format, change, signature")
    if doc["format"] != FORMAT:
        raise _bad(f"format must be {FORMAT!r}")
    if pretty_json(doc, sort=True) != data:
        raise _bad("not in its canonical form (was the file edited?)")
    sig = doc["signature"]
    if not isinstance(sig, dict) or set(sig) != {"alg", "key_id", "value"}:
        raise _bad("signature must be {alg, key_id, value}")
    keys = trust if isinstance(trust, Mapping) else {k.key_id: k for k in trust}
    info = keys.get(sig["key_id"]) if isinstance(sig["key_id"], str) else None
    if info is None:
        raise _bad(f"signed by {sig['key_id']!r}, which is not in the trust store")
    suite = get_suite(info.suite)
    if sig["alg"] != suite.sig_name or not isinstance(sig["value"], str):
        raise IntegrityError("source change: the signature is not valid")
    try:
        value = base64.b64decode(sig["value"], validate=True)
    except (binascii.Error, ValueError):
        raise IntegrityError("source change: the signature is not valid") from None
    body = doc["change"]
    suite.verify(info.sig, _SIGNED + canonical_json(body), value)  # IntegrityError if not
    change = SourceChange.from_json(body)
    if change.sender_key_id != info.key_id or info.role is not Role.PROVIDER:
        raise _bad(f"signed by {info.id} ({info.role.value}), not by its sender, a provider")
    return change
