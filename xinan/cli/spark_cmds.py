"""``xinan spark …``: the provider's job on Apache Spark, and its verification (docs/spark.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from xinan.cli._app import app, emit, get_env, json_option, note
from xinan.cli._common import (
    load_pseudonymizers,
    open_actor,
    parse_audiences,
    policy_option,
    today_option,
)
from xinan.errors import EXIT_PARTIAL, UsageError, VerificationError
from xinan.policy.catalogue import load_policy


@app.group("spark")
def spark() -> None:
    """Run the provider's job on Apache Spark, and verify a Spark job's outputs.

    Needs the spark extra (pip install 'xinan[spark]') and Java 17+ (docs/spark.md).
    """


@spark.command("run")
@click.argument("source")
@click.option("-o", "--output", "out", required=True, help="The job directory (must not exist).")
@click.option(
    "--audience",
    "audiences",
    required=True,
    multiple=True,
    help="public, gov_share, querent, internal (or all); repeat or comma-separate.",
)
@click.option(
    "--to",
    "recipients",
    multiple=True,
    metavar="KEY_ID",
    help="Also seal a submission package to these recipients (trust store keys).",
)
@click.option(
    "--input-format",
    type=click.Choice(["auto", "csv", "parquet", "table"]),
    default="auto",
    show_default=True,
    help="table: SOURCE names a Hive/Spark table (needs --hive for a Hive metastore).",
)
@click.option("--encoding", default="UTF-8", show_default=True, help="CSV input charset.")
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["parquet", "csv"]),
    default="parquet",
    show_default=True,
)
@click.option("--out-encoding", default="UTF-8", show_default=True, help="CSV output charset.")
@click.option("--master", default="local[2]", show_default=True, help="Spark master URL.")
@click.option("--partitions", type=click.IntRange(min=1), default=None, help="Repartition input.")
@click.option("--hive", is_flag=True, help="Enable Hive support (tables in the metastore).")
@click.option(
    "--hive-db",
    default=None,
    help="Also register each output as a Hive table <db>.<job dir>_<output> (parquet only).",
)
@click.option("--kind", default=None, help="Record kind (default: matched from the header).")
@click.option(
    "--pseudonym-key",
    "pseudonym_keys",
    multiple=True,
    envvar="XINAN_PSEUDONYM_KEY",
    metavar="KEY_ID",
    help="Keyring secret for keyed pseudonyms (else $XINAN_PSEUDONYM_KEY).",
)
@policy_option
@today_option
@json_option
def run(
    source: str,
    out: str,
    audiences: tuple[str, ...],
    recipients: tuple[str, ...],
    input_format: str,
    encoding: str,
    out_format: str,
    out_encoding: str,
    master: str,
    partitions: int | None,
    hive: bool,
    hive_db: str | None,
    kind: str | None,
    pseudonym_keys: tuple[str, ...],
    policy_path: Path | None,
    today: date,
    as_json: bool,
) -> None:
    """Validate SOURCE, mask it for each audience and (with --to) seal it, on Spark.

    Writes the job directory: one dataset per audience and the rejects (with xinan_part and
    xinan_row row ids), submission.xpkg when sealing, and manifests.jsonl — one signed
    manifest per partition, each also a leaf of the audit log (written before the directory
    appears). Check it later with `xinan spark verify`.

    \b
    Exit codes: 0 done; 3 done with rejected rows; 65 input unusable; 2 usage; 1 other.

    \b
    Examples:
      xinan --as amr-zaozhuang spark run export.csv -o job1 --audience public,gov_share \\
          --to platform --pseudonym-key subject-ps
      xinan spark run export-gbk.csv --encoding GB18030 -o job2 --audience public \\
          --format csv --out-encoding GB18030 --master 'local[4]'
      xinan --as amr-zaozhuang spark run credit.penalty --input-format table --hive -o job3 \\
          --audience public --hive-db credit_out
    """
    if source == "-":  # docs/cli.md §1: every other command reads `-` as standard input
        raise UsageError(
            "-: Spark reads SOURCE by path on its executors, and standard input cannot be "
            "shared among them",
            hint="save the input to a file (or a Hive table) and pass its path or name",
        )
    from xinan.spark.provider import SparkProvider
    from xinan.spark.session import local_session

    env = get_env()
    pol = load_policy(policy_path)
    auds = parse_audiences(audiences, pol)
    with open_actor(env, SparkProvider) as provider:
        done = provider.run_source(
            local_session(master, hive=hive or input_format == "table"),
            source,
            out,
            policy=pol,
            audiences=auds,
            today=today,
            input_format=input_format,
            encoding=encoding,
            partitions=partitions,
            recipients=recipients,
            pseudonym_keys=lambda needed: load_pseudonymizers(env, pseudonym_keys, needed),
            kind=kind,
            out_format=out_format,
            out_encoding=out_encoding,
            hive_db=hive_db,
        )
    summary = done.summary
    for name in done.tables:
        note(f"table {name}")
    data: dict[str, Any] = summary.to_json()

    def text() -> str:
        lines = [
            f"{summary.out}: job {summary.job}, kind {summary.kind}, "
            f"{summary.partitions} partitions"
        ]
        for a in summary.written:
            lines.append(
                f"{a}: read {summary.read}, written {summary.written[a]}, withheld "
                f"{summary.withheld[a]}, rejected {summary.rejected}"
            )
        if summary.package_id:
            lines.append(f"submission.xpkg: package {summary.package_id}")
        lines.append(f"manifests: {summary.partitions} signed, {summary.partitions} audit leaves")
        return "\n".join(lines)

    emit(as_json, data, text)
    if summary.rejected:
        raise SystemExit(EXIT_PARTIAL)


@spark.command("verify")
@click.argument("job_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--audit-log/--no-audit-log",
    "use_log",
    default=True,
    show_default=True,
    help="Also check that each manifest is a leaf of the audit log (--audit-log PATH globally).",
)
@json_option
def verify(job_dir: Path, use_log: bool, as_json: bool) -> None:
    """Check a Spark job directory against its signed manifests (and the audit log).

    Recomputes every partition's Merkle roots from the output files and the package, checks
    each manifest's signature with the trust store, and names each partition that is missing,
    extra, edited or duplicated. Public keys only: an auditor runs it offline.

    \b
    Exit codes: 0 every check passed; 1 a problem was found (each is listed).

    \b
    Examples:
      xinan spark verify job1
      xinan --audit-log provider/audit.log spark verify job1 --json
    """
    from xinan.audit.log import read_entries
    from xinan.keys import Keyring
    from xinan.spark.verify import signature_checker, verify_job

    env = get_env()
    ring = Keyring(env.keyring)
    refs = None
    if use_log:
        refs = [
            str(e.get("objects", {}).get("ref", "")) for _off, e in read_entries(env.log_path())
        ]
    report = verify_job(
        job_dir, verify_signature=signature_checker(ring.get_public), audit_refs=refs
    )

    def text() -> str:
        head = (
            f"{job_dir}: job {report.job}, {report.partitions} partitions, "
            f"{report.rows_in} rows in; " + ", ".join(f"{k} {v}" for k, v in report.outputs.items())
        )
        if use_log:
            head += f"; {report.in_audit_log} manifests in the audit log"
        if not report.problems:
            return head + "\nOK"
        return head + "\n" + "\n".join(f"PROBLEM: {p}" for p in report.problems)

    emit(as_json, report.to_json(), text)
    if report.problems:
        raise VerificationError(
            f"{job_dir}: {len(report.problems)} problem(s): {report.problems[0]}",
            hint="each problem is listed above; the manifests and the audit log say what the "
            "job wrote",
        )


@spark.command("sql")
@click.option("--audience", "audiences", required=True, multiple=True)
@click.option("--kind", required=True, help="Record kind.")
@policy_option
@json_option
def sql(audiences: tuple[str, ...], kind: str, policy_path: Path | None, as_json: bool) -> None:
    """Print the Spark SQL that xinan runs natively for each masked column (docs/spark.md §4).

    Columns not listed run in xinan's engine stage (validation, names, pseudonyms, scrubbing,
    the guard scan). The SQL reads a column of validated, normalised values.

    \b
    Examples:
      xinan spark sql --kind penalty --audience querent
    """
    from xinan.spark.masks import native_plan, native_sql

    pol = load_policy(policy_path)
    k = pol.kind(kind)
    data: dict[str, dict[str, str]] = {}
    for a in parse_audiences(audiences, pol):
        data[a] = {
            name: native_sql(rule, name) for name, rule in native_plan(pol, k.fields, a).items()
        }

    def text() -> str:
        out = []
        for a, cols in data.items():
            out.append(f"-- {a}")
            out += [f"{expr} AS `{name}`," for name, expr in cols.items()]
        return "\n".join(out)

    emit(as_json, data, text)
