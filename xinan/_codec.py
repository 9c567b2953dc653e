"""The one JSON codec of xinan's artifacts (docs/encoding.md).

Owns: how every signed or sealed artifact is written as JSON and read back — packages, release
files, grants, revocation lists, key files, audit entries, destruction certificates, the vault's
config:

* :func:`canonical_json` — RFC 8785 (JSON Canonicalization Scheme, JCS): members sorted by
  their UTF-16 code units, no insignificant whitespace, JCS string escaping, UTF-8. It is what
  the specs call "canonical JSON" (hashed, signed, MACed, used as associated data);
* :func:`compact_json` — the same encoding with members in the order the writer gives (the
  package header, release files, grant payloads: their specs fix a member order);
* :func:`pretty_json` — two-space indentation and one final newline (key files, revocation
  lists, certificates: files people read), members in the writer's order or sorted as JCS;
* :func:`loads_strict` — the reader: strict UTF-8, RFC 8259 JSON, no member named twice, no
  NaN/Infinity, no floats, integers within ±(2^53 − 1), no lone surrogate anywhere;
* :func:`loads_canonical` — :func:`loads_strict`, then the bytes MUST equal the encoder's
  output for the parsed value (one artifact, one byte string).

Every failure raises :class:`~xinan.errors.MalformedJSON` (a ``VerificationError`` and a
``ValueError``). The value space is I-JSON (RFC 7493) restricted to what xinan writes: objects
with string keys, arrays, strings, integers, ``true``, ``false``, ``null``. Floats are refused
on both sides, so JCS's number serialisation reduces to the decimal integer (RFC 8785 §3.2.2.3
for integers of magnitude below 2^53) and no artifact ever depends on float formatting.

Also base64 (RFC 4648 §4, with padding) in its one canonical spelling: :func:`b64decode`
refuses any other alphabet, a character outside ASCII, missing padding and set trailing bits
(decode then encode MUST give the text back), with a ``ValueError``.

Does not own: what members an artifact has (each format checks its own), line framing.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Callable
from typing import Any, NoReturn

from xinan.errors import MalformedJSON

__all__ = [
    "INT_MAX",
    "INT_MIN",
    "b64decode",
    "b64encode",
    "canonical_json",
    "compact_json",
    "is_compact_json",
    "loads_canonical",
    "loads_strict",
    "pretty_json",
]

# RFC 7493 §2.2 / RFC 8785 §3.2.2.3: integers an IEEE 754 double holds exactly, so that every
# JCS implementation (JavaScript's included) reads and writes the same number.
INT_MAX = 2**53 - 1
INT_MIN = -INT_MAX
_INT_DIGITS = len(str(INT_MAX))
_SURROGATE = re.compile("[\ud800-\udfff]")

# The C encoder, configured once. With ensure_ascii=False it escapes exactly what RFC 8785
# §3.2.2.2 escapes: '"', '\\', \b \t \n \f \r by their short forms and every other control
# character below U+0020 as \u00xx (lower-case hex); everything else is written as itself.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_SORTED = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, sort_keys=True
).encode


def _fail(message: str) -> NoReturn:
    raise MalformedJSON(message)


def _check(value: Any) -> bool:
    """Check that ``value`` is in the value space (module docstring); return True when some
    object key holds a character at or above U+E000, where code-point order and JCS's UTF-16
    order can differ (a supplementary character sorts before U+E000–U+FFFF in UTF-16)."""
    needs_utf16 = False
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        x = pop()
        t = type(x)
        if t is str:
            if not x.isascii() and _SURROGATE.search(x):
                _fail("a string holds a lone surrogate (not Unicode text)")
        elif t is dict:
            for k, v in x.items():
                if type(k) is not str:
                    _fail("an object key is not a string")
                if not k.isascii():
                    if _SURROGATE.search(k):
                        _fail("an object key holds a lone surrogate (not Unicode text)")
                    if max(k) >= "\ue000":
                        needs_utf16 = True
                push(v)
        elif t is list or t is tuple:
            stack.extend(x)
        elif t is int:
            if not INT_MIN <= x <= INT_MAX:
                _fail("an integer is beyond ±(2^53 - 1)")
        elif t is bool or x is None:
            pass
        elif t is float:
            _fail("floats are not used in xinan artifacts")
        else:
            _fail(f"a {t.__name__} has no JSON form")
    return needs_utf16


def _utf16_sorted(value: Any) -> Any:
    """``value`` with every object's members in RFC 8785 §3.2.3 order (UTF-16 code units)."""
    if type(value) is dict:
        order = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return {k: _utf16_sorted(value[k]) for k in order}
    if type(value) is list or type(value) is tuple:
        return [_utf16_sorted(v) for v in value]
    return value


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes of ``value``; raises :class:`MalformedJSON` outside the value space."""
    if _check(value):
        return _COMPACT(_utf16_sorted(value)).encode("utf-8")
    # No key reaches U+E000 (and none is a surrogate): code-point order is UTF-16 order.
    return _SORTED(value).encode("utf-8")


def compact_json(value: Any) -> bytes:
    """The JCS encoding of ``value`` with members in the order given (no whitespace, UTF-8)."""
    _check(value)
    return _COMPACT(value).encode("utf-8")


def is_compact_json(value: Any, data: bytes) -> bool:
    """``compact_json(value) == data`` where ``value`` was parsed from ``data`` and the caller
    has checked that it holds only strings, arrays and ``null`` (a package record line).

    Fast path (25× cheaper than re-encoding): when ``data`` holds no backslash, every ``"``
    delimits a string, and a string's JSON text is its UTF-8 bytes, needing no escape (no
    quote, backslash or control character can be in it: the parser refuses raw control
    characters). So ``data`` is canonical exactly when the bytes outside its strings are only
    ``[ ] ,`` and ``null`` (no whitespace, no other token). Otherwise the value is re-encoded
    and compared (a lone surrogate, which only an escape can produce, gives False)."""
    if b"\\" not in data:
        return not b"".join(data.split(b'"')[::2]).translate(None, b"[],nul")
    try:
        return _COMPACT(value).encode("utf-8") == data
    except UnicodeEncodeError:
        return False


def pretty_json(value: Any, *, sort: bool = False) -> bytes:
    """``value`` indented by two spaces, ending in one newline; members in the order given,
    or (``sort``) in JCS order. Strings and numbers are encoded as in :func:`canonical_json`."""
    if _check(value) and sort:
        value = _utf16_sorted(value)
        sort = False
    text = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=sort, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 8259 §4 leaves a repeated name open: two readers could see two documents.
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            _fail("duplicate member (a name appears twice)")
        out[k] = v
    return out


def _no_constant(name: str) -> NoReturn:
    _fail(f"{name} is not JSON")


def _no_float(text: str) -> NoReturn:
    _fail("floats are not used in xinan artifacts")


def _int(text: str) -> int:
    # Bounded before conversion: no quadratic int() on a megabyte of digits.
    if len(text.lstrip("-")) > _INT_DIGITS:
        _fail("an integer is beyond ±(2^53 - 1)")
    n = int(text)
    if not INT_MIN <= n <= INT_MAX:
        _fail("an integer is beyond ±(2^53 - 1)")
    return n


def loads_strict(data: bytes | str) -> Any:
    """Parse one JSON value from ``data`` (UTF-8 bytes, or text) under the rules of the module
    docstring. Raises :class:`MalformedJSON`, whatever the input."""
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            text = bytes(data).decode("utf-8")  # strict: encoded surrogates are refused too
        except UnicodeDecodeError:
            _fail("not UTF-8")
    elif isinstance(data, str):
        text = data
    else:
        _fail("not text")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constant,
            parse_float=_no_float,
            parse_int=_int,
        )
    except MalformedJSON:
        raise
    except RecursionError:
        _fail("nested too deeply")
    except ValueError as exc:  # JSONDecodeError (a BOM included)
        _fail(f"not JSON ({exc.args[0] if exc.args else 'invalid'})")
    _check(value)  # a \\ud800 escape decodes to a lone surrogate
    return value


def loads_canonical(data: bytes, encode: Callable[[Any], bytes] = canonical_json) -> Any:
    """:func:`loads_strict`, then refuse ``data`` unless ``encode(value) == data``: the spec's
    one byte string for the value (no other spacing, escapes, member order or number form)."""
    value = loads_strict(data)
    if encode(value) != bytes(data):
        _fail("not in canonical form")
    return value


def b64encode(data: bytes) -> str:
    """Standard base64 with padding (RFC 4648 §4)."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def b64decode(text: object) -> bytes:
    """The bytes of canonical standard base64 ``text``; ``ValueError`` for anything else
    (whatever the input: non-ASCII text included, which the stdlib reports as a bare
    ``ValueError`` that callers catching ``binascii.Error`` miss)."""
    if type(text) is not str or not text.isascii():
        raise ValueError("not base64")
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error:
        raise ValueError("not base64") from None
    if binascii.b2a_base64(raw, newline=False).decode("ascii") != text:
        raise ValueError("base64 not in canonical form")
    return raw


