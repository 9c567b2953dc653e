"""``xinan audit …`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import xinan.cli.audit_cmds  # noqa: F401  registers the group
from tests.audit.test_audit_log import (
    KEYS,
    ORIGIN,
    SIGNER,
    Clock,
    event,
    lines,
    make_log,
    write_lines,
)
from tests.conftest import bootstrap_keyring
from xinan.audit import AuditLog
from xinan.cli._app import app

VKEY = KEYS[0].vkey()
PASS = "auditor passphrase"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def reader_env(tmp_path: Path, role: str = "auditor") -> dict[str, str]:
    """A keyring holding one identity of ``role``, bootstrapped with its own audit log, acting
    as it: reading entries needs an audit role (GB/T 22239-2019 8.1.4.3), and each read (or
    refusal) is recorded in the reader's own log, ``reader_log(tmp_path, role)``."""
    from datetime import UTC, datetime

    from tests.conftest import bootstrap_keyring
    from xinan.access import init_audit_log
    from xinan.keys import KdfParams, Keyring

    ring = Keyring(tmp_path / f"ring-{role}")
    fast = KdfParams(64, 1, 1)
    now = datetime.now(UTC)
    ring.generate(f"r-{role}", role, "intl", PASS, now=now, kdf_params=fast)
    ring.generate("sa", "sys-admin", "intl", PASS, now=now, kdf_params=fast)
    log = reader_log(tmp_path, role)
    init_audit_log(log, keyring=ring)
    tokens = tmp_path / f"tokens-{role}"
    bootstrap_keyring(ring, log, tokens, passphrase=PASS)
    return {
        "XINAN_KEYRING": str(ring.path),
        "XINAN_IDENTITY": f"r-{role}",
        "XINAN_PASSPHRASE": PASS,
        "XINAN_TOKEN_DIR": str(tokens),
        "XINAN_AUDIT_LOG": "",
    }


def reader_log(tmp_path: Path, role: str) -> Path:
    return tmp_path / f"reader-{role}" / "audit.log"


def said(r) -> str:
    """Everything the command said: stdout, stderr (``xinan: error: …``), any exception."""
    return r.output + (r.stderr if hasattr(r, "stderr") else "") + str(r.exception or "")


def test_verify_ok_and_json(tmp_path: Path) -> None:
    path = make_log(tmp_path, 5)
    r = run("audit", "verify", str(path), "--key", VKEY)
    assert r.exit_code == 0, r.output
    assert r.output.startswith("ok: ") and "5 entries" in r.output
    r = run("audit", "verify", str(path), "--key", VKEY, "--json")
    assert r.exit_code == 0 and json.loads(r.output)["ok"] is True


def test_verify_names_violation_and_fails(tmp_path: Path) -> None:
    path = make_log(tmp_path, 5)
    ls = lines(path)
    ls[2] = ls[2].replace(b"querent-bank-01", b"querent-bank-66")
    write_lines(path, ls)
    r = run("audit", "verify", str(path), "--key", VKEY)
    assert r.exit_code == 1 and "entry 2 modified" in said(r)
    r = run("audit", "verify", str(path), "--key", VKEY, "--json")
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert report["ok"] is False and report["violations"][0]["violation"] == "modified"


def test_verify_without_key_fails(tmp_path: Path) -> None:
    path = make_log(tmp_path, 2)
    r = run("audit", "verify", str(path))
    assert r.exit_code == 1 and "no log key" in said(r)


def test_key_file_and_default_log_from_env(tmp_path: Path) -> None:
    path = make_log(tmp_path, 2)
    kf = tmp_path / "log.vkey"
    kf.write_text(VKEY + "\n")
    r = run("audit", "verify", "--key", str(kf), env={"XINAN_AUDIT_LOG": str(path)})
    assert r.exit_code == 0, r.output
    r = run("--audit-log", str(path), "audit", "verify", "--key", str(kf))
    assert r.exit_code == 0, r.output


def test_default_log_under_keyring(tmp_path: Path) -> None:
    make_log(tmp_path, 2)  # tmp/audit/audit.log
    r = run(
        "--keyring",
        str(tmp_path / "keys"),
        "audit",
        "verify",
        "--key",
        VKEY,
        env={"XINAN_AUDIT_LOG": ""},
    )
    assert r.exit_code == 0, r.output


