"""The platform's life-cycle operations over the vault: public disclosure, objections (异议)
and credit repair (信用修复) (docs/lifecycle.md; issue 7 parts 1–3).

Owns: the 双公示 public export of the vault (which stored record goes out on which date, and
how it is masked), the ``disputes`` and ``repairs`` tables of the vault (docs/vault.md §12), the
status changes they make to records (``disputed_at``, ``repaired_at``, ``archived_at``), the
checks that guard them, and their audit entries.

Does not own: the rules (windows, minimum periods, deadlines are computed by
:mod:`xinan.policy.periods` from the policy's life-cycle tables; working days by
:mod:`xinan.policy.calendar`), masking (:mod:`xinan.masking`), the vault's storage
(:mod:`xinan.platform.vault`), destruction (:mod:`xinan.platform.destruction`), the command line.
It never reads
the clock: ``now`` and the dates are parameters.

Nothing here stores or logs a clear identifier: sealed values needed by a public rule (e.g. a
legal representative's ID, ``keep(1,1)``) are opened in memory and masked; free text typed by
staff (an objection's reason, a commitment reference, a rejection reason, a correction) is
refused when it holds a clear resident ID, mobile or bank card number; a raiser given by ID is
turned into a keyed pseudonym at once.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from xinan._codec import loads_strict
from xinan.access import PERMISSIONS, Session
from xinan.audit.entry import looks_like_resident_id
from xinan.errors import AccessDenied, UsageError
from xinan.identifiers import IdKind, classify_value
from xinan.keys import Role
from xinan.masking import MaskContext, View
from xinan.platform.vault import StoredRecord, Vault
from xinan.platform.vault_config import FACT_KEYS, MAX_AUDIT_RECORD_IDS
from xinan.policy.calendar import WorkCalendar
from xinan.policy.catalogue import FieldType, Policy, RecordKind, SubjectClass
from xinan.policy.periods import (
    COL_DECISION_DATE,
    COL_DECLARED_END,
    COL_SEVERITY,
    COL_VALID_UNTIL,
    DisclosureError,
    DisputeTrack,
    LifecycleRules,
    PenaltyFacts,
    disclosure_decision,
    dispute_deadline,
    facts_from_row,
    repair_earliest,
)
from xinan.provider.jobs import _checker
from xinan.records import open_writer
from xinan.shapes import clear_identifier_kind

__all__ = [
    "DISPUTE_FLAG",
    "FLAG_COLUMN",
    "DisclosureSummary",
    "Dispute",
    "DisputedPolicy",
    "LifecycleRefused",
    "Outcome",
    "Repair",
    "apply_repair",
    "approve_repair",
    "archive_entries",
    "clear_identifier_kind",
    "disclose",
    "get_dispute",
    "get_repair",
    "list_disputes",
    "list_repairs",
    "open_dispute",
    "raiser_reference",
    "read_correction",
    "record_facts",
    "reject_repair",
    "require",
    "resolve_dispute",
    "window_kind",
]

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
}

# Field types whose value is an identifier by design (validated as such; never free text).
_ID_TYPES = frozenset({FieldType.USCC, FieldType.DATE, FieldType.AMOUNT, FieldType.INTEGER})


class LifecycleRefused(AccessDenied):
    """A life-cycle step refused by a rule (minimum period not over, no commitment, the
    record is under objection …). ``rule`` names it; the refusal is audited."""


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


def _t(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise UsageError("times must be timezone-aware")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _once(changed: bool, meanwhile: str) -> None:
    """An update that had to change exactly one row (a state checked under the write lock)."""
    if not changed:
        raise UsageError(meanwhile, hint="look again: xinan dispute list / xinan repair list")


def _new_id(prefix: str) -> str:
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
def _key_column(kind: RecordKind, key: str) -> str | None:
    try:
        return kind.field(key).name
    except KeyError:
        return None


def window_kind(kind: RecordKind) -> bool:
    """Whether records of this kind have disclosure windows: negative information with a
    decision date and a severity (the 双公示 penalty layout)."""
    return all(_key_column(kind, k) is not None for k in ("decision_date", "severity"))


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
        name = _key_column(kind, key)
        row[col] = rec.clear.get(name, "") if name else ""
    end = rec.facts.get("end_of_act")
    try:
        end_of_act = date.fromisoformat(end) if end else None
    except ValueError:
        raise DisclosureError(f"record {rec.record_id}: end_of_act is not a date") from None
    return facts_from_row(row, rules.disclosure, end_of_act=end_of_act)


def _state(rec: StoredRecord) -> str:
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


# ============================================================================================
# 1. Public disclosure (双公示)
# ============================================================================================
@dataclass
class DisclosureSummary:
    """What one disclosure run did. ``candidates`` = every stored record of the kind =
    written + withheld + outside_window + no_facts + repaired + removed + disputed_withheld +
    destroyed; ``flagged`` counts the written records under objection."""

    output: str
    audience: str
    as_of: date
    kind: str
    disputed_policy: DisputedPolicy
    candidates: int = 0
    written: int = 0
    flagged: int = 0
    withheld: int = 0
    outside_window: int = 0
    no_facts: int = 0
    repaired: int = 0
    removed: int = 0
    disputed_withheld: int = 0
    destroyed: int = 0
    guarded: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            "candidates": self.candidates,
            "written": self.written,
            "flagged": self.flagged,
            "withheld": self.withheld,
            "outside_window": self.outside_window,
            "no_facts": self.no_facts,
            "repaired": self.repaired,
            "removed": self.removed,
            "disputed_withheld": self.disputed_withheld,
            "destroyed": self.destroyed,
        }

    def balanced(self) -> bool:
        c = self.counts()
        return c.pop("candidates") == sum(v for k, v in c.items() if k != "flagged")

    def to_json(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "audience": self.audience,
            "as_of": self.as_of.isoformat(),
            "kind": self.kind,
            "disputed": self.disputed_policy.value,
            "counts": self.counts(),
            "balanced": self.balanced(),
            "guarded": self.guarded,
            "outside_window_by_rule": dict(sorted(self.reasons.items())),
        }


def _disclosed_kind(policy: Policy, kind: str | None) -> RecordKind:
    eligible = [k for k in policy.kinds.values() if window_kind(k)]
    if kind is not None:
        k = policy.kind(kind)
        if not window_kind(k):
            raise UsageError(
                f"kind {k.name} has no disclosure windows (no decision_date and severity "
                "fields); only negative information is disclosed by window",
                hint=f"kinds with windows: {', '.join(e.name for e in eligible) or 'none'}",
            )
        return k
    if len(eligible) != 1:
        raise UsageError(
            "several kinds have disclosure windows" if eligible else "no kind has windows",
            hint="pass --kind " + ("|".join(e.name for e in eligible) or "K"),
        )
    return eligible[0]


def disclose(
    vault: Vault,
    policy: Policy,
    output: str | Path,
    *,
    as_of: date,
    session: Session,
    now: datetime,
    today: date,
    kind: str | None = None,
    audience: str = "public",
    disputed: DisputedPolicy = DisputedPolicy.FLAG,
    encoding: str = "utf-8",
) -> DisclosureSummary:
    """Write the public (双公示) view of the vault's records of one kind as of ``as_of``
    (docs/lifecycle.md §2). The vault must be unlocked (sealed values a public rule shows
    masked are opened in memory). One ``disclose`` audit entry with the counts is durable
    before the output appears under its name."""
    if audience != "public":
        raise UsageError("only the public audience is disclosed", hint="--audience public")
    vault.check_policy(policy)
    rules = lifecycle_rules(policy)
    k = _disclosed_kind(policy, kind)
    view = View(policy, k, audience, MaskContext(today=today))
    # sealed fields the public view shows (masked): opened in memory, only these
    needed = frozenset(f.name for f in k.fields if f.rules[audience].op != "drop")
    kind_withheld = audience in k.withhold
    natural_public = policy.settings.public_natural_persons
    s = DisclosureSummary(str(output), audience, as_of, k.name, disputed)
    record_ids: list[str] = []
    subjects: set[str] = set()
    header = [RECORD_ID_COLUMN, *view.columns, FLAG_COLUMN]
    with open_writer(output, header, encoding=encoding) as out:
        for rec in vault.records(kind=k.name):
            s.candidates += 1
            state = _state(rec)
            if state == "destroyed":
                s.destroyed += 1
                continue
            if state == "repaired":
                s.repaired += 1
                continue
            if state == "removed":
                s.removed += 1
                continue
            if kind_withheld or (rec.subject_class is SubjectClass.NATURAL and not natural_public):
                s.withheld += 1  # 山东省社会信用条例 第二十条: nothing is opened for them
                continue
            try:
                decision = disclosure_decision(record_facts(rec, policy, rules), as_of, rules)
            except DisclosureError:
                s.no_facts += 1  # fail closed: nothing is shown without a rule that allows it
                continue
            if not decision.visible:
                s.outside_window += 1
                s.reasons[decision.rule_id] = s.reasons.get(decision.rule_id, 0) + 1
                continue
            if state == "disputed" and disputed is DisputedPolicy.WITHHOLD:
                s.disputed_withheld += 1
                continue
            opened = (
                vault.open_sealed(rec, needed & frozenset(rec.sealed_fields))
                if needed & frozenset(rec.sealed_fields)
                else {}
            )
            row = [
                opened.get(c, "") if c in rec.sealed_fields else rec.clear.get(c, "")
                for c in k.columns
            ]
            del opened
            masked = view.apply(row, rec.subject_class)
            del row
            if masked is None:
                s.withheld += 1
                continue
            flag = DISPUTE_FLAG if state == "disputed" else ""
            s.flagged += bool(flag)
            out.write([rec.record_id, *masked, flag])
            s.written += 1
            if len(record_ids) <= MAX_AUDIT_RECORD_IDS:
                record_ids.append(rec.record_id)
            if len(subjects) < MAX_AUDIT_RECORD_IDS:
                subjects.update(rec.subjects)
        s.guarded = view.stats.guarded
        objects: dict[str, Any] = {
            "ref": f"file:{Path(output).name}",
            "policy": policy.label,
            "counts": s.counts(),
        }
        if s.written <= MAX_AUDIT_RECORD_IDS:
            objects["record_ids"] = record_ids
        # the entry is durable before the file appears under its name (GB/T 22239 8.1.4.3)
        session.record(
            "disclose",
            objects=objects,
            why={
                "purpose": PURPOSE_DISCLOSE,
                "basis": f"{k.name} as of {as_of}; audience {audience}; disputed {disputed}",
            },
            subjects=sorted(subjects)[:MAX_AUDIT_RECORD_IDS] if s.written else [],
        )
    return s


# ============================================================================================
# 2. Objections (异议)
# ============================================================================================
@dataclass(frozen=True)
class Dispute:
    id: str
    record_id: str
    subjects: tuple[str, ...]
    raised_by: str
    reason: str
    track: str
    received: date
    deadline: date
    opened_at: str
    opened_by: str
    outcome: str | None = None
    corrected_fields: tuple[str, ...] = ()
    resolved_at: str | None = None
    resolved_by: str | None = None

    @property
    def open(self) -> bool:
        return self.outcome is None

    def overdue(self, as_of: date) -> bool:
        """Still open after its last day (the deadline is the last day to answer)."""
        return self.open and as_of > self.deadline

    def to_json(self, as_of: date | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "record_id": self.record_id,
            "subjects": list(self.subjects),
            "raised_by": self.raised_by,
            "reason": self.reason,
            "track": self.track,
            "received": self.received.isoformat(),
            "deadline": self.deadline.isoformat(),
            "opened_at": self.opened_at,
            "opened_by": self.opened_by,
            "state": "open" if self.open else "resolved",
            "outcome": self.outcome,
            "corrected_fields": list(self.corrected_fields),
            "resolved_at": self.resolved_at,
            "resolved_by": self.resolved_by,
        }
        if as_of is not None:
            d["overdue"] = self.overdue(as_of)
        return d


def _dispute(r: Sequence[Any]) -> Dispute:
    return Dispute(
        id=r[0],
        record_id=r[1],
        subjects=tuple(json.loads(r[2])),
        raised_by=r[3],
        reason=r[4],
        track=r[5],
        received=date.fromisoformat(r[6]),
        deadline=date.fromisoformat(r[7]),
        opened_at=r[8],
        opened_by=r[9],
        outcome=r[10],
        corrected_fields=tuple(json.loads(r[11])) if r[11] else (),
        resolved_at=r[12],
        resolved_by=r[13],
    )


def get_dispute(vault: Vault, dispute_id: str) -> Dispute:
    r = vault.store.dispute_row(dispute_id)
    if r is None:
        raise UsageError(f"no objection {dispute_id!r} in the vault")
    return _dispute(r)


def _open_dispute_of(vault: Vault, record_id: str) -> Dispute | None:
    r = vault.store.open_dispute_row(record_id)
    return _dispute(r) if r else None


def list_disputes(
    vault: Vault, *, as_of: date, overdue_only: bool = False, open_only: bool = False
) -> list[Dispute]:
    """Objections in the order they were opened; ``overdue_only``: open ones past their
    deadline on ``as_of``."""
    out = [_dispute(r) for r in vault.store.dispute_rows()]
    if overdue_only:
        return [d for d in out if d.overdue(as_of)]
    if open_only:
        return [d for d in out if d.open]
    return out


def open_dispute(
    vault: Vault,
    policy: Policy,
    record_id: str,
    *,
    reason: str,
    raised_by: str,
    track: DisputeTrack,
    received: date,
    session: Session,
    now: datetime,
    today: date,
    calendar: WorkCalendar | None = None,
) -> Dispute:
    """Open an objection: flag the record at once (``disputed_at``: the share skips it, the
    public view flags it, ``vault list``/``show`` show it) and fix the deadline from the
    policy's [dispute] table and the working-day calendar (docs/disclosure.md §5)."""
    vault.check_policy(policy)
    rules = lifecycle_rules(policy)
    reason = check_text(reason, "--reason", today=today)
    rec = vault.get(record_id)
    state = _state(rec)
    if state in ("destroyed", "repaired", "removed"):
        raise UsageError(
            f"record {rec.record_id} is {state}; it is in no view an objection could correct",
            hint="objections concern information that is shown or shared",
        )
    existing = _open_dispute_of(vault, rec.record_id)
    if existing is not None:
        raise UsageError(
            f"record {rec.record_id} is already under objection {existing.id} "
            f"(deadline {existing.deadline})",
            hint="resolve that objection first: xinan dispute resolve " + existing.id,
        )
    deadline = dispute_deadline(received, track, rules, calendar or WorkCalendar.default())
    d = Dispute(
        id=_new_id("d"),
        record_id=rec.record_id,
        subjects=rec.subjects,
        raised_by=raised_by,
        reason=reason,
        track=track.value,
        received=received,
        deadline=deadline,
        opened_at=_t(now),
        opened_by=session.actor.key_id,
    )
    with vault.transaction():
        # re-checked under the write lock: two operators cannot open two objections at once
        if _open_dispute_of(vault, rec.record_id) is not None:
            raise UsageError(f"record {rec.record_id} was put under objection meanwhile")
        vault.store.insert_dispute(
            (
                d.id,
                d.record_id,
                json.dumps(list(d.subjects)),
                d.raised_by,
                d.reason,
                d.track,
                d.received.isoformat(),
                d.deadline.isoformat(),
                d.opened_at,
                d.opened_by,
            )
        )
        vault.store.set_disputed(d.record_id, d.opened_at)
        session.record(
            "dispute",
            objects={"ref": f"dispute:{d.id}", "record_ids": [d.record_id], "policy": policy.label},
            why={
                "purpose": PURPOSE_DISPUTE,
                "basis": f"open; track {d.track}; received {d.received}; deadline {d.deadline}; "
                f"{rules.dispute.citation}"[:500],
            },
            subjects=list(d.subjects),
        )
    return d


