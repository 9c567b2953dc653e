"""Locating and collecting policy problems: the line of a TOML path (tomllib keeps no positions)
and typed readers that record a problem instead of raising.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from xinan.errors import PolicyProblem
from xinan.policy.periods import LIFECYCLE_KEYS
from xinan.policy.quality import QUALITY_KEY

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
