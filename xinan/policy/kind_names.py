"""A record kind as a person types it: its key (``penalty``) or its Chinese name (``行政处罚``).

A policy names each kind twice: the key used in files, packages and the vault, and a title
(``行政处罚信息（双公示）``). :func:`resolve_kind` accepts the key, the title, the title without
its parenthesis (``行政处罚信息``) and without a final ``信息`` (``行政处罚``) — each only when it
names one kind — and returns the key. It never guesses beyond that: an unknown or ambiguous
name is returned unchanged, for :meth:`Policy.kind` to refuse with the list of kinds.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xinan.policy.catalogue import Policy

_PAREN = re.compile(r"\s*[（(][^）)]*[）)]\s*$")


def _forms(title: str) -> set[str]:
    base = _PAREN.sub("", title).strip()
    out = {title.strip(), base}
    if base.endswith("信息") and len(base) > 2:
        out.add(base[: -len("信息")])
    return {unicodedata.normalize("NFKC", f) for f in out if f}


def kind_aliases(policy: Policy) -> dict[str, str]:
    """Every name a kind may be typed as → its key (names shared by two kinds left out)."""
    seen: dict[str, set[str]] = {}
    for key, kind in policy.kinds.items():
        for form in _forms(kind.title):
            seen.setdefault(form, set()).add(key)
    return {form: next(iter(keys)) for form, keys in seen.items() if len(keys) == 1}


def resolve_kind(policy: Policy, typed: str) -> str:
    """The key of the kind ``typed`` names (itself when it is a key or names no one kind)."""
    if typed in policy.kinds:
        return typed
    return kind_aliases(policy).get(unicodedata.normalize("NFKC", typed.strip()), typed)
