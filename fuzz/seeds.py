"""Write the seed corpus: ``python -m fuzz.seeds`` (from the repository root).

Seeds are valid artifacts of the fixed world (fuzz/world.py), so that mutations start deep
inside each format. Files named ``seed-*`` are rewritten; ``crash-*`` files (regression
vectors: inputs that once crashed a parser) are never touched.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from fuzz import world

_DATA: dict[str, bytes] = {}


def seeds() -> dict[str, list[bytes]]:
    sub = world.submission()
    share_none, _ = world.share("none")
    share_pr, rel = world.release_file()
    # the release seed opens against this share (fuzz/data/, read by the release target)
    _DATA["release-share.xpkg"] = share_pr
    token = world.grant_token()
    payload = token.split(".")[1]
    import base64

    claims = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    old, inclusion, consistency = world.proofs()
    with tempfile.TemporaryDirectory() as d:
        key_files = world.key_files(Path(d))
    vkeys = "\n".join(
        [
            "# the log and its witness",
            world.log_signer().verifier().vkey(),
            world.witness().verifier().vkey(),
        ]
    )
    return {
        "package": [sub, share_pr, share_none],
        "release": [rel],
        "grant": [token.encode()],
        "grant_claims": [claims],
        "revocations": [world.revocations()],
        "note": [world.checkpoint_note(5), old],
        "vkey": [vkeys.encode()],
        "proof": [inclusion.encode(), consistency.encode()],
        "certificate": [_certificate()],
        "audit_entry": world.audit_lines()[:2],
        "sidecar": list(world.audit_log_files()[1:]),
        "keyfile": key_files,
        "policy": [world.policy_text()],
        "records_csv": [world.csv_file(), world.csv_file().decode().encode("gb18030")],
        "records_jsonl": [world.jsonl_file()],
        "records_xlsx": [world.xlsx_file()],
        "correction": [
            '{"联系电话": "13800138000", "违法事实": "更正后的事实"}'.encode(),
            'field,value\n联系电话,13800138000\n违法事实,"更正, 后"\n'.encode(),
        ],
        "audit_config": [_audit_config()],
        "backup": [backup_seed()],
        "source_change": [source_change_seed()],
    }


def backup_seed() -> bytes:
    """A real xinan-backup/1 archive (docs/backup.md): two sealed files and a clear log file,
    sealed to the world's platform and signed by its administrator."""
    import io

    from xinan.platform.backup_format import write_archive

    plat, admin = world.platform(), world.sec_admin()
    body = {
        "created": "2026-11-25T02:00:00Z",
        "vault": {
            "id": "0" * 32,
            "suite": plat.info.suite.value,
            "policy": "credit-default@1#x",
            "platform_key_id": plat.key_id,
            "records": 0,
        },
        "made_by": {"id": admin.info.id, "key_id": admin.key_id, "role": "sys-admin"},
        "audit": {"origin": world.ORIGIN, "key_id": "k", "path": "/l", "size": 1, "entry": 0,
                  "checkpoint": "c"},
    }  # fmt: skip
    out = io.BytesIO()
    with tempfile.TemporaryDirectory() as d:
        files = []
        for name, data in (
            ("vault/vault.json", b"{}\n"),
            ("vault/keys.db", bytes(range(200))),
            ("log/audit", b"line\n"),
        ):
            f = Path(d) / name.replace("/", "_")
            f.write_bytes(data)
            files.append((name, f))
        write_archive(
            out,
            archive_id="1" * 32,
            key=os.urandom(32),
            platform=plat.info,
            body=body,
            files=files,
            signer=admin,
        )
    return out.getvalue()


def source_change_seed() -> bytes:
    """A real xinan-source-change/1 file (a correction) signed by the world's provider."""
    from datetime import date

    from xinan.formats.source_change import Action, SourceChange, sign_source_change

    me = world.provider()
    change = SourceChange(
        id="sc1" + "0" * 32,
        action=Action.CORRECT,
        issued="2026-11-25T02:00:00Z",
        decided=date(2026, 11, 24),
        basis="枣市监变〔2026〕4号 变更罚款金额",
        policy="credit-default@1",
        sender_id=me.info.id,
        sender_key_id=me.key_id,
        records=("r-0001", "r-0002"),
        package="a" * 32,
        package_digest="AAAA",
    )
    return sign_source_change(change, me)


def _audit_config() -> bytes:
    from xinan.access import AuditConfig

    return AuditConfig(world.ORIGIN, "sha256", "platform-fuzz", world.platform().key_id).to_bytes()


def _certificate() -> bytes:
    """A real destruction certificate (docs/destruction.md §3): a keyring, an audit log, a
    destroy entry, its proof; then re-signed by the world's sec-admin, whom the harness trusts
    (so mutations reach the checks behind the signature)."""
    import hashlib
    from datetime import date, timedelta

    from xinan.access import init_audit_log, open_session
    from xinan.keys import DEFAULT_KDF, KdfParams, Keyring
    from xinan.platform import destruction as D

    clock_t = [world.NOW]

    def clock():  # one second per call
        clock_t[0] += timedelta(seconds=1)
        return clock_t[0]

    keys_mod = sys.modules["xinan.keys"]
    keys_mod.DEFAULT_KDF = KdfParams(m_kib=64, t=1, p=1)  # type: ignore[attr-defined]
    try:
        with tempfile.TemporaryDirectory() as d:
            ring = Keyring(Path(d) / "keys")
            ring.generate("platform", "platform", "intl", world.PASSPHRASE, now=world.NOW)
            ring.generate("sec", "sec-admin", "intl", world.PASSPHRASE, now=world.NOW)
            log = Path(d) / "audit.log"
            init_audit_log(log, keyring=ring, log_key="platform")
            rec = D.DestroyedRecord(
                record_id="r-0001",
                package_id="a" * 32,
                kind="penalty",
                subjects=("ps1.xs1fuzzkeyaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaa",),
                digests={"record_key": hashlib.sha256(b"k").digest()},
                keep_until=date(2026, 11, 1),
            )
            plan = D.plan_destruction(
                vault_id="0123456789abcdef0123456789abcdef",
                records=[rec],
                rule=D.Rule.retention(citation="征信业管理条例 第十六条", as_of=date(2026, 11, 24)),
                destroyer=ring.get_public("sec"),
            )
            with open_session(
                keyring=ring,
                identity="sec",
                log_path=log,
                passphrase=lambda _: world.PASSPHRASE,
                clock=clock,
                operation="destroy",
            ) as s:
                seq = s.record(**plan.audit_event())
                cert = D.build_certificate(plan, D.audit_reference(log, seq))
    finally:
        keys_mod.DEFAULT_KDF = DEFAULT_KDF  # type: ignore[attr-defined]
    body = cert.to_json()
    sec = world.sec_admin()
    import base64

    sig = sec.sign(D._signed_bytes(body))
    return D._file_bytes(
        {
            "format": D.FORMAT,
            "certificate": body,
            "signature": {
                "alg": sec.suite.sig_name,
                "key_id": sec.key_id,
                "value": base64.b64encode(sig).decode(),
            },
        }
    )


def main(argv: list[str]) -> int:
    root = world.CORPUS
    for name, items in seeds().items():
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("seed-*"):
            old.unlink()
        for i, data in enumerate(items):
            (d / f"seed-{i}").write_bytes(data)
        print(f"{name}: {len(items)} seeds")
    (world.ROOT / "data").mkdir(exist_ok=True)
    for fname, data in _DATA.items():
        (world.ROOT / "data" / fname).write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
