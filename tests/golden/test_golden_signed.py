"""Golden files of two provider/platform signed formats: the source change
(docs/source-change.md, xinan-source-change/1; tests/golden/make_source_change.py) and the
ingest rejects report (docs/ingest-rejects.md, xinan-ingest-rejects/1;
tests/golden/make_ingest_rejects.py), signed with committed test-only intl keys. Today's reader
must accept them with the pinned values; today's writer must reproduce them byte for byte
(canonical JSON, Ed25519); every committed mutation must be refused with the xinan error named
in the tables — never another exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.golden.make_ingest_rejects import platform, write_report
from tests.golden.make_keyfile import PW as PROVIDER_PW
from tests.golden.make_source_change import PROVIDER, changes
from xinan.errors import IntegrityError, SourceChangeInvalid, VerificationError, XinanError
from xinan.formats.ingest_rejects import verify_rejects
from xinan.formats.source_change import read_source_change, sign_source_change
from xinan.keys import Keyring, PublicKeyInfo

GOLDEN = Path(__file__).resolve().parent
SC = GOLDEN / "source_change"
IR = GOLDEN / "ingest_rejects"

SOURCE_CHANGE_REFUSALS: dict[str, type[XinanError]] = {
    "sig_flipped.json": IntegrityError,
    "record_added.json": IntegrityError,
    "action_changed.json": IntegrityError,
    "alg_changed.json": IntegrityError,
    "wrong_version.json": SourceChangeInvalid,
    "truncated.json": SourceChangeInvalid,
    "compact.json": SourceChangeInvalid,
    "member_added.json": SourceChangeInvalid,
    "unknown_signer.json": SourceChangeInvalid,
}
REJECTS_REFUSALS: dict[str, type[XinanError]] = {
    "sig_flipped.jsonl": IntegrityError,
    "counts_changed.jsonl": IntegrityError,
    "reason_changed.jsonl": IntegrityError,
    "reencoded_header.jsonl": IntegrityError,
    "reject_dropped.jsonl": VerificationError,
    "wrong_version.jsonl": VerificationError,
    "truncated.jsonl": VerificationError,
    "no_final_newline.jsonl": VerificationError,
    "trailer_dropped.jsonl": VerificationError,
    "unknown_platform.jsonl": VerificationError,
}


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def provider_ring() -> Keyring:
    return Keyring(GOLDEN / "keyfile" / "keys", compliance_mode="any")


@pytest.fixture(scope="module")
def provider_trust(provider_ring: Keyring) -> list[PublicKeyInfo]:
    return [provider_ring.get_public(PROVIDER)]


@pytest.fixture(scope="module")
def platform_trust() -> dict[str, PublicKeyInfo]:
    info = Keyring(GOLDEN / "grant" / "keys", compliance_mode="any").get_public("platform")
    return {info.key_id: info}


# -- source change ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["revoke.json", "correct.json"])
def test_source_change_golden_read(provider_trust: list[PublicKeyInfo], name: str) -> None:
    change = read_source_change((SC / name).read_bytes(), provider_trust)
    assert change.to_json() == _json(SC / "expected.json")[name]


def test_source_change_golden_written_again(provider_ring: Keyring) -> None:
    ident = provider_ring.unlock(PROVIDER, PROVIDER_PW)
    for name, change in changes(ident.key_id).items():
        assert sign_source_change(change, ident) == (SC / name).read_bytes(), name


def test_source_change_mutations_all_listed() -> None:
    assert sorted(p.name for p in (SC / "bad").iterdir()) == sorted(SOURCE_CHANGE_REFUSALS)


@pytest.mark.parametrize("name", sorted(SOURCE_CHANGE_REFUSALS))
def test_source_change_mutation_refused(provider_trust: list[PublicKeyInfo], name: str) -> None:
    with pytest.raises(XinanError) as info:
        read_source_change((SC / "bad" / name).read_bytes(), provider_trust)
    assert type(info.value) is SOURCE_CHANGE_REFUSALS[name], info.value


def test_source_change_every_byte_flip_refused(provider_trust: list[PublicKeyInfo]) -> None:
    good = (SC / "revoke.json").read_bytes()
    for i in range(len(good)):
        bad = bytearray(good)
        bad[i] ^= 0x01
        with pytest.raises((SourceChangeInvalid, IntegrityError)):
            read_source_change(bytes(bad), provider_trust)


# -- ingest rejects report -------------------------------------------------------------------
def test_rejects_golden_read(platform_trust: dict[str, PublicKeyInfo]) -> None:
    report = verify_rejects((IR / "report.jsonl").read_bytes(), trust=platform_trust.get)
    expected = _json(IR / "expected.json")
    assert report.header == expected["header"]
    assert report.rejects == expected["rejects"]
    assert report.counts == expected["counts"]


def test_rejects_golden_written_again() -> None:
    assert write_report(platform()) == (IR / "v2" / "report.jsonl").read_bytes()


def test_rejects_v2_golden_read_and_every_byte_flip_refused(
    platform_trust: dict[str, PublicKeyInfo],
) -> None:
    """xinan-ingest-rejects/2 (CONTROLS.md 16): the receipt names the package's bytes."""
    from tests.golden.make_ingest_rejects import PACKAGE_DIGEST

    good = (IR / "v2" / "report.jsonl").read_bytes()
    report = verify_rejects(good, trust=platform_trust.get)
    expected = _json(IR / "expected.json")
    assert report.header == {**expected["header"], "format": "xinan-ingest-rejects/2"}
    assert report.rejects == expected["rejects"] and report.counts == expected["counts"]
    assert report.package_digest == PACKAGE_DIGEST
    for i in range(len(good)):
        bad = bytearray(good)
        bad[i] ^= 0x01
        with pytest.raises((VerificationError, IntegrityError)):
            verify_rejects(bytes(bad), trust=platform_trust.get)


def test_rejects_mutations_all_listed() -> None:
    assert sorted(p.name for p in (IR / "bad").iterdir()) == sorted(REJECTS_REFUSALS)


@pytest.mark.parametrize("name", sorted(REJECTS_REFUSALS))
def test_rejects_mutation_refused(platform_trust: dict[str, PublicKeyInfo], name: str) -> None:
    with pytest.raises(XinanError) as info:
        verify_rejects((IR / "bad" / name).read_bytes(), trust=platform_trust.get)
    assert type(info.value) is REJECTS_REFUSALS[name], info.value


def test_rejects_every_byte_flip_refused(platform_trust: dict[str, PublicKeyInfo]) -> None:
    good = (IR / "report.jsonl").read_bytes()
    for i in range(len(good)):
        bad = bytearray(good)
        bad[i] ^= 0x01
        with pytest.raises((VerificationError, IntegrityError)):
            verify_rejects(bytes(bad), trust=platform_trust.get)
