"""seal / verify / open through click's runner (issue 4, part 4): exit codes, messages, and
no plaintext written when anything fails."""

from __future__ import annotations

import csv
import json

import pytest

from tests.conftest import cli_workplace
from xinan.cli import app


@pytest.fixture()
def runner(tmp_path, monkeypatch, fast_kdf):
    """One machine playing provider and platform: two key pairs, the platform's audit log."""
    return cli_workplace(
        tmp_path,
        monkeypatch,
        ["keygen", "--id", "amr", "--role", "provider", "--suite", "intl"],
        ["keygen", "--id", "platform", "--role", "platform", "--suite", "intl"],
        ["keygen", "--id", "bank", "--role", "querent", "--suite", "intl"],
        ["keygen", "--id", "sa", "--role", "sys-admin", "--suite", "intl"],
        ["audit", "init"],
        ["--as", "sa", "keys", "bootstrap"],
        [
            "fake",
            "penalty",
            "-n",
            "60",
            "-o",
            "e.csv",
            "--encoding",
            "gb18030",
            "--bad-rate",
            "0.1",
        ],
    )


def invoke(runner, *args):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_seal_verify_open(runner, tmp_path):
    r = invoke(
        runner,
        "--as",
        "amr",
        "seal",
        "e.csv",
        "-o",
        "e.xpkg",
        "--to",
        "platform",
        "--rejects",
        "rej.csv",
        "--json",
    )
    assert r.exit_code == 3, r.output  # sealed, some rows rejected
    s = json.loads(r.output)
    assert s["read"] == 60 == s["sealed"] + s["rejected"] and s["rejected"] > 0
    r = invoke(runner, "--as", "platform", "verify", "e.xpkg", "--json")
    assert r.exit_code == 0, r.output
    v = json.loads(r.output)
    assert v["sender_id"] == "amr" and v["records"] == s["sealed"] and v["suite"] == "intl"
    assert "证件号码" in v["sealed_fields"]
    r = invoke(runner, "--as", "platform", "open", "e.xpkg", "-o", "opened.csv")
    assert r.exit_code == 0, r.output
    with (tmp_path / "opened.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == s["sealed"]
    legal = next(x for x in rows if x["行政相对人类别"] == "法人及非法人组织")
    assert len(legal["法定代表人证件号码"]) == 18  # the sealed value, opened in full
    r = invoke(runner, "audit", "verify")
    assert r.exit_code == 0, r.output
    types = [
        json.loads(x)["type"] for x in (tmp_path / "audit" / "audit.log").read_text().splitlines()
    ]
    assert types == ["key.roster", "seal", "reject", "verify", "open"]  # after the bootstrap


def _sealed(runner):
    r = invoke(runner, "--as", "amr", "seal", "e.csv", "-o", "e.xpkg", "--to", "platform")
    assert r.exit_code == 3, r.output


@pytest.mark.parametrize("where", ["header", "record", "trailer"])
def test_tampered_package_fails_and_writes_no_plaintext(runner, tmp_path, where):
    _sealed(runner)
    lines = (tmp_path / "e.xpkg").read_bytes().split(b"\n")
    i = {"header": 0, "record": 3, "trailer": len(lines) - 2}[where]
    line = bytearray(lines[i])
    line[len(line) // 2] ^= 0x01
    lines[i] = bytes(line)
    (tmp_path / "e.xpkg").write_bytes(b"\n".join(lines))
    r = invoke(runner, "--as", "platform", "verify", "e.xpkg")
    assert r.exit_code == 1 and "xinan: error:" in r.output
    r = invoke(runner, "--as", "platform", "open", "e.xpkg", "-o", "opened.csv")
    assert r.exit_code == 1
    assert not (tmp_path / "opened.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".opened.csv")]


def test_dropped_and_reordered_records_are_caught(runner, tmp_path):
    _sealed(runner)
    lines = (tmp_path / "e.xpkg").read_bytes().split(b"\n")
    dropped = lines[:2] + lines[3:]
    (tmp_path / "d.xpkg").write_bytes(b"\n".join(dropped))
    swapped = lines[:]
    swapped[1], swapped[2] = swapped[2], swapped[1]
    (tmp_path / "s.xpkg").write_bytes(b"\n".join(swapped))
    for name in ("d.xpkg", "s.xpkg"):
        r = invoke(runner, "--as", "platform", "verify", name)
        assert r.exit_code == 1, r.output


def test_wrong_recipient_cannot_open(runner, tmp_path):
    _sealed(runner)
    r = invoke(runner, "--as", "bank", "open", "e.xpkg", "-o", "x.csv")
    assert r.exit_code == 77 and "may not open.submission" in r.output
    assert not (tmp_path / "x.csv").exists()


def test_unknown_sender_is_named(runner, tmp_path):
    _sealed(runner)
    (tmp_path / "keys" / "public" / "amr.pub").unlink()
    r = invoke(runner, "--as", "platform", "verify", "e.xpkg")
    assert r.exit_code == 1 and "trust store" in r.output


def test_seal_refused_for_a_querent(runner, tmp_path):
    r = invoke(runner, "--as", "bank", "seal", "e.csv", "-o", "e.xpkg", "--to", "platform")
    assert r.exit_code == 77
    assert not (tmp_path / "e.xpkg").exists()


def test_a_key_that_is_not_a_recipient_cannot_open(runner, tmp_path):
    invoke(
        runner,
        "--as",
        "sa",
        "keygen",
        "--id",
        "platform-b",
        "--role",
        "platform",
        "--suite",
        "intl",
    )
    _sealed(runner)
    r = invoke(runner, "--as", "platform-b", "open", "e.xpkg", "-o", "x.csv")
    assert r.exit_code == 1 and "xinan: error:" in r.output
    assert not (tmp_path / "x.csv").exists()


def test_seal_with_views_in_one_pass(runner, tmp_path):
    r = invoke(
        runner, "--as", "sa", "keygen", "--id", "ps", "--role", "pseudonym", "--suite", "intl"
    )
    assert r.exit_code == 0, r.output
    args = ["--as", "amr", "seal", "e.csv", "-o", "e.xpkg", "--to", "platform", "--rejects"]
    for workers in ("1", "2"):
        r = invoke(
            runner,
            *args,
            f"rej{workers}.csv",
            "--views",
            "public,gov_share",
            "--views-output",
            f"w{workers}-{{audience}}.csv",
            "--pseudonym-key",
            "ps",
            "--workers",
            workers,
            "--json",
        )
        assert r.exit_code == 3, r.output
        s = json.loads(r.output)
        assert s["read"] == s["sealed"] + s["rejected"]
        for a in ("public", "gov_share"):
            v = s["views"][a]
            assert v["read"] == v["written"] + v["withheld"] + v["rejected"] == s["read"]
    for a in ("public", "gov_share"):
        assert (tmp_path / f"w1-{a}.csv").read_bytes() == (tmp_path / f"w2-{a}.csv").read_bytes()
    assert (tmp_path / "rej1.csv").read_bytes() == (tmp_path / "rej2.csv").read_bytes()
    r = invoke(runner, "--as", "platform", "verify", "e.xpkg", "--json")
    assert r.exit_code == 0, r.output
    r = invoke(runner, *args, "r.csv", "--views", "public", "--views-output", "x.csv")
    assert r.exit_code == 2 and "{audience}" in r.output


def test_verify_and_open_give_the_same_output_with_one_and_two_workers(runner, tmp_path):
    """`--workers` (docs/engine.md §7): the output bytes do not depend on it, and the CSV the
    block reader encodes holds the same rows as the JSON Lines written row by row."""
    _sealed(runner)
    for w in ("1", "2"):
        r = invoke(runner, "--as", "platform", "verify", "e.xpkg", "--workers", w, "--json")
        assert r.exit_code == 0, r.output
        r = invoke(runner, "--as", "platform", "open", "e.xpkg", "-o", f"o{w}.csv", "--workers", w)
        assert r.exit_code == 0, r.output
    assert (tmp_path / "o1.csv").read_bytes() == (tmp_path / "o2.csv").read_bytes()
    r = invoke(runner, "--as", "platform", "open", "e.xpkg", "-o", "o.jsonl", "--workers", "2")
    assert r.exit_code == 0, r.output
    with (tmp_path / "o1.csv").open(encoding="utf-8-sig", newline="") as f:  # a BOM by default
        rows = list(csv.DictReader(f))
    lines = (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()
    assert rows == [json.loads(x) for x in lines] and len(rows) > 40
