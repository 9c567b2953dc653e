"""The policy's TOML → models: top level, record kinds and fields, every problem collected with its
place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xinan.policy.catalogue.locate import (
    _FIELD_KEYS,
    _KIND_KEYS,
    _TOP_KEYS,
    _bool,
    _Checker,
    _str,
    _str_list,
    _table,
    _tables,
)
from xinan.policy.catalogue.model import (
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
from xinan.policy.periods import LIFECYCLE_KEYS, LifecycleRules
from xinan.policy.periods_check import check_lifecycle
from xinan.policy.quality import QUALITY_KEY, check_quality


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
