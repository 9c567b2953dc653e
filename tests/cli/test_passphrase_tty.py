"""Passphrases at a real terminal (issue 15, item 4): each key asked once per process, three
tries on a typo. ``xinan`` runs as a child on a pseudo-terminal, as a person would run it."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from xinan.cli import app

ROOT = Path(__file__).resolve().parents[2]
PASS = "correct horse battery staple"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")


def _setup(tmp_path: Path, monkeypatch) -> Path:
    for var in list(os.environ):
        if var.startswith("XINAN_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("XINAN_PASSPHRASE", PASS)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["init", "platform", "plat"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return tmp_path / "plat"


def _run_on_a_terminal(cwd: Path, args: list[str], answers: list[str]) -> tuple[int, str]:
    """Run ``xinan ARGS`` on a pty; answer each "Passphrase for" prompt with the next answer.
    Returns the exit status and everything the terminal showed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINAN_")}
    pid, fd = pty.fork()
    if pid == 0:  # the child: xinan as the console script runs it
        os.chdir(cwd)
        os.execve(sys.executable, [sys.executable, str(ROOT / "cli.py"), *args], env)
    shown = b""
    pending = list(answers)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
        prompts = shown.count(b"Passphrase for")
        answered = len(answers) - len(pending)
        if prompts > answered and pending:
            os.write(fd, (pending.pop(0) + "\n").encode())
    done, status = os.waitpid(pid, os.WNOHANG)
    grace = time.monotonic() + 30  # it closed the terminal: it is exiting
    while done == 0 and time.monotonic() < min(grace, deadline):
        time.sleep(0.05)
        done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0:  # still running after the deadline (a prompt nobody answers): never hang
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
        pytest.fail(f"xinan {' '.join(args)} still running after 240 s; it showed:\n{shown!r}")
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode("utf-8", "replace")


def test_each_key_is_asked_once_and_a_typo_is_asked_again(tmp_path, monkeypatch, fast_kdf):
    plat = _setup(tmp_path, monkeypatch)
    # `consent list` unlocks the platform key as the actor and again as the log's key: once
    code, shown = _run_on_a_terminal(plat, ["consent", "list"], [PASS])
    assert code == 0, shown
    assert shown.count("Passphrase for") == 1
    # a typo, then the right passphrase: asked again, and the command completes
    code, shown = _run_on_a_terminal(plat, ["consent", "list"], ["wrong guess", PASS])
    assert code == 0, shown
    assert shown.count("Passphrase for") == 2 and "try again (2 left)" in shown
    # three wrong: the command fails after the third, naming the failure
    code, shown = _run_on_a_terminal(plat, ["consent", "list"], ["one", "two", "three", PASS])
    assert code != 0 and shown.count("Passphrase for") == 3, shown
    assert "xinan: error:" in shown
    # every wrong try was counted and logged by the library as a failed unlock (the platform
    # key signs the log, so its failures are written by the next session that opens it)
    monkeypatch.chdir(plat)
    assert CliRunner().invoke(app, ["consent", "list"]).exit_code == 0
    log = (plat / "audit" / "audit.log").read_text("utf-8")
    assert log.count('"key.auth"') == 4


def test_grant_issue_asks_each_key_once(tmp_path, monkeypatch, fast_kdf):
    """Issue 15: `grant issue` asked four times, the platform key twice. It unlocks three
    keys — the security administrator (the actor), the platform key (signer of the log and of
    the grant) and the subject pseudonym key — and asks for each once."""
    plat = _setup(tmp_path, monkeypatch)
    bank = tmp_path / "bank"
    r = CliRunner().invoke(app, ["init", "querent", str(bank), "--id", "bank-a"])
    assert r.exit_code == 0, r.output
    monkeypatch.chdir(plat)
    subject = "11010519491231002X"  # GB 11643-1999's printed example: not a person's number
    for args in (
        ["--as", "sys-admin", "keys", "add", str(bank / "keys" / "public" / "bank-a.pub")],
        ["consent", "add", "--subject", subject, "--querent", "bank-a", "--purpose", "信易贷",
         "--fields", "证件号码", "--valid-until", "2030-12-31", "--ref", "SQ-0001"],
    ):  # fmt: skip
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 0, r.output
    code, shown = _run_on_a_terminal(
        plat,
        ["--as", "sec-admin", "grant", "issue", "--querent", "bank-a", "--purpose", "信易贷",
         "--fields", "证件号码", "--subject", subject, "--consent", "SQ-0001", "--ttl", "1d",
         "-o", "bank.grant"],
        [PASS, PASS, PASS, PASS],
    )  # fmt: skip
    assert code == 0, shown
    assert shown.count("Passphrase for") == 3, shown
    for key in ("platform", "sec-admin (sec-admin)", "subject-ps"):
        assert len([ln for ln in shown.splitlines() if "Passphrase for" in ln and key in ln]) == 1
