"""Golden files of the share package (docs/package.md §6, xinan-package/1, audience "share",
per-record release) and its release file (§6.4, xinan-release/1), written once by
tests/golden/make_share.py from the golden submission package with the committed test-only
keys. Both embed random keys and nonces, so the goldens are reader-side: today's reader must
verify the share, open the release with the querent's key and open exactly the pinned
records, and refuse every committed mutation with the xinan error named in the table — never
another exception, and no record released from a refused share."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.golden.make_package import platform
from tests.golden.make_share import bank
from xinan.errors import IntegrityError, VerificationError, XinanError
from xinan.formats import package as P
from xinan.formats.release import open_release
from xinan.keys import Identity, Keyring

GOLDEN = Path(__file__).resolve().parent / "share"

SHARE_REFUSALS: dict[str, type[XinanError]] = {
    "release_sig_flipped.json": IntegrityError,
    "release_withheld_changed.json": IntegrityError,
    "release_other_share.json": IntegrityError,
    "release_wrong_version.json": VerificationError,
    "release_truncated.json": VerificationError,
    "release_pretty.json": VerificationError,
    "share_sig_flipped.xpkg": IntegrityError,
    "share_header_member_changed.xpkg": IntegrityError,
    "share_record_dropped.xpkg": VerificationError,
}


@pytest.fixture(scope="module")
def parties() -> tuple[Identity, Identity, Keyring]:
    ring = Keyring(GOLDEN.parent / "grant" / "keys", compliance_mode="any")
    return platform(), bank(), ring


def _share_info(plat: Identity) -> P.PackageInfo:
    data = (GOLDEN / "share.xpkg").read_bytes()
    return P.verify_package(io.BytesIO(data), trust={plat.key_id: plat.info}.get)


def test_share_golden_read(parties: tuple[Identity, Identity, Keyring]) -> None:
    plat, querent, ring = parties
    expected = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))
    info = _share_info(plat)
    assert (info.audience, info.release, info.grant) == ("share", "per-record", expected["grant"])
    assert list(info.sealed_fields) == expected["granted"]
    rel = open_release(
        (GOLDEN / "release.json").read_bytes(), share=info, identity=querent, trust=ring.get_public
    )
    assert (rel.share_id, rel.grant, rel.withheld) == (info.package_id, expected["grant"], 1)
    got: list[P.OpenedRecord] = []
    P.open_package(
        io.BytesIO((GOLDEN / "share.xpkg").read_bytes()),
        got.append,
        identity=querent,
        trust={plat.key_id: plat.info}.get,
        release=rel.lookup(),
    )
    opened = {g.record_id: list(g.sealed) for g in got if g.sealed != (None,)}
    assert opened == expected["opened"]
    assert [g.record_id for g in got if g.sealed == (None,)] == expected["withheld"]


def test_share_mutations_all_listed() -> None:
    assert sorted(p.name for p in (GOLDEN / "bad").iterdir()) == sorted(SHARE_REFUSALS)


@pytest.mark.parametrize("name", sorted(SHARE_REFUSALS))
def test_share_mutation_refused(parties: tuple[Identity, Identity, Keyring], name: str) -> None:
    plat, querent, ring = parties
    data = (GOLDEN / "bad" / name).read_bytes()
    released: list[P.OpenedRecord] = []
    with pytest.raises(XinanError) as info:
        if name.startswith("release_"):
            open_release(data, share=_share_info(plat), identity=querent, trust=ring.get_public)
        else:
            P.verify_package(io.BytesIO(data), trust={plat.key_id: plat.info}.get)
    assert type(info.value) is SHARE_REFUSALS[name], info.value
    if name.startswith("share_"):  # opened with the genuine release: refused, nothing released
        rel = open_release(
            (GOLDEN / "release.json").read_bytes(),
            share=_share_info(plat),
            identity=querent,
            trust=ring.get_public,
        )
        with pytest.raises(XinanError) as info:
            P.open_package(
                io.BytesIO(data),
                released.append,
                identity=querent,
                trust={plat.key_id: plat.info}.get,
                release=rel.lookup(),
            )
    assert type(info.value) is SHARE_REFUSALS[name], info.value
    assert released == []
