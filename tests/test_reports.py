"""Reports people look at (docs/report.md): rendered from a real demo world, looked at in a
real headless browser, and every number checked against the --json twin and the CLI's own
counts. A tampered log makes the audit report's first line name the wrong entry."""

from __future__ import annotations

import contextlib
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.support.reports import assert_not_blank, assert_numbers_match, page, screenshot
from xinan.cli import app

PASS = "correct horse battery staple"


# ------------------------------------------------------------------------------ the world


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's whole life cycle, with a passphrase this test knows (to act as parties)."""
    from xinan.demo import run_demo

    root = tmp_path_factory.mktemp("demo") / "d"
    with pytest.MonkeyPatch.context() as mp:
        for var in ("XINAN_IDENTITY", "XINAN_AUDIT_LOG", "XINAN_KEYRING", "XINAN_VAULT"):
            mp.delenv(var, raising=False)
        run_demo(root, records=200, today=date(2026, 11, 25), say=lambda _: None, passphrase=PASS)
    return root


def xinan(demo: Path, party: str, actor: str | None, *args: str) -> Any:
    argv = ["--keyring", str(demo / party / "keys")]
    argv += ["--audit-log", str(demo / party / "audit" / "audit.log")]
    if actor:
        argv += ["--as", actor]
    env = {"XINAN_PASSPHRASE": PASS, "XINAN_TODAY": "2026-11-25", "XINAN_IDENTITY": None}
    return CliRunner().invoke(app, argv + list(args), env=env, catch_exceptions=False)


