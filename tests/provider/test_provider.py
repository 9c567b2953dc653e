"""The provider's mask job end to end on files: every record ends up in an output or in the
rejects file with its reason, and the counts add up (issue 3, parts 6–8)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.conftest import TODAY, FixedPseudonymKey
from xinan.errors import InputError
from xinan.identifiers import is_valid_resident_id
from xinan.masking import MaskContext
from xinan.provider.jobs import mask_file, scan_file
from xinan.provider.synth import Synth
from xinan.records import open_writer

ALL = ("public", "gov_share", "querent", "internal", "submission")


def write_kind(
    policy,
    path: Path,
    kind: str,
    n: int,
    *,
    bad_rate: float = 0.0,
    encoding: str = "utf-8",
    seed: int = 5,
):
    synth = Synth(policy, seed=seed, today=TODAY)
    k = policy.kind(kind)
    bad = 0
    with open_writer(path, k.columns, encoding=encoding) as w:
        for values, why in synth.rows(k, n, bad_rate=bad_rate):
            w.write(values)
            bad += why is not None
    return bad


def run(policy, src: Path, tmp_path: Path, audiences=ALL, **kw):
    outputs = {a: tmp_path / f"out-{a}.csv" for a in audiences}
    ctx = MaskContext(today=TODAY, default_pseudonymizer=FixedPseudonymKey())
    return mask_file(
        src, outputs, policy=policy, ctx=ctx, rejects=tmp_path / "rejects.csv", **kw
    ), outputs


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_counts_reconcile_per_audience(policy, tmp_path, encoding):
    src = tmp_path / "export.csv"
    bad = write_kind(policy, src, "penalty", 600, bad_rate=0.05, encoding=encoding)
    summary, outputs = run(policy, src, tmp_path)
    assert summary.encoding.replace("-", "").lower().startswith(encoding.replace("-", "")[:5])
    assert summary.read == 600 and summary.rejected == bad > 0
    assert summary.balanced()
    for a, path in outputs.items():
        c = summary.counts(a)
        rows = read_csv(path)
        assert len(rows) - 1 == c.written  # header + written rows
        assert c.read == c.written + c.withheld + c.rejected
    assert summary.counts("public").withheld > 0  # natural persons
    assert summary.counts("gov_share").withheld == 0
    rejects = read_csv(tmp_path / "rejects.csv")
    assert rejects[0] == ["row", "column", "reason", "code", "record"]
    assert len(rejects) - 1 == bad


def test_public_output_holds_no_full_identifier(policy, tmp_path):
    src = tmp_path / "export.csv"
    write_kind(policy, src, "penalty", 800)
    summary, outputs = run(policy, src, tmp_path, audiences=("public",))
    text = outputs["public"].read_text(encoding="utf-8")
    import re

    for m in re.finditer(r"(?<![0-9A-Z])[0-9]{17}[0-9X](?![0-9A-Z])", text):
        assert not is_valid_resident_id(m.group(0), today=TODAY)
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text)  # no mobile number
    assert summary.scrubbed["public"] > 0  # the synthetic free text does carry identifiers
    header = read_csv(outputs["public"])[0]
    assert "证件号码" not in header and "违法行为严重程度" not in header


def test_rejects_name_row_column_and_reason(policy, tmp_path):
    src = tmp_path / "export.csv"
    write_kind(policy, src, "penalty", 3)
    lines = src.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row3 = next(csv.reader([lines[2]]))
    row3[header.index("证件号码")] = "110105194912310020"  # wrong check character
    row3[header.index("行政相对人类别")] = "自然人"
    row3[header.index("证件类型")] = "身份证"
    lines[2] = ",".join(row3)
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary, _ = run(policy, src, tmp_path)
    assert summary.rejected == 1
    rej = read_csv(tmp_path / "rejects.csv")[1]
    assert rej[0] == "3" and rej[1] == "证件号码" and "check character" in rej[2]


def test_prohibited_column_rejects_rows_with_values(policy, tmp_path):
    src = tmp_path / "export.csv"
    k = policy.kind("person")
    synth = Synth(policy, seed=3, today=TODAY)
    with open_writer(src, [*k.columns, "血型"]) as w:
        for i, (values, _) in enumerate(synth.rows(k, 10)):
            w.write([*values, "A" if i % 2 else ""])
    summary, outputs = run(policy, src, tmp_path)
    assert summary.rejected == 5
    assert summary.reasons["血型: prohibited:blood_type"] == 5
    for path in outputs.values():
        assert "血型" not in read_csv(path)[0]


def test_consent_gated_field_needs_basis(policy, tmp_path):
    src = tmp_path / "export.csv"
    k = policy.kind("person")
    synth = Synth(policy, seed=4, today=TODAY)
    income, basis = k.index("个人年收入"), k.index("书面同意编号")
    with open_writer(src, k.columns) as w:
        for i, (values, _) in enumerate(synth.rows(k, 12)):
            values[income] = "12"
            values[basis] = "SQ1" if i < 4 else ""
            w.write(values)
    summary, outputs = run(policy, src, tmp_path)
    assert summary.rejected == 8
    assert all("consent-required:income" in r[2] for r in read_csv(tmp_path / "rejects.csv")[1:])
    assert summary.counts("public").withheld == 4  # the person kind is never public
    querent = read_csv(outputs["querent"])
    assert querent[1][querent[0].index("个人年收入")] == "10-30"  # band(5,10,30,50,100)


def test_unclassified_column_is_refused(policy, tmp_path):
    src = tmp_path / "export.csv"
    k = policy.kind("penalty")
    with open_writer(src, [*k.columns, "内部备注"]) as w:
        w.write([""] * (len(k.columns) + 1))
    with pytest.raises(InputError) as exc:
        run(policy, src, tmp_path)
    assert "内部备注" in exc.value.message and "row 1" in exc.value.message
    assert not (tmp_path / "out-public.csv").exists()  # nothing written


def test_missing_required_column_is_refused(policy, tmp_path):
    src = tmp_path / "export.csv"
    cols = [c for c in policy.kind("penalty").columns if c != "处罚决定日期"]
    with open_writer(src, cols) as w:
        w.write([""] * len(cols))
    with pytest.raises(InputError, match="处罚决定日期"):
        run(policy, src, tmp_path, kind="penalty")


def test_header_matching_no_kind(policy, tmp_path):
    src = tmp_path / "x.csv"
    src.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="matches no record kind"):
        run(policy, src, tmp_path)


def test_bad_rows_from_the_reader_are_rejected_and_counted(policy, tmp_path):
    src = tmp_path / "export.csv"
    write_kind(policy, src, "company", 5)
    lines = src.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2] + ",extra"  # ragged
    lines[3] = lines[3].replace(",", ",\x00", 1)  # NUL byte
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary, _ = run(policy, src, tmp_path)
    assert summary.read == 5 and summary.rejected == 2 and summary.balanced()
    rows = {r[0] for r in read_csv(tmp_path / "rejects.csv")[1:]}
    assert rows == {"3", "4"}


def test_jsonl_input(policy, tmp_path):
    import json

    src = tmp_path / "export.jsonl"
    k = policy.kind("license")
    synth = Synth(policy, seed=8, today=TODAY)
    with src.open("w", encoding="utf-8") as f:
        for values, _ in synth.rows(k, 20):
            f.write(
                json.dumps(dict(zip(k.columns, values, strict=True)), ensure_ascii=False) + "\n"
            )
    summary, _ = run(policy, src, tmp_path)
    assert summary.kind == "license" and summary.read == 20 and summary.rejected == 0


def test_scan_reports_identifiers_by_column(policy, tmp_path):
    src = tmp_path / "export.csv"
    write_kind(policy, src, "penalty", 300)
    report = scan_file(src, today=TODAY, policy=policy)
    cols = {c.column: c for c in report.columns}
    assert report.kind == "penalty" and report.rows == 300
    assert cols["法定代表人证件号码"].values["resident_id"] == cols["法定代表人证件号码"].non_empty
    assert cols["统一社会信用代码"].values["uscc"] > 0
    assert cols["违法事实"].in_text["mobile"] > 0
    assert "person_name" not in cols["违法行为严重程度"].values  # "一般" is no name


def test_memory_stays_flat(policy, tmp_path, monkeypatch):
    """Streaming: peak traced memory does not grow with the number of rows. The masking
    caches are bounded (a fixed cost, reached after tens of thousands of rows); shrink them
    here so that the rows this test can afford show the streaming behaviour alone."""
    import functools
    import tracemalloc

    from xinan.identifiers import split_chinese_name
    from xinan.masking import operators as masking

    monkeypatch.setattr(
        masking, "_find_cached", functools.lru_cache(maxsize=32)(masking._find_spans)
    )
    monkeypatch.setattr(masking, "_split_name", functools.lru_cache(maxsize=32)(split_chinese_name))

    peaks = []
    for n in (2_000, 8_000):
        src = tmp_path / f"e{n}.csv"
        write_kind(policy, src, "penalty", n, seed=n)
        tracemalloc.start()
        run(policy, src, tmp_path, audiences=("public", "querent"), batch_rows=256, workers=1)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] * 1.5, peaks


def test_stdout_output(policy, tmp_path, capsys):
    src = tmp_path / "export.csv"
    write_kind(policy, src, "company", 4)
    ctx = MaskContext(today=TODAY, default_pseudonymizer=FixedPseudonymKey())
    summary = mask_file(src, {"public": "-"}, policy=policy, ctx=ctx)
    out = capsys.readouterr().out
    assert summary.counts("public").written == 4
    assert len(list(csv.reader(io.StringIO(out)))) == 5