_B32_LOWER = b"abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648 §6 alphabet, lower case


def b32_lower_many(tags: list[bytes], prefix: str = "") -> list[str]:
    """``prefix + base32_lower(tag)`` without padding for many 16-byte tags at once — the
    strings ``base64.b32encode(tag).decode().rstrip("=").lower()`` gives (record ids,
    pseudonyms), computed as one numpy array: ``base64.b32encode`` is a Python loop that cost
    more than a record's whole sealing (bench/seal.py)."""
    import numpy as np

    n = len(tags)
    if n == 0:
        return []
    arr = np.frombuffer(b"".join(tags), dtype=np.uint8)
    if arr.size != 16 * n:
        raise ValueError("every tag must be 16 bytes")
    # 128 bits and 2 zero bits = 26 groups of 5 bits (RFC 4648 pads the last group with 0s)
    bits = np.concatenate(
        [np.unpackbits(arr.reshape(n, 16), axis=1), np.zeros((n, 2), np.uint8)], axis=1
    )
    idx = bits.reshape(n, 26, 5) @ np.array([16, 8, 4, 2, 1], dtype=np.uint8)
    chars = np.frombuffer(_B32_LOWER, dtype=np.uint8)[idx]
    text = chars.tobytes().decode("ascii")
    return [prefix + text[i : i + 26] for i in range(0, 26 * n, 26)]
