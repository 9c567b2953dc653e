"""`-` reads standard input in every command that reads a file (issue 15 item 3), checked over
the whole command tree: every file a command reads either accepts `-` or refuses it with
xinan's own usage error saying why; none says "File '-' does not exist"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tests.cli.test_cli_streams import invoke
from tests.cli.test_cli_streams import runner as streams_runner  # noqa: F401 - a fixture
from xinan.cli import app
from xinan.cli._stdio import InputPath, NotStdin

# Inputs that are not click paths (record files, streamed; never copied to disk) and what
# `-` does for each.
RECORD_FILES = {
    ("scan", "file"),
    ("mask", "file"),
    ("seal", "file"),
    ("report", "quality", "file"),
}
# `spark run SOURCE`: Spark reads files by path on its executors (docs/spark.md); `-` is
# refused with the reason (test below).
ELSEWHERE = {("spark", "run", "source")}


Leaf = tuple[tuple[str, ...], click.Command]


def leaves(cmd: click.Command, path: tuple[str, ...] = ()) -> Iterator[Leaf]:
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            yield from leaves(sub, (*path, name))
    else:
        yield path, cmd


def file_inputs() -> list[tuple[tuple[str, ...], click.Command, click.Parameter]]:
    out = []
    for path, cmd in leaves(app):
        for p in cmd.params:
            t = p.type
            if isinstance(t, InputPath | NotStdin) or (isinstance(t, click.Path) and t.exists):
                out.append((path, cmd, p))
    return out


def test_every_file_a_command_reads_says_what_dash_does():
    """A file input is an InputPath (`-` is standard input), a NotStdin (refused with its
    reason) or a path the command itself reads `-` from (allow_dash); never a bare
    click.Path(exists=True), which answers `-` with "File '-' does not exist"."""
    bare = [
        (" ".join(path), p.name)
        for path, _, p in file_inputs()
        if not isinstance(p.type, InputPath | NotStdin)
        and not (isinstance(p.type, click.Path) and p.type.allow_dash)
        and not (isinstance(p.type, click.Path) and not p.type.file_okay)  # a directory
    ]
    assert bare == []
    names = {(*path, p.name) for path, cmd in leaves(app) for p in cmd.params}
    assert names >= RECORD_FILES | ELSEWHERE


def _argv(
    path: tuple[str, ...], cmd: click.Command, target: click.Parameter, dummy: Path
) -> list[str]:
    """The command with `-` for ``target`` and a harmless value for every other required one."""
    argv: list[str] = [*path]
    for p in cmd.params:
        if p is target:
            value = "-"
        elif not p.required:
            continue
        elif isinstance(p.type, click.Choice):
            value = str(p.type.choices[0])
        elif isinstance(p.type, click.Path):
            value = str(dummy)
        else:
            value = "1"
        if isinstance(p, click.Option):
            argv += [p.opts[0], value]
        else:
            argv.append(value)
    return argv


@pytest.mark.parametrize(
    ("path", "name"),
    [(path, p.name) for path, _, p in file_inputs() if p.type.file_okay],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else str(v),
)
def test_dash_is_read_or_refused_with_a_reason(path, name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dummy = tmp_path / "dummy"
    dummy.write_bytes(b"")
    cmd = dict(leaves(app))[path]
    target = next(p for p in cmd.params if p.name == name)
    r = CliRunner().invoke(app, _argv(path, cmd, target, dummy), input=b"")
    text = r.output
    assert "'-' does not exist" not in text and "-: no such" not in text, text
    if isinstance(target.type, NotStdin):
        assert r.exit_code == 2 and "standard input" in text, text


def test_one_standard_input_per_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["source", "apply", "-", "--package", "-"], input=b"{}")
    assert r.exit_code == 2
    assert "standard input is already read for" in r.output


@pytest.mark.parametrize("words", [("mask", "--audience", "public"), ("scan",)])
def test_a_record_file_and_the_policy_cannot_both_read_stdin(
    streams_runner,  # noqa: F811
    tmp_path,
    monkeypatch,
    words,
):
    """`mask - --policy -` read the CSV as the policy ("not valid TOML"): standard input is
    claimed by the first parameter that reads it, and a second one is a usage error."""
    from xinan.cli import _stdio

    copied: list[Path] = []
    monkeypatch.setattr(_stdio, "_copy_stdin", copied.append)  # records, writes nothing
    data = (tmp_path / "e.csv").read_bytes()
    argv = ["--as", "amr", words[0], "-", "--policy", "-", *words[1:], "-o", "out.csv"]
    r = invoke(streams_runner, *argv[: None if words[0] == "mask" else -2], input=data)
    assert r.exit_code == 2, r.output
    assert "standard input is already read for --policy: FILE cannot read it too" in r.output
    assert "TOML" not in r.output and not (tmp_path / "out.csv").exists()
    # --policy is eager (converted first): the refusal comes before its copy is made, so the
    # clear records on standard input were never written to a temporary file
    assert copied == []


@pytest.mark.parametrize(
    "argv",
    [
        ("--as", "platform", "open", "-", "--grant", "-", "-o", "o.csv"),
        ("report", "subject", "-", "--policy", "-"),
    ],
    ids=["open", "report subject"],
)
def test_every_reader_of_stdin_claims_it(streams_runner, argv):  # noqa: F811
    """Commands that read `-` themselves (a package copied by the command, an ID read as a
    line) claim standard input too: a second `-` is refused, whichever comes first."""
    r = invoke(streams_runner, *argv, input=b"370403199001011234\n")
    assert r.exit_code == 2, r.output
    assert "standard input is already read for" in r.output


def test_an_error_in_a_copy_of_stdin_names_stdin_not_the_copy(streams_runner):  # noqa: F811
    """An artifact from `-` is read from a private temporary copy; its errors name
    `<stdin>`, never the copy's path (which nobody typed and which is gone by then)."""
    for json_flag in ((), ("--json",)):
        r = invoke(
            streams_runner, "--as", "amr", "mask", "e.csv", "--policy", "-",
            "-o", "out.csv", "--audience", "public", *json_flag, input=b"x = \n",
        )  # fmt: skip
        assert r.exit_code == 65, r.output  # the policy is invalid
        assert "<stdin>:1: error" in r.output and "xinan-stdin-" not in r.output, r.output


