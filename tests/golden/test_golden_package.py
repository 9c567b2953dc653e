"""Golden files of the submission package (docs/package.md, xinan-package/1), written once by
tests/golden/make_package.py with the committed test-only provider and platform keys. Sealing
draws random keys and nonces, so the goldens are reader-side: today's reader must verify and
open the committed package into the pinned records, and refuse every committed mutation with
the xinan error named in the table — releasing no record, and never another exception."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.golden.make_package import platform, provider
from xinan.errors import IntegrityError, VerificationError, XinanError
from xinan.formats import package as P
from xinan.keys import Identity

GOLDEN = Path(__file__).resolve().parent / "package"

PACKAGE_REFUSALS: dict[str, type[XinanError]] = {
    "sig_flipped.xpkg": IntegrityError,
    "header_member_changed.xpkg": IntegrityError,
    "header_reencoded.xpkg": VerificationError,
    "wrong_version.xpkg": VerificationError,
    "record_dropped.xpkg": VerificationError,
    "records_swapped.xpkg": VerificationError,
    "body_byte_flipped.xpkg": VerificationError,
    "no_trailer.xpkg": VerificationError,
    "truncated.xpkg": VerificationError,
}


@pytest.fixture(scope="module")
def keys() -> tuple[Identity, P.TrustLookup]:
    prov = provider()
    return platform(), {prov.key_id: prov.info}.get


def test_package_golden_read(keys: tuple[Identity, P.TrustLookup]) -> None:
    plat, trust = keys
    data = (GOLDEN / "submission.xpkg").read_bytes()
    expected = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))
    info = P.verify_package(io.BytesIO(data), trust=trust)
    assert (info.audience, info.count, info.kind) == ("submission", 3, "penalty")
    assert list(info.clear_fields) == expected["clear_fields"]
    assert list(info.sealed_fields) == expected["sealed_fields"]
    got: list[P.OpenedRecord] = []
    P.open_package(io.BytesIO(data), got.append, identity=plat, trust=trust)
    assert [
        {"id": r.record_id, "clear": list(r.clear), "sealed": list(r.sealed)} for r in got
    ] == expected["records"]


def test_package_mutations_all_listed() -> None:
    assert sorted(p.name for p in (GOLDEN / "bad").iterdir()) == sorted(PACKAGE_REFUSALS)


@pytest.mark.parametrize("name", sorted(PACKAGE_REFUSALS))
def test_package_mutation_refused(keys: tuple[Identity, P.TrustLookup], name: str) -> None:
    plat, trust = keys
    data = (GOLDEN / "bad" / name).read_bytes()
    with pytest.raises(XinanError) as info:
        P.verify_package(io.BytesIO(data), trust=trust)
    assert type(info.value) is PACKAGE_REFUSALS[name], info.value
    released: list[P.OpenedRecord] = []
    with pytest.raises(XinanError) as info:
        P.open_package(io.BytesIO(data), released.append, identity=plat, trust=trust)
    assert type(info.value) is PACKAGE_REFUSALS[name], info.value
    assert released == []
