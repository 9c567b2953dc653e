"""The engine plan: a policy compiled once per file for one record kind and a set of outputs.

A :class:`Plan` is plain data (frozen dataclasses, tuples, strings): it pickles, so it can be
shipped to worker processes or to Spark executors, and it holds no secret. Keys (pseudonyms,
sealing) are passed to :func:`xinan.engine.run_batch` separately, by the caller that owns them.

``compile_plan`` decides everything that does not depend on the data: how the file's columns
map onto the kind (unclassified columns refused, prohibited columns found), which validation
stages run in which order, and for each audience which columns it keeps with which rule per
subject class. Running the plan on a batch (:mod:`xinan.engine.batch`) only executes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from xinan.errors import InputError, Location, UsageError
from xinan.policy import FieldSpec, FieldType, Policy, RecordKind, Rule, Settings, SubjectClass

PLAN_VERSION = "xinan-engine-plan/1"


@dataclass(frozen=True)
class JobSpec:
    """What a job does with one file: its header, its kind (None: matched from the header),
    the audiences it masks for, whether it seals for submission, and today's date (birth
    dates after it are refused; free-text detection uses it)."""

    header: tuple[str, ...]
    audiences: tuple[str, ...] = ()
    kind: str | None = None
    today: date = date(1970, 1, 1)
    seal: bool = False
    file: str = "<batch>"


@dataclass(frozen=True)
class Plan:
    """A compiled job (see the module docstring). Build it with :func:`compile_plan`."""

    version: str
    spec: JobSpec
    kind: RecordKind  # a copy with plain dicts: picklable
    settings: Settings
    subject_classes: tuple[tuple[str, SubjectClass], ...]
    source_index: tuple[int | None, ...]  # per kind field: its column in the batch, or None
    prohibited: tuple[tuple[int, str, str, str], ...]  # (column, header name, id, label)
    audiences: tuple[str, ...]
    policy_label: str
    policy_id: str
    policy_version: str

    @property
    def today(self) -> date:
        return self.spec.today

    @property
    def header(self) -> tuple[str, ...]:
        return self.spec.header

    def columns(self, audience: str) -> tuple[str, ...]:
        """The output columns of ``audience``, in the kind's order (``drop`` left out)."""
        return tuple(f.name for f in self.kind.fields if f.rules[audience].op != "drop")

    @property
    def sealed_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.kind.fields if f.sealed)

    def withheld_classes(self, audience: str) -> frozenset[SubjectClass]:
        """docs/policy.md §5 "Withholding"."""
        if audience in self.kind.withhold:
            return frozenset(SubjectClass)
        if audience == "public" and not self.settings.public_natural_persons:
            return frozenset({SubjectClass.NATURAL})
        return frozenset()

    def pseudonym_namespaces(self) -> set[str]:
        """Namespaces of the pseudonym keys this plan needs (to ask for keys up front)."""
        out: set[str] = set()
        for f in self.kind.fields:
            for a in self.audiences:
                r = f.rules[a]
                if r.op == "pseudonym":
                    out.add(r.args[0] if r.args else self.settings.pseudonym_namespace)
        return out


def _plain_kind(k: RecordKind) -> RecordKind:
    fields = tuple(
        dataclasses.replace(f, rules={a: Rule(r.op, tuple(r.args)) for a, r in f.rules.items()})
        for f in k.fields
    )
    return dataclasses.replace(
        k,
        fields=fields,
        class_requires={c: tuple(v) for c, v in k.class_requires.items()},
        withhold=frozenset(k.withhold),
    )


def match_kind(policy: Policy, header: Sequence[str], *, kind: str | None, file: str) -> RecordKind:
    """Find the kind whose layout fits ``header`` (or check the given one); refuse unclassified
    columns and missing required ones before anything is read (docs/policy.md §5)."""
    candidates = [policy.kind(kind)] if kind else list(policy.kinds.values())
    best: tuple[int, RecordKind] | None = None
    for k in candidates:
        score = sum(1 for c in header if c in k.columns)
        if best is None or score > best[0]:
            best = (score, k)
    if best is None or best[0] == 0:
        raise InputError(
            "the header matches no record kind of the policy",
            location=Location(file, 1),
            hint=f"known kinds: {', '.join(policy.kinds)}; pass --kind, or check the column names "
            "against `xinan policy show`",
        )
    k = best[1]
    unknown = [c for c in header if c not in k.columns and policy.prohibited_column(c) is None]
    if unknown:
        raise InputError(
            f"column(s) not in the catalogue for kind {k.name!r}: {', '.join(unknown)} — an "
            "unclassified field cannot be collected (数据安全法 第二十一条)",
            location=Location(file, 1, unknown[0]),
            hint="remove the column from the export, or classify it in the policy "
            "(docs/policy.md §5)",
        )
    missing = [f.name for f in k.fields if f.required and f.name not in header]
    if missing:
        raise InputError(
            f"required column(s) missing for kind {k.name!r}: {', '.join(missing)}",
            location=Location(file, 1),
            hint="export these columns, or pass --kind if the file is of another kind",
        )
    return k


def compile_plan(policy: Policy, spec: JobSpec) -> Plan:
    """Compile ``policy`` for one file (``spec.header``) into a :class:`Plan`.

    Raises InputError when the header fits no kind (or has unclassified columns) and
    UsageError for an unknown audience, or a policy that withholds a kind from submission
    when sealing."""
    k = match_kind(policy, spec.header, kind=spec.kind, file=spec.file)
    for a in spec.audiences:
        if a not in policy.audiences:
            raise UsageError(
                f"unknown audience {a!r}", hint=f"known: {', '.join(policy.audiences)}"
            )
    if spec.seal and "submission" in k.withhold:
        raise InputError(f"the policy withholds {k.name} from submission")
    index = {c: i for i, c in enumerate(spec.header)}
    prohibited: list[tuple[int, str, str, str]] = []
    for i, col in enumerate(spec.header):
        if col in k.columns:
            continue
        cat = policy.prohibited_column(col)
        if cat is not None:
            prohibited.append((i, col, cat.id, cat.label))
    return Plan(
        version=PLAN_VERSION,
        spec=dataclasses.replace(spec, kind=k.name, audiences=tuple(spec.audiences)),
        kind=_plain_kind(k),
        settings=policy.settings,
        subject_classes=tuple(policy.subject_classes.items()),
        source_index=tuple(index.get(c) for c in k.columns),
        prohibited=tuple(prohibited),
        audiences=tuple(spec.audiences),
        policy_label=policy.label,
        policy_id=policy.id,
        policy_version=policy.version,
    )


def fixed_class(kind: RecordKind) -> SubjectClass | None:
    return {"natural": SubjectClass.NATURAL, "legal": SubjectClass.LEGAL}.get(kind.subject)


def is_name_type(f: FieldSpec) -> bool:
    return f.type in (FieldType.PERSON_NAME, FieldType.PARTY_NAME)
