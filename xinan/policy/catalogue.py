"""The catalogue policy: TOML (``xinan-policy/1``, docs/policy.md) → a frozen :class:`Policy`.

This module owns parsing and checking a policy and the models every later step reads (record
kinds, fields, audience rules, prohibited and consent-gated categories). It does not mask or
validate data itself: :mod:`xinan.masking` compiles the rules, :mod:`xinan.provider.jobs` applies
the validation.

Every problem is collected, not just the first, and each names its place: the line in the file
(found by :class:`_Locator`, since ``tomllib`` keeps no positions) and the TOML path.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from xinan.crypto.recipes import hex_fingerprint
from xinan.errors import PolicyError, PolicyProblem, UsageError
from xinan.policy.periods import LIFECYCLE_KEYS, LifecycleRules
from xinan.policy.periods_check import check_lifecycle
from xinan.policy.quality import QUALITY_KEY, QualityRules, check_quality

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


# --------------------------------------------------------------------------------------------
# Locating problems in the file


_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*(.+?)\s*\]\]?\s*(?:#.*)?$")
_KEY_RE = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|[A-Za-z0-9_\-]+)\s*=')
_PART_RE = re.compile(r'"((?:[^"\\]|\\.)*)"|([A-Za-z0-9_\-]+)')


def _split_dotted(text: str) -> list[str]:
    return [m.group(1) if m.group(1) is not None else m.group(2) for m in _PART_RE.finditer(text)]


class _Locator:
    """Maps TOML paths to line numbers by a light scan of the source (tomllib keeps none).

    Paths are tuples; array-of-table elements are addressed by index, e.g.
    ``("kind", "penalty", "field", 3, "public")``.
    """

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[Any, ...], int] = {}
        counters: dict[tuple[Any, ...], int] = {}
        current: tuple[Any, ...] = ()
        for lineno, line in enumerate(text.splitlines(), start=1):
            h = _HEADER_RE.match(line)
            if h and not line.lstrip().startswith("#"):
                parts = _split_dotted(h.group(2))
                # resolve earlier array elements in the path to their latest index
                path: list[Any] = []
                for p in parts:
                    path.append(p)
                    idx = counters.get(tuple(path))
                    if idx is not None and len(path) < len(parts):
                        path.append(idx)
                if h.group(1) == "[[":
                    key = tuple(path)
                    counters[key] = counters.get(key, -1) + 1
                    path.append(counters[key])
                current = tuple(path)
                self.lines.setdefault(current, lineno)
                continue
            k = _KEY_RE.match(line)
            if k:
                parts = _split_dotted(k.group(1))
                self.lines.setdefault((*current, *parts), lineno)

    def line(self, path: Sequence[Any]) -> int | None:
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return None


def _fmt_path(path: Sequence[Any], names: Mapping[tuple[Any, ...], str] | None = None) -> str:
    out = ""
    for i, p in enumerate(path):
        if isinstance(p, int):
            label = (names or {}).get(tuple(path[: i + 1]))
            out += f"[{p}]" + (f"({label})" if label else "")
        else:
            out += ("." if out else "") + str(p)
    return out


# --------------------------------------------------------------------------------------------
# Parsing and checking


class _Checker:
    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.locator = _Locator(text)
        self.problems: list[PolicyProblem] = []
        self.names: dict[tuple[Any, ...], str] = {}

    def add(self, path: Sequence[Any], message: str, severity: str = "error") -> None:
        self.problems.append(
            PolicyProblem(
                path=_fmt_path(path, self.names),
                message=message,
                line=self.locator.line(path),
                severity=severity,
            )
        )

    def warn(self, path: Sequence[Any], message: str) -> None:
        self.add(path, message, "warning")


_TOP_KEYS = {
    "format",
    "id",
    "version",
    "title",
    "jurisdiction",
    "audiences",
    "settings",
    "grades",
    "categories",
    "subject_classes",
    "prohibited",
    "consent_gated",
    "kind",
    *LIFECYCLE_KEYS,
    QUALITY_KEY,
}
_FIELD_KEYS = {
    "name",
    "key",
    "type",
    "category",
    "grade",
    "personal",
    "sensitive",
    "sealed",
    "required",
    "values",
    "max_length",
    "consent_gated",
    "id_type_field",
}
_KIND_KEYS = {
    "title",
    "subject",
    "class_field",
    "subject_fields",
    "withhold",
    "basis_fields",
    "class_requires",
    "field",
}


# A policy is untrusted input like any other (issue 11): every value is checked for its TOML
# type before it is used, so a wrong type is a problem with its place, never a TypeError.
def _table(c: _Checker, path: list[Any], value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        c.add(path, "must be a table")
        return {}
    return value


def _tables(c: _Checker, path: list[Any], value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        c.add(path, "must be an array of tables ([[…]])")
        return []
    return value


def _bool(c: _Checker, path: list[Any], value: Any, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        c.add(path, "must be true or false")
        return default
    return value


def _str(c: _Checker, path: list[Any], value: Any, default: str | None = None) -> str | None:
    if value is None:
        return default
    if not isinstance(value, str):
        c.add(path, "must be a string")
        return default
    return value


def _str_list(c: _Checker, path: list[Any], value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        c.add(path, "must be a list of strings")
        return ()
    return tuple(value)


def _parse(c: _Checker, data: dict[str, Any]) -> Policy | None:
    for key in data:
        if key not in _TOP_KEYS:
            c.add([key], f"unknown top-level key {key!r}")
    fmt = data.get("format")
    if fmt not in FORMATS:
        c.add(["format"], f"format must be {FORMAT!r} (or the older {FORMATS[0]!r}), got {fmt!r}")
    for key in ("id", "version"):
        if not isinstance(data.get(key), str) or not data.get(key):
            c.add([key], f"{key} is required (a string)")
    audiences = _str_list(c, ["audiences"], data.get("audiences"))
    for aud in REQUIRED_AUDIENCES:
        if aud not in audiences:
            c.add(["audiences"], f"required audience {aud!r} is missing")

    raw_settings = _table(c, ["settings"], data.get("settings"))
    sp: list[Any] = ["settings"]
    settings = Settings(
        public_natural_persons=_bool(
            c, [*sp, "public_natural_persons"], raw_settings.get("public_natural_persons"), False
        ),
        guard_audiences=frozenset(
            _str_list(c, [*sp, "guard_audiences"], raw_settings.get("guard_audiences"))
            or ("public",)
        ),
        pseudonym_namespace=_str(
            c, [*sp, "pseudonym_namespace"], raw_settings.get("pseudonym_namespace"), "subject"
        )
        or "subject",
        mask_char=_str(c, [*sp, "mask_char"], raw_settings.get("mask_char"), "*") or "*",
    )
    if len(settings.mask_char) != 1:
        c.add(["settings", "mask_char"], "mask_char must be one character")

    grades: dict[int, str] = {}
    for k, v in _table(c, ["grades"], data.get("grades")).items():
        if not k.isascii() or not k.isdigit():
            c.add(["grades", k], "grade keys must be whole numbers")
        elif _str(c, ["grades", k], v) is not None:
            grades[int(k)] = v
    if not grades:
        c.add(["grades"], "no grades defined")
    categories = {
        k: v
        for k, v in _table(c, ["categories"], data.get("categories")).items()
        if _str(c, ["categories", k], v) is not None
    }
    if not categories:
        c.add(["categories"], "no categories defined")

    subject_classes: dict[str, SubjectClass] = {}
    for k, v in _table(c, ["subject_classes"], data.get("subject_classes")).items():
        try:
            subject_classes[k] = SubjectClass(v)
        except (ValueError, TypeError):
            c.add(["subject_classes", k], f"unknown subject class {str(v)[:40]!r}")

    def categories_of(section: str) -> tuple[Category, ...]:
        out = []
        table = _table(c, [section], data.get(section))
        for i, raw in enumerate(_tables(c, [section, "category"], table.get("category"))):
            path: list[Any] = [section, "category", i]
            cid = _str(c, [*path, "id"], raw.get("id"))
            if not cid or not raw.get("columns"):
                c.add(path, "a category needs id and columns")
                continue
            out.append(
                Category(
                    id=cid,
                    label=_str(c, [*path, "label"], raw.get("label"), cid) or cid,
                    columns=_str_list(c, [*path, "columns"], raw["columns"]),
                )
            )
        return tuple(out)

    prohibited = categories_of("prohibited")
    consent_gated = categories_of("consent_gated")
    prohibited_cols = {col: cat for cat in prohibited for col in cat.columns}

    kinds: dict[str, RecordKind] = {}
    raw_kinds = _table(c, ["kind"], data.get("kind"))
    if not raw_kinds:
        c.add(["kind"], "no record kinds defined")
    for kname, raw_kind in raw_kinds.items():
        if not isinstance(raw_kind, dict):
            c.add(["kind", kname], "a record kind must be a table")
            continue
        kind = _parse_kind(
            c,
            kname,
            raw_kind,
            audiences=audiences,
            settings=settings,
            grades=grades,
            categories=categories,
            consent_ids={cat.id for cat in consent_gated},
            prohibited_cols=prohibited_cols,
            subject_classes=subject_classes,
        )
        if kind is not None:
            kinds[kname] = kind

    lifecycle: LifecycleRules | None = None
    tables = {k: data[k] for k in LIFECYCLE_KEYS if k in data}
    if fmt == FORMAT or tables:
        if fmt != FORMAT:
            c.add(["format"], f"the life-cycle tables need format {FORMAT!r}")
        lifecycle, more = check_lifecycle(tables, line_of=c.locator.line)
        c.problems.extend(more)

    quality = check_quality(
        data.get(QUALITY_KEY),
        c.add,
        kinds={n: k.columns for n, k in kinds.items()},
        date_columns={
            n: frozenset(f.name for f in k.fields if f.type is FieldType.DATE)
            for n, k in kinds.items()
        },
    )

    if any(p.severity == "error" for p in c.problems):
        return None
    return Policy(
        id=data["id"],
        version=data["version"],
        title=str(data.get("title", data["id"])),
        jurisdiction=str(data.get("jurisdiction", "")),
        audiences=audiences,
        settings=settings,
        grades=grades,
        categories=categories,
        subject_classes=subject_classes,
        prohibited=prohibited,
        consent_gated=consent_gated,
        kinds=kinds,
        source=c.source,
        lifecycle=lifecycle,
        quality=quality,
    )


def _parse_kind(
    c: _Checker,
    kname: str,
    raw: dict[str, Any],
    *,
    audiences: tuple[str, ...],
    settings: Settings,
    grades: Mapping[int, str],
    categories: Mapping[str, str],
    consent_ids: set[str],
    prohibited_cols: Mapping[str, Category],
    subject_classes: Mapping[str, SubjectClass],
) -> RecordKind | None:
    kpath: list[Any] = ["kind", kname]
    for key in raw:
        if key not in _KIND_KEYS:
            c.add([*kpath, key], f"unknown key {key!r} in a record kind")
    subject = raw.get("subject")
    if subject not in ("natural", "legal", "mixed"):
        c.add([*kpath, "subject"], "subject must be natural, legal or mixed")
    raw_fields = _tables(c, [*kpath, "field"], raw.get("field"))
    if not raw_fields:
        c.add([*kpath, "field"], "a record kind needs at least one field")
    fields: list[FieldSpec] = []
    seen: set[str] = set()
    for i, rf in enumerate(raw_fields):
        path: list[Any] = [*kpath, "field", i]
        if isinstance(rf.get("name"), str):
            c.names[tuple(path)] = rf["name"]
        spec = _parse_field(
            c,
            path,
            rf,
            audiences=audiences,
            settings=settings,
            kind_subject=str(subject),
            grades=grades,
            categories=categories,
            consent_ids=consent_ids,
            prohibited_cols=prohibited_cols,
        )
        if spec is None:
            continue
        for ident in {spec.name, spec.key}:
            if ident in seen:
                c.add([*path, "name"], f"duplicate field name or key {ident!r}")
            seen.add(ident)
        fields.append(spec)
    # Names of every declared field, including ones that failed to parse, so that one bad field
    # does not cascade into "not a field of this kind" errors elsewhere.
    names = {str(rf.get("name")) for rf in raw_fields}

    class_field = _str(c, [*kpath, "class_field"], raw.get("class_field"))
    if subject == "mixed":
        cf = next((f for f in fields if f.name == class_field), None)
        if class_field not in names:
            c.add(
                [*kpath, "class_field"], "a mixed kind needs class_field naming one of its fields"
            )
        elif cf is not None:
            for v in cf.values:
                if v not in subject_classes:
                    c.add(
                        [*kpath, "class_field"],
                        f"value {v!r} of {class_field} is not mapped in [subject_classes]",
                    )
    subject_fields = _str_list(c, [*kpath, "subject_fields"], raw.get("subject_fields"))
    basis_fields = _str_list(c, [*kpath, "basis_fields"], raw.get("basis_fields"))
    withhold = _str_list(c, [*kpath, "withhold"], raw.get("withhold"))
    for ref, what in [(n, "subject_fields") for n in subject_fields] + [
        (n, "basis_fields") for n in basis_fields
    ]:
        if ref not in names:
            c.add([*kpath, what], f"{ref!r} is not a field of this kind")
    for aud in withhold:
        if aud not in audiences:
            c.add([*kpath, "withhold"], f"unknown audience {aud!r}")
    class_requires: dict[str, tuple[str, ...]] = {}
    for cls, refs in _table(c, [*kpath, "class_requires"], raw.get("class_requires")).items():
        if cls not in SubjectClass.__members__.values():
            c.add([*kpath, "class_requires", cls], f"unknown subject class {cls!r}")
        refs_t = _str_list(c, [*kpath, "class_requires", cls], refs)
        for ref in refs_t:
            if ref not in names:
                c.add([*kpath, "class_requires", cls], f"{ref!r} is not a field of this kind")
        class_requires[cls] = refs_t
    for f in fields:
        if f.consent_gated and not basis_fields:
            c.add(
                [*kpath, "basis_fields"],
                f"field {f.name} is consent-gated but the kind declares no basis_fields",
            )
        if f.id_type_field and f.id_type_field not in names:
            c.add([*kpath, "field"], f"{f.name}: id_type_field {f.id_type_field!r} is not a field")
    return RecordKind(
        name=kname,
        title=_str(c, [*kpath, "title"], raw.get("title"), kname) or kname,
        subject=str(subject),
        fields=tuple(fields),
        class_field=class_field if subject == "mixed" else None,
        subject_fields=subject_fields,
        withhold=frozenset(withhold),
        basis_fields=basis_fields,
        class_requires=class_requires,
    )


def _parse_field(
    c: _Checker,
    path: list[Any],
    rf: dict[str, Any],
    *,
    audiences: tuple[str, ...],
    settings: Settings,
    kind_subject: str,
    grades: Mapping[int, str],
    categories: Mapping[str, str],
    consent_ids: set[str],
    prohibited_cols: Mapping[str, Category],
) -> FieldSpec | None:
    ok = True
    name = rf.get("name")
    if not isinstance(name, str) or not name.strip():
        c.add(path, "field has no name")
        return None
    for key in rf:
        if key not in _FIELD_KEYS and key not in audiences:
            c.add([*path, key], f"unknown key {key!r} (not a field attribute or audience)")
    if name in prohibited_cols:
        cat = prohibited_cols[name]
        c.add(
            [*path, "name"],
            f"{name} is prohibited data ({cat.label}; 征信业管理条例 第十四条) and cannot be "
            "in the catalogue",
        )
        ok = False
    try:
        ftype = FieldType(str(rf.get("type")))
    except ValueError:
        c.add(
            [*path, "type"],
            f"unknown type {rf.get('type')!r}; known: {', '.join(t.value for t in FieldType)}",
        )
        return None
    # Classification (数据安全法 第二十一条; GB/T 43697-2024): category and grade are mandatory.
    category = rf.get("category")
    if category is None:
        c.add(path, "unclassified field: no category")
        ok = False
    elif not isinstance(category, str) or category not in categories:
        c.add([*path, "category"], f"unknown category {category!r} (not in [categories])")
        ok = False
    grade = rf.get("grade")
    if grade is None:
        c.add(path, "unclassified field: no grade")
        ok = False
    elif isinstance(grade, bool) or not isinstance(grade, int) or grade not in grades:
        c.add([*path, "grade"], f"unknown grade {grade!r} (not in [grades])")
        ok = False
    personal = rf.get("personal")
    if not isinstance(personal, bool):
        c.add(path, "unclassified field: personal = true|false is required")
        ok = False
    sensitive = _bool(c, [*path, "sensitive"], rf.get("sensitive"), False)
    sealed = _bool(c, [*path, "sealed"], rf.get("sealed"), False)
    required = _bool(c, [*path, "required"], rf.get("required"), False)
    key = _str(c, [*path, "key"], rf.get("key"), name) or name
    if sensitive:
        if personal is False:
            c.add([*path, "sensitive"], "a sensitive field must also be personal")
        if isinstance(grade, int) and grade < 3:
            c.add([*path, "grade"], "a sensitive field needs grade 3 or 4")
        if not sealed:
            c.add([*path, "sealed"], "sensitive personal information must be sealed on submission")
    values = _str_list(c, [*path, "values"], rf.get("values"))
    if ftype is FieldType.ENUM and not values:
        c.add([*path, "values"], "an enum field needs values")
    gated = rf.get("consent_gated")
    if gated is not None and (not isinstance(gated, str) or gated not in consent_ids):
        c.add([*path, "consent_gated"], f"unknown consent-gated category {gated!r}")
    id_type_field = _str(c, [*path, "id_type_field"], rf.get("id_type_field"))
    if id_type_field is not None and ftype is not FieldType.ID_NUMBER:
        c.add([*path, "id_type_field"], "id_type_field applies to id_number fields only")

    rules: dict[str, Rule] = {}
    for aud in audiences:
        raw_rule = rf.get(aud)
        if raw_rule is None:
            c.add(path, f"missing rule for audience {aud!r}")
            ok = False
            continue
        try:
            rule = parse_rule(str(raw_rule))
        except ValueError as exc:
            c.add([*path, aud], str(exc))
            ok = False
            continue
        types = OPERATORS[rule.op][2]
        if types is not None and ftype not in types:
            c.add([*path, aud], f"{rule.op} does not apply to a {ftype.value} field")
            ok = False
        rules[aud] = rule
    public = rules.get("public")
    if public is not None and public.op == "clear":
        if sensitive or ftype in IDENTIFIER_TYPES:
            c.add(
                [*path, "public"],
                f"would leave {'a sensitive' if sensitive else 'an identifier'} field in clear "
                "in public; use drop, redact, keep(…) or pseudonym",
            )
            ok = False
        elif ftype is FieldType.TEXT:
            c.add(
                [*path, "public"],
                "free text in clear in public can leak identifiers typed into it; use scrub",
            )
            ok = False
        elif personal and (
            kind_subject == "natural"
            or (kind_subject == "mixed" and settings.public_natural_persons)
        ):
            c.warn([*path, "public"], "personal information in clear in public")
    if not ok:
        return None
    max_length = rf.get("max_length")
    if max_length is not None and (
        isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1
    ):
        c.add([*path, "max_length"], "max_length must be a whole number of at least 1")
        return None
    return FieldSpec(
        name=name,
        key=key,
        type=ftype,
        category=str(category),
        grade=int(grade),  # type: ignore[arg-type]  # checked above
        personal=bool(personal),
        sensitive=sensitive,
        sealed=sealed,
        required=required,
        rules=rules,
        values=values,
        max_length=int(max_length) if isinstance(max_length, int) else None,
        consent_gated=str(gated) if gated else None,
        id_type_field=str(id_type_field) if id_type_field else None,
    )


# --------------------------------------------------------------------------------------------
# Public entry points


def check_policy_text(
    text: str, source: str = "<memory>"
) -> tuple[Policy | None, list[PolicyProblem]]:
    """Parse and check a policy; return the policy (None when invalid) and every problem."""
    c = _Checker(source, text)
    if not text.isascii():
        try:
            text.encode("utf-8")  # a policy is bound by the digest of its UTF-8 bytes
        except UnicodeEncodeError:
            return None, [PolicyProblem("(file)", "not Unicode text (a lone surrogate)")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        c.problems.append(
            PolicyProblem(
                path="(file)", message=f"not valid TOML: {exc}", line=int(m.group(1)) if m else None
            )
        )
        return None, c.problems
    policy = _parse(c, data)
    return policy, c.problems


def load_policy_text(text: str, source: str = "<memory>") -> Policy:
    policy, problems = check_policy_text(text, source)
    if policy is None:
        raise PolicyError(source, problems)
    # the fingerprints name these exact bytes (Policy.fingerprint_for: the vault's hash)
    return dataclasses.replace(policy, raw=text.encode("utf-8"))


def default_policy_path() -> Path:
    """The shipped default policy (package data, the same file as policies/credit-default.toml)."""
    ref = resources.files("xinan") / "data" / DEFAULT_POLICY_NAME
    return Path(str(ref))


def resolve_policy_path(path: str | Path | None) -> Path:
    """``--policy P``, else $XINAN_POLICY, else the built-in default."""
    if path:
        return Path(path)
    env = os.environ.get("XINAN_POLICY")
    return Path(env) if env else default_policy_path()


def read_policy_file(path: str | Path | None) -> tuple[Path, str]:
    p = resolve_policy_path(path)
    try:
        return p, p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"policy file not found: {p}", hint="pass --policy FILE or set XINAN_POLICY"
        ) from None
    except UnicodeDecodeError:
        raise PolicyError(str(p), [PolicyProblem("(file)", "policy files must be UTF-8")]) from None


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and check a policy file (``None``: $XINAN_POLICY or the built-in default)."""
    p, text = read_policy_file(path)
    return load_policy_text(text, str(p))
