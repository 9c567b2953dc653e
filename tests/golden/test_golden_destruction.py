"""Golden files of the destruction certificate (docs/destruction.md §3, xinan-destruction/1),
written once by tests/golden/make_destruction.py with the committed test-only ``secadm`` key
and a seeded log key at a fixed clock and a fixed nonce. Today's reader must accept the
certificate offline (with the log's vkey) and against its committed log, with the pinned
values; today's writer must reproduce the certificate and its log byte for byte; every committed
mutation must be refused with the xinan error named in the table — never another exception."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.golden.make_destruction import write
from xinan.audit.note import NoteVerifier, parse_vkey
from xinan.errors import (
    AuditEntryMismatch,
    CertificateInvalid,
    CertificateMalformed,
    CertificateSignerNotAuthorised,
    CertificateUnknownKey,
    InvalidProof,
    XinanError,
)
from xinan.keys import Keyring, PublicKeyInfo
from xinan.platform.destruction import verify_certificate

GOLDEN = Path(__file__).resolve().parent / "destruction"

REFUSALS: dict[str, type[XinanError]] = {
    "sig_flipped.json": CertificateInvalid,
    "wrong_version.json": CertificateInvalid,
    "compact.json": CertificateInvalid,
    "truncated.json": CertificateInvalid,
    "member_added.json": CertificateInvalid,
    "unknown_signer.json": CertificateUnknownKey,
    "signed_by_platform.json": CertificateSignerNotAuthorised,
    "digest_changed.json": CertificateMalformed,  # the id no longer names the contents
    "rule_changed.json": CertificateMalformed,
    "counts_changed.json": CertificateMalformed,
    "entry_changed.json": AuditEntryMismatch,
    "seq_beyond_checkpoint.json": AuditEntryMismatch,
    "proof_flipped.json": InvalidProof,
}


@pytest.fixture(scope="module")
def trust() -> list[PublicKeyInfo]:
    ring = Keyring(GOLDEN.parent / "grant" / "keys", compliance_mode="any")
    return [ring.get_public(k) for k in ("platform", "secadm", "bank")]


@pytest.fixture(scope="module")
def log_keys() -> list[NoteVerifier]:
    return [parse_vkey((GOLDEN / "vkey.txt").read_text(encoding="utf-8").strip())]


def test_destruction_golden_read_offline(trust, log_keys) -> None:
    v = verify_certificate(
        (GOLDEN / "certificate.json").read_bytes(), trust=trust, log_keys=log_keys
    )
    c = v.certificate
    assert c.id == "dc1zo6ri2whfvzbtpzspnpq73oxha"
    assert v.signer.id == "secadm" and v.signer.key_id == "xk1etyfn43otlznfsc7hjg4y2zl"
    assert c.destroyed_at == "2026-03-02T01:00:03.000000Z"
    assert [r.record_id for r in c.destruction.records] == ["r-golden-0001", "r-golden-0002"]
    assert c.destruction.counts == {"digests": 4, "packages": 2, "records": 2, "subjects": 1}
    assert c.destruction.rule.id == "retention:negative-5y"
    assert (c.audit.seq, v.checkpoint_size) == (2, 3)
    assert c.audit.entry["objects"]["ref"] == f"destruction:{c.id}"


def test_destruction_golden_read_against_its_log(tmp_path: Path, trust, log_keys) -> None:
    for name in ("audit.log", "audit.log.checkpoints"):
        shutil.copy(GOLDEN / name, tmp_path / name)
    v = verify_certificate(
        (GOLDEN / "certificate.json").read_bytes(),
        trust=trust,
        log_keys=log_keys,
        audit_log=tmp_path / "audit.log",
    )
    assert v.log_size == 3 and v.consistency_checked


def test_destruction_golden_written_again(tmp_path: Path) -> None:
    assert write(tmp_path) == (GOLDEN / "certificate.json").read_bytes()
    for name in ("audit.log", "audit.log.checkpoints"):
        assert (tmp_path / name).read_bytes() == (GOLDEN / name).read_bytes(), name


def test_destruction_mutations_all_listed() -> None:
    assert sorted(p.name for p in (GOLDEN / "bad").iterdir()) == sorted(REFUSALS)


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_destruction_mutation_refused(trust, log_keys, name: str) -> None:
    with pytest.raises(XinanError) as info:
        verify_certificate((GOLDEN / "bad" / name).read_bytes(), trust=trust, log_keys=log_keys)
    assert type(info.value) is REFUSALS[name], info.value
