"""Write the source-change golden files (docs/source-change.md, xinan-source-change/1): a
revocation and a correction signed by the committed test-only provider key of
tests/golden/keyfile/keys, and committed mutations. Ed25519 and the canonical file form are
deterministic, so the test also checks that ``sign_source_change`` reproduces both files byte
for byte. Rerun only after a deliberate format change:

    .venv/bin/python tests/golden/make_source_change.py
"""

from __future__ import annotations

import base64
import json
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent / "source_change"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from tests.golden.make_keyfile import PW  # noqa: E402
from xinan.formats.source_change import Action, SourceChange, sign_source_change  # noqa: E402
from xinan.keys import Keyring  # noqa: E402

KEYS = HERE.parent / "keyfile" / "keys"
PROVIDER = "provider-intl"


def changes(sender_key_id: str) -> dict[str, SourceChange]:
    common = {
        "issued": "2026-03-02T09:30:00Z",
        "decided": date(2026, 2, 27),
        "basis": "某市市场监督管理局撤销决定 市监撤〔2026〕7号",
        "policy": "credit-default@2026.1",
        "sender_id": PROVIDER,
        "sender_key_id": sender_key_id,
    }
    return {
        "revoke.json": SourceChange(
            id="sc1" + "0" * 31 + "1",
            action=Action.REVOKE,
            records=("r-golden-0001", "r-golden-0002"),
            **common,  # type: ignore[arg-type]
        ),
        "correct.json": SourceChange(
            id="sc1" + "0" * 31 + "2",
            action=Action.CORRECT,
            records=("r-golden-0003",),
            package="0123456789abcdef0123456789abcdef",
            package_digest=base64.b64encode(b"golden records digest 32 bytes!!").decode(),
            **common,  # type: ignore[arg-type]
        ),
    }


def _enc(doc: dict[str, object]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()


def mutations(good: bytes) -> dict[str, bytes]:
    doc = json.loads(good)
    assert _enc(doc) == good, "the file encoding is not what this generator assumes"
    sig = doc["signature"]
    raw = bytearray(base64.b64decode(sig["value"]))
    raw[-1] ^= 0x01
    flipped = dict(sig, value=base64.b64encode(bytes(raw)).decode())
    change = doc["change"]
    return {
        "sig_flipped.json": _enc(dict(doc, signature=flipped)),
        "record_added.json": _enc(
            dict(doc, change=dict(change, records=[*change["records"], "r-golden-9999"]))
        ),
        "action_changed.json": _enc(dict(doc, change=dict(change, action="correct"))),
        "wrong_version.json": _enc(dict(doc, format="xinan-source-change/2")),
        "truncated.json": good[: len(good) // 2],
        "compact.json": json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode(),
        "member_added.json": _enc(dict(doc, note="x")),
        "unknown_signer.json": _enc(dict(doc, signature=dict(sig, key_id="xk1" + "a" * 24))),
        "alg_changed.json": _enc(dict(doc, signature=dict(sig, alg="sm2-sm3"))),
    }


def main() -> None:
    ring = Keyring(KEYS, compliance_mode="any")
    ident = ring.unlock(PROVIDER, PW)
    bad = HERE / "bad"
    bad.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, change in changes(ident.key_id).items():
        data = sign_source_change(change, ident)
        (HERE / name).write_bytes(data)
        expected[name] = change.to_json()
        if name == "revoke.json":
            for mname, mdata in mutations(data).items():
                (bad / mname).write_bytes(mdata)
    (HERE / "expected.json").write_text(
        json.dumps(expected, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
