"""Write the key file golden files (docs/keys.md, xinan-key/1): a test-only keyring with an
intl pair, a gm pair and a pseudonym secret key (test-only KDF parameters and passphrase), and
committed mutations of its public, private and secret files.

Key files embed random salts and nonces (and the keys themselves are random), so these are
reader-side goldens only: the test reads the committed files, it does not ask the writer to
reproduce them. Rerun only after a deliberate format change (every file changes):

    rm -rf tests/golden/keyfile && .venv/bin/python tests/golden/make_keyfile.py
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent / "keyfile"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from xinan.keys import KdfParams, Keyring  # noqa: E402

NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
PW = "golden key file test passphrase"  # test-only keys, committed on purpose
FAST_KDF = KdfParams(m_kib=64, t=1, p=1, iterations=1000)  # test-only


def _enc(doc: dict[str, object]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


def _flip_b64(value: str) -> str:
    # change one character of a base64 value to another valid one (same length)
    i = len(value.rstrip("=")) // 2
    return value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1 :]


def mutations(good: bytes) -> dict[str, bytes]:
    doc = json.loads(good)
    assert _enc(doc) == good, "the key file encoding is not what this generator assumes"
    out = {
        "wrong_version": _enc(dict(doc, format="xinan-key/2")),
        "truncated": good[: len(good) // 2],
        "compact": json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode(),
        "member_added": _enc(dict(doc, note="x")),
        "id_changed": _enc(dict(doc, id=doc["id"] + "x")),
        "role_changed": _enc(
            dict(doc, role="sys-admin" if doc["role"] != "sys-admin" else "auditor")
        ),
        "created_changed": _enc(dict(doc, created="2026-03-02T09:00:01Z")),
        "key_id_changed": _enc(dict(doc, key_id=_flip_b64(doc["key_id"]))),
    }
    if "sig" in doc:
        out["sig_changed"] = _enc(dict(doc, sig=_flip_b64(doc["sig"])))
    if "sealed" in doc:
        out["sealed_flipped"] = _enc(dict(doc, sealed=_flip_b64(doc["sealed"])))
        out["nonce_flipped"] = _enc(dict(doc, nonce=_flip_b64(doc["nonce"])))
        out["salt_flipped"] = _enc(
            dict(doc, kdf=dict(doc["kdf"], salt=_flip_b64(doc["kdf"]["salt"])))
        )
    return out


def main() -> None:
    ring = Keyring(HERE / "keys", compliance_mode="any")
    ring.generate("provider-intl", "provider", "intl", PW, now=NOW, kdf_params=FAST_KDF)
    ring.generate("provider-gm", "provider", "gm", PW, now=NOW, kdf_params=FAST_KDF)
    ring.generate_secret("pseudonym-key", "intl", PW, now=NOW, kdf_params=FAST_KDF)
    bad = HERE / "bad"
    bad.mkdir(exist_ok=True)
    sources = {
        "pub": ring.public_path("provider-intl"),
        "key": ring.private_path("provider-intl"),
        "gmpub": ring.public_path("provider-gm"),
        "gmkey": ring.private_path("provider-gm"),
        "secret": ring.private_path("pseudonym-key"),
    }
    for kind, path in sources.items():
        for name, data in mutations(path.read_bytes()).items():
            (bad / f"{kind}.{name}").write_bytes(data)
    expected = {
        e.id: {"key_id": e.key_id, "kind": e.kind, "role": e.role, "suite": e.suite}
        for e in ring.list()
    }
    (HERE / "expected.json").write_text(
        json.dumps(expected, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
