"""The provider's commands: ``xinan fake``, ``xinan scan``, ``xinan mask``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from xinan.cli._app import app, emit, get_env, json_option
from xinan.cli._common import (
    kind_name,
    load_pseudonymizers,
    open_actor,
    output_encoding_option,
    parse_audiences,
    policy_option,
    today_option,
    workers_option,
)
from xinan.cli._common import output_encoding as output_encoding_for
from xinan.cli._stdio import RecordsArg, replayable_stdin
from xinan.cli.progress import progress_for, showing_progress
from xinan.cli.render import table
from xinan.engine.jobs import compile_for
from xinan.errors import EXIT_PARTIAL, UsageError
from xinan.i18n import translate
from xinan.policy.catalogue import load_policy
from xinan.provider.service import Provider
from xinan.provider.synth import KINDS, Synth
from xinan.records import open_writer


@app.command()
@click.argument("kind", callback=kind_name, metavar=f"{{{'|'.join(KINDS)}}}")
@click.option(
    "-n",
    "count",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Number of records.",
)
@click.option(
    "-o", "--output", required=True, help="Output file (.csv or .jsonl), or - for stdout."
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same file)."
)
@output_encoding_option("--encoding")
@click.option(
    "--bad-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of deliberately bad rows.",
)
@policy_option
@today_option
@json_option
def fake(
    kind: str,
    count: int,
    output: str,
    seed: int,
    output_encoding: str | None,
    bad_rate: float,
    policy_path: Path | None,
    today: date,
    as_json: bool,
) -> None:
    """Write synthetic records (Faker zh_CN) in the policy's layout for KIND.

    Identifiers are synthetic with valid check characters. With --bad-rate, that share of rows
    is deliberately broken (wrong check character, impossible date, …) to exercise validation.

    \b
    Examples:
      xinan fake penalty -n 1000 -o penalty.csv
      xinan fake penalty -n 1000000 -o export.csv --encoding gb18030 --bad-rate 0.01
    """
    pol = load_policy(policy_path)
    k = pol.kind(kind)
    synth = Synth(pol, seed=seed, today=today)
    bad = 0
    encoding = output_encoding_for(output, output_encoding)
    progress = progress_for(as_json=as_json)
    with open_writer(output, k.columns, encoding=encoding) as w:
        for values, why in synth.rows(k, count, bad_rate=bad_rate):
            w.write(values)
            bad += why is not None
            if progress is not None and w.count % 4096 == 0:
                progress(w.count, w.count / max(count, 1))
    if progress is not None:
        progress.done()
    data = {
        "file": output,
        "kind": kind,
        "records": count,
        "bad": bad,
        "encoding": encoding,
        "seed": seed,
    }
    emit(
        as_json,
        data,
        f"wrote {count} {kind} records ({bad} deliberately bad) to {output} [{encoding}]",
        stdout_busy=output == "-",
    )


@app.command()
@click.argument("file", type=RecordsArg())
@click.option(
    "--encoding", default=None, help="Input encoding (default: detect UTF-8 / BOM / GB18030)."
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Scan only the first N rows."
)
@policy_option
@today_option
@json_option
def scan(
    file: str,
    encoding: str | None,
    limit: int | None,
    policy_path: Path | None,
    today: date,
    as_json: bool,
) -> None:
    """Show which columns, and which free texts, hold which identifiers, with counts.

    Reads only; values are never printed.

    \b
    Examples:
      xinan scan export.csv
      xinan scan export.csv --json | jq '.columns[] | select(.in_free_text != {})'
    """
    pol = load_policy(policy_path)
    with open_actor(get_env(), Provider) as provider, showing_progress(as_json=as_json):
        report = provider.scan(file, policy=pol, today=today, encoding=encoding, limit=limit)

    def text() -> str:
        lines = [
            f"{report.file}: {report.rows} rows ({report.bad_rows} unreadable), encoding "
            f"{report.encoding}, kind {report.kind or '(no match)'}"
        ]
        rows = []
        for c in report.columns:
            found = ", ".join(f"{k} {n}" for k, n in c.values.most_common())
            inner = ", ".join(f"{k} {n}" for k, n in c.in_text.most_common())
            desc = found or "-"
            if inner:
                desc += f"; in free text: {inner}"
            rows.append((c.column, f"{c.declared or '?':<11}", f"{c.non_empty:>9}", desc))
        # column names are Chinese: aligned by display width (a 汉字 takes two columns)
        lines.append(table(rows, right=(2,), indent="  "))
        return "\n".join(lines)

    emit(as_json, report.to_json(), text)


@app.command()
@click.argument("file", type=RecordsArg())
@click.option(
    "-o",
    "--output",
    required=True,
    help="Output file, or - for stdout. With several audiences it must contain {audience}.",
)
@click.option(
    "--audience",
    "audiences",
    required=True,
    multiple=True,
    help="public, gov_share, querent, internal, submission (or all); repeat or comma-separate.",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write rejected rows and reasons here.",
)
@click.option(
    "--kind",
    callback=kind_name,
    default=None,
    help="Record kind (default: matched from the header).",
)
@click.option(
    "--encoding", default=None, help="Input encoding (default: detect UTF-8 / BOM / GB18030)."
)
@output_encoding_option("--out-encoding")
@click.option(
    "--pseudonym-key",
    "pseudonym_keys",
    multiple=True,
    envvar="XINAN_PSEUDONYM_KEY",
    metavar="KEY_ID",
    help="Keyring secret for keyed pseudonyms (else $XINAN_PSEUDONYM_KEY).",
)
@workers_option
@policy_option
@today_option
@json_option
def mask(
    file: str,
    output: str,
    audiences: tuple[str, ...],
    rejects: str | None,
    kind: str | None,
    encoding: str | None,
    output_encoding: str | None,
    pseudonym_keys: tuple[str, ...],
    workers: int | None,
    policy_path: Path | None,
    today: date,
    as_json: bool,
) -> None:
    """Validate FILE and write the masked view of each record for an audience.

    Rows that fail validation or carry prohibited data go to the rejects file with their row
    number, column and reason. The summary always reconciles:
    read N = written M + withheld W + rejected K (withheld: rows this audience may not see,
    such as natural persons in public). Runs on every core (--workers); the output bytes do not
    depend on the number of workers. On a terminal, progress (rate, time left) goes to stderr.

    \b
    Exit codes: 0 done, no rejects; 3 done, some rows rejected; 65 input unusable (nothing
    written); 2 usage error; 1 other failure.

    \b
    Examples:
      xinan mask export.csv -o public.csv --audience public --rejects rejects.csv
      xinan mask export.csv -o 'out-{audience}.csv' --audience public,gov_share,querent \\
          --pseudonym-key subject-ps
    """
    env = get_env()
    pol = load_policy(policy_path)
    auds = parse_audiences(audiences, pol)
    if len(auds) > 1 and "{audience}" not in output:
        raise UsageError(
            "several audiences need an output name containing {audience}",
            hint="e.g. -o 'out-{audience}.csv'",
        )
    outputs = {a: output.replace("{audience}", a) for a in auds}
    progress = progress_for(as_json=as_json)
    with open_actor(env, Provider) as provider, replayable_stdin(file) as rewind:
        # Resolve the kind first so that only the keys this job needs are asked for.
        plan = compile_for(
            pol, file, audiences=tuple(auds), kind=kind, encoding=encoding, today=today
        )
        needed = plan.pseudonym_namespaces()
        rewind()  # `mask -`: the job reads standard input again from its start
        summary = provider.mask(
            file,
            outputs,
            policy=pol,
            today=today,
            kind=plan.kind.name,
            pseudonymizers=load_pseudonymizers(env, pseudonym_keys, needed),
            rejects=rejects,
            encoding=encoding,
            out_encoding=output_encoding_for(next(iter(outputs.values())), output_encoding),
            workers=workers,
            progress=progress,
        )
        if progress is not None:
            progress.done()
    data: dict[str, Any] = summary.to_json()

    def text() -> str:
        lines = [f"{summary.file}: kind {summary.kind}, encoding {summary.encoding}"]
        for a, c in summary.per_audience.items():
            extra = []
            if summary.scrubbed.get(a):
                extra.append(f"{summary.scrubbed[a]} identifiers scrubbed from free text")
            if summary.guarded.get(a):
                extra.append(f"{summary.guarded[a]} caught by the guard")
            tail = f" ({'; '.join(extra)})" if extra else ""
            dest = summary.outputs[a]
            lines.append(
                f"{a}: read {c.read}, written {c.written}, withheld {c.withheld}, "
                f"rejected {c.rejected} → {dest}{tail}"
            )
        if summary.rejected:
            lines.append(f"rejects: {summary.rejects_file or '(not written; pass --rejects FILE)'}")
            for reason, n in summary.reasons.most_common(5):
                lines.append(f"  {n:>7}  {translate(reason)}")  # "column: head", translated
        return "\n".join(lines)

    # With -o -, stdout carries the data: the summary (or --json) goes to stderr.
    emit(as_json, data, text, stdout_busy="-" in outputs.values() or rejects == "-")
    if summary.rejected:
        raise SystemExit(EXIT_PARTIAL)
