"""The block reader of xinan-package/1 (xinan/formats/package/stream.py, lines.py): the same
results with one and two workers and any block size, the vector line check never accepting
what the scalar parser refuses, errors in file order, and a spool that holds no plaintext."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinan import keys
from xinan.crypto import get_suite
from xinan.errors import IntegrityError, VerificationError, XinanError
from xinan.formats import package as P
from xinan.formats.package import lines as L
from xinan.formats.package import stream as S
from xinan.formats.package.header import _read_header
from xinan.formats.package.records import _parse_record, _parse_verified

NOW = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
CLEAR = ("行政相对人名称", "处罚类别", "决定日期")
SEALED = ("证件号码", "法定代表人", "联系电话")
META = P.PackageMeta("credit-default", "2026.1", "penalty", CLEAR, SEALED)


def ident(name: str, suite_name: str = "intl") -> keys.Identity:
    return _ident(name, suite_name)


@cache
def _ident(name: str, suite_name: str) -> keys.Identity:
    s = get_suite(suite_name)
    sk, kk = s.generate_signing_key(), s.generate_kem_key()
    info = keys.PublicKeyInfo(
        name, f"xk1{suite_name}{name}", keys.Role.PROVIDER, s.name, NOW, sk.public_bytes(),
        kk.public_bytes(),
    )  # fmt: skip
    return keys.Identity(info, sk, kk)


def trust(suite_name: str = "intl") -> P.TrustLookup:
    prov = ident("prov", suite_name)
    return {prov.key_id: prov.info}.get


def seal(records: list[P.SealRecord], suite_name: str = "intl") -> bytes:
    out = io.BytesIO()
    P.seal_package(
        out,
        records,
        suite=get_suite(suite_name),
        sender=ident("prov", suite_name),
        recipients=[ident("plat", suite_name).info],
        meta=META,
        now=NOW,
    )
    return out.getvalue()


def varied(n: int) -> list[P.SealRecord]:
    """Records whose values take every path: plain, non-ASCII, escapes the pattern accepts
    (quote, backslash, \\n, \\t), \\u00xx escapes it leaves to the scalar parser, and
    record ids with non-ASCII characters (scalar parser too)."""
    odd = ['引号"', "反斜杠\\", "换行\n", "制表\t", "控制\x01", "DEL\x7f", "", "a,b"]
    return [
        P.SealRecord(
            f"R-{i:04d}" if i % 7 else f"记录-{i}",
            [f"某某商贸有限公司{i}", odd[i % len(odd)], "2025-12-01"],
            [f"11010519491231{i:03d}X", odd[(i + 3) % len(odd)], f"1380013{i:04d}"],
        )
        for i in range(n)
    ]


def open_with(data: bytes, workers: int, *, keys_: bool = False, suite_name: str = "intl") -> Any:
    with P.open_blocks(
        io.BytesIO(data),
        identity=ident("plat", suite_name),
        trust=trust(suite_name),
        workers=workers,
        keys=keys_,
    ) as o:
        return o.info, list(o.records())


@pytest.mark.parametrize("block", [512, S.BLOCK_BYTES])
def test_one_and_two_workers_give_the_same_records(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = seal(varied(300))
    monkeypatch.setattr(S, "BLOCK_BYTES", block)
    one = open_with(data, 1)
    two = open_with(data, 2)
    assert one == two
    info, recs = one
    assert info.count == 300 and [r.position for r in recs] == list(range(300))
    assert recs[1].sealed[1] == varied(2)[1].sealed[1]
    assert open_with(data, 1, keys_=True) == open_with(data, 2, keys_=True)
    for w in (1, 2):
        assert P.verify_package(io.BytesIO(data), trust=trust(), workers=w) == info


def test_a_block_of_few_lines_is_read_by_the_parser_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Below VECTOR_MIN_LINES the pattern is not compiled (it would cost more than it saves):
    every line goes to the scalar parser, and what is read is the same."""
    data = seal(varied(40))
    fast = (open_with(data, 1), open_with(data, 1, keys_=True))
    monkeypatch.setattr(S, "VECTOR_MIN_LINES", 41)

    def no_pattern(*_a: object) -> list[int]:
        raise AssertionError("the pattern ran on a block below the threshold")

    monkeypatch.setattr(S, "unmatched", no_pattern)
    assert (open_with(data, 1), open_with(data, 1, keys_=True)) == fast
    assert P.verify_package(io.BytesIO(data), trust=trust()) == fast[0][0]
    bad = bytearray(data)
    bad[len(data) // 2] ^= 0x01
    with pytest.raises((IntegrityError, VerificationError)):
        P.verify_package(io.BytesIO(bytes(bad)), trust=trust())


def test_gm_suite_reads_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    data = seal(varied(20), "gm")
    monkeypatch.setattr(S, "BLOCK_BYTES", 512)
    info, recs = open_with(data, 2, suite_name="gm")
    assert [r.sealed for r in recs] == [tuple(r.sealed) for r in varied(20)]
    assert info.suite.value == "gm"


def _lines_and_ctx(data: bytes, suite_name: str = "intl") -> tuple[Any, list[bytes], str]:
    stream = io.BytesIO(data)
    ctx, _ = _read_header(stream, trust(suite_name), P.DEFAULT_LIMITS, None)
    body = data.split(b"\n", 1)[1]
    lines = [ln + b"\n" for ln in body.split(b"\n")[:-2]]
    pattern = L.record_pattern(
        ctx.info, digest_len=ctx.suite.digest_len, key_len=ctx.suite.key_len, limits=ctx.limits
    )
    return ctx, lines, pattern


def _scalar_ok(ctx: Any, line: bytes) -> bool:
    try:
        _parse_record(ctx, line, 0)
    except VerificationError:
        return False
    return True


def test_every_line_the_pattern_accepts_the_scalar_parser_accepts() -> None:
    data = seal(varied(40))
    ctx, lines, pattern = _lines_and_ctx(data)
    block = b"".join(lines)
    missed = set(L.unmatched(block, L.line_ends(block), pattern))
    # the plain lines go the fast way; \u00xx escapes and non-ASCII ids go to the scalar parser
    assert 0 < len(missed) < len(lines)
    assert all(_scalar_ok(ctx, ln) for ln in lines)


def _py_strict(block: bytes) -> bool:
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# RFC 3629's edges: encoded surrogates, overlong forms, beyond U+10FFFF, cut sequences, and
# the last valid code points before each of them
UTF8_EDGES = [
    b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xed\x9f\xbf", b"\xc0\x80", b"\xc1\xbf",
    b"\xc2\x80", b"\xe0\x80\x80", b"\xe0\x9f\xbf", b"\xe0\xa0\x80",
    b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf", b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf",
    b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xff", b"\xc3", b"\xe4\xb8",
    b"\xef\xbf\xbf", b"\xef\xbb\xbf", b"\x80",
]  # fmt: skip


def _fast_line() -> tuple[bytes, str]:
    """A sealed line the pattern accepts (read the fast way), and the pattern."""
    _ctx, lines, pattern = FLIP_CTX
    fast = [ln for ln in lines if not L.unmatched(ln, L.line_ends(ln), pattern)]
    return fast[0], pattern


@pytest.mark.parametrize("edge", UTF8_EDGES)
def test_utf8_edges_are_refused_exactly_as_python_refuses_them(edge: bytes) -> None:
    """The vector check's UTF-8 validation (Arrow) agrees with Python's strict decoder, which
    the scalar parser uses: a block it refuses sends every line to the scalar parser."""
    fast, pattern = _fast_line()
    block = fast + b'["' + edge + b'"]\n' + fast
    missed = L.unmatched(block, L.line_ends(block), pattern)
    assert missed == ([1] if _py_strict(block) else [0, 1, 2])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=12), min_size=1, max_size=4))
