"""Write the backup archive golden files (docs/backup.md, xinan-backup/1): an archive of the
golden vault configuration (tests/golden/vault) and destruction certificate (sealed, as every
``vault/`` file) and of the golden destruction log with its checkpoint sidecar (in clear),
sealed to the committed test-only platform key of tests/golden/grant/keys and signed by the
committed test-only system administrator of tests/golden/roster/keys; and committed mutations.
The archive key, the archive id and the AEAD nonces are random, so the goldens are reader-side:
the test checks the committed archive and opens it with the committed platform key; it does not
ask the writer to reproduce it. ``audit.entry`` names the log's destroy entry: ``read_archive``
checks the manifest's form, the restore (tests/platform/test_backup.py) what it names. Rerun only
after a deliberate format change (after make_vault.py and make_destruction.py):

    rm -rf tests/golden/backup && .venv/bin/python tests/golden/make_backup.py
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "backup"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from tests.golden.make_grant import PW as PLATFORM_PW  # noqa: E402
from tests.golden.make_roster import PW as SYSADM_PW  # noqa: E402
from xinan._codec import canonical_json  # noqa: E402
from xinan.crypto import get_suite  # noqa: E402
from xinan.keys import Identity, Keyring  # noqa: E402
from xinan.platform.backup_format import (  # noqa: E402
    L_MANIFEST,
    MAGIC,
    new_archive_key,
    write_archive,
)

GOLDEN = HERE.parent
CERT = GOLDEN / "destruction" / "certificate.json"
# archive name → the golden file it holds
FILES = {
    "vault/vault.json": GOLDEN / "vault" / "vault.json",
    "vault/destruction/" + json.loads(CERT.read_bytes())["certificate"]["id"] + ".json": CERT,
    "log/audit": GOLDEN / "destruction" / "audit.log",
    "log/audit.checkpoints": GOLDEN / "destruction" / "audit.log.checkpoints",
}


def platform_ring() -> Keyring:
    return Keyring(GOLDEN / "grant" / "keys", compliance_mode="any")


def sysadm_ring() -> Keyring:
    return Keyring(GOLDEN / "roster" / "keys", compliance_mode="any")


def sysadm() -> Identity:
    return sysadm_ring().unlock("sysadm", SYSADM_PW)


def body() -> dict[str, object]:
    vault = json.loads((GOLDEN / "vault" / "vault.json").read_bytes())
    cert = json.loads(CERT.read_bytes())["certificate"]
    admin = sysadm()
    return {
        "created": "2026-03-02T09:10:00Z",
        "vault": {
            "id": vault["id"],
            "suite": vault["suite"],
            "policy": vault["policy"],
            "platform_key_id": vault["platform"]["key_id"],
            "records": 0,
        },
        "made_by": {"id": "sysadm", "key_id": admin.key_id, "role": "sys-admin"},
        "audit": {
            "origin": cert["audit"]["origin"],
            "key_id": vault["audit"]["key_id"],
            "path": vault["audit"]["path"],
            "size": 3,
            "entry": cert["audit"]["seq"],
            "checkpoint": cert["audit"]["checkpoint"],
        },
    }


def make(out: Path) -> None:
    platform = platform_ring().get_public("platform")
    with out.open("wb") as f:
        write_archive(
            f,
            archive_id=secrets.token_hex(16),
            key=new_archive_key(get_suite(platform.suite)),
            platform=platform,
            body=body(),
            files=list(FILES.items()),
            signer=sysadm(),
        )


def frames(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every frame after the marker."""
    out, at = [], len(MAGIC)
    while at < len(data):
        (n,) = struct.unpack(">I", data[at + 1 : at + 5])
        out.append((data[at : at + 1], data[at + 5 : at + 5 + n]))
        at += 5 + n
    return out


def join(fs: list[tuple[bytes, bytes]]) -> bytes:
    return MAGIC + b"".join(t + struct.pack(">I", len(d)) + d for t, d in fs)


def resigned(fs: list[tuple[bytes, bytes]], manifest: bytes, signer: Identity) -> bytes:
    sig = {
        "alg": signer.suite.sig_name,
        "key_id": signer.key_id,
        "value": base64.b64encode(signer.sign(L_MANIFEST + manifest)).decode(),
    }
    return join([*fs[:-2], (b"M", manifest), (b"S", canonical_json(sig))])


def mutations(good: bytes) -> dict[str, bytes]:
    fs = frames(good)
    manifest = fs[-2][1]
    doc = json.loads(manifest)
    sig_doc = json.loads(fs[-1][1])
    raw = bytearray(base64.b64decode(sig_doc["value"]))
    raw[-1] ^= 0x01
    sig_doc["value"] = base64.b64encode(bytes(raw)).decode()
    chunk0 = bytearray(fs[0][1])
    chunk0[len(chunk0) // 2] ^= 0x01
    wrapped = bytearray(base64.b64decode(doc["key"]["wrapped"]))
    wrapped[-1] ^= 0x01
    bad_key = dict(doc, key={"wrapped": base64.b64encode(bytes(wrapped)).decode()})
    platform = platform_ring().unlock("platform", PLATFORM_PW)
    admin = sysadm()
    return {
        # refused when read (read_archive: framing, signature, manifest, chunk digests)
        "no_marker.xbak": b"xinan-backup/2\n" + good[len(MAGIC) :],
        "truncated.xbak": good[: len(good) // 2],
        "trailing_bytes.xbak": good + b"\x00",
        "unknown_frame.xbak": join([(b"X", b""), *fs]),
        "manifest_twice.xbak": join([*fs[:-1], fs[-2], fs[-1]]),
        "sig_flipped.xbak": join([*fs[:-1], (b"S", canonical_json(sig_doc))]),
        "chunk_flipped.xbak": join([(b"C", bytes(chunk0)), *fs[1:]]),
        "chunks_swapped.xbak": join([fs[1], fs[0], *fs[2:]]),
        "chunk_dropped.xbak": join(fs[1:]),
        "signed_by_platform.xbak": resigned(fs, manifest, platform),
        "manifest_not_canonical.xbak": resigned(
            fs, json.dumps(doc, ensure_ascii=False, indent=1).encode(), admin
        ),
        "manifest_member_added.xbak": resigned(fs, canonical_json(dict(doc, note="x")), admin),
        "manifest_clear_vault_file.xbak": resigned(
            fs,
            canonical_json(
                dict(doc, files=[dict(doc["files"][0], sealed=False), *doc["files"][1:]])
            ),
            admin,
        ),
        # read, then refused when opened with the platform key (extract_files)
        "key_flipped.xbak": resigned(fs, canonical_json(bad_key), admin),
    }


def main() -> None:
    if HERE.exists():
        shutil.rmtree(HERE)
    (HERE / "bad").mkdir(parents=True)
    make(HERE / "archive.xbak")
    for name, data in mutations((HERE / "archive.xbak").read_bytes()).items():
        (HERE / "bad" / name).write_bytes(data)


if __name__ == "__main__":
    main()
