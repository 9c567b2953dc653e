"""(2) The platform's operations on stored records: ingest, list, show, the archive.

Each method checks the role, logs before the effect and records every read (see
:mod:`xinan.platform.service`). What a record looks like in the policy's ``internal`` view is
decided here, not by a caller: sealed values stay sealed in a listing, and are opened in
memory only to apply the view's mask when one record is shown.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xinan.access import field_labels
from xinan.masking import MaskContext, View
from xinan.platform.lifecycle import archive_entries
from xinan.platform.service import PlatformCore
from xinan.platform.vault import IngestSummary, StoredRecord
from xinan.policy.catalogue import Policy

SEALED_MARK = "〔密封〕"  # a sealed value not opened for this view


@dataclass(frozen=True)
class RecordView:
    """One stored record as the actor may see it: metadata and the masked fields."""

    record: StoredRecord
    fields: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        rec = self.record
        return {
            "record_id": rec.record_id,
            "kind": rec.kind,
            "package": rec.package_id,
            "subject_class": rec.subject_class.value,
            "subjects": list(rec.subjects),
            "status": {k: v for k, v in rec.status.items() if v},
            "facts": {k: v for k, v in rec.facts.items() if v},
            "fields": self.fields,
        }

    @property
    def status_text(self) -> str:
        flags = [k.removesuffix("_at") for k, v in self.record.status.items() if v]
        if flags == ["disputed"]:
            return "disputed(异议处理中)"  # the objection flag (docs/lifecycle.md §3.1)
        return ",".join(flags) or "active"


def internal_view(
    rec: StoredRecord, pol: Policy, view: View, opened: dict[str, str] | None
) -> dict[str, str]:
    """The policy's ``internal`` view of a record: from the clear part (the submission view)
    and, when opened in memory, the sealed values; unopened sealed fields are marked."""
    kind = pol.kind(rec.kind)
    row = []
    for col in kind.columns:
        if opened is not None and col in opened:
            row.append(opened[col])
        elif col in rec.sealed_fields:
            row.append("")
        else:
            row.append(rec.clear.get(col, ""))
    out = view.apply(row, rec.subject_class) or [""] * len(view.columns)
    shown = dict(zip(view.columns, out, strict=True))
    if opened is None:
        for col in rec.sealed_fields:
            if col in shown:
                shown[col] = SEALED_MARK
    return shown


class RecordOps(PlatformCore):
    def ingest(
        self, package: Path, *, rejects: Path | None = None, workers: int | None = None
    ) -> IngestSummary:
        """Verify a submission package, check it against the policy and keep its valid records
        sealed (role platform). Records the policy refuses go to the signed rejects report
        (``rejects``; docs/ingest-rejects.md), never to the vault. Ingesting the same package
        again changes nothing (and says so). ``workers`` processes verify, open and check the
        records (default: every core); the vault is the same for any number."""
        self.require("vault.ingest")
        vault = self.unlocked_vault()
        return vault.ingest(
            package,
            platform=self.platform_identity(),
            keyring=self.keyring,
            policy=self.policy,
            pseudonymizer=self.pseudonym_key(),
            session=self.session,
            now=self.now(),
            rejects=rejects,
            workers=workers,
        )

    def list_records(
        self, *, kind: str | None = None, subject: str | None = None, limit: int = 100
    ) -> list[RecordView]:
        """Stored records in the internal (masked) view, sealed values left sealed; archived
        records are listed only by the audit administrator's :meth:`archive`. ``subject`` is a
        clear ID, pseudonymised at once and never logged."""
        self.require("vault.read")
        pol = self.policy
        ps = self.subject_pseudonym(subject) if subject else None
        del subject
        if kind is not None:
            pol.kind(kind)
        live = (
            r for r in self.vault.records(kind=kind, subject=ps) if not r.status.get("archived_at")
        )
        recs = list(itertools.islice(live, limit))
        views: dict[str, View] = {}
        rows = []
        ctx = MaskContext(today=self.today())
        for rec in recs:
            if rec.kind not in views:
                # security labels (8.1.4.2 g): what the internal view releases verbatim
                self.session.require_clearance(
                    field_labels(pol.kind(rec.kind), audience="internal"),
                    objects={"ref": f"vault:{self.vault.config.id}:list"},
                )
                views[rec.kind] = View(pol, pol.kind(rec.kind), "internal", ctx)
            rows.append(RecordView(rec, internal_view(rec, pol, views[rec.kind], None)))
        self.session.record(
            "open",
            objects={"ref": f"vault:{self.vault.config.id}:list", "counts": {"records": len(recs)}},
            why={"purpose": "inspection"},
            subjects=[ps] if ps else [],
        )
        return rows

    def show_record(self, record_id: str, *, purpose: str = "inspection") -> RecordView:
        """One record in the internal view: sealed values are opened in memory only to apply
        the mask; the access is logged before anything is returned."""
        self.require("vault.read")
        pol = self.policy
        vault = self.unlocked_vault()
        rec = vault.get(record_id)
        if rec.status.get("archived_at"):  # only the audit administrator's archive lists it
            self.session.require("vault.archive", objects={"record_ids": [rec.record_id]})
        # security labels (8.1.4.2 g): what the internal view releases verbatim
        self.session.require_clearance(
            field_labels(pol.kind(rec.kind), audience="internal"),
            objects={"record_ids": [rec.record_id]},
        )
        view = View(pol, pol.kind(rec.kind), "internal", MaskContext(today=self.today()))
        self.session.record(
            "open",
            objects={"record_ids": [rec.record_id], "ref": f"vault:{vault.config.id}"},
            why={"purpose": purpose},
            subjects=list(rec.subjects),
        )
        return RecordView(rec, internal_view(rec, pol, view, vault.open_sealed(rec)))

    def archive(self) -> list[dict[str, Any]]:
        """The archive: records repaired or removed after an objection, as masked metadata
        only (role audit-admin); the read is logged."""
        self.require("vault.archive")
        rows = list(archive_entries(self.vault))
        self.session.record(
            "open",
            objects={
                "ref": f"vault:{self.vault.config.id}:archive",
                "counts": {"records": len(rows)},
            },
            why={"purpose": "audit"},
        )
        return rows