def read_correction(path: Path) -> dict[str, str]:
    """A correction file (docs/lifecycle.md §3.3): a JSON object ``{"field": "value", …}`` or
    a CSV with the header ``field,value``; fields by column name or key; UTF-8."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read the correction ({type(e).__name__})") from None
    out: dict[str, str] = {}
    if path.suffix.lower() == ".json":
        try:
            doc = loads_strict(text)  # docs/encoding.md §4: a lone surrogate or a repeat refused
        except ValueError:
            raise UsageError(f"{path}: not JSON") from None
        if not isinstance(doc, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in doc.items()
        ):
            raise UsageError(f"{path}: a correction is a JSON object of field → string value")
        out = dict(doc)
    else:
        try:
            rows = list(csv.reader(io.StringIO(text)))
        except csv.Error as e:  # a NUL, a field over the csv module's limit…
            raise UsageError(f"{path}: not a readable CSV correction ({e})") from None
        if not rows or [c.strip() for c in rows[0]] != ["field", "value"]:
            raise UsageError(f"{path}: a CSV correction has the header field,value")
        for i, r in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in r):
                continue
            if len(r) != 2:
                raise UsageError(f"{path}: row {i} needs two columns (field,value)")
            if r[0].strip() in out:
                raise UsageError(f"{path}: row {i}: field {r[0].strip()!r} given twice")
            out[r[0].strip()] = r[1]
    if not out:
        raise UsageError(f"{path}: the correction names no field")
    return out


def _apply_correction(
    rec: StoredRecord, policy: Policy, correction: Mapping[str, str], today: date
) -> tuple[dict[str, str], dict[str, str | None], list[str]]:
    """The corrected clear part, facts and corrected column names. Clear (non-sealed) fields
    only, validated by the policy's type checks, stored as the submission view shows them."""
    kind = policy.kind(rec.kind)
    out = dict(rec.clear)
    names: list[str] = []
    for ref, value in correction.items():
        f = next((f for f in kind.fields if ref.strip() in (f.name, f.key)), None)
        if f is None:
            raise UsageError(f"correction: {ref!r} is not a field of kind {kind.name}")
        if f.sealed or f.name in rec.sealed_fields:
            raise UsageError(
                f"correction: {f.name} is sealed; the platform never writes a sealed value",
                hint="ask the provider to resubmit the record, and resolve with --outcome removed",
            )
        if f.name in kind.subject_fields or f.name == kind.class_field:
            raise UsageError(
                f"correction: {f.name} identifies the subject; a correction cannot move a record "
                "to another subject",
                hint="resolve with --outcome removed and have the provider resubmit",
            )
        if f.name not in rec.clear:
            raise UsageError(f"correction: {f.name} is not in the record's stored clear part")
        v = value.strip()
        if v:
            try:
                v = _checker(f, today)(v)
            except ValueError as e:
                raise UsageError(f"correction: {f.name}: {e}") from None
            if f.type not in _ID_TYPES:
                found = clear_identifier_kind(v, today=today)
                if found is not None:
                    raise UsageError(f"correction: {f.name} holds a clear {found}")
        elif f.required:
            raise UsageError(f"correction: {f.name} is required and cannot be emptied")
        if f.name in names:
            raise UsageError(f"correction: {f.name} given twice")
        out[f.name] = v
        names.append(f.name)
    # The clear part stays what the `submission` view allows (e.g. free text scrubbed).
    view = View(policy, kind, "submission", MaskContext(today=today))
    row = [out.get(c, "") if c not in rec.sealed_fields else "" for c in kind.columns]
    masked = view.apply(row, rec.subject_class)
    if masked is None:  # pragma: no cover - submission never withholds a stored record
        raise UsageError("correction: the submission view withholds this record")
    shown = dict(zip(view.columns, masked, strict=True))
    for n in names:
        out[n] = shown.get(n, "")
    facts: dict[str, str | None] = {}
    for col, key in FACT_KEYS.items():
        name = _key_column(kind, key)
        facts[col] = (out.get(name) or None) if name else None
    return out, facts, names


