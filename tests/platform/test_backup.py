"""Backup and restore (GB/T 22239-2019 8.1.4.9 a; docs/backup.md): backup → wipe → restore gives
the same records and a valid audit chain; a cut or altered archive is refused; who may do what,
and every step is in the log."""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.worlds import PASS, build_world
from xinan.errors import AccessDenied, BackupInvalid, IntegrityError, XinanError
from xinan.keys import Keyring
from xinan.platform.backup_format import (
    CHUNK,
    MAGIC,
    extract_files,
    read_archive,
    write_archive,
)

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


@pytest.fixture()
def world(tmp_path, monkeypatch, fast_kdf):
    return build_world(tmp_path, monkeypatch, people=4)


def records(w, vault: Path) -> list[dict]:
    """What the platform sees: every record in the internal view, sorted by id."""
    out = w.js("plat", "platform", "vault", "list", "--vault", str(vault))
    return sorted(out["records"], key=lambda r: r["record_id"])


def log_files(w) -> list[Path]:
    log = w.log("plat")
    return [p for p in log.parent.iterdir() if p.name.startswith(log.name)]


def backup(w, out: str = "vault.xbak") -> dict:
    return w.js("plat", "sysadm", "vault", "backup", "--vault", str(w.vault), "-o", out)


def test_backup_wipe_restore_gives_the_same_records_and_a_valid_chain(world):
    w = world
    before = records(w, w.vault)
    s = backup(w)
    archive = w.root / "vault.xbak"
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert archive.read_bytes().startswith(MAGIC)
    # the backup is logged, by the system administrator, before the archive existed
    e = w.entries("plat")[s["audit_entry"]]
    assert (e["type"], e["outcome"], e["actor"]["role"]) == (
        "key.vault-backup",
        "success",
        "sys-admin",
    )
    assert e["objects"]["ref"] == f"backup:{s['id']}"
    # no clear value of a sealed field is in the archive (it is sealed to the platform key)
    raw = archive.read_bytes()
    for p in w.people:
        for field in ("证件号码", "手机号码"):
            assert p[field].encode() not in raw

    # wipe: the vault and its audit log are gone
    shutil.rmtree(w.vault)
    for p in log_files(w):
        p.unlink()

    new = w.root / "elsewhere" / "vault"
    r = w.js("plat", "secadm", "vault", "restore", str(archive), "--to", str(new))
    assert r["log_restored"] is True and r["records"] == len(before)
    assert records(w, new) == before
    assert w.run("plat", None, "audit", "verify").exit_code == 0
    restored = [e for e in w.entries("plat") if e["type"] == "key.vault-restore"]
    assert [(e["outcome"], e["actor"]["role"]) for e in restored] == [("success", "sec-admin")]
    assert restored[0]["objects"]["ref"] == f"backup:{s['id']}"
    assert stat.S_IMODE((new / "vault.json").stat().st_mode) == 0o600


def test_restore_beside_a_live_log_checks_that_the_log_extends_the_archive(world):
    w = world
    before = records(w, w.vault)
    backup(w)
    w.ok("plat", "platform", "vault", "list", "--vault", str(w.vault))  # the log grows
    new = w.root / "copy"
    r = w.js("plat", "secadm", "vault", "restore", "vault.xbak", "--to", str(new))
    assert r["log_restored"] is False and r["rebound"] is False
    assert records(w, new) == before
    assert w.run("plat", None, "audit", "verify").exit_code == 0


def test_only_the_system_administrator_backs_up_and_only_the_security_administrator_restores(
    world,
):
    w = world
    r = w.run("plat", "platform", "vault", "backup", "--vault", str(w.vault), "-o", "x.xbak")
    assert r.exit_code != 0 and not (w.root / "x.xbak").exists()
    assert w.entries("plat")[-1]["type"] == "denied"
    assert w.entries("plat")[-1]["objects"]["ref"] == "operation:vault.backup"
    backup(w)
    r = w.run("plat", "sysadm", "vault", "restore", "vault.xbak", "--to", "x")
    assert r.exit_code != 0 and not (w.root / "x").exists()
    assert w.entries("plat")[-1]["objects"]["ref"] == "operation:vault.restore"


