"""Write the destruction certificate golden files (docs/destruction.md §3, xinan-destruction/1):
a certificate of two records destroyed under a retention rule by the committed test-only
security administrator ``secadm`` of tests/golden/grant/keys, whose destroy entry is entry 2
of a three-entry audit log signed by a seeded Ed25519 log key at a fixed clock (the log and
its checkpoint sidecar are committed beside it), and committed mutations. The nonce is fixed
and Ed25519 is deterministic, so the test also checks that today's writer reproduces the
certificate byte for byte. Rerun only after a deliberate format change:

    rm -rf tests/golden/destruction && .venv/bin/python tests/golden/make_destruction.py
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "destruction"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from tests.golden.make_grant import PW, subject  # noqa: E402
from xinan.audit.entry import AuditEvent  # noqa: E402
from xinan.audit.log import AuditLog  # noqa: E402
from xinan.audit.note import Ed25519Signer  # noqa: E402
from xinan.keys import Identity, Keyring  # noqa: E402
from xinan.platform.destruction import (  # noqa: E402
    DestroyedRecord,
    Destruction,
    Rule,
    _file_bytes,
    _signed_bytes,
    audit_reference,
    build_certificate,
    plan_destruction,
    sign_certificate,
)

KEYS = HERE.parent / "grant" / "keys"
ORIGIN = "example.gov.cn/xinan-audit/golden-destruction-log"
SEED = b"golden destruction log key"  # synthetic: the log key is sha256(SEED)
START = datetime(2026, 3, 2, 1, 0, 0, tzinfo=UTC)  # 09:00 China Standard Time
VAULT = "0123456789abcdef0123456789abcdef"
NONCE = bytes(range(16))
CITATION = "征信业管理条例 第十六条（不良信息自不良行为或者事件终止之日起保存5年，超过5年予以删除）"


def keyring() -> Keyring:
    return Keyring(KEYS, compliance_mode="any")


def log_signer() -> Ed25519Signer:
    return Ed25519Signer(
        ORIGIN, Ed25519PrivateKey.from_private_bytes(hashlib.sha256(SEED).digest())
    )


class Clock:
    def __init__(self) -> None:
        self.t = START

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


def destruction(ring: Keyring) -> Destruction:
    def record(n: int, pkg: str) -> DestroyedRecord:
        rid = f"r-golden-{n:04d}"
        return DestroyedRecord(
            record_id=rid,
            package_id=pkg,
            kind="penalty",
            subjects=(subject(),),
            digests={
                "record_key": hashlib.sha256(b"wrapped " + rid.encode()).digest(),
                "sealed": hashlib.sha256(b"sealed " + rid.encode()).digest(),
            },
            keep_until=date(2026, 2, 28),
        )

    return plan_destruction(
        vault_id=VAULT,
        records=[record(1, "a" * 32), record(2, "b" * 32)],
        rule=Rule.retention(citation=CITATION, as_of=date(2026, 3, 1)),
        destroyer=ring.get_public("secadm"),
        nonce=NONCE,
    )


def write(directory: Path) -> bytes:
    """The log (two entries before the destroy entry) in ``directory`` and the certificate."""
    ring = keyring()
    secadm = ring.unlock("secadm", PW)
    d = destruction(ring)
    path = directory / "audit.log"
    with AuditLog.open(path, signer=log_signer(), origin=ORIGIN, clock=Clock()) as log:
        for i in range(2):
            log.append(
                AuditEvent(
                    type="verify",
                    actor_key_id=secadm.key_id,
                    actor_role="sec-admin",
                    objects={"ref": f"golden-{i}"},
                )
            )
        seq = log.append(
            AuditEvent(actor_key_id=secadm.key_id, actor_role="sec-admin", **_event(d))
        )
    (directory / "audit.log.lock").unlink(missing_ok=True)  # the writer's lock
    return sign_certificate(build_certificate(d, audit_reference(path, seq)), secadm)


def _event(d: Destruction) -> dict[str, Any]:
    ev = d.audit_event()
    ev["type"] = ev.pop("type_")
    return ev


def resign(doc: dict[str, Any], ident: Identity) -> bytes:
    """``doc``'s body signed by ``ident`` (bypassing sign_certificate's own checks)."""
    body = doc["certificate"]
    sig = ident.sign(_signed_bytes(body))
    return _file_bytes(
        {
            "format": doc["format"],
            "certificate": body,
            "signature": {
                "alg": ident.suite.sig_name,
                "key_id": ident.key_id,
                "value": base64.b64encode(sig).decode(),
            },
        }
    )


def mutations(good: bytes) -> dict[str, bytes]:
    ring = keyring()
    secadm, platform = ring.unlock("secadm", PW), ring.unlock("platform", PW)
    doc = json.loads(good)
    body = doc["certificate"]

    def edit(**members: Any) -> dict[str, Any]:
        return dict(doc, certificate=dict(body, **members))

    raw = bytearray(base64.b64decode(doc["signature"]["value"]))
    raw[-1] ^= 0x01
    flipped = dict(doc, signature=dict(doc["signature"], value=base64.b64encode(raw).decode()))
    rec0 = dict(
        body["records"][0],
        digests=dict(
            body["records"][0]["digests"],
            sealed=base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode(),
        ),
    )
    audit = body["audit"]
    proof = [*audit["proof"]]
    p0 = bytearray(base64.b64decode(proof[0]))
    p0[0] ^= 0x01
    proof[0] = base64.b64encode(p0).decode()
    entry = dict(audit["entry"], outcome="failure")
    return {
        "sig_flipped.json": _file_bytes(flipped),
        "wrong_version.json": _file_bytes(dict(doc, format="xinan-destruction/2")),
        "compact.json": json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode(),
        "truncated.json": good[: len(good) // 2],
        "member_added.json": _file_bytes(dict(doc, note="x")),
        "unknown_signer.json": _file_bytes(
            dict(doc, signature=dict(doc["signature"], key_id="xk1" + "a" * 24))
        ),
        "signed_by_platform.json": resign(doc, platform),
        "digest_changed.json": resign(edit(records=[rec0, body["records"][1]]), secadm),
        "counts_changed.json": resign(edit(counts=dict(body["counts"], records=3)), secadm),
        "rule_changed.json": resign(edit(rule=dict(body["rule"], as_of="2026-03-09")), secadm),
        "entry_changed.json": resign(edit(audit=dict(audit, entry=entry)), secadm),
        "proof_flipped.json": resign(edit(audit=dict(audit, proof=proof)), secadm),
        "seq_beyond_checkpoint.json": resign(edit(audit=dict(audit, seq=7)), secadm),
    }


def main() -> None:
    if HERE.exists():
        shutil.rmtree(HERE)
    HERE.mkdir()
    good = write(HERE)
    (HERE / "certificate.json").write_bytes(good)
    (HERE / "vkey.txt").write_text(log_signer().verifier().vkey() + "\n", encoding="utf-8")
    (HERE / "bad").mkdir()
    for name, data in mutations(good).items():
        (HERE / "bad" / name).write_bytes(data)


if __name__ == "__main__":
    main()
