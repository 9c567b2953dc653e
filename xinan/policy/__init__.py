"""The policy: the catalogue (what may be collected, how each audience sees it), the
disclosure and retention periods computed from it, and the working-day calendar.

* :mod:`xinan.policy.catalogue` — ``xinan-policy/2`` TOML → a frozen :class:`Policy`
  (docs/policy.md);
* :mod:`xinan.policy.periods` — disclosure windows, repair dates, retention and objection
  deadlines as pure arithmetic (docs/disclosure.md);
* :mod:`xinan.policy.calendar` — working days in mainland China, kept as data.

Nothing here touches a file other than the policy itself, a key, or the clock: the date is
always passed in.
"""

from xinan.policy.catalogue import (
    DEFAULT_POLICY_NAME,
    Category,
    FieldSpec,
    FieldType,
    Policy,
    RecordKind,
    Rule,
    Settings,
    SubjectClass,
    check_policy_text,
    default_policy_path,
    load_policy,
    load_policy_text,
    read_policy_file,
    resolve_policy_path,
)

__all__ = [
    "DEFAULT_POLICY_NAME",
    "Category",
    "FieldSpec",
    "FieldType",
    "Policy",
    "RecordKind",
    "Rule",
    "Settings",
    "SubjectClass",
    "check_policy_text",
    "default_policy_path",
    "load_policy",
    "load_policy_text",
    "read_policy_file",
    "resolve_policy_path",
]
