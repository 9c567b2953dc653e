"""Public disclosure, objections (异议) and credit repair (信用修复) through the command line,
with an injected clock (issue 7 parts 1–3 and 7; docs/lifecycle.md).

The world is tests/support/worlds.py's three parties; the platform's vault holds a random
penalty package and a crafted one whose decision dates, classes and severities put each record
on a known side of its disclosure window on known dates (docs/disclosure.md §9).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.worlds import World, build_world
from xinan.identifiers import IdKind, find_identifiers
from xinan.platform.lifecycle import raiser_reference, read_correction
from xinan.shapes import clear_identifier_kind

PUBLIC_FLAG = "异议标注"
AUTHORITY = "枣庄市市场监督管理局"

# name → (class, decision date, severity, 公示截止期, window end or None: never shown)
CRAFTED: dict[str, tuple[str, str, str, str, str | None]] = {
    # 2019 (发改办财金〔2019〕527号): general 1 year, serious 3 years, minor as general
    "g2019": ("legal", "2020-03-10", "一般", "", "2021-03-10"),
    "m2019": ("legal", "2020-03-10", "轻微", "", "2021-03-10"),
    "s2019": ("legal", "2021-06-15", "严重", "", "2024-06-15"),
    # 2023 (58号令): 3 years for every class; the 2026 rule takes general/minor down earlier
    "g2023": ("legal", "2024-05-20", "一般", "", "2026-03-31"),
    "s2023": ("legal", "2024-05-20", "严重", "", "2027-05-20"),
    "m2023": ("legal", "2026-01-15", "轻微", "", "2026-03-31"),
    # 2026 (36号令): minor not disclosed, general 1 year, serious 3 years
    "m2026": ("legal", "2026-04-01", "轻微", "", None),
    "g2026": ("legal", "2026-04-01", "一般", "", "2027-04-01"),
    "s2026": ("legal", "2026-05-01", "严重", "", "2029-05-01"),
    # the record's own 公示截止期 is earlier than any regime's maximum
    "own-end": ("legal", "2024-05-20", "严重", "2025-01-31", "2025-01-31"),
    # decided before any regime: nothing is shown without a rule that allows it
    "pre2019": ("legal", "2019-01-15", "一般", "", None),
    # individual businesses are market entities: shown like legal persons
    "ib2026": ("individual_business", "2026-06-01", "一般", "", "2027-06-01"),
    # natural persons never (山东省社会信用条例 第二十条)
    "nat2025": ("natural", "2025-06-01", "严重", "", None),
    "nat2026": ("natural", "2026-10-01", "一般", "", None),
    # for objections and repairs (as of the world's today, 2026-11-25)
    "repair-early": ("legal", "2026-09-01", "一般", "", "2027-09-01"),  # repair from 2026-12-02
    "repair-ok": ("legal", "2025-09-01", "严重", "", "2028-09-01"),  # 58号令 3 months: ok
    "dispute-a": ("legal", "2026-08-01", "一般", "", "2027-08-01"),
    "dispute-b": ("legal", "2026-08-02", "一般", "", "2027-08-02"),
    "dispute-c": ("legal", "2026-08-03", "一般", "", "2027-08-03"),
    "dispute-d": ("legal", "2026-08-04", "一般", "", "2027-08-04"),
    "dispute-e": ("legal", "2026-08-05", "一般", "", "2027-08-05"),
}
CLASS_LABEL = {
    "legal": "法人及非法人组织",
    "natural": "自然人",
    "individual_business": "个体工商户",
}


class Lab:
    """The world plus the crafted penalty records, by name."""

    def __init__(self, w: World) -> None:
        self.w = w
        self.ids: dict[str, str] = {}
        self.rows: dict[str, dict[str, str]] = {}
        self.source: list[dict[str, str]] = []

    # -- the platform's commands -------------------------------------------------------------
    def plat(self, actor: str, *args: str) -> Any:
        return self.w.js("plat", actor, *args, "--vault", str(self.w.vault))

    def run(self, actor: str, *args: str) -> Any:
        return self.w.run("plat", actor, *args, "--vault", str(self.w.vault))

    def disclose(self, as_of: str | None = None, *extra: str, out: str = "public.csv") -> Any:
        args = ["vault", "disclose", "--audience", "public", "-o", str(self.w.root / out)]
        if as_of:
            args += ["--as-of", as_of, "--historical"]
        return self.plat("platform", *args, *extra)

    def public_rows(self, out: str = "public.csv") -> list[dict[str, str]]:
        # CSV files are UTF-8 with a BOM by default (issue 15: Excel)
        with (self.w.root / out).open(encoding="utf-8-sig", newline="") as f:
            return list(csv.DictReader(f))

    def shown(self, as_of: str, *extra: str) -> dict[str, dict[str, str]]:
        """Crafted name → public row, for the records in the public view on ``as_of``."""
        s = self.disclose(as_of, *extra)
        assert s["balanced"], s
        by_id = {r["record_id"]: r for r in self.public_rows()}
        return {n: by_id[rid] for n, rid in self.ids.items() if rid in by_id}

    def share_count(self, name: str, tag: str) -> int:
        """Consent + grant + share of 处罚内容 for the subject (USCC) of a crafted record."""
        uscc = self.rows[name]["统一社会信用代码"]
        consent = self.w.consent(uscc, fields="处罚内容")
        g = self.w.grant(uscc, consent, fields="处罚内容", out=f"{tag}.grant")
        assert g.exit_code == 0, g.output
        r = self.w.run(
            "plat", "platform", "share", "--vault", str(self.w.vault),
            "--grant", str(self.w.root / f"{tag}.grant"), "-o", str(self.w.root / f"{tag}.xpkg"),
            "--json",
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        return int(json.loads(r.stdout)["records"])

    def listed(self) -> dict[str, dict[str, Any]]:
        recs = self.plat("platform", "vault", "list", "--kind", "penalty", "--limit", "10000")
        return {r["record_id"]: r for r in recs["records"]}

    def at(self, when: str) -> None:
        """Set the clock to 10:00 China Standard Time on ``when``."""
        d = date.fromisoformat(when)
        self.w.clock.now = datetime(d.year, d.month, d.day, 2, 0, tzinfo=UTC)

    def audit_ok(self) -> None:
        r = self.w.run("plat", "auditadm", "audit", "verify")
        assert r.exit_code == 0, r.output
        text = self.w.log("plat").read_text("utf-8")
        for row in self.source:
            for col in ("证件号码", "法定代表人证件号码"):
                if row.get(col):
                    assert row[col] not in text


def _craft(w: World) -> Lab:
    lab = Lab(w)
    src = w.root / "prov" / "crafted-src.csv"
    w.ok("prov", "amr", "fake", "penalty", "-n", "120", "-o", str(src), "--seed", "23")
    with src.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = list(reader.fieldnames or [])
        base = list(reader)
    pool = {
        c: [r for r in base if r["行政相对人类别"] == label] for c, label in CLASS_LABEL.items()
    }
    out = w.root / "prov" / "crafted.csv"
    with out.open("w", encoding="utf-8", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=header)
        wr.writeheader()
        for i, (name, (cls, decided, sev, own_end, _)) in enumerate(CRAFTED.items()):
            row = dict(pool[cls].pop())
            row.update(
                {
                    "行政处罚决定书文号": f"枣市监罚〔T〕{i:03d}-{name}",
                    "违法行为类型": "违反广告管理规定",
                    "处罚依据": "《中华人民共和国广告法》第五十五条",
                    "处罚机关": AUTHORITY,
                    "数据来源单位": AUTHORITY,
                    "违法行为严重程度": sev,
                    "处罚决定日期": decided,
                    "处罚有效期": "",
                    "公示截止期": own_end,
                }
            )
            wr.writerow(row)
            lab.rows[name] = row
    pkg = w.root / "prov" / "crafted.xpkg"
    w.ok("prov", "amr", "seal", str(out), "-o", str(pkg), "--to", "platform")
    w.ok("plat", "platform", "vault", "ingest", str(pkg), "--vault", str(w.vault))
    for rid, rec in lab.listed().items():
        no = rec["fields"]["行政处罚决定书文号"]
        if no.startswith("枣市监罚〔T〕"):
            lab.ids[no.split("-", 1)[1]] = rid
    assert set(lab.ids) == set(CRAFTED)
    with (w.root / "prov" / "penalty.csv").open(encoding="utf-8-sig", newline="") as f:
        lab.source = list(csv.DictReader(f)) + list(lab.rows.values())
    return lab


@pytest.fixture()
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_kdf: None) -> Lab:
    return _craft(build_world(tmp_path, monkeypatch, people=40, kind="penalty"))


# ============================================================================================
# 1. Disclosure
# ============================================================================================
def test_disclosure_windows_every_regime_and_class_on_the_right_dates(lab: Lab) -> None:
    """Each record is in the public view on its window's last day and gone the day after;
    natural persons and records no rule allows are never there."""
    days: set[date] = set()
    for _, decided, _, _, end in CRAFTED.values():
        days.add(date.fromisoformat(decided))
        if end:
            e = date.fromisoformat(end)
            days |= {e, date.fromordinal(e.toordinal() + 1)}
    for day in sorted(days):
        shown = lab.shown(day.isoformat())
        for name, (_, decided, _, _, end) in CRAFTED.items():
            expect = end is not None and date.fromisoformat(decided) <= day <= date.fromisoformat(
                end
            )
            assert (name in shown) == expect, (name, day)


def test_disclosure_summary_reconciles_and_masks(lab: Lab) -> None:
    s = lab.disclose("2026-11-25")
    c = s["counts"]
    assert s["balanced"] and c["candidates"] == 40 + len(CRAFTED)
    assert c["candidates"] == sum(v for k, v in c.items() if k not in ("candidates", "flagged"))
    naturals = sum(1 for r in lab.source if r["行政相对人类别"] == "自然人")
    assert c["withheld"] == naturals and c["written"] > 0 and c["outside_window"] > 0
    rows = lab.public_rows()
    assert len(rows) == c["written"]
    # the public layout: no ID type, no natural person's ID, no severity; the flag column last
    header = list(rows[0])
    assert header[0] == "record_id" and header[-1] == PUBLIC_FLAG
    for col in ("证件号码", "证件类型", "法定代表人证件类型", "违法行为严重程度"):
        assert col not in header
    # 法定代表人证件号码 was opened in memory and masked keep(1,1); never written clear
    by_no = {r["行政处罚决定书文号"]: r for r in lab.source}
    for r in rows:
        src = by_no[r["行政处罚决定书文号"]]
        assert src["行政相对人类别"] != "自然人"
        rep = src["法定代表人证件号码"]
        assert r["法定代表人证件号码"] == rep[0] + "*" * (len(rep) - 2) + rep[-1]
    text = (lab.w.root / "public.csv").read_text("utf-8-sig")
    found = find_identifiers(text, today=date(2026, 11, 25), kinds={IdKind.RESIDENT_ID})
    assert found == []
    assert not find_identifiers(text, today=date(2026, 11, 25), kinds={IdKind.MOBILE})
    for src in lab.source:
        for col in ("证件号码", "法定代表人证件号码"):
            if src.get(col):
                assert src[col] not in text
    entry = [e for e in lab.w.entries("plat") if e["type"] == "disclose"][-1]
    assert entry["objects"]["counts"] == c and entry["why"]["purpose"] == "public-disclosure"
    assert len(entry["objects"]["record_ids"]) == c["written"]
    lab.audit_ok()


def test_disclosure_bytes_do_not_depend_on_the_batch_size(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """vault disclose masks a batch of records at a time with the engine's masker: batches of
    3 records give the same file, byte for byte, as one batch of all (docs/engine.md §7)."""
    from xinan.platform import disclosure

    whole = lab.disclose("2026-11-25", out="whole.csv")
    monkeypatch.setattr(disclosure, "DEFAULT_BATCH_ROWS", 3)
    small = lab.disclose("2026-11-25", out="small.csv")
    assert whole["counts"] == small["counts"] and whole["counts"]["written"] > 3
    assert (lab.w.root / "whole.csv").read_bytes() == (lab.w.root / "small.csv").read_bytes()


def test_disclose_is_platform_only_and_refuses_kinds_without_windows(lab: Lab) -> None:
    r = lab.run("secadm", "vault", "disclose", "-o", str(lab.w.root / "x.csv"))
    assert r.exit_code == 77 and not (lab.w.root / "x.csv").exists()
    r = lab.run("platform", "vault", "disclose", "--kind", "license", "-o", "y.csv")
    assert r.exit_code == 2 and "no disclosure windows" in r.output


# ============================================================================================
# 2. Objections
# ============================================================================================
def _open(lab: Lab, name: str, *extra: str, by: str | None = None) -> dict[str, Any]:
    uscc = by or lab.rows[name]["统一社会信用代码"]
    args = ("dispute", "open", lab.ids[name], "--reason", "处罚决定已撤销", "--by", uscc)
    return dict(lab.plat("platform", *args, *extra))


def test_objection_deadlines_across_holidays_and_make_up_days(lab: Lab) -> None:
    # received Tue 2025-09-30: 国庆/中秋 2025-10-01…08 are off; Sat 10-11 is a make-up day
    lab.at("2025-09-30")
    a = _open(lab, "dispute-a")
    assert (a["received"], a["deadline"], a["track"]) == ("2025-09-30", "2025-10-11", "own_data")
    b = _open(lab, "dispute-b", "--track", "assisted")
    assert b["deadline"] == "2025-10-16"
    # 征信 20 days from 2025-09-12 is 10-02 (国庆) → next working day
    c = _open(lab, "dispute-c", "--track", "credit", "--received", "2025-09-12")
    assert c["deadline"] == "2025-10-09"
    # 春节 2026-02-15…23; Sat 2026-02-28 is a make-up day
    lab.at("2026-02-12")
    d = _open(lab, "dispute-d")
    assert d["deadline"] == "2026-02-24"
    e = _open(lab, "dispute-e", "--track", "assisted")
    assert e["deadline"] == "2026-02-28"

    # overdue: the deadline is the last day to answer; any overdue objection is an alert:
    # exit 4 and a logged alert naming the records (CONTROLS.md 24)
    def overdue(as_of: str) -> set[str]:
        r = lab.run("platform", "dispute", "list", "--overdue", "--as-of", as_of, "--json")
        ids = {x["id"] for x in json.loads(r.stdout)["disputes"]}
        assert r.exit_code == (4 if ids else 0), (as_of, r.output)
        entry = lab.w.entries("plat")[-1]
        assert entry["type"] == "open" and entry["objects"]["ref"].endswith(":disputes")
        if ids:
            assert entry["why"]["basis"].startswith(f"alert: {len(ids)} objection(s) overdue")
            assert entry["objects"]["counts"]["overdue"] == len(ids)
            assert len(entry["objects"]["record_ids"]) == len(ids)
        else:
            assert "basis" not in entry["why"]
        return ids

    assert overdue("2025-09-30") == set()

    assert overdue("2025-10-11") == {c["id"]}
    assert overdue("2025-10-13") == {a["id"], c["id"]}
    assert overdue("2025-10-17") == {a["id"], b["id"], c["id"]}
    assert overdue("2026-03-02") == {a["id"], b["id"], c["id"], d["id"], e["id"]}
    lab.plat("secadm", "dispute", "resolve", a["id"], "--outcome", "upheld")
    assert a["id"] not in overdue("2026-03-02")
    # the clock is the default as-of
    lab.at("2026-02-25")
    r = lab.run("platform", "dispute", "list", "--overdue", "--json")
    assert r.exit_code == 4
    listed = json.loads(r.stdout)
    assert {x["id"] for x in listed["disputes"]} == {b["id"], c["id"], d["id"]}
    r = lab.run("platform", "dispute", "list", "--overdue")  # text: the same alert
    assert r.exit_code == 4 and r.output.count("OVERDUE") == 3
    every = lab.plat("platform", "dispute", "list")["disputes"]
    assert len(every) == 5 and sum(x["state"] == "open" for x in every) == 4

    # a year the calendar does not cover fails closed: nothing is flagged
    lab.at("2026-12-24")
    r = lab.run(
        "platform", "dispute", "open", lab.ids["g2026"], "--reason", "x", "--by", "枣庄市某公司",
        "--track", "assisted",
    )  # fmt: skip
    assert r.exit_code == 65 and "2027" in r.output
    assert lab.listed()[lab.ids["g2026"]]["status"] == {}
    lab.audit_ok()


def test_objection_flags_the_record_in_every_view_and_share(lab: Lab) -> None:
    name = "dispute-a"
    rid = lab.ids[name]
    assert lab.share_count(name, "before") == 1
    d = _open(lab, name)
    # stored: the raiser as a keyed pseudonym (the subject's own USCC), never the clear code
    assert d["raised_by"].startswith("ps1.") and d["raised_by"] in d["subjects"]
    # list and show
    rec = lab.listed()[rid]
    assert "disputed_at" in rec["status"]
    text = lab.w.ok("plat", "platform", "vault", "list", "--vault", str(lab.w.vault)).output
    assert f"{rid}  penalty  legal  disputed(异议处理中)" in text
    show = lab.w.ok("plat", "platform", "vault", "show", rid, "--vault", str(lab.w.vault)).output
    assert "disputed(异议处理中)" in show
    # shares skip it
    assert lab.share_count(name, "during") == 0
    # the public view flags it, or withholds it when the platform chooses so
    shown = lab.shown("2026-11-25")
    assert shown[name][PUBLIC_FLAG] == "异议处理中"
    assert all(r[PUBLIC_FLAG] == "" for n, r in shown.items() if n != name)
    s = lab.disclose("2026-11-25", "--disputed", "withhold")
    assert s["counts"]["disputed_withheld"] == 1 and s["counts"]["flagged"] == 0
    assert rid not in {r["record_id"] for r in lab.public_rows()}
    # a second objection on the same record waits for the first
    r = lab.run("platform", "dispute", "open", rid, "--reason", "again", "--by", "某公司")
    assert r.exit_code == 2 and d["id"] in r.output
    # upheld: the flag is lifted everywhere
    out = lab.plat("secadm", "dispute", "resolve", d["id"], "--outcome", "upheld")
    assert out["outcome"] == "upheld" and out["state"] == "resolved"
    assert lab.listed()[rid]["status"] == {}
    assert lab.shown("2026-11-25")[name][PUBLIC_FLAG] == ""
    assert lab.share_count(name, "after") == 1
    entries = [e for e in lab.w.entries("plat") if e["type"] == "dispute"]
    assert [e["why"]["basis"].split(";")[0] for e in entries] == ["open", "resolved: upheld"]
    assert all(e["objects"]["record_ids"] == [rid] and e["subjects"] for e in entries)
    lab.audit_ok()


def test_objection_inputs_hold_no_clear_identifier(lab: Lab) -> None:
    rid = lab.ids["dispute-b"]
    person = next(r for r in lab.source if r.get("证件号码"))
    r = lab.run(
        "platform", "dispute", "open", rid, "--by", "某公司",
        "--reason", f"当事人身份证号码{person['证件号码']}有误",
    )  # fmt: skip
    assert r.exit_code == 2 and "clear resident ID" in r.output
    assert person["证件号码"] not in r.output
    r = lab.run("platform", "dispute", "open", rid, "--by", "某公司", "--reason", "电话13812345678")
    assert r.exit_code == 2 and "mobile" in r.output
    r = lab.run("platform", "dispute", "open", rid, "--by", "张伟", "--reason", "有误")
    assert r.exit_code == 2 and "name" in r.output
    # a person's ID as --by becomes the vault's keyed pseudonym of that person
    d = lab.plat("platform", "dispute", "open", rid, "--reason", "有误", "--by", person["证件号码"])
    assert d["raised_by"].startswith("ps1.xs1")
    # roles: sec-admin may, the querent-side and audit roles may not
    r = lab.run("auditadm", "dispute", "list")
    assert r.exit_code == 77
    assert lab.w.entries("plat")[-1]["outcome"] == "denied"
    text = (lab.w.vault / "vault.db").read_bytes()
    assert person["证件号码"].encode() not in text
    lab.audit_ok()


def test_resolve_corrected_validates_and_applies_clear_fields_only(lab: Lab) -> None:
    name = "dispute-c"
    rid = lab.ids[name]
    d = _open(lab, name)
    root = lab.w.root

    def resolve(fix: dict[str, str] | str, suffix: str = ".json") -> Any:
        p = root / f"fix{suffix}"
        p.write_text(fix if isinstance(fix, str) else json.dumps(fix, ensure_ascii=False), "utf-8")
        return lab.run(
            "secadm",
            "dispute",
            "resolve",
            d["id"],
            "--outcome",
            "corrected",
            "--correction",
            str(p),
        )

    person = next(r for r in lab.source if r.get("证件号码"))
    refused = [
        ({"罚款金额": "一万"}, "罚款金额"),  # amount type check
        ({"处罚决定日期": "2026-02-30"}, "处罚决定日期"),  # date type check
        ({"法定代表人证件号码": person["证件号码"]}, "sealed"),
        ({"统一社会信用代码": lab.rows["g2019"]["统一社会信用代码"]}, "identifies the subject"),
        ({"处罚内容": f"罚款，联系{person['证件号码']}"}, "clear resident ID"),
        ({"no_such_field": "x"}, "not a field"),
        ({"处罚内容": ""}, "required"),
    ]
    for fix, why in refused:
        r = resolve(fix)
        assert r.exit_code == 2 and why in r.output, (fix, r.output)
        assert person["证件号码"] not in r.output
    assert lab.listed()[rid]["status"].get("disputed_at")  # still open, nothing changed
    r = lab.run("secadm", "dispute", "resolve", d["id"], "--outcome", "corrected")
    assert r.exit_code == 2 and "--correction" in r.output

    r = resolve("field,value\n处罚内容,罚款人民币0.5万元\nfine_amount,0.5\n", ".csv")
    assert r.exit_code == 0, r.output
    done = lab.plat("secadm", "dispute", "list")["disputes"][-1]
    assert done["outcome"] == "corrected" and done["corrected_fields"] == ["处罚内容", "罚款金额"]
    rec = lab.listed()[rid]
    assert rec["status"] == {}
    assert (rec["fields"]["处罚内容"], rec["fields"]["罚款金额"]) == ("罚款人民币0.5万元", "0.5")
    assert lab.shown("2026-11-25")[name]["处罚内容"] == "罚款人民币0.5万元"
    # a correction of the decision date moves the window (facts are recomputed)
    d2 = _open(lab, "g2026")
    p = root / "date.json"
    p.write_text(json.dumps({"decision_date": "2025-10-01"}), "utf-8")
    lab.plat(
        "secadm", "dispute", "resolve", d2["id"], "--outcome", "corrected", "--correction", str(p)
    )
    assert lab.listed()[lab.ids["g2026"]]["facts"]["decision_date"] == "2025-10-01"
    assert "g2026" not in lab.shown("2026-11-25")  # 2026 rule: general ≤ 1 year
    assert "g2026" in lab.shown("2026-09-30")
    lab.audit_ok()


def test_resolve_removed_takes_the_record_out_of_every_view(lab: Lab) -> None:
    name = "dispute-d"
    rid = lab.ids[name]
    d = _open(lab, name)
    out = lab.plat("platform", "dispute", "resolve", d["id"], "--outcome", "removed")
    assert out["outcome"] == "removed"
    assert rid not in lab.listed()
    s = lab.disclose("2026-11-25")
    assert s["counts"]["removed"] == 1 and s["balanced"]
    assert rid not in {r["record_id"] for r in lab.public_rows()}
    assert lab.share_count(name, "removed") == 0
    r = lab.w.run("plat", "platform", "vault", "show", rid, "--vault", str(lab.w.vault))
    assert r.exit_code == 77
    arch = lab.plat("auditadm", "vault", "archive")["records"]
    assert [(a["record_id"], a["cause"], a["dispute"]) for a in arch] == [(rid, "removed", d["id"])]
    r = lab.run("platform", "dispute", "resolve", d["id"], "--outcome", "upheld")
    assert r.exit_code == 2 and "resolved" in r.output
    lab.audit_ok()


# ============================================================================================
# 3. Credit repair
# ============================================================================================
def test_repair_refused_before_the_minimum_period_approved_after(lab: Lab) -> None:
    name = "repair-early"  # general, decided 2026-09-01: 36号令 minimum 3 months
    rid = lab.ids[name]
    uscc = lab.rows[name]["统一社会信用代码"]
    apply = ("repair", "apply", rid, "--commitment", "信用承诺书 XY-2026-01", "--obligations-met")
    r = lab.run("platform", *apply)
    assert r.exit_code == 77 and "2026-12-02" in r.output
    denied = lab.w.entries("plat")[-1]
    assert (denied["type"], denied["outcome"]) == ("repair", "denied")
    assert denied["why"]["basis"] == "refused: repair:minimum-period"
    lab.at("2026-12-01")
    assert lab.run("platform", *apply).exit_code == 77

    lab.at("2026-12-02")
    # every check: commitment, obligations, role
    r = lab.run("platform", "repair", "apply", rid, "--commitment", " ", "--obligations-met")
    assert r.exit_code == 77 and "commitment" in r.output
    r = lab.run("platform", "repair", "apply", rid, "--commitment", "XY-1")
    assert r.exit_code == 77 and "obligations" in r.output
    r = lab.run("secadm", *apply)
    assert r.exit_code == 77 and lab.w.entries("plat")[-1]["type"] == "denied"
    a = lab.plat("platform", *apply)
    assert (a["state"], a["earliest"]) == ("pending", "2026-12-02")
    # still shown and shared while pending
    assert name in lab.shown("2026-12-02")
    assert lab.share_count(name, "pending") == 1
    r = lab.run("platform", "repair", "approve", a["id"])
    assert r.exit_code == 77

    ok = lab.plat("secadm", "repair", "approve", a["id"])
    assert ok["state"] == "approved"
    # gone from the public view, even as of a date inside its window; gone from shares
    s = lab.disclose("2026-12-02")
    assert s["counts"]["repaired"] == 1 and s["balanced"]
    assert rid not in {r["record_id"] for r in lab.public_rows()}
    assert lab.share_count(name, "repaired") == 0
    # and from the platform's own views: only the audit administrator lists the archive
    assert rid not in lab.listed()
    r = lab.w.run("plat", "platform", "vault", "show", rid, "--vault", str(lab.w.vault))
    assert r.exit_code == 77
    for actor in ("platform", "secadm", "sysadm"):
        r = lab.run(actor, "vault", "archive")
        assert r.exit_code == 77, actor
    arch = lab.plat("auditadm", "vault", "archive")["records"]
    assert len(arch) == 1
    entry = arch[0]
    assert (entry["record_id"], entry["cause"], entry["repair"]) == (rid, "repaired", a["id"])
    assert entry["subjects"] and entry["subjects"][0].startswith("ps1.")
    dumped = json.dumps(arch, ensure_ascii=False)
    for v in (uscc, lab.rows[name]["行政相对人名称"], lab.rows[name]["处罚内容"]):
        assert v not in dumped  # masked metadata only
    # a repaired record is not repaired twice, nor objected to
    assert lab.run("platform", *apply).exit_code == 77
    r = lab.run("platform", "dispute", "open", rid, "--reason", "x", "--by", "某公司")
    assert r.exit_code == 2
    steps = [
        e for e in lab.w.entries("plat") if e["type"] == "repair" and e["outcome"] == "success"
    ]
    assert [e["why"]["basis"].split(";")[0] for e in steps] == ["apply", "approved"]
    assert all(e["objects"]["ref"] == f"repair:{a['id']}" for e in steps)
    lab.audit_ok()


def test_repair_reject_and_objection_first(lab: Lab) -> None:
    name = "repair-ok"
    rid = lab.ids[name]
    d = _open(lab, name)
    apply = ("repair", "apply", rid, "--commitment", "XY-7", "--evidence", "缴款凭证 2026-0077")
    r = lab.run("platform", *apply)
    assert r.exit_code == 77 and "objection" in r.output
    lab.plat("secadm", "dispute", "resolve", d["id"], "--outcome", "upheld")
    a = lab.plat("platform", *apply)
    assert a["obligations"] == "evidence:缴款凭证 2026-0077"
    r = lab.run("platform", *apply)
    assert r.exit_code == 2 and "pending" in r.output
    person = next(x for x in lab.source if x.get("证件号码"))
    r = lab.run("secadm", "repair", "reject", a["id"], "--reason", f"查{person['证件号码']}")
    assert r.exit_code == 2 and person["证件号码"] not in r.output
    rej = lab.plat("secadm", "repair", "reject", a["id"], "--reason", "罚款未缴清")
    assert (rej["state"], rej["reason"]) == ("rejected", "罚款未缴清")
    assert name in lab.shown("2026-11-25")
    assert lab.run("secadm", "repair", "approve", a["id"]).exit_code == 2
    listed = lab.plat("secadm", "repair", "list")["repairs"]
    assert [x["state"] for x in listed] == ["rejected"]
    # natural persons' and unclassified records: the checks name the rule
    r = lab.run("platform", "repair", "apply", lab.ids["pre2019"], "--commitment", "x",
                "--obligations-met")  # fmt: skip
    assert r.exit_code == 77 and "regime" in r.output
    lab.audit_ok()


# ============================================================================================
# Library pieces
# ============================================================================================
def test_clear_identifier_guard_and_raiser() -> None:
    today = date(2026, 11, 25)
    assert clear_identifier_kind("身份证 11010519491231002X", today=today) == "resident ID"
    assert clear_identifier_kind("tel １３８１２３４５６７８", today=today) == "mobile"
    assert clear_identifier_kind("91370400MA3C5Y8X2K 公司", today=today) is None
    # by shape, as the public views (issue 11): a wrong check digit still identifies a person
    assert clear_identifier_kind("身份证 110105194912310028", today=today) == "resident ID"
    assert clear_identifier_kind("tel 14612345678", today=today) == "mobile"
    assert raiser_reference(
        "ps1.xs1abcdefgh.abcdefghijklmnopqrstuvwxyz", today=today, pseudonymize=None
    )[1]
    calls: list[str] = []

    def ps(v: str) -> str:
        calls.append(v)
        return "ps1.xs1test.aaaaaaaaaaaaaaaaaaaaaaaaaa"

    ref, is_ps = raiser_reference("11010519491231002x", today=today, pseudonymize=ps)
    assert is_ps and ref.startswith("ps1.") and calls == ["11010519491231002X"]
    assert raiser_reference("枣庄市某某有限公司", today=today, pseudonymize=None) == (
        "枣庄市某某有限公司",
        False,
    )


def test_read_correction_formats(tmp_path: Path) -> None:
    j = tmp_path / "c.json"
    j.write_text('{"处罚内容": "警告"}', "utf-8")
    assert read_correction(j) == {"处罚内容": "警告"}
    c = tmp_path / "c.csv"
    c.write_text("\ufefffield,value\n罚款金额,1\n", "utf-8")
    assert read_correction(c) == {"罚款金额": "1"}
    for bad in ('["x"]', '{"a": 1}', "{}"):
        j.write_text(bad, "utf-8")
        with pytest.raises(Exception, match=r"correction|JSON"):
            read_correction(j)
    c.write_text("a,b\nx,y\n", "utf-8")
    with pytest.raises(Exception, match="header"):
        read_correction(c)


def test_a_past_public_view_needs_historical(tmp_path, monkeypatch, fast_kdf):
    """Security review: a past --as-of would show again records whose window has ended."""
    w = build_world(tmp_path, monkeypatch, kind="penalty", people=10)
    old = str(tmp_path / "old.csv")
    r = w.run("plat", "platform", "vault", "disclose", "-o", old, "--as-of", "2025-06-01",
              "--vault", str(w.vault))  # fmt: skip
    assert r.exit_code == 2 and "--historical" in r.output
    assert not (tmp_path / "old.csv").exists()
