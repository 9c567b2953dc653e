"""Write the share package and release golden files (docs/package.md §6, xinan-package/1 with
audience "share", and §6.4 xinan-release/1): the golden submission package
(tests/golden/package) shared by the committed test-only platform key to the committed
test-only querent key (tests/golden/grant/keys) under the golden grant, with per-record
release, and the release file for two of its records. Both draw random keys and nonces, so
these goldens are reader-side only. Rerun only after a deliberate format change (after
make_package.py):

    .venv/bin/python tests/golden/make_share.py
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent / "share"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from tests.golden import make_grant  # noqa: E402
from tests.golden.make_package import SEALED, platform, provider  # noqa: E402
from tests.golden.make_package import mutations as package_mutations  # noqa: E402
from xinan.formats import package as P  # noqa: E402
from xinan.formats.release import build_release  # noqa: E402
from xinan.keys import Identity, Keyring  # noqa: E402

NOW = datetime(2026, 3, 2, 9, 40, tzinfo=UTC)
GRANTED = ("联系电话",)
RELEASED = ("R-GOLDEN-0000", "R-GOLDEN-0002")


def bank() -> Identity:
    ring = Keyring(HERE.parent / "grant" / "keys", compliance_mode="any")
    return ring.unlock("bank", make_grant.PW)


def release_secret(record_id: str) -> bytes:
    return hashlib.sha256(b"golden release " + record_id.encode()).digest()


def grant_id() -> str:
    token = (HERE.parent / "grant" / "grant.jwt").read_text(encoding="ascii").strip()
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["jti"])


def main() -> None:
    plat, prov, querent = platform(), provider(), bank()
    keyed: list[P.KeyedRecord] = []
    P.open_package_keys(
        io.BytesIO((HERE.parent / "package" / "submission.xpkg").read_bytes()),
        keyed.append,
        identity=plat,
        trust={prov.key_id: prov.info}.get,
    )
    idx = [SEALED.index(g) for g in GRANTED]
    out = io.BytesIO()
    P.build_share_package(
        out,
        [
            P.ShareRecord(
                kr.record_id,
                kr.source_package_id,
                [kr.clear[0]],
                [kr.blobs[i] for i in idx],
                [kr.field_keys[i] for i in idx],
                release_secret(kr.record_id),
            )
            for kr in keyed
        ],
        suite=plat.suite,
        sender=plat,
        querent=querent.info,
        meta=P.PackageMeta("credit-default", "2026.1", "penalty", ("行政相对人名称",), GRANTED),
        grant=grant_id(),
        now=NOW,
        release="per-record",
    )
    share = out.getvalue()
    info = P.verify_package(io.BytesIO(share), trust={plat.key_id: plat.info}.get)
    _, release = build_release(
        share=info,
        querent=querent.info,
        platform=plat,
        secrets=[(r, release_secret(r)) for r in RELEASED],
        withheld=len(keyed) - len(RELEASED),
        now=NOW,
    )
    (HERE / "bad").mkdir(parents=True, exist_ok=True)
    (HERE / "share.xpkg").write_bytes(share)
    (HERE / "release.json").write_bytes(release)
    doc = json.loads(release)
    raw = bytearray(base64.b64decode(doc["signature"]))
    raw[-1] ^= 0x01

    def enc(d: dict[str, object]) -> bytes:
        return (json.dumps(d, separators=(",", ":"), ensure_ascii=False) + "\n").encode()

    assert enc(doc) == release, "the release encoding is not what this generator assumes"
    muts = {
        "release_sig_flipped.json": enc(dict(doc, signature=base64.b64encode(bytes(raw)).decode())),
        "release_withheld_changed.json": enc(dict(doc, withheld=0)),
        "release_wrong_version.json": enc(dict(doc, format="xinan-release/2")),
        "release_truncated.json": release[: len(release) // 2],
        "release_pretty.json": (json.dumps(doc, indent=2) + "\n").encode(),
        "release_other_share.json": enc(dict(doc, share="0" * 32)),
    }
    pkg_muts = package_mutations(share)
    for name in ("sig_flipped.xpkg", "header_member_changed.xpkg", "record_dropped.xpkg"):
        muts["share_" + name] = pkg_muts[name]
    for name, data in muts.items():
        (HERE / "bad" / name).write_bytes(data)
    expected = {
        "grant": grant_id(),
        "granted": list(GRANTED),
        "opened": {r: ["13800130000" if r.endswith("0") else "13800130002"] for r in RELEASED},
        "withheld": ["R-GOLDEN-0001"],
    }
    (HERE / "expected.json").write_text(
        json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
