"""``xinan demo``: the README's main command."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from xinan.cli._app import app, emit, json_option
from xinan.cli._common import policy_option, today_option
from xinan.demo import run_demo
from xinan.i18n import translate


@app.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo"),
    show_default=True,
    help="A new or empty directory for everything the demo writes.",
)
@click.option("--records", type=click.IntRange(min=10), default=2000, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True)
@policy_option
@today_option
@json_option
def demo(
    directory: Path, records: int, seed: int, policy_path: Path | None, today: date, as_json: bool
) -> None:
    """Run xinan's whole flow on synthetic data in a fresh directory, printing each step.

    \b
    Examples:
      xinan demo
      xinan demo --dir /tmp/xinan-demo --records 100000
    """
    result = run_demo(
        directory,
        records=records,
        today=today,
        seed=seed,
        # the demo's lines in the run's language (those the catalogue has; commands as typed)
        say=(lambda _m: None) if as_json else (lambda m: click.echo(translate(m))),
        policy=policy_path,
    )
    emit(
        as_json,
        {
            "directory": str(result.directory),
            "steps": result.steps,
            "files": {k: str(v) for k, v in result.files.items()},
        },
    )
