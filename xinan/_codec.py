"""Strict JSON parsing for signed and sealed artifacts (keys, packages, grants, release files,
certificates): a member named twice, or NaN/Infinity, is refused — two readers must never
see two different documents in the same bytes (RFC 8259 §4 leaves duplicates open)."""

from __future__ import annotations

import json
from typing import Any, NoReturn


def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook``: refuse an object that names a member twice."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError("duplicate member")
        out[k] = v
    return out


def no_constant(name: str) -> NoReturn:
    """``parse_constant``: refuse NaN, Infinity and -Infinity."""
    raise ValueError(f"{name} is not allowed here")


def loads_strict(text: str | bytes) -> Any:
    return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constant)