@pytest.mark.parametrize(
    "argv",
    [
        ("--passin", "fd:0", "--as", "amr", "mask", "-", "-o", "o.csv", "--audience", "public"),
        ("--as", "amr", "mask", "-", "-o", "o.csv", "--audience", "public", "--passin", "fd:0"),
        ("--passin", "file:/dev/stdin", "--as", "platform", "verify", "-"),
    ],
    ids=["root passin", "command passin", "file:/dev/stdin"],
)
def test_a_passphrase_from_stdin_claims_it(streams_runner, argv):  # noqa: F811
    """`--passin fd:0` reads standard input: a `-` input beside it is refused, whichever
    comes first on the line, before any passphrase or record is read."""
    r = invoke(streams_runner, *argv, input=b"correct horse\nname,id\n")
    assert r.exit_code == 2, r.output
    assert "standard input is already read for" in r.output and "--passin" in r.output


def test_a_passphrase_from_stdin_alone_is_accepted(streams_runner):  # noqa: F811
    """fd:0 without a `-` input is not refused (and twice on the line is still one reader)."""
    r = invoke(
        streams_runner, "--passin", "fd:0", "--as", "amr", "scan", "e.csv", "--passin", "fd:0",
        input=b"unused passphrase\n",
    )  # fmt: skip
    assert "standard input is already read" not in r.output, r.output


def test_report_quality_reads_stdin(streams_runner, tmp_path):  # noqa: F811
    data = (tmp_path / "e.csv").read_bytes()
    from_file = invoke(streams_runner, "--as", "amr", "report", "quality", "e.csv", "--json")
    from_stdin = invoke(
        streams_runner, "--as", "amr", "report", "quality", "-", "--json", input=data
    )
    assert from_file.exit_code == from_stdin.exit_code == 0, from_stdin.output
    a, b = json.loads(from_file.stdout), json.loads(from_stdin.stdout)
    assert a["counts"] == b["counts"] and a["counts"]["read"] == 40


def test_grant_show_and_report_verify_from_stdin_say_what_they_need(streams_runner):  # noqa: F811
    r = invoke(streams_runner, "report", "verify", "-", input=b"<html></html>")
    assert r.exit_code == 2
    assert "--sig" in r.output
    r = invoke(streams_runner, "grant", "show", "-", input=b"not a grant")
    assert r.exit_code != 0 and "does not exist" not in r.output


def test_spark_run_refuses_stdin_saying_why(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["spark", "run", "-", "-o", "job", "--audience", "public"])
    assert r.exit_code == 2
    assert "standard input cannot be shared" in r.output and "does not exist" not in r.output
