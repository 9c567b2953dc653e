"""``xinan keygen`` / ``xinan keys …`` through click's CliRunner."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import xinan.cli.keys_cmds  # noqa: F401  (registers the commands until cli/__init__ imports it)
from xinan.cli._app import app, main
from xinan.errors import ComplianceError, KeyringError, WrongPassphrase

PW = "test passphrase 口令"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("XINAN_PASSPHRASE", PW)
    monkeypatch.delenv("XINAN_COMPLIANCE", raising=False)
    return CliRunner()


def test_keygen_list_show_export(runner: CliRunner, tmp_path: Path) -> None:
    kr = str(tmp_path / "keys")
    r = runner.invoke(
        app,
        [
            "--keyring",
            kr,
            "keygen",
            "--id",
            "amr-zaozhuang",
            "--role",
            "provider",
            "--suite",
            "intl",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["key_id"].startswith("xk1")
    assert Path(data["private_file"]).is_file() and Path(data["public_file"]).is_file()
    assert stat.S_IMODE(Path(data["private_file"]).stat().st_mode) == 0o600
    assert PW not in r.output

    r = runner.invoke(app, ["--keyring", kr, "keygen", "--id", "subject-ps", "--role", "pseudonym"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("xs1")

    r = runner.invoke(app, ["--keyring", kr, "keys", "list", "--json"])
    assert r.exit_code == 0, r.output
    kinds = {k["id"]: k["kind"] for k in json.loads(r.output)["keys"]}
    assert kinds == {"amr-zaozhuang": "private", "subject-ps": "secret"}

    r = runner.invoke(app, ["--keyring", kr, "keys", "list"])
    assert "amr-zaozhuang" in r.output and "KEY ID" in r.output

    r = runner.invoke(app, ["--keyring", kr, "keys", "show", data["key_id"], "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["id"] == "amr-zaozhuang"

    r = runner.invoke(app, ["--keyring", kr, "keys", "export", "amr-zaozhuang", "--format", "jwk"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["kid"] == data["key_id"]
    r = runner.invoke(app, ["--keyring", kr, "keys", "export", "amr-zaozhuang"])
    assert r.output.startswith("-----BEGIN PUBLIC KEY-----")


def test_keygen_with_local_keyring_option(runner: CliRunner, tmp_path: Path) -> None:
    r = runner.invoke(
        app,
        [
            "keygen",
            "--id",
            "gm-prov",
            "--role",
            "provider",
            "--suite",
            "gm",
            "--keyring",
            str(tmp_path / "k2"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "k2" / "private" / "gm-prov.key").is_file()
    assert "hand this out" in r.output


def test_keys_add_and_conflicts(runner: CliRunner, tmp_path: Path) -> None:
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    assert (
        runner.invoke(
            app, ["--keyring", a, "keygen", "--id", "platform", "--role", "platform"]
        ).exit_code
        == 0
    )
    assert (
        runner.invoke(
            app, ["--keyring", b, "keygen", "--id", "prov", "--role", "provider"]
        ).exit_code
        == 0
    )
    pub = str(tmp_path / "a" / "public" / "platform.pub")
    r = runner.invoke(app, ["--keyring", b, "keys", "add", pub])
    assert r.exit_code == 0, r.output
    assert "check this key id" in r.output
    r = runner.invoke(
        app, ["--keyring", b, "keys", "add", str(tmp_path / "a" / "private" / "platform.key")]
    )
    assert r.exit_code == KeyringError.exit_code
    assert "xinan: error:" in r.output and "private" in r.output


def test_errors_through_main(
    runner: CliRunner,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kr = str(tmp_path / "keys")
    with pytest.raises(SystemExit) as ex:
        main(["--keyring", kr, "keys", "show", "nobody"])
    assert ex.value.code == 1
    err = capsys.readouterr().err
    assert "xinan: error: no public key 'nobody'" in err and "xinan: hint:" in err

    monkeypatch.setenv("XINAN_COMPLIANCE", "gm-only")
    r = runner.invoke(
        app, ["--keyring", kr, "keygen", "--id", "x", "--role", "provider", "--suite", "intl"]
    )
    assert r.exit_code == ComplianceError.exit_code == 77
    assert "not allowed under compliance mode 'gm-only'" in r.output
    with pytest.raises(SystemExit) as ex:
        main(["--keyring", kr, "keygen", "--id", "x", "--role", "provider", "--suite", "pq"])
    assert ex.value.code == 77
    assert "not allowed under compliance mode 'gm-only'" in capsys.readouterr().err


def test_wrong_passphrase_message_has_no_secret(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xinan.keys import Keyring

    kr = tmp_path / "keys"
    assert (
        runner.invoke(
            app, ["--keyring", str(kr), "keygen", "--id", "q", "--role", "querent"]
        ).exit_code
        == 0
    )
    with pytest.raises(WrongPassphrase) as err:
        Keyring(kr).unlock("q", "not the passphrase")
    assert "not the passphrase" not in str(err.value) and PW not in str(err.value)
