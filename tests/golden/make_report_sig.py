"""Write the report signature golden files (docs/report.md §8, xinan-report-sig/1): a small
synthetic report and its detached ``.sig`` by the committed test-only platform key of
tests/golden/grant/keys, and committed mutations of the ``.sig`` (and one of the report).
Ed25519 is deterministic, so the test also checks that ``sign_report`` reproduces the ``.sig``
byte for byte. Rerun only after a deliberate format change:

    .venv/bin/python tests/golden/make_report_sig.py
"""

from __future__ import annotations

import base64
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent / "report_sig"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from tests.golden.make_grant import PW  # noqa: E402
from xinan.keys import Keyring  # noqa: E402
from xinan.reports.signature import sign_report  # noqa: E402

KEYS = HERE.parent / "grant" / "keys"
NAME = "报告.html"
SIGNED_AT = datetime(2026, 3, 2, 9, 30, 0, tzinfo=UTC)
REPORT = (
    "<!doctype html><html lang=zh><meta charset=utf-8><title>信用信息查询记录</title>"
    "<p>主体 ps1.xs1testkeyaaaaaaaaaaaaaaaa.golden：2026年3月查询 2 次。</p></html>\n"
).encode()


def sign() -> bytes:
    platform = Keyring(KEYS, compliance_mode="any").unlock("platform", PW)
    return sign_report(REPORT, name=NAME, signer=platform, now=SIGNED_AT)


def _enc(doc: dict[str, object]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()


def mutations(good: bytes) -> dict[str, bytes]:
    doc = json.loads(good)
    assert _enc(doc) == good, "the .sig encoding is not what this generator assumes"
    raw = bytearray(base64.b64decode(doc["sig"]))
    raw[-1] ^= 0x01
    return {
        "sig_flipped.sig": _enc(dict(doc, sig=base64.b64encode(bytes(raw)).decode())),
        "size_changed.sig": _enc(dict(doc, size=doc["size"] + 1)),
        "signed_at_changed.sig": _enc(dict(doc, signed_at="2026-03-02T09:30:01Z")),
        "hash_changed.sig": _enc(dict(doc, hash="sm3")),
        "wrong_version.sig": _enc(dict(doc, format="xinan-report-sig/2")),
        "truncated.sig": good[: len(good) // 2],
        "member_added.sig": _enc(dict(doc, note="x")),
        "member_dropped.sig": _enc({k: v for k, v in doc.items() if k != "signed_at"}),
        "unknown_signer.sig": _enc(dict(doc, signer=dict(doc["signer"], key_id="xk1" + "a" * 24))),
        "duplicate_member.sig": good.replace(b'  "size"', b'  "size": 1,\n  "size"', 1),
    }


def main() -> None:
    (HERE / "bad").mkdir(parents=True, exist_ok=True)
    good = sign()
    (HERE / NAME).write_bytes(REPORT)
    (HERE / (NAME + ".sig")).write_bytes(good)
    for name, data in mutations(good).items():
        (HERE / "bad" / name).write_bytes(data)
    # the report changed by one byte, under the good signature
    (HERE / "bad" / "report_changed.html").write_bytes(REPORT.replace(b"2 \xe6", b"3 \xe6", 1))
    doc = json.loads(good)
    expected = {
        "file": NAME,
        "size": len(REPORT),
        "signer": {"id": doc["signer"]["id"], "key_id": doc["signer"]["key_id"]},
        "signed_at": "2026-03-02T09:30:00Z",
        "ok": True,
    }
    (HERE / "expected.json").write_text(
        json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
