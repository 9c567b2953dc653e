"""Typed ids: one shape that cannot begin with "-", unique prefixes (xinan/short_ids.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinan.errors import UsageError
from xinan.short_ids import grant_display, grant_typed, resolve

KNOWN = ["-Ewsc3Yp0Q2iWkq7nEwVZ6A", "Sg4z0C6P2oEx7qV5x6Lt8w", "Sg4zXXXXXXXXXXXXXXXXXX"]
B64 = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=22,
              max_size=22)  # fmt: skip


@given(B64)
def test_the_display_form_never_begins_with_a_dash_and_round_trips(jti: str) -> None:
    shown = grant_display(jti)
    assert not shown.startswith("-")
    assert grant_typed(shown) == jti
    assert grant_typed(jti) == jti or jti.startswith("g.")


def test_exact_then_unique_prefix() -> None:
    assert resolve("Sg4z0C6P2oEx7qV5x6Lt8w", KNOWN, "grant") == "Sg4z0C6P2oEx7qV5x6Lt8w"
    assert resolve("Sg4z0", KNOWN, "grant") == "Sg4z0C6P2oEx7qV5x6Lt8w"
    assert resolve("-Ews", KNOWN, "grant") == "-Ewsc3Yp0Q2iWkq7nEwVZ6A"


def test_ambiguous_lists_the_candidates() -> None:
    with pytest.raises(UsageError) as e:
        resolve("Sg4z", KNOWN, "grant", shown="g.")
    assert "ambiguous" in e.value.message
    assert "g.Sg4z0C6P2oEx7qV5x6Lt8w" in e.value.message
    assert "g.Sg4zXXXXXXXXXXXXXXXXXX" in e.value.message


def test_too_short_or_unknown() -> None:
    with pytest.raises(UsageError) as e:
        resolve("Sg4", KNOWN, "grant")
    assert "at least 4" in (e.value.hint or "")
    with pytest.raises(UsageError, match="no grant"):
        resolve("zzzz", KNOWN, "grant")