def resolve_dispute(
    vault: Vault,
    policy: Policy,
    dispute_id: str,
    *,
    outcome: Outcome,
    correction: Mapping[str, str] | None,
    session: Session,
    now: datetime,
    today: date,
) -> Dispute:
    """Close an objection (docs/lifecycle.md §3.2): ``corrected`` applies the correction and
    lifts the flag; ``upheld`` lifts the flag; ``removed`` takes the record out of every view
    (``archived_at``; it stays sealed until ``xinan destroy --record`` shreds it)."""
    vault.check_policy(policy)
    d = get_dispute(vault, dispute_id)
    if not d.open:
        raise UsageError(f"objection {d.id} was resolved ({d.outcome}) at {d.resolved_at}")
    if (outcome is Outcome.CORRECTED) != (correction is not None):
        raise UsageError(
            "--correction goes with --outcome corrected, and only with it",
            hint="corrected: pass --correction FILE (JSON or CSV of field, value)",
        )
    rec = vault.get(d.record_id)
    at = _t(now)
    names: list[str] = []
    with vault.transaction():
        if outcome is Outcome.CORRECTED and correction is not None:
            clear, facts, names = _apply_correction(rec, policy, correction, today)
            vault.store.correct_record(
                rec.record_id, clear=list(clear.values()), facts=facts, at=at
            )
        elif outcome is Outcome.UPHELD:
            vault.store.clear_disputed(rec.record_id, at)
        else:
            vault.store.set_archived(rec.record_id, at)
        _once(
            vault.store.resolve_dispute_once(
                d.id, outcome=outcome.value, corrected=names, at=at, by=session.actor.key_id
            ),
            f"objection {d.id} was resolved meanwhile",
        )
        basis = f"resolved: {outcome.value}"
        if names:
            basis += f"; corrected {', '.join(names)}"
        if outcome is Outcome.REMOVED:
            basis += "; out of every view, pending destruction"
        objects: dict[str, Any] = {
            "ref": f"dispute:{d.id}",
            "record_ids": [d.record_id],
            "policy": policy.label,
        }
        if names:
            objects["counts"] = {"fields_corrected": len(names)}
        session.record(
            "dispute",
            objects=objects,
            why={"purpose": PURPOSE_DISPUTE, "basis": basis[:500]},
            subjects=list(d.subjects),
        )
    return get_dispute(vault, d.id)


