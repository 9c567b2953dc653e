"""Per-audience views: the policy's rules compiled once into a View, the hot path that masks one
record for one audience, with the output guard.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from xinan.errors import KeyringError, UsageError
from xinan.identifiers import (
    IdKind,
)
from xinan.masking.operators import (
    _SHAPES,
    Op,
    _split_name,
    op_band,
    op_clear,
    op_date_part,
    op_district,
    op_keep,
    op_mask_range,
    op_name,
    op_pseudonym,
    op_redact,
    scrub_text,
)
from xinan.masking.pseudonyms import Pseudonymizer
from xinan.policy.catalogue import FieldSpec, FieldType, Policy, RecordKind, Rule, SubjectClass
from xinan.shapes import has_shape

# --------------------------------------------------------------------------------------------
# Views


@dataclass
class MaskStats:
    """What masking did, for the job summary (no values, only counts)."""

    scrubbed: int = 0  # identifiers replaced inside free text
    guarded: int = 0  # identifiers caught by the final guard scan (in the wrong column)


@dataclass(frozen=True)
class MaskContext:
    """What a view needs from outside: keys for pseudonyms and today's date (for detection)."""

    today: date
    pseudonymizers: Mapping[str, Pseudonymizer] = field(default_factory=dict)
    default_pseudonymizer: Pseudonymizer | None = None

    def pseudonymizer(self, namespace: str) -> Pseudonymizer:
        key = self.pseudonymizers.get(namespace, self.default_pseudonymizer)
        if key is None:
            raise KeyringError(
                f"the policy asks for keyed pseudonyms (namespace {namespace!r}) but no "
                "pseudonym key was given",
                hint="create one with `xinan keygen --id subject-ps --role pseudonym --suite intl`"
                " and pass --pseudonym-key subject-ps",
            )
        return key


def compile_op(
    f: FieldSpec,
    rule: Rule,
    cls: SubjectClass,
    mask: str,
    default_namespace: str,
    ctx: MaskContext,
) -> Op:
    """The operator of one rule for one field and subject class (docs/policy.md §7); ``scrub``
    needs the record's names and is compiled by its caller (:class:`View`, the batch engine)."""
    op = rule.op
    shape = _SHAPES.get(f.type)
    if op == "clear":
        return op_clear()
    if op == "redact":
        return op_redact(mask)
    if op == "keep":
        a, b = rule.int_args()
        return op_keep(a, b, mask, shape)
    if op == "mask":
        a, b = rule.int_args()
        return op_mask_range(a, b, mask, shape)
    if op == "name":
        return op_name(rule.args[0], mask, f.type, cls)
    if op in ("year", "month"):
        return op_date_part(op, mask)
    if op == "district":
        return op_district(mask)
    if op == "band":
        return op_band(rule.args, mask)
    if op == "pseudonym":
        ns = rule.args[0] if rule.args else default_namespace
        return op_pseudonym(ctx.pseudonymizer(ns), ns)
    raise UsageError(f"operator {op!r} cannot be compiled for {f.name}")  # parse_rule guards


# Types scanned by the guard; typed identifiers, dates and amounts were validated as such.
_GUARD_SKIP = frozenset({FieldType.USCC, FieldType.DATE, FieldType.AMOUNT, FieldType.INTEGER})
_GUARD_KINDS = frozenset(
    {
        IdKind.RESIDENT_ID,
        IdKind.MOBILE,
        IdKind.FIXED_PHONE,
        IdKind.BANK_CARD,
        IdKind.EMAIL,
        IdKind.DIGIT_RUN,
    }
)


def _pick_list(indices: Sequence[int]) -> Callable[[Sequence[str]], Sequence[str]]:
    return lambda row: tuple(row[j] for j in indices)


def _runner(
    ops: tuple[Op, ...], pick: Callable[[Sequence[str]], Sequence[str]]
) -> Callable[[Sequence[str]], list[str]]:
    """One closure per (view, subject class): the hot loop with nothing looked up per record."""

    def run(values: Sequence[str]) -> list[str]:
        # ops and picked columns have the same length by construction
        return [op(v, values) for op, v in zip(ops, pick(values), strict=False)]

    return run


