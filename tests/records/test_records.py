"""Streaming record readers and writers (xinan.records, docs/records.md).

Every bad input in docs/records.md §6 has a test here asserting the row number and column.
All personal data below is synthetic.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Iterable
from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from xinan.errors import InputError, UsageError
from xinan.records import (
    RAW_LIMIT,
    SAMPLE_BYTES,
    BadRow,
    Format,
    RecordReader,
    Row,
    open_records,
    open_rejects,
    open_writer,
)

ROOT = Path(__file__).resolve().parents[2]
HEADER17 = [f"列{i}" for i in range(1, 18)]


def read_all(path: str | Path, **options: object) -> tuple[RecordReader, list[Row | BadRow]]:
    with open_records(path, **options) as reader:  # type: ignore[arg-type]
        return reader, list(reader)


def write(tmp_path: Path, data: bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rows_of(items: Iterable[Row | BadRow]) -> list[tuple[int, list[str]]]:
    out = []
    for item in items:
        assert isinstance(item, Row), item
        out.append((item.number, item.values))
    return out


def only_bad(items: Iterable[Row | BadRow]) -> list[BadRow]:
    return [item for item in items if isinstance(item, BadRow)]


# --------------------------------------------------------------------------------------------
# Encodings and detection (docs/records.md §2)
# --------------------------------------------------------------------------------------------

SAMPLE = (
    "姓名,统一社会信用代码,备注\r\n张三,91110000100000000A,䶮𠀀 GB18030-only\r\n李四,X,普通\r\n"
)


def test_utf8_is_detected(tmp_path: Path) -> None:
    reader, items = read_all(write(tmp_path, SAMPLE.encode()))
    assert (reader.encoding, reader.encoding_detected) == ("utf-8", True)
    assert reader.header == ["姓名", "统一社会信用代码", "备注"]
    assert rows_of(items) == [
        (2, ["张三", "91110000100000000A", "䶮𠀀 GB18030-only"]),
        (3, ["李四", "X", "普通"]),
    ]


def test_utf8_bom_is_detected_and_not_part_of_the_header(tmp_path: Path) -> None:
    reader, items = read_all(write(tmp_path, b"\xef\xbb\xbf" + SAMPLE.encode()))
    assert reader.encoding == "utf-8-sig"
    assert reader.header[0] == "姓名"
    assert len(rows_of(items)) == 2


def test_bom_is_dropped_when_utf8_is_named(tmp_path: Path) -> None:
    reader, _ = read_all(write(tmp_path, b"\xef\xbb\xbf" + SAMPLE.encode()), encoding="UTF8")
    assert (reader.encoding, reader.encoding_detected) == ("utf-8", False)
    assert reader.header[0] == "姓名"


def test_gb18030_is_detected_including_four_byte_characters(tmp_path: Path) -> None:
    data = SAMPLE.encode("gb18030")
    assert "𠀀".encode("gb18030") in data  # a four-byte GB18030 sequence, not in GBK
    reader, items = read_all(write(tmp_path, data))
    assert reader.encoding == "gb18030"
    assert rows_of(items)[0] == (2, ["张三", "91110000100000000A", "䶮𠀀 GB18030-only"])


@pytest.mark.parametrize("name", ["gbk", "GBK", "gb2312", "GB_2312"])
def test_gbk_and_gb2312_are_read_and_reported_as_named(tmp_path: Path, name: str) -> None:
    text = "企业名称,法定代表人\r\n北京某某科技有限公司,王五\r\n"
    reader, items = read_all(write(tmp_path, text.encode("gb2312")), encoding=name)
    assert reader.encoding == name.lower().replace("_", "")
    assert rows_of(items) == [(2, ["北京某某科技有限公司", "王五"])]


def test_gbk_file_is_detected_as_gb18030(tmp_path: Path) -> None:
    reader, items = read_all(write(tmp_path, "名称\r\n浙江\r\n".encode("gbk")))
    assert reader.encoding == "gb18030"
    assert rows_of(items) == [(2, ["浙江"])]


def test_character_split_at_the_sample_end_is_not_a_utf8_error(tmp_path: Path) -> None:
    prefix = "名称\n" + "a" * (SAMPLE_BYTES - 8)
    data = (prefix + "中文\n").encode()
    assert len(prefix.encode()) == SAMPLE_BYTES - 1  # "中" straddles the 64 KiB boundary
    reader, items = read_all(write(tmp_path, data))
    assert reader.encoding == "utf-8"
    assert rows_of(items) == [(2, ["a" * (SAMPLE_BYTES - 8) + "中文"])]


def test_unsupported_encoding_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unsupported encoding 'big5'"):
        open_records(write(tmp_path, b"a\n1\n"), encoding="big5")


def test_utf16_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="UTF-16") as caught:
        open_records(write(tmp_path, "a\tb\r\n".encode("utf-16")))
    assert caught.value.hint is not None and "UTF-8" in caught.value.hint


def test_xlsx_named_csv_is_refused(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.save(tmp_path / "book.xlsx")
    renamed = tmp_path / "book.csv"
    (tmp_path / "book.xlsx").rename(renamed)
    with pytest.raises(InputError, match="Excel workbook"):
        open_records(renamed)


def test_tab_separated_header_is_sniffed(tmp_path: Path) -> None:
    reader, items = read_all(write(tmp_path, "姓名\t地址\r\n张三\t北京,朝阳\r\n".encode()))
    assert reader.delimiter == "\t"
    assert rows_of(items) == [(2, ["张三", "北京,朝阳"])]


def test_header_names_are_trimmed_values_are_not(tmp_path: Path) -> None:
    reader, items = read_all(write(tmp_path, " 姓名 ,\t地址\r\n  张三 , x \r\n".encode()))
    assert reader.header == ["姓名", "地址"]
    assert rows_of(items) == [(2, ["  张三 ", " x "])]


# --------------------------------------------------------------------------------------------
# Row numbering, blank lines, stdin (docs/records.md §4)
# --------------------------------------------------------------------------------------------


def test_row_numbers_are_physical_lines(tmp_path: Path) -> None:
    data = b'\r\na,b\r\n1,"two\r\nlines"\r\n\r\n3,4\n5,"x\ny\nz"\n6,7'
    reader, items = read_all(write(tmp_path, data))
    assert reader.header_row == 2
    assert rows_of(items) == [
        (3, ["1", "two\r\nlines"]),
        (6, ["3", "4"]),
        (7, ["5", "x\ny\nz"]),
        (10, ["6", "7"]),
    ]


def test_old_mac_line_ends(tmp_path: Path) -> None:
    _, items = read_all(write(tmp_path, b"a,b\r1,2\r3,4\r"))
    assert rows_of(items) == [(2, ["1", "2"]), (3, ["3", "4"])]


def test_all_empty_records_are_dropped_only_at_the_end(tmp_path: Path) -> None:
    data = b"a,b\n,\n1,2\n,\n,\n\n,\n3,4\n,\n,\n  \n\n"
    _, items = read_all(write(tmp_path, data))
    assert rows_of(items) == [
        (2, ["", ""]),
        (3, ["1", "2"]),
        (4, ["", ""]),
        (5, ["", ""]),
        (7, ["", ""]),
        (8, ["3", "4"]),
    ]


def test_one_column_file_keeps_whitespace_values(tmp_path: Path) -> None:
    _, items = read_all(write(tmp_path, b'a\n x \n""\ny\n'))
    assert rows_of(items) == [(2, [" x "]), (3, [""]), (4, ["y"])]


def _run_reader_on_stdin(data: bytes, *args: str) -> list[object]:
    code = (
        "import json, sys\n"
        "from xinan.records import open_records, Row\n"
        "kw = json.loads(sys.argv[1])\n"
        "with open_records('-', **kw) as r:\n"
        "    out = [r.encoding, r.header]\n"
        "    out += [[x.number, x.values] if isinstance(x, Row) else [x.number, x.column]"
        " for x in r]\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        input=data,
        capture_output=True,
        check=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=60,
    )
    decoded: list[object] = json.loads(result.stdout)
    return decoded


def test_stdin_is_read_with_detection_on_a_peeked_sample() -> None:
    # More than the sample, so the sample and the rest of the pipe must join seamlessly.
    body = "".join(f"{i},名字{i}\r\n" for i in range(20_000))
    data = ("编号,名称\r\n" + body).encode("gb18030")
    assert len(data) > SAMPLE_BYTES
    out = _run_reader_on_stdin(data, "{}")
    assert out[0] == "gb18030"
    assert out[1] == ["编号", "名称"]
    assert len(out) == 2 + 20_000
    assert out[2] == [2, ["0", "名字0"]]
    assert out[-1] == [20_001, ["19999", "名字19999"]]


def test_stdin_jsonl_and_xlsx(tmp_path: Path) -> None:
    out = _run_reader_on_stdin(b'{"a": 1}\n{"a": "\xe4\xbd\xa0"}\n', '{"format": "jsonl"}')
    assert out == ["utf-8", ["a"], [1, ["1"]], [2, ["你"]]]
    workbook = openpyxl.Workbook()
    workbook.active.append(["名称"])
    workbook.active.append(["值"])
    workbook.save(tmp_path / "b.xlsx")
    out = _run_reader_on_stdin((tmp_path / "b.xlsx").read_bytes(), '{"format": "xlsx"}')
    assert out == [None, ["名称"], [2, ["值"]]]


def test_stdin_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = io.TextIOWrapper(io.BytesIO(b"a,b\n1,2\n"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", fake)
    reader, items = read_all("-")
    assert reader.path == "-"
    assert rows_of(items) == [(2, ["1", "2"])]


# --------------------------------------------------------------------------------------------
# Bad input (docs/records.md §5, §6)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", b"\xef\xbb\xbf", b"\n\r\n  \n\t\n", b"\xef\xbb\xbf\r\n\r\n", b",,,\n"],
    ids=["zero-bytes", "only-bom", "blank-lines", "bom-and-blank-lines", "only-delimiters"],
)
def test_empty_file_is_an_input_error_at_open(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InputError, match="file is empty") as caught:
        open_records(write(tmp_path, data))
    assert str(tmp_path / "in.csv") in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize("name", ["in.jsonl", "in.xlsx"])
def test_empty_jsonl_and_xlsx(tmp_path: Path, name: str) -> None:
    if name.endswith(".xlsx"):
        openpyxl.Workbook().save(tmp_path / name)
    else:
        (tmp_path / name).write_bytes(b"\n\n")
    with pytest.raises(InputError, match="file is empty"):
        open_records(tmp_path / name)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        open_records(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"a,,c", "header column 2 has an empty name"),
        (b"a,b, ", "header column 3 has an empty name"),
        (b"a,b,c,b", "header column 4 repeats the name of column 2"),
        (b"a, b ,b", "header column 3 repeats the name of column 2"),
    ],
)
def test_bad_header_names_the_position(tmp_path: Path, header: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        open_records(write(tmp_path, header + b"\n1,2,3\n"))
    assert caught.value.location is not None and caught.value.location.row == 1


def test_header_wider_than_max_columns(tmp_path: Path) -> None:
    header = ",".join(f"c{i}" for i in range(10)).encode()
    with pytest.raises(InputError, match="header has 10 columns, more than the limit of 9"):
        open_records(write(tmp_path, header + b"\n"), max_columns=9)


def test_header_with_undecodable_bytes(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="header column 2 contains bytes not valid in utf-8"):
        open_records(write(tmp_path, b"a,b\xff\n1,2\n"), encoding="utf-8")


def test_ragged_rows_name_the_first_missing_or_extra_column(tmp_path: Path) -> None:
    lines = [",".join(HEADER17)]
    lines.append(",".join(["x"] * 17))
    lines.append(",".join(["x"] * 15))  # row 3: too few
    lines.append('"multi\nline",' + ",".join(["x"] * 16))  # rows 4-5
    lines.append(",".join(["x"] * 19))  # row 6: too many
    lines.append("x")  # row 7: one field
    lines.append(",".join(["x"] * 17))
    _, items = read_all(write(tmp_path, "\n".join(lines).encode()))
    assert [(i.number, type(i).__name__) for i in items] == [
        (2, "Row"),
        (3, "BadRow"),
        (4, "Row"),
        (6, "BadRow"),
        (7, "BadRow"),
        (8, "Row"),
    ]
    bad = only_bad(items)
    assert (bad[0].number, bad[0].column, bad[0].reason) == (
        3,
        "列16",
        "row has 15 fields, header has 17",
    )
    assert (bad[1].number, bad[1].column, bad[1].reason) == (
        6,
        "(extra column 18)",
        "row has 19 fields, header has 17",
    )
    assert (bad[2].column, bad[2].reason) == ("列2", "row has 1 field, header has 17")
    assert bad[0].raw == ",".join(["x"] * 15)


def test_nul_byte_names_the_column_and_reading_goes_on(tmp_path: Path) -> None:
    data = "姓名,证件号码,地址\n张三,1101\x0001,北京\n李四,2,上海\n".encode()
    _, items = read_all(write(tmp_path, data))
    [bad] = only_bad(items)
    assert (bad.number, bad.column, bad.reason) == (2, "证件号码", "NUL byte")
    assert bad.raw == "张三,1101\\x0001,北京"
    assert rows_of(items[1:]) == [(3, ["李四", "2", "上海"])]


def test_broken_gb18030_byte_names_the_column_and_reading_goes_on(tmp_path: Path) -> None:
    data = (
        "姓名,地址,备注\r\n张三,北京,无\r\n".encode("gb18030")
        + "李四,".encode("gb18030")
        + b"\x81,"  # a lead byte with no trail byte: not GB18030
        + "有\r\n王五,上海,无\r\n".encode("gb18030")
    )
    _, items = read_all(write(tmp_path, data), encoding="gb18030")
    assert [type(i).__name__ for i in items] == ["Row", "BadRow", "Row"]
    bad = items[1]
    assert isinstance(bad, BadRow)
    assert (bad.number, bad.column, bad.reason) == (3, "地址", "bytes not valid in gb18030")
    assert bad.raw == "李四,\\x81,有"
    assert rows_of([items[2]]) == [(4, ["王五", "上海", "无"])]


def test_latin1_byte_in_forced_utf8_names_the_column(tmp_path: Path) -> None:
    data = "名称,城市\n甲,北京\n乙,".encode() + b"Z\xfcrich\n" + "丙,上海\n".encode()
    _, items = read_all(write(tmp_path, data), encoding="utf-8")
    [bad] = only_bad(items)
    assert (bad.number, bad.column, bad.reason) == (3, "城市", "bytes not valid in utf-8")
    assert bad.raw == "乙,Z\\xfcrich"
    assert [i.number for i in items] == [2, 3, 4]


def test_latin1_byte_after_the_detection_sample_says_detected(tmp_path: Path) -> None:
    first = "名称,城市\n" + "".join(f"{i},北京\n" for i in range(8000))
    assert len(first.encode()) > SAMPLE_BYTES
    data = first.encode() + b"x,Z\xfcrich\n" + b"y,ok\n"
    reader, items = read_all(write(tmp_path, data))
    assert reader.encoding == "utf-8"
    [bad] = only_bad(items)
    assert (bad.number, bad.column) == (8002, "城市")
    assert bad.reason.startswith("bytes not valid in utf-8 (the encoding detected")
    assert items[-1] == Row(8003, ["y", "ok"])


def test_ten_megabyte_field_is_one_bad_row_and_reading_goes_on(tmp_path: Path) -> None:
    big = "大" * (10 * 1024 * 1024)
    data = f"编号,内容,备注\n1,短,a\n2,{big},b\n3,短,c\n".encode()
    _, items = read_all(write(tmp_path, data))
    assert [i.number for i in items] == [2, 3, 4]
    bad = items[1]
    assert isinstance(bad, BadRow)
    assert (bad.number, bad.column) == (3, "内容")
    assert bad.reason == "field longer than 1048576 characters"
    assert bad.raw.startswith("2,大大大")
    assert len(bad.raw) < RAW_LIMIT + 100
    assert bad.raw.endswith(f"…[truncated: {len(big) + 5} characters in all]")  # 2, ,b\n
    assert rows_of([items[0], items[2]]) == [(2, ["1", "短", "a"]), (4, ["3", "短", "c"])]


def test_quoted_multiline_field_past_the_record_cap_resyncs(tmp_path: Path) -> None:
    # The field spans 3000 lines with doubled quotes and commas inside; the reader must skip
    # exactly to its end and go on at the next record.
    big = '"' + 'x"",y\n' * 3000 + '"'
    data = f"a,b,c\n1,2,3\n4,{big},6\n7,8,9\n".encode()
    _, items = read_all(write(tmp_path, data), max_field_chars=100, max_record_chars=1000)
    assert [i.number for i in items] == [2, 3, 3004]
    bad = items[1]
    assert isinstance(bad, BadRow)
    assert (bad.column, bad.reason) == ("b", "field longer than 100 characters")
    assert items[2] == Row(3004, ["7", "8", "9"])


def test_field_over_max_field_chars_but_under_the_cap(tmp_path: Path) -> None:
    data = b"a,b\n1," + b"y" * 500 + b"\n" + b"2,ok\n"
    _, items = read_all(write(tmp_path, data), max_field_chars=100)
    bad = items[0]
    assert isinstance(bad, BadRow)
    assert (bad.number, bad.column, bad.reason) == (2, "b", "field longer than 100 characters")
    assert items[1] == Row(3, ["2", "ok"])


def test_unterminated_quote_reports_once_and_keeps_rows_before(tmp_path: Path) -> None:
    data = b'a,b,c\n1,2,3\n4,5,6\n7,"8,9\n10,11,12\n13,14,15\n'
    _, items = read_all(write(tmp_path, data))
    assert rows_of(items[:2]) == [(2, ["1", "2", "3"]), (3, ["4", "5", "6"])]
    [bad] = items[2:]
    assert isinstance(bad, BadRow)
    assert (bad.number, bad.column) == (4, "b")
    assert bad.reason == (
        "unterminated quoted field; the rest of the file (rows 4–6) could not be parsed"
    )
    assert bad.raw.startswith('7,"8,9')


def test_unterminated_quote_longer_than_the_cap(tmp_path: Path) -> None:
    rest = "".join(f"{i},x,y\n" for i in range(5000))
    data = f'a,b,c\n1,2,3\n4,5,"never closed\n{rest}'.encode()
    _, items = read_all(write(tmp_path, data), max_field_chars=100, max_record_chars=1000)
    assert rows_of(items[:1]) == [(2, ["1", "2", "3"])]
    [bad] = items[1:]
    assert isinstance(bad, BadRow)
    assert (bad.number, bad.column) == (3, "c")
    assert bad.reason.endswith("(rows 3–5003) could not be parsed")


def test_unterminated_quote_in_the_header(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unterminated quoted field in the header"):
        open_records(write(tmp_path, b'a,"b\n1,2\n'))


@given(text=st.text(st.sampled_from(["a", "é", ",", '"', "\n", "\r", "\x00", "\xff"]), max_size=60))
@settings(max_examples=400, deadline=None)
def test_skipping_an_overlong_record_agrees_with_parsing_it(text: str) -> None:
    """The record cap's quote-following skip (§6) lands where csv's own parse would.

    Read the same bytes twice, with no practical cap and with a tiny one: every record must
    get the same row number, and every record not too long must come out the same.
    """
    data = b"h1,h2\n" + text.encode("utf-8", "surrogateescape").replace(b"\xc3\xbf", b"\xff")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "in.csv"
        path.write_bytes(data)
        _, whole = read_all(path, encoding="utf-8")
        _, capped = read_all(path, encoding="utf-8", max_field_chars=3, max_record_chars=6)
    assert [i.number for i in capped] == [i.number for i in whole]
    by_number = {i.number: i for i in whole}
    for item in capped:
        other = by_number[item.number]
        if isinstance(item, Row) or "longer than" not in item.reason:
            assert item == other
            assert isinstance(item, Row) or item.raw == other.raw


def test_problems_order_one_bad_row_per_record(tmp_path: Path) -> None:
    # Too long beats undecodable beats NUL-or-ragged: one BadRow, the first problem found.
    data = b"a,b\n" + b"\xff,\x00," + b"z" * 50 + b"\n"
    _, items = read_all(write(tmp_path, data), encoding="utf-8", max_field_chars=10)
    [bad] = items
    assert isinstance(bad, BadRow)
    assert (bad.column, bad.reason) == ("(extra column 3)", "field longer than 10 characters")


def test_bad_row_repr_and_row_repr_hold_no_values() -> None:
    assert "secret" not in repr(BadRow(2, "a", "NUL byte", "secret value"))
    assert "secret" not in repr(Row(2, ["secret value"]))


# --------------------------------------------------------------------------------------------
# JSON Lines (docs/records.md §3.2)
# --------------------------------------------------------------------------------------------


def test_jsonl_values_and_bad_lines(tmp_path: Path) -> None:
    lines = [
        '{"名称": "甲", "金额": 12, "比例": 0.5, "有效": true, "备注": null}',
        '{"备注": "x", "名称": "乙", "金额": -3, "比例": 1e20, "有效": false}',
        "",
        "[1, 2]",
        '{"名称": {"x": 1}, "金额": 1, "比例": 1, "有效": 1, "备注": 1}',
        '{"名称": "丙"}',
        '{"名称": "丁", "金额": 1, "比例": 1, "有效": 1, "备注": 1, "多": 1}',
        "{not json",
        '{"名称": "戊", "金额": NaN, "比例": 1, "有效": 1, "备注": 1}',
        '{"名称": "己", "金额": 1, "比例": 1, "有效": 1, "备注": "a\\u0000b"}',
        '{"名称": "庚", "名称": "辛", "金额": 1, "比例": 1, "有效": 1, "备注": 1}',
        '{"名称": "壬", "金额": 1, "比例": 1, "有效": 1, "备注": "ok"}\r',
    ]
    reader, items = read_all(write(tmp_path, "\n".join(lines).encode(), "in.jsonl"))
    assert reader.format is Format.JSONL
    assert reader.header == ["名称", "金额", "比例", "有效", "备注"]
    assert items[0] == Row(1, ["甲", "12", "0.5", "true", ""])
    assert items[1] == Row(2, ["乙", "-3", "1e+20", "false", "x"])
    assert [(b.number, b.column, b.reason) for b in only_bad(items)] == [
        (4, None, "not a JSON object"),
        (5, "名称", "nested value (object or array) where text was expected"),
        (6, "金额", "key missing"),
        (7, "多", "key not in the header (the keys of the first object)"),
        (8, None, "not valid JSON"),
        (9, None, "not valid JSON"),
        (10, "备注", "NUL byte"),
        (11, "名称", "key repeated"),
    ]
    assert items[-1] == Row(12, ["壬", "1", "1", "1", "ok"])


@pytest.mark.parametrize(
    ("first", "message"),
    [
        (b"[1]", "the first line is not a JSON object"),
        (b"{oops", "the first line is not a JSON object"),
        (b'{"a": 1, "a": 2}', "key 2 of the first object repeats the key 1"),
        (b'{" ": 1}', "key 1 of the first object is empty"),
    ],
)
def test_jsonl_first_line_problems(tmp_path: Path, first: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        open_records(write(tmp_path, first + b"\n", "in.jsonl"))


def test_jsonl_overlong_line_is_skipped(tmp_path: Path) -> None:
    data = b'{"a": "1"}\n{"a": "' + b"x" * 5000 + b'"}\n{"a": "3"}\n'
    _, items = read_all(write(tmp_path, data, "in.jsonl"), max_field_chars=100)
    assert [type(i).__name__ for i in items] == ["Row", "BadRow", "Row"]
    assert isinstance(items[1], BadRow)
    assert (items[1].number, items[1].reason) == (2, "line longer than 400 characters")
    assert items[2] == Row(3, ["3"])


# --------------------------------------------------------------------------------------------
# XLSX (docs/records.md §3.3)
# --------------------------------------------------------------------------------------------


def _workbook(path: Path, rows: list[list[object]], title: str | None = None) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    if title:
        other = workbook.create_sheet(title)
        other.append(["第二张表"])
        other.append(["x"])
    workbook.save(path)
    return path


def test_xlsx_values_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "in.xlsx",
        [
            [" 名称 ", "整数", "小数", "日期", "时间", "布尔", None],
            ["甲", 12, 2.5, datetime(2024, 1, 15), datetime(2024, 1, 15, 9, 30), True],
            [None, None, None, None, None, None],
            ["乙", 3.0, 0.1, date(2023, 12, 31), time(8, 0), False],
            ["丙"],
            ["丁", 1, 1, None, None, None, None, "extra"],
            [None],
            [],
        ],
    )
    reader, items = read_all(path)
    assert (reader.format, reader.encoding) == (Format.XLSX, None)
    assert reader.header == ["名称", "整数", "小数", "日期", "时间", "布尔"]
    assert rows_of(items[:3]) == [
        (2, ["甲", "12", "2.5", "2024-01-15", "2024-01-15T09:30:00", "TRUE"]),
        (4, ["乙", "3", "0.1", "2023-12-31", "08:00:00", "FALSE"]),
        (5, ["丙", "", "", "", "", ""]),
    ]
    [bad] = items[3:]
    assert isinstance(bad, BadRow)
    assert (bad.number, bad.column, bad.reason) == (
        6,
        "(extra column 8)",
        "row has 8 fields, header has 6",
    )


def test_xlsx_sheet_option(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "in.xlsx", [["a"], ["1"]], title="其他")
    reader, items = read_all(path, sheet="其他")
    assert reader.header == ["第二张表"]
    assert rows_of(items) == [(2, ["x"])]
    with pytest.raises(InputError, match="has no sheet named 'nope'"):
        open_records(path, sheet="nope")


def test_xlsx_duplicate_header_and_broken_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="header column 2 repeats the name of column 1"):
        open_records(_workbook(tmp_path / "dup.xlsx", [["a", "a"]]))
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match=r"not a readable \.xlsx workbook"):
        open_records(tmp_path / "broken.xlsx")


def test_legacy_xls_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"legacy Excel \.xls"):
        open_records(tmp_path / "old.xls")


# --------------------------------------------------------------------------------------------
# Memory (docs/records.md §1: flat whatever the file size)
# --------------------------------------------------------------------------------------------


def _peak_while_reading(path: Path, **options: object) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = 0
        with open_records(path, **options) as reader:  # type: ignore[arg-type]
            for _ in reader:
                count += 1
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_reader_memory_stays_flat_over_200000_rows(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="gb18030", newline="") as out:
        out.write(",".join(HEADER17) + "\r\n")
        row = ",".join(f"北京某某科技有限公司{i}" for i in range(17)) + "\r\n"
        for _ in range(200_000):
            out.write(row)
    assert path.stat().st_size > 50_000_000
    count, peak = _peak_while_reading(path)
    assert count == 200_000
    assert peak < 3_000_000, f"peak {peak} bytes"


@pytest.mark.slow
def test_memory_stays_flat_for_a_quote_that_never_closes(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write('a,b\n1,"never closed\n')
        for i in range(200_000):
            out.write(f"{i},这一行在引号里面\n")
    assert path.stat().st_size > 5_000_000
    count, peak = _peak_while_reading(path, max_field_chars=16_384)
    assert count == 1
    assert peak < 3_000_000, f"peak {peak} bytes"


# --------------------------------------------------------------------------------------------
# Writers (docs/records.md §7)
# --------------------------------------------------------------------------------------------

# Text a CSV or JSON Lines record can carry: anything but lone surrogates and NUL, which the
# readers report as BadRows (docs/records.md §6).
VALUE = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
# Header names: no tab (a header with tabs and no comma is read as TSV, docs §3.1), no edge
# whitespace (trimmed, docs §5).
NAME = st.text(
    st.characters(exclude_categories=["Cs", "Cc"], exclude_characters="\ufeff"),
    min_size=1,
    max_size=8,
).filter(lambda name: name == name.strip() and name.strip("\ufeff") == name)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    header = draw(st.lists(NAME, min_size=1, max_size=6, unique=True))
    width = len(header)
    rows = draw(st.lists(st.lists(VALUE, min_size=width, max_size=width), max_size=12))
    return header, rows


@given(table=tables())
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@pytest.mark.parametrize(
    ("suffix", "encoding", "read_as"),
    [
        (".csv", "utf-8", None),
        (".csv", "utf-8-sig", None),
        # Short GB18030 text can happen to be valid UTF-8, so name it rather than detect it.
        (".csv", "gb18030", "gb18030"),
        (".jsonl", "utf-8", None),
    ],
)
def test_write_then_read_round_trips(
    tmp_path: Path,
    suffix: str,
    encoding: str,
    read_as: str | None,
    table: tuple[list[str], list[list[str]]],
) -> None:
    header, rows = table
    if suffix == ".jsonl":
        assume(rows)  # JSON Lines keeps its header in the records: no records, no header
    path = tmp_path / f"round{suffix}"
    with open_writer(path, header, encoding=encoding) as writer:
        for values in rows:
            writer.write(values)
    assert writer.count == len(rows)
    expected = list(rows)
    if suffix == ".csv" and len(header) > 1:
        while expected and not any(expected[-1]):
            expected.pop()  # trailing lines of only delimiters are dropped (docs §4)
    reader, items = read_all(path, encoding=read_as)
    assert reader.header == header
    first = 2 if suffix == ".csv" else 1
    got = rows_of(items)
    assert [values for _, values in got] == expected
    if suffix == ".jsonl":
        assert [number for number, _ in got] == list(range(first, first + len(rows)))


def test_csv_writer_output_is_rfc4180(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    with open_writer(path, ["名称", "备注"]) as writer:
        writer.write(["甲", 'say "hi", then\nleave'])
    assert path.read_bytes() == '名称,备注\r\n甲,"say ""hi"", then\nleave"\r\n'.encode()


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8-sig"])
def test_writer_encodings_round_trip(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "out.csv"
    with open_writer(path, ["名称"], encoding=encoding) as writer:
        writer.write(["浙江"])
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    assert rows_of(read_all(path, encoding=encoding)[1]) == [(2, ["浙江"])]


def test_unencodable_value_names_row_and_column_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    with (
        pytest.raises(InputError, match="cannot be written in gbk") as caught,
        open_writer(path, ["名称", "备注"], encoding="gbk") as writer,
    ):
        writer.write(["甲", "ok"])
        writer.write(["乙", "𠀀 is not in GBK"])
    assert caught.value.location is not None
    assert (caught.value.location.row, caught.value.location.column) == (3, "备注")
    assert "𠀀" not in caught.value.message
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_bad_calls(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"as \.xlsx files only"):
        open_writer(tmp_path / "out.xlsm", ["a"])
    with pytest.raises(UsageError, match="cannot write encoding"):
        open_writer(tmp_path / "out.csv", ["a"], encoding="big5")
    with pytest.raises(ValueError, match="distinct"):
        open_writer(tmp_path / "out.csv", ["a", "a"])
    with open_writer(tmp_path / "out.csv", ["a", "b"]) as writer, pytest.raises(ValueError):
        writer.write(["only one"])


def test_writer_format_from_extension(tmp_path: Path) -> None:
    for name, fmt in [("o.csv", "csv"), ("o.jsonl", "jsonl"), ("o.json", "jsonl"), ("o", "csv")]:
        with open_writer(tmp_path / name, ["a"]) as writer:
            writer.write(["1"])
        assert writer.format == fmt


def test_writer_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("old\n")
    with pytest.raises(RuntimeError), open_writer(path, ["a"]) as writer:
        writer.write(["1"])
        raise RuntimeError("stop")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
    writer = open_writer(path, ["a"])
    writer.write(["2"])
    writer.abort()
    assert path.read_text() == "old\n"


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_secret_writer_is_0600(tmp_path: Path) -> None:
    with open_writer(tmp_path / "out.csv", ["a"], secret=True) as writer:
        writer.write(["1"])
    assert stat.S_IMODE((tmp_path / "out.csv").stat().st_mode) == 0o600


def test_writer_to_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    with open_writer("-", ["名称"]) as writer:
        writer.write(["甲"])
    assert capfd.readouterr().out == "名称\r\n甲\r\n"


# --------------------------------------------------------------------------------------------
# Rejects (docs/records.md §8)
# --------------------------------------------------------------------------------------------


def test_rejects_csv_has_a_bom_a_header_and_defused_cells(tmp_path: Path) -> None:
    path = tmp_path / "rejects.csv"
    with open_rejects(path) as rejects:
        rejects.write(BadRow(3, "证件号码", "NUL byte", "张三,1101\\x0001"))
        rejects.reject(7, "金额", "not a number", ["=HYPERLINK(1)", "-5"])
        rejects.write(BadRow(9, None, "not valid JSON", "\udc81 raw"))
    assert rejects.count == 3
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfrow,column,reason,code,record\r\n")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows == [
        ["row", "column", "reason", "code", "record"],
        ["3", "证件号码", "NUL byte", "nul_byte", "张三,1101\\x0001"],
        ["7", "金额", "not a number", "bad_number", "'=HYPERLINK(1),-5"],
        ["9", "", "not valid JSON", "invalid_value", "\\x81 raw"],
    ]
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_rejects_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "rejects.jsonl"
    with open_rejects(path) as rejects:
        rejects.reject(2, None, "row has 1 field, header has 2", ["=1"])
    assert [json.loads(line) for line in path.read_text().splitlines()] == [
        {
            "row": 2,
            "column": None,
            "reason": "row has 1 field, header has 2",
            "code": "field_count",
            "record": "=1",
        }
    ]


def test_rejects_none_only_counts_and_keeps_samples_without_data() -> None:
    with open_rejects(None) as rejects:
        for number in range(2, 32):
            rejects.reject(number, "a", "bad", ["clear value"])
    assert rejects.count == 30
    assert len(rejects.samples) == 20
    assert rejects.samples[0] == BadRow(2, "a", "bad", "")


def test_rejects_file_from_a_real_read(tmp_path: Path) -> None:
    source = write(tmp_path, b"a,b\n1\n2,2\n3,\x00\n")
    with open_records(source) as reader, open_rejects(tmp_path / "r.csv") as rejects:
        good = 0
        for item in reader:
            if isinstance(item, BadRow):
                rejects.write(item)
            else:
                good += 1
    assert (good, rejects.count) == (1, 2)
    text = (tmp_path / "r.csv").read_bytes().decode("utf-8-sig")
    assert text == (
        'row,column,reason,code,record\r\n2,b,"row has 1 field, header has 2",field_count,1\r\n'
        '4,b,NUL byte,nul_byte,"3,\\x00"\r\n'
    )


# -- .xlsx output (docs/records.md §7.1) -------------------------------------------------------


def test_xlsx_writer_round_trip_text_cells(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    values = ["110105194912310029", "0012", '=HYPERLINK("http://x")', "张三"]
    with open_writer(path, ["证件号码", "编号", "备注", "姓名"], secret=True) as writer:
        writer.write(values)
        writer.write(["", "", "", ""])
    assert writer.count == 2
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sheet = openpyxl.load_workbook(path).active
    assert [c.value for c in sheet[1]] == ["证件号码", "编号", "备注", "姓名"]
    # every cell is text: no ID turned into a float, no zero lost, no formula
    assert [(c.value, c.data_type) for c in sheet[2]] == [(v, "s") for v in values]
    with open_records(path) as reader:
        rows = [r.values for r in reader if isinstance(r, Row)]
    assert rows[0] == values


def test_xlsx_writer_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    with pytest.raises(RuntimeError), open_writer(path, ["a"]) as writer:
        writer.write(["1"])
        raise RuntimeError("stop")
    assert not path.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_xlsx_writer_refuses_stdout() -> None:
    with pytest.raises(UsageError):
        open_writer("-", ["a"], format=Format.XLSX)