# ============================================================================================
# 3. Credit repair (信用修复)
# ============================================================================================
@dataclass(frozen=True)
class Repair:
    id: str
    record_id: str
    subjects: tuple[str, ...]
    commitment: str
    obligations: str
    earliest: date
    applied_at: str
    applied_by: str
    state: str  # pending | approved | rejected
    decided_at: str | None = None
    decided_by: str | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "record_id": self.record_id,
            "subjects": list(self.subjects),
            "commitment": self.commitment,
            "obligations": self.obligations,
            "earliest": self.earliest.isoformat(),
            "applied_at": self.applied_at,
            "applied_by": self.applied_by,
            "state": self.state,
            "decided_at": self.decided_at,
            "decided_by": self.decided_by,
            "reason": self.reason,
        }


def _repair(r: Sequence[Any]) -> Repair:
    return Repair(
        r[0],
        r[1],
        tuple(json.loads(r[2])),
        r[3],
        r[4],
        date.fromisoformat(r[5]),
        r[6],
        r[7],
        r[8],
        r[9],
        r[10],
        r[11],
    )


def get_repair(vault: Vault, repair_id: str) -> Repair:
    r = vault.store.repair_row(repair_id)
    if r is None:
        raise UsageError(f"no repair application {repair_id!r} in the vault")
    return _repair(r)


