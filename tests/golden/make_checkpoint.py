"""Write the checkpoint (signed note) golden files: one positive checkpoint signed by a
seeded Ed25519 key (docs/audit-log.md §4.1–4.2) and its committed mutations.

Ed25519 signatures are deterministic, so tests/golden/test_golden_audit.py also checks that today's
writer (``sign_checkpoint``) reproduces ``checkpoint.note`` byte for byte. Rerun only after a
deliberate format change, never to "fix" a failing comparison:

    .venv/bin/python tests/golden/make_checkpoint.py
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "checkpoint"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from xinan.audit.checkpoint import Checkpoint, sign_checkpoint  # noqa: E402
from xinan.audit.note import Ed25519Signer  # noqa: E402

ORIGIN = "example.gov.cn/xinan-audit/golden"
SEED = b"golden checkpoint key"  # synthetic: the key is sha256(SEED)
ROOT_HASH = hashlib.sha256(b"golden root").digest()
SIZE = 42


def signer() -> Ed25519Signer:
    key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(SEED).digest())
    return Ed25519Signer(ORIGIN, key)


def positive() -> bytes:
    return sign_checkpoint(Checkpoint(ORIGIN, SIZE, ROOT_HASH), [signer()]).to_bytes()


def mutations(good: bytes) -> dict[str, bytes]:
    text, _, sigs = good.partition(b"\n\n")
    sig_line = sigs.rstrip(b"\n")
    dash, name, b64 = sig_line.split(b" ")
    blob = bytearray(base64.b64decode(b64))
    blob[-1] ^= 0x01  # the last byte of the Ed25519 signature (after the 4-byte key id)
    flipped = b" ".join((dash, name, base64.b64encode(bytes(blob))))
    return {
        "sig_flipped.note": text + b"\n\n" + flipped + b"\n",
        "size_changed.note": good.replace(b"\n42\n", b"\n43\n", 1),
        "size_leading_zero.note": good.replace(b"\n42\n", b"\n042\n", 1),
        "origin_changed.note": good.replace(b"/golden\n", b"/golder\n", 1),
        "truncated.note": good[: len(good) // 2],
        "no_final_newline.note": good[:-1],
        "no_signature.note": text + b"\n",
        "unknown_extension.note": text + b"\nxinan-hash md5\n\n" + sigs,
        "control_char.note": good.replace(b"golden", b"gold\x01n", 1),
        "wrong_key.note": sign_checkpoint(
            Checkpoint(ORIGIN, SIZE, ROOT_HASH),
            [Ed25519Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(32)))],
        ).to_bytes(),
        "two_signatures.note": good + sig_line + b"\n",
        "not_utf8.note": good.replace(b"golden", b"gold\xffn", 1),
    }


def main() -> None:
    HERE.mkdir(exist_ok=True)
    good = positive()
    (HERE / "checkpoint.note").write_bytes(good)
    (HERE / "vkey.txt").write_text(signer().verifier().vkey() + "\n", encoding="utf-8")
    neg = HERE / "bad"
    neg.mkdir(exist_ok=True)
    for name, data in mutations(good).items():
        (neg / name).write_bytes(data)
    expected = {
        "origin": ORIGIN,
        "size": SIZE,
        "root_sha256_hex": ROOT_HASH.hex(),
        "hash_name": "sha256",
        "signers": [ORIGIN],
    }
    (HERE / "expected.json").write_text(
        json.dumps(expected, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