def test_utf8_validation_agrees_with_python_on_any_bytes(pieces: list[bytes]) -> None:
    fast, pattern = _fast_line()
    block = fast + b"\n".join(p.replace(b"\n", b"") for p in pieces) + b"\n"
    missed = L.unmatched(block, L.line_ends(block), pattern)
    n = len(L.line_ends(block))
    if not _py_strict(block):
        assert missed == list(range(n))
    else:
        assert 0 not in missed  # the valid sealed line is still read the fast way


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(texts, min_size=3, max_size=3), st.lists(texts, min_size=3, max_size=3))
def test_the_fast_reading_of_an_accepted_line_is_the_parsers(
    clear: list[str], sealed: list[str]
) -> None:
    """A line the pattern accepts is read without json.loads (split at its quotes when it has
    no backslash): the values are exactly the scalar parser's."""
    ctx, lines, pattern = _lines_and_ctx(seal([P.SealRecord("R-1", clear, sealed), *varied(2)]))
    block = b"".join(lines)
    missed = set(L.unmatched(block, L.line_ends(block), pattern))
    for i, line in enumerate(lines):
        if i not in missed:
            assert _parse_verified(ctx, line[:-1]) == _parse_record(ctx, line, 0)


def _opened_ctx(data: bytes, suite_name: str) -> tuple[Any, bytes, list[int], set[int]]:
    from xinan.formats.package.read import _unwrap_package_key

    ctx, lines, pattern = _lines_and_ctx(data, suite_name)
    _unwrap_package_key(ctx, ident("plat", suite_name))
    block = b"".join(lines)
    ends = L.line_ends(block)
    return ctx, block, ends.tolist(), set(L.unmatched(block, ends, pattern))


