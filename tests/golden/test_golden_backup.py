"""Golden files of the backup archive (docs/backup.md, xinan-backup/1), written once by
tests/golden/make_backup.py: the golden vault configuration and destruction certificate
(sealed) and the golden destruction log (clear), sealed to the committed test-only platform key
and signed by the committed test-only system administrator. Keys and nonces are random, so the
goldens are reader-side: today's reader must check the committed archive (framing, signature,
manifest, every chunk's digest), yield the pinned manifest, and open every file to the bytes of
the golden it holds; every committed mutation must be refused with the xinan error named in the
table — when read, or when opened with the platform key — never another exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden.make_backup import FILES, platform_ring, sysadm_ring
from tests.golden.make_grant import PW
from xinan.errors import BackupInvalid, IntegrityError, XinanError
from xinan.keys import Identity, PublicKeyInfo
from xinan.platform.backup_format import extract_files, read_archive

GOLDEN = Path(__file__).resolve().parent / "backup"

REFUSED_WHEN_READ: dict[str, type[XinanError]] = {
    "no_marker.xbak": BackupInvalid,
    "truncated.xbak": BackupInvalid,
    "trailing_bytes.xbak": BackupInvalid,
    "unknown_frame.xbak": BackupInvalid,
    "manifest_twice.xbak": BackupInvalid,
    "signed_by_platform.xbak": BackupInvalid,  # not a system administrator
    "manifest_not_canonical.xbak": BackupInvalid,
    "manifest_member_added.xbak": BackupInvalid,
    "manifest_clear_vault_file.xbak": BackupInvalid,
    "sig_flipped.xbak": IntegrityError,
    "chunk_flipped.xbak": IntegrityError,
    "chunks_swapped.xbak": IntegrityError,
    "chunk_dropped.xbak": IntegrityError,
}
REFUSED_WHEN_OPENED: dict[str, type[XinanError]] = {
    "key_flipped.xbak": IntegrityError,
}


@pytest.fixture(scope="module")
def signers() -> dict[str, PublicKeyInfo]:
    info = sysadm_ring().get_public("sysadm")
    return {info.key_id: info}


@pytest.fixture(scope="module")
def platform() -> Identity:
    return platform_ring().unlock("platform", PW)


def test_backup_golden_read_and_opened(
    tmp_path: Path, signers: dict[str, PublicKeyInfo], platform: Identity
) -> None:
    archive = read_archive(GOLDEN / "archive.xbak", signers)
    m = archive.manifest
    assert archive.signer.id == "sysadm"
    assert (m.hash, m.suite.value, m.platform_key_id) == (
        "sha256",
        "intl",
        "xk1rh5ke7zhpbmbacwt2j62wkzn",
    )
    assert m.body["vault"]["id"] == "8f28cd20303714f2f115c1423729771f"
    assert m.body["made_by"]["role"] == "sys-admin"
    assert [(f.name, f.sealed) for f in m.files] == [
        ("vault/vault.json", True),
        ("vault/destruction/dc1zo6ri2whfvzbtpzspnpq73oxha.json", True),
        ("log/audit", False),
        ("log/audit.checkpoints", False),
    ]
    out = extract_files(archive, platform, tmp_path / "x")
    assert sorted(out) == sorted(FILES)
    for name, path in out.items():
        assert path.read_bytes() == FILES[name].read_bytes(), name
    # without the platform key only the log comes out (it is stored in clear, §4)
    clear = extract_files(archive, None, tmp_path / "y")
    assert sorted(clear) == ["log/audit", "log/audit.checkpoints"]


def test_backup_mutations_all_listed() -> None:
    names = sorted(p.name for p in (GOLDEN / "bad").iterdir())
    assert names == sorted([*REFUSED_WHEN_READ, *REFUSED_WHEN_OPENED])


@pytest.mark.parametrize("name", sorted(REFUSED_WHEN_READ))
def test_backup_mutation_refused_when_read(signers: dict[str, PublicKeyInfo], name: str) -> None:
    with pytest.raises(XinanError) as info:
        read_archive(GOLDEN / "bad" / name, signers)
    assert type(info.value) is REFUSED_WHEN_READ[name], info.value


@pytest.mark.parametrize("name", sorted(REFUSED_WHEN_OPENED))
def test_backup_mutation_refused_when_opened(
    tmp_path: Path, signers: dict[str, PublicKeyInfo], platform: Identity, name: str
) -> None:
    archive = read_archive(GOLDEN / "bad" / name, signers)
    with pytest.raises(XinanError) as info:
        extract_files(archive, platform, tmp_path / "x")
    assert type(info.value) is REFUSED_WHEN_OPENED[name], info.value
