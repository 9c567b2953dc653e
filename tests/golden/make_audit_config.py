"""Write the audit log configuration golden files (docs/audit-log.md §12.1, ``<log>.config``):
the xinan-audit-config/1 config of the golden audit log (tests/golden/audit_log, signed by a
keyring identity) and an xinan-audit-config/2 config (the log's own service signer, the
seeded Ed25519 key of tests/golden/make_checkpoint.py), written by ``AuditConfig.to_bytes``
(deterministic: the test checks the writer byte for byte), and committed mutations of each.
Rerun only after a deliberate format change:

    .venv/bin/python tests/golden/make_audit_config.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "audit_config"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

import hashlib  # noqa: E402

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from tests.golden.make_checkpoint import SEED  # noqa: E402
from xinan.access import AuditConfig  # noqa: E402
from xinan.audit.signers import signer_key_id  # noqa: E402
from xinan.crypto import get_suite  # noqa: E402

CONFIG = AuditConfig(
    origin="example.gov.cn/xinan-audit/golden-log",
    hash="sha256",
    log_key="platform",
    log_key_id="xk1rh5ke7zhpbmbacwt2j62wkzn",  # the golden platform key (tests/golden/grant)
)

V2_ORIGIN = "example.gov.cn/xinan-audit/golden-service-log"
# the seeded Ed25519 key of the checkpoint goldens: its 32-byte public key
V2_PUBLIC = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(SEED).digest()).public_key()
V2_PUBLIC_BYTES = V2_PUBLIC.public_bytes_raw()
CONFIG_V2 = AuditConfig(
    origin=V2_ORIGIN,
    hash="sha256",
    log_key="log-signer",
    log_key_id=signer_key_id(get_suite("intl"), V2_ORIGIN, V2_PUBLIC_BYTES),
    signer="service",
    suite="intl",
    public=V2_PUBLIC_BYTES,
    key_file="audit2.log.signer",
    secret_file="service/audit2.log.secret",
)


def _enc(doc: dict[str, object]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


def mutations(good: bytes) -> dict[str, bytes]:
    doc = json.loads(good)
    assert _enc(doc) == good, "the config encoding is not what this generator assumes"
    return {
        "wrong_version.log.config": _enc(dict(doc, format="xinan-audit-config/9")),
        "no_version.log.config": _enc({k: v for k, v in doc.items() if k != "format"}),
        "member_dropped.log.config": _enc({k: v for k, v in doc.items() if k != "log_key_id"}),
        "not_a_string.log.config": _enc(dict(doc, log_key=7)),
        "truncated.log.config": good[: len(good) // 2],
        "duplicate_member.log.config": good.replace(b'  "hash"', b'  "hash": "sm3",\n  "hash"', 1),
        "member_added.log.config": _enc(dict(doc, note="x")),
        "unknown_hash.log.config": _enc(dict(doc, hash="md5")),
        "empty_member.log.config": _enc(dict(doc, log_key="")),
        "origin_two_lines.log.config": _enc(dict(doc, origin=doc["origin"] + "\nother")),
        "not_an_object.log.config": b"[]\n",
        # a /1 file with the /2 members is neither (§12.1: exactly the version's members)
        "v1_with_v2_members.log.config": _enc(
            {**json.loads(CONFIG_V2.to_bytes()), "format": "xinan-audit-config/1"}
        ),
    }


def mutations_v2(good: bytes) -> dict[str, bytes]:
    doc = json.loads(good)
    assert _enc(doc) == good, "the config encoding is not what this generator assumes"
    return {
        "v2_member_dropped.log.config": _enc({k: v for k, v in doc.items() if k != "public"}),
        "v2_member_added.log.config": _enc(dict(doc, cosigner="x")),
        "v2_signer_identity.log.config": _enc(dict(doc, signer="identity")),
        "v2_log_key_renamed.log.config": _enc(dict(doc, log_key="platform")),
        "v2_hash_not_the_suites.log.config": _enc(dict(doc, hash="sm3")),
        "v2_unknown_suite.log.config": _enc(dict(doc, suite="rsa")),
        "v2_suite_pq.log.config": _enc(dict(doc, suite="pq")),  # init signs pq logs as intl
        "v2_public_not_base64.log.config": _enc(dict(doc, public="not base64!")),
        "v2_not_a_string.log.config": _enc(dict(doc, key_file=["a"])),
    }


def main() -> None:
    good = CONFIG.to_bytes()
    good_v2 = CONFIG_V2.to_bytes()
    (HERE / "bad").mkdir(parents=True, exist_ok=True)
    (HERE / "audit.log.config").write_bytes(good)
    (HERE / "audit2.log.config").write_bytes(good_v2)
    for name, data in (mutations(good) | mutations_v2(good_v2)).items():
        (HERE / "bad" / name).write_bytes(data)


if __name__ == "__main__":
    main()