def test_checkpoint_prove_check_proof(tmp_path: Path) -> None:
    clock = Clock()
    path = make_log(tmp_path, 4, clock)
    old = tmp_path / "old.cp"
    r = run("audit", "checkpoint", str(path))
    assert r.exit_code == 0 and r.output.startswith(ORIGIN + "\n4\n")
    old.write_text(r.output)
    with AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=clock) as log:
        for i in range(4, 9):
            log.append(event(i))
    head = tmp_path / "head.cp"
    head.write_text(run("audit", "checkpoint", str(path)).output)
    reader = reader_env(tmp_path)
    r = run("audit", "prove", "6", str(path), env=reader)
    assert r.exit_code == 0 and r.output.startswith("c2sp.org/tlog-proof@v1\n")
    pf = tmp_path / "e6.tlog-proof"
    pf.write_text(r.output)
    r = run("audit", "check-proof", str(pf), "--checkpoint", str(head), "--key", VKEY)
    assert r.exit_code == 0 and "ok: entry 6" in r.output
    entry = tmp_path / "e5"
    entry.write_bytes(lines(path)[5] + b"\n")
    r = run("audit", "check-proof", str(pf), "--checkpoint", str(head), "--entry", str(entry))
    assert r.exit_code != 0
    r = run("audit", "prove", "--from", "4", str(path), env=reader)
    assert r.exit_code == 0 and r.output.startswith("xinan-audit-consistency/1\nold 4\n")
    cf = tmp_path / "c.proof"
    cf.write_text(r.output)
    r = run("audit", "check-proof", str(cf), "--checkpoint", str(old), "--key", VKEY, "--json")
    assert r.exit_code == 0 and json.loads(r.output)["size"] == 9
    r = run("audit", "prove", str(path), env=reader)
    assert r.exit_code != 0


def test_trusted_checkpoint_rollback(tmp_path: Path) -> None:
    clock = Clock()
    path = make_log(tmp_path, 3, clock)
    old = path.read_bytes(), Path(f"{path}.checkpoints").read_bytes()
    with AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=clock) as log:
        log.append(event(3))
    cp = tmp_path / "trusted.cp"
    cp.write_text(run("audit", "checkpoint", str(path)).output)
    path.write_bytes(old[0])
    Path(f"{path}.checkpoints").write_bytes(old[1])
    r = run("audit", "verify", str(path), "--key", VKEY, "--trusted-checkpoint", str(cp))
    assert r.exit_code == 1 and "rolled back" in said(r)


def test_show_and_subject(tmp_path: Path) -> None:
    path = make_log(tmp_path, 8)
    env = reader_env(tmp_path, "audit-admin")
    r = run("audit", "show", str(path), env=env)
    assert r.exit_code == 0 and len(r.output.splitlines()) == 8
    r = run(
        "audit",
        "show",
        str(path),
        "--json",
        "--type",
        "open",
        "--since",
        "2025-01-01T00:00:04Z",
        env=env,
    )
    assert r.exit_code == 0
    rows = [json.loads(x) for x in r.output.splitlines()]
    assert [e["seq"] for e in rows] == [3, 4, 5, 6, 7]
    r = run("audit", "show", str(path), "--actor", "nobody", env=env)
    assert r.exit_code == 0 and r.output == ""
    subj = json.loads(lines(path)[1])["subjects"][0]
    r = run("audit", "subject", subj, str(path), "--json", env=env)
    assert r.exit_code == 0 and [e["seq"] for e in json.loads(r.output)["entries"]] == [1]
    r = run("audit", "subject", "11010519491231002X", str(path), env=env)
    assert r.exit_code != 0


