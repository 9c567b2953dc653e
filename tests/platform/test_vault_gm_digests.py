"""A gm vault fingerprints with SM3 (GB/T 39786: SM3 wherever intl uses SHA-256): the bound
policy fingerprint and the grant-token digests; what gm vaults wrote before (SHA-256) is still
read. An intl vault is unchanged."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import POLICY_FILE
from xinan.crypto.recipes import hex_fingerprint
from xinan.errors import UsageError
from xinan.keys import KdfParams, Keyring
from xinan.platform.vault import Vault, init_vault
from xinan.policy import load_policy, load_policy_text

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PW = "vault passphrase for tests"
FAST = KdfParams(m_kib=64, t=1, p=1, iterations=1000)  # test-only


def _vault(tmp_path: Path, suite: str) -> tuple[Vault, Keyring]:
    ring = Keyring(tmp_path / "keys", compliance_mode="any")
    info = ring.generate("platform", "platform", suite, PW, now=NOW, kdf_params=FAST)
    ps = ring.generate_secret("subject-ps", suite, PW, now=NOW, kdf_params=FAST)
    init_vault(
        tmp_path / "vault",
        platform=info,
        pseudonym_id=ps.id,
        pseudonym_key_id=ps.key_id,
        policy=load_policy(POLICY_FILE),
        now=NOW,
        audit_origin="example.gov.cn/xinan-audit/test",
        audit_key_id=info.key_id,
        audit_path=str(tmp_path / "audit.log"),
        row_key_secret=bytes(32),  # no log here: the records are never read (docs/vault.md §3.2)
    )
    return Vault.open(tmp_path / "vault"), ring


def test_gm_vault_binds_the_policy_by_sm3(tmp_path: Path) -> None:
    v, ring = _vault(tmp_path, "gm")
    pol = load_policy(POLICY_FILE)
    raw = POLICY_FILE.read_bytes()
    assert v.config.policy == f"{pol.label}#sm3:{hex_fingerprint('sm3', raw)[:32]}"
    cfg = json.loads((tmp_path / "vault" / "vault.json").read_text("utf-8"))
    assert cfg["policy"] == v.config.policy
    v.unlock(ring.unlock("platform", PW))  # the config MAC covers the SM3 binding
    v.check_policy(pol)
    edited = load_policy_text(raw.decode("utf-8") + "\n# edited\n")
    with pytest.raises(UsageError, match="follows policy"):
        v.check_policy(edited)
    # a gm vault made before bound the SHA-256 form: it is still honoured, exactly
    v.config = dataclasses.replace(v.config, policy=pol.fingerprint)
    v.check_policy(pol)
    with pytest.raises(UsageError, match="follows policy"):
        v.check_policy(edited)
    v.close()


def test_intl_vault_binding_is_unchanged(tmp_path: Path) -> None:
    v, _ = _vault(tmp_path, "intl")
    pol = load_policy(POLICY_FILE)
    assert v.config.policy == pol.fingerprint
    assert (
        pol.fingerprint == f"{pol.label}#{hex_fingerprint('sha256', POLICY_FILE.read_bytes())[:32]}"
    )
    v.check_policy(pol)
    v.close()


def test_grant_token_digests(tmp_path: Path) -> None:
    token = "eyJhbGciOiJTTTIifQ.e30.c2ln"
    sm3, sha = hex_fingerprint("sm3", token.encode()), hex_fingerprint("sha256", token.encode())
    gm, _ = _vault(tmp_path / "gm", "gm")
    assert gm._token_digest(token, gm.suite.hash_name) == sm3
    assert gm._token_matches(sm3, token) and gm._token_matches(sha, token)  # old rows read
    assert not gm._token_matches(hex_fingerprint("sm3", b"other"), token)
    intl, _ = _vault(tmp_path / "intl", "intl")
    assert intl._token_matches(sha, token) and not intl._token_matches(sm3, token)
    gm.close()
    intl.close()
