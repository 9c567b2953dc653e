"""Reading CSV in byte ranges (xinan/engine/ranges.py, docs/engine.md §3): the workers' blocks
give exactly the records, bad records and row numbers the record reader gives on its own —
whatever the encoding, the block size, and whatever odd lines sit in the middle of the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TODAY, FixedPseudonymKey
from xinan.engine.io import RecordSource, materialise
from xinan.engine.jobs import mask_file
from xinan.engine.ranges import RangeChunk
from xinan.masking import MaskContext

HEADER = "名称,代码,金额,说明\r\n"
GOOD = "枣庄某某商贸有限公司{i},9137040{i:011d},{i}.5,当事人张三{i}于2026年未按规定经营\r\n"


def _lines(n: int) -> list[str]:
    return [GOOD.format(i=i) for i in range(n)]


def _records(src: Path, *, ranges: bool, rows: int) -> tuple[list, list, int]:
    """(rows as (number, values)), (bad as (number, column, reason, raw)), range blocks."""
    got: list = []
    bad: list = []
    blocks = 0
    with RecordSource(src, None) as s:
        for item in s.chunks(rows=rows, ranges=ranges):
            blocks += isinstance(item, RangeChunk)
            chunk = materialise(item)
            cols = [c.to_pylist() for c in chunk.batch.columns]
            got += [(r[-1], r[:-1]) for r in zip(*cols, strict=True)]
            bad += [(b.number, b.column, b.reason, b.raw) for b in chunk.bad]
    return got, bad, blocks


ODD = {
    "short row": "只有,三个,字段\r\n",
    "long row": "a,b,c,d,e\r\n",
    "blank line": "\r\n",
    "spaces only": "   \r\n",
    "nul byte": "名称\x00,1,2,3\r\n",
    "bad byte": None,  # an undecodable byte, written below
    "first field empty": ",913704000000000000,1.5,说明\r\n",
}


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030", "utf-8-sig"])
@pytest.mark.parametrize("odd", sorted(ODD))
def test_ranges_read_what_the_reader_reads(tmp_path: Path, encoding: str, odd: str) -> None:
    lines = _lines(2000)
    src = tmp_path / "in.csv"
    body = [x.encode(encoding if encoding != "utf-8-sig" else "utf-8") for x in lines]
    middle = ODD[odd]
    body[1000] = b"\xff\xfe,1,2,3\r\n" if middle is None else middle.encode("utf-8")
    head = HEADER.encode(encoding)
    src.write_bytes(head + b"".join(body))
    for rows in (64, 1000):
        plain = _records(src, ranges=False, rows=rows)
        cut = _records(src, ranges=True, rows=rows)
        assert cut[:2] == plain[:2], (odd, rows)
        assert cut[2] >= 1  # the file was cut into byte ranges
    # the odd line is where it was (blank lines and a first field left empty are no bad record)
    assert plain[1] or odd in {"blank line", "spaces only", "first field empty"}
    if plain[1]:
        assert plain[1][0][0] == 1002  # header is row 1, the odd line row 1002


@pytest.mark.parametrize(
    "odd",
    [
        '"引号, 内有逗号",1,2,3\r\n',  # a quoted field: the rest is read by the reader
        '"跨行\r\n的字段",1,2,3\r\n',  # a quoted line break
        ",,,\r\n",  # an all-empty line (dropped only at the end of the file)
        "a\rb,1,2,3\r\n",  # a lone carriage return
    ],
)
def test_files_that_are_not_plain_fall_back_exactly(tmp_path: Path, odd: str) -> None:
    lines = _lines(300)
    lines[150] = odd
    src = tmp_path / "in.csv"
    src.write_bytes((HEADER + "".join(lines) + ",,,\r\n").encode("gb18030"))
    for rows in (5, 50):
        cut = _records(src, ranges=True, rows=rows)
        assert cut[:2] == _records(src, ranges=False, rows=rows)[:2]


def test_same_bytes_through_ranges_and_the_reader(policy, tmp_path: Path) -> None:
    """The whole mask job: byte ranges in 1 or 2 workers, or the reader alone (a quote in the
    first line makes the file not plain), write the same outputs and rejects."""
    from tests.engine.test_engine import write_kind

    src = tmp_path / "e.csv"
    write_kind(policy, src, "penalty", 1500, bad_rate=0.02, seed=21)
    data = src.read_bytes()
    head, _, body = data.partition(b"\r\n")
    quoted = tmp_path / "q.csv"  # the same records, the first one's first field quoted
    first, _, rest = body.partition(b",")
    quoted.write_bytes(head + b"\r\n" + b'"' + first + b'",' + rest)
    outs = []
    for path, workers in ((src, 1), (src, 2), (quoted, 2)):
        d = tmp_path / f"{path.stem}{workers}"
        d.mkdir()
        ctx = MaskContext(today=TODAY, default_pseudonymizer=FixedPseudonymKey())
        s = mask_file(
            path,
            {"public": d / "p.csv", "gov_share": d / "g.csv"},
            policy=policy,
            ctx=ctx,
            rejects=d / "r.csv",
            workers=workers,
            batch_rows=128,
        )
        assert s.read == 1500 and s.balanced() and s.rejected > 0
        outs.append([(d / n).read_bytes() for n in ("p.csv", "g.csv", "r.csv")])
    assert outs[0] == outs[1] == outs[2]
