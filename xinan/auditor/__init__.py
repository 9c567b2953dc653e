"""(4) The auditor (审计管理员) and the data subject: what the signed logs say happened.

* :mod:`xinan.auditor.subject_report` — who received one data subject's data, from the log.
* :mod:`xinan.auditor.audit_report` — the auditor's report: each log's verification,
  checkpoints and witnesses, activity by type and actor, denials, what each querent was
  granted, shared and opened, destruction certificates, and inclusion-proven answers to "who
  touched subject X since D" (docs/report.md §5).

Verifying a log itself is :mod:`xinan.audit.verify`'s (it sits with the log's formats).
Rendering the reports is :mod:`xinan.reports`'.
"""
