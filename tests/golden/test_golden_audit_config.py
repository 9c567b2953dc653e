"""Golden files of the audit log configuration ``<log>.config`` (docs/audit-log.md §12.1:
xinan-audit-config/1, a keyring identity signs; xinan-audit-config/2, the log's own service
signer), made once by tests/golden/make_audit_config.py. Today's reader must load each with the
pinned values, today's writer must reproduce each byte for byte, and each committed mutation
must be refused with AuditError — never another exception, never read leniently."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.golden.make_audit_config import CONFIG, CONFIG_V2
from xinan.access import AuditConfig, load_audit_config
from xinan.audit.config import service_verifier
from xinan.errors import AuditError, XinanError

GOLDEN = Path(__file__).resolve().parent / "audit_config"

AUDIT_CONFIG_REFUSALS: dict[str, type[XinanError]] = {
    "wrong_version.log.config": AuditError,
    "no_version.log.config": AuditError,
    "member_dropped.log.config": AuditError,
    "not_a_string.log.config": AuditError,
    "truncated.log.config": AuditError,
    "duplicate_member.log.config": AuditError,
    "member_added.log.config": AuditError,
    "unknown_hash.log.config": AuditError,
    "empty_member.log.config": AuditError,
    "origin_two_lines.log.config": AuditError,
    "not_an_object.log.config": AuditError,
    "v1_with_v2_members.log.config": AuditError,
    "v2_member_dropped.log.config": AuditError,
    "v2_member_added.log.config": AuditError,
    "v2_signer_identity.log.config": AuditError,
    "v2_log_key_renamed.log.config": AuditError,
    "v2_hash_not_the_suites.log.config": AuditError,
    "v2_unknown_suite.log.config": AuditError,
    "v2_suite_pq.log.config": AuditError,
    "v2_public_not_base64.log.config": AuditError,
    "v2_not_a_string.log.config": AuditError,
}


def _load(src: Path, tmp_path: Path) -> AuditConfig:
    shutil.copy(src, tmp_path / "audit.log.config")
    return load_audit_config(tmp_path / "audit.log")


def test_audit_config_golden_read() -> None:
    assert load_audit_config(GOLDEN / "audit.log") == CONFIG
    assert load_audit_config(GOLDEN / "audit2.log") == CONFIG_V2


def test_audit_config_golden_pins_its_values() -> None:
    """The values, not only equality with what the generator builds today."""
    v1, v2 = load_audit_config(GOLDEN / "audit.log"), load_audit_config(GOLDEN / "audit2.log")
    assert (v1.signer, v1.hash, v1.log_key) == ("identity", "sha256", "platform")
    assert v1.log_key_id == "xk1rh5ke7zhpbmbacwt2j62wkzn"
    assert (v2.signer, v2.suite, v2.hash, v2.log_key) == ("service", "intl", "sha256", "log-signer")
    assert v2.log_key_id == "xl12fpjrdlnigicxjte2gye6qm2" and len(v2.public) == 32
    assert (v2.key_file, v2.secret_file) == ("audit2.log.signer", "service/audit2.log.secret")
    # §12.1: a verifier recomputes the key id from origin, suite and public
    service_verifier(GOLDEN / "audit2.log", v2, "any")


def test_audit_config_golden_written_again() -> None:
    assert CONFIG.to_bytes() == (GOLDEN / "audit.log.config").read_bytes()
    assert CONFIG_V2.to_bytes() == (GOLDEN / "audit2.log.config").read_bytes()


def test_audit_config_mutations_all_listed() -> None:
    names = sorted(p.name for p in (GOLDEN / "bad").iterdir())
    assert names == sorted(AUDIT_CONFIG_REFUSALS)


@pytest.mark.parametrize("name", sorted(AUDIT_CONFIG_REFUSALS))
def test_audit_config_mutation_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(XinanError) as info:
        _load(GOLDEN / "bad" / name, tmp_path)
    assert type(info.value) is AUDIT_CONFIG_REFUSALS[name], info.value
    assert "audit.log.config" in str(info.value)  # the message names the file


@pytest.mark.parametrize(
    ("name", "member"),
    [
        ("member_added.log.config", "'note'"),
        ("unknown_hash.log.config", "'hash'"),
        ("empty_member.log.config", "'log_key'"),
        ("member_dropped.log.config", "'log_key_id'"),
        ("v2_member_added.log.config", "'cosigner'"),
        ("v2_hash_not_the_suites.log.config", "'hash'"),
    ],
)
def test_audit_config_refusal_names_the_member(tmp_path: Path, name: str, member: str) -> None:
    with pytest.raises(AuditError, match=member):
        _load(GOLDEN / "bad" / name, tmp_path)