def list_repairs(vault: Vault) -> list[Repair]:
    return [_repair(r) for r in vault.store.repair_rows()]


def _refuse(
    session: Session,
    rule: str,
    message: str,
    *,
    record_id: str,
    subjects: Sequence[str],
    ref: str | None = None,
    hint: str | None = None,
) -> LifecycleRefused:
    """Audit a refused repair step (outcome ``denied``, naming the rule) and return the error."""
    session.record(
        "repair",
        outcome="denied",
        objects={"ref": ref or f"rule:{rule}", "record_ids": [record_id]},
        why={"purpose": PURPOSE_REPAIR, "basis": f"refused: {rule}"},
        subjects=list(subjects),
    )
    return LifecycleRefused(message, rule=rule, hint=hint)


def _check_repairable(
    vault: Vault,
    policy: Policy,
    rec: StoredRecord,
    *,
    session: Session,
    today: date,
    ref: str | None = None,
) -> date:
    """The checks both applying and approving make; returns the earliest repair date."""
    state = _state(rec)
    subj = rec.subjects
    if state not in ("active", "disputed"):
        raise _refuse(
            session,
            "repair:status",
            f"record {rec.record_id} is {state}; there is nothing left to repair",
            record_id=rec.record_id,
            subjects=subj,
            ref=ref,
        )
    open_d = _open_dispute_of(vault, rec.record_id)
    if open_d is not None or state == "disputed":
        raise _refuse(
            session,
            "repair:objection-open",
            f"record {rec.record_id} is under objection"
            + (f" {open_d.id}" if open_d else "")
            + "; a record is repaired once its content is settled",
            record_id=rec.record_id,
            subjects=subj,
            ref=ref,
            hint="resolve the objection first (xinan dispute resolve)",
        )
    rules = lifecycle_rules(policy)
    if not window_kind(policy.kind(rec.kind)):
        raise _refuse(
            session,
            "repair:kind",
            f"record {rec.record_id} is of kind {rec.kind}, not negative information with a "
            "disclosure period",
            record_id=rec.record_id,
            subjects=subj,
            ref=ref,
        )
    try:
        earliest = repair_earliest(record_facts(rec, policy, rules), rules)
    except DisclosureError as e:
        raise _refuse(
            session,
            "repair:facts",
            f"record {rec.record_id}: {e}",
            record_id=rec.record_id,
            subjects=subj,
            ref=ref,
            hint=e.hint,
        ) from None
    if today < earliest:
        raise _refuse(
            session,
            "repair:minimum-period",
            f"record {rec.record_id}: the minimum disclosure period has not passed; repair is "
            f"possible from {earliest} (today {today})",
            record_id=rec.record_id,
            subjects=subj,
            ref=ref,
            hint=f"apply again on or after {earliest} (最短公示期届满后方可申请信用修复)",
        )
    return earliest


