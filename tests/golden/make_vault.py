"""Write the vault configuration golden files (docs/vault.md §2, ``vault.json``): a
configuration made by ``init_vault`` (xinan-vault/3) for the committed test-only platform key of
tests/golden/grant/keys at a fixed clock, its row key sealed under a test-only service secret
(``SECRET``), bound to the shipped policy as it was when the golden was made and to the golden
destruction log's origin, and committed mutations. ``vault-v2.json`` is a version-2
configuration made the same way before version 3 (still opened, §11.2); it is kept, never
rewritten. The KEK, the vault id and the nonces are random, so the goldens are reader-side: the
test reads the committed files, unwraps the KEK with the committed platform key and checks
commitments and MACs; it does not ask the writer to reproduce them. Rerun only after a
deliberate format change:

    .venv/bin/python tests/golden/make_vault.py
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "vault"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from xinan.keys import Keyring  # noqa: E402
from xinan.platform.vault_config import CONFIG_FILE, init_vault  # noqa: E402
from xinan.policy.catalogue import load_policy  # noqa: E402

KEYS = HERE.parent / "grant" / "keys"
NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
PSEUDONYM = ("subject-ps", "xs1testkeyaaaaaaaaaaaaaaaa")
AUDIT = ("example.gov.cn/xinan-audit/golden-destruction-log", "xl1goldenlogsigneraaaaaaaaaa")
AUDIT_PATH = "/srv/xinan/platform/audit/audit.log"
SECRET = hashlib.sha256(b"golden vault log service secret").digest()  # test-only, synthetic


def keyring() -> Keyring:
    return Keyring(KEYS, compliance_mode="any")


def make() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        vault = Path(tmp) / "vault"
        init_vault(
            vault,
            platform=keyring().get_public("platform"),
            pseudonym_id=PSEUDONYM[0],
            pseudonym_key_id=PSEUDONYM[1],
            policy=load_policy(ROOT / "policies" / "credit-default.toml"),
            now=NOW,
            audit_origin=AUDIT[0],
            audit_key_id=AUDIT[1],
            audit_path=AUDIT_PATH,
            row_key_secret=SECRET,
        )
        return (vault / CONFIG_FILE).read_bytes()


def _enc(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()


def _flip(b64: str) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[-1] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def mutations(good: bytes) -> dict[str, bytes]:
    doc = json.loads(good)
    assert _enc(doc) == good, "the vault.json encoding is not what this generator assumes"
    kek = doc["kek"]
    return {
        # refused when read (VaultConfig.read)
        "wrong_version.json": _enc(dict(doc, format="xinan-vault/9")),
        "version_1.json": _enc(dict(doc, format="xinan-vault/1")),  # not opened until upgraded
        "truncated.json": good[: len(good) // 2],
        "not_an_object.json": b"[]\n",
        "id_not_hex.json": _enc(dict(doc, id="z" * 32)),
        "id_short.json": _enc(dict(doc, id=doc["id"][:30])),
        "kek_dropped.json": _enc({k: v for k, v in doc.items() if k != "kek"}),
        "mac_not_base64.json": _enc(dict(doc, mac="not base64!")),
        "unknown_suite.json": _enc(dict(doc, suite="rsa")),
        "member_added.json": _enc(dict(doc, note="x")),
        "row_key_dropped.json": _enc({k: v for k, v in doc.items() if k != "row_key"}),
        "row_key_member_added.json": _enc(dict(doc, row_key=dict(doc["row_key"], note="x"))),
        "mac_row_dropped.json": _enc({k: v for k, v in doc.items() if k != "mac_row"}),
        "policy_not_text.json": _enc(dict(doc, policy=7)),
        # read, then refused when the KEK is unwrapped and the MAC checked
        "mac_flipped.json": _enc(dict(doc, mac=_flip(doc["mac"]))),
        "policy_changed.json": _enc(dict(doc, policy=doc["policy"].replace("#", "#0", 1)[:-1])),
        "pseudonym_swapped.json": _enc(
            dict(doc, pseudonym=dict(doc["pseudonym"], key_id="xs1otherkeyaaaaaaaaaaaaaaa"))
        ),
        "audit_path_changed.json": _enc(
            dict(doc, audit=dict(doc["audit"], path="/tmp/another/audit.log"))
        ),
        "kek_wrapped_flipped.json": _enc(dict(doc, kek=dict(kek, wrapped=_flip(kek["wrapped"])))),
        "commitment_flipped.json": _enc(
            dict(doc, kek=dict(kek, commitment=_flip(kek["commitment"])))
        ),
        # mac_row: read and opened with the platform key, then refused when the row key is
        # opened with the service secret (§3.2)
        "mac_row_flipped.json": _enc(dict(doc, mac_row=_flip(doc["mac_row"]))),
        "row_key_sealed_flipped.json": _enc(
            dict(doc, row_key=dict(doc["row_key"], sealed=_flip(doc["row_key"]["sealed"])))
        ),
    }


def main() -> None:
    shutil.rmtree(HERE / "bad", ignore_errors=True)  # vault-v2.json stays
    (HERE / "bad").mkdir(parents=True)
    good = make()
    (HERE / "vault.json").write_bytes(good)
    for name, data in mutations(good).items():
        (HERE / "bad" / name).write_bytes(data)


if __name__ == "__main__":
    main()