def _rows_the_long_way(ctx: Any, block: bytes, ends: list[int], bad: set[int], opening: bool):
    """The reference: every record through the per-record functions, one at a time."""
    from xinan.formats.package.records import long_way_row

    starts = [0, *ends[:-1]]
    return [
        long_way_row(ctx, block[a:b], i, refused=i in bad, opening=opening)
        for i, (a, b) in enumerate(zip(starts, ends, strict=True))
    ]


@pytest.mark.parametrize("opening", [True, False])
@pytest.mark.parametrize("suite_name", ["intl", "gm"])
def test_block_rows_are_the_per_record_readings(
    opening: bool, suite_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one-loop reading of a block (records.block_rows) gives exactly the rows of the
    per-record functions, and leaves to them only the lines the pattern refused or that hold
    an escape."""
    from xinan.formats.package import records as R

    data = seal(varied(60), suite_name)
    ctx, block, ends, bad = _opened_ctx(data, suite_name)
    expected = _rows_the_long_way(ctx, block, ends, bad, opening)
    long_way: list[str] = []
    keys_of = R._record_keys
    monkeypatch.setattr(
        R, "_record_keys", lambda c, p, i: long_way.append(p.record_id) or keys_of(c, p, i)
    )
    assert R.block_rows(ctx, block, ends, bad, 0, opening=opening) == expected
    lines = block.split(b"\n")[:-1]
    slow = [r[1] for i, r in enumerate(expected) if i in bad or b"\\" in lines[i]]
    assert long_way == slow and 0 < len(slow) < len(expected)  # both ways taken


@pytest.mark.parametrize("opening", [True, False])
@pytest.mark.parametrize("suite_name", ["intl", "gm"])
@pytest.mark.parametrize("part", ["commitment", "value", "wrapped record key"])
def test_block_rows_raise_the_per_record_error(part: str, suite_name: str, opening: bool) -> None:
    """A line the pattern still accepts but whose keys or value do not open: the one-loop
    reading raises what the per-record functions raise, naming the record (keys mode checks
    commitments and record keys, and opens no value)."""
    from xinan.formats.package import records as R

    data = seal(varied(20), suite_name)
    ctx, block, ends, bad = _opened_ctx(data, suite_name)
    i = next(i for i in range(len(ends)) if i not in bad and i > 3)
    start = ends[i - 1]
    line = block[start : ends[i]]
    pieces = line.split(b'"')
    # the odd pieces are the strings: record id, 3 clear values, 3 sealed blobs, wrapped key
    at = {"commitment": 9, "value": 11, "wrapped record key": 15}[part]
    text = bytearray(pieces[at])
    pos = 3 if part != "value" else len(text) - 6  # a value's ciphertext is at the end
    text[pos] = ord("B") if text[pos] != ord("B") else ord("C")
    pieces[at] = bytes(text)
    damaged = block[:start] + b'"'.join(pieces) + block[ends[i] :]
    pattern = _lines_and_ctx(data, suite_name)[2]
    assert not set(L.unmatched(damaged, L.line_ends(damaged), pattern)) - bad
    if part == "value" and not opening:
        # keys mode opens no value: both readings return the same rows, the damaged blob kept
        assert R.block_rows(ctx, damaged, ends, bad, 0, opening=False) == _rows_the_long_way(
            ctx, damaged, ends, bad, False
        )
        return
    with pytest.raises(IntegrityError) as want:
        _rows_the_long_way(ctx, damaged, ends, bad, opening)
    with pytest.raises(IntegrityError) as got:
        R.block_rows(ctx, damaged, ends, bad, 0, opening=opening)
    assert got.value.message == want.value.message
    assert f"package record {i + 1}" in got.value.message


FLIP_CTX = _lines_and_ctx(seal(varied(8)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 7), st.data())
def test_an_edited_line_the_pattern_accepts_is_one_the_scalar_parser_accepts(
    which: int, data: st.DataObject
) -> None:
    """Edit bytes of a line (flip, insert, delete): the vector check may pass the edit to the
    scalar parser, never accept a line the scalar parser refuses."""
    ctx, lines, pattern = FLIP_CTX
    line = bytearray(lines[which][:-1])
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(line) - 1))
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        b = data.draw(st.integers(0, 255))
        if op == "flip":
            line[i] ^= b or 1
        elif op == "insert":
            line.insert(i, b)
        elif len(line) > 1:
            del line[i]
    edited = bytes(line) + b"\n"
    if b"\n" in edited[:-1]:
        return  # two lines: the cutter's business, not one line's
    accepted = not L.unmatched(edited, L.line_ends(edited), pattern)
    if accepted:
        assert _scalar_ok(ctx, edited)


def test_errors_come_in_file_order_whatever_the_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = seal(varied(200))
    lines = data.split(b"\n")
    lines[30] = lines[30][:-1] + b",1]"  # record 30: an extra item
    lines[150] = b"[]"  # record 150: wrong shape
    bad = b"\n".join(lines)
    monkeypatch.setattr(S, "BLOCK_BYTES", 512)
    for w in (1, 2):
        with pytest.raises(VerificationError, match="package record 30: must be an array"):
            P.verify_package(io.BytesIO(bad), trust=trust(), workers=w)


def test_flip_every_byte_in_small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every flipped byte is caught when the reader cuts the package into many blocks (the
    cutter is the same for verify and open; tests/formats/test_package.py flips every byte of
    an open)."""
    data = seal(varied(2))
    monkeypatch.setattr(S, "BLOCK_BYTES", 64)
    monkeypatch.setattr(S, "VECTOR_MIN_LINES", 1)  # the pattern checks each one-line block
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x01
        with pytest.raises((IntegrityError, VerificationError)):
            P.verify_package(io.BytesIO(bytes(bad)), trust=trust())
    released: list[P.OpenedRecord] = []
    bad = bytearray(data)
    bad[len(data) // 2] ^= 0x01
    with pytest.raises(XinanError):
        P.open_package(
            io.BytesIO(bytes(bad)), released.append, identity=ident("plat"), trust=trust()
        )
    assert released == []


def test_flips_caught_with_two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    data = seal(varied(60))
    monkeypatch.setattr(S, "BLOCK_BYTES", 1024)
    for i in (0, len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 2):
        bad = bytearray(data)
        bad[i] ^= 0x04
        with pytest.raises((IntegrityError, VerificationError)):
            open_with(bytes(bad), 2)


def test_the_spool_holds_no_plaintext_and_is_checked() -> None:
    recs = varied(50)
    data = seal(recs)
    with P.open_blocks(io.BytesIO(data), identity=ident("plat"), trust=trust()) as o:
        spool = o._scan.spool
        assert spool is not None
        spool.seek(0)
        raw = spool.read()
        for r in recs:
            for v in (*r.clear, *r.sealed):
                if len(v) > 4:
                    assert v.encode() not in raw
        # a byte of the spool changed: the block is refused, not released
        spool.seek(10)
        b = spool.read(1)
        spool.seek(10)
        spool.write(bytes([b[0] ^ 1]))
        with pytest.raises(IntegrityError, match="spool"):
            list(o.batches())


def test_pipe_is_read_once_without_a_copy() -> None:
    data = seal(varied(10))

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self._b = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, b: Any) -> int:
            chunk = self._b.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

    got: list[P.OpenedRecord] = []
    P.open_package(
        io.BufferedReader(Pipe()), got.append, identity=ident("plat"), trust=trust(), workers=2
    )
    assert [r.record_id for r in got] == [r.record_id for r in varied(10)]


@settings(max_examples=400, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=1, max_value=90), max_size=40),
    tail=st.integers(min_value=0, max_value=90),
    limit=st.integers(min_value=1, max_value=64),
)
def test_the_cutter_window_check_never_misses_a_long_line(
    lengths: list[int], tail: int, limit: int
) -> None:
    """``surely_short_lines`` may ask for a closer look when no line is too long, but it never
    says "no long line" when one is: lines of any length, a partial line at the end."""
    block = b"".join(b"x" * (n - 1) + b"\n" for n in lengths) + b"y" * tail
    whole = len(block) - tail
    ends = L.line_ends(block[:whole])
    exact_long = L.first_long_line(block[:whole], ends, limit) is not None
    assert L.count_lines(block[:whole]) == len(lengths)
    if L.surely_short_lines(block, whole, limit):
        assert not exact_long
    if not exact_long and max(lengths, default=0) <= limit // 2:
        assert L.surely_short_lines(block, whole, limit)  # short lines need no closer look


