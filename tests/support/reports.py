"""Looking at reports as a person would: the page's tagged numbers and visible text, and a real
headless browser (Debian's chromium) that renders it to a screenshot and reports any console
message. In CI (CI=true) a missing browser fails the test; elsewhere it skips with a reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

SCREENSHOTS = Path(os.environ.get("XINAN_SCREENSHOTS", tempfile.gettempdir())) / "xinan-reports"


class _Page(HTMLParser):
    """Collects the tagged numbers (<data data-key=…>), the visible text lines, and any
    element that could run code or fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.numbers: list[tuple[str, str]] = []
        self.text: list[str] = []
        self.active: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "data" and "data-key" in a:
            self.numbers.append((a["data-key"] or "", a.get("value") or ""))
        if tag in ("script", "iframe", "object", "embed", "link", "img"):
            self.active.append(tag)
        for k, v in attrs:
            if k.startswith("on") or (k in ("src", "href") and v and ":" in v):
                self.active.append(f"{tag}[{k}]")
        if tag in ("style", "title", "head"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title", "head"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.text.append(data.strip())


def page(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def lookup(doc: Any, key: str) -> Any:
    for part in key.split("."):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def assert_numbers_match(html: Path, doc: dict[str, Any]) -> int:
    """Every number shown on the page equals the one at its path in the --json twin."""
    numbers = page(html).numbers
    assert numbers, "the page shows no tagged numbers"
    for key, value in numbers:
        expected = lookup(doc, key)
        assert value == ("" if expected is None else repr(expected)), key
    return len(numbers)


def chromium() -> str:
    """Debian's chromium; in CI its absence is a failure, never a silent skip."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe:
        return exe
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is not installed in CI: .ci/run installs it (scripts/_system.sh)")
    pytest.skip("chromium not installed: apt-get install -y chromium fonts-noto-cjk")


def screenshot(html: Path, name: str, *, height: int = 2000) -> tuple[Path, list[str]]:
    """Render ``html`` headless (no network, fresh profile) to a PNG; return it and the
    console messages the page produced (any message at all — a CSP violation, a script
    error — counts)."""
    exe = chromium()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    out = SCREENSHOTS / f"{name}.png"
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        res = subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                "--hide-scrollbars",
                f"--window-size=1200,{height}",
                f"--screenshot={out}",
                html.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert res.returncode == 0, res.stderr[-2000:]
    assert out.is_file(), res.stderr[-2000:]
    console = [line for line in res.stderr.splitlines() if ":CONSOLE" in line]
    return out, console


def assert_not_blank(png: Path) -> None:
    from PIL import Image

    with Image.open(png) as im:
        rgb = im.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20) or []
        dark = sum(n for n, (r, g, b) in colours if r + g + b < 200)
        total = rgb.width * rgb.height
    assert len(colours) > 20, f"{png}: only {len(colours)} colours — blank?"
    assert dark > total // 500, f"{png}: almost no dark pixels (text) — blank?"
