"""(4) The auditor as one object: reports read from the log, as one identity.

:class:`Auditor` is an :class:`~xinan.access.Actor`: reading audit entries is itself an
audited act, so each report is recorded in the log before it is returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from xinan.access import Actor
from xinan.audit.log import PruneResult
from xinan.auditor.audit_report import AuditReport, LogInput, build_audit_report
from xinan.auditor.audit_report import report_event as audit_report_event
from xinan.auditor.lineage import Lineage, build_lineage, lineage_event
from xinan.auditor.subject_report import (
    SubjectReport,
    key_names,
    pseudonym_key_ids,
    report_event,
    subject_pseudonym,
    subject_report,
)
from xinan.errors import UsageError
from xinan.masking import Pseudonymizer
from xinan.platform.destruction import verify_certificate


class Auditor(Actor):
    def subject_report(
        self, identifier: str, *, key: Pseudonymizer, namespace: str, today: date
    ) -> SubjectReport:
        """Who queried or received the data of one subject (征信业管理条例 第十八条).

        ``identifier`` (a resident ID or USCC) becomes its keyed pseudonym at once and is never
        logged or returned. An empty report under a key the log's subjects are not
        pseudonymised under would falsely tell the subject that nobody received their data:
        it is refused, naming the right key."""
        self.require("report.subject")
        subject = subject_pseudonym(identifier, key, namespace, today=today)
        del identifier
        names = key_names(self.keyring, self.log_path)
        rep = subject_report(self.log_path, subject, names=names)
        used = pseudonym_key_ids(self.log_path)
        if not rep.entries and used and key.key_id not in used:
            raise UsageError(
                f"the log's subjects are pseudonymised under {', '.join(sorted(used))}, not "
                f"under {key.key_id}",
                hint="pass --pseudonym-key with the platform's subject pseudonym key",
            )
        self.session.record(**report_event(rep))  # durable before the report is shown
        return rep

    def audit_report(
        self,
        logs: Sequence[LogInput],
        *,
        subject: str | None = None,
        since: date | None = None,
        field: str | None = None,
        certificates: Sequence[tuple[str, bytes]] = (),
    ) -> AuditReport:
        """The auditor's report over ``logs`` (docs/report.md §5): each log verified, then read.

        Only the audit roles read entries (``audit.read``); the report is recorded in this
        identity's log before it is returned. Key names and roles come from the trust store;
        certificates are checked against the first log with the trust store's keys."""
        self.require("audit.read", objects={"ref": "report:audit"})
        entries = self.keyring.list()
        ring = self.keyring
        rep = build_audit_report(
            logs,
            now=self.clock(),
            names={e.key_id: e.id for e in entries},
            roles={e.key_id: e.role for e in entries},
            subject=subject,
            since=since,
            field=field,
            certificates=certificates,
            check_certificate=lambda data, log: verify_certificate(data, trust=ring, audit_log=log),
        )
        self.session.record(**audit_report_event(rep, subject))
        return rep

    def lineage(self, log: LogInput, record_id: str, *, package: str | None = None) -> Lineage:
        """A record's life as the log tells it, oldest first (CONTROLS.md 30): the log is
        verified first and nothing is shown from a log that does not verify. Audit roles only;
        the read is recorded before the lineage is returned."""
        self.require("audit.read", objects={"ref": "lineage", "record_ids": [record_id[:128]]})
        lin = build_lineage(log, record_id, package=package)
        self.session.record(**lineage_event(lin))
        return lin

    def prune(self, *, retention_days: int) -> PruneResult:
        """Remove the entries older than ``retention_days`` (role audit-admin): only whole
        prefixes, never below six months (网络安全法 第二十一条), keeping what verification
        needs; the pruning itself is recorded in the log."""
        self.require("audit.prune")
        now = self.clock()
        result = self.session.log.prune(now, retention_days=retention_days, now=now)
        self.session.record(
            "audit.prune",
            objects={"counts": {"entries": result.entries, "prune_point": result.size}},
            why={"basis": f"retention:{retention_days}d"},
        )
        return result
