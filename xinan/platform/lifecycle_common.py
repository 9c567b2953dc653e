"""What the platform's life-cycle operations share (docs/lifecycle.md): the flags and purposes,
the role check for operations the session table does not list, the one check of staff-typed
text (refused when it holds a subject's identifier, by shape), the raiser of an objection, and
the facts and state of a stored record. Never reads the clock: dates are parameters."""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from enum import StrEnum

from xinan.access import PERMISSIONS, Session
from xinan.audit.entry import looks_like_resident_id
from xinan.errors import (  # re-exported: the classes live in xinan.errors
    AccessDenied,
    DisclosureError,
    UsageError,
)
from xinan.identifiers import IdKind, classify_value
from xinan.keys import Role
from xinan.platform.vault import StoredRecord
from xinan.platform.vault_config import FACT_KEYS
from xinan.policy.catalogue import FieldType, Policy, RecordKind
from xinan.policy.periods import (
    COL_DECISION_DATE,
    COL_DECLARED_END,
    COL_SEVERITY,
    COL_VALID_UNTIL,
    DisputeTrack,
    LifecycleRules,
    PenaltyFacts,
    facts_from_row,
)
from xinan.shapes import clear_identifier_kind

# The public flag of a record under objection (山东省社会信用条例: the objected information is
# marked — 标注 — while the objection is handled). Column added after the policy's public view.
DISPUTE_FLAG = "异议处理中"
FLAG_COLUMN = "异议标注"
RECORD_ID_COLUMN = "record_id"
MAX_TEXT = 500  # reasons, commitments, references: short, they go into the audit log
PURPOSE_DISCLOSE = "public-disclosure"
PURPOSE_DISPUTE = "objection"
PURPOSE_REPAIR = "credit-repair"

# Operations this module needs that the session's table does not list yet. ``repair.apply`` is
# the platform receiving a subject's application; approval stays with the sec-admin
# (``repair``), so applying and approving are done by different people. Session.PERMISSIONS
# wins when it lists the operation.
LIFECYCLE_PERMISSIONS: Mapping[str, frozenset[Role]] = {
    "repair.apply": frozenset({Role.PLATFORM}),
    # GB/T 22239-2019 8.1.5.1 b: backup and recovery are the system administrator's; the
    # archive is sealed to the platform key, so making one reveals nothing to the sys-admin
    "vault.backup": frozenset({Role.SYS_ADMIN}),
    # putting a vault back and binding it to its log changes the security configuration
    # (8.1.5.3): the security administrator's, with the platform key's holder (docs/backup.md §8)
    "vault.restore": frozenset({Role.SEC_ADMIN}),
    "vault.rebind": frozenset({Role.SEC_ADMIN}),
    # 山东省社会信用条例 第四十条: the provider that submitted a record revokes or corrects it at
    # its source; the platform applies the signed change (docs/source-change.md)
    "source.change": frozenset({Role.PROVIDER}),
    "source.apply": frozenset({Role.PLATFORM}),
}

# Field types whose value is an identifier by design (validated as such; never free text).
ID_TYPES = frozenset({FieldType.USCC, FieldType.DATE, FieldType.AMOUNT, FieldType.INTEGER})


class DisputedPolicy(StrEnum):
    """How the public view treats a record under objection (docs/lifecycle.md §2.3)."""

    FLAG = "flag"  # shown, with 异议标注 = 异议处理中 (default)
    WITHHOLD = "withhold"  # not shown until the objection is resolved


class Outcome(StrEnum):
    CORRECTED = "corrected"
    UPHELD = "upheld"
    REMOVED = "removed"


TRACKS = {
    "own": DisputeTrack.OWN_DATA,
    "assisted": DisputeTrack.ASSISTED,
    "credit": DisputeTrack.CREDIT_REPORTING,
}


