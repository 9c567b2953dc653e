"""The engine's column-wise ``str.strip()`` (xinan.engine.validate.strip): which values have
whitespace at an edge is read from the Arrow buffers, and must be exactly what Python says."""

from __future__ import annotations

import sys

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from xinan.engine.validate import WHITESPACE, edge_whitespace, strip


def test_the_whitespace_list_is_str_isspace_over_all_of_unicode() -> None:
    every = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(WHITESPACE) == every and len(WHITESPACE) == len(every)


# whitespace of every UTF-8 length, characters that share their lead bytes (U+2010 ‐, U+00A9 ©,
# U+1681, U+3001 、), Chinese, ASCII and an astral character
CHARS = [*WHITESPACE, "\u2010", "\u00a9", "\u1681", "\u3001", "\u205e", "张", "a", "0", "𠀀"]
values = st.lists(st.sampled_from(CHARS), max_size=6).map("".join)


OTHERS = ["a", "\u00a9", "\u2010", "\u1681", "\u3001", "张", "𠀀"]  # 1 to 4 bytes, not spaces


def test_every_whitespace_at_either_edge_beside_characters_of_every_width() -> None:
    """Each whitespace character alone, first and last, next to characters of one to four
    bytes (some sharing its lead byte), in one array: exactly the values Python strips."""
    vals = [""]
    for w in WHITESPACE:
        vals.append(w)
        for o in OTHERS:
            vals += [w + o, o + w, o + w + o, o + o + w, w + o + o]
    arr = pa.array(vals, type=pa.string())
    assert edge_whitespace(arr).tolist() == [v != v.strip() for v in vals]
    assert strip(arr).to_pylist() == [v.strip() for v in vals]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.none(), values), max_size=30), st.integers(0, 5))
def test_strip_is_str_strip_for_every_value(vals: list[str | None], cut: int) -> None:
    for kind in (pa.string(), pa.large_string()):
        arr = pa.array(vals, type=kind)
        arr = arr.slice(min(cut, len(arr)))  # a slice: offsets that do not begin at 0
        want = [v is not None and v != v.strip() for v in arr.to_pylist()]
        assert edge_whitespace(arr).tolist() == want
    arr = pa.array(vals, type=pa.string()).slice(min(cut, len(vals)))
    if not arr.null_count:  # strip() takes what as_strings() makes: string, no nulls
        assert strip(arr).to_pylist() == [v.strip() for v in arr.to_pylist()]


def test_empty_and_all_empty_arrays() -> None:
    assert edge_whitespace(pa.array([], type=pa.string())).tolist() == []
    assert edge_whitespace(pa.array(["", ""], type=pa.string())).tolist() == [False, False]
    assert strip(pa.array(["", " x ", "\u3000"])).to_pylist() == ["", "x", ""]


def test_other_types_are_refused_not_misread() -> None:
    import pytest

    with pytest.raises(TypeError):
        edge_whitespace(pa.array([b" x"], type=pa.binary()))
