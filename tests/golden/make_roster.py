"""Write the roster golden files (docs/keys.md §8, xinan-roster/1): a first roster (serial 1)
naming a sys-admin, a sec-admin and a querent, signed by the sys-admin of a committed
test-only keyring (tests/golden/roster/keys; test-only KDF and passphrase) at a fixed clock,
and committed mutations. Ed25519 is deterministic, so the test checks the writer byte for byte.
The full ``load_roster`` also checks the audit log's anchors; these goldens check the file:
structure and canonical form (``parse_roster``) and the signature (as ``load_roster`` checks a
first roster). Rerun only after a deliberate format change (the keys change too):

    rm -rf tests/golden/roster && .venv/bin/python tests/golden/make_roster.py
"""

from __future__ import annotations

import base64
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent / "roster"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from xinan.keys import KdfParams, Keyring, Role  # noqa: E402
from xinan.roster import LogBinding, Member, _sign  # noqa: E402

NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
PW = "golden roster test passphrase"  # test-only keys, committed on purpose
FAST_KDF = KdfParams(m_kib=64, t=1, p=1, iterations=1000)  # test-only
LOG = LogBinding(
    "example.gov.cn/xinan-audit/golden-log", "xk1rh5ke7zhpbmbacwt2j62wkzn", "audit.log"
)


def keyring() -> Keyring:
    return Keyring(HERE / "keys", compliance_mode="any")


def members(ring: Keyring) -> list[Member]:
    out = []
    for name, role, clearance in (
        ("sysadm", Role.SYS_ADMIN, 1),
        ("secadm", Role.SEC_ADMIN, 1),
        ("bank", Role.QUERENT, 2),
    ):
        info = ring.get_public(name)
        out.append(Member(info.id, info.key_id, role, clearance))
    return out


def write_first(ring: Keyring) -> bytes:
    sysadm = ring.unlock("sysadm", PW)
    return _sign(1, "", NOW, LOG, members(ring), sysadm)


def _enc(doc: dict[str, object]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()


def mutations(good: bytes) -> dict[str, bytes]:
    doc = json.loads(good)
    assert _enc(doc) == good, "the roster encoding is not what this generator assumes"
    raw = bytearray(base64.b64decode(doc["sig"]))
    raw[-1] ^= 0x01
    ms = doc["members"]
    raised = [dict(m, clearance=4) if m["id"] == "bank" else m for m in ms]
    return {
        "sig_flipped.json": _enc(dict(doc, sig=base64.b64encode(bytes(raw)).decode())),
        "clearance_raised.json": _enc(dict(doc, members=raised)),
        "member_removed.json": _enc(dict(doc, members=[m for m in ms if m["id"] != "secadm"])),
        "serial_changed.json": _enc(dict(doc, serial=2)),
        "wrong_version.json": _enc(dict(doc, format="xinan-roster/2")),
        "truncated.json": good[: len(good) // 2],
        "compact.json": json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode(),
        "member_added.json": _enc(dict(doc, note="x")),
        "member_listed_twice.json": _enc(dict(doc, members=[*ms, ms[0]])),
    }


def main() -> None:
    ring = keyring()
    for name, role in (("sysadm", "sys-admin"), ("secadm", "sec-admin"), ("bank", "querent")):
        ring.generate(name, role, "intl", PW, now=NOW, kdf_params=FAST_KDF)
    good = write_first(ring)
    (HERE / "bad").mkdir(parents=True, exist_ok=True)
    (HERE / "roster-1.json").write_bytes(good)
    for name, data in mutations(good).items():
        (HERE / "bad" / name).write_bytes(data)


if __name__ == "__main__":
    main()
