"""The platform's outbox: change events for subscribers and notices for applicants, pulled as
a signed file ``xinan-outbox/1`` (docs/outbox.md; CONTROLS.md 23 and 24).

A credit repair approved, an objection resolved (corrected, upheld, removed), a source's
revocation or correction — every change that alters what a subscriber (a bank, a department
sharing the data) may hold — puts one **event** in the vault's ``outbox`` table *in the same
transaction as the change*, after its audit entry: no change without its event, no event
without its change. An objection past its deadline, and each decision on an objection or a
repair, puts a **notice** for the applicant there (``notify_overdue`` finds the overdue ones
once). Nothing is sent from here: a subscriber or a mailer pulls what is new since the last
sequence number it saw (``pull``), as a JSON Lines file signed by the platform key, and the
pull is logged.

Events and notices hold record ids, dispute and repair ids, outcomes, dates and keyed
pseudonyms (or an organisation's name) — never a clear identifier or a field value: the mailer
resolves an applicant's address from its own register.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from xinan._codec import b64decode, b64encode, compact_json, loads_strict
from xinan.crypto import get_suite
from xinan.crypto.base import SuiteName
from xinan.errors import IntegrityError, KeyringError, VerificationError

FORMAT = "xinan-outbox/1"
_LABEL = FORMAT.encode("ascii") + b"\x00"
_HEADER = ("format", "vault", "platform", "suite", "created", "after", "last")
_EVENT = ("seq", "kind", "ref", "record_id", "subjects", "to", "body", "created_at")
KINDS = frozenset(
    {
        # change events (CONTROLS.md 23; 山东 40–41): subscribers update what they hold
        "change.repair-approved",
        "change.objection-resolved",
        "change.source-revoked",
        "change.source-corrected",
        # notices to the applicant (CONTROLS.md 24; 山东 39)
        "notice.objection-overdue",
        "notice.objection-decided",
        "notice.repair-decided",
    }
)


def put(
    store: Any,
    *,
    kind: str,
    ref: str,
    record_id: str,
    subjects: Sequence[str],
    to: str | None,
    body: dict[str, Any],
    at: str,
) -> None:
    """One event or notice, inside the caller's transaction (after its audit entry)."""
    if kind not in KINDS:  # pragma: no cover - callers use the constants above
        raise ValueError(f"unknown outbox kind {kind!r}")
    store.insert_outbox(
        (kind, ref, record_id, json.dumps(list(subjects)), to, compact_json(body).decode(), at)
    )


@dataclass(frozen=True)
class Pulled:
    path: str
    after: int
    last: int
    count: int


def write_pull(
    out: IO[bytes],
    rows: Sequence[Sequence[Any]],
    *,
    signer: Any,
    vault: str,
    created: str,
    after: int,
) -> int:
    """Write ``rows`` (outbox rows after ``after``) as a signed ``xinan-outbox/1`` file;
    returns the last sequence number in it (``after`` when none)."""
    suite = get_suite(signer.info.suite)
    h = suite.hasher()
    last = int(rows[-1][0]) if rows else after
    head = {
        "format": FORMAT,
        "vault": vault,
        "platform": signer.key_id,
        "suite": suite.name.value,
        "created": created,
        "after": after,
        "last": last,
    }

    def line(obj: dict[str, Any]) -> None:
        b = compact_json(obj) + b"\n"
        h.update(b)
        out.write(b)

    line(head)
    for r in rows:
        line(
            {
                "seq": int(r[0]),
                "kind": r[1],
                "ref": r[2],
                "record_id": r[3],
                "subjects": json.loads(r[4]),
                "to": r[5],
                "body": loads_strict(r[6].encode()),
                "created_at": r[7],
            }
        )
    digest = h.finalize()
    count = len(rows)
    sig = suite.sign(signer.signing, _LABEL + digest + compact_json({"count": count}))
    out.write(compact_json({"count": count, "digest": b64encode(digest), "sig": b64encode(sig)}))
    out.write(b"\n")
    return last


@dataclass(frozen=True)
class OutboxFile:
    header: dict[str, Any]
    events: list[dict[str, Any]]


def _bad(what: str) -> VerificationError:
    return VerificationError(f"outbox file: {what}", hint=f"not an intact {FORMAT} file")


def verify_pull(data: bytes, *, trust: Callable[[str], Any]) -> OutboxFile:
    """Verify a pulled file against the platform key ``trust`` returns for its header."""
    if not data.endswith(b"\n"):
        raise _bad("truncated (no final newline)")
    lines = data[:-1].split(b"\n")
    if len(lines) < 2:
        raise _bad("no header or no trailer")
    try:
        parsed = [loads_strict(x) for x in lines]
    except ValueError:
        raise _bad("a line is not JSON") from None
    head, body, tail = parsed[0], parsed[1:-1], parsed[-1]
    if not isinstance(head, dict) or tuple(head) != _HEADER or head["format"] != FORMAT:
        raise _bad(f"the header is not a {FORMAT} header")
    if not isinstance(tail, dict) or tuple(tail) != ("count", "digest", "sig"):
        raise _bad("the trailer is malformed")
    if type(tail["count"]) is not int or tail["count"] != len(body):
        raise _bad("the count does not match the events")
    seqs = []
    for i, e in enumerate(body):
        if not isinstance(e, dict) or tuple(e) != _EVENT or e["kind"] not in KINDS:
            raise _bad(f"line {i + 2} is not an event")
        seqs.append(e["seq"])
    after, last = head["after"], head["last"]
    if seqs != sorted(set(seqs)) or (seqs and (seqs[0] <= after or seqs[-1] != last)):
        raise _bad("sequence numbers out of order or outside after..last")
    try:
        suite = get_suite(SuiteName(head["suite"]))
        digest, sig = b64decode(tail["digest"]), b64decode(tail["sig"])
    except (ValueError, KeyError, TypeError):
        raise _bad("bad suite or base64") from None
    try:
        key = trust(head["platform"])
    except KeyringError:
        key = None
    if key is None or getattr(key, "suite", None) != suite.name:
        raise _bad(f"platform key {head['platform']} is not trusted")
    h = suite.hasher()
    h.update(data[: len(data) - len(lines[-1]) - 1])
    if not secrets.compare_digest(h.finalize(), digest):
        raise IntegrityError("outbox file: digest mismatch (the file was changed)")
    suite.verify(key.sig, _LABEL + digest + compact_json({"count": len(body)}), sig)
    return OutboxFile(head, body)


def overdue_notices_due(disputes: Sequence[Any], notified: set[str], as_of: date) -> list[Any]:
    """The open objections past their deadline on ``as_of`` not yet notified."""
    return [d for d in disputes if d.overdue(as_of) and f"dispute:{d.id}" not in notified]
