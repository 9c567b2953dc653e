"""The provider's quality report (`xinan report quality`, docs/report.md §7) on a file with
known defects: each KPI exactly as defined, the working-day deadline across the National Day
holiday, thresholds from the policy, counts equal to mask's and seal's on the same file, the
page's numbers equal to its --json twin, and the page in a real browser."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import cli_workplace
from tests.support.reports import assert_not_blank, assert_numbers_match, page, screenshot
from xinan.cli import app
from xinan.policy import load_policy, load_policy_text
from xinan.policy.catalogue import check_policy_text, default_policy_path
from xinan.provider.quality import build_quality_report

AS_OF = "2026-10-13"


@pytest.fixture()
def runner(tmp_path, monkeypatch, fast_kdf):
    r = cli_workplace(
        tmp_path,
        monkeypatch,
        ["keygen", "--id", "amr", "--role", "provider", "--suite", "intl"],
        ["keygen", "--id", "platform", "--role", "platform", "--suite", "intl"],
        ["keygen", "--id", "sa", "--role", "sys-admin", "--suite", "intl"],
        ["audit", "init", "--key", "amr"],
        ["--as", "sa", "keys", "bootstrap"],
    )
    monkeypatch.setenv("XINAN_IDENTITY", "amr")
    monkeypatch.setenv("XINAN_TODAY", AS_OF)
    return r


def invoke(runner, *args):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture()
def export(runner, tmp_path: Path) -> dict[str, int]:
    """12 synthetic penalty rows, then four planted defects (rows numbered as in rejects
    files: the header is row 1). Returns the planted rows."""
    r = invoke(runner, "fake", "penalty", "-n", "12", "-o", "e.csv", "--seed", "5",
               "--bad-rate", "0")  # fmt: skip
    assert r.exit_code == 0, r.output
    path = tmp_path / "e.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:  # a BOM by default (issue 15)
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(head)}
    legal = [i for i, row in enumerate(body) if row[col["行政相对人类别"]] == "法人及非法人组织"]
    assert len(legal) >= 2
    for row in body:
        row[col["处罚决定日期"]] = "2026-10-12"
    planted = {
        # 2026-09-29 + 7 working days = 2026-10-14 (国庆 10-01..10-07 off, 10-10 worked):
        # in time on 10-13, though 7 plain weekdays would have ended on 10-08
        "in_time_over_holiday": 0,
        # 2026-09-10 + 7 working days = 2026-09-20 (a Sunday worked, 调休): late on 10-13
        "late": 1,
        "bad_uscc": legal[0],
        "missing_name": legal[1],
    }
    assert len(set(planted.values())) == 4
    body[planted["in_time_over_holiday"]][col["处罚决定日期"]] = "2026-09-29"
    body[planted["late"]][col["处罚决定日期"]] = "2026-09-10"
    uscc = body[planted["bad_uscc"]][col["统一社会信用代码"]]
    body[planted["bad_uscc"]][col["统一社会信用代码"]] = uscc[:-1] + (
        "0" if uscc[-1] != "0" else "1"
    )
    body[planted["missing_name"]][col["行政相对人名称"]] = ""
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([head, *body])
    return {k: v + 2 for k, v in planted.items()}


def test_each_kpi_is_computed_as_defined(runner, export, tmp_path):
    rep = build_quality_report(
        tmp_path / "e.csv", policy=load_policy(), today=date.fromisoformat(AS_OF)
    )
    doc = rep.to_json()
    c = doc["counts"]
    kpis = {k["kpi"]: k for k in doc["kpis"]}
    # 数据有效入库率 = 有效入库记录数 / 提供记录数
    assert (c["read"], c["rejected"], c["valid"]) == (12, 2, 10)
    assert kpis["valid_rate"]["value"] == 10 / 12
    # 完整率: exactly one required item (行政相对人名称) left empty
    assert c["required_items"] - c["required_provided"] == 1
    assert kpis["completeness"]["value"] == c["required_provided"] / c["required_items"]
    assert doc["missing_columns"] == [{"column": "行政相对人名称", "items": 1}]
    # 准确率: exactly one provided item fails its check (the USCC's check character)
    assert c["items_provided"] - c["items_accurate"] == 1
    assert doc["inaccurate_columns"] == [{"column": "统一社会信用代码", "items": 1}]
    # 及时率 over the valid rows, counted in working days with the holiday calendar
    assert (c["timely_checked"], c["on_time"], c["late"], c["undetermined"]) == (10, 9, 1, 0)
    assert kpis["timeliness"]["value"] == 9 / 10
    assert doc["deadline"] == {"field": "处罚决定日期", "days": 7, "working_days": True}
    # thresholds are the policy's
    assert all(k["threshold"] == 0.95 for k in doc["kpis"])
    assert [k["pass"] for k in doc["kpis"]] == [False, True, True, False]
    worst = {w["row"]: w for w in doc["worst_rows"]}
    assert set(worst) == {export["bad_uscc"], export["missing_name"]}
    assert worst[export["bad_uscc"]]["items"][0]["column"] == "统一社会信用代码"


def test_thresholds_come_from_the_policy(runner, export, tmp_path):
    text = default_policy_path().read_text(encoding="utf-8")
    lenient = text.replace("valid_rate = 0.95", "valid_rate = 0.8").replace(
        "timeliness = 0.95", "timeliness = 0.9"
    )
    pol = load_policy_text(lenient)
    doc = build_quality_report(tmp_path / "e.csv", policy=pol, today=date(2026, 10, 13)).to_json()
    kpis = {k["kpi"]: k for k in doc["kpis"]}
    assert kpis["valid_rate"]["threshold"] == 0.8 and kpis["valid_rate"]["pass"]
    assert kpis["timeliness"]["threshold"] == 0.9 and kpis["timeliness"]["pass"]
    bad = text.replace("accuracy = 0.95", "accuracy = 95")
    policy, problems = check_policy_text(bad, "bad.toml")
    assert policy is None and any("quality.accuracy" in p.path for p in problems)


def test_counts_equal_mask_and_seal_on_the_same_file(runner, export, tmp_path):
    q = invoke(runner, "report", "quality", "e.csv", "-o", "质量报告.html", "--json")
    assert q.exit_code == 0, q.output
    doc = json.loads(q.stdout)
    m = invoke(runner, "mask", "e.csv", "-o", "pub.csv", "--audience", "public", "--json")
    assert m.exit_code == 3, m.output
    mask = json.loads(m.stdout)
    s = invoke(runner, "seal", "e.csv", "-o", "e.xpkg", "--to", "platform", "--json")
    assert s.exit_code == 3, s.output
    seal = json.loads(s.stdout)
    assert doc["counts"]["read"] == mask["read"] == seal["read"] == 12
    assert doc["counts"]["rejected"] == mask["rejected"] == seal["rejected"]
    assert doc["counts"]["valid"] == seal["sealed"]
    reasons = {x["reason"]: x["rows"] for x in doc["reject_reasons"]}
    assert reasons == mask["reject_reasons"] == seal["reject_reasons"]
    # the page: its numbers are the twin's; the first line names what is below threshold
    html = tmp_path / "质量报告.html"
    assert assert_numbers_match(html, doc) > 20
    first = page(html).text[0]
    assert first.startswith("未达标") and "数据有效入库率" in first
    text = html.read_text(encoding="utf-8")
    assert "2026-09-29" not in text  # no value of the file is shown, only rows and reasons
    # the read is recorded like scan: counts, never a value
    log = (tmp_path / "audit" / "audit.log").read_bytes().splitlines()
    e = json.loads(next(x for x in log if b"quality-report" in x))
    assert e["type"] == "collect" and e["objects"]["counts"] == {
        "rows": 12,
        "rejected": 2,
        "valid": 10,
    }


def test_quality_report_in_a_real_browser(runner, export, tmp_path):
    for lang in ("zh", "en"):
        out = tmp_path / f"q-{lang}.html"
        r = invoke(runner, "report", "quality", "e.csv", "-o", str(out), "--lang", lang)
        assert r.exit_code == 0, r.output
        png, console = screenshot(out, f"quality-report-{lang}")
        assert console == []
        assert_not_blank(png)
        assert page(out).active == []


def test_a_policy_without_quality_table_is_refused(runner, export, tmp_path):
    text = default_policy_path().read_text(encoding="utf-8")
    start = text.index("[quality]")
    end = text.index("[kind.penalty]")
    cut = text[:start] + "\n# " + text[end - 1 : end] + text[end:]
    p = tmp_path / "p.toml"
    p.write_text(cut.replace("\n# \n", "\n"), encoding="utf-8")
    r = invoke(runner, "report", "quality", "e.csv", "--policy", str(p))
    assert r.exit_code == 2 and "[quality]" in r.output
