"""README as a test (issue 15, item 2): the README's ```sh blocks run as written, in order, in
a fresh directory, so the README cannot drift from the product.

The blocks are read with a small, strict subset of the POSIX shell — the subset the README
uses: one command per line (``\\`` continues a line), ``#`` comments, ``cd DIR``,
``NAME=$(xinan …)`` (standard output, trailing newlines removed), ``$NAME`` / ``"$NAME"``,
``> FILE`` and ``< FILE``. Every command is ``xinan`` (run in-process, as the console script
runs it); anything else fails the test, so the README cannot use a construct this runner does
not check. Passphrases come from ``$XINAN_PASSPHRASE``, as the README says scripts give
them; the tokens from the working directories ``xinan init`` made. Exit 3 (done, with rejected
rows in the rejects file) counts as success, as the README documents.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from xinan.cli import app

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
CAPTURE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=\$\((.*)\)")
VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
PASS = "correct horse battery staple"


def readme_commands(text: str) -> list[str]:
    """The ```sh blocks' commands, continuation lines joined, comment lines dropped."""
    out: list[str] = []
    for block in BLOCK.findall(text):
        pending = ""
        for raw in block.splitlines():
            line = raw.rstrip()
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            out.append(pending + line)
            pending = ""
        assert not pending, f"a ```sh block ends inside a continued line: {pending!r}"
    return out


class Shell:
    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.vars: dict[str, str] = {}

    def expand(self, line: str) -> str:
        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in self.vars:
                return self.vars[name]
            if name in os.environ:
                return os.environ[name]
            raise AssertionError(f"README uses ${name}, which nothing set: {line!r}")

        return VAR.sub(sub, line)

    def xinan(self, words: list[str], stdin: bytes | None = None) -> bytes:
        assert words and words[0] == "xinan", f"README runs only xinan commands: {words!r}"
        old = Path.cwd()
        os.chdir(self.cwd)
        try:
            res = CliRunner().invoke(app, words[1:], input=stdin, catch_exceptions=False)
        finally:
            os.chdir(old)
        assert res.exit_code in (0, 3), (
            f"README command failed in {self.cwd.name}/ (exit {res.exit_code}):\n"
            f"  {shlex.join(words)}\n{res.stderr}{res.stdout[-2000:]}"
        )
        return res.stdout_bytes

    def run(self, line: str) -> None:
        m = CAPTURE.fullmatch(line.strip())
        if m:
            words = shlex.split(self.expand(m.group(2)), comments=True)
            self.vars[m.group(1)] = self.xinan(words).decode("utf-8").rstrip("\n")
            return
        words = shlex.split(self.expand(line), comments=True)
        if not words:
            return
        if words[0] == "cd":
            assert len(words) == 2, line
            self.cwd = (self.cwd / words[1]).resolve()
            assert self.cwd.is_dir(), f"README: cd {words[1]}: no such directory"
            return
        stdin: bytes | None = None
        out: Path | None = None
        rest: list[str] = []
        it = iter(words)
        for w in it:
            if w == "<":
                stdin = (self.cwd / next(it)).read_bytes()
            elif w == ">":
                out = self.cwd / next(it)
            else:
                assert w not in ("|", "&&", ";", ">>", "2>"), f"README: unsupported {w!r}: {line}"
                rest.append(w)
        data = self.xinan(rest, stdin)
        if out is not None:
            out.write_bytes(data)


def test_readme_blocks_parse() -> None:
    cmds = readme_commands(README.read_text("utf-8"))
    assert any(c.startswith("xinan init ") for c in cmds), "the README sets parties up with init"
    for c in cmds:
        words = shlex.split(CAPTURE.sub(r"\2", c.strip()), comments=True)
        assert words and words[0] in ("xinan", "cd"), c


def test_the_two_commands_exist() -> None:
    text = README.read_text("utf-8")
    for script in ("scripts/demo.sh", "scripts/test.sh"):
        assert f"bash {script}" in text and (ROOT / script).is_file()


def test_readme_runs_as_written(tmp_path, monkeypatch, fast_kdf) -> None:
    for var in list(os.environ):
        if var.startswith("XINAN_"):
            monkeypatch.delenv(var)
    # the README: "scripts give the passphrase in $XINAN_PASSPHRASE" (synthetic keys only)
    monkeypatch.setenv("XINAN_PASSPHRASE", PASS)
    shell = Shell(tmp_path)
    for line in readme_commands(README.read_text("utf-8")):
        shell.run(line)
