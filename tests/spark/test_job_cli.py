"""`xinan spark run` and `xinan spark verify` end to end: the provider's job on local Spark,
its package opened and ingested by the platform, and every tampered partition named."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import cli_workplace
from xinan import keys
from xinan.cli import app

AUDIENCES = ("public", "gov_share")


def invoke(runner, *args):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def job(spark, tmp_path_factory):
    """One workplace, one Spark job (3 partitions, sealed to the platform), shared by the
    tests here: a Spark job costs seconds, the checks after it milliseconds."""
    root = tmp_path_factory.mktemp("spark-job")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(keys, "DEFAULT_KDF", keys.KdfParams(m_kib=64, t=1, p=1))
        runner = cli_workplace(
            root,
            mp,
            ["keygen", "--id", "amr", "--role", "provider", "--suite", "intl"],
            ["keygen", "--id", "platform", "--role", "platform", "--suite", "intl"],
            ["keygen", "--id", "subject-ps", "--role", "pseudonym", "--suite", "intl"],
            ["keygen", "--id", "sa", "--role", "sys-admin", "--suite", "intl"],
            ["audit", "init"],
            ["--as", "sa", "keys", "bootstrap"],
            ["fake", "penalty", "-n", "240", "-o", "e.csv", "--encoding", "gb18030",
             "--bad-rate", "0.05"],
        )  # fmt: skip
        r = invoke(
            runner, "--as", "amr", "spark", "run", "e.csv", "--encoding", "GB18030",
            "-o", "job", "--audience", ",".join(AUDIENCES), "--to", "platform",
            "--pseudonym-key", "subject-ps", "--partitions", "3", "--json",
        )  # fmt: skip
        assert r.exit_code == 3, r.output  # done, some rows rejected
        yield root, runner, json.loads(r.output)


def test_counts_reconcile_and_verify_passes(job):
    root, runner, s = job
    assert s["read"] == 240 and s["partitions"] == 3 and s["rejected"] > 0
    for a in AUDIENCES:
        c = s["audiences"][a]
        assert s["read"] == c["written"] + c["withheld"] + s["rejected"]
    assert s["audiences"]["public"]["withheld"] > 0  # natural persons are not public
    r = invoke(runner, "spark", "verify", "job", "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["ok"] and rep["in_audit_log"] == 3 and rep["rows_in"] == 240
    # the audit log: one leaf per partition manifest, then the job's totals and its rejects
    entries = [json.loads(x) for x in (root / "audit" / "audit.log").read_text().splitlines()]
    refs = [e["objects"]["ref"] for e in entries if e["objects"].get("ref", "").count(":") == 3]
    assert len(refs) == 3 and all(x.startswith(f"spark:{s['job']}:") for x in refs)
    assert invoke(runner, "audit", "verify").exit_code == 0


def test_masked_output_equals_xinan_mask(job):
    root, runner, _s = job
    r = invoke(
        runner, "--as", "amr", "mask", "e.csv", "-o", "local-{audience}.csv",
        "--audience", ",".join(AUDIENCES), "--pseudonym-key", "subject-ps",
    )  # fmt: skip
    assert r.exit_code == 3, r.output
    for a in AUDIENCES:
        with (root / f"local-{a}.csv").open(encoding="utf-8-sig", newline="") as f:
            local = list(csv.reader(f))
        table = pq.read_table(root / "job" / a)
        cols = [c for c in table.column_names if not c.startswith("xinan_")]
        assert cols == local[0]
        spark_rows = sorted(zip(*(table.column(c).to_pylist() for c in cols), strict=True))
        # repartition(3) spread the rows over partitions: compare as multisets here (the
        # order-exact comparison is tests/spark/test_same_bytes.py, on one partition)
        assert spark_rows == sorted(tuple(x) for x in local[1:]), a


def test_package_opens_and_ingests(job):
    root, runner, s = job
    pkg = str(root / "job" / "submission.xpkg")
    r = invoke(runner, "--as", "platform", "verify", pkg, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["records"] == s["audiences"]["gov_share"]["written"]
    r = invoke(runner, "--as", "platform", "open", pkg, "-o", "opened.csv")
    assert r.exit_code == 0, r.output
    with (root / "opened.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == s["read"] - s["rejected"]
    legal = next(x for x in rows if x["行政相对人类别"] == "法人及非法人组织")
    assert len(legal["法定代表人证件号码"]) == 18  # sealed on an executor, opened in full
    r = invoke(runner, "--as", "sa", "vault", "init", "--vault", "v", "--platform", "platform",
               "--pseudonym-key", "subject-ps")  # fmt: skip
    assert r.exit_code == 0, r.output
    r = invoke(runner, "--as", "platform", "vault", "ingest", pkg, "--vault", "v", "--json")
    assert r.exit_code == 0, r.output


def _copy(root: Path, name: str) -> Path:
    dst = root / name
    shutil.copytree(root / "job", dst)
    return dst


def _verify(runner, path: Path, *extra: str) -> list[str]:
    r = invoke(runner, "spark", "verify", str(path), "--json", *extra)
    assert r.exit_code == 1, r.output
    return json.loads(r.stdout)["problems"]


def _manifests(path: Path) -> list[bytes]:
    return (path / "manifests.jsonl").read_bytes().splitlines(keepends=True)


def test_edited_manifest_is_named(job):
    root, runner, _s = job
    d = _copy(root, "t-edit")
    lines = _manifests(d)
    lines[1] = lines[1].replace(b'"rows_in":', b'"rows_in":1', 1)
    (d / "manifests.jsonl").write_bytes(b"".join(lines))
    problems = _verify(runner, d)
    assert any("edited manifest" in p and "line 2" in p for p in problems), problems
    assert any("partition 1: missing" in p for p in problems), problems


def test_dropped_manifest_is_named(job):
    root, runner, _s = job
    d = _copy(root, "t-drop")
    lines = _manifests(d)
    (d / "manifests.jsonl").write_bytes(lines[0] + lines[2])
    problems = _verify(runner, d, "--no-audit-log")
    assert any("partition 1: missing (no manifest)" in p for p in problems), problems
    assert any("partition 1: extra rows in output public" in p for p in problems), problems


def test_duplicated_manifest_is_named(job):
    root, runner, _s = job
    d = _copy(root, "t-dup")
    lines = _manifests(d)
    (d / "manifests.jsonl").write_bytes(b"".join([*lines, lines[2]]))
    problems = _verify(runner, d)
    assert problems == ["partition 2: duplicated manifest (manifests.jsonl line 4)"]


def test_edited_output_row_is_named(job):
    root, runner, _s = job
    d = _copy(root, "t-row")
    part = next(
        f for f in sorted((d / "public").glob("part-*.parquet")) if pq.read_table(f).num_rows
    )
    table = pq.read_table(part)
    col = table.column_names.index("行政相对人名称")
    values = table.column(col).to_pylist()
    values[0] = values[0] + "x"
    import pyarrow as pa

    table = table.set_column(col, table.field(col), pa.array(values, pa.string()))
    pq.write_table(table, part)
    p = table.column("xinan_part")[0].as_py()
    problems = _verify(runner, d)
    assert problems == [f"partition {p}: output public edited (Merkle root differs)"]


def test_removed_output_file_and_extra_partition_are_named(job):
    root, runner, _s = job
    d = _copy(root, "t-files")
    files = [
        f for f in sorted((d / "gov_share").glob("part-*.parquet")) if pq.read_table(f).num_rows
    ]
    first = pq.read_table(files[0])
    p = first.column("xinan_part")[0].as_py()
    files[0].unlink()
    # an extra partition: rows claiming partition 7, which no manifest covers
    import pyarrow as pa

    i = first.column_names.index("xinan_part")
    extra = first.set_column(i, first.field(i), pa.array([7] * first.num_rows, pa.int32()))
    pq.write_table(extra, d / "gov_share" / "part-99999-extra.parquet")
    problems = _verify(runner, d)
    assert any(f"partition {p}: output gov_share has 0 rows" in x for x in problems), problems
    assert any("partition 7: extra rows in output gov_share" in x for x in problems), problems


def test_edited_package_record_is_named(job):
    root, runner, _s = job
    d = _copy(root, "t-pkg")
    lines = (d / "submission.xpkg").read_bytes().splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]  # two records swap places
    (d / "submission.xpkg").write_bytes(b"".join(lines))
    problems = _verify(runner, d)
    assert problems and all("submission.xpkg" in p for p in problems), problems


def test_hive_table_in_and_out(job, spark):
    """A Hive table in (the session's metastore: embedded Derby here) and Hive tables out,
    registered over the very files that `xinan spark verify` checks."""
    root, runner, _s = job
    assert spark.conf.get("spark.sql.catalogImplementation") == "hive"
    src = spark.read.option("header", True).option("encoding", "GB18030").csv(str(root / "e.csv"))
    spark.sql("CREATE DATABASE IF NOT EXISTS credit_in")
    src.write.mode("overwrite").format("hive").option("fileFormat", "parquet").saveAsTable(
        "credit_in.penalty"
    )
    r = invoke(
        runner, "--as", "amr", "spark", "run", "credit_in.penalty", "--input-format", "table",
        "--hive", "-o", "job_hive", "--audience", "public", "--hive-db", "credit_out", "--json",
    )  # fmt: skip
    assert r.exit_code == 3, r.output
    s = json.loads(r.stdout)
    assert s["read"] == 240
    public = spark.table("credit_out.job_hive_public")
    assert public.count() == s["audiences"]["public"]["written"]
    assert spark.table("credit_out.job_hive_rejects").count() == s["rejected"]
    assert invoke(runner, "spark", "verify", "job_hive").exit_code == 0


def test_outputs_are_owner_only(job):
    """Every file of the job (views, rejects with clear values, package, manifests, Spark's
    own _SUCCESS and checksum files) is 0600 and every directory 0700."""
    root, _runner, _s = job
    seen = 0
    for p in [root / "job", *(root / "job").rglob("*")]:
        mode = p.stat().st_mode & 0o777
        assert mode == (0o700 if p.is_dir() else 0o600), (p, oct(mode))
        seen += 1
    assert seen > 10


def test_an_unfinished_job_is_refused(job):
    """A crash leaves `.<name>.partial-<job>` (never the final name) and, inside, outputs
    Spark did not commit: verify accepts neither."""
    root, runner, s = job
    partial = root / f".t-crash.partial-{s['job']}"
    shutil.copytree(root / "job", partial)
    r = invoke(runner, "spark", "verify", str(partial))
    assert r.exit_code != 0 and "unfinished Spark job" in r.output, r.output
    d = _copy(root, "t-uncommitted")
    (d / "public" / "_SUCCESS").unlink()
    (d / "rejects" / "_temporary").mkdir()
    problems = _verify(runner, d)
    assert "output public: unfinished (Spark did not commit it)" in problems, problems
    assert "output rejects: unfinished (Spark did not commit it)" in problems, problems


def test_a_role_without_mask_is_refused_and_logged(job):
    """The role check is the library's (xinan.spark.provider.SparkProvider): refused before
    Spark reads anything, the denial in the audit log, no job directory."""
    root, runner, _s = job
    log = root / "audit" / "audit.log"
    before = len(log.read_text().splitlines())
    r = invoke(
        runner, "--as", "platform", "spark", "run", "e.csv", "--encoding", "GB18030",
        "-o", "job_denied", "--audience", "public",
    )  # fmt: skip
    assert r.exit_code != 0 and "mask" in r.output, r.output
    new = [json.loads(x) for x in log.read_text().splitlines()[before:]]
    assert [(e["type"], e["outcome"]) for e in new] == [("denied", "denied")], new
    assert not (root / "job_denied").exists()
    assert not list(root.glob(".job_denied.partial-*"))
