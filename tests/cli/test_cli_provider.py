"""The provider's commands through click's runner: fake, scan, mask, policy check, demo
(issue 3, part 7): flags, --json, exit codes and error messages."""

from __future__ import annotations

import csv
import json
import shlex
import subprocess  # nosec B404 - the test runs bash on a file it wrote
import sys
from pathlib import Path

import pytest

from tests.conftest import CLI_PASSPHRASE as PASS
from tests.conftest import POLICY_FILE, cli_workplace
from xinan.cli import app


@pytest.fixture()
def runner(tmp_path, monkeypatch, fast_kdf):
    """A provider's workplace: a keyring with its key, an audit log, acting as the provider."""
    r = cli_workplace(
        tmp_path,
        monkeypatch,
        ["keygen", "--id", "amr", "--role", "provider", "--suite", "intl"],
        ["keygen", "--id", "sa", "--role", "sys-admin", "--suite", "intl"],
        ["audit", "init", "--key", "amr"],
        ["--as", "sa", "keys", "bootstrap"],
    )
    monkeypatch.setenv("XINAN_IDENTITY", "amr")
    return r


def invoke(runner, *args):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_fake_writes_gb18030_with_bad_rows(runner, tmp_path):
    r = invoke(
        runner,
        "fake",
        "penalty",
        "-n",
        "200",
        "-o",
        "e.csv",
        "--encoding",
        "gb18030",
        "--bad-rate",
        "0.1",
        "--json",
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["records"] == 200 and data["bad"] > 0 and data["file"] == "e.csv"
    raw = (tmp_path / "e.csv").read_bytes()
    assert raw.decode("gb18030").startswith("行政相对人名称,")


def test_fake_is_reproducible(runner, tmp_path):
    invoke(runner, "fake", "company", "-n", "50", "-o", "a.csv", "--seed", "7")
    invoke(runner, "fake", "company", "-n", "50", "-o", "b.csv", "--seed", "7")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_scan_json(runner):
    invoke(runner, "fake", "person", "-n", "100", "-o", "p.csv")
    r = invoke(runner, "scan", "p.csv", "--json")
    assert r.exit_code == 0
    data = json.loads(r.output)
    cols = {c["column"]: c for c in data["columns"]}
    assert data["kind"] == "person"
    assert cols["证件号码"]["identifiers"] == {"resident_id": 100}
    assert cols["手机号码"]["identifiers"] == {"mobile": 100}


def test_mask_several_audiences_with_rejects(runner, tmp_path):
    invoke(
        runner,
        "fake",
        "penalty",
        "-n",
        "300",
        "-o",
        "e.csv",
        "--bad-rate",
        "0.05",
        "--encoding",
        "gb18030",
    )
    r = invoke(
        runner,
        "--as",
        "sa",
        "keygen",
        "--id",
        "subject-ps",
        "--role",
        "pseudonym",
        "--suite",
        "intl",
    )
    assert r.exit_code == 0, r.output
    r = invoke(
        runner,
        "mask",
        "e.csv",
        "-o",
        "out-{audience}.csv",
        "--audience",
        "public,gov_share",
        "--audience",
        "querent",
        "--rejects",
        "rej.csv",
        "--pseudonym-key",
        "subject-ps",
    )
    assert r.exit_code == 3, r.output  # done, some rows rejected
    for a in ("public", "gov_share", "querent"):
        line = next(x for x in r.output.splitlines() if x.startswith(f"{a}: "))
        n = [int(x) for x in line.replace(",", " ").split() if x.isdigit()]
        read, written, withheld, rejected = n[:4]
        assert read == 300 and read == written + withheld + rejected
        assert (tmp_path / f"out-{a}.csv").exists()
    with (tmp_path / "rej.csv").open(encoding="utf-8-sig") as f:
        assert next(csv.reader(f)) == ["row", "column", "reason", "code", "record"]
    gov = (tmp_path / "out-gov_share.csv").read_text(encoding="utf-8")
    assert "ps1.xs1" in gov  # keyed pseudonyms, tagged with the key id


def test_mask_json_summary_and_exit_0(runner):
    invoke(runner, "fake", "company", "-n", "40", "-o", "c.csv")
    r = invoke(runner, "mask", "c.csv", "-o", "pub.csv", "--audience", "public", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    pub = data["audiences"]["public"]
    assert pub["read"] == 40 == pub["written"] + pub["withheld"] + pub["rejected"]


def test_mask_without_pseudonym_key_says_what_to_do(runner):
    invoke(runner, "fake", "penalty", "-n", "10", "-o", "e.csv")
    r = invoke(runner, "mask", "e.csv", "-o", "g.csv", "--audience", "gov_share")
    assert r.exit_code == 1
    assert "xinan: error:" in r.output and "xinan: hint:" in r.output and "keygen" in r.output


def test_mask_several_audiences_need_a_pattern(runner):
    invoke(runner, "fake", "company", "-n", "5", "-o", "c.csv")
    r = invoke(runner, "mask", "c.csv", "-o", "x.csv", "--audience", "public,querent")
    assert r.exit_code == 2 and "{audience}" in r.output


def test_mask_unknown_audience(runner):
    invoke(runner, "fake", "company", "-n", "5", "-o", "c.csv")
    r = invoke(runner, "mask", "c.csv", "-o", "x.csv", "--audience", "press")
    assert r.exit_code == 2 and "unknown audience 'press'" in r.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        ("名称,类别\n甲,乙\n".encode(), "matches no record kind"),
    ],
)
def test_mask_unusable_input_exit_65(runner, tmp_path, content, message):
    (tmp_path / "bad.csv").write_bytes(content)
    r = invoke(runner, "mask", "bad.csv", "-o", "o.csv", "--audience", "public")
    assert r.exit_code == 65, r.output
    assert message in r.output and "bad.csv" in r.output
    assert not (tmp_path / "o.csv").exists()


