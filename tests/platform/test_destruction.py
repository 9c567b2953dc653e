"""Destruction certificates (docs/destruction.md §3–§6) and crypto-shredding in SQLite (§7):
round trips against a real audit log written through Session.record, every byte flipped, wrong
keys, certificates that do not match their entry, and residue scans of real WAL databases."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import shutil
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

import xinan.cli.lifecycle_cmds  # noqa: F401  registers destroy / report
from tests.conftest import FixedPseudonymKey, bootstrap_keyring
from xinan.access import init_audit_log, load_audit_config, log_signer, log_verifiers, open_session
from xinan.audit.entry import AuditEvent, canonical_json
from xinan.audit.log import AuditLog
from xinan.audit.merkle import get_hash
from xinan.cli._app import app
from xinan.errors import (
    AccessDenied,
    AuditEntryMismatch,
    AuditEntryMissing,
    AuditEntryNotCovered,
    AuditLogUnavailable,
    CertificateInvalid,
    CertificateMalformed,
    CertificateSignerNotAuthorised,
    CertificateUnknownKey,
    IntegrityError,
    PurgeIncomplete,
    RuleNotMet,
    UsageError,
    XinanError,
)
from xinan.keys import Keyring
from xinan.masking import pseudonym
from xinan.platform.destruction import (
    Certificate,
    DestroyedRecord,
    Destroyer,
    Destruction,
    Rule,
    _file_bytes,
    _signed_bytes,
    audit_reference,
    build_certificate,
    plan_destruction,
    residue_scan,
    sign_certificate,
    sqlite_files,
    verify_certificate,
)
from xinan.platform.store.shred import ShredTarget, purge, row_digests, shred, shred_many

PASS = "correct horse battery staple"
CITATION = "征信业管理条例 第十六条（不良信息自不良行为或者事件终止之日起保存5年，超过5年予以删除）"
VAULT = "0123456789abcdef0123456789abcdef"
PKG_A = "a" * 32
PKG_B = "b" * 32
# Synthetic identities: GB 11643 examples printed in the standard, and a made-up mobile.
RID = "11010519491231002X"
RID2 = "440524188001010014"


class Clock:
    """An injected clock: 2026-11-25 10:00 CST, one second per call."""

    def __init__(self) -> None:
        self.t = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


class World:
    def __init__(self, root: Path, suite: str = "intl") -> None:
        self.root = root
        self.ring = Keyring(root / "keys")
        now = datetime(2026, 11, 1, tzinfo=UTC)
        for name, role in (
            ("platform", "platform"),
            ("sec", "sec-admin"),
            ("sec2", "sec-admin"),
            ("bank", "querent"),
            ("amr", "provider"),
        ):
            self.ring.generate(name, role, suite, PASS, now=now)
        self.log = root / "audit" / "audit.log"
        init_audit_log(self.log, keyring=self.ring)
        self.tokens = bootstrap_keyring(
            self.ring, self.log, root / "tokens", passphrase=PASS, suite=suite
        )
        self.clock = Clock()
        self.ps = FixedPseudonymKey()

    def session(self, who: str = "sec", operation: str | None = "destroy"):
        return open_session(
            keyring=self.ring,
            identity=who,
            log_path=self.log,
            passphrase=lambda _: PASS,
            clock=self.clock,
            operation=operation,
            tokens=self.tokens,
        )

    def subject(self, rid: str) -> str:
        return pseudonym(self.ps, "subject", rid)

    def record(self, rid: str, *, keep_until: date | None = date(2026, 11, 1), pkg: str = PKG_A):
        return DestroyedRecord(
            record_id=rid,
            package_id=pkg,
            kind="penalty",
            subjects=(self.subject(RID if rid.endswith("1") else RID2),),
            digests={
                "record_key": hashlib.sha256(b"wrapped " + rid.encode()).digest(),
                "sealed": hashlib.sha256(b"sealed " + rid.encode()).digest(),
            },
            keep_until=keep_until,
        )

    def plan(self, ids=("r-0001", "r-0002"), rule: Rule | None = None, who: str = "sec"):
        rule = rule or Rule.retention(citation=CITATION, as_of=date(2026, 11, 24))
        manual = rule.kind == "manual"
        return plan_destruction(
            vault_id=VAULT,
            records=[self.record(i, keep_until=None if manual else date(2026, 11, 1)) for i in ids],
            rule=rule,
            destroyer=self.ring.get_public(who),
        )

    def destroy(self, d: Destruction | None = None, who: str = "sec") -> tuple[bytes, int]:
        d = d or self.plan()
        with self.session(who) as s:
            seq = s.record(**d.audit_event())
            cert = build_certificate(d, audit_reference(self.log, seq))
            return sign_certificate(cert, s.identity), seq

    def sign_raw(self, cert: Certificate, who: str) -> bytes:
        """Sign any body with any key (bypassing sign_certificate's own checks)."""
        ident = self.ring.unlock(who, PASS)
        body = cert.to_json()
        sig = ident.sign(_signed_bytes(body))
        return _file_bytes(
            {
                "format": "xinan-destruction/1",
                "certificate": body,
                "signature": {
                    "alg": ident.suite.sig_name,
                    "key_id": ident.key_id,
                    "value": base64.b64encode(sig).decode(),
                },
            }
        )


@pytest.fixture()
def world(tmp_path, fast_kdf) -> World:
    return World(tmp_path)


# ============================================================================================
# Certificates
# ============================================================================================
def test_round_trip_offline_and_against_the_log(world: World) -> None:
    data, seq = world.destroy()
    v = verify_certificate(data, trust=world.ring)
    c = v.certificate
    assert v.signer.id == "sec" and c.audit.seq == seq and v.checkpoint_size == seq + 1
    assert v.checkpoint_signer and v.checkpoint_signer.startswith("log-signer ")  # issue 12
    assert [r.record_id for r in c.destruction.records] == ["r-0001", "r-0002"]
    assert c.destruction.counts == {"digests": 4, "packages": 1, "records": 2, "subjects": 2}
    assert c.destroyed_at == c.audit.entry["time"]
    # the file is canonical: parse then format gives the same bytes
    assert _file_bytes(json.loads(data)) == data
    # against the log, after more entries were written (consistency from the cert's checkpoint)
    with world.session("platform", None) as s:
        s.record("verify", objects={"ref": "x"})
    v = verify_certificate(data, trust=world.ring, audit_log=world.log)
    assert v.log == str(world.log) and v.log_size == seq + 2 and v.consistency_checked
    assert v.to_json()["ok"] is True
    # the audit entry holds the certificate id, the rule and no digest or clear identifier
    entry = c.audit.entry
    assert entry["objects"]["ref"] == f"destruction:{c.id}"
    assert entry["why"] == {"basis": "retention:negative-5y"}
    assert RID not in world.log.read_text(encoding="utf-8")


TODAY = date(2026, 11, 25)


def test_certificate_id_is_content_addressed(world: World) -> None:
    d = world.plan()
    assert d.id.startswith("dc1") and len(d.id) == 29
    other = dataclasses.replace(
        d, records=(d.records[0], dataclasses.replace(d.records[1], digests={"x": b"\1" * 32}))
    )
    assert other.id != d.id
    assert dataclasses.replace(d, nonce=b"\0" * 16).id != d.id


def test_flip_every_byte(world: World) -> None:
    data, _ = world.destroy()
    trust = [world.ring.get_public(k) for k in ("platform", "sec", "sec2", "bank")]
    # the log's service signer is not a keyring key: an offline auditor gives its vkey
    log_keys = log_verifiers(world.log, world.ring)
    verify_certificate(data, trust=trust, log_keys=log_keys)
    for i in range(len(data)):
        for bit in (0x01, 0x20, 0x80):
            bad = bytearray(data)
            bad[i] ^= bit
            with pytest.raises(XinanError):
                verify_certificate(bytes(bad), trust=trust, log_keys=log_keys)
    for cut in (0, 1, len(data) // 2, len(data) - 1):
        with pytest.raises(XinanError):
            verify_certificate(data[:cut], trust=trust, log_keys=log_keys)


def test_wrong_key(world: World, tmp_path: Path) -> None:
    data, _ = world.destroy()
    # another keyring whose "sec" is a different key: the signer is unknown there
    other = Keyring(tmp_path / "other")
    other.generate("sec", "sec-admin", "intl", PASS, now=datetime(2026, 11, 1, tzinfo=UTC))
    with pytest.raises(CertificateUnknownKey):
        verify_certificate(data, trust=other)
    # re-signed by another sec-admin: names sec as destroyer, signed by sec2
    cert = verify_certificate(data, trust=world.ring).certificate
    with pytest.raises(CertificateSignerNotAuthorised, match="signed by sec2"):
        verify_certificate(world.sign_raw(cert, "sec2"), trust=world.ring)
    # the signature swapped for sec2's over the same bytes: fails as a signature
    doc = json.loads(data)
    doc["signature"]["key_id"] = world.ring.get_public("sec2").key_id
    with pytest.raises(CertificateInvalid):
        verify_certificate(_file_bytes(doc), trust=world.ring)
    # sign_certificate refuses to sign as someone else
    with pytest.raises(CertificateSignerNotAuthorised):
        sign_certificate(cert, world.ring.unlock("sec2", PASS))


def test_only_a_sec_admin_destroys(world: World) -> None:
    with pytest.raises(CertificateSignerNotAuthorised):
        world.plan(who="platform")
    with pytest.raises(AccessDenied):
        world.session("platform")  # Session.require("destroy") logs the denial and refuses
    # a querent-signed certificate naming the querent as destroyer
    d = dataclasses.replace(world.plan(), destroyed_by=Destroyer.of(world.ring.get_public("bank")))
    with world.session("sec") as s:
        seq = s.record(**d.audit_event())
    cert = Certificate(d, "2026-11-25T02:00:01.000000Z", audit_reference(world.log, seq))
    with pytest.raises(CertificateSignerNotAuthorised, match="only a sec-admin"):
        verify_certificate(world.sign_raw(cert, "bank"), trust=world.ring)


def _crafted(world: World, d: Destruction, seq: int) -> bytes:
    ref = audit_reference(world.log, seq)
    return world.sign_raw(Certificate(d, ref.entry["time"], ref), "sec")


def test_entry_with_other_record_ids(world: World) -> None:
    d = world.plan()
    event = d.audit_event()
    event["objects"] = {**event["objects"], "record_ids": ["r-0001"]}
    with world.session() as s:
        seq = s.record(**event)
    with pytest.raises(AuditEntryMismatch) as exc:
        build_certificate(d, audit_reference(world.log, seq))
    assert exc.value.member == "objects.record_ids"
    with pytest.raises(AuditEntryMismatch, match="record_ids"):
        verify_certificate(_crafted(world, d, seq), trust=world.ring, audit_log=world.log)


def test_entry_of_another_destruction(world: World) -> None:
    _, seq_a = world.destroy()
    d_b = world.plan(ids=("r-0003",))
    with pytest.raises(AuditEntryMismatch, match=r"objects\.ref") as exc:
        verify_certificate(_crafted(world, d_b, seq_a), trust=world.ring)
    assert exc.value.member == "objects.ref"


def test_entry_not_a_destroy_event(world: World) -> None:
    d = world.plan()
    event = d.audit_event()
    event["type_"] = "open"
    with world.session() as s:
        seq = s.record(**event)
    with pytest.raises(AuditEntryMismatch, match="'open' event") as exc:
        verify_certificate(_crafted(world, d, seq), trust=world.ring)
    assert exc.value.member == "type"


def test_wrong_seq(world: World) -> None:
    data, _ = world.destroy()
    with world.session("platform", None) as s:
        other = s.record("verify", objects={"ref": "y"})
    cert = verify_certificate(data, trust=world.ring).certificate
    # the certificate names another seq than its entry's
    bad = dataclasses.replace(cert, audit=dataclasses.replace(cert.audit, seq=other))
    with pytest.raises(AuditEntryMismatch) as exc:
        verify_certificate(world.sign_raw(bad, "sec"), trust=world.ring)
    assert exc.value.member == "seq"
    # the certificate's (self-consistent) entry is not what the log holds at that seq
    ref_other = audit_reference(world.log, other)
    entry = dict(cert.audit.entry, seq=other)
    fake = dataclasses.replace(
        ref_other,
        entry=entry,
        leaf_hash=get_hash("sha256").leaf(canonical_json(entry)),
        checkpoint=None,
        proof=(),
    )
    bad = dataclasses.replace(cert, audit=fake)
    blob = world.sign_raw(bad, "sec")
    verify_certificate(blob, trust=world.ring)  # offline it cannot tell
    with pytest.raises(AuditEntryMismatch, match=f"entry {other} is not the entry") as exc:
        verify_certificate(blob, trust=world.ring, audit_log=world.log)
    assert exc.value.member == "leaf_hash"


def _drop_last_checkpoint(src: Path, dst: Path) -> None:
    for suffix in ("", ".config"):
        shutil.copy(f"{src}{suffix}", f"{dst}{suffix}")
    side = Path(f"{src}.checkpoints").read_bytes()
    cut = side.rfind(b"\n@checkpoint ") + 1
    Path(f"{dst}.checkpoints").write_bytes(side[:cut])


def test_entry_not_under_the_checkpoint(world: World, tmp_path: Path) -> None:
    with world.session("platform", None) as s:
        s.record("verify", objects={"ref": "before"})
    data, seq = world.destroy()
    copy = tmp_path / "copy" / "audit.log"
    copy.parent.mkdir()
    _drop_last_checkpoint(world.log, copy)
    with pytest.raises(AuditEntryNotCovered, match=f"entry {seq} is not under"):
        verify_certificate(data, trust=world.ring, audit_log=copy)
    # a certificate whose own checkpoint does not cover its entry
    cert = verify_certificate(data, trust=world.ring).certificate
    older = audit_reference(copy, seq - 1)
    bad = dataclasses.replace(
        cert, audit=dataclasses.replace(cert.audit, checkpoint=older.checkpoint, proof=older.proof)
    )
    with pytest.raises(AuditEntryNotCovered, match="certificate's checkpoint"):
        verify_certificate(world.sign_raw(bad, "sec"), trust=world.ring)


def _append_to(world: World, log: Path, ref: str) -> None:
    """One entry in another log (a session writes only to its keyring's bound log)."""
    cfg = load_audit_config(log)
    signer = log_signer(log, cfg, keyring=world.ring)
    with AuditLog.open(
        log, hash=cfg.hash, signer=signer, origin=cfg.origin, clock=world.clock
    ) as a:
        a.append(AuditEvent("verify", "xk1sectest", "sec-admin", objects={"ref": ref}))


def test_missing_log_and_missing_entry(world: World, tmp_path: Path) -> None:
    with world.session("platform", None) as s:
        s.record("verify", objects={"ref": "before"})
        s.record("verify", objects={"ref": "before"})
    data, seq = world.destroy()
    assert seq == 3  # after the bootstrap's key.roster entry and the two above
    with pytest.raises(AuditLogUnavailable, match=r"nope\.log"):
        verify_certificate(data, trust=world.ring, audit_log=tmp_path / "nope.log")
    # another log under the same origin and signer, shorter than the certificate's seq
    short = tmp_path / "short" / "audit.log"
    for name in ("audit.log.config", "audit.log.signer", "service/audit.log.secret"):
        (short.parent / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(world.log.parent / name, short.parent / name)
    _append_to(world, short, "z")
    # a log of the same origin with a signer of its own is another log: its checkpoints do
    # not open with the certificate's signer
    other = tmp_path / "other" / "audit.log"
    origin = json.loads(Path(f"{world.log}.config").read_text())["origin"]
    init_audit_log(other, keyring=world.ring, origin=origin)
    _append_to(world, other, "z")
    with pytest.raises(IntegrityError):
        verify_certificate(data, trust=world.ring, audit_log=other)
    with pytest.raises(AuditEntryMissing, match="ends before"):
        verify_certificate(data, trust=world.ring, audit_log=short)


def test_log_of_another_origin(world: World, tmp_path: Path) -> None:
    data, _ = world.destroy()
    other = tmp_path / "o" / "audit.log"
    init_audit_log(other, keyring=world.ring, origin="xinan.test/other")
    _append_to(world, other, "z")
    with pytest.raises(AuditEntryMismatch, match="is for log") as exc:
        verify_certificate(data, trust=world.ring, audit_log=other)
    assert exc.value.member == "audit.origin"


def test_retention_rule_checked(world: World) -> None:
    with pytest.raises(RuleNotMet, match="not expired"):
        plan_destruction(
            vault_id=VAULT,
            records=[world.record("r-0001", keep_until=date(2026, 11, 24))],
            rule=Rule.retention(citation=CITATION, as_of=date(2026, 11, 24)),
            destroyer=world.ring.get_public("sec"),
        )
    # a crafted certificate with as_of after the day of destruction (destroyed early)
    rule = Rule.retention(citation=CITATION, as_of=date(2026, 12, 31))
    d = world.plan(rule=rule)
    with world.session() as s:
        seq = s.record(**d.audit_event())
    with pytest.raises(RuleNotMet, match="after the day of destruction"):
        verify_certificate(_crafted(world, d, seq), trust=world.ring)


def test_manual_rule_and_clear_identifiers(world: World) -> None:
    d = world.plan(rule=Rule.manual("法院裁定 (2026)鲁04执123号", today=TODAY))
    data, _ = world.destroy(d)
    v = verify_certificate(data, trust=world.ring, audit_log=world.log)
    assert v.certificate.audit.entry["why"] == {
        "basis": "manual",
        "purpose": "法院裁定 (2026)鲁04执123号",
    }
    for reason in (
        f"subject {RID} asked",
        "call 13812345678",
        "证件：１１０１０５１９４９１２３１００２Ｘ",
        "证件 110105194912310028",  # one wrong check digit still identifies the person
        "卡 6222 0212 3456 7890 123",
    ):
        with pytest.raises(AccessDenied) as exc:
            Rule.manual(reason, today=date(2026, 11, 25))
        assert RID not in str(exc.value.message) and "13812345678" not in exc.value.message
    with pytest.raises(CertificateMalformed):
        Rule.manual("   ", today=TODAY)


def test_model_checks(world: World) -> None:
    with pytest.raises(CertificateMalformed, match="keyed pseudonym") as exc:
        dataclasses.replace(world.record("r-0001"), subjects=(RID,))
    assert RID not in exc.value.message
    sec = world.ring.get_public("sec")
    with pytest.raises(CertificateMalformed, match="keep_until"):  # keep_until under manual
        plan_destruction(
            vault_id=VAULT,
            records=[world.record("r-0001")],
            rule=Rule.manual("x", today=TODAY),
            destroyer=sec,
        )
    with pytest.raises(CertificateMalformed, match="1 to 10000"):
        plan_destruction(
            vault_id=VAULT, records=[], rule=Rule.manual("x", today=TODAY), destroyer=sec
        )
    with pytest.raises(CertificateMalformed, match="vault id"):
        plan_destruction(
            vault_id="nope", records=[world.record("r-0001")], rule=world.plan().rule, destroyer=sec
        )


def test_gm_suite_round_trip(tmp_path, fast_kdf) -> None:
    w = World(tmp_path, suite="gm")
    data, _ = w.destroy(w.plan(ids=("r-0001",)))
    v = verify_certificate(data, trust=w.ring, audit_log=w.log)
    assert v.certificate.destruction.hash == "sm3" and v.certificate.audit.hash == "sm3"
    assert json.loads(data)["signature"]["alg"] == "sm2-sign"


# -- CLI --------------------------------------------------------------------------------------
def test_cli_destroy_verify(world: World, tmp_path: Path) -> None:
    data, seq = world.destroy()
    cert = tmp_path / "cert.json"
    cert.write_bytes(data)
    env = {"XINAN_KEYRING": str(world.ring.path), "XINAN_AUDIT_LOG": ""}
    r = CliRunner().invoke(app, ["destroy", "verify", str(cert)], env=env)
    assert r.exit_code == 0, r.output
    assert f"matches audit entry {seq}" in r.output and "who:   sec (" in r.output
    assert "retention:negative-5y" in r.output and "not checked against a log" in r.output
    r = CliRunner().invoke(
        app, ["destroy", "verify", str(cert), "--audit-log", str(world.log), "--json"], env=env
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["ok"] and out["audit"]["seq"] == seq and out["audit"]["log_size"] == seq + 1
    # failures: exit 1, naming the reason
    r = CliRunner().invoke(
        app, ["destroy", "verify", str(cert), "--audit-log", str(tmp_path / "none.log")], env=env
    )
    assert r.exit_code == 1 and "none.log: no audit log" in r.output
    cert.write_bytes(data.replace(b"r-0002", b"r-0003"))
    r = CliRunner().invoke(app, ["destroy", "verify", str(cert)], env=env)
    assert r.exit_code == 1 and "xinan: error:" in r.output
    r = CliRunner().invoke(app, ["destroy"], env=env)
    assert r.exit_code == 2 and "destroy verify CERT" in r.output


# ============================================================================================
# Shredding and residue
# ============================================================================================
def _wal_db(path: Path, *, secure_delete: bool = True) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    assert conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA secure_delete={'ON' if secure_delete else 'OFF'}")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # keep every frame in the WAL until we say
    conn.execute("CREATE TABLE record_keys(record_id TEXT PRIMARY KEY, wrapped BLOB, b64 TEXT)")
    conn.execute("CREATE TABLE records(record_id TEXT PRIMARY KEY, sealed BLOB, n INTEGER)")
    return conn


def _fill(conn: sqlite3.Connection, n: int = 20) -> dict[str, tuple[bytes, bytes]]:
    """n rows of random 32-byte keys (raw BLOB and base64 TEXT) and 6,000-byte sealed blobs
    (overflow pages)."""
    rows = {f"r-{i:04d}": (os.urandom(32), os.urandom(6000)) for i in range(n)}
    conn.execute("BEGIN")
    for rid, (key, sealed) in rows.items():
        conn.execute(
            "INSERT INTO record_keys VALUES (?, ?, ?)", (rid, key, base64.b64encode(key).decode())
        )
        conn.execute("INSERT INTO records VALUES (?, ?, 1)", (rid, sealed))
    conn.execute("COMMIT")
    # read them back: the data is really there
    for rid, (key, sealed) in rows.items():
        got = conn.execute(
            "SELECT k.wrapped, k.b64, r.sealed FROM record_keys k JOIN records r USING(record_id)"
            " WHERE record_id = ?",
            (rid,),
        ).fetchone()
        assert got == (key, base64.b64encode(key).decode(), sealed)
    return rows


def _needles(rows: dict[str, tuple[bytes, bytes]], ids) -> list[bytes]:
    """Each key, and 32-byte slices across each sealed blob (so partial residue is found)."""
    out: list[bytes] = []
    for rid in ids:
        key, sealed = rows[rid]
        out.append(key)
        out.extend(sealed[o : o + 32] for o in (0, 1000, 3000, 4090, 5968))
    return out


def test_shred_leaves_no_trace_and_the_scan_can_fail(tmp_path: Path) -> None:
    db = tmp_path / "keys.db"
    conn = _wal_db(db)
    rows = _fill(conn)
    gone = [f"r-{i:04d}" for i in range(0, 20, 2)]
    kept = [r for r in rows if r not in gone]
    files = sqlite_files(db)
    assert {p.name for p in files} == {"keys.db", "keys.db-wal", "keys.db-shm"}
    # before: every key is in the files (the WAL holds the inserts)
    before = residue_scan(files, _needles(rows, gone))
    assert {f.needle for f in before} == set(range(len(_needles(rows, gone))))

    digests = row_digests(conn, "record_keys", "record_id", "wrapped", gone)
    assert digests[gone[0]] == hashlib.sha256(rows[gone[0]][0]).digest()

    res = shred_many(
        conn,
        [
            ShredTarget("record_keys", "record_id", tuple(gone)),
            ShredTarget("records", "record_id", tuple(gone)),
        ],
    )
    assert res.deleted == {"record_keys": 10, "records": 10} and not res.missing
    assert res.purge is not None and res.purge.busy == 0
    assert res.overwritten_bytes == 10 * (32 + 44 + 6000)
    assert (tmp_path / "keys.db-wal").stat().st_size == 0  # truncated: no old page images

    # after, with the connection still open: no trace of the shredded rows, in any form
    assert residue_scan(sqlite_files(db), _needles(rows, gone)) == []
    # ... while the kept rows are still found (so this scan can fail), raw and base64
    found = residue_scan(sqlite_files(db), [rows[r][0] for r in kept])
    assert {f.needle for f in found} == set(range(len(kept)))
    assert {f.form for f in found} >= {"raw", "base64"}
    assert all(f.path.endswith("keys.db") for f in found)
    assert conn.execute("SELECT count(*) FROM record_keys").fetchone()[0] == 10
    conn.close()
    assert residue_scan(sqlite_files(db), _needles(rows, gone)) == []


def test_plain_delete_leaves_traces(tmp_path: Path) -> None:
    """Without secure_delete and the checkpoint, a DELETE leaves the keys on disk."""
    db = tmp_path / "plain.db"
    conn = _wal_db(db, secure_delete=False)
    rows = _fill(conn)
    gone = list(rows)[:5]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the keys are now in the main file
    conn.execute("BEGIN")
    conn.executemany("DELETE FROM record_keys WHERE record_id = ?", [(r,) for r in gone])
    conn.executemany("DELETE FROM records WHERE record_id = ?", [(r,) for r in gone])
    conn.execute("COMMIT")
    assert conn.execute("SELECT count(*) FROM record_keys").fetchone()[0] == 15
    found = residue_scan(sqlite_files(db), [rows[r][0] for r in gone])
    assert {f.needle for f in found} == set(range(5))  # every deleted key is still there
    assert any(f.path.endswith("plain.db") for f in found)  # in freed space of the db file
    assert any(f.path.endswith("-wal") for f in found)  # and in the WAL's page images
    # and after a checkpoint, still in the db file's free space: secure_delete matters
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert residue_scan([db], [rows[r][0] for r in gone])
    conn.close()


def test_secure_delete_without_checkpoint_leaves_the_wal(tmp_path: Path) -> None:
    """secure_delete alone is not enough: the WAL still holds the inserted page images."""
    db = tmp_path / "k.db"
    conn = _wal_db(db)
    rows = _fill(conn, 6)
    gone = list(rows)[:3]
    conn.execute("BEGIN")
    conn.executemany("DELETE FROM record_keys WHERE record_id = ?", [(r,) for r in gone])
    conn.execute("COMMIT")
    found = residue_scan(sqlite_files(db), [rows[r][0] for r in gone])
    assert found and all(f.path.endswith("-wal") for f in found)
    purge(conn)
    assert residue_scan(sqlite_files(db), [rows[r][0] for r in gone]) == []
    conn.close()


def test_before_commit_failure_destroys_nothing(tmp_path: Path) -> None:
    conn = _wal_db(tmp_path / "k.db")
    rows = _fill(conn, 4)

    def audit_fails(_res) -> None:
        raise XinanError("audit log unavailable")

    with pytest.raises(XinanError, match="audit log unavailable"):
        shred(conn, "record_keys", "record_id", list(rows)[:2], before_commit=audit_fails)
    got = conn.execute("SELECT record_id, wrapped FROM record_keys ORDER BY record_id").fetchall()
    assert got == [(r, rows[r][0]) for r in sorted(rows)]  # untouched, not even overwritten
    seen = []
    res = shred(conn, "record_keys", "record_id", ["r-0000", "nope"], before_commit=seen.append)
    assert (
        seen and seen[0].deleted == {"record_keys": 1} and res.missing == {"record_keys": ("nope",)}
    )
    conn.close()


def test_reader_blocks_purge_until_it_ends(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    conn = _wal_db(db)
    rows = _fill(conn, 4)
    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM record_keys").fetchone()[0] == 4  # a snapshot
    with pytest.raises(PurgeIncomplete) as exc:
        shred(conn, "record_keys", "record_id", ["r-0000"], busy_timeout_ms=0)
    assert exc.value.result.busy == 1
    assert conn.execute("SELECT count(*) FROM record_keys").fetchone()[0] == 3  # committed
    assert residue_scan(sqlite_files(db), [rows["r-0000"][0]])  # but still in the WAL
    reader.execute("COMMIT")
    reader.close()
    assert purge(conn, busy_timeout_ms=0).busy == 0
    assert residue_scan(sqlite_files(db), [rows["r-0000"][0]]) == []
    conn.close()


def test_vacuum_options(tmp_path: Path) -> None:
    conn = _wal_db(tmp_path / "a.db")
    rows = _fill(conn, 6)
    with pytest.raises(UsageError, match="auto_vacuum=INCREMENTAL"):
        shred(conn, "records", "record_id", ["r-0000"], vacuum="incremental")
    assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 6  # refused up front
    res = shred(conn, "records", "record_id", ["r-0001"], vacuum="full")
    assert res.purge is not None and res.purge.vacuum == "full"
    assert residue_scan(sqlite_files(tmp_path / "a.db"), _needles(rows, ["r-0001"])[1:]) == []
    conn.close()

    conn = sqlite3.connect(tmp_path / "b.db", isolation_level=None)
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE records(record_id TEXT PRIMARY KEY, sealed BLOB, n INTEGER)")
    conn.execute("CREATE TABLE record_keys(record_id TEXT PRIMARY KEY, wrapped BLOB, b64 TEXT)")
    rows = _fill(conn, 6)
    purge(conn)  # the rows are in the db file now
    size = (tmp_path / "b.db").stat().st_size
    gone = list(rows)[:4]
    shred_many(
        conn,
        [
            ShredTarget("records", "record_id", tuple(gone)),
            ShredTarget("record_keys", "record_id", tuple(gone)),
        ],
        vacuum="incremental",
    )
    assert (tmp_path / "b.db").stat().st_size < size
    assert residue_scan(sqlite_files(tmp_path / "b.db"), _needles(rows, gone)) == []
    conn.close()


def test_shred_refuses_what_it_cannot_do_safely(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "rollback.db", isolation_level=None)
    conn.execute("CREATE TABLE t(id TEXT PRIMARY KEY, v BLOB)")
    with pytest.raises(UsageError, match="WAL mode"):
        shred(conn, "t", "id", ["x"])
    conn.close()
    conn = _wal_db(tmp_path / "w.db")
    with pytest.raises(UsageError, match="plain SQL identifier"):
        shred(conn, "record_keys; DROP TABLE records", "record_id", ["x"])
    with pytest.raises(UsageError, match="no column"):
        shred(conn, "record_keys", "nope", ["x"])
    with pytest.raises(UsageError, match="no table"):
        shred(conn, "nope", "id", ["x"])
    conn.execute("BEGIN")
    with pytest.raises(UsageError, match="own transaction"):
        shred(conn, "record_keys", "record_id", ["x"])
    conn.execute("ROLLBACK")
    conn.close()


def test_strict_table_text_columns(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t(id TEXT PRIMARY KEY, secret TEXT NOT NULL) STRICT")
    conn.execute("INSERT INTO t VALUES ('a', '密钥-' || hex(randomblob(24)))")
    (secret,) = conn.execute("SELECT secret FROM t").fetchone()
    res = shred(conn, "t", "id", ["a"])
    assert res.overwritten_bytes == len(secret.encode())
    assert residue_scan(sqlite_files(tmp_path / "s.db"), [secret.encode()]) == []
    conn.close()


def test_residue_scan_forms_and_alignment(tmp_path: Path) -> None:
    # three 0xFF bytes encode to "/" at every alignment, so the base64url form differs from
    # the base64 one (with a random key it is the same text ~1.5% of the time, found once)
    key = os.urandom(14) + b"\xff\xff\xff" + os.urandom(15)
    f = tmp_path / "blob"
    text = b""
    for shift in range(3):  # the key inside longer base64 texts, at every alignment
        text += b"|" + base64.b64encode(os.urandom(shift) + key + os.urandom(5))
        text += b"|" + base64.urlsafe_b64encode(os.urandom(shift) + key)
    text += b"|" + key.hex().encode() + b"|" + key.hex().upper().encode() + b"|" + key
    # put the raw key across the 1 MiB chunk boundary too
    f.write_bytes(text + b"\0" * ((1 << 20) - len(text) - 10) + key)
    found = residue_scan([f, tmp_path / "absent"], [key, os.urandom(32)])
    assert {x.needle for x in found} == {0}
    assert {x.form for x in found} == {"raw", "hex", "HEX", "base64", "base64url"}
    assert sum(x.form == "base64" for x in found) >= 3
    assert any(x.offset == (1 << 20) - 10 for x in found)
    assert str(found[0]).startswith(str(f)) and key.hex() not in repr(found)
    with pytest.raises(UsageError, match="shorter than 8"):
        residue_scan([f], [b"short"])


def test_vault_shaped_tables_composite_keys_and_tombstones(tmp_path: Path) -> None:
    """The vault's shapes (docs/vault.md §3–§4): WITHOUT ROWID key rows, release secrets with a
    composite key (several rows per record), and a records row kept as a tombstone."""
    keys_db, vault_db = tmp_path / "keys.db", tmp_path / "vault.db"
    kc = sqlite3.connect(keys_db, isolation_level=None)
    kc.execute("PRAGMA journal_mode=WAL")
    kc.execute(
        "CREATE TABLE record_keys(record_id TEXT PRIMARY KEY, wrapped BLOB NOT NULL) WITHOUT ROWID"
    )
    kc.execute(
        "CREATE TABLE release_secrets(share_id TEXT NOT NULL, record_id TEXT NOT NULL,"
        " wrapped BLOB NOT NULL, PRIMARY KEY(share_id, record_id)) WITHOUT ROWID"
    )
    vc = sqlite3.connect(vault_db, isolation_level=None)
    vc.execute("PRAGMA journal_mode=WAL")
    vc.execute(
        "CREATE TABLE records(record_id TEXT PRIMARY KEY, kind TEXT NOT NULL, subjects TEXT NOT"
        " NULL, clear TEXT NOT NULL, sealed BLOB, destroyed_at TEXT)"
    )
    secret: dict[str, list[bytes]] = {}
    for i in range(4):
        rid = f"r-{i}"
        k, rel1, rel2, sealed = (os.urandom(n) for n in (60, 48, 48, 3000))
        clear = json.dumps(
            ["某某公司", base64.b64encode(os.urandom(24)).decode()], ensure_ascii=False
        )
        secret[rid] = [k, rel1, rel2, sealed[:32], sealed[-32:], clear.encode()]
        kc.execute("INSERT INTO record_keys VALUES (?, ?)", (rid, k))
        kc.executemany(
            "INSERT INTO release_secrets VALUES (?, ?, ?)", [("s1", rid, rel1), ("s2", rid, rel2)]
        )
        vc.execute(
            "INSERT INTO records VALUES (?, 'penalty', ?, ?, ?, NULL)",
            (rid, '["ps1.x"]', clear, sealed),
        )
    gone, kept = ["r-0", "r-2"], ["r-1", "r-3"]
    res = shred_many(
        kc,
        [
            ShredTarget("record_keys", "record_id", tuple(gone)),
            ShredTarget("release_secrets", "record_id", tuple(gone)),
        ],
    )
    assert res.deleted == {"record_keys": 2, "release_secrets": 4}
    t = "2026-11-25T02:00:00Z"
    res = shred_many(
        vc,
        [
            ShredTarget(
                "records",
                "record_id",
                tuple(gone),
                tombstone={"sealed": None, "clear": "[]", "subjects": "[]", "destroyed_at": t},
            )
        ],
    )
    assert res.deleted == {"records": 2}
    row = vc.execute("SELECT * FROM records WHERE record_id = 'r-0'").fetchone()
    assert row == ("r-0", "penalty", "[]", "[]", None, t)  # the id stays, the data is gone
    files = sqlite_files(keys_db) + sqlite_files(vault_db)
    assert residue_scan(files, [x for r in gone for x in secret[r]]) == []
    found = residue_scan(files, [x for r in kept for x in secret[r]])
    assert {f.needle for f in found} == set(range(12))
    with pytest.raises(UsageError, match="tombstone column"):
        shred_many(vc, [ShredTarget("records", "record_id", ("r-1",), tombstone={"record_id": ""})])
    kc.close()
    vc.close()
