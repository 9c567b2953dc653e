"""The 双公示 public view of the vault (docs/lifecycle.md §2): which stored record goes out on
which date, masked by the policy's public rules, with counts that reconcile. One ``disclose``
entry with the counts is durable before the output appears under its name."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from xinan import progress
from xinan.access import Session
from xinan.engine.io import DEFAULT_BATCH_ROWS
from xinan.engine.jobs import write_batch
from xinan.engine.mask import AudienceMasker
from xinan.engine.plan import JobSpec, compile_plan
from xinan.engine.validate import CLASSES, Validated
from xinan.errors import DisclosureError, UsageError
from xinan.masking import MaskContext
from xinan.platform.lifecycle_common import (
    DISPUTE_FLAG,
    FLAG_COLUMN,
    PURPOSE_DISCLOSE,
    RECORD_ID_COLUMN,
    DisputedPolicy,
    lifecycle_rules,
    record_facts,
    record_state,
    window_kind,
)
from xinan.platform.vault import Vault
from xinan.platform.vault_config import MAX_AUDIT_RECORD_IDS
from xinan.platform.vault_core import StoredRecord
from xinan.policy.catalogue import Policy, RecordKind, SubjectClass
from xinan.policy.periods import disclosure_decision
from xinan.records import open_writer


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
    # sealed fields the public view shows (masked): opened in memory, only these
    needed = frozenset(f.name for f in k.fields if f.rules[audience].op != "drop")
    kind_withheld = audience in k.withhold
    natural_public = policy.settings.public_natural_persons
    s = DisclosureSummary(str(output), audience, as_of, k.name, disputed)
    record_ids: list[str] = []
    subjects: set[str] = set()
    shown_fields = [f.name for f in k.fields if f.rules[audience].op != "drop"]
    header = [RECORD_ID_COLUMN, *shown_fields, FLAG_COLUMN]
    # The public view of a batch of records at a time, by the batch engine's masker (one
    # definition of every rule: xinan.masking's, docs/engine.md §1); stored values were
    # validated when they were ingested, so they are not validated again.
    plan = compile_plan(
        policy,
        JobSpec(tuple(k.columns), (audience,), k.name, today=today, file=str(output)),
    )
    masker = AudienceMasker(plan, audience, MaskContext(today=today))
    pending: list[tuple[StoredRecord, list[str], str]] = []

    def flush() -> None:
        if not pending:
            return
        classes = np.array([CLASSES.index(rec.subject_class) for rec, _, _ in pending], np.int8)
        columns = [
            pa.array([row[i] for _, row, _ in pending], pa.string()) for i in range(len(k.columns))
        ]
        rejected = np.zeros(len(pending), dtype=bool)
        masked = masker.apply(Validated(columns, classes, rejected))
        shown = masker.shown(classes)  # the rows the audience is shown, in order
        s.withheld += len(pending) - int(shown.sum())
        kept = [p for p, show in zip(pending, shown.tolist(), strict=True) if show]
        ids = pa.array([rec.record_id for rec, _, _ in kept], pa.string())
        flags = pa.array([flag for _, _, flag in kept], pa.string())
        batch = pa.record_batch([ids, *masked.columns, flags], names=header)
        write_batch(out, batch)
        s.written += len(kept)
        s.flagged += sum(1 for _, _, flag in kept if flag)
        for rec, _, _ in kept:
            if len(record_ids) <= MAX_AUDIT_RECORD_IDS:
                record_ids.append(rec.record_id)
            if len(subjects) < MAX_AUDIT_RECORD_IDS:
                subjects.update(rec.subjects)
        pending.clear()

    with open_writer(output, header, encoding=encoding) as out:
        meter = progress.start("records read", total=vault.store.count_records(k.name))
        for rec in vault.records(kind=k.name):
            if meter is not None:
                meter.add()
            s.candidates += 1
            state = record_state(rec)
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
            pending.append(
                (
                    rec,
                    [
                        opened.get(c, "") if c in rec.sealed_fields else rec.clear.get(c, "")
                        for c in k.columns
                    ],
                    DISPUTE_FLAG if state == "disputed" else "",
                )
            )
            del opened
            if len(pending) >= DEFAULT_BATCH_ROWS:
                flush()
        flush()
        if meter is not None:
            meter.end()
        s.guarded = masker.guarded
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