def test_only_audit_roles_read_entries(tmp_path: Path) -> None:
    """Reading entries is for audit-admin and auditors; verifying is for anyone."""
    path = make_log(tmp_path, 3)
    r = run("audit", "show", str(path), env={"XINAN_IDENTITY": ""})
    assert r.exit_code == 2 and "--as" in said(r)
    r = run("audit", "show", str(path), env=reader_env(tmp_path, "sec-admin"))
    assert r.exit_code == 77 and "may not audit.read" in said(r)
    r = run("audit", "prove", "1", str(path), env=reader_env(tmp_path, "platform"))
    assert r.exit_code == 77
    r = run("audit", "verify", str(path), "--key", VKEY, env={"XINAN_IDENTITY": ""})
    assert r.exit_code == 0


def test_reading_never_writes(tmp_path: Path) -> None:
    path = make_log(tmp_path, 3)
    env = reader_env(tmp_path)
    files = sorted(path.parent.iterdir())
    before = {p: p.read_bytes() for p in files}
    for args in (
        ("audit", "verify", str(path), "--key", VKEY),
        ("audit", "checkpoint", str(path)),
        ("audit", "prove", "1", str(path)),
        ("audit", "show", str(path)),
    ):
        assert run(*args, env=env).exit_code == 0
    assert sorted(path.parent.iterdir()) == files
    assert {p: p.read_bytes() for p in files} == before


def test_prune_by_audit_admin_keeps_verification(tmp_path: Path, fast_kdf) -> None:
    from datetime import UTC, datetime, timedelta

    from xinan.access import init_audit_log, log_signer
    from xinan.audit.entry import AuditEvent
    from xinan.keys import Keyring

    ring = Keyring(tmp_path / "keys")
    now = datetime.now(UTC)
    for name, role in (("platform", "platform"), ("aa", "audit-admin"), ("sa", "sec-admin")):
        ring.generate(name, role, "intl", PASS, now=now)
    log = tmp_path / "audit" / "audit.log"
    cfg = init_audit_log(log, keyring=ring)
    signer = log_signer(log, cfg, keyring=ring)
    for age_days in (400, 300, 200, 10, 1):
        t = now - timedelta(days=age_days)
        with AuditLog.open(log, signer=signer, origin=cfg.origin, clock=lambda t=t: t) as a:
            a.append(AuditEvent("verify", "xk1platform", "platform"))
    tokens = tmp_path / "tokens"
    bootstrap_keyring(ring, log, tokens, passphrase=PASS, admin="sysadm", now=now)
    env = {
        "XINAN_KEYRING": str(ring.path),
        "XINAN_PASSPHRASE": PASS,
        "XINAN_AUDIT_LOG": str(log),
        "XINAN_TOKEN_DIR": str(tokens),
    }
    r = run("--as", "sa", "audit", "prune", env=env)
    assert r.exit_code == 77  # only the audit administrator prunes
    r = run("--as", "aa", "audit", "prune", "--json", env=env)
    assert r.exit_code == 0, said(r)
    assert json.loads(r.output)["pruned"] == 3  # 400, 300 and 200 days old; 184-day retention
    r = run("audit", "verify", env=env)
    assert r.exit_code == 0, said(r)
    assert "3 pruned" in r.output


def test_check_proof_never_says_ok_without_a_signature_check(tmp_path: Path) -> None:
    """Review finding: a forged checkpoint must not pass check-proof for want of --key."""
    path = make_log(tmp_path, 3)
    env = reader_env(tmp_path)
    proof = tmp_path / "p"
    proof.write_text(run("audit", "prove", "1", str(path), env=env).output)
    cp = tmp_path / "cp"
    cp.write_text(run("audit", "checkpoint", str(path)).output)
    r = run(
        "audit",
        "check-proof",
        str(proof),
        "--checkpoint",
        str(cp),
        env={"XINAN_AUDIT_LOG": str(tmp_path / "none.log")},
    )
    assert r.exit_code == 2 and "no key" in said(r)
    forged = cp.read_text().split("\n\n")[0] + "\n\n— " + ORIGIN + " AAAAAAAAAAAA\n"
    cp.write_text(forged)
    r = run("audit", "check-proof", str(proof), "--checkpoint", str(cp), "--key", VKEY)
    assert r.exit_code != 0 and "ok:" not in r.output


