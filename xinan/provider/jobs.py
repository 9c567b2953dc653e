"""(1) The provider's jobs: match an export to the catalogue, validate, scan, mask.

This module owns the row-level rules of collection: every input record ends up in an output or
in the rejects file with its reason, and the counts add up (read = written + withheld +
rejected, per audience). It uses :mod:`xinan.records` for I/O, :mod:`xinan.policy.catalogue` for the
rules and :mod:`xinan.masking` for the views; sealing is :mod:`xinan.formats.package`'s.

Validation normalises what it accepts (resident-ID check character upper-cased, mobile numbers
without +86 or spaces, dates as YYYY-MM-DD) so that masks and pseudonyms see one canonical form.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from xinan import progress as events
from xinan.access import Session
from xinan.engine.batch import reason_key
from xinan.engine.io import DEFAULT_BATCH_ROWS
from xinan.engine.jobs import MaskSummary, Progress
from xinan.engine.jobs import mask_file as engine_mask_file
from xinan.engine.plan import match_kind
from xinan.engine.rules import checker
from xinan.engine.seal import SealJobSummary
from xinan.engine.seal import seal_file as engine_seal_file
from xinan.identifiers import (
    IdKind,
    classify_value,
    find_identifiers,
)
from xinan.keys import Identity, PublicKeyInfo
from xinan.masking import MaskContext
from xinan.policy.catalogue import Category, FieldType, Policy, RecordKind
from xinan.records import BadRow, open_records

# --------------------------------------------------------------------------------------------
# Header → kind


# The scalar check of a field (one definition: xinan/engine/rules.py); the platform's repairs
# check a corrected value with it (xinan/platform/disputes.py).
_checker = checker


@dataclass(frozen=True)
class Layout:
    """How a file's columns map onto a record kind."""

    kind: RecordKind
    source_index: tuple[int | None, ...]  # for each kind field: its column in the file, or None
    prohibited: tuple[tuple[int, Category], ...]  # prohibited columns present in the file

    def to_kind_order(self, values: Sequence[str]) -> list[str]:
        return [values[i] if i is not None else "" for i in self.source_index]


def match_header(policy: Policy, header: Sequence[str], *, kind: str | None, file: str) -> Layout:
    """Find the kind whose layout fits ``header`` (or check the given one): the engine's rule
    (:func:`xinan.engine.plan.match_kind`), which refuses unclassified columns and missing
    required ones before anything is read; plus where each field is and the prohibited
    columns present."""
    k = match_kind(policy, header, kind=kind, file=file)
    prohibited: list[tuple[int, Category]] = []
    for i, col in enumerate(header):
        if col not in k.columns:
            cat = policy.prohibited_column(col)
            if cat is not None:
                prohibited.append((i, cat))
    index = {c: i for i, c in enumerate(header)}
    return Layout(
        kind=k,
        source_index=tuple(index.get(c) for c in k.columns),
        prohibited=tuple(prohibited),
    )


# --------------------------------------------------------------------------------------------
# The mask job


def _reason_key(column: str | None, reason: str) -> str:
    return reason_key(column, reason)


def mask_file(
    src: str | Path,
    outputs: Mapping[str, str | Path],
    *,
    policy: Policy,
    ctx: MaskContext,
    kind: str | None = None,
    rejects: str | Path | None = None,
    encoding: str | None = None,
    out_encoding: str = "utf-8",
    workers: int | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Progress | None = None,
    before_commit: Callable[[MaskSummary], None] | None = None,
) -> MaskSummary:
    """Validate every row of ``src`` and write one masked view per audience in ``outputs``.

    Runs on the batch engine (:func:`xinan.engine.jobs.mask_file`, docs/engine.md): streams in
    batches over ``workers`` processes (default: every core), with the same output bytes for
    any number of workers. Outputs and the rejects file are written atomically;
    ``before_commit`` (the audit record) runs after the last row and before any output is
    renamed into place; if it raises, no output appears.
    """
    return engine_mask_file(
        src,
        outputs,
        policy=policy,
        ctx=ctx,
        kind=kind,
        rejects=rejects,
        encoding=encoding,
        out_encoding=out_encoding,
        workers=workers,
        batch_rows=batch_rows,
        progress=progress,
        before_commit=before_commit,
    )


