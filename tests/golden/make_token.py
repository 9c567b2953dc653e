"""Write the second-factor token golden files (docs/keys.md §9, xinan-token/1): a token of a
synthetic holder whose Ed25519 key is seeded (test-only, committed on purpose), written by
``Token.to_bytes`` (deterministic, so the test also checks the writer byte for byte), and
committed mutations. Rerun only after a deliberate format change:

    .venv/bin/python tests/golden/make_token.py
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "token"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from xinan.authn import Token  # noqa: E402
from xinan.crypto import get_suite  # noqa: E402

SEED = hashlib.sha256(b"golden token key").digest()  # synthetic, test-only
HOLDER = "secadm-golden"
HOLDER_KEY_ID = "xk1goldensecadmaaaaaaaaaaaa"


def token() -> Token:
    s = get_suite("intl")
    return Token(HOLDER, HOLDER_KEY_ID, s.name, s.import_private("sign", SEED))


def _enc(doc: dict[str, object]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


def _flip(b64: str) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[-1] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def mutations(good: bytes) -> dict[str, bytes]:
    doc = json.loads(good)
    assert _enc(doc) == good, "the token encoding is not what this generator assumes"
    return {
        "private_flipped.json": _enc(dict(doc, private=_flip(doc["private"]))),
        "public_flipped.json": _enc(dict(doc, public=_flip(doc["public"]))),
        "holder_key_id_changed.json": _enc(dict(doc, holder_key_id="xk1goldenotheraaaaaaaaaaaaa")),
        "token_id_changed.json": _enc(dict(doc, token_id=doc["token_id"][:-1] + "a")),
        "wrong_version.json": _enc(dict(doc, format="xinan-token/2")),
        "truncated.json": good[: len(good) // 2],
        "compact.json": json.dumps(doc, separators=(",", ":")).encode(),
        "member_added.json": _enc(dict(doc, note="x")),
        "suite_changed.json": _enc(dict(doc, suite="gm")),
    }


def main() -> None:
    good = token().to_bytes()
    (HERE / "bad").mkdir(parents=True, exist_ok=True)
    (HERE / "token.json").write_bytes(good)
    for name, data in mutations(good).items():
        (HERE / "bad" / name).write_bytes(data)


if __name__ == "__main__":
    main()
