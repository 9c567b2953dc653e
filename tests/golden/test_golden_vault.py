"""Golden files of the vault configuration (docs/vault.md §2, ``vault.json``): xinan-vault/3
and a kept xinan-vault/2 (still opened, §11.2), written by tests/golden/make_vault.py for the
committed test-only platform key. The KEK, the id and the nonces are random, so the goldens are
reader-side: today's reader must read each committed file with the pinned values; the committed
platform key must unwrap its KEK and check its commitment and MAC (``rebind_config`` does
exactly those checks of §2 before it re-MACs); in version 3 the test-only service secret must
open the row key and check ``mac_row`` (§3.2). Every committed mutation must be refused with the
xinan error named in the table — when read, when its KEK and MAC are checked, or when its row
key is opened — never another exception and never accepted."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.golden.make_grant import PW
from tests.golden.make_vault import SECRET
from xinan.errors import IntegrityError, VerificationError, XinanError
from xinan.keys import Identity, Keyring
from xinan.platform.vault_config import VaultConfig, open_row_key, rebind_config

GOLDEN = Path(__file__).resolve().parent / "vault"

REFUSED_WHEN_READ: dict[str, type[XinanError]] = {
    "wrong_version.json": VerificationError,
    "version_1.json": VerificationError,
    "truncated.json": VerificationError,
    "not_an_object.json": VerificationError,
    "id_not_hex.json": VerificationError,
    "id_short.json": VerificationError,
    "kek_dropped.json": VerificationError,
    "unknown_suite.json": VerificationError,
    "member_added.json": VerificationError,
    "policy_not_text.json": VerificationError,
    "mac_not_base64.json": IntegrityError,  # the reader's base64 check is the opaque one
    "row_key_dropped.json": VerificationError,
    "row_key_member_added.json": VerificationError,
    "mac_row_dropped.json": VerificationError,
}
REFUSED_WHEN_CHECKED: dict[str, type[XinanError]] = {
    "mac_flipped.json": IntegrityError,
    "policy_changed.json": IntegrityError,
    "pseudonym_swapped.json": IntegrityError,
    "audit_path_changed.json": IntegrityError,
    "kek_wrapped_flipped.json": IntegrityError,
    "commitment_flipped.json": IntegrityError,
    "row_key_sealed_flipped.json": IntegrityError,  # row_key is under the KEK's MAC too
}
REFUSED_WHEN_ROW_KEY_OPENED: dict[str, type[XinanError]] = {
    "mac_row_flipped.json": IntegrityError,
}


@pytest.fixture(scope="module")
def platform() -> Identity:
    return Keyring(GOLDEN.parent / "grant" / "keys", compliance_mode="any").unlock("platform", PW)


def _read(src: Path, tmp_path: Path) -> VaultConfig:
    shutil.copy(src, tmp_path / "vault.json")
    return VaultConfig.read(tmp_path)


def _check(cfg: VaultConfig, platform: Identity) -> None:
    rebind_config(cfg, platform, audit_path=cfg.audit_path)


def test_vault_golden_read(tmp_path: Path, platform: Identity) -> None:
    cfg = _read(GOLDEN / "vault.json", tmp_path)
    assert (cfg.format, cfg.id, cfg.created) == (
        "xinan-vault/3",
        "8f28cd20303714f2f115c1423729771f",
        "2026-03-02T09:00:00Z",
    )
    assert cfg.suite.value == "intl" and cfg.seals_row_key
    assert cfg.policy == "credit-default@2026.11#d13e8279da286b5712802c07fb2225bf"
    assert (cfg.platform_id, cfg.platform_key_id) == ("platform", "xk1rh5ke7zhpbmbacwt2j62wkzn")
    assert (cfg.pseudonym_id, cfg.pseudonym_key_id) == ("subject-ps", "xs1testkeyaaaaaaaaaaaaaaaa")
    assert cfg.audit_origin == "example.gov.cn/xinan-audit/golden-destruction-log"
    assert cfg.audit_path == "/srv/xinan/platform/audit/audit.log"
    # the committed platform key opens it: KEK unwrapped, commitment and MAC checked
    again = rebind_config(cfg, platform, audit_path=cfg.audit_path)
    assert (again.mac, again.mac_row) == (cfg.mac, cfg.mac_row)  # nothing changed
    # the service secret opens the row key: commitment and mac_row checked (§3.2)
    assert len(open_row_key(cfg, SECRET)) == 32
    # and today's writer writes the same bytes for the same values (member order, encoding)
    assert cfg.to_bytes() == (GOLDEN / "vault.json").read_bytes()


def test_vault_v2_golden_still_read(tmp_path: Path, platform: Identity) -> None:
    cfg = _read(GOLDEN / "vault-v2.json", tmp_path)
    assert (cfg.format, cfg.id) == ("xinan-vault/2", "ee1ece2c1265069bed61c36eb5a93c7c")
    assert not cfg.seals_row_key
    assert rebind_config(cfg, platform, audit_path=cfg.audit_path).mac == cfg.mac
    assert cfg.to_bytes() == (GOLDEN / "vault-v2.json").read_bytes()


def test_vault_mutations_all_listed() -> None:
    names = sorted(p.name for p in (GOLDEN / "bad").iterdir())
    assert names == sorted(
        [*REFUSED_WHEN_READ, *REFUSED_WHEN_CHECKED, *REFUSED_WHEN_ROW_KEY_OPENED]
    )


@pytest.mark.parametrize("name", sorted(REFUSED_WHEN_READ))
def test_vault_mutation_refused_when_read(tmp_path: Path, name: str) -> None:
    with pytest.raises(XinanError) as info:
        _read(GOLDEN / "bad" / name, tmp_path)
    assert type(info.value) is REFUSED_WHEN_READ[name], info.value


@pytest.mark.parametrize("name", sorted(REFUSED_WHEN_CHECKED))
def test_vault_mutation_refused_when_checked(tmp_path: Path, platform: Identity, name: str) -> None:
    with pytest.raises(XinanError) as info:
        _check(_read(GOLDEN / "bad" / name, tmp_path), platform)
    assert type(info.value) is REFUSED_WHEN_CHECKED[name], info.value


@pytest.mark.parametrize("name", sorted(REFUSED_WHEN_ROW_KEY_OPENED))
def test_vault_mutation_refused_when_row_key_opened(
    tmp_path: Path, platform: Identity, name: str
) -> None:
    cfg = _read(GOLDEN / "bad" / name, tmp_path)
    _check(cfg, platform)  # the KEK's MAC does not cover mac_row
    with pytest.raises(XinanError) as info:
        open_row_key(cfg, SECRET)
    assert type(info.value) is REFUSED_WHEN_ROW_KEY_OPENED[name], info.value