def test_a_cut_or_edited_archive_is_refused_and_the_refusal_logged(world):
    w = world
    backup(w)
    data = (w.root / "vault.xbak").read_bytes()
    cases = {
        "cut.xbak": data[: len(data) // 2],
        "tail.xbak": data[:-1],
        "edit.xbak": data[:200] + bytes([data[200] ^ 1]) + data[201:],
        "sig.xbak": data[:-5] + bytes([data[-5] ^ 1]) + data[-4:],
    }
    for name, bad in cases.items():
        (w.root / name).write_bytes(bad)
        r = w.run("plat", "secadm", "vault", "restore", name, "--to", f"out-{name}")
        assert r.exit_code != 0, name
        assert "Traceback" not in r.output and name in r.output
        assert not (w.root / f"out-{name}").exists()
        last = w.entries("plat")[-1]
        assert (last["type"], last["outcome"]) == ("key.vault-restore", "failed"), name
        assert "#refused:" in last["objects"]["ref"]


def test_rebind_moves_the_binding_to_the_same_log_only(world):
    w = world
    cfg = json.loads((w.vault / "vault.json").read_text("utf-8"))
    r = w.js("plat", "secadm", "vault", "rebind", "--vault", str(w.vault))
    assert r["changed"] is False
    # the vault.json's binding is MACed: editing the path by hand breaks the vault
    cfg["audit"]["path"] = "/nowhere/audit.log"
    (w.vault / "vault.json").write_text(json.dumps(cfg, ensure_ascii=False, indent=2) + "\n")
    r = w.run("plat", "secadm", "vault", "rebind", "--vault", str(w.vault))
    assert r.exit_code != 0  # the MAC no longer matches: never re-sealed
    assert w.entries("plat")[-1]["type"] != "key.vault-rebind"


def test_rebind_binds_a_vault_to_its_log_at_the_logs_present_path(world):
    w = world
    # a vault whose configuration (correctly MACed) names the path its log had before a move
    from xinan.platform.vault_config import CONFIG_FILE, VaultConfig, rebind_config

    ring = Keyring(w.ring("plat"))
    cfg = VaultConfig.read(w.vault)
    moved = rebind_config(cfg, ring.unlock("platform", PASS), audit_path="/old/place/audit.log")
    (w.vault / CONFIG_FILE).write_bytes(moved.to_bytes())
    assert w.run("plat", "platform", "vault", "list", "--vault", str(w.vault)).exit_code != 0
    n = len(w.entries("plat"))
    r = w.js("plat", "secadm", "vault", "rebind", "--vault", str(w.vault))
    assert r["changed"] is True and r["previous"] == "/old/place/audit.log"
    assert r["audit_log"] == str(w.log("plat").resolve())
    (e,) = [x for x in w.entries("plat")[n:] if x["type"] == "key.vault-rebind"]
    assert (e["outcome"], e["actor"]["role"]) == ("success", "sec-admin")
    w.ok("plat", "platform", "vault", "list", "--vault", str(w.vault))  # works again
    # the platform operator may not rebind (三权分立: a security configuration change)
    r2 = w.run("plat", "platform", "vault", "rebind", "--vault", str(w.vault))
    assert r2.exit_code == 77


# -- the archive format itself: every byte matters ------------------------------------------------
def manifest_body(platform_key_id: str, admin_key_id: str) -> dict:
    return {
        "created": "2026-11-25T01:00:00Z",
        "vault": {
            "id": "0" * 32,
            "suite": "intl",
            "policy": "p@1#x",
            "platform_key_id": platform_key_id,
            "records": 0,
        },
        "made_by": {"id": "sysadm", "key_id": admin_key_id, "role": "sys-admin"},
        "audit": {
            "origin": "o",
            "key_id": "k",
            "path": "/l",
            "size": 1,
            "entry": 0,
            "checkpoint": "c",
        },
    }


@pytest.fixture()
def small(tmp_path, fast_kdf):
    """A small archive of two vault files and one log file, made by the format module."""
    ring = Keyring(tmp_path / "keys")
    ring.generate("platform", "platform", "intl", PASS, now=NOW)
    ring.generate("sysadm", "sys-admin", "intl", PASS, now=NOW)
    plat, admin = ring.unlock("platform", PASS), ring.unlock("sysadm", PASS)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_bytes(b"vault configuration " * 3)
    (src / "b").write_bytes(bytes(range(256)))
    (src / "c").write_bytes(b"audit log line\n" * 2)
    body = manifest_body(plat.key_id, admin.key_id)
    out = tmp_path / "small.xbak"
    with out.open("wb") as f:
        write_archive(
            f,
            archive_id="1" * 32,
            key=os.urandom(32),
            platform=plat.info,
            body=body,
            files=[
                ("vault/vault.json", src / "a"),
                ("vault/vault.db", src / "b"),
                ("log/audit", src / "c"),
            ],
            signer=admin,
        )
    return out, {admin.key_id: admin.info}, plat, src, admin


def test_the_archive_round_trips(small, tmp_path):
    path, signers, plat, src, _ = small
    a = read_archive(path, signers)
    into = tmp_path / "into"
    into.mkdir()
    got = extract_files(a, plat, into)
    assert got["vault/vault.db"].read_bytes() == (src / "b").read_bytes()
    assert got["log/audit"].read_bytes() == (src / "c").read_bytes()
    # sealed files are not in the archive in clear; the log is (it holds no secret)
    raw = path.read_bytes()
    assert bytes(range(256)) not in raw and b"audit log line" in raw


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.lists(
        st.sampled_from([0, 1, 17, CHUNK - 1, CHUNK, CHUNK + 1]), min_size=1, max_size=3
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_files_round_trip_and_chunk_boundaries_hold(small, tmp_path_factory, sizes, seed):
    _, signers, plat, _, admin = small
    d = tmp_path_factory.mktemp("rt")
    rng = random.Random(seed)  # nosec B311 - synthetic file contents for a property test
    files = []
    names = ["vault/vault.db", "vault/keys.db", "log/audit"]
    for i, n in enumerate(sizes):
        f = d / f"f{i}"
        f.write_bytes(rng.randbytes(n))
        files.append((names[i], f))
    out = d / "a.xbak"
    with out.open("wb") as fh:
        m = write_archive(
            fh,
            archive_id=f"{seed:032x}",
            key=os.urandom(32),
            platform=plat.info,
            body=manifest_body(plat.key_id, admin.key_id),
            files=files,
            signer=admin,
        )
    assert [f.size for f in m.files] == sizes
    into = d / "into"
    into.mkdir()
    got = extract_files(read_archive(out, signers), plat, into)
    for name, f in files:
        assert got[name].read_bytes() == f.read_bytes()


def test_flipping_any_byte_of_the_archive_is_caught(small, tmp_path):
    path, signers, plat, _, _ = small
    data = path.read_bytes()
    bad = tmp_path / "bad.xbak"
    for i in range(len(data)):
        bad.write_bytes(data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :])
        into = tmp_path / f"x{i}"
        into.mkdir()
        with pytest.raises(XinanError):
            extract_files(read_archive(bad, signers), plat, into)


def test_every_truncation_of_the_archive_is_caught(small):
    path, signers, _, _, _ = small
    data = path.read_bytes()
    bad = path.with_name("cut.xbak")
    for n in range(len(data)):
        bad.write_bytes(data[:n])
        with pytest.raises((BackupInvalid, IntegrityError)):
            read_archive(bad, signers)
    bad.write_bytes(data + b"\x00")
    with pytest.raises(BackupInvalid):
        read_archive(bad, signers)


def test_an_archive_signed_by_a_key_outside_the_trust_store_is_refused(small):
    path, _, plat, _, _ = small
    with pytest.raises(BackupInvalid, match="not a system administrator"):
        read_archive(path, {plat.key_id: plat.info})


def test_denial_is_an_access_error(world):
    # the library raises AccessDenied (exit code of the access family), not a crash
    from xinan.platform import Platform, PlatformContext

    w = world
    ctx = PlatformContext(
        vault=w.vault,
        keyring=Keyring(w.ring("plat")),
        identity="auditadm",
        passphrase=lambda _w: PASS,
        clock=w.clock,
    )
    with Platform.open(ctx) as p, pytest.raises(AccessDenied):
        p.backup(w.root / "y.xbak")
    assert not (w.root / "y.xbak").exists()


def test_a_gm_archive_uses_sm3_sm4_and_sm2(tmp_path, fast_kdf):
    """国密: the archive of a gm vault names SM3, its chunks are SM4-GCM under a key wrapped
    with SM2, its manifest is SM2-signed — and it still opens only with the platform key."""
    ring = Keyring(tmp_path / "keys")
    ring.generate("platform", "platform", "gm", PASS, now=NOW)
    ring.generate("sysadm", "sys-admin", "gm", PASS, now=NOW)
    ring.generate("other", "platform", "gm", PASS, now=NOW)
    plat, admin = ring.unlock("platform", PASS), ring.unlock("sysadm", PASS)
    src = tmp_path / "db"
    src.write_bytes(b"sealed rows " * 100)
    body = manifest_body(plat.key_id, admin.key_id)
    body["vault"]["suite"] = "gm"
    out = tmp_path / "gm.xbak"
    with out.open("wb") as f:
        m = write_archive(
            f,
            archive_id="2" * 32,
            key=os.urandom(16),
            platform=plat.info,
            body=body,
            files=[("vault/vault.db", src)],
            signer=admin,
        )
    assert m.hash == "sm3"
    a = read_archive(out, {admin.key_id: admin.info})
    into = tmp_path / "into"
    into.mkdir()
    assert extract_files(a, plat, into)["vault/vault.db"].read_bytes() == src.read_bytes()
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(BackupInvalid, match="sealed to"):
        extract_files(a, ring.unlock("other", PASS), other)
