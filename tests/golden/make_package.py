"""Write the submission package golden files (docs/package.md, xinan-package/1): three
synthetic records sealed by the committed test-only provider key (tests/golden/keyfile/keys)
to the committed test-only platform key (tests/golden/grant/keys) at a fixed clock, and
committed mutations. Sealing draws random package keys and nonces, so these goldens are
reader-side only: the test verifies and opens the committed package with today's reader and
expects the pinned records. Rerun only after a deliberate format change:

    .venv/bin/python tests/golden/make_package.py
"""

from __future__ import annotations

import base64
import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent / "package"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from tests.golden import make_grant, make_keyfile  # noqa: E402
from xinan.formats import package as P  # noqa: E402
from xinan.keys import Identity, Keyring  # noqa: E402

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
CLEAR = ("行政相对人名称", "处罚类别", "决定日期")
SEALED = ("证件号码", "法定代表人", "联系电话")
META = P.PackageMeta("credit-default", "2026.1", "penalty", CLEAR, SEALED)


def provider() -> Identity:
    return Keyring(HERE.parent / "keyfile" / "keys", compliance_mode="any").unlock(
        "provider-intl", make_keyfile.PW
    )


def platform() -> Identity:
    return Keyring(HERE.parent / "grant" / "keys", compliance_mode="any").unlock(
        "platform", make_grant.PW
    )


def records() -> list[P.SealRecord]:
    # synthetic identities only (the ID numbers are of the test range used across the suite)
    return [
        P.SealRecord(
            f"R-GOLDEN-{i:04d}",
            [f"某某商贸有限公司{i}", "罚款", "2025-12-01"],
            [f"11010519491231{i:03d}X", f"张三{i}", f"1380013{i:04d}"],
        )
        for i in range(3)
    ]


def mutations(good: bytes) -> dict[str, bytes]:
    lines = good.splitlines(keepends=True)
    header, body, trailer = lines[0], lines[1:-1], lines[-1]
    h = json.loads(header)
    t = json.loads(trailer)
    sig_member = next(k for k in t if k.startswith("sig"))
    raw = bytearray(base64.b64decode(t[sig_member]))
    raw[-1] ^= 0x01
    flipped = dict(t, **{sig_member: base64.b64encode(bytes(raw)).decode()})

    def enc(o: object) -> bytes:
        return json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"

    flip40 = body[1][:40] + bytes([body[1][40] ^ 0x01]) + body[1][41:]
    assert enc(h) == header and enc(t) == trailer, "encoding not what this generator assumes"
    return {
        "sig_flipped.xpkg": header + b"".join(body) + enc(flipped),
        "record_dropped.xpkg": header + b"".join(body[:-1]) + trailer,
        "records_swapped.xpkg": header + body[1] + body[0] + b"".join(body[2:]) + trailer,
        "wrong_version.xpkg": enc(dict(h, format="xinan-package/9")) + b"".join(body) + trailer,
        "header_member_changed.xpkg": enc(dict(h, kind="license")) + b"".join(body) + trailer,
        "header_reencoded.xpkg": json.dumps(h, ensure_ascii=True, separators=(",", ":")).encode()
        + b"\n"
        + b"".join(body)
        + trailer,
        "no_trailer.xpkg": header + b"".join(body),
        "truncated.xpkg": good[: len(good) // 2],
        "body_byte_flipped.xpkg": header + body[0] + flip40 + b"".join(body[2:]) + trailer,
    }


def main() -> None:
    out = io.BytesIO()
    plat = platform()
    P.seal_package(
        out,
        records(),
        suite=plat.suite,
        sender=provider(),
        recipients=[plat.info],
        meta=META,
        now=NOW,
    )
    good = out.getvalue()
    (HERE / "bad").mkdir(parents=True, exist_ok=True)
    (HERE / "submission.xpkg").write_bytes(good)
    for name, data in mutations(good).items():
        (HERE / "bad" / name).write_bytes(data)
    expected = {
        "records": [
            {"id": r.record_id, "clear": list(r.clear), "sealed": list(r.sealed)} for r in records()
        ],
        "clear_fields": list(CLEAR),
        "sealed_fields": list(SEALED),
    }
    (HERE / "expected.json").write_text(
        json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
