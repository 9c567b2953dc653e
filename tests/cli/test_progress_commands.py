"""Progress on every loop over records (issue 15 item 8): each command that loops over records
draws count, percentage, rate and time left on a terminal, from the library's progress events
(xinan/progress.py); nothing under --json or on a pipe."""

from __future__ import annotations

import csv
import fcntl
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

import xinan.cli.progress as cli_progress
from tests.support.worlds import build_world
from xinan import progress
from xinan.cli.progress import TerminalProgress

ROOT = Path(__file__).resolve().parents[2]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Recorder(TerminalProgress):
    """The real drawer on a fake terminal, redrawn at every event, remembering the events."""

    def __init__(self, stream: Tty) -> None:
        super().__init__(stream=stream)
        self.events: list[tuple[str, int, float | None]] = []

    def __call__(self, records: int, fraction: float | None) -> None:
        super().__call__(records, fraction)
        self.events.append((self.what, records, fraction))
        self._bar.refresh()


@pytest.fixture()
def drawn(monkeypatch):
    """Every progress drawer the commands make, on a fake terminal (the tty test is below)."""
    made: list[Recorder] = []

    def fake(*, as_json: bool = False, stream=None):
        if as_json:
            return None
        made.append(Recorder(Tty()))
        return made[-1]

    monkeypatch.setattr(cli_progress, "progress_for", fake)
    return made


@pytest.fixture()
def world(tmp_path, monkeypatch, fast_kdf):
    return build_world(tmp_path, monkeypatch, kind="penalty", people=40)


def passes(made: list[Recorder]) -> dict[str, int]:
    """The passes drawn (their label) and the last count of each."""
    out: dict[str, int] = {}
    for r in made:
        for what, n, _ in r.events:
            out[what] = n
    return out


def assert_drawn(made: list[Recorder], *labels: str, sized: bool = True) -> None:
    seen = passes(made)
    for label in labels:
        assert label in seen, (label, seen)
    text = "".join(r.stream.getvalue() for r in made)
    assert re.search(r"[\d,]+ records \w+, [\d,]+/s", text), text  # count and rate
    if sized:
        assert "100%" in text and re.search(r"<\d\d:\d\d", text), text  # percent, time left


def test_verify_ingest_share_release_open_disclose(world, drawn):
    w = world
    w.ok("plat", "platform", "verify", str(w.package))
    assert_drawn(drawn, "records verified")
    assert passes(drawn)["records verified"] == 40

    # a new package: ingest verifies and stores, each pass with its own bar
    drawn.clear()
    more = w.root / "prov" / "more.csv"
    w.ok("prov", "amr", "fake", "penalty", "-n", "25", "-o", str(more), "--seed", "12")
    pkg = w.root / "prov" / "more.xpkg"
    w.ok("prov", "amr", "seal", str(more), "-o", str(pkg), "--to", "platform")
    drawn.clear()
    w.ok("plat", "platform", "vault", "ingest", str(pkg), "--vault", str(w.vault))
    assert_drawn(drawn, "records checked", "records stored")
    assert passes(drawn)["records stored"] == 25

    drawn.clear()
    w.ok("plat", "platform", "open", str(pkg), "-o", str(w.root / "opened.csv"))
    assert_drawn(drawn, "records verified", "records opened", "records written")

    drawn.clear()
    w.ok("plat", "platform", "vault", "disclose", "--audience", "public",
         "-o", str(w.root / "public.csv"), "--vault", str(w.vault))  # fmt: skip
    assert_drawn(drawn, "records read")
    assert passes(drawn)["records read"] == 65

    uscc = next(p["统一社会信用代码"] for p in w.people if p["统一社会信用代码"])
    consent = w.consent(uscc, fields="处罚内容")
    g = w.grant(uscc, consent, fields="处罚内容")
    assert g.exit_code == 0, g.output
    drawn.clear()
    assert w.share().exit_code == 0
    assert_drawn(drawn, "records shared", sized=False)
    drawn.clear()
    assert w.release().exit_code == 0
    assert_drawn(drawn, "records verified")
    drawn.clear()
    r = w.open()
    assert r.exit_code == 0, r.output
    assert_drawn(drawn, "records verified", "records opened", "records written")

    # --json: no drawer at all
    drawn.clear()
    w.js("plat", "platform", "verify", str(w.package))
    assert drawn == []


