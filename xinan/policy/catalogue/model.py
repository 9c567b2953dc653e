"""The policy's frozen models: field types, subject classes, masking rules, fields, record kinds,
categories, settings and the Policy itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from xinan.crypto.recipes import hex_fingerprint
from xinan.errors import UsageError
from xinan.policy.periods import LifecycleRules
from xinan.policy.quality import QualityRules

FORMAT = "xinan-policy/2"
# /1: catalogue, classification and audiences. /2 adds the life-cycle tables (disclosure
# windows, retention, objection deadlines: docs/disclosure.md), which it requires.
FORMATS = ("xinan-policy/1", FORMAT)
REQUIRED_AUDIENCES = ("public", "gov_share", "querent", "internal", "submission")
DEFAULT_POLICY_NAME = "credit-default.toml"


class FieldType(StrEnum):
    PERSON_NAME = "person_name"
    PARTY_NAME = "party_name"
    ORG_NAME = "org_name"
    RESIDENT_ID = "resident_id"
    ID_NUMBER = "id_number"
    USCC = "uscc"
    MOBILE = "mobile"
    PHONE = "phone"
    EMAIL = "email"
    BANK_CARD = "bank_card"
    ADDRESS = "address"
    DATE = "date"
    AMOUNT = "amount"
    INTEGER = "integer"
    ENUM = "enum"
    CODE = "code"
    TEXT = "text"


class SubjectClass(StrEnum):
    NATURAL = "natural"
    LEGAL = "legal"
    INDIVIDUAL_BUSINESS = "individual_business"


# Types whose full value is an identifier that must never be public in clear (BRIEF; issue 3).
IDENTIFIER_TYPES = frozenset(
    {
        FieldType.RESIDENT_ID,
        FieldType.ID_NUMBER,
        FieldType.MOBILE,
        FieldType.PHONE,
        FieldType.BANK_CARD,
        FieldType.EMAIL,
    }
)

# Operator → (min args, max args, types it applies to or None for any type).
_NAMEABLE = frozenset({FieldType.PERSON_NAME, FieldType.PARTY_NAME})
OPERATORS: dict[str, tuple[int, int, frozenset[FieldType] | None]] = {
    "clear": (0, 0, None),
    "drop": (0, 0, None),
    "redact": (0, 0, None),
    "keep": (2, 2, None),
    "mask": (2, 2, None),
    "name": (1, 1, _NAMEABLE),
    "year": (0, 0, frozenset({FieldType.DATE})),
    "month": (0, 0, frozenset({FieldType.DATE})),
    "district": (0, 0, frozenset({FieldType.ADDRESS})),
    "band": (1, 12, frozenset({FieldType.AMOUNT})),
    "pseudonym": (0, 1, None),
    "scrub": (0, 1, frozenset({FieldType.TEXT})),
}
_RULE_RE = re.compile(r"^\s*([a-z_]+)\s*(?:\(\s*([^()]*?)\s*\))?\s*$")


@dataclass(frozen=True, slots=True)
class Rule:
    """One audience rule: an operator and its arguments, e.g. ``keep(6,4)``."""

    op: str
    args: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.op}({','.join(self.args)})" if self.args else self.op

    def int_args(self) -> tuple[int, ...]:
        return tuple(int(a) for a in self.args)


def parse_rule(text: str) -> Rule:
    """Parse ``op`` or ``op(a,b)``; raise ValueError with a user-facing reason."""
    m = _RULE_RE.match(text)
    if not m:
        raise ValueError(f"malformed rule {text!r}; expected op or op(arg,…)")
    op, raw = m.group(1), m.group(2)
    if op not in OPERATORS:
        raise ValueError(f"unknown operator {op!r}; known: {', '.join(OPERATORS)}")
    args = tuple(a.strip() for a in raw.split(",")) if raw else ()
    lo, hi, _ = OPERATORS[op]
    if not lo <= len(args) <= hi:
        want = str(lo) if lo == hi else f"{lo}–{hi}"
        raise ValueError(f"{op} takes {want} argument(s), got {len(args)}")
    if op in ("keep", "mask"):
        try:
            nums = [int(a) for a in args]
        except ValueError:
            raise ValueError(f"{op} arguments must be whole numbers") from None
        if any(n < 0 for n in nums) or (op == "mask" and (nums[0] < 1 or nums[1] < nums[0])):
            raise ValueError(f"{op} arguments out of range: {text!r}")
    if op == "name" and args[0] not in ("stars", "mou"):
        raise ValueError("name takes stars (张**) or mou (张某)")
    if op == "scrub" and args and args[0] not in ("tag", "mask"):
        raise ValueError("scrub takes tag (default) or mask")
    if op == "band":
        try:
            edges = [float(a) for a in args]
        except ValueError:
            raise ValueError("band edges must be numbers") from None
        if edges != sorted(edges) or len(set(edges)) != len(edges):
            raise ValueError("band edges must be strictly increasing")
    return Rule(op, args)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    key: str
    type: FieldType
    category: str
    grade: int
    personal: bool
    sensitive: bool
    sealed: bool
    required: bool
    rules: Mapping[str, Rule]
    values: tuple[str, ...] = ()
    max_length: int | None = None
    consent_gated: str | None = None
    id_type_field: str | None = None


@dataclass(frozen=True, slots=True)
class RecordKind:
    name: str
    title: str
    subject: str  # "natural" | "legal" | "mixed"
    fields: tuple[FieldSpec, ...]
    class_field: str | None = None
    subject_fields: tuple[str, ...] = ()
    withhold: frozenset[str] = frozenset()
    basis_fields: tuple[str, ...] = ()
    class_requires: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, ref: str) -> FieldSpec:
        """Find a field by column name or ASCII key."""
        for f in self.fields:
            if ref in (f.name, f.key):
                return f
        raise KeyError(ref)

    def index(self, name: str) -> int:
        return self.columns.index(name)


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    label: str
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Settings:
    public_natural_persons: bool = False
    guard_audiences: frozenset[str] = frozenset({"public"})
    pseudonym_namespace: str = "subject"
    mask_char: str = "*"


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    version: str
    title: str
    jurisdiction: str
    audiences: tuple[str, ...]
    settings: Settings
    grades: Mapping[int, str]
    categories: Mapping[str, str]
    subject_classes: Mapping[str, SubjectClass]
    prohibited: tuple[Category, ...]
    consent_gated: tuple[Category, ...]
    kinds: Mapping[str, RecordKind]
    source: str = "<memory>"
    lifecycle: LifecycleRules | None = None  # None only for a xinan-policy/1 file
    quality: QualityRules | None = None  # the [quality] table (KPI thresholds), if any
    raw: bytes = field(default=b"", repr=False)  # the file's exact bytes (UTF-8)

    def kind(self, name: str) -> RecordKind:
        try:
            return self.kinds[name]
        except KeyError:
            raise UsageError(
                f"policy {self.id} has no record kind {name!r}",
                hint=f"known kinds: {', '.join(self.kinds)}",
            ) from None

    def prohibited_column(self, column: str) -> Category | None:
        for cat in self.prohibited:
            if column in cat.columns:
                return cat
        return None

    def consent_category(self, ident: str) -> Category | None:
        for cat in self.consent_gated:
            if cat.id == ident:
                return cat
        return None

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def digest(self) -> str:
        """SHA-256 of the file's exact bytes (hex)."""
        return hex_fingerprint("sha256", self.raw)

    @property
    def fingerprint(self) -> str:
        """``id@version#<first 32 hex of the file's SHA-256>``: what an intl or pq vault binds,
        so that an edited file that kept its id and version is not taken for the policy in
        force (docs/vault.md)."""
        return self.fingerprint_for("sha256")

    def fingerprint_for(self, hash_name: str) -> str:
        """The fingerprint with hash ``hash_name``: ``sha256`` gives :attr:`fingerprint`;
        ``sm3`` gives ``id@version#sm3:<first 32 hex of the file's SM3>``, what a gm vault binds
        (GB/T 39786: SM3 wherever intl uses SHA-256; the prefix keeps the two apart)."""
        hexdigest = hex_fingerprint(hash_name, self.raw)[:32]
        tag = "" if hash_name == "sha256" else f"{hash_name}:"
        return f"{self.label}#{tag}{hexdigest}"