def utc_text(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise UsageError("times must be timezone-aware")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def update_once(changed: bool, meanwhile: str) -> None:
    """An update that had to change exactly one row (a state checked under the write lock)."""
    if not changed:
        raise UsageError(meanwhile, hint="look again: xinan dispute list / xinan repair list")


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(13)


def require(session: Session, operation: str) -> None:
    """Deny by default, as :meth:`Session.require` (which logs the denial): for the
    operations the session table lacks, with :data:`LIFECYCLE_PERMISSIONS`."""
    if operation in PERMISSIONS or operation not in LIFECYCLE_PERMISSIONS:
        session.require(operation)
        return
    allowed = LIFECYCLE_PERMISSIONS[operation]
    if session.actor.role in allowed:
        return
    session.record("denied", outcome="denied", objects={"ref": f"operation:{operation}"})
    roles = ", ".join(sorted(r.value for r in allowed))
    raise AccessDenied(
        f"{session.actor.id} ({session.actor.role.value}) may not {operation}; allowed: {roles}",
        rule=f"role:{operation}",
        hint="act as an identity with the right role: --as KEY_ID",
    )


# ============================================================================================
# Free text and identifiers typed by staff
# ============================================================================================
def check_text(text: str, what: str, *, today: date, required: bool = True) -> str:
    """A short free-text value typed by staff: refused (not scrubbed) when it holds a clear
    identifier, so that the person who typed it removes it (docs/lifecycle.md §5)."""
    v = text.strip()
    if not v:
        if required:
            raise UsageError(f"{what} is empty")
        return v
    if len(v) > MAX_TEXT:
        raise UsageError(f"{what} is longer than {MAX_TEXT} characters")
    if not v.replace("\u3000", " ").isprintable():
        raise UsageError(f"{what} holds control characters")
    kind = clear_identifier_kind(v, today=today)
    if kind is not None:
        raise UsageError(
            f"{what} holds a clear {kind}; it would be stored and logged",
            hint="remove the number: refer to the subject by the record id, or pass the ID as "
            "--by (it is pseudonymised)",
        )
    return v


def raiser_reference(
    by: str, *, today: date, pseudonymize: Callable[[str], str] | None
) -> tuple[str, bool]:
    """Who raised an objection, as stored: a keyed pseudonym when ``by`` is a resident ID or
    USCC (pseudonymised at once; the clear value goes no further) or already a pseudonym
    (``ps1.…``); else an organisation's name. Returns (reference, is_pseudonym)."""
    v = unicodedata.normalize("NFKC", by).strip()
    if v.startswith("ps1.") and v.isascii() and 16 <= len(v) <= 128:
        return v, True
    kind = classify_value(v, today=today)
    if kind in (IdKind.RESIDENT_ID, IdKind.USCC) or looks_like_resident_id(v.upper()):
        if pseudonymize is None:
            raise UsageError("--by is an identifier and no pseudonym key was given")
        return pseudonymize(v.upper()), True
    if kind is IdKind.PERSON_NAME:
        raise UsageError(
            "--by looks like a person's name; names are not stored",
            hint="give the person's resident ID (it is pseudonymised at once) or a pseudonym",
        )
    return check_text(v, "--by", today=today), False


# ============================================================================================
# Facts of a stored record
# ============================================================================================
def key_column(kind: RecordKind, key: str) -> str | None:
    try:
        return kind.field(key).name
    except KeyError:
        return None


def window_kind(kind: RecordKind) -> bool:
    """Whether records of this kind have disclosure windows: negative information with a
    decision date and a severity (the 双公示 penalty layout)."""
    return all(key_column(kind, k) is not None for k in ("decision_date", "severity"))


def lifecycle_rules(policy: Policy) -> LifecycleRules:
    if policy.lifecycle is None:
        raise UsageError(
            f"policy {policy.label} has no life-cycle tables ([disclosure], [retention], "
            "[dispute])",
            hint="use a xinan-policy/2 policy (docs/disclosure.md §7)",
        )
    return policy.lifecycle


def record_facts(rec: StoredRecord, policy: Policy, rules: LifecycleRules) -> PenaltyFacts:
    """The record's facts from its clear part, read by the policy's field keys; raises
    :class:`DisclosureError` when they cannot be read (no decision date, unknown label)."""
    kind = policy.kind(rec.kind)
    row = {c: rec.clear.get(c, "") for c in rules.disclosure.domain_match_fields}
    for key, col in (
        ("decision_date", COL_DECISION_DATE),
        ("severity", COL_SEVERITY),
        ("valid_until", COL_VALID_UNTIL),
        (FACT_KEYS["declared_end"], COL_DECLARED_END),
    ):
        name = key_column(kind, key)
        row[col] = rec.clear.get(name, "") if name else ""
    end = rec.facts.get("end_of_act")
    try:
        end_of_act = date.fromisoformat(end) if end else None
    except ValueError:
        raise DisclosureError(f"record {rec.record_id}: end_of_act is not a date") from None
    return facts_from_row(row, rules.disclosure, end_of_act=end_of_act)


def record_state(rec: StoredRecord) -> str:
    s = rec.status
    if s.get("destroyed_at"):
        return "destroyed"
    if s.get("repaired_at"):
        return "repaired"
    if s.get("archived_at"):
        return "removed"
    if s.get("disputed_at"):
        return "disputed"
    return "active"
