"""Clean streams (issue 15 item 3): with ``-o -`` stdout carries only the data; ``-`` reads
standard input; errors under ``--json`` are one JSON object with a stable code; click's usage
errors in xinan's ``error:``/``hint:`` form; global options after the subcommand."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import cli_workplace
from xinan.cli import app


@pytest.fixture()
def runner(tmp_path, monkeypatch, fast_kdf):
    """A provider and a platform on one machine, and a small export with some bad rows."""
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    return cli_workplace(
        tmp_path,
        monkeypatch,
        ["keygen", "--id", "amr", "--role", "provider", "--suite", "intl"],
        ["keygen", "--id", "platform", "--role", "platform", "--suite", "intl"],
        ["keygen", "--id", "sa", "--role", "sys-admin", "--suite", "intl"],
        ["audit", "init", "--key", "platform"],
        ["--as", "sa", "keys", "bootstrap"],
        ["fake", "penalty", "-n", "40", "-o", "e.csv", "--bad-rate", "0.1"],
    )


def invoke(runner, *args, **kw):
    return runner.invoke(app, list(args), catch_exceptions=False, **kw)


def test_seal_to_stdout_is_only_the_package(runner, tmp_path):
    r = invoke(runner, "seal", "e.csv", "-o", "-", "--to", "platform", "--as", "amr")
    assert r.exit_code == 3, r.output  # some rows rejected, the package still written
    package = r.stdout_bytes
    assert package and b"read 40" not in package
    assert "read 40" in r.stderr  # the summary went to stderr
    (tmp_path / "p.xpkg").write_bytes(package)
    v = invoke(runner, "--as", "platform", "verify", "p.xpkg")
    assert v.exit_code == 0, v.output  # no "data after the trailer"


def test_seal_json_to_stdout_goes_to_stderr(runner):
    r = invoke(runner, "--as", "amr", "seal", "e.csv", "-o", "-", "--to", "platform", "--json")
    assert r.exit_code == 3
    assert json.loads(r.stderr)["read"] == 40
    assert b'"read"' not in r.stdout_bytes and r.stdout_bytes.startswith(b"{")


def test_mask_reads_stdin_and_json_stays_off_stdout(runner, tmp_path):
    data = (tmp_path / "e.csv").read_bytes()
    r = invoke(
        runner,
        "--as",
        "amr",
        "mask",
        "-",
        "-o",
        "-",
        "--audience",
        "public",
        "--json",
        input=data,
    )
    assert r.exit_code == 3, r.output  # not "file is empty"
    summary = json.loads(r.stderr)
    assert summary["read"] == 40
    rows = list(csv.reader(io.StringIO(r.stdout_bytes.decode("utf-8-sig"))))
    assert len(rows) - 1 == summary["audiences"]["public"]["written"]


def test_mask_from_stdin_matches_mask_from_file(runner, tmp_path):
    data = (tmp_path / "e.csv").read_bytes()
    a = invoke(runner, "--as", "amr", "mask", "e.csv", "-o", "a.csv", "--audience", "public")
    b = invoke(
        runner, "--as", "amr", "mask", "-", "-o", "b.csv", "--audience", "public", input=data
    )
    assert a.exit_code == b.exit_code == 3
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_verify_reads_a_package_from_stdin(runner, tmp_path):
    invoke(runner, "--as", "amr", "seal", "e.csv", "-o", "p.xpkg", "--to", "platform")
    r = invoke(runner, "verify", "-", "--as", "platform", input=(tmp_path / "p.xpkg").read_bytes())
    assert r.exit_code == 0, r.output
    assert "ok:" in r.stdout


def test_open_to_stdout_json_on_stderr(runner, tmp_path):
    invoke(runner, "--as", "amr", "seal", "e.csv", "-o", "p.xpkg", "--to", "platform")
    r = invoke(runner, "--as", "platform", "open", "p.xpkg", "-o", "-", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stderr)["written"] == 36 or json.loads(r.stderr)["written"] > 0
    assert not r.stdout.rstrip().endswith("}")
    assert r.stdout.lstrip("\ufeff").startswith("record_id") or "," in r.stdout.splitlines()[0]


def test_errors_under_json_are_one_object_with_a_code(runner):
    r = invoke(runner, "mask", "nope.csv", "-o", "x.csv", "--audience", "bogus", "--json")
    assert r.exit_code == 2
    err = json.loads(r.stderr)
    assert err["code"] == "usage_error" and err["exit_code"] == 2
    assert "bogus" in err["message"] and err["hint"]
    assert r.stdout == ""


def test_click_usage_errors_use_xinans_form(runner):
    r = invoke(runner, "mask", "--no-such-flag")
    assert r.exit_code == 2
    assert r.stderr.startswith("xinan: error: No such option")
    assert "xinan: hint: see `xinan mask --help`" in r.stderr
    assert "Usage:" not in r.stderr
    j = invoke(runner, "scan", "e.csv", "--bogus", "--json")
    assert json.loads(j.stderr)["code"] == "no_such_option"


def test_global_options_after_the_subcommand(runner):
    before = invoke(runner, "--as", "amr", "scan", "e.csv", "--json")
    after = invoke(runner, "scan", "e.csv", "--json", "--as", "amr")
    assert before.exit_code == after.exit_code == 0, after.output
    assert json.loads(before.stdout)["rows"] == json.loads(after.stdout)["rows"]
    # and in a subgroup, after the leaf command
    r = invoke(runner, "keys", "list", "--keyring", "keys", "--verbose")
    assert r.exit_code == 0, r.output


def test_fake_to_stdout_summary_on_stderr(runner):
    r = invoke(runner, "fake", "penalty", "-n", "3", "-o", "-", "--json")
    assert r.exit_code == 0
    assert json.loads(r.stderr)["records"] == 3
    assert len(r.stdout.strip().splitlines()) == 4


# -- Excel-friendly outputs (issue 15 item 6) -----------------------------------------------


def test_csv_files_get_a_bom_by_default_stdout_does_not(runner, tmp_path):
    r = invoke(runner, "--as", "amr", "mask", "e.csv", "-o", "pub.csv", "--audience", "public")
    assert r.exit_code == 3, r.output
    assert (tmp_path / "pub.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    s = invoke(runner, "--as", "amr", "mask", "e.csv", "-o", "-", "--audience", "public")
    assert not s.stdout_bytes.startswith(b"\xef\xbb\xbf")
    f = invoke(runner, "fake", "company", "-n", "2", "-o", "c.csv")
    assert f.exit_code == 0 and (tmp_path / "c.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_one_output_encoding_flag_and_the_old_names(runner, tmp_path):
    for flag in ("--output-encoding", "--out-encoding"):
        r = invoke(
            runner, "--as", "amr", "mask", "e.csv", "-o", f"g{flag}.csv",
            "--audience", "public", flag, "gb18030",
        )  # fmt: skip
        assert r.exit_code == 3, r.output
        data = (tmp_path / f"g{flag}.csv").read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf")
        assert data.decode("gb18030").startswith("决定书文号") or "处罚" in data.decode("gb18030")
    u = invoke(runner, "fake", "penalty", "-n", "2", "-o", "u.csv", "--encoding", "utf-8")
    assert u.exit_code == 0 and not (tmp_path / "u.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_xlsx_output_by_its_name(runner, tmp_path):
    import openpyxl

    r = invoke(runner, "--as", "amr", "mask", "e.csv", "-o", "pub.xlsx", "--audience", "public")
    assert r.exit_code == 3, r.output
    sheet = openpyxl.load_workbook(tmp_path / "pub.xlsx").active
    rows = list(sheet.iter_rows(values_only=True))
    summary = invoke(
        runner, "--as", "amr", "mask", "e.csv", "-o", "p2.csv", "--audience", "public", "--json"
    )
    assert len(rows) - 1 == json.loads(summary.stdout)["audiences"]["public"]["written"]
    assert all(c.data_type == "s" for row in sheet.iter_rows() for c in row if c.value)


def test_dash_reads_stdin_for_policies_and_public_keys(runner, tmp_path):
    from tests.conftest import POLICY_FILE

    r = invoke(runner, "policy", "check", "-", input=POLICY_FILE.read_bytes())
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("<stdin>: ok")
    other = tmp_path / "other"
    invoke(runner, "--keyring", str(other), "keygen", "--id", "bank", "--role", "querent")
    pub = (other / "public" / "bank.pub").read_bytes()
    a = invoke(runner, "keys", "add", "-", "--as", "sa", input=pub)
    assert a.exit_code == 0, a.output
    assert "added bank" in a.stdout


def test_a_group_called_with_nothing_shows_its_help(runner):
    r = invoke(runner, "grant")
    assert r.exit_code == 2
    assert "Usage:" in r.stderr and "xinan: error" not in r.stderr