def apply_repair(
    vault: Vault,
    policy: Policy,
    record_id: str,
    *,
    commitment: str,
    obligations_met: bool,
    evidence: str | None,
    session: Session,
    now: datetime,
    today: date,
) -> Repair:
    """Record a subject's repair application (docs/lifecycle.md §4) after the checks: the
    record is active, not under objection, its minimum disclosure period is over
    (:func:`repair_earliest`), the obligations are met (a flag or an evidence reference) and
    a commitment (信用承诺) is referenced. A refusal is audited and raised."""
    vault.check_policy(policy)
    rec = vault.get(record_id)
    commitment = check_text(commitment, "--commitment", today=today, required=False)
    ev = check_text(evidence or "", "--evidence", today=today, required=False)
    pending = vault.store.pending_repair_id(rec.record_id)
    if pending is not None:
        raise UsageError(
            f"record {rec.record_id} already has a pending repair application {pending}",
            hint="approve or reject it first",
        )
    earliest = _check_repairable(vault, policy, rec, session=session, today=today)
    if not commitment:
        raise _refuse(
            session,
            "repair:commitment",
            "a repair needs the subject's credit commitment (信用承诺书); none was given",
            record_id=rec.record_id,
            subjects=rec.subjects,
            hint="--commitment REF: where the signed commitment is kept",
        )
    if not obligations_met and not ev:
        raise _refuse(
            session,
            "repair:obligations",
            "a repair needs the legal obligations performed (履行法定义务); not shown",
            record_id=rec.record_id,
            subjects=rec.subjects,
            hint="--obligations-met after checking, or --evidence REF (e.g. the payment receipt)",
        )
    obligations = f"evidence:{ev}" if ev else "confirmed"
    r = Repair(
        id=_new_id("f"),
        record_id=rec.record_id,
        subjects=rec.subjects,
        commitment=commitment,
        obligations=obligations,
        earliest=earliest,
        applied_at=_t(now),
        applied_by=session.actor.key_id,
        state="pending",
    )
    with vault.transaction():
        if vault.store.pending_repair_id(rec.record_id) is not None:
            raise UsageError(f"record {rec.record_id} got a repair application meanwhile")
        vault.store.insert_repair(
            (
                r.id,
                r.record_id,
                json.dumps(list(r.subjects)),
                r.commitment,
                r.obligations,
                r.earliest.isoformat(),
                r.applied_at,
                r.applied_by,
                r.state,
            )
        )
        session.record(
            "repair",
            objects={"ref": f"repair:{r.id}", "record_ids": [r.record_id], "policy": policy.label},
            why={
                "purpose": PURPOSE_REPAIR,
                "basis": f"apply; repair possible from {r.earliest}; obligations {obligations}; "
                f"commitment {commitment}"[:500],
            },
            subjects=list(r.subjects),
        )
    return r