def test_the_browser_check_can_fail(tmp_path: Path) -> None:
    """The console check is real: a page with a script error and a fetch is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><body><p>x</p><script>undefinedFn()</script>"
        '<img src="http://example.invalid/a.png"></body></html>',
        encoding="utf-8",
    )
    _, console = screenshot(bad, "negative-control", height=300)
    assert any("undefinedFn" in line for line in console)
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    png, console = screenshot(blank, "blank", height=300)
    assert not console
    with pytest.raises(AssertionError):
        assert_not_blank(png)


# ------------------------------------------------------------------------------ audit report


def test_demo_leaves_an_audit_report_whose_numbers_are_its_json_twin_and_the_logs(demo: Path):
    html = demo / "reports" / "审计报告.html"
    doc = json.loads((demo / "reports" / "审计报告.json").read_text(encoding="utf-8"))
    assert doc["format"] == "xinan-audit-report/1"
    assert doc["ok"] is True and doc["first_problem"] is None
    assert assert_numbers_match(html, doc) > 20
    # the CLI's own counts: `audit verify --json` of each log
    sizes = []
    for party, lg in zip(("platform", "querent"), doc["logs"], strict=True):
        r = xinan(demo, party, None, "audit", "verify", "--json")
        assert r.exit_code == 0, r.output
        v = json.loads(r.stdout)
        # the report was recorded in the platform's log after it was built: one more entry
        extra = 1 if party == "platform" else 0
        assert v["size"] == lg["size"] + extra
        assert lg["checkpoints"] <= v["checkpoints"]
        sizes.append(lg["size"])
    assert doc["totals"]["entries"] == sum(sizes)
    assert doc["totals"]["certificates"] == doc["totals"]["certificates_ok"] == 1
    bank = next(q for q in doc["querents"] if q["name"] == "bank-a")
    assert (bank["grants"], bank["shares"], bank["opens"]) == (1, 2, 1)
    text = page(html).text
    assert text[0] == "全部审计日志验证通过：无修改、删除、重排或回滚。"


def test_the_audit_report_is_recorded_in_the_log(demo: Path):
    last = (demo / "platform" / "audit" / "audit.log").read_bytes().splitlines()[-1]
    e = json.loads(last)
    assert e["type"] == "audit.report" and e["actor"]["role"] == "audit-admin"
    assert e["objects"]["ref"] == "report:audit"


def test_audit_report_in_a_real_browser(demo: Path):
    png, console = screenshot(demo / "reports" / "审计报告.html", "audit-report")
    assert console == []
    assert_not_blank(png)


def test_a_tampered_log_gives_a_report_whose_first_line_names_the_entry(demo: Path, tmp_path):
    src = demo / "platform" / "audit" / "audit.log"
    copy = tmp_path / "audit.log"
    for suffix in ("", ".checkpoints", ".config"):
        shutil.copy(str(src) + suffix, str(copy) + suffix)
    lines = copy.read_bytes().splitlines(keepends=True)
    target = next(i for i, line in enumerate(lines) if b'"type":"grant"' in line)
    lines[target] = lines[target].replace(b"\xe4\xbf\xa1\xe6\x98\x93\xe8\xb4\xb7", b"XXXXXXXXX")
    copy.write_bytes(b"".join(lines))
    out = tmp_path / "审计报告.html"
    r = xinan(demo, "platform", "audit-admin", "report", "audit", str(copy), "-o", str(out))
    assert r.exit_code == 1
    first_line = r.output.splitlines()[0]
    assert first_line.startswith("FAILED:") and f"entry {target} modified" in first_line
    first_text = page(out).text[0]
    assert first_text.startswith("审计日志验证未通过") and f"entry {target} modified" in first_text
    png, console = screenshot(out, "audit-report-tampered", height=900)
    assert console == []
    assert_not_blank(png)
    en = tmp_path / "audit-en.html"
    r = xinan(demo, "platform", "audit-admin", "report", "audit", str(copy), "-o", str(en),
              "--lang", "en", "--json")  # fmt: skip
    doc = json.loads(r.stdout)
    assert doc["first_problem"]["seq"] == target
    assert page(en).text[0].startswith("Audit log verification FAILED")
    assert_numbers_match(en, doc)


def test_only_audit_roles_read_the_entries_for_a_report(demo: Path, tmp_path):
    r = xinan(demo, "platform", "platform", "report", "audit", "-o", str(tmp_path / "x.html"))
    assert r.exit_code == 77
    assert not (tmp_path / "x.html").exists()
    last = (demo / "platform" / "audit" / "audit.log").read_bytes().splitlines()[-1]
    assert json.loads(last)["outcome"] == "denied"


def test_subject_query_entries_carry_proofs_that_check_proof_accepts(demo: Path, tmp_path):
    consent = next(
        json.loads(line)
        for line in (demo / "platform" / "audit" / "audit.log").read_bytes().splitlines()
        if b'"type":"consent"' in line
    )
    subject = consent["subjects"][0]
    r = xinan(demo, "platform", "audit-admin", "report", "audit", "--subject", subject,
              "--since", "2026-01-01", "-o", str(tmp_path / "q.html"), "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    q = json.loads(r.stdout)["query"]
    assert q["entries"] >= 4 and q["proven"] == q["entries"]
    for m in q["matches"]:
        proof, cp = tmp_path / f"e{m['seq']}.proof", tmp_path / "cp.txt"
        proof.write_text(m["proof"], encoding="utf-8")
        cp.write_text(m["checkpoint"], encoding="utf-8")
        c = xinan(demo, "platform", None, "audit", "check-proof", str(proof),
                  "--checkpoint", str(cp), "--json")  # fmt: skip
        assert c.exit_code == 0, c.output
        assert json.loads(c.stdout)["index"] == m["seq"]
    with contextlib.suppress(FileNotFoundError):
        (tmp_path / "q.html").unlink()


def test_strings_from_the_log_are_escaped(tmp_path: Path):
    from datetime import UTC, datetime

    from xinan.reports.render import render_audit

    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    model = {
        "format": "xinan-audit-report/1",
        "generated_at": "2026-11-25T01:00:00Z",
        "ok": False,
        "first_problem": {"log": evil, "message": evil, "violation": "modified", "seq": 3},
        "totals": dict.fromkeys(
            [
                "logs",
                "entries",
                "denied",
                "grants",
                "shares",
                "opens",
                "destroy_entries",
                "certificates",
                "certificates_ok",
            ],
            1,
        ),
        "logs": [],
        "types": [{"type": evil, "entries": 1}],
        "by_day": [{"day": "2026-11-25", "entries": 1, "types": {evil: 1}}],
        "actors": [{"key_id": evil, "name": evil, "role": evil, "entries": 1}],
        "denials": [],
        "querents": [],
        "certificates": [],
        "query": None,
    }
    del datetime, UTC
    out = tmp_path / "evil.html"
    out.write_text(render_audit(model), encoding="utf-8")
    text = out.read_text(encoding="utf-8")
    assert evil not in text and "<script>alert" not in text
    assert page(out).active == []
    _, console = screenshot(out, "escaping", height=600)
    assert console == []


# ------------------------------------------------------------------------------ quality report


def test_demo_leaves_a_quality_report_whose_numbers_are_its_json_twin(demo: Path):
    html = demo / "reports" / "质量报告.html"
    doc = json.loads((demo / "reports" / "质量报告.json").read_text(encoding="utf-8"))
    assert doc["format"] == "xinan-quality-report/1"
    assert assert_numbers_match(html, doc) > 20
    png, console = screenshot(html, "quality-report-demo")
    assert console == []
    assert_not_blank(png)