class _OnlyRead(io.RawIOBase):
    """A raw stream that implements ``read`` alone: its inherited ``readinto`` raises
    NotImplementedError (found in review)."""

    def __init__(self, data: bytes) -> None:
        self._b = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._b.read(size)


class _CountingReader(io.BufferedReader):
    """A buffered reader that counts what it reads (the header by ``readline``, the records by
    ``read``): a built-in ``readinto`` would go around its ``read``."""

    seen = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        _CountingReader.seen += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = super().readline(size)
        _CountingReader.seen += len(data)
        return data


@pytest.mark.parametrize("workers", [1, 2])
def test_streams_that_only_read_are_read_through_read(workers: int) -> None:
    data = seal(varied(10))
    assert P.verify_package(_OnlyRead(data), trust=trust(), workers=workers).count == 10
    _CountingReader.seen = 0
    counted = _CountingReader(io.BytesIO(data))  # type: ignore[arg-type]
    assert P.verify_package(counted, trust=trust(), workers=workers).count == 10
    assert _CountingReader.seen == len(data)  # every byte went through its read()


_HIGH_LIMIT_CHILD = """
import io, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # 2 GiB of address space in all
from tests.formats.test_package_read import seal, trust, varied
from xinan.formats import package as P
data = seal(varied(10))
limits = P.Limits(max_line_bytes=1 << 34)
info = P.verify_package(io.BytesIO(data), trust=trust(), workers=int(sys.argv[1]), limits=limits)
print(info.count)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS bounds the address space on Linux")
@pytest.mark.parametrize("workers", [1, 2])
def test_a_high_line_limit_costs_no_memory_until_a_line_needs_it(workers: int) -> None:
    """The reader's buffer and the workers' shared slots do not grow with max_line_bytes: with
    a 16 GiB limit (the long-line error's hint says it may be raised) a package of short lines
    reads in 2 GiB of address space, as with the default (found in review)."""
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", _HIGH_LIMIT_CHILD, str(workers)],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.split() == ["10"], proc.stderr[-2000:]