def approve_repair(
    vault: Vault,
    policy: Policy,
    repair_id: str,
    *,
    session: Session,
    now: datetime,
    today: date,
) -> Repair:
    """Approve a pending application, re-checking everything on the approval date: the
    record leaves the public and sharing views (``repaired_at``) and is kept sealed in the
    archive (``archived_at``) that only the audit administrator lists."""
    vault.check_policy(policy)
    r = get_repair(vault, repair_id)
    if r.state != "pending":
        raise UsageError(f"repair {r.id} is {r.state}, not pending")
    if r.applied_by == session.actor.key_id:
        raise _refuse(
            session,
            "repair:separation",
            "the applicant's key may not approve its own application",
            record_id=r.record_id,
            subjects=r.subjects,
            ref=f"repair:{r.id}",
        )
    rec = vault.get(r.record_id)
    _check_repairable(vault, policy, rec, session=session, today=today, ref=f"repair:{r.id}")
    at = _t(now)
    with vault.transaction():
        vault.store.set_repaired(r.record_id, at)
        _once(
            vault.store.decide_repair_once(r.id, state="approved", at=at, by=session.actor.key_id),
            f"repair {r.id} was decided meanwhile",
        )
        session.record(
            "repair",
            objects={"ref": f"repair:{r.id}", "record_ids": [r.record_id], "policy": policy.label},
            why={
                "purpose": PURPOSE_REPAIR,
                "basis": "approved; out of public and sharing views, archived sealed",
            },
            subjects=list(r.subjects),
        )
    return get_repair(vault, r.id)


