"""``xinan init`` and ``xinan.toml`` (docs/config.md): each party set up in its own working
directory, then its part of the flow with no --vault, --audit-log or repeated --as."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from xinan.cli import app
from xinan.config import FORMAT, Config, find_config, parse_config, render_config
from xinan.errors import ConfigError

PASS = "correct horse battery staple"


@pytest.fixture()
def clean_env(monkeypatch, fast_kdf):
    for var in list(os.environ):
        if var.startswith("XINAN_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("XINAN_PASSPHRASE", PASS)
    monkeypatch.setenv("XINAN_TODAY", "2026-11-25")


def xinan(cwd: Path, *args: str, ok: tuple[int, ...] = (0,)) -> str:
    """Run ``xinan ARGS`` in ``cwd`` as a user would (the config found in ./xinan.toml)."""
    old = Path.cwd()
    os.chdir(cwd)
    try:
        res = CliRunner().invoke(app, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)
    assert res.exit_code in ok, f"xinan {' '.join(args)} → {res.exit_code}\n{res.output}"
    return res.stdout


def _log_types(log: Path) -> list[str]:
    out = []
    for line in log.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line).get("type", ""))
    return out


@pytest.fixture()
def world(tmp_path, clean_env):
    """The four parties set up with `xinan init`, public keys exchanged."""
    xinan(tmp_path, "init", "platform", "plat")
    pub = "plat/keys/public/platform.pub"
    xinan(tmp_path, "init", "provider", "amr", "--id", "amr-zaozhuang", "--admin", "amr-admin",
          "--pseudonym-key", "amr-ps", "--trust", pub)  # fmt: skip
    xinan(tmp_path, "init", "querent", "bank", "--id", "bank-a", "--trust", pub)
    xinan(tmp_path, "init", "auditor", "aud", "--trust", pub)
    plat = tmp_path / "plat"
    xinan(plat, "--as", "sys-admin", "keys", "add", "../amr/keys/public/amr-zaozhuang.pub")
    xinan(plat, "--as", "sys-admin", "keys", "add", "../bank/keys/public/bank-a.pub")
    return tmp_path


def test_four_parties_run_the_flow_without_vault_log_or_repeated_as(world: Path) -> None:
    amr, plat, bank, aud = (world / p for p in ("amr", "plat", "bank", "aud"))
    xinan(amr, "fake", "penalty", "-n", "60", "-o", "export.csv", "--seed", "7")
    xinan(amr, "seal", "export.csv", "-o", "export.xpkg", "--to", "platform",
          "--rejects", "rejects.csv", ok=(0, 3))  # fmt: skip
    xinan(plat, "verify", "../amr/export.xpkg")
    xinan(plat, "vault", "ingest", "../amr/export.xpkg")
    # a record by a unique prefix of its id (as git takes short hashes)
    ids = xinan(plat, "vault", "list", "-q").split()
    assert len(ids) > 10 and all(i.startswith("r") for i in ids)
    short = next(i[:6] for i in ids if sum(j.startswith(i[:6]) for j in ids) == 1)
    shown_rec = json.loads(xinan(plat, "vault", "show", short, "--json"))
    assert shown_rec["record_id"].startswith(short)
    # an objection on it, answered by a unique prefix of the objection's id
    legal = json.loads(xinan(plat, "dispute", "open", short, "--reason", "罚款已缴清",
                             "--by", "某公司", "--json"))  # fmt: skip
    out = xinan(plat, "--as", "sec-admin", "dispute", "resolve", legal["id"][:6],
                "--outcome", "upheld", "--json")  # fmt: skip
    assert json.loads(out)["id"] == legal["id"]
    rows = list(csv.DictReader(io.StringIO((amr / "export.csv").read_text("utf-8-sig"))))
    subject = next(r["证件号码"] for r in rows if r["行政相对人类别"] == "自然人" and r["证件号码"])
    xinan(plat, "consent", "add", "--subject", subject, "--querent", "bank-a",
          "--purpose", "信易贷", "--fields", "证件号码,罚款金额", "--valid-until",
          "2027-06-30", "--ref", "SQ-0001")  # fmt: skip
    consent_id = json.loads(xinan(plat, "consent", "list", "--json"))["consents"][0]["id"]
    # the consent by the authorisation's reference (a unique one)
    xinan(plat, "--as", "sec-admin", "grant", "issue", "--querent", "bank-a",
          "--purpose", "信易贷", "--fields", "证件号码,罚款金额", "--subject", subject,
          "--consent", "SQ-0001", "--ttl", "7d", "-o", "../bank/bank.grant")  # fmt: skip
    shown = json.loads(xinan(bank, "grant", "show", "bank.grant", "--json"))
    assert shown["status"] == "valid" and shown["purpose"] == "信易贷"
    assert shown["id"].startswith("g.") and subject not in json.dumps(shown)
    xinan(plat, "share", "--grant", "../bank/bank.grant", "-o", "../bank/bank.xpkg")
    xinan(plat, "release", "--package", "../bank/bank.xpkg", "-o", "../bank/bank.release")
    xinan(bank, "open", "bank.xpkg", "--grant", "bank.grant", "--release", "bank.release",
          "-o", "opened.csv")  # fmt: skip
    opened = (bank / "opened.csv").read_text("utf-8-sig")
    assert subject in opened
    prov = json.loads((bank / "opened.csv.grant.json").read_text("utf-8"))
    assert prov["format"] == "xinan-opened/1" and prov["grant"] == shown["id"]
    assert prov["purpose"] == "信易贷" and prov["records"] == 1
    assert subject not in json.dumps(prov)
    # integrity checks need public keys only: no passphrase is asked (none is available)
    os.environ.pop("XINAN_PASSPHRASE")
    xinan(plat, "verify", "../amr/export.xpkg")
    xinan(aud, "audit", "verify", "../plat/audit/audit.log")
    xinan(bank, "grant", "show", "bank.grant")
    res = CliRunner().invoke(app, ["--config", str(plat / "xinan.toml"), "--as", "platform",
                                   "verify", str(amr / "export.xpkg")])  # fmt: skip
    assert res.exit_code != 0 and "no passphrase for platform" in res.output  # logged: asks
    os.environ["XINAN_PASSPHRASE"] = PASS
    # the grant revoked by a unique prefix of its display form
    out = xinan(plat, "--as", "sec-admin", "grant", "revoke", shown["id"][:6], "--json")
    assert json.loads(out)["id"] == shown["id"]
    # the consent withdrawn by its reference, as `consent revoke --help` shows
    out = xinan(plat, "consent", "revoke", "SQ-0001", "--json")
    assert json.loads(out)["id"] == consent_id
    out = xinan(aud, "audit", "verify", "../plat/audit/audit.log", "--json")
    assert json.loads(out)["size"] > 5
    # every party's own log holds its work, signed by its own key
    assert "key.roster" in _log_types(amr / "audit" / "audit.log")
    assert {"ingest", "share"} <= set(_log_types(plat / "audit" / "audit.log"))


def test_init_writes_a_config_later_commands_read(world: Path) -> None:
    cfg = find_config(None, cwd=world / "plat")
    assert cfg is not None
    assert cfg.party == "platform" and cfg.identity == "platform"
    assert cfg.vault == (world / "plat" / "vault").resolve()
    text = (world / "plat" / "xinan.toml").read_text("utf-8")
    assert f'format = "{FORMAT}"' in text
    assert "passphrase" not in text.lower().replace("# ", "")  # no secret in the file
    # the roster lists the three administrators, each with a token
    roster = json.loads(xinan(world / "plat", "keys", "roster", "--json"))
    roles = {m["id"]: m["role"] for m in roster["members"]}
    assert {roles["sys-admin"], roles["sec-admin"], roles["audit-admin"]} == {
        "sys-admin",
        "sec-admin",
        "audit-admin",
    }
    # from anywhere, through $XINAN_CONFIG
    os.environ["XINAN_CONFIG"] = str(world / "bank" / "xinan.toml")
    try:
        listed = json.loads(xinan(world, "keys", "list", "--json"))
    finally:
        del os.environ["XINAN_CONFIG"]
    assert {k["id"] for k in listed["keys"]} >= {"bank-a", "bank-a-admin", "platform"}


def test_trust_imports_are_logged(world: Path) -> None:
    entries = [
        json.loads(line)
        for line in (world / "bank" / "audit" / "audit.log").read_text("utf-8").splitlines()
        if line.strip()
    ]
    assert any(e.get("type") == "key.add" for e in entries)


def test_the_old_bypass_audit_log_elsewhere_does_not_change_the_trust_store(world: Path) -> None:
    """Issue 15: pointing --audit-log at another file changed the trust store unlogged."""
    amr = world / "amr"
    elsewhere = world / "elsewhere.log"
    before = sorted(p.name for p in (amr / "keys" / "public").iterdir())
    log = amr / "audit" / "audit.log"
    size = log.stat().st_size
    # no administrator: refused, nothing added
    res = CliRunner().invoke(
        app,
        ["--config", str(amr / "xinan.toml"), "--audit-log", str(elsewhere),
         "keys", "add", str(world / "bank" / "keys" / "public" / "bank-a.pub")],
    )  # fmt: skip
    assert res.exit_code != 0
    assert sorted(p.name for p in (amr / "keys" / "public").iterdir()) == before
    assert not elsewhere.exists()
    # the administrator: logged on the keyring's bound log, not on --audit-log
    xinan(amr, "--audit-log", str(elsewhere), "--as", "amr-admin", "keys", "add",
          str(world / "bank" / "keys" / "public" / "bank-a.pub"))  # fmt: skip
    assert not elsewhere.exists()
    assert log.stat().st_size > size
    assert _log_types(log)[-1] in ("key.add", "checkpoint") and "key.add" in _log_types(log)


def test_init_refuses_a_directory_already_set_up(world: Path) -> None:
    res = CliRunner().invoke(app, ["init", "querent", str(world / "bank")])
    assert res.exit_code == 2
    assert "already exists" in res.output


def test_a_bad_trust_file_is_refused_before_anything_is_made(tmp_path: Path, clean_env) -> None:
    bad = tmp_path / "platform.pub"
    bad.write_text('{"format": "not a key"}', encoding="utf-8")
    res = CliRunner().invoke(app, ["init", "querent", str(tmp_path / "q"), "--trust", str(bad)])
    assert res.exit_code != 0 and "xinan: error:" in res.output
    assert not (tmp_path / "q" / "keys").exists() and not (tmp_path / "q" / "xinan.toml").exists()


def test_config_parse_errors_name_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "xinan.toml"
    good = Config(path, "provider", tmp_path / "keys", tmp_path / "audit" / "audit.log", "amr")
    text = render_config(good)
    assert parse_config(text.encode(), path) == Config(
        path, "provider", (tmp_path / "keys").resolve(),
        (tmp_path / "audit" / "audit.log").resolve(), "amr",
    )  # fmt: skip
    bad = {
        "format": text.replace(FORMAT, "xinan-config/9"),
        "colour": text + 'colour = "red"\n',
        "identity": text.replace('identity = "amr"', 'identity = "-rf"'),
        "party": text.replace('party = "provider"', 'party = "bank"'),
        "keyring": text.replace('keyring = "keys"\n', ""),
        "vault": text + "vault = 3\n",
    }
    for key, body in bad.items():
        with pytest.raises(ConfigError) as e:
            parse_config(body.encode(), path)
        assert str(path) in e.value.message and repr(key) in e.value.message, key
    with pytest.raises(ConfigError):
        parse_config(b"format = [", path)


def test_a_weak_passphrase_is_refused_before_any_key_is_made(tmp_path: Path, clean_env) -> None:
    os.environ["XINAN_PASSPHRASE_SEC_ADMIN"] = "password123"  # the third key's: too weak
    try:
        res = CliRunner().invoke(app, ["init", "platform", str(tmp_path / "p")])
    finally:
        del os.environ["XINAN_PASSPHRASE_SEC_ADMIN"]
    assert res.exit_code != 0 and "xinan: error:" in res.output
    assert not (tmp_path / "p" / "keys").exists()