class View:
    """One record kind as one audience sees it, compiled from the policy.

    ``apply(values)`` takes a validated row in the kind's column order and returns the output
    row (columns as in :attr:`columns`), or ``None`` when the record is withheld from this
    audience.
    """

    def __init__(self, policy: Policy, kind: RecordKind, audience: str, ctx: MaskContext):
        if audience not in policy.audiences:
            raise UsageError(
                f"unknown audience {audience!r}", hint=f"known: {', '.join(policy.audiences)}"
            )
        self.policy = policy
        self.kind = kind
        self.audience = audience
        self.ctx = ctx
        self.stats = MaskStats()
        mask = policy.settings.mask_char
        kept = [f for f in kind.fields if f.rules[audience].op != "drop"]
        self.columns: tuple[str, ...] = tuple(f.name for f in kept)
        self._indices = [kind.index(f.name) for f in kept]
        # -1 only for natural/legal kinds, whose class is fixed (policy check guarantees it)
        self._class_index = kind.index(kind.class_field) if kind.class_field else -1
        self._name_indices = [
            kind.index(f.name) for f in kind.fields if f.type in (FieldType.PERSON_NAME,)
        ]
        self._party_indices = [
            kind.index(f.name) for f in kind.fields if f.type is FieldType.PARTY_NAME
        ]
        # Organisation columns. The scrub operator reads only these three lists of the row
        # (the batch engine hands it just those values: xinan/engine/mask.py).
        self._org_indices = [
            kind.index(f.name) for f in kind.fields if f.type is FieldType.ORG_NAME
        ]
        self._withheld_classes: frozenset[SubjectClass] = frozenset(
            SubjectClass
            if audience in kind.withhold
            else (
                {SubjectClass.NATURAL}
                if audience == "public" and not policy.settings.public_natural_persons
                else set()
            )
        )
        self._plans: dict[SubjectClass, tuple[Op, ...]] = {
            cls: tuple(self._compile(f, f.rules[audience], cls, mask) for f in kept)
            for cls in SubjectClass
        }
        # Picks the kept columns at C speed; a 1-column view still gets a tuple.
        self._pick: Callable[[Sequence[str]], Sequence[str]] = (
            operator.itemgetter(*self._indices)
            if len(self._indices) > 1
            else _pick_list(self._indices)
        )
        self._runners = {cls: _runner(ops, self._pick) for cls, ops in self._plans.items()}
        self._guard = audience in policy.settings.guard_audiences
        self._guard_positions = [
            (pos, f.type is FieldType.CODE)
            for pos, f in enumerate(kept)
            if f.type not in _GUARD_SKIP
        ]
        if kind.subject == "natural":
            self._fixed_class: SubjectClass | None = SubjectClass.NATURAL
        elif kind.subject == "legal":
            self._fixed_class = SubjectClass.LEGAL
        else:
            self._fixed_class = None

    # -- compile ----------------------------------------------------------------------------
    def _compile(self, f: FieldSpec, rule: Rule, cls: SubjectClass, mask: str) -> Op:
        if rule.op == "scrub":
            return self._scrubber(rule.args[0] if rule.args else "tag", mask, cls)
        return compile_op(f, rule, cls, mask, self.policy.settings.pseudonym_namespace, self.ctx)

    def _scrubber(self, form: str, mask: str, cls: SubjectClass) -> Op:
        """The ``scrub`` operator for one text column and subject class.

        Every identifier *shape* goes (xinan.shapes). A person of the record (法定代表人, or the
        party when it is not a legal person) is shown in the text exactly as this view shows
        that person's own column: clear where the policy shows the column clear (双公示 legal
        representatives in ``public``), 张** where it masks it, the marker where the view drops
        the column. So one row never masks a name in its text and prints it in a column, nor
        the reverse (issue 11). The party's organisation name stays whole (an authority's name,
        an ``org_name``, does not begin with a person's name, so it is not looked for).
        """
        today = self.ctx.today
        stats = self.stats
        # The policy's own rules decide how a person is shown, even when the caller compiles a
        # kind with some columns dropped because they are computed elsewhere (the Spark stage
        # runs `clear`/`keep` columns as native SQL: xinan/spark/stage.py, python_kind).
        # (The batch engine hands a policy shim without kinds: xinan/engine/mask.py.)
        kinds = getattr(self.policy, "kinds", None)
        own = kinds.get(self.kind.name, self.kind) if isinstance(kinds, Mapping) else self.kind
        own_columns = frozenset(own.columns)
        fields = [own.field(f.name) if f.name in own_columns else f for f in self.kind.fields]
        people: list[tuple[int, Op | None, bool]] = []  # (index, column op or None, name check)
        orgs: list[tuple[int, bool]] = []  # (index, only when not a personal name)
        for i in self._name_indices:
            people.append((i, self._column_op(fields[i], cls, mask), False))
        for i in self._party_indices:
            if cls is SubjectClass.LEGAL:
                orgs.append((i, False))
            elif cls is SubjectClass.INDIVIDUAL_BUSINESS:
                # registered under the operator's own name (a person) or a shop name (an org)
                people.append((i, self._column_op(fields[i], cls, mask), True))
                orgs.append((i, True))
            else:
                people.append((i, self._column_op(fields[i], cls, mask), False))

        def scrub(v: str, row: Sequence[str]) -> str:
            # only the record's names that occur in this text matter (and keep the cache hot)
            names: list[str] = []
            render: dict[str, str] = {}
            for i, op, check in people:
                n = row[i]
                if len(n) < 2 or n not in v:
                    continue
                n = n.strip()
                if check and not _split_name(n):
                    continue
                names.append(n)
                if op is not None:
                    shown = op(n, row)
                    if render.get(n, n) == n:
                        render[n] = shown  # two columns, two rules: the masked one wins
            org_names: list[str] = []
            for i, check in orgs:
                o = row[i]
                if len(o) >= 2 and o in v and not (check and _split_name(o)):
                    org_names.append(o.strip())
            out, c = scrub_text(
                v, today=today, names=names, orgs=org_names, form=form, mask=mask, render=render
            )
            stats.scrubbed += c
            return out

        return scrub

    def _column_op(self, f: FieldSpec, cls: SubjectClass, mask: str) -> Op | None:
        """What the policy's rule for this audience does to column ``f`` for this subject class
        (None: dropped, or free text)."""
        rule = f.rules[self.audience]
        if rule.op in {"drop", "scrub"}:
            return None
        return self._compile(f, rule, cls, mask)

    # -- apply ------------------------------------------------------------------------------
    def subject_class(self, values: Sequence[str]) -> SubjectClass:
        if self._fixed_class is not None:
            return self._fixed_class
        return self.policy.subject_classes[values[self._class_index]]

    def apply(self, values: Sequence[str], cls: SubjectClass | None = None) -> list[str] | None:
        if cls is None:
            cls = self._fixed_class or self.policy.subject_classes[values[self._class_index]]
        if cls in self._withheld_classes:
            return None
        out = self._runners[cls](values)
        if self._guard:
            self._guard_scan(out)
        return out

    def apply_batch(
        self, rows: Sequence[Sequence[str]], classes: Sequence[SubjectClass] | None = None
    ) -> list[list[str] | None]:
        """Mask many rows at once: the same result as ``[apply(r) for r in rows]``, faster.

        Works column by column (one C-level ``map`` per output column over the batch), so the
        per-record cost is close to that of hand-written slicing. ``classes`` gives each row's
        subject class when the caller already knows it (the provider's validator does).
        """
        if not rows:
            return []
        if classes is None:
            if self._fixed_class is not None:
                classes = [self._fixed_class] * len(rows)
            else:
                ci, table = self._class_index, self.policy.subject_classes
                classes = [table[r[ci]] for r in rows]
        first = classes[0]
        if all(c is first for c in classes):  # the common case: one plan for the whole batch
            groups: dict[SubjectClass, list[int]] = {first: list(range(len(rows)))}
        else:
            groups = {}
            for i, c in enumerate(classes):
                groups.setdefault(c, []).append(i)
        out: list[list[str] | None] = [None] * len(rows)
        for cls, idxs in groups.items():
            if cls in self._withheld_classes:
                continue
            sub = rows if len(idxs) == len(rows) else [rows[i] for i in idxs]
            cols = [
                list(map(op, map(operator.itemgetter(j), sub), sub))
                for op, j in zip(self._plans[cls], self._indices, strict=True)
            ]
            for i, masked in zip(idxs, zip(*cols, strict=True), strict=True):
                row_out = list(masked)
                if self._guard:
                    self._guard_scan(row_out)
                out[i] = row_out
        return out

    def _guard_scan(self, out: list[str]) -> None:
        """Last line of defence for guard audiences (docs/policy.md §2): no resident ID, phone,
        bank card or e-mail leaves in any column, whatever column it was typed into; by shape
        (xinan.shapes), except in document numbers (文号), where only what validates is taken
        out (a 16-digit traffic decision number is not a card)."""
        if not has_shape("\x1f".join(out), codes=False):
            return
        mask = self.policy.settings.mask_char
        for pos, strict in self._guard_positions:
            v = out[pos]
            if v and has_shape(v, codes=False):
                new, n = scrub_text(
                    v, today=self.ctx.today, kinds=_GUARD_KINDS, mask=mask, shapes=not strict
                )
                if n:
                    out[pos] = new
                    self.stats.guarded += n


def compile_views(
    policy: Policy, kind: RecordKind, audiences: Sequence[str], ctx: MaskContext
) -> dict[str, View]:
    return {a: View(policy, kind, a, ctx) for a in audiences}


def audiences_needing_pseudonyms(
    policy: Policy, kind: RecordKind, audiences: Sequence[str]
) -> set[str]:
    """Namespaces of the pseudonym keys these views will need (to ask for keys up front)."""
    out: set[str] = set()
    for f in kind.fields:
        for a in audiences:
            r = f.rules[a]
            if r.op == "pseudonym":
                out.add(r.args[0] if r.args else policy.settings.pseudonym_namespace)
    return out
