"""Write the audit log golden files (docs/audit-log.md): a five-entry log (xinan-audit/1
entries, one per line) with its checkpoint sidecar, signed by a seeded Ed25519 key at a fixed
clock; an inclusion proof of entry 2 and a consistency proof from size 3
(c2sp.org/tlog-proof); and committed mutations of the log, the sidecar and the proofs.
Everything is deterministic, so the test also rebuilds the log in a temporary directory and
expects the same bytes. Rerun only after a deliberate format change:

    rm -rf tests/golden/audit_log && .venv/bin/python tests/golden/make_audit_log.py
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent / "audit_log"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from xinan.audit.entry import AuditEvent  # noqa: E402
from xinan.audit.log import AuditLog  # noqa: E402
from xinan.audit.note import Ed25519Signer  # noqa: E402
from xinan.audit.proof import prove_consistency, prove_inclusion  # noqa: E402
from xinan.audit.sidecar import read_sidecar  # noqa: E402

ORIGIN = "example.gov.cn/xinan-audit/golden-log"
SEED = b"golden audit log key"  # synthetic: the key is sha256(SEED)
START = datetime(2026, 3, 2, 9, 30, 0, tzinfo=UTC)
N = 5


def signer() -> Ed25519Signer:
    return Ed25519Signer(
        ORIGIN, Ed25519PrivateKey.from_private_bytes(hashlib.sha256(SEED).digest())
    )


class Clock:
    def __init__(self) -> None:
        self.t = START

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


def event(i: int) -> AuditEvent:
    return AuditEvent(
        type="open",
        actor_key_id="xk1goldenquerentaaaaaaaaaaa",
        actor_role="querent",
        objects={"record_ids": [f"r-golden-{i:04d}"], "counts": {"fields": 2}},
        why={"purpose": "信易贷授信审查", "grant": f"g-golden-{i}"},
        subjects=[f"hm1:{hashlib.sha256(b'golden %d' % i).hexdigest()[:24]}"],
    )


def write_log(directory: Path) -> Path:
    path = directory / "audit.log"
    with AuditLog.open(path, signer=signer(), origin=ORIGIN, clock=Clock()) as log:
        for i in range(N):
            log.append(event(i))
    return path


def _b64flip(s: str) -> str:
    raw = bytearray(base64.b64decode(s))
    raw[-1] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def log_mutations(log: bytes) -> dict[str, bytes]:
    lines = log.split(b"\n")[:-1]
    e2 = json.loads(lines[2])
    changed = dict(e2, outcome="failure")
    reencoded = json.dumps(e2, ensure_ascii=True, sort_keys=True, separators=(",", ":")).encode()
    wrong_v = dict(e2, v="xinan-audit/2")

    def enc(o: object) -> bytes:
        return json.dumps(o, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()

    def join(ls: list[bytes]) -> bytes:
        return b"".join(x + b"\n" for x in ls)

    return {
        "entry_changed.log": join([*lines[:2], enc(changed), *lines[3:]]),
        "entry_reencoded.log": join([*lines[:2], reencoded, *lines[3:]]),
        "entry_wrong_version.log": join([*lines[:2], enc(wrong_v), *lines[3:]]),
        "entries_swapped.log": join([*lines[:1], lines[2], lines[1], *lines[3:]]),
        "entry_dropped.log": join([*lines[:2], *lines[3:]]),
        "truncated.log": join(lines[:3]),
        "torn_tail.log": log[:-10],
    }


def proof_mutations(inclusion: str, consistency: str) -> dict[str, str]:
    inc_head, _, inc_note = inclusion.partition("\n\n")
    inc_lines = inc_head.split("\n")
    hashes_at = next(i for i, x in enumerate(inc_lines) if x.startswith("index ")) + 1
    flipped_hash = [*inc_lines]
    flipped_hash[hashes_at] = _b64flip(flipped_hash[hashes_at])
    idx = [*inc_lines]
    idx[hashes_at - 1] = "index 3"
    con_head, _, con_note = consistency.partition("\n\n")
    con_lines = con_head.split("\n")
    con_flip = [*con_lines]
    con_flip[2] = _b64flip(con_flip[2])
    return {
        "inclusion_hash_flipped.proof": "\n".join(flipped_hash) + "\n\n" + inc_note,
        "inclusion_index_changed.proof": "\n".join(idx) + "\n\n" + inc_note,
        "inclusion_wrong_header.proof": "\n".join(["c2sp.org/tlog-proof@v9", *inc_lines[1:]])
        + "\n\n"
        + inc_note,
        "inclusion_no_note.proof": inc_head + "\n",
        "consistency_hash_flipped.proof": "\n".join(con_flip) + "\n\n" + con_note,
        "consistency_old_changed.proof": consistency.replace("\nold 3\n", "\nold 2\n", 1),
    }


def main() -> None:
    if HERE.exists():
        shutil.rmtree(HERE)
    HERE.mkdir()
    path = write_log(HERE)
    (HERE / "audit.log.lock").unlink(missing_ok=True)  # the writer's lock, not an artifact
    records, _ = read_sidecar(HERE / "audit.log.checkpoints")
    (HERE / "checkpoint-3.note").write_bytes(
        next(r.note for r in records if b"\n3\n" in r.note.split(b"\n\n")[0])
    )
    (HERE / "inclusion-2.proof").write_text(prove_inclusion(path, 2), encoding="utf-8")
    (HERE / "consistency-3.proof").write_text(prove_consistency(path, 3), encoding="utf-8")
    (HERE / "vkey.txt").write_text(signer().verifier().vkey() + "\n", encoding="utf-8")
    bad = HERE / "bad"
    bad.mkdir()
    for name, data in log_mutations(path.read_bytes()).items():
        (bad / name).write_bytes(data)
    side = (HERE / "audit.log.checkpoints").read_bytes()
    at = side.rindex("— ".encode())  # the last checkpoint's signature line
    end = side.index(b"\n", at)
    dash, name, b64 = side[at:end].split(b" ")
    (bad / "sidecar_sig_flipped.checkpoints").write_bytes(
        side[:at] + b" ".join((dash, name, _b64flip(b64.decode()).encode())) + side[end:]
    )
    inc = (HERE / "inclusion-2.proof").read_text(encoding="utf-8")
    con = (HERE / "consistency-3.proof").read_text(encoding="utf-8")
    for name, text in proof_mutations(inc, con).items():
        (bad / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
