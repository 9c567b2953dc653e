"""One snapshot per operation (issue 11, build item 4): what is decrypted is exactly what was
verified and logged. A package file swapped between the verifying pass and the decrypting pass
(by someone who can write the directory) releases nothing and is logged as a failure."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import cli_workplace
from xinan.cli import app
from xinan.platform import submissions


@pytest.fixture()
def runner(tmp_path, monkeypatch, fast_kdf):
    return cli_workplace(
        tmp_path,
        monkeypatch,
        ["keygen", "--id", "amr", "--role", "provider", "--suite", "intl"],
        ["keygen", "--id", "platform", "--role", "platform", "--suite", "intl"],
        ["keygen", "--id", "sa", "--role", "sys-admin", "--suite", "intl"],
        ["audit", "init"],
        ["--as", "sa", "keys", "bootstrap"],
        ["fake", "penalty", "-n", "20", "-o", "a.csv", "--seed", "1"],
        ["fake", "penalty", "-n", "20", "-o", "b.csv", "--seed", "2"],
        ["--as", "amr", "seal", "a.csv", "-o", "a.xpkg", "--to", "platform"],
        ["--as", "amr", "seal", "b.csv", "-o", "b.xpkg", "--to", "platform"],
    )


def entries(tmp_path):
    log = tmp_path / "audit" / "audit.log"
    return [json.loads(x) for x in log.read_text("utf-8").splitlines() if x]


def test_a_package_swapped_after_verification_releases_nothing(runner, tmp_path, monkeypatch):
    real = submissions.verify_package_file

    def verify_then_swap(path, keyring, **kw):
        info = real(path, keyring, **kw)
        shutil.copyfile(tmp_path / "b.xpkg", path)  # another valid package, same sender
        return info

    monkeypatch.setattr(submissions, "verify_package_file", verify_then_swap)
    r = runner.invoke(app, ["--as", "platform", "open", "a.xpkg", "-o", "out.csv"])
    assert r.exit_code == 1, r.output
    assert "changed while it was being opened" in r.output
    assert not (tmp_path / "out.csv").exists()
    opens = [e for e in entries(tmp_path) if e["type"] == "open"]
    assert [e["outcome"] for e in opens] == ["success", "failed"]
    assert opens[0]["objects"]["package"] == opens[1]["objects"]["package"]


def test_an_unswapped_package_opens(runner, tmp_path):
    r = runner.invoke(app, ["--as", "platform", "open", "a.xpkg", "-o", "out.csv"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out.csv").exists()
