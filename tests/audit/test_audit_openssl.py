"""An independent tool checks xinan's SM2 signatures: the OpenSSL recipe of docs/crypto.md,
run as written against checkpoints of a real gm audit log (issue 11, build item 7).

Skipped only where no ``openssl`` binary exists; CI runs on the same kind of machine, where
OpenSSL 3 is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from xinan.access import IdentityNoteSigner, init_audit_log
from xinan.audit import AuditEvent, AuditLog, verify_log
from xinan.audit.proof import check_proof, prove_inclusion
from xinan.errors import XinanError
from xinan.keys import Keyring

REPO = Path(__file__).resolve().parents[2]
OPENSSL = shutil.which("openssl")
PASS = "openssl interop passphrase"

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="no openssl binary on this machine")


def doc_block(heading: str, index: int) -> str:
    """The ``index``-th ```sh block after ``heading`` in docs/crypto.md."""
    text = (REPO / "docs" / "crypto.md").read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    return re.findall(r"```sh\n(.*?)```", section, re.DOTALL)[index]


def gm_log(tmp_path: Path, n: int) -> tuple[Path, Keyring]:
    ring = Keyring(tmp_path / "keys")
    ring.generate("gm-log", "platform", "gm", PASS, now=datetime.now(UTC))
    log = tmp_path / "audit" / "audit.log"
    cfg = init_audit_log(log, keyring=ring, log_key="gm-log")
    assert cfg.hash == "sm3"
    signer = IdentityNoteSigner(cfg.origin, ring.unlock("gm-log", PASS))
    with AuditLog.open(
        log, hash="sm3", signer=signer, origin=cfg.origin, clock=lambda: datetime.now(UTC)
    ) as a:
        for _ in range(n):
            a.append(AuditEvent("verify", "xk1platformtest", "platform"))
    return log, ring


def run_recipe(work: Path) -> subprocess.CompletedProcess[str]:
    script = doc_block("### SM2 signatures with OpenSSL 3", 1)
    return subprocess.run(
        ["bash", "-eu", "-o", "pipefail", "-c", script],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_openssl_verifies_every_checkpoint_of_a_gm_log(tmp_path: Path, fast_kdf) -> None:
    log, ring = gm_log(tmp_path, 6)
    records = Path(f"{log}.checkpoints").read_text(encoding="utf-8").split("@checkpoint ")[1:]
    assert len(records) == 6
    work = tmp_path / "work"
    work.mkdir()
    (work / "log.pem").write_text(ring.export("gm-log", "pem"), encoding="utf-8")
    for rec in records:  # six random signatures: r and s with and without the high bit
        note = rec.split("\n", 1)[1][:-1]  # drop the record header and its closing blank line
        (work / "checkpoint.note").write_text(note, encoding="utf-8")
        r = run_recipe(work)
        assert r.returncode == 0 and "Verified OK" in r.stdout, r.stdout + r.stderr
    # the recipe can fail: a checkpoint of another size (the signature no longer matches)
    tampered = note.replace("\n6\n", "\n7\n", 1)
    (work / "checkpoint.note").write_text(tampered, encoding="utf-8")
    r = run_recipe(work)
    assert r.returncode != 0 and "Verified OK" not in r.stdout
    # and OpenSSL's default (empty) SM2 id does not verify a xinan signature
    (work / "checkpoint.note").write_text(note, encoding="utf-8")
    assert run_recipe(work).returncode == 0
    r = subprocess.run(
        [str(OPENSSL), "dgst", "-sm3", "-verify", "log.pem", "-signature", "sig.der", "msg.bin"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode != 0


def test_gm_proofs_carry_their_own_marker(tmp_path: Path, fast_kdf) -> None:
    log, ring = gm_log(tmp_path, 3)
    from xinan.access import log_verifiers

    keys = tuple(log_verifiers(log, ring))
    report = verify_log(log, keys=keys)
    assert report.hash == "sm3"
    proof = prove_inclusion(log, 1)
    assert proof.startswith("xinan-audit-proof-sm3/1\n")
    cp = report.latest_checkpoint.encode()
    assert check_proof(proof, cp, keys=keys).kind == "inclusion"
    c2sp = proof.replace("xinan-audit-proof-sm3/1", "c2sp.org/tlog-proof@v1", 1)
    with pytest.raises(XinanError):  # no C2SP-marked proof over an SM3 tree
        check_proof(c2sp, cp, keys=keys)