def mask_audit_hook(
    session: Session, src: str | Path, policy: Policy, audiences: Sequence[str]
) -> Callable[[MaskSummary], None]:
    """The ``before_commit`` of an audited mask job: a ``collect`` event with the counts and,
    when rows were refused, a ``reject`` event (征信业管理条例 第十四条: both outcomes of
    collection are audited) — written before any output is released."""

    def record(s: MaskSummary) -> None:
        collect, reject = audit_counts(s)
        objects = {"ref": f"mask:{Path(src).name}", "policy": policy.label}
        why = {"purpose": "mask:" + ",".join(audiences)}
        with session.batch():
            session.record("collect", objects={**objects, "counts": collect}, why=why)
            if s.rejected:
                session.record("reject", objects={**objects, "counts": reject}, why=why)

    return record


def record_scan(session: Session, report: ScanReport, policy: Policy) -> None:
    session.record(
        "collect",
        objects={
            "ref": f"scan:{Path(report.file).name}",
            "policy": policy.label,
            "counts": {"rows": report.rows, "bad_rows": report.bad_rows},
        },
        why={"purpose": "scan"},
    )


def audit_counts(summary: MaskSummary) -> tuple[dict[str, int], dict[str, int]]:
    """The collect and reject counts of a mask job, as audit entries carry them (no values)."""
    collect = {"read": summary.read, "rejected": summary.rejected}
    for a, c in summary.per_audience.items():
        collect[f"{a}.written"] = c.written
        collect[f"{a}.withheld"] = c.withheld
    reject: dict[str, int] = {"rejected": summary.rejected}
    for reason, n in summary.reasons.items():
        tag = reason.split(": ", 1)[-1]
        if tag.startswith(("prohibited:", "consent-required:")):
            key = tag.split(" ")[0]
            reject[key] = reject.get(key, 0) + n
    return collect, reject


# --------------------------------------------------------------------------------------------
# Scan


@dataclass
class ColumnReport:
    column: str
    declared: str | None  # the policy's type for the column, when the header matches a kind
    non_empty: int = 0
    values: Counter[str] = field(default_factory=Counter)  # whole-cell identifier kinds
    in_text: Counter[str] = field(default_factory=Counter)  # identifiers found inside free text

    def to_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "declared_type": self.declared,
            "non_empty": self.non_empty,
            "identifiers": dict(self.values),
            "in_free_text": dict(self.in_text),
        }


@dataclass
class ScanReport:
    file: str
    encoding: str | None
    kind: str | None
    rows: int
    bad_rows: int
    columns: list[ColumnReport]

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "encoding": self.encoding,
            "kind": self.kind,
            "rows": self.rows,
            "bad_rows": self.bad_rows,
            "columns": [c.to_json() for c in self.columns],
        }


_TEXTY = re.compile(r"[\u4e00-\u9fff]")
# Columns where a whole cell may be a person's name (None: the header matched no kind).
_NAME_COLUMNS = frozenset({None, "person_name", "party_name", "org_name", "address"})


