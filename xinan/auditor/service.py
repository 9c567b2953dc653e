"""(4) The auditor as one object: reports read from the log, as one identity.

:class:`Auditor` is an :class:`~xinan.access.Actor`: reading audit entries is itself an
audited act, so each report is recorded in the log before it is returned.
"""

from __future__ import annotations

from datetime import date

from xinan.access import Actor
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
        rep = subject_report(self.log_path, subject, names=key_names(self.keyring))
        used = pseudonym_key_ids(self.log_path)
        if not rep.entries and used and key.key_id not in used:
            raise UsageError(
                f"the log's subjects are pseudonymised under {', '.join(sorted(used))}, not "
                f"under {key.key_id}",
                hint="pass --pseudonym-key with the platform's subject pseudonym key",
            )
        self.session.record(**report_event(rep))  # durable before the report is shown
        return rep
