"""Credit repair (信用修复, docs/lifecycle.md §4) and the archive: apply after the checks,
approve or reject (separation of duties), archive sealed; the audit administrator lists the
archive as masked metadata only."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from xinan.access import Session
from xinan.errors import DisclosureError, LifecycleRefused, UsageError
from xinan.platform import outbox
from xinan.platform.disputes import open_dispute_of
from xinan.platform.lifecycle_common import (
    PURPOSE_REPAIR,
    check_text,
    lifecycle_rules,
    new_id,
    record_facts,
    record_state,
    update_once,
    utc_text,
    window_kind,
)
from xinan.platform.vault import StoredRecord, Vault
from xinan.policy.catalogue import Policy
from xinan.policy.periods import repair_earliest
from xinan.short_ids import MIN_PREFIX, resolve


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
    """The application ``repair_id`` names: its id or a unique prefix (xinan/short_ids.py)."""
    r = vault.store.repair_row(repair_id)
    if r is None and len(repair_id) >= MIN_PREFIX:
        found = vault.store.repair_ids_from(repair_id, 101)
        if found:
            r = vault.store.repair_row(resolve(repair_id, found, "repair application"))
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
    state = record_state(rec)
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
    open_d = open_dispute_of(vault, rec.record_id)
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
        id=new_id("f"),
        record_id=rec.record_id,
        subjects=rec.subjects,
        commitment=commitment,
        obligations=obligations,
        earliest=earliest,
        applied_at=utc_text(now),
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
    at = utc_text(now)
    with vault.transaction():
        vault.store.set_repaired(r.record_id, at)
        update_once(
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
        _events(vault, r, "approved", at, change=True)
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
    at = utc_text(now)
    with vault.transaction():
        update_once(
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
        _events(vault, r, "rejected", at, change=False, reason=reason)
    return get_repair(vault, r.id)


def _events(
    vault: Vault, r: Repair, outcome: str, at: str, *, change: bool, reason: str | None = None
) -> None:
    """docs/outbox.md: the change for subscribers (approval), the decision for the subject."""
    ref, body = f"repair:{r.id}", {"repair": r.id, "outcome": outcome}
    if change:
        outbox.put(vault.store, kind="change.repair-approved", ref=ref, record_id=r.record_id,
                   subjects=r.subjects, to=None, body=body, at=at)  # fmt: skip
    to = r.subjects[0] if r.subjects else None
    extra = {"reason": reason} if reason else {}
    outbox.put(vault.store, kind="notice.repair-decided", ref=ref, record_id=r.record_id,
               subjects=r.subjects, to=to, body={**body, **extra}, at=at)  # fmt: skip


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
        restricted = vault.store.restriction_row(rid)
        if restricted is not None:  # docs/lifecycle.md §8: a subject's request (PIPL 47 ¶2)
            why = {"cause": "restricted", "received": restricted[4], "restricted_by": restricted[6]}
        elif rep is not None:
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
