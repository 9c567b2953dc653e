"""Objections (异议, docs/lifecycle.md §3): flag a record at once in every view, answer by a
deadline counted in working days, resolve (corrected, upheld, removed) — each step logged."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from xinan._codec import loads_strict
from xinan.access import Session
from xinan.errors import UsageError
from xinan.masking import MaskContext, View
from xinan.platform import outbox
from xinan.platform.lifecycle_common import (
    ID_TYPES,
    PURPOSE_DISPUTE,
    Outcome,
    check_text,
    key_column,
    lifecycle_rules,
    new_id,
    record_state,
    update_once,
    utc_text,
)
from xinan.platform.vault import StoredRecord, Vault
from xinan.platform.vault_config import FACT_KEYS
from xinan.policy.calendar import WorkCalendar
from xinan.policy.catalogue import Policy
from xinan.policy.periods import (
    DisputeTrack,
    dispute_deadline,
)
from xinan.provider.jobs import _checker
from xinan.shapes import clear_identifier_kind
from xinan.short_ids import MIN_PREFIX, resolve


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
    """The objection ``dispute_id`` names: its id or a unique prefix (xinan/short_ids.py)."""
    r = vault.store.dispute_row(dispute_id)
    if r is None and len(dispute_id) >= MIN_PREFIX:
        found = vault.store.dispute_ids_from(dispute_id, 101)
        if found:
            r = vault.store.dispute_row(resolve(dispute_id, found, "objection"))
    if r is None:
        raise UsageError(f"no objection {dispute_id!r} in the vault")
    return _dispute(r)


def open_dispute_of(vault: Vault, record_id: str) -> Dispute | None:
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
    state = record_state(rec)
    if state in ("destroyed", "repaired", "removed"):
        raise UsageError(
            f"record {rec.record_id} is {state}; it is in no view an objection could correct",
            hint="objections concern information that is shown or shared",
        )
    existing = open_dispute_of(vault, rec.record_id)
    if existing is not None:
        raise UsageError(
            f"record {rec.record_id} is already under objection {existing.id} "
            f"(deadline {existing.deadline})",
            hint="resolve that objection first: xinan dispute resolve " + existing.id,
        )
    deadline = dispute_deadline(received, track, rules, calendar or WorkCalendar.default())
    d = Dispute(
        id=new_id("d"),
        record_id=rec.record_id,
        subjects=rec.subjects,
        raised_by=raised_by,
        reason=reason,
        track=track.value,
        received=received,
        deadline=deadline,
        opened_at=utc_text(now),
        opened_by=session.actor.key_id,
    )
    with vault.transaction():
        # re-checked under the write lock: two operators cannot open two objections at once
        if open_dispute_of(vault, rec.record_id) is not None:
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
            if f.type not in ID_TYPES:
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
        name = key_column(kind, key)
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
    at = utc_text(now)
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
        update_once(
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
        # docs/outbox.md: the change for subscribers, the decision for the applicant
        ref, body = f"dispute:{d.id}", {"dispute": d.id, "outcome": outcome.value}
        outbox.put(vault.store, kind="change.objection-resolved", ref=ref,
                   record_id=d.record_id, subjects=d.subjects, to=None,
                   body={**body, "fields": names}, at=at)  # fmt: skip
        outbox.put(vault.store, kind="notice.objection-decided", ref=ref,
                   record_id=d.record_id, subjects=d.subjects, to=d.raised_by,
                   body={**body, "deadline": d.deadline.isoformat(), "resolved_at": at},
                   at=at)  # fmt: skip
    return get_dispute(vault, d.id)
