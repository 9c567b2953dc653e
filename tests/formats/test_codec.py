"""The one JSON codec (xinan/_codec.py, docs/encoding.md): RFC 8785 (JCS) canonical JSON checked
against an independent implementation (Trail of Bits' ``rfc8785``), the strict reader's
refusals, and byte compatibility with the encoder used before JCS for the keys xinan writes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from xinan._codec import (
    INT_MAX,
    canonical_json,
    compact_json,
    is_compact_json,
    loads_canonical,
    loads_strict,
    pretty_json,
)
from xinan.errors import MalformedJSON, VerificationError

# Unicode text: every code point but lone surrogates (which are not text, and which I-JSON and
# xinan refuse).
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
scalars = st.none() | st.booleans() | st.integers(-INT_MAX, INT_MAX) | text
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(values)
def test_canonical_json_is_rfc8785(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=150, deadline=None)
@given(values)
def test_round_trips_and_one_byte_string(value: Any) -> None:
    data = canonical_json(value)
    assert loads_canonical(data) == value
    assert loads_strict(data) == value
    assert loads_canonical(compact_json(value), compact_json) == value
    assert loads_strict(pretty_json(value)) == value


def _below_e000(value: Any) -> bool:
    if isinstance(value, dict):
        return all((not k or max(k) < "\ue000") and _below_e000(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_below_e000(v) for v in value)
    return True


@settings(max_examples=150, deadline=None)
@given(values)
def test_same_bytes_as_before_for_keys_below_u_e000(value: Any) -> None:
    """Keys whose characters are all below U+E000 (every key xinan writes: ASCII member names,
    Chinese field names) sort the same in code-point and UTF-16 order: the artifacts written
    before JCS keep their bytes (docs/encoding.md, version note)."""
    if not _below_e000(value):
        return
    old = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert canonical_json(value) == old.encode("utf-8")
    old_pretty = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
    assert pretty_json(value, sort=True) == old_pretty.encode("utf-8")


def test_rfc8785_sorting_example() -> None:
    """RFC 8785 §3.2.3: members are sorted by UTF-16 code units, so U+1F600 (D83D DE00) sorts
    before U+FB33, unlike code-point order."""
    doc = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = list(json.loads(canonical_json(doc)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    assert canonical_json(doc) == rfc8785.dumps(doc)
    assert list(json.loads(pretty_json(doc, sort=True))) == keys


def test_string_escapes_are_jcs() -> None:
    s = '\u0000\u0001\b\t\n\u000b\f\r\u001f "\\/\u007f\u2028é中😀'
    assert canonical_json(s) == rfc8785.dumps(s)
    assert canonical_json(s) == (
        b'"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f \\"\\\\/\x7f' + "\u2028é中😀".encode() + b'"'
    )


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        float("nan"),
        2**53,
        -(2**53),
        "\ud800",
        {"\udfff": 1},
        {1: "a"},
        b"bytes",
        {"a": [{"b": object()}]},
    ],
)
def test_encoder_refuses_outside_the_value_space(value: Any) -> None:
    for encode in (canonical_json, compact_json, pretty_json):
        with pytest.raises(MalformedJSON):
            encode(value)


def test_integer_bounds() -> None:
    assert canonical_json([INT_MAX, -INT_MAX]) == b"[9007199254740991,-9007199254740991]"
    assert loads_strict(b"9007199254740991") == INT_MAX
    for text in (b"9007199254740992", b"-9007199254740992", b"1" * 5000, b"1.0", b"1e3"):
        with pytest.raises(MalformedJSON):
            loads_strict(text)


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":1,"a":2}',
        b'{"a":NaN}',
        b"[Infinity]",
        b"[-Infinity]",
        b'["\\ud800"]',
        b'{"\\udc00":1}',
        b'"\\ud83d"',
        b"\xef\xbb\xbf{}",  # a BOM
        b'"\xed\xa0\x80"',  # an encoded surrogate (CESU-8)
        b'"\xff"',
        b"[" * 100_000 + b"]" * 100_000,
        b"",
        b"{} {}",
        "\ufeff{}",
        '["\ud800"]',
    ],
)
def test_reader_refuses(data: bytes | str) -> None:
    with pytest.raises(MalformedJSON) as ei:
        loads_strict(data)
    assert isinstance(ei.value, VerificationError) and isinstance(ei.value, ValueError)


@pytest.mark.parametrize(
    "data",
    [
        b'{"b":1,"a":2}',
        b'{"a": 2}',
        b'{"a":"\\u0041"}',
        b'{"a":"\\/"}',
        b'{"a":-0}',
        b'{"a":"\\u00e9"}',
        b'["\\ud83d\\ude00"]',
        b'{"a":"\\u001F"}',
        b'{"a":2}\n',
    ],
)
def test_canonical_reader_refuses_other_encodings(data: bytes) -> None:
    loads_strict(data)  # valid JSON all the same
    with pytest.raises(MalformedJSON, match="canonical"):
        loads_canonical(data)


def test_is_compact_json_refuses_a_lone_surrogate() -> None:
    assert not is_compact_json(["\ud800"], b'["\\ud800"]')
    assert is_compact_json(["a", None, ["b"]], b'["a",null,["b"]]')


record_like = st.recursive(
    st.none() | text, lambda inner: st.lists(inner, max_size=4), max_leaves=12
).filter(lambda v: isinstance(v, list))


@settings(max_examples=300, deadline=None)
@given(record_like, st.integers(0, 3), st.integers(0, 10_000))
def test_is_compact_json_agrees_with_re_encoding(value: Any, how: int, at: int) -> None:
    """The fast path of is_compact_json (no backslash: look between the tokens) gives the
    same answer as re-encoding, on canonical lines and on lines made non-canonical."""
    data = compact_json(value)
    if how == 1:  # whitespace after some structural character
        spots = [i for i, c in enumerate(data) if c in b"[],"]
        i = spots[at % len(spots)] + 1
        data = data[:i] + b" " + data[i:]
    elif how == 2:  # escapes where the writer wrote the characters
        data = json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode()
    elif how == 3:  # pretty-printed
        data = json.dumps(value, ensure_ascii=False, indent=1).encode()
    parsed = json.loads(data)
    assert is_compact_json(parsed, data) == (compact_json(parsed) == data)
