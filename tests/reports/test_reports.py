"""Reports people look at (docs/report.md): rendered from a real demo world, looked at in a
real headless browser, and every number checked against the --json twin and the CLI's own
counts. A tampered log makes the audit report's first line name the wrong entry."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import cheap_kdf_params
from tests.support.reports import (
    SCREENSHOTS,
    assert_not_blank,
    assert_numbers_match,
    page,
    screenshot,
)
from xinan import keys
from xinan.cli import app
from xinan.demo import DISPLAY_NAMES
from xinan.errors import VerificationError


def datetime_utc() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


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
        # the reports are the subject here, not the KDF (tests/conftest.py cheap_kdf_params)
        mp.setattr(keys, "DEFAULT_KDF", cheap_kdf_params())
        run_demo(root, records=200, today=date(2026, 11, 25), say=lambda _: None, passphrase=PASS)
    return root


def xinan(demo: Path, party: str, actor: str | None, *args: str) -> Any:
    argv = ["--keyring", str(demo / party / "keys")]
    argv += ["--audit-log", str(demo / party / "audit" / "audit.log")]
    if actor:
        argv += ["--as", actor]
    env = {
        "XINAN_PASSPHRASE": PASS,
        "XINAN_TODAY": "2026-11-25",
        "XINAN_IDENTITY": None,
        "XINAN_TOKEN_DIR": str(demo / "tokens"),  # the administrators' tokens from the demo
    }
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
    # the demo registers the bank's name (keys name): the report shows it, not the key id
    bank = next(q for q in doc["querents"] if q["name"] in ("bank-a", DISPLAY_NAMES["bank-a"]))
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


def test_who_reached_field_f_of_subject_x(demo: Path, tmp_path):
    """--field F keeps the subject's entries that reached F: the bank's consent, grant, share,
    release and open list their fields; an entry naming no fields counts as reaching all."""
    log = (demo / "platform" / "audit" / "audit.log").read_bytes().splitlines()
    consent = next(json.loads(line) for line in log if b'"type":"consent"' in line)
    assert consent["objects"]["fields"] == ["证件号码", "罚款金额"]
    subject = consent["subjects"][0]

    def query(field: str) -> dict[str, Any]:
        r = xinan(demo, "platform", "audit-admin", "report", "audit", "--subject", subject,
                  "--field", field, "-o", str(tmp_path / "f.html"), "--json")  # fmt: skip
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)["query"]

    granted, other = query("罚款金额"), query("违法事实")
    assert granted["field"] == "罚款金额" and granted["entries"] > other["entries"]
    kinds = {m["type"] for m in granted["matches"] if m["fields"] is not None}
    assert {"consent", "grant", "share"} <= kinds
    assert all(m["fields"] is None or "罚款金额" in m["fields"] for m in granted["matches"])
    assert all(m["fields"] is None for m in other["matches"])
    page_text = (tmp_path / "f.html").read_text(encoding="utf-8")
    assert "违法事实" in page_text and "全部字段" in page_text
    # the institution is named as the platform registered it, in the report's activity tables
    r = xinan(demo, "platform", "audit-admin", "report", "audit", "--json")
    assert "示例银行股份有限公司枣庄分行" in json.dumps(json.loads(r.stdout), ensure_ascii=False)
    bad = xinan(demo, "platform", "audit-admin", "report", "audit", "--field", "罚款金额")
    assert bad.exit_code != 0 and "--subject" in bad.output


def test_display_names_are_logged_and_refuse_identifiers(demo: Path):
    log = (demo / "platform" / "audit" / "audit.log").read_bytes().splitlines()
    named = [json.loads(x) for x in log if b'"type":"key.name"' in x]
    assert {e["objects"]["name"] for e in named} >= {"示例银行股份有限公司枣庄分行"}
    r = xinan(demo, "platform", "sys-admin", "keys", "name", "bank-a", "张三 11010519491231002X")
    assert r.exit_code != 0 and "identifier" in r.output
    # only the system administrator names keys; the refusal is logged
    r = xinan(demo, "platform", "audit-admin", "keys", "name", "bank-a", "某银行")
    assert r.exit_code != 0 and "某银行" not in [
        json.loads(x)["objects"].get("name")
        for x in (demo / "platform" / "audit" / "audit.log").read_bytes().splitlines()
    ]


def test_lineage_of_a_destroyed_record_from_collection_to_destruction(demo: Path, tmp_path):
    """CONTROLS.md 30: a record's history from the verified log, in order; a tampered log
    gives none; the read is logged."""
    log = demo / "platform" / "audit" / "audit.log"
    destroyed = next(
        json.loads(x)
        for x in log.read_bytes().splitlines()
        if b'"type":"destroy"' in x and b'"outcome":"success"' in x
    )
    rid = destroyed["objects"]["record_ids"][0]
    # the package it arrived in (as `vault show` prints it): the demo ingests one submission
    ingest = next(
        json.loads(x)
        for x in log.read_bytes().splitlines()
        if b'"type":"ingest"' in x and b'"outcome":"success"' in x
    )
    pkg = ingest["objects"]["package"]
    r = xinan(demo, "platform", "audit-admin", "audit", "lineage", rid, "--log", str(log),
              "--package", pkg, "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["format"] == "xinan-lineage/1" and doc["log"]["ok"]
    stages = doc["stages"]
    assert stages[:2] == ["verify", "ingest"] and stages[-1] == "destroy", stages
    seqs = [e["seq"] for e in doc["entries"]]
    assert seqs == sorted(seqs)
    assert all(
        rid in e["objects"].get("record_ids", ()) or e["objects"].get("package") == pkg
        for e in doc["entries"]
    )
    after = [json.loads(x) for x in log.read_bytes().splitlines()][-1]
    assert after["type"] == "audit.lineage" and after["objects"]["record_ids"] == [rid]
    # a tampered copy of the log: refused, nothing listed
    bad = tmp_path / "audit.log"
    shutil.copytree(log.parent, bad.parent, dirs_exist_ok=True)
    data = bad.read_bytes()
    i = data.index(b'"type":"ingest"')
    bad.write_bytes(data[:i] + data[i:].replace(b"success", b"failed", 1))
    r = xinan(demo, "platform", "audit-admin", "audit", "lineage", rid, "--log", str(bad),
              "--package", pkg, "--json")  # fmt: skip
    assert r.exit_code != 0 and '"stages"' not in r.stdout
    # only audit roles
    r = xinan(demo, "platform", "platform", "audit", "lineage", rid, "--log", str(log))
    assert r.exit_code != 0


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


# ------------------------------------------------------------------------------ subject report


def _person(demo: Path) -> str:
    import csv

    with (demo / "provider" / "penalty-export.csv").open(encoding="gb18030", newline="") as f:
        for row in csv.DictReader(f):
            if row["行政相对人类别"] == "自然人" and len(row["证件号码"]) == 18:
                return row["证件号码"]
    raise AssertionError("no natural person in the demo export")


def test_demo_leaves_a_signed_subject_report_that_a_third_party_verifies(demo: Path):
    for name in ("报告.html", "报告.pdf"):
        f = demo / "reports" / name
        assert f.is_file() and (demo / "reports" / (name + ".sig")).is_file()
        # the bank holds only the platform's public key
        r = xinan(demo, "querent", None, "report", "verify", str(f), "--json")
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["signer"]["id"] == "platform"


def test_subject_report_numbers_times_and_no_other_person(demo: Path, tmp_path: Path):
    person = _person(demo)
    out = tmp_path / "报告.html"
    r = xinan(demo, "platform", "platform", "report", "subject", person, "-o", str(out),
              "--vault", str(demo / "platform" / "vault"), "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["format"] == "xinan-subject-report/1"
    assert assert_numbers_match(out, doc) >= 4
    t = doc["totals"]
    assert (t["receipts"], t["institutions"], t["denied"]) == (3, 1, 0)
    # by the name the platform registered for the bank's key (demo: keys name), not its key id
    assert doc["institutions"] == ["示例银行股份有限公司枣庄分行"]
    # the CLI's own count: the plain `report subject --json` lists the same accesses
    plain = xinan(demo, "platform", "platform", "report", "subject", person, "--json",
                  "--pseudonym-key", "subject-ps")  # fmt: skip
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.stdout)["accesses"] == t["receipts"]
    grant = next(x for x in doc["receipts"] if x["action"] == "grant")
    assert grant["purpose"] == "信易贷授信审查"
    assert grant["fields"] == ["证件号码", "罚款金额"]
    assert grant["consent"]["ref"] == "纸质授权书 SQ-0001"
    assert grant["consent"]["last_day"] == "2099-12-31"
    text = page(out).text
    # Beijing time: the entry's UTC time plus eight hours, as the page shows it
    from datetime import datetime, timedelta

    utc = datetime.fromisoformat(grant["time"].replace("Z", "+00:00"))
    assert (utc + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S") in text
    html = out.read_text(encoding="utf-8")
    # names no other person: only this subject's masked ID, no other 18-character ID, no other
    # subject's pseudonym, no staff key name, no record id
    assert person not in html and doc["subject"]["masked_id"] in html
    assert doc["subject"]["masked_id"] == person[0] + "*" * 13 + person[-4:]
    import re

    assert not re.search(r"\d{17}[\dX]", html)
    log = (demo / "platform" / "audit" / "audit.log").read_bytes().decode()
    others = set(re.findall(r"ps1\.[a-z0-9]+\.[a-z2-7]{26}", log)) - {doc["subject"]["pseudonym"]}
    assert others and not any(o in html for o in others)
    assert "sec-admin" not in html and not re.search(r"\br[a-z2-7]{26}\b", html)
    # the read of the log and the consents is itself recorded, before the files
    made = [
        e
        for e in map(json.loads, log.strip().splitlines())
        if e["why"].get("purpose") == "subject-access-report"
        and "consents" in e["objects"]["counts"]
    ]
    assert made and made[-1]["objects"]["counts"]["consents"] == 1
    assert made[-1]["subjects"] == [doc["subject"]["pseudonym"]]


def test_subject_report_page_and_pdf_look_right(demo: Path, tmp_path: Path):
    png, console = screenshot(demo / "reports" / "报告.html", "subject-report")
    assert console == []
    assert_not_blank(png)
    pdf = demo / "reports" / "报告.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    pdffonts, pdftoppm = shutil.which("pdffonts"), shutil.which("pdftoppm")
    if not (pdffonts and pdftoppm):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("poppler-utils missing in CI: .ci/run installs it (scripts/_system.sh)")
        pytest.skip("poppler-utils not installed (apt-get install -y poppler-utils)")
    fonts = subprocess.run(
        [pdffonts, str(pdf)], capture_output=True, text=True, timeout=120, check=True
    )
    cjk = [line for line in fonts.stdout.splitlines() if "CJK" in line]
    assert cjk and all(" yes yes " in line for line in cjk), fonts.stdout  # embedded subsets
    subprocess.run(
        [
            pdftoppm,
            "-r",
            "80",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            str(pdf),
            str(SCREENSHOTS / "subject-pdf"),
        ],
        timeout=120,
        check=True,
    )
    assert_not_blank(next(SCREENSHOTS.glob("subject-pdf*.png")))


def test_the_signature_fails_after_one_byte_is_changed(demo: Path, tmp_path: Path):
    from xinan.errors import IntegrityError
    from xinan.keys import Keyring
    from xinan.reports.signature import verify_report

    trust = Keyring(demo / "querent" / "keys")
    for name in ("报告.html", "报告.pdf"):
        data = (demo / "reports" / name).read_bytes()
        sig = (demo / "reports" / (name + ".sig")).read_bytes()
        verify_report(data, sig, trust=trust)
        step = max(1, len(data) // 300)
        for i in [*range(0, len(data), step), len(data) - 1]:
            changed = bytearray(data)
            changed[i] ^= 0x01
            with pytest.raises(IntegrityError):
                verify_report(bytes(changed), sig, trust=trust)
        for other in (data + b"\n", data[:-1]):
            with pytest.raises(IntegrityError):
                verify_report(other, sig, trust=trust)
        for i in range(len(sig)):  # every byte of the signature file
            changed = bytearray(sig)
            changed[i] ^= 0x01
            with pytest.raises((IntegrityError, VerificationError)):
                verify_report(data, bytes(changed), trust=trust)
    # and through the command: exit 1 after one byte changed
    copy = tmp_path / "报告.html"
    raw = bytearray((demo / "reports" / "报告.html").read_bytes())
    raw[len(raw) // 2] ^= 0x20
    copy.write_bytes(bytes(raw))
    r = xinan(demo, "querent", None, "report", "verify", str(copy), "--sig",
              str(demo / "reports" / "报告.html.sig"))  # fmt: skip
    assert r.exit_code == 1 and "does not match" in r.output


def test_only_a_platform_key_signs_a_citizen_report(demo: Path):
    from xinan.keys import Keyring
    from xinan.reports.signature import sign_report, verify_report

    bank = Keyring(demo / "querent" / "keys").unlock("bank-a", PASS)
    data = b"<!DOCTYPE html><p>forged</p>"
    sig = sign_report(data, name="x.html", signer=bank, now=datetime_utc())
    with pytest.raises(VerificationError, match="not by a platform key"):
        verify_report(data, sig, trust=Keyring(demo / "platform" / "keys"))
    with pytest.raises(VerificationError, match="does not hold"):
        verify_report(data, sig, trust=Keyring(demo / "provider" / "keys"))


def test_a_pdf_is_refused_rather_than_printed_with_boxes():
    from xinan.reports.pdf import PdfError, html_to_pdf

    ok = html_to_pdf('<html lang="zh-CN"><body><p>信用信息使用记录报告</p></body></html>')
    assert ok.startswith(b"%PDF-")
    with pytest.raises(PdfError, match="boxes"):
        html_to_pdf('<html lang="zh-CN"><body><p>信用 \U0010fffd</p></body></html>')
    with pytest.raises(PdfError):
        html_to_pdf('<html><body><img src="http://example.invalid/x.png"></body></html>')