def reject_repair(
    vault: Vault,
    policy: Policy,
    repair_id: str,
    *,
    reason: str,
    session: Session,
    now: datetime,
    today: date,
) -> Repair:
    """Reject a pending application with a reason (no clear identifiers); the record stays."""
    vault.check_policy(policy)
    reason = check_text(reason, "--reason", today=today)
    r = get_repair(vault, repair_id)
    if r.state != "pending":
        raise UsageError(f"repair {r.id} is {r.state}, not pending")
    at = _t(now)
    with vault.transaction():
        _once(
            vault.store.decide_repair_once(
                r.id, state="rejected", at=at, by=session.actor.key_id, reason=reason
            ),
            f"repair {r.id} was decided meanwhile",
        )
        session.record(
            "repair",
            objects={"ref": f"repair:{r.id}", "record_ids": [r.record_id], "policy": policy.label},
            why={"purpose": PURPOSE_REPAIR, "basis": f"rejected: {reason}"[:500]},
            subjects=list(r.subjects),
        )
    return get_repair(vault, r.id)


# ============================================================================================
# The archive (audit-admin)
# ============================================================================================
def archive_entries(vault: Vault) -> Iterator[dict[str, Any]]:
    """Archived records as masked metadata only: ids, kind, class, subject pseudonyms, dates,
    severity, status times and why (repair or objection). No field value, sealed or clear."""
    for rid in vault.store.archived_record_ids():
        rec = vault.get(rid)
        why: dict[str, Any]
        rep = vault.store.approved_repair_of(rid)
        if rep is not None:
            why = {"cause": "repaired", "repair": rep[0], "approved_by": rep[1]}
        else:
            dsp = vault.store.removing_dispute_of(rid)
            why = (
                {"cause": "removed", "dispute": dsp[0], "resolved_by": dsp[1]}
                if dsp
                else {"cause": "archived"}
            )
        yield {
            "record_id": rec.record_id,
            "kind": rec.kind,
            "package": rec.package_id,
            "subject_class": rec.subject_class.value,
            "subjects": list(rec.subjects),
            "decision_date": rec.facts.get("decision_date"),
            "severity": rec.facts.get("severity"),
            "status": {k: v for k, v in rec.status.items() if v},
            "sealed_fields": len(rec.sealed_fields),
            **why,
        }
