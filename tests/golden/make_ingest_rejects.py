"""Write the ingest rejects report golden files (docs/ingest-rejects.md): a report of two
refused records out of five, signed by the committed test-only platform key of
tests/golden/grant/keys. The report is deterministic (compact JSON lines, Ed25519), so the test
also checks that ``RejectsWriter`` reproduces it byte for byte. Rerun only after a deliberate
format change:

    .venv/bin/python tests/golden/make_ingest_rejects.py

It writes ``v2/report.jsonl`` (``xinan-ingest-rejects/2``, with the package digest). The
version-1 files beside it (``report.jsonl``, ``expected.json``, ``bad/``) were written by the
version-1 writer and are kept as they are: old receipts must still verify.
"""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "ingest_rejects"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from tests.golden.make_grant import PW  # noqa: E402
from xinan.formats.ingest_rejects import RejectsWriter  # noqa: E402
from xinan.keys import Identity, Keyring  # noqa: E402

KEYS = HERE.parent / "grant" / "keys"
HEAD = {
    "package": "0123456789abcdef0123456789abcdef",
    "vault": "golden-vault",
    "policy": "credit-default@2026.1",
    "kind": "administrative_penalty",
    "sender": "xk1goldensenderaaaaaaaaaaaa",
    "created": "2026-03-02T09:30:00Z",
}
PACKAGE_DIGEST = "sha256:" + "0123456789abcdef" * 4  # a fixed stand-in for a package's bytes
REJECTS = [
    (2, "r-golden-0002", "处罚决定日期", "not a date (YYYY-MM-DD): fix the row and send it again"),
    (5, "r-golden-0005", None, "duplicate record id: send each record once"),
]


def platform() -> Identity:
    return Keyring(KEYS, compliance_mode="any").unlock("platform", PW)


def write_report(ident: Identity) -> bytes:
    out = io.BytesIO()
    w = RejectsWriter(out, suite=ident.suite, signer=ident, **HEAD)
    for row, rid, field, reason in REJECTS:
        w.reject(row, rid, field, reason)
    w.finish(records=5, stored=3, package_digest=PACKAGE_DIGEST)
    return out.getvalue()


def _line(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def mutations(good: bytes) -> dict[str, bytes]:
    lines = good[:-1].split(b"\n")
    head, body, tail = json.loads(lines[0]), lines[1:-1], json.loads(lines[-1])
    raw = bytearray(base64.b64decode(tail["sig"]))
    raw[-1] ^= 0x01
    flipped = dict(tail, sig=base64.b64encode(bytes(raw)).decode())

    def join(*ls: bytes) -> bytes:
        return b"\n".join(ls) + b"\n"

    return {
        "sig_flipped.jsonl": join(lines[0], *body, _line(flipped)),
        "reject_dropped.jsonl": join(lines[0], body[0], lines[-1]),
        "reason_changed.jsonl": join(
            lines[0], body[0], body[1].replace(b"once", b"twice"), lines[-1]
        ),
        "counts_changed.jsonl": join(lines[0], *body, _line(dict(tail, records=6, stored=4))),
        "wrong_version.jsonl": join(
            _line(dict(head, format="xinan-ingest-rejects/2")), *body, lines[-1]
        ),
        "truncated.jsonl": good[: len(good) // 2],
        "no_final_newline.jsonl": good[:-1],
        "trailer_dropped.jsonl": join(lines[0], *body),
        "reencoded_header.jsonl": join(
            json.dumps(head, ensure_ascii=True).encode(), *body, lines[-1]
        ),
        "unknown_platform.jsonl": join(
            _line(dict(head, platform="xk1" + "a" * 24)), *body, lines[-1]
        ),
    }


def main() -> None:
    (HERE / "v2").mkdir(parents=True, exist_ok=True)
    (HERE / "v2" / "report.jsonl").write_bytes(write_report(platform()))


def main_v1() -> None:  # pragma: no cover - how the version-1 files were made (kept frozen)
    good = write_report(platform())
    (HERE / "bad").mkdir(parents=True, exist_ok=True)
    (HERE / "report.jsonl").write_bytes(good)
    for name, data in mutations(good).items():
        (HERE / "bad" / name).write_bytes(data)
    expected = {
        "header": json.loads(good.split(b"\n")[0]),
        "rejects": [json.loads(x) for x in good.split(b"\n")[1:-2]],
        "counts": {"records": 5, "stored": 3, "rejected": 2},
    }
    (HERE / "expected.json").write_text(
        json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