def scan_file(
    src: str | Path,
    *,
    today: date,
    policy: Policy | None = None,
    encoding: str | None = None,
    limit: int | None = None,
) -> ScanReport:
    """Which columns, and which free texts, hold which identifiers — with counts. Reads only."""
    with open_records(src, encoding=encoding) as reader:
        header = reader.header
        kind: RecordKind | None = None
        if policy is not None:
            best = max(policy.kinds.values(), key=lambda k: sum(c in k.columns for c in header))
            if sum(c in best.columns for c in header) * 2 >= len(header):
                kind = best
        cols = [
            ColumnReport(
                c, kind.field(c).type.value if kind is not None and c in kind.columns else None
            )
            for c in header
        ]
        rows = bad = 0
        meter = events.start("records read", fraction=events.reader_fraction(reader, src))
        for item in reader:
            if limit is not None and rows >= limit:
                break
            rows += 1
            if meter is not None:
                meter.add()
            if isinstance(item, BadRow):
                bad += 1
                continue
            for rep, v in zip(cols, item.values, strict=False):
                if not v:
                    continue
                rep.non_empty += 1
                if rep.declared != FieldType.TEXT.value:
                    whole = classify_value(v, today=today)
                    # A short word in a typed column ("一般" in an enum) is no person's name.
                    if whole is not None and (
                        whole is not IdKind.PERSON_NAME or rep.declared in _NAME_COLUMNS
                    ):
                        rep.values[whole.value] += 1
                        continue
                if len(v) > 8 and _TEXTY.search(v):
                    for found in find_identifiers(v, today=today):
                        rep.in_text[found.kind.value] += 1
        if meter is not None:
            meter.end()
    return ScanReport(
        file=str(src),
        encoding=reader.encoding,
        kind=kind.name if kind else None,
        rows=rows,
        bad_rows=bad,
        columns=cols,
    )


__all__ = [
    "IdKind",
    "Layout",
    "MaskSummary",
    "ScanReport",
    "SealJobSummary",
    "mask_file",
    "match_header",
    "scan_file",
    "seal_file",
]


# --------------------------------------------------------------------------------------------
# The seal job (docs/package.md): validate, mask for submission, seal what the policy marks


def seal_file(
    src: str | Path,
    out: str | Path,
    *,
    policy: Policy,
    sender: Identity,
    recipients: Sequence[PublicKeyInfo],
    today: date,
    now: datetime,
    kind: str | None = None,
    encoding: str | None = None,
    rejects: str | Path | None = None,
    views: Mapping[str, str | Path] | None = None,
    ctx: MaskContext | None = None,
    out_encoding: str = "utf-8",
    workers: int | None = None,
    progress: Progress | None = None,
    before_commit: Callable[[SealJobSummary], None] | None = None,
) -> SealJobSummary:
    """Validate ``src``, mask its clear part for ``submission``, seal the fields the policy
    marks ``sealed`` to ``recipients``, sign as ``sender`` and write the package atomically;
    in the same pass write the masked ``views`` (audience → file). On the batch engine
    (:func:`xinan.engine.seal.seal_file`, docs/engine.md §5).

    Rejected rows go to ``rejects`` with their reasons; read = sealed + rejected. The package
    appears under its final name only after ``before_commit`` (the audit record) returns.
    """
    return engine_seal_file(
        src,
        out,
        policy=policy,
        sender=sender,
        recipients=recipients,
        today=today,
        now=now,
        kind=kind,
        encoding=encoding,
        rejects=rejects,
        views=views,
        ctx=ctx,
        out_encoding=out_encoding,
        workers=workers,
        progress=progress,
        before_commit=before_commit,
    )


def seal_audit_hook(session: Session, policy: Policy) -> Callable[[SealJobSummary], None]:
    """``seal`` and, when rows were refused, ``reject`` events, before the package appears."""

    def record(s: SealJobSummary) -> None:
        objects: dict[str, Any] = {
            "package": s.package_id,
            "policy": policy.label,
            "key_ids": list(s.recipients),
        }
        with session.batch():
            session.record(
                "seal",
                objects={**objects, "counts": {"read": s.read, "sealed": s.sealed}},
                why={"purpose": "submission"},
            )
            if s.rejected:
                reject: dict[str, int] = {"rejected": s.rejected}
                session.record("reject", objects={**objects, "counts": reject})

    return record
