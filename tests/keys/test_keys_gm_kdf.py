"""gm key files use national algorithms only (issue 12 item 7, docs/keys.md §4, ADR 0004):
PBKDF2-HMAC-SM3 for the passphrase, SM4-GCM for the material, SM3 for the key id; key files
made before (Argon2id) still open, in every compliance mode."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from xinan.errors import KeyringError, WrongPassphrase
from xinan.formats import keyfile
from xinan.keys import DEFAULT_KDF, KdfParams, Keyring

NOW = datetime(2026, 12, 1, 8, 0, 0, tzinfo=UTC)
FAST = KdfParams(m_kib=64, t=1, p=1, iterations=1000)  # test-only
PW = "国密 passphrase for tests"


def _doc(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _rewrite_kdf(path: Path, kdf: dict) -> None:
    doc = _doc(path)
    doc["kdf"] = kdf
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def test_gm_pair_and_secret_files_use_pbkdf2_hmac_sm3(tmp_path: Path) -> None:
    ring = Keyring(tmp_path / "k", compliance_mode="gm-only")
    ring.generate("plat", "platform", "gm", PW, now=NOW, kdf_params=FAST)
    ring.generate_secret("ps", "gm", PW, now=NOW, kdf_params=FAST)
    for name in ("plat", "ps"):
        doc = _doc(ring.private_path(name))
        assert doc["format"] == "xinan-key/1" and doc["cipher"] == "sm4-gcm"
        assert list(doc["kdf"]) == ["name", "iterations", "salt"]
        assert doc["kdf"]["name"] == "pbkdf2-hmac-sm3" and doc["kdf"]["iterations"] == 1000
    assert ring.unlock("plat", PW).info.suite == "gm"
    assert len(ring.secret("ps", PW).material()) == 32
    with pytest.raises(WrongPassphrase):
        ring.unlock("plat", PW + "x")


def test_intl_files_are_unchanged_argon2id(tmp_path: Path) -> None:
    ring = Keyring(tmp_path / "k", compliance_mode="any")
    ring.generate("amr", "provider", "intl", PW, now=NOW, kdf_params=FAST)
    kdf = _doc(ring.private_path("amr"))["kdf"]
    assert list(kdf) == ["name", "m_kib", "t", "p", "salt"] and kdf["name"] == "argon2id"


def test_default_iterations() -> None:
    assert DEFAULT_KDF.iterations == 600_000  # OWASP's PBKDF2-HMAC-SHA256 count, ≈0.6 s here


def test_old_argon2id_gm_files_still_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A gm key file written before PBKDF2-HMAC-SM3 (Argon2id) unlocks, also under gm-only."""
    monkeypatch.setattr(keyfile, "passphrase_kdf_for", lambda suite: "argon2id")
    old = Keyring(tmp_path / "k", compliance_mode="any")
    old.generate("plat", "platform", "gm", PW, now=NOW, kdf_params=FAST)
    old.generate_secret("ps", "gm", PW, now=NOW, kdf_params=FAST)
    assert _doc(old.private_path("plat"))["kdf"]["name"] == "argon2id"
    monkeypatch.undo()
    for mode in ("any", "gm-only"):
        ring = Keyring(tmp_path / "k", compliance_mode=mode)
        assert ring.unlock("plat", PW).info.id == "plat"
        assert len(ring.secret("ps", PW).material()) == 32


def test_kdf_member_checks(tmp_path: Path) -> None:
    ring = Keyring(tmp_path / "k", compliance_mode="any")
    ring.generate("plat", "platform", "gm", PW, now=NOW, kdf_params=FAST)
    path = ring.private_path("plat")
    good = _doc(path)["kdf"]
    cases = [
        ({**good, "name": "scrypt"}, KeyringError, "unknown passphrase KDF 'scrypt'"),
        ({**good, "iterations": 999}, KeyringError, "iteration count out of range"),
        ({**good, "iterations": 10_000_001}, KeyringError, "iteration count out of range"),
        ({**good, "iterations": "1000"}, KeyringError, "damaged key file"),
        ({**good, "m_kib": 64}, KeyringError, "damaged key file"),  # a member of the other KDF
        ({"name": "pbkdf2-hmac-sm3", "salt": good["salt"]}, KeyringError, "damaged key file"),
        ({**good, "iterations": 1001}, WrongPassphrase, "wrong passphrase"),  # aad covers it
    ]
    for kdf, err, msg in cases:
        _rewrite_kdf(path, kdf)
        with pytest.raises(err, match=msg):
            ring.unlock("plat", PW)
    _rewrite_kdf(path, good)
    assert ring.unlock("plat", PW).info.id == "plat"


def test_params_are_bounded_at_write_too(tmp_path: Path) -> None:
    ring = Keyring(tmp_path / "k", compliance_mode="any")
    with pytest.raises(KeyringError, match="iteration count"):
        ring.generate(
            "plat", "platform", "gm", PW, now=NOW, kdf_params=KdfParams(64, 1, 1, iterations=10)
        )