def test_policy_check_ok_and_bad(runner, tmp_path):
    r = invoke(runner, "policy", "check", str(POLICY_FILE))
    assert r.exit_code == 0 and "ok — policy credit-default@" in r.output
    bad = POLICY_FILE.read_text(encoding="utf-8").replace('type = "amount"', 'type = "money"', 1)
    (tmp_path / "bad.toml").write_text(bad, encoding="utf-8")
    r = invoke(runner, "policy", "check", "bad.toml", "--json")
    assert r.exit_code == 65
    data = json.loads(r.output)
    assert not data["valid"] and data["problems"][0]["line"] > 0


def test_policy_show(runner):
    r = invoke(runner, "policy", "show", "--kind", "person", "--json")
    assert r.exit_code == 0
    fields = json.loads(r.output)["kinds"]["person"]["fields"]
    assert next(f for f in fields if f["name"] == "证件号码")["rules"]["public"] == "drop"


def test_demo(runner, tmp_path):
    r = invoke(runner, "demo", "--dir", "d", "--records", "200", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert Path(data["files"]["view:public"]).exists()
    # issue 15: the demo can be explored afterwards — `source demo/env.sh`, three commands
    env_file = Path(data["files"]["env"])
    assert env_file.stat().st_mode & 0o777 == 0o600
    env = dict(
        shlex.split(line[len("export ") :])[0].split("=", 1)
        for line in env_file.read_text("utf-8").splitlines()
        if line.startswith("export ")
    )
    assert {"XINAN_CONFIG", "XINAN_PASSPHRASE", "XINAN_TOKEN_DIR"} <= set(env)
    from xinan.demo import NEXT_COMMANDS

    if (Path(sys.executable).parent / "xinan").exists():  # an installed xinan (CI's .venv)
        # a new shell without the venv on PATH finds this installation's xinan after sourcing
        found = subprocess.run(
            ["bash", "-c", f"source {shlex.quote(str(env_file))} && command -v xinan"],
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert found.returncode == 0, found.stderr
        assert Path(found.stdout.strip()).parent == Path(sys.executable).parent
    env.pop("PATH", None)  # the commands run in this process; PATH is the shell's
    fresh = {**env, "XINAN_IDENTITY": None, "XINAN_KEYRING": None, "XINAN_AUDIT_LOG": None}
    for line in NEXT_COMMANDS:
        r = runner.invoke(app, shlex.split(line)[1:], env=fresh)
        assert r.exit_code == 0, (line, r.output)
    r = invoke(runner, "demo", "--dir", "d", "--records", "200")
    assert r.exit_code == 2 and "not empty" in r.output


def test_errors_have_no_traceback_unless_verbose(runner):
    r = runner.invoke(app, ["mask", "missing.csv", "-o", "o.csv", "--audience", "public"])
    assert "Traceback" not in r.output


def test_mask_and_scan_are_audited(runner, tmp_path):
    invoke(runner, "fake", "penalty", "-n", "50", "-o", "e.csv", "--bad-rate", "0.2")
    (tmp_path / "e2.csv").write_text(
        (tmp_path / "e.csv").read_text(encoding="utf-8").replace("处罚机关\n", "处罚机关\n", 1),
        encoding="utf-8",
    )
    invoke(runner, "scan", "e.csv")
    invoke(runner, "mask", "e.csv", "-o", "p.csv", "--audience", "public")
    r = invoke(runner, "audit", "verify")
    assert r.exit_code == 0, r.output
    log = (tmp_path / "audit" / "audit.log").read_text(encoding="utf-8").splitlines()
    bootstrap, *entries = [json.loads(x) for x in log]
    assert bootstrap["type"] == "key.roster" and bootstrap["why"] == {"purpose": "bootstrap"}
    types = [e["type"] for e in entries]
    assert types == ["collect", "collect", "reject"]
    assert all(e["actor"]["role"] == "provider" for e in entries)
    assert entries[1]["objects"]["counts"]["read"] == 50
    assert "11010" not in "".join(log)  # no clear identifier in the log


def test_mask_without_identity_is_refused(runner, monkeypatch):
    invoke(runner, "fake", "company", "-n", "5", "-o", "c.csv")
    monkeypatch.delenv("XINAN_IDENTITY")
    r = invoke(runner, "mask", "c.csv", "-o", "o.csv", "--audience", "public")
    assert r.exit_code == 2 and "--as" in r.output


def test_mask_by_a_non_provider_is_denied_and_logged(runner, tmp_path):
    invoke(runner, "--as", "sa", "keygen", "--id", "bank", "--role", "querent", "--suite", "intl")
    invoke(runner, "fake", "company", "-n", "5", "-o", "c.csv")
    r = invoke(runner, "--as", "bank", "mask", "c.csv", "-o", "o.csv", "--audience", "public")
    assert r.exit_code == 77 and "may not mask" in r.output
    assert not (tmp_path / "o.csv").exists()
    last = json.loads(
        (tmp_path / "audit" / "audit.log").read_text(encoding="utf-8").splitlines()[-1]
    )
    assert last["type"] == "denied" and last["outcome"] == "denied"
    assert last["actor"]["role"] == "querent"


def test_key_events_are_audited_when_acting_as_an_identity(runner, tmp_path):
    r = invoke(runner, "keygen", "--id", "subject-ps", "--role", "pseudonym", "--suite", "intl")
    assert r.exit_code == 77  # once bootstrapped, only the system administrator manages keys
    r = invoke(
        runner,
        "--as",
        "sa",
        "keygen",
        "--id",
        "subject-ps",
        "--role",
        "pseudonym",
        "--suite",
        "intl",
    )
    assert r.exit_code == 0, r.output
    from datetime import UTC, datetime

    from xinan.keys import Keyring

    Keyring(tmp_path / "other").generate("plat", "platform", "intl", PASS, now=datetime.now(UTC))
    r = invoke(runner, "--as", "sa", "keys", "add", str(tmp_path / "other" / "public" / "plat.pub"))
    assert r.exit_code == 0, r.output
    log = (tmp_path / "audit" / "audit.log").read_text().splitlines()
    _bootstrap, *entries = [json.loads(x) for x in log]
    assert [e["type"] for e in entries] == ["denied", "key.generate", "key.add"]
    assert entries[1]["actor"]["role"] == "sys-admin"
    assert entries[1]["objects"]["key_ids"][0].startswith("xs1")
    assert invoke(runner, "audit", "verify").exit_code == 0
