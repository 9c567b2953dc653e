"""Column-wise masking of validated batches, one audience at a time (docs/policy.md §7).

Each output column is computed over the whole batch. ``clear``, ``redact``, ``keep`` and
``mask`` run as Arrow string kernels, with the same fail-closed rules as their scalar
definitions in :mod:`xinan.masking`; every other operator runs its scalar definition once per
distinct value of the column (names, dates, districts, bands and pseudonyms repeat heavily);
``scrub`` runs per value, since it depends on the record's own names. The guard of guard
audiences (docs/policy.md §2) then rescans the columns that can still hold an identifier.

Rows withheld from the audience (their subject class) are left out; the rest keep their order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xinan.engine.plan import Plan
from xinan.engine.validate import CLASSES, Validated
from xinan.masking import (
    MaskContext,
    Op,
    View,
    compile_op,
)
from xinan.masking.operators import _SHAPES
from xinan.masking.pseudonyms import Pseudonymizer, pseudonyms
from xinan.policy import FieldSpec, FieldType, Policy, Rule, SubjectClass
from xinan.shapes import maybe_shaped

_STRING = pa.string()


@dataclass
class ColumnOp:
    """One operator on one column. ``key`` tells equal operators apart (same key, same
    result), so a column whose rule does not depend on the subject class runs once."""

    key: tuple[object, ...]
    run: Callable[[pa.StringArray, np.ndarray], pa.StringArray]
    # run(values, row positions in the batch) -> masked values


def _repeat(mask: str, n: pa.Array) -> pa.StringArray:
    return pc.binary_repeat(pa.array([mask] * len(n), type=_STRING), n)


def _shape_ok(n: pa.Array, shape: frozenset[int] | None) -> pa.BooleanArray:
    if shape is None:
        return pa.array(np.ones(len(n), dtype=bool))
    return pc.is_in(n, value_set=pa.array(sorted(shape), type=n.type))


def vec_keep(first: int, last: int, mask: str, shape: frozenset[int] | None):  # type: ignore[no-untyped-def]
    """masking.op_keep over a column: mask whole when fewer than a third would be hidden or
    the value is not of its type's shape."""

    def run(v: pa.StringArray, rows: np.ndarray) -> pa.StringArray:
        n = pc.utf8_length(v)
        hidden = pc.subtract(n, first + last)
        whole = pc.or_(pc.less(pc.multiply(hidden, 3), n), pc.invert(_shape_ok(n, shape)))
        head = pc.utf8_slice_codeunits(v, 0, first)
        tail = pc.utf8_slice_codeunits(v, -last) if last else pa.array([""] * len(v), type=_STRING)
        middle = _repeat(mask, pc.max_element_wise(hidden, 0))
        kept = pc.binary_join_element_wise(head, middle, tail, "")
        return pc.if_else(whole, _repeat(mask, n), kept)

    return run


def vec_mask_range(start: int, end: int, mask: str, shape: frozenset[int] | None):  # type: ignore[no-untyped-def]
    """masking.op_mask_range over a column (characters start..end, 1-based, inclusive)."""
    lo = start - 1

    def run(v: pa.StringArray, rows: np.ndarray) -> pa.StringArray:
        n = pc.utf8_length(v)
        hi = pc.min_element_wise(n, end)
        hidden = pc.subtract(hi, lo)
        whole = pc.or_(
            pc.or_(pc.less(pc.multiply(hidden, 3), n), pc.less_equal(hidden, 0)),
            pc.invert(_shape_ok(n, shape)),
        )
        head = pc.utf8_slice_codeunits(v, 0, lo)
        tail = pc.if_else(
            pc.greater_equal(n, end),
            pc.utf8_slice_codeunits(v, end),
            pa.array([""] * len(v), type=_STRING),
        )
        middle = _repeat(mask, pc.max_element_wise(hidden, 0))
        kept = pc.binary_join_element_wise(head, middle, tail, "")
        return pc.if_else(whole, _repeat(mask, n), kept)

    return run


def per_distinct(op: Op):  # type: ignore[no-untyped-def]
    """A row-independent scalar operator, run once per distinct value of the column."""

    def run(v: pa.StringArray, rows: np.ndarray) -> pa.StringArray:
        if len(v) == 0:
            return v
        enc = pc.dictionary_encode(v)
        masked = pa.array([op(x, ()) for x in enc.dictionary.to_pylist()], type=_STRING)
        return masked.take(enc.indices)

    return run


def vec_pseudonym(key: Pseudonymizer, namespace: str):  # type: ignore[no-untyped-def]
    """masking.op_pseudonym over a column: each distinct value's keyed pseudonym once."""

    def run(v: pa.StringArray, rows: np.ndarray) -> pa.StringArray:
        if len(v) == 0:
            return v
        enc = pc.dictionary_encode(v)
        made = pseudonyms(key, namespace, enc.dictionary.to_pylist())
        return pa.array(made, type=_STRING).take(enc.indices)

    return run