def test_scan_quality_and_source_apply(world, drawn):
    w = world
    export = w.root / "prov" / "penalty.csv"
    w.ok("prov", "amr", "scan", str(export))
    assert_drawn(drawn, "records read")
    assert passes(drawn)["records read"] == 40
    drawn.clear()
    w.ok("prov", "amr", "report", "quality", str(export), "--today", "2026-11-25")
    assert_drawn(drawn, "records read")

    # a correction at the source: the corrected package is verified and ingested
    row = dict(w.people[0])
    fixed_csv = w.root / "prov" / "fixed.csv"
    with fixed_csv.open("w", encoding="utf-8", newline="") as f:
        out = csv.DictWriter(f, fieldnames=list(row))
        out.writeheader()
        out.writerow(row)
    fixed = w.root / "prov" / "fixed.xpkg"
    w.ok("prov", "amr", "seal", str(fixed_csv), "-o", str(fixed), "--to", "platform")
    listed = w.js("plat", "platform", "vault", "list", "--vault", str(w.vault), "--limit", "1")
    rid = listed["records"][0]["record_id"]
    w.ok("prov", "amr", "source", "correct", rid, "--package", str(fixed),
         "--basis", "枣市监变〔2026〕4号", "--decided", "2026-11-24",
         "-o", str(w.root / "change.json"))  # fmt: skip
    drawn.clear()
    w.ok("plat", "platform", "source", "apply", str(w.root / "change.json"),
         "--package", str(fixed), "--vault", str(w.vault))  # fmt: skip
    assert_drawn(drawn, "records verified", "records stored")


def test_passes_restart_count_rate_and_time_left():
    out = Tty()
    p = Recorder(out)
    with progress.reporting(p):
        m = progress.start("records verified", total=100)
        assert m is not None
        m.add(50)
        m.end()
        m = progress.start("records stored", total=10)
        assert m is not None
        m.add(10)
        m.end()
    assert p.events[0][0] == "records verified"
    assert p.events[-1] == ("records stored", 10, 1.0)
    p.done()


def test_no_sink_no_events():
    assert progress.current() is None
    assert progress.start("records read", total=10) is None


def test_stream_fraction(tmp_path):
    f = tmp_path / "x"
    f.write_bytes(b"a" * 100)
    with f.open("rb") as s:
        where = progress.stream_fraction(s)
        assert where is not None
        s.read(25)
        assert where() == 0.25
    r, _w = os.pipe()
    with os.fdopen(r, "rb") as pipe:
        assert progress.stream_fraction(pipe) is None
    os.close(_w)


@pytest.mark.skipif(sys.platform != "linux", reason="a pseudo-terminal")
def test_a_real_terminal_gets_the_bar_and_a_pipe_does_not():
    """A pass of the library under the CLI's drawer in a process whose stderr is a
    pseudo-terminal: the bar is drawn; the same with stderr on a pipe draws nothing."""
    env = {**os.environ, "XINAN_PASSPHRASE": "x" * 12, "LANG": "C.UTF-8", "COLUMNS": "120"}
    env.pop("XINAN_IDENTITY", None)
    code = (
        "import sys, time, xinan.progress as p\n"
        "from xinan.cli.progress import showing_progress\n"
        "with showing_progress():\n"
        "    m = p.start('records read', total=3)\n"
        "    for _ in range(3):\n"
        "        time.sleep(0.6)\n"
        "        m and m.add()\n"
        "    m and m.end()\n"
    )
    main, sub = pty.openpty()
    fcntl.ioctl(sub, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column tty
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stderr=sub, stdout=subprocess.DEVNULL, env=env, cwd=ROOT
    )
    os.close(sub)
    got = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if not select.select([main], [], [], 1.0)[0]:
            continue
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    if proc.poll() is None:
        proc.kill()  # never wait forever on a child that does not finish
    proc.wait(timeout=60)
    os.close(main)
    text = got.decode("utf-8", "replace")
    assert "records read" in text and "/s" in text and re.search(r"<\d\d:\d\d", text), text
    piped = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    assert piped.stderr == b""
