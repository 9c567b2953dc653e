"""The catalogue policy: TOML (``xinan-policy/1``, docs/policy.md) → a frozen :class:`Policy`.

This module owns parsing and checking a policy and the models every later step reads (record
kinds, fields, audience rules, prohibited and consent-gated categories). It does not mask or
validate data itself: :mod:`xinan.masking` compiles the rules, :mod:`xinan.provider.jobs` applies
the validation.

Every problem is collected, not just the first, and each names its place: the line in the file
(found by :class:`_Locator`, since ``tomllib`` keeps no positions) and the TOML path.
"""

from __future__ import annotations

from xinan.policy.catalogue.load import (
    check_policy_text,
    default_policy_path,
    load_policy,
    load_policy_text,
    read_policy_file,
    resolve_policy_path,
)
from xinan.policy.catalogue.model import (
    DEFAULT_POLICY_NAME,
    FORMAT,
    FORMATS,
    IDENTIFIER_TYPES,
    OPERATORS,
    REQUIRED_AUDIENCES,
    Category,
    FieldSpec,
    FieldType,
    Policy,
    RecordKind,
    Rule,
    Settings,
    SubjectClass,
    parse_rule,
)

__all__ = [
    "DEFAULT_POLICY_NAME",
    "FORMAT",
    "FORMATS",
    "IDENTIFIER_TYPES",
    "OPERATORS",
    "REQUIRED_AUDIENCES",
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
    "parse_rule",
    "read_policy_file",
    "resolve_policy_path",
]
