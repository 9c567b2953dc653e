"""Spark's masked output equals the local engine's on the fixtures, row for row and byte for
byte (issue 14 §2); rejects come back with row ids and the local reasons."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import TODAY, FixedPseudonymKey
from xinan.crypto.base import SuiteName
from xinan.masking import MaskContext
from xinan.provider.jobs import mask_file
from xinan.provider.synth import Synth
from xinan.records import open_writer
from xinan.spark.frames import plan_stage, policy_text, run_frames
from xinan.spark.keys import ExecutorKeys, PseudonymMaterial

AUDIENCES = ["public", "gov_share", "querent", "internal"]


def fixed_keys() -> ExecutorKeys:
    """The executor-side twin of tests.conftest.FixedPseudonymKey (same key id, same bytes)."""
    return ExecutorKeys(
        SuiteName.INTL,
        "any",
        pseudonyms={"subject": PseudonymMaterial("xs1testkey", SuiteName.INTL, b"\x07" * 32)},
    )


def write_export(policy, path: Path, n: int, *, encoding: str = "utf-8", seed: int = 3) -> None:
    synth = Synth(policy, seed=seed, today=TODAY)
    k = policy.kind("penalty")
    with open_writer(path, k.columns, encoding=encoding) as w:
        for values, _why in synth.rows(k, n, bad_rate=0.06):
            w.write(values)


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_spark_views_equal_local(spark, policy, tmp_path, encoding):
    src = tmp_path / "export.csv"
    write_export(policy, src, 300, encoding=encoding)
    outs = {a: tmp_path / f"local-{a}.csv" for a in AUDIENCES}
    ctx = MaskContext(today=TODAY, default_pseudonymizer=FixedPseudonymKey())
    summary = mask_file(src, outs, policy=policy, ctx=ctx, rejects=tmp_path / "rejects.csv")
    assert summary.rejected > 0  # the fixture exercises the reject path

    df = (
        spark.read.option("header", True)
        .option("encoding", "GB18030" if encoding == "gb18030" else "UTF-8")
        .csv(str(src))
        .repartition(1)  # one partition, so (xinan_part, xinan_row) is the file's order
    )
    spec, _kind, sql = plan_stage(
        policy,
        df.columns,
        text=policy_text(policy),
        audiences=AUDIENCES,
        today=TODAY,
        keys=fixed_keys(),
    )
    assert sql["querent"], "some masks run as native Spark SQL"
    frames = run_frames(df, policy, spec)
    for a in AUDIENCES:
        local = read_csv(outs[a])
        view = frames.views[a]
        assert view.columns[2:] == local[0]
        got = [list(r)[2:] for r in view.orderBy("xinan_part", "xinan_row").collect()]
        assert got == local[1:], a
        assert len(got) == summary.per_audience[a].written

    local_rejects = read_csv(tmp_path / "rejects.csv")[1:]
    rejects = frames.rejects.orderBy("xinan_part", "xinan_row").collect()
    assert [(r["column"] or "", r["reason"]) for r in rejects] == [
        (row[1], row[2]) for row in local_rejects
    ]
    # row ids: the local file's data row numbers (header is row 1) minus 2 = Spark's xinan_row
    assert [r["xinan_row"] for r in rejects] == [int(row[0]) - 2 for row in local_rejects]
    # and the input columns as read (Spark's CSV reader reads an empty field as null)
    with src.open(encoding=encoding, newline="") as f:
        src_rows = list(csv.reader(f))
    assert [[v or "" for v in list(r)[4:]] for r in rejects] == [
        src_rows[r["xinan_row"] + 1] for r in rejects
    ]


def test_rejects_keep_the_input_values_exactly(spark, policy):
    """A rejected row's input columns come back as read, whatever they hold (quotes,
    backslashes, controls, nulls, astral characters): they travel from the engine stage as
    one JSON array per rejected row (docs/spark.md §3)."""
    k = policy.kind("penalty")
    synth = Synth(policy, seed=5, today=TODAY)
    good = next(v for v, why in synth.rows(k, 20, bad_rate=0.0) if not why)
    tricky = ['a"b', "back\\slash", "line\nbreak\r", "\x01\x1f", "𠀀张三", None, "[1,2]", "null"]
    rows = []
    for i, t in enumerate(tricky):
        row = list(good)
        row[k.columns.index("证件号码")] = f"not an id {i}"  # rejected by validation
        row[k.columns.index("备注")] = t
        row[k.columns.index("处罚内容")] = tricky[-1 - i]
        rows.append(row)
    df = spark.createDataFrame(rows, schema=", ".join(f"`{c}` string" for c in k.columns))
    df = df.repartition(1)
    spec, _kind, _sql = plan_stage(
        policy, df.columns, text=policy_text(policy), audiences=["public"], today=TODAY,
        keys=fixed_keys(),
    )  # fmt: skip
    rejects = run_frames(df, policy, spec).rejects.orderBy("xinan_row").collect()
    assert [r["xinan_row"] for r in rejects] == list(range(len(rows)))
    assert all(r["reason"] for r in rejects)
    assert [list(r)[4:] for r in rejects] == rows


def test_a_retried_partition_writes_the_same_bytes(spark, policy, tmp_path):
    """Everything per record derives from (package key, partition, row): evaluating the
    stage again — as Spark does for a retried or speculative task — gives identical lines,
    and another package key gives other ids and other ciphertexts."""
    src = tmp_path / "export.csv"
    write_export(policy, src, 120)
    df = spark.read.option("header", True).csv(str(src)).repartition(2)
    df = df.localCheckpoint()  # fix the rows' placement, as a retry reads the same split

    def lines(package_key: bytes) -> list[tuple]:
        keys = ExecutorKeys(
            SuiteName.INTL,
            "any",
            package_id="ab" * 16,
            package_key=package_key,
            pseudonyms=fixed_keys().pseudonyms,
        )
        spec, _k, _sql = plan_stage(
            policy, df.columns, text=policy_text(policy), audiences=["gov_share"],
            today=TODAY, keys=keys, seal=True,
        )  # fmt: skip
        records = run_frames(df, policy, spec).records
        assert records is not None
        return [tuple(r) for r in records.orderBy("xinan_part", "xinan_row").collect()]

    first = lines(b"\x01" * 32)
    assert first == lines(b"\x01" * 32)
    other = lines(b"\x02" * 32)
    assert [r[:2] for r in other] == [r[:2] for r in first]
    assert all(a[2] != b[2] and a[3] != b[3] for a, b in zip(first, other, strict=True))
    assert len({r[2] for r in first}) == len(first)  # record ids unique in the package
