"""What the platform checks in a submission before it stores a record (docs/vault.md §5.1).

The platform does not trust the provider's tool: it applies the *same* policy, through the
*same* rules, to what arrives. Two levels:

* **the package's layout** (its header's ``clear_fields`` and ``sealed_fields``) against the
  kind: an unclassified column (数据安全法 第二十一条) or a prohibited one (征信业管理条例
  第十四条) is refused; a field the policy seals MUST arrive sealed, and nothing the policy
  drops from the submission view may travel in clear. A layout problem refuses every record of
  the package (nothing is stored).
* **each record**: its values — the clear part, and the sealed values opened in memory — go
  through the provider's own validation (:func:`xinan.engine.validate.validate`: check characters of
  resident IDs and credit codes, real calendar dates, amounts ≥ 0, enumerations, required and
  class-required fields, consent-gated fields), and the clear part MUST be exactly what the
  policy's ``submission`` view makes of the validated record (a clear twin such as a birth
  year or a district is recomputed from its sealed original by the engine's own masker,
  :class:`xinan.engine.mask.AudienceMasker`). A failing record is rejected
  with the field and the reason; the others are stored.

There is one copy of each rule: the engine's (:mod:`xinan.engine.validate`,
:mod:`xinan.engine.mask`). This module only maps a package onto it. Reasons never hold a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xinan.engine import JobSpec, compile_plan, mask_context
from xinan.engine.mask import AudienceMasker
from xinan.engine.plan import Plan
from xinan.engine.validate import validate
from xinan.errors import IntegrityError
from xinan.policy.catalogue import Policy, RecordKind

# Submission rules whose output cannot be recomputed from the stored record: free text is
# scrubbed by the provider from the original, which the platform never sees (a scrubbed text
# is still type-checked); a pseudonym needs the provider's key.
_NOT_RECOMPUTED = frozenset({"scrub", "pseudonym"})

Problem = tuple[str | None, str]  # (field, reason)
_NOT_THE_VIEW = "the clear value is not the policy's submission form of the record (rule "


def _column_problem(policy: Policy, kind: RecordKind, name: str) -> str:
    cat = policy.prohibited_column(name)
    if cat is not None:
        return f"prohibited:{cat.id} — {cat.label} must not be collected (征信业管理条例 第十四条)"
    return (
        f"unclassified: not in the catalogue for kind {kind.name!r} — an unclassified field "
        "cannot be collected (数据安全法 第二十一条)"
    )


def layout_problems(
    policy: Policy, kind: RecordKind, clear: Sequence[str], sealed: Sequence[str]
) -> list[Problem]:
    """Everything wrong with a package's layout for ``kind`` under ``policy``, in header order
    (clear fields, then sealed fields, then fields missing). Empty: the layout is the policy's."""
    out: list[Problem] = []
    cols = kind.columns
    for where, names in (("clear", clear), ("sealed", sealed)):
        if len(set(names)) != len(names):
            dup = next(n for n in names if list(names).count(n) > 1)
            out.append((dup, f"named twice in the package's {where} part"))
    for name in clear:
        if name not in cols:
            out.append((name, _column_problem(policy, kind, name)))
            continue
        f = kind.fields[kind.index(name)]
        if f.rules["submission"].op == "drop":
            out.append(
                (
                    name,
                    "must arrive sealed: the policy seals it and keeps no clear form of it in "
                    "the submission view"
                    if f.sealed
                    else "the policy drops it from the submission view: it must not be sent",
                )
            )
    for name in sealed:
        if name not in cols:
            out.append((name, _column_problem(policy, kind, name)))
        elif not kind.fields[kind.index(name)].sealed:
            out.append((name, "sealed, but the policy keeps it in clear in the submission view"))
    for f in kind.fields:
        if f.sealed and f.name not in sealed:
            out.append((f.name, "missing from the sealed part: the policy seals it"))
        elif f.rules["submission"].op != "drop" and f.name not in clear:
            out.append((f.name, "missing from the clear part of the submission view"))
    return out


class RecordCheck:
    """The per-record check of one package (layout already accepted): compiled once, then
    :meth:`check` per batch."""

    def __init__(
        self,
        policy: Policy,
        kind: RecordKind,
        clear: Sequence[str],
        sealed: Sequence[str],
        *,
        today: date,
        file: str,
    ) -> None:
        sealed_set = set(sealed)
        self.header = tuple(f.name for f in kind.fields if f.name in sealed_set or f.name in clear)
        # where each header column comes from: ("s", i) sealed value i, ("c", i) clear value i
        cpos = {n: i for i, n in enumerate(clear)}
        spos = {n: i for i, n in enumerate(sealed)}
        self._source = [("s", spos[n]) if n in sealed_set else ("c", cpos[n]) for n in self.header]
        ops = {f.name: f.rules["submission"].op for f in kind.fields}
        # Clear columns compared with the submission view of the validated record. Rule
        # `clear`: the view is the validated value itself (no masking needed). Any other rule
        # the platform can recompute (a clear twin: year, district, keep …): the engine's own
        # masker computes it.
        kidx = {f.name: i for i, f in enumerate(kind.fields)}
        self._direct = [
            (cpos[n], kidx[n], self.header.index(n), n)
            for n in clear
            if ops[n] == "clear" and n not in sealed_set
        ]
        twins = [n for n in clear if ops[n] not in _NOT_RECOMPUTED and ops[n] != "clear"]
        twins += [n for n in clear if ops[n] == "clear" and n in sealed_set]
        self.plan: Plan = compile_plan(
            policy,
            JobSpec(
                header=self.header,
                audiences=("submission",) if twins else (),
                kind=kind.name,
                today=today,
                file=file,
            ),
        )
        self._masker = (
            AudienceMasker(self.plan, "submission", mask_context(self.plan)) if twins else None
        )
        out_cols = self.plan.columns("submission")
        self._twins = [(cpos[n], out_cols.index(n), n, ops[n]) for n in twins]

    def check(
        self, clear_rows: Sequence[Sequence[str]], sealed_rows: Sequence[Sequence[str]]
    ) -> list[tuple[int, str | None, str]]:
        """The rejected records of a batch: (index in the batch, field, reason), in order."""
        n = len(clear_rows)
        if n == 0:
            return []
        arrays = []
        for src, i in self._source:
            rows = sealed_rows if src == "s" else clear_rows
            arrays.append(pa.array([r[i] for r in rows], type=pa.string()))
        batch = pa.RecordBatch.from_arrays(arrays, names=list(self.header))
        checked = validate(self.plan, batch)  # the provider's rules (xinan.engine.validate)
        found: dict[int, tuple[str | None, str]] = {i: (c, r) for i, c, r in checked.rejects}
        ok = ~checked.rejected
        for _cp, ki, hi, name in self._direct:
            same = pc.fill_null(pc.equal(arrays[hi], checked.columns[ki]), False)
            for i in np.flatnonzero(ok & ~same.to_numpy(zero_copy_only=False)).tolist():
                if i not in found:
                    found[i] = (name, _NOT_THE_VIEW + "clear)")
        if self._masker is not None and self._twins:
            valid = np.flatnonzero(ok)
            out = self._masker.apply(checked)
            if out.num_rows != len(valid):  # a kind withheld from submission is never sealed
                raise IntegrityError("the submission view withheld records of a sealed kind")
            for cp, j, name, op in self._twins:
                want = out.column(j).to_pylist()
                for k, i in enumerate(valid.tolist()):
                    if i not in found and clear_rows[i][cp] != want[k]:
                        found[i] = (name, _NOT_THE_VIEW + f"{op})")
        return sorted((i, c, r) for i, (c, r) in found.items())