@dataclass(frozen=True)
class _PlanPolicy:
    """What :class:`xinan.masking.View` reads from a policy, taken from a plan."""

    audiences: tuple[str, ...]
    settings: object
    subject_classes: dict[str, SubjectClass]


class AudienceMasker:
    """The compiled view of one audience over a plan's kind.

    The scalar definitions are :class:`xinan.masking.View`'s (one definition of every rule):
    ``scrub`` is the view's own operator, called per value with the record's row, and the
    guard is the view's own scan, called per output row. Only ``clear``, ``redact``, ``keep``
    and ``mask`` run as Arrow kernels, and other operators once per distinct value."""

    def __init__(self, plan: Plan, audience: str, ctx: MaskContext) -> None:
        self.plan = plan
        self.audience = audience
        self.ctx = ctx
        shim = _PlanPolicy(
            audiences=tuple(a for a in (*plan.audiences, audience)),
            settings=plan.settings,
            subject_classes=dict(plan.subject_classes),
        )
        self.view = View(cast(Policy, shim), plan.kind, audience, ctx)
        k = plan.kind
        mask = plan.settings.mask_char
        self.kept: list[tuple[int, FieldSpec]] = [
            (i, f) for i, f in enumerate(k.fields) if f.rules[audience].op != "drop"
        ]
        self.columns = tuple(f.name for _, f in self.kept)
        self.withheld = {i for i, c in enumerate(CLASSES) if c in plan.withheld_classes(audience)}
        self._names = [i for i, f in enumerate(k.fields) if f.type is FieldType.PERSON_NAME]
        self._parties = [i for i, f in enumerate(k.fields) if f.type is FieldType.PARTY_NAME]
        self.ops: list[dict[int, ColumnOp]] = [
            {ci: self._compile(f, f.rules[audience], c, mask, pos) for ci, c in enumerate(CLASSES)}
            for pos, (_, f) in enumerate(self.kept)
        ]
        self.guard = audience in plan.settings.guard_audiences
        self._data: Validated | None = None

    def _compile(
        self, f: FieldSpec, rule: Rule, cls: SubjectClass, mask: str, pos: int
    ) -> ColumnOp:
        shape = _SHAPES.get(f.type)
        op = rule.op
        if op == "clear":
            return ColumnOp(("clear",), lambda v, rows: v)
        if op == "redact":
            return ColumnOp(("redact",), lambda v, rows: _repeat(mask, pc.utf8_length(v)))
        if op == "keep":
            a, b = rule.int_args()
            return ColumnOp(("keep", a, b), vec_keep(a, b, mask, shape))
        if op == "mask":
            a, b = rule.int_args()
            return ColumnOp(("mask", a, b), vec_mask_range(a, b, mask, shape))
        if op == "scrub":
            return self._scrubber(rule.args[0] if rule.args else "tag", mask, cls, pos)
        if op == "pseudonym":  # masking.op_pseudonym over the column's distinct values
            ns = rule.args[0] if rule.args else self.plan.settings.pseudonym_namespace
            return ColumnOp(("pseudonym", ns), vec_pseudonym(self.ctx.pseudonymizer(ns), ns))
        scalar = compile_op(f, rule, cls, mask, self.plan.settings.pseudonym_namespace, self.ctx)
        class_bound = op == "name" and f.type is FieldType.PARTY_NAME
        return ColumnOp((op, rule.args, cls if class_bound else None), per_distinct(scalar))

    def _scrubber(self, form: str, mask: str, cls: SubjectClass, pos: int) -> ColumnOp:
        op = self.view._plans[cls][pos]  # the view's own scrub operator for this column

        # The operator reads only the record's people and organisations (row[i] for these i):
        # each record is handed over as {i: value} for them, not as its whole row (a rule that
        # read another column would fail loudly with a KeyError, never pass a value through).
        view = self.view
        needed = sorted({*view._name_indices, *view._party_indices, *view._org_indices})

        def run(v: pa.StringArray, rows: np.ndarray) -> pa.StringArray:
            if len(v) != len(rows):  # pragma: no cover - internal misuse
                raise ValueError("scrub: one row index per value")
            if len(v) == 0:
                return v
            # Prefilter (xinan.shapes.maybe_shaped): a text with no identifier shape, no name
            # cue and none of the record's own names (people or organisations, 2 characters
            # or more) is one the operator returns unchanged; only the others go through it.
            todo = maybe_shaped(v, codes=True, cues=True)
            # a name of 2 characters or more can hide only in a text of 2 or more (an empty
            # remark, the common case, is never converted to Python at all)
            fits = pc.fill_null(pc.greater_equal(pc.utf8_length(v), 2), False)
            cand = np.flatnonzero(~todo & np.asarray(fits.to_numpy(zero_copy_only=False)))
            if not len(cand) and not todo.any():
                return v
            data = self._data
            assert data is not None  # set by apply()
            row_list = rows.tolist()
            fulls = [data.pylist(i) for i in needed]
            for j, t in zip(cand.tolist(), v.take(pa.array(cand)).to_pylist(), strict=True):
                r = row_list[j]
                if any(len(n) >= 2 and n in t for n in (full[r] for full in fulls)):
                    todo[j] = True
            idx = np.flatnonzero(todo)
            if idx.size == 0:
                return v
            out = []
            texts = (v if idx.size == len(v) else v.take(pa.array(idx))).to_pylist()
            for j, text in zip(idx.tolist(), texts, strict=True):
                r = row_list[j]
                record = {i: full[r] for i, full in zip(needed, fulls, strict=True)}
                out.append(op(text, record))  # type: ignore[arg-type]  # read as row[i] only
            if idx.size == len(v):
                return pa.array(out, type=_STRING)
            return _patch(v, idx, out)

        return ColumnOp(("scrub", form, cls), run)

    @property
    def scrubbed(self) -> int:
        return int(self.view.stats.scrubbed)

    @property
    def guarded(self) -> int:
        return int(self.view.stats.guarded)

    def shown(self, classes: np.ndarray) -> np.ndarray:
        """Which rows (by subject class code; -1 rejected) the audience is shown."""
        visible = classes >= 0
        for c in self.withheld:
            visible &= classes != c
        return visible

    def apply(self, data: Validated) -> pa.RecordBatch:
        """The audience's output rows (withheld and rejected rows left out), in order."""
        classes = data.classes
        rows = np.flatnonzero(self.shown(classes))
        self._data = data
        take = pa.array(rows)
        present = sorted({int(c) for c in np.unique(classes[rows])})
        groups = {c: np.flatnonzero(classes[rows] == c) for c in present}
        out: list[pa.StringArray] = []
        for (src, _f), ops in zip(self.kept, self.ops, strict=True):
            values = data.columns[src].take(take)
            keys = {ops[c].key for c in present}
            if len(keys) <= 1:
                op = ops[present[0]] if present else ops[0]
                out.append(op.run(values, rows))
                continue
            parts = []
            order = []
            for c in present:
                g = groups[c]
                parts.append(ops[c].run(values.take(pa.array(g)), rows[g]))
                order.append(g)
            joined = pa.concat_arrays(parts)
            inverse = np.argsort(np.concatenate(order), kind="stable")
            out.append(joined.take(pa.array(inverse)))
        if self.guard and rows.size:
            out = self._guard(out)
        self._data = None
        return pa.RecordBatch.from_arrays(out, names=list(self.columns))

    def _guard(self, out: list[pa.StringArray]) -> list[pa.StringArray]:
        """docs/policy.md §2, by the view's own scan (``View._guard_scan``).

        The scan changes a guarded column only where that value has an identifier shape
        (``xinan.shapes.has_shape`` without codes), whatever the other columns hold. So each
        guarded column is scanned on its own: the values :func:`xinan.shapes.maybe_shaped`
        flags (a superset of ``has_shape``, one Arrow pass) go through the scan, each distinct
        value once, alone in an otherwise empty row; the others cannot change. The guard count
        is the scan's count times the value's occurrences, as scanning each row would give."""
        width = len(out)
        scan = self.view._guard_scan
        stats = self.view.stats
        result = list(out)
        for p in sorted({pos for pos, _strict in self.view._guard_positions}):
            col = out[p]
            maybe = maybe_shaped(col, codes=False)
            if not maybe.any():
                continue
            idx = np.flatnonzero(maybe)
            values = col.take(pa.array(idx)).to_pylist()
            seen: dict[str, tuple[str, int]] = {}
            new_idx: list[int] = []
            new_vals: list[str] = []
            for j, v in zip(idx.tolist(), values, strict=True):
                hit = seen.get(v)
                if hit is None:
                    row = [""] * width
                    row[p] = v
                    before = stats.guarded
                    scan(row)
                    hit = seen[v] = (row[p], stats.guarded - before)
                else:
                    stats.guarded += hit[1]
                if hit[0] != v:
                    new_idx.append(j)
                    new_vals.append(hit[0])
            if new_idx:
                result[p] = _patch(col, np.asarray(new_idx), new_vals)
        return result


def _patch(arr: pa.StringArray, idx: np.ndarray, values: list[str]) -> pa.StringArray:
    """``arr`` with the values at positions ``idx`` (ascending) replaced by ``values``."""
    mask = np.zeros(len(arr), dtype=bool)
    mask[idx] = True
    # replace_with_mask takes the replacements in the order of the True positions
    return pc.replace_with_mask(arr, pa.array(mask), pa.array(values, type=_STRING))
