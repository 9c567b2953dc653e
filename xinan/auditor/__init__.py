"""(4) The auditor (审计管理员) and the data subject: what the signed logs say happened.

* :mod:`xinan.auditor.subject_report` — who received one data subject's data, from the log.

Verifying a log itself is :mod:`xinan.audit.verify`'s (it sits with the log's formats).
"""
