"""(1) The provider as one object: scan, mask and seal an export as one identity.

:class:`Provider` is an :class:`~xinan.access.Actor`: each job checks the role, and its audit
entries (``collect``, ``reject``, ``seal``) are durable before any output appears under its
final name. When an output goes to standard output, rows leave before the job ends, so the
collection is recorded first (its counts follow in the entry written at the end).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

from xinan.access import Actor
from xinan.engine.jobs import Progress
from xinan.masking import MaskContext, Pseudonymizer
from xinan.policy.catalogue import Policy
from xinan.provider.jobs import (
    MaskSummary,
    ScanReport,
    SealJobSummary,
    audit_counts,
    mask_audit_hook,
    mask_file,
    record_scan,
    scan_file,
    seal_audit_hook,
    seal_file,
)
from xinan.provider.quality import QualityReport, build_quality_report
from xinan.provider.quality import report_event as quality_report_event


class Provider(Actor):
    def scan(
        self,
        file: str | Path,
        *,
        policy: Policy,
        today: date,
        encoding: str | None = None,
        limit: int | None = None,
    ) -> ScanReport:
        """Which columns and free texts hold which identifiers, with counts (values never)."""
        self.require("scan")
        report = scan_file(file, today=today, policy=policy, encoding=encoding, limit=limit)
        record_scan(self.session, report, policy)
        return report

    def mask(
        self,
        file: str | Path,
        outputs: Mapping[str, str | Path],
        *,
        policy: Policy,
        today: date,
        kind: str,
        pseudonymizers: Mapping[str, Pseudonymizer] | None = None,
        rejects: str | Path | None = None,
        encoding: str | None = None,
        out_encoding: str = "utf-8",
        workers: int | None = None,
        progress: Progress | None = None,
    ) -> MaskSummary:
        """Validate ``file`` and write one masked view per audience in ``outputs``, on the
        batch engine over ``workers`` processes (default: every core; docs/engine.md)."""
        self.require("mask")
        audiences = list(outputs)
        if "-" in [str(o) for o in outputs.values()] or str(rejects) == "-":
            # rows on stdout leave before the job ends: record the collection first
            self.session.record(
                "collect",
                objects={"ref": f"mask:{Path(file).name}", "policy": policy.label},
                why={"purpose": "mask:" + ",".join(audiences) + ":stdout"},
            )
        ctx = MaskContext(today=today, pseudonymizers=dict(pseudonymizers or {}))
        return mask_file(
            file,
            outputs,
            policy=policy,
            ctx=ctx,
            kind=kind,
            rejects=rejects,
            encoding=encoding,
            out_encoding=out_encoding,
            workers=workers,
            progress=progress,
            before_commit=mask_audit_hook(self.session, file, policy, audiences),
        )

    def seal(
        self,
        file: str | Path,
        output: str | Path,
        *,
        policy: Policy,
        recipients: Sequence[str],
        today: date,
        kind: str | None = None,
        encoding: str | None = None,
        rejects: str | Path | None = None,
        views: Mapping[str, str | Path] | None = None,
        pseudonymizers: Mapping[str, Pseudonymizer] | None = None,
        out_encoding: str = "utf-8",
        workers: int | None = None,
        progress: Progress | None = None,
    ) -> SealJobSummary:
        """Validate, mask for submission, seal the policy's sealed fields to ``recipients``
        (key ids or names in the trust store), sign as the actor; in the same pass write the
        masked ``views`` (audience → file). The ``seal`` entry (and, with views, the
        ``collect`` entry of the views) is durable before anything appears."""
        self.require("seal")
        if views:
            self.require("mask")
        seal_hook = seal_audit_hook(self.session, policy)
        audiences = list(views or {})

        def record(s: SealJobSummary) -> None:
            seal_hook(s)
            if s.views is not None:
                # the rows refused are the same rows: the seal's reject entry covers them
                collect, _ = audit_counts(s.views)
                self.session.record(
                    "collect",
                    objects={
                        "ref": f"mask:{Path(file).name}",
                        "policy": policy.label,
                        "counts": collect,
                    },
                    why={"purpose": "mask:" + ",".join(audiences)},
                )

        return seal_file(
            file,
            output,
            policy=policy,
            sender=self.identity,
            recipients=[self.keyring.get_public(r) for r in recipients],
            today=today,
            now=self.clock(),
            kind=kind,
            encoding=encoding,
            rejects=rejects,
            views=views,
            ctx=MaskContext(today=today, pseudonymizers=dict(pseudonymizers or {})),
            out_encoding=out_encoding,
            workers=workers,
            progress=progress,
            before_commit=record,
        )

    def quality_report(
        self,
        file: str | Path,
        *,
        policy: Policy,
        today: date,
        kind: str | None = None,
        encoding: str | None = None,
    ) -> QualityReport:
        """The platform's KPIs on ``file`` before it is submitted (docs/report.md §7); the read
        is recorded like ``scan`` (counts only) before the report is returned."""
        self.require("scan", objects={"ref": f"quality:{Path(file).name}"})
        rep = build_quality_report(file, policy=policy, today=today, kind=kind, encoding=encoding)
        self.session.record(**quality_report_event(rep))
        return rep