def test_repair_moves_a_torn_tail_aside_and_the_log_verifies(tmp_path: Path, fast_kdf) -> None:
    from datetime import UTC, datetime

    from xinan.access import init_audit_log, log_signer
    from xinan.audit.entry import AuditEvent
    from xinan.keys import Keyring

    ring = Keyring(tmp_path / "keys")
    now = datetime.now(UTC)
    for name, role in (("platform", "platform"), ("aa", "audit-admin"), ("pl", "platform")):
        ring.generate(name, role, "intl", PASS, now=now)
    log = tmp_path / "audit" / "audit.log"
    cfg = init_audit_log(log, keyring=ring)
    tokens = tmp_path / "tokens"
    bootstrap_keyring(ring, log, tokens, passphrase=PASS, now=now)
    signer = log_signer(log, cfg, keyring=ring)
    with AuditLog.open(log, signer=signer, origin=cfg.origin, clock=lambda: now) as a:
        a.append(AuditEvent("verify", "xk1platformtest", "platform"))
        a.append(AuditEvent("verify", "xk1platformtest", "platform"))
    # A power cut in the middle of the second commit: its signed intent reached the disk,
    # 20 of its bytes reached the log, its checkpoint did not. (Line 0 is the bootstrap.)
    side = Path(f"{log}.checkpoints")
    data = side.read_bytes()
    side.write_bytes(data[: data.rfind(b"@checkpoint ")])
    kept = sum(len(x) + 1 for x in log.read_bytes().split(b"\n")[:2])
    with log.open("r+b") as f:
        f.truncate(kept + 20)
    env = {
        "XINAN_KEYRING": str(ring.path),
        "XINAN_PASSPHRASE": PASS,
        "XINAN_AUDIT_LOG": str(log),
        "XINAN_TOKEN_DIR": str(tokens),
    }
    r = run("audit", "verify", env=env)
    assert r.exit_code == 1 and "cut short" in said(r)
    assert run("--as", "pl", "audit", "repair", env=env).exit_code == 77  # audit-admin only
    r = run("--as", "aa", "audit", "repair", env=env)
    assert r.exit_code == 0 and "moved" in r.output, said(r)
    assert run("audit", "verify", env=env).exit_code == 0
    assert list(log.parent.glob("audit.log.torn-*"))  # kept as evidence


def test_reads_and_refused_reads_are_logged_in_the_readers_own_log(tmp_path: Path) -> None:
    """Issue 12: 'Refused audit show and the audit administrator's own reads of the log are
    not logged.' Both are entries of the reader's own (bound) log now; the log read is not
    written."""
    path = make_log(tmp_path, 3)
    env = reader_env(tmp_path, "audit-admin")
    assert run("audit", "show", str(path), "--type", "open", env=env).exit_code == 0
    own = [json.loads(x) for x in reader_log(tmp_path, "audit-admin").read_text().splitlines()]
    assert own[-1]["type"] == "audit.read" and own[-1]["actor"]["role"] == "audit-admin"
    assert "show" in own[-1]["objects"]["ref"] and "type=open" in own[-1]["objects"]["ref"]
    env = reader_env(tmp_path, "sec-admin")
    r = run("audit", "show", str(path), env=env)
    assert r.exit_code == 77
    own = [json.loads(x) for x in reader_log(tmp_path, "sec-admin").read_text().splitlines()]
    assert own[-1]["type"] == "denied" and own[-1]["objects"]["ref"] == "operation:audit.read"
    # an administrator without its token is refused too; this reader's key signs its own log,
    # which therefore cannot be opened: the failure is logged by the next session
    tokens = env["XINAN_TOKEN_DIR"]
    env["XINAN_TOKEN_DIR"] = str(tmp_path / "no-tokens")
    assert run("audit", "show", str(path), env=env).exit_code == 77
    env["XINAN_TOKEN_DIR"] = tokens
    assert run("audit", "show", str(path), env=env).exit_code == 77
    own = [json.loads(x) for x in reader_log(tmp_path, "sec-admin").read_text().splitlines()]
    kinds = [(e["type"], e["objects"]["ref"].split("@")[0]) for e in own]
    assert kinds[-3:] == [
        ("denied", "operation:audit.read"),  # the first refused read
        ("key.auth", "authn:token-missing"),  # the read without a token, logged late
        ("denied", "operation:audit.read"),  # the third read
    ]
