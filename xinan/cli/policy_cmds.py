"""``xinan policy check|show``: validate and read a catalogue policy."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from xinan.cli._app import app, emit, json_option
from xinan.cli._common import kind_name
from xinan.errors import EXIT_DATA
from xinan.policy.catalogue import check_policy_text, read_policy_file


@app.group()
def policy() -> None:
    """Check and show catalogue policies (docs/policy.md)."""


@policy.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@json_option
def policy_check(file: Path | None, as_json: bool) -> None:
    """Validate a policy and name each problem with its line and place.

    FILE defaults to $XINAN_POLICY, else the built-in default policy.

    \b
    Examples:
      xinan policy check policies/credit-default.toml
      xinan policy check my-city.toml --json
    """
    if file is not None and str(file) == "-":  # the policy on standard input
        path, text = Path("<stdin>"), sys.stdin.buffer.read().decode("utf-8", "replace")
    else:
        path, text = read_policy_file(file)
    pol, problems = check_policy_text(text, str(path))
    errors = [p for p in problems if p.severity == "error"]
    data = {
        "file": str(path),
        "valid": pol is not None,
        "policy": pol.label if pol else None,
        "kinds": {k: len(v.fields) for k, v in pol.kinds.items()} if pol else {},
        "problems": [
            {"line": p.line, "path": p.path, "severity": p.severity, "message": p.message}
            for p in problems
        ],
    }

    def text_out() -> str:
        lines = [p.render(str(path)) for p in problems]
        if pol is not None:
            kinds = ", ".join(f"{k} ({len(v.fields)} fields)" for k, v in pol.kinds.items())
            lines.append(f"{path}: ok — policy {pol.label}: {kinds}")
        else:
            lines.append(f"{path}: {len(errors)} error(s)")
        return "\n".join(lines)

    emit(as_json, data, text_out)
    if pol is None:
        raise SystemExit(EXIT_DATA)


@policy.command("show")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", callback=kind_name, help="Show only this record kind.")
@json_option
def policy_show(file: Path | None, kind: str | None, as_json: bool) -> None:
    """Show record kinds, their fields and the rule for each audience.

    \b
    Examples:
      xinan policy show
      xinan policy show policies/credit-default.toml --json
    """
    from xinan.policy.catalogue import load_policy

    pol = load_policy(file)
    kinds = [pol.kind(kind)] if kind else list(pol.kinds.values())
    data = {
        "policy": pol.label,
        "source": pol.source,
        "kinds": {
            k.name: {
                "title": k.title,
                "subject": k.subject,
                "fields": [
                    {
                        "name": f.name,
                        "key": f.key,
                        "type": f.type.value,
                        "grade": f.grade,
                        "personal": f.personal,
                        "sensitive": f.sensitive,
                        "sealed": f.sealed,
                        "rules": {a: str(r) for a, r in f.rules.items()},
                    }
                    for f in k.fields
                ],
            }
            for k in kinds
        },
    }

    def text_out() -> str:
        out = [f"policy {pol.label} ({pol.source})"]
        for k in kinds:
            out.append(f"\n{k.name}: {k.title} [{k.subject}]")
            out.append("  " + " | ".join(["field", "type", "grade", *pol.audiences]))
            for f in k.fields:
                flags = (
                    ("P" if f.personal else "")
                    + ("S" if f.sensitive else "")
                    + ("🔒" if f.sealed else "")
                )
                out.append(
                    "  "
                    + " | ".join(
                        [f"{f.name} {flags}".strip(), f.type.value, str(f.grade)]
                        + [str(f.rules[a]) for a in pol.audiences]
                    )
                )
        return "\n".join(out)

    emit(as_json, data, text_out)
