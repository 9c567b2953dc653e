"""An independent, row-at-a-time reference of the provider's validation (test oracle).

This is the loop `xinan.provider` ran before the batch engine replaced it (issue 13): one row
through the scalar checks, first failure wins. The library has one validate-and-reject loop,
the engine's (`xinan/engine/validate.py`); the tests hold the engine — and the golden files
(`tests/golden/make_mask_golden.py`) — to this second implementation of the same rules. The
scalar checks themselves are the engine's (`xinan/engine/rules.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from xinan.engine.rules import BAD_RESIDENT_ID as _BAD_RESIDENT_ID
from xinan.engine.rules import ID_OTHER, RESIDENT_ID_DOC_TYPES, Check, checker
from xinan.identifiers import is_valid_resident_id
from xinan.policy.catalogue import FieldSpec, FieldType, Policy, RecordKind, SubjectClass

_checker = checker
_ID_OTHER = ID_OTHER


class Rejected(Exception):
    """Raised inside validation; becomes one line of the rejects file."""

    def __init__(self, column: str | None, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


@dataclass(frozen=True)
class ValidRow:
    values: list[str]  # in the kind's column order, canonical
    subject_class: SubjectClass


class Validator:
    """Checks one row against a kind: field types, required fields, subject class, consent."""

    def __init__(self, policy: Policy, kind: RecordKind, *, today: date) -> None:
        self.policy = policy
        self.kind = kind
        self.today = today
        self._checks: list[tuple[int, FieldSpec, Check]] = [
            (i, f, _checker(f, today)) for i, f in enumerate(kind.fields)
        ]
        self._required = [(i, f.name) for i, f in enumerate(kind.fields) if f.required]
        # -1 only for natural/legal kinds, whose class is fixed (policy check guarantees it)
        self._class_index = kind.index(kind.class_field) if kind.class_field else -1
        self._class_requires = {
            SubjectClass(cls): [(kind.index(n), n) for n in names]
            for cls, names in kind.class_requires.items()
        }
        self._id_numbers = [
            (i, kind.index(f.id_type_field) if f.id_type_field else None, f.name)
            for i, f in enumerate(kind.fields)
            if f.type is FieldType.ID_NUMBER
        ]
        self._gated = [
            (i, f.name, f.consent_gated) for i, f in enumerate(kind.fields) if f.consent_gated
        ]
        self._basis = [kind.index(n) for n in kind.basis_fields]
        self._fixed_class = {
            "natural": SubjectClass.NATURAL,
            "legal": SubjectClass.LEGAL,
        }.get(kind.subject)

    def check(self, raw: Sequence[str]) -> ValidRow:
        values = [v.strip() for v in raw]
        for i, f, check in self._checks:
            v = values[i]
            if v:
                try:
                    values[i] = check(v)
                except ValueError as exc:
                    raise Rejected(f.name, str(exc)) from None
        for i, name in self._required:
            if not values[i]:
                raise Rejected(name, "required but empty")
        if self._fixed_class is not None:
            cls = self._fixed_class
        else:
            cls_name = values[self._class_index]
            try:
                cls = self.policy.subject_classes[cls_name]
            except KeyError:
                raise Rejected(self.kind.class_field, "unknown subject class") from None
        for i, name in self._class_requires.get(cls, ()):
            if not values[i]:
                raise Rejected(name, f"required for a {cls.value} subject but empty")
        for i, type_i, name in self._id_numbers:
            v = values[i]
            if not v:
                continue
            doc = values[type_i] if type_i is not None else "身份证"
            if doc in RESIDENT_ID_DOC_TYPES or (type_i is None):
                v = v.upper()
                if not is_valid_resident_id(v, today=self.today):
                    raise Rejected(
                        name,
                        _BAD_RESIDENT_ID,
                    )
                values[i] = v
            elif not _ID_OTHER.match(v):
                raise Rejected(name, "not a valid document number (5–32 letters or digits)")
        for i, name, category in self._gated:
            if values[i] and not any(values[b] for b in self._basis):
                raise Rejected(
                    name,
                    f"consent-required:{category} — needs the subject's written consent or a legal "
                    f"basis in {'/'.join(self.kind.basis_fields)} (征信业管理条例 第十四条)",
                )
        return ValidRow(values, cls)

    def item_problems(self, raw: Sequence[str]) -> list[tuple[str, str]]:
        """Every provided (non-empty) item that fails its field's check — check characters,
        code tables, dates, amounts — as (column, reason), without stopping at the first.

        The quality report's 准确率 counts items, not rows (docs/report.md §7); the checks are
        the very ones :meth:`check` applies, so an accurate row is never rejected for format.
        """
        values = [v.strip() for v in raw]
        out: list[tuple[str, str]] = []
        for i, f, check in self._checks:
            if values[i]:
                try:
                    values[i] = check(values[i])
                except ValueError as exc:
                    out.append((f.name, str(exc)))
        for i, type_i, name in self._id_numbers:
            v = values[i]
            if not v:
                continue
            doc = values[type_i] if type_i is not None else "身份证"
            if doc in RESIDENT_ID_DOC_TYPES or type_i is None:
                if not is_valid_resident_id(v.upper(), today=self.today):
                    out.append((name, _BAD_RESIDENT_ID))
            elif not _ID_OTHER.match(v):
                out.append((name, "not a valid document number (5–32 letters or digits)"))
        return out

    def required_items(self, raw: Sequence[str]) -> tuple[int, list[str]]:
        """(items the catalogue requires of this row, the required columns left empty): the
        fields marked required, plus those its subject class requires (完整率)."""
        values = [v.strip() for v in raw]
        names = [name for _, name in self._required]
        if self._fixed_class is not None:
            cls: SubjectClass | None = self._fixed_class
        else:
            cls = self.policy.subject_classes.get(values[self._class_index])
        if cls is not None:
            names += [n for _, n in self._class_requires.get(cls, ()) if n not in names]
        missing = [n for n in names if not values[self.kind.index(n)]]
        return len(names), missing
