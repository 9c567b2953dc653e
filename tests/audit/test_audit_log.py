"""The audit log store and its verification: every named violation is produced by doing it to
a real log file; crash safety with a real killed process; group commit; pruning."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from xinan.audit import AuditEvent, AuditLog, verify_log
from xinan.audit.checkpoint import Checkpoint, sign_checkpoint
from xinan.audit.entry import looks_like_resident_id, parse_entry
from xinan.audit.log import MIN_RETENTION_DAYS, TornLogError, read_sidecar
from xinan.audit.note import CosignatureSigner, Ed25519Signer, add_signatures, parse_note
from xinan.audit.proof import check_proof, prove_consistency, prove_inclusion
from xinan.errors import (
    AuditError,
    AuditRetentionError,
    AuditViolation,
    BadSignature,
    EntriesMissing,
    EntriesReordered,
    EntryModified,
    IntegrityError,
    LogForked,
    LogRolledBack,
    LogTruncated,
    SignatureMissing,
    TornTail,
    UncoveredEntries,
    UnsignedEntries,
)
from xinan.policy.periods import AUDIT_LOG_MIN_DAYS

ORIGIN = "example.gov.cn/xinan-audit/test"
REPO = Path(__file__).resolve().parents[2]


def _key(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest())


SIGNER = Ed25519Signer(ORIGIN, _key(b"log"))
KEYS = [SIGNER.verifier()]


class Clock:
    def __init__(self, start: datetime = datetime(2025, 1, 1, tzinfo=UTC)) -> None:
        self.t = start

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


def event(i: int = 0, **kw) -> AuditEvent:
    base = dict(
        type="open",
        actor_key_id="querent-bank-01",
        actor_role="querent",
        objects={"record_ids": [f"r-{i:05d}"], "counts": {"fields": 3}},
        why={"purpose": "信易贷 credit check", "grant": f"g-{i}"},
        subjects=[f"hm1:{hashlib.sha256(b'%d' % (i % 7)).hexdigest()[:24]}"],
    )
    base.update(kw)
    return AuditEvent(**base)


def make_log(tmp_path: Path, n: int = 10, clock: Clock | None = None, **kw) -> Path:
    path = tmp_path / "audit" / "audit.log"
    with AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=clock or Clock(), **kw) as log:
        for i in range(n):
            assert log.append(event(i)) == i
    return path


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def write_lines(path: Path, ls: list[bytes]) -> None:
    path.write_bytes(b"".join(x + b"\n" for x in ls))


def expect(path: Path, cls: type[AuditViolation], **kw) -> AuditViolation:
    with pytest.raises(cls) as ei:
        verify_log(path, keys=KEYS, **kw)
    assert ei.value.report is not None and not ei.value.report.ok
    return ei.value


# -- happy path -------------------------------------------------------------------------------


def test_append_and_verify(tmp_path: Path) -> None:
    path = make_log(tmp_path, 10)
    r = verify_log(path, keys=KEYS)
    assert r.ok and r.size == 10 and r.checkpoints == 10
    for i, line in enumerate(lines(path)):
        e = parse_entry(line)
        assert e["seq"] == i and e["v"] == "xinan-audit/1" and e["time"].endswith("Z")
    # sidecar holds one checkpoint per commit; each parses and round-trips
    recs, torn = read_sidecar(Path(str(path) + ".checkpoints"))
    assert torn is None and len(recs) == 10
    for rec in recs:
        assert parse_note(rec.note).to_bytes() == rec.note
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_entry_is_canonical_and_independent_rfc6962_root(tmp_path: Path) -> None:
    path = make_log(tmp_path, 13)
    # an independent RFC 6962 computation from the log file alone
    from tests.audit.test_audit_merkle import mth

    want = mth(lines(path))
    note = parse_note(verify_log(path, keys=KEYS).latest_checkpoint.encode())
    assert Checkpoint.parse(note.text).root == want


def test_reopen_continues_and_batch_group_commit(tmp_path: Path) -> None:
    clock = Clock()
    path = make_log(tmp_path, 3, clock)
    with AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=clock) as log:
        with log.batch():
            seqs = [log.append(event(i)) for i in range(3, 1003)]
        assert seqs == list(range(3, 1003))
    r = verify_log(path, keys=KEYS)
    assert r.size == 1003 and r.checkpoints == 4  # three appends + one batch


def test_batch_commits_on_exception(tmp_path: Path) -> None:
    path = make_log(tmp_path, 1)
    log = AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=Clock())
    with pytest.raises(RuntimeError), log.batch():
        log.append(event(1))
        raise RuntimeError("operation failed after logging")
    log.close()
    assert verify_log(path, keys=KEYS).size == 2


def test_two_writers_do_not_interleave(tmp_path: Path) -> None:
    path = make_log(tmp_path, 0)
    a = AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=Clock())
    b = AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=Clock())
    for i in range(5):
        assert a.append(event(i)) == 2 * i
        assert b.append(event(i)) == 2 * i + 1
    a.close()
    b.close()
    assert verify_log(path, keys=KEYS).size == 10


def test_wrong_origin_or_hash_refused(tmp_path: Path) -> None:
    path = make_log(tmp_path, 2)
    with pytest.raises(AuditError):
        AuditLog.open(path, signer=SIGNER, origin="other/log", clock=Clock())
    with pytest.raises(AuditError):
        AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=Clock(), hash="sm3")


def test_sm3_log(tmp_path: Path) -> None:
    path = make_log(tmp_path, 5, hash="sm3")
    r = verify_log(path, keys=KEYS)
    assert r.hash == "sm3" and r.size == 5
    assert "xinan-hash sm3" in r.latest_checkpoint


# -- entry guards -----------------------------------------------------------------------------


def test_clear_identifiers_refused(tmp_path: Path) -> None:
    path = make_log(tmp_path, 0)
    with AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=Clock()) as log:
        for bad in (
            event(subjects=["11010519491231002X"]),  # GB 11643-1999 example
            event(subjects=["张三"]),
            event(subjects=["13800138000"]),
            event(why={"purpose": "lookup of 440524188001010014 for loan"}),
            event(objects={"ref": "call 13912345678"}),
            event(type="frobnicate"),
            event(outcome="maybe"),
            event(objects={"unknown": "x"}),
            event(why={"purpose": "a\nb"}),
            event(objects={"counts": {"n": 1.5}}),
        ):
            with pytest.raises(AuditError):
                log.append(bad)
        assert log.size == 0
        log.append(event(why={"purpose": "ref 110105194912310021 is not a valid check"}))
    assert looks_like_resident_id("11010519491231002X")
    assert looks_like_resident_id("440524188001010014")
    assert not looks_like_resident_id("110105194912310021")
    assert not looks_like_resident_id("110105194913310023")


def test_naive_clock_refused(tmp_path: Path) -> None:
    path = make_log(tmp_path, 0)
    with (
        AuditLog.open(
            path, signer=SIGNER, origin=ORIGIN, clock=lambda: datetime(2025, 1, 1)
        ) as log,
        pytest.raises(AuditError),
    ):
        log.append(event())


# -- each named violation, done to a real file -----------------------------------------------------


def test_entry_modified_is_named(tmp_path: Path) -> None:
    path = make_log(tmp_path, 10)
    ls = lines(path)
    ls[4] = ls[4].replace(b"querent-bank-01", b"querent-bank-02")  # still canonical JSON
    write_lines(path, ls)
    exc = expect(path, EntryModified)
    assert exc.data["seq"] == 4 and "entry 4 modified" in exc.message


def test_entry_modified_in_batch_is_localised(tmp_path: Path) -> None:
    clock = Clock()
    path = make_log(tmp_path, 2, clock)
    with AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=clock) as log, log.batch():
        for i in range(2, 20):
            log.append(event(i))
    ls = lines(path)
    ls[7] = ls[7].replace(b"querent-bank-01", b"querent-bank-99")
    write_lines(path, ls)
    exc = expect(path, EntryModified)
    assert exc.data == {"first": 2, "last": 19}
    # a non-canonical edit inside the batch is pinpointed
    ls[7] = ls[7].replace(b'"outcome"', b' "outcome"')
    write_lines(path, ls)
    exc = expect(path, EntryModified)
    assert exc.data["seq"] == 7


def test_entries_missing(tmp_path: Path) -> None:
    path = make_log(tmp_path, 10)
    ls = lines(path)
    del ls[3:5]
    write_lines(path, ls)
    exc = expect(path, EntriesMissing)
    assert exc.data == {"first": 3, "count": 2}


def test_entries_reordered(tmp_path: Path) -> None:
    path = make_log(tmp_path, 10)
    ls = lines(path)
    ls[2], ls[6] = ls[6], ls[2]
    write_lines(path, ls)
    exc = expect(path, EntriesReordered)
    assert exc.data["line"] == 3 and exc.data["seq"] == 6


def test_truncated(tmp_path: Path) -> None:
    path = make_log(tmp_path, 10)
    write_lines(path, lines(path)[:7])
    exc = expect(path, LogTruncated)
    assert exc.data == {"size": 7, "checkpoint_size": 10}
    with pytest.raises(AuditError):
        AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=Clock())


def test_rolled_back_after_trusted_checkpoint(tmp_path: Path) -> None:
    clock = Clock()
    path = make_log(tmp_path, 5, clock)
    old_log, old_side = path.read_bytes(), Path(str(path) + ".checkpoints").read_bytes()
    with AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=clock) as log:
        for i in range(5, 9):
            log.append(event(i))
        trusted = log.latest_note
    assert trusted is not None
    verify_log(path, keys=KEYS, trusted_checkpoint=trusted)
    # roll both files back to the older state
    path.write_bytes(old_log)
    Path(str(path) + ".checkpoints").write_bytes(old_side)
    verify_log(path, keys=KEYS)  # self-consistent: only the trusted checkpoint reveals it
    exc = expect(path, LogRolledBack, trusted_checkpoint=trusted)
    assert exc.data == {"trusted_size": 9, "size": 5}


def test_fork_by_signing_a_different_tree(tmp_path: Path) -> None:
    path = make_log(tmp_path, 6)
    side = Path(str(path) + ".checkpoints")
    forged = sign_checkpoint(Checkpoint(ORIGIN, 6, hashlib.sha256(b"other").digest()), [SIGNER])
    with side.open("ab") as f:
        f.write(b"@checkpoint offset=0 frontier=\n" + forged.to_bytes() + b"\n")
    exc = expect(path, LogForked)
    assert exc.data["size"] == 6 and len(exc.report.evidence) == 2


def test_fork_against_trusted_checkpoint(tmp_path: Path) -> None:
    # The auditor holds a head from another branch of the "same" log (split view).
    a = make_log(tmp_path / "a", 6)
    b_path = tmp_path / "b" / "audit.log"
    with AuditLog.open(b_path, signer=SIGNER, origin=ORIGIN, clock=Clock()) as b:
        for i in range(6):
            b.append(event(100 + i))
        other_head = b.latest_note
    exc = expect(a, LogForked, trusted_checkpoint=other_head)
    assert len(exc.report.evidence) == 2


def test_bad_and_missing_signature(tmp_path: Path) -> None:
    path = make_log(tmp_path, 4)
    side = Path(str(path) + ".checkpoints")
    data = side.read_bytes()
    # strip a middle checkpoint record's signature line: no longer a signed note
    dash = "\u2014".encode()
    i = data.find(dash, data.find(b"@checkpoint ", data.find(b"@checkpoint ") + 1))
    j = data.find(b"\n", i) + 1
    side.write_bytes(data[:i] + data[j:])
    exc = expect(path, BadSignature)
    assert exc.data == {"record": 1}
    # strip the last record's signature: that record is bad, the last entry uncovered
    i = data.rstrip(b"\n").rfind(dash)
    side.write_bytes(data[:i] + b"\n")
    exc = expect(path, BadSignature)
    assert exc.data == {"record": 3}
    assert any(isinstance(x, UncoveredEntries) for x in exc.report.violations)
    # a wrong key: every checkpoint fails
    side.write_bytes(data)
    other = Ed25519Signer(ORIGIN, _key(b"intruder"))
    with pytest.raises((BadSignature, SignatureMissing)):
        verify_log(path, keys=[other.verifier()])
    # no keys at all
    with pytest.raises(SignatureMissing):
        verify_log(path, keys=[])
    # a flipped signature byte
    j = data.rfind(b"=\n")
    side.write_bytes(data[: j - 3] + bytes([data[j - 3] ^ 1]) + data[j - 2 :])
    expect(path, BadSignature)


def test_sidecar_deleted_means_unsigned_entries(tmp_path: Path) -> None:
    path = make_log(tmp_path, 4)
    Path(str(path) + ".checkpoints").unlink()
    exc = expect(path, UnsignedEntries)
    assert exc.data["first"] == 0 and exc.data["count"] == 4


def test_entry_added_without_the_key_is_unsigned(tmp_path: Path) -> None:
    path = make_log(tmp_path, 4)
    ls = lines(path)
    extra = ls[3].replace(b'"seq":3', b'"seq":4')
    write_lines(path, [*ls, extra])
    exc = expect(path, UnsignedEntries)
    assert exc.data["first"] == 4 and exc.data["count"] == 1


def cut_commit(path: Path, keep_log_bytes: int | None) -> int:
    """Put the files in the state a crash leaves inside the last commit: its signed intent is
    durable, its checkpoint is not, and the log holds ``keep_log_bytes`` of its bytes (all of
    them when None). Returns the log offset where the commit started."""
    side = Path(str(path) + ".checkpoints")
    data = side.read_bytes()
    side.write_bytes(data[: data.rfind(b"@checkpoint ")])
    intent = data[data.rfind(b"@intent\n") :]
    start = int(intent.split(b"offset ")[1].split(b" ")[0])
    if keep_log_bytes is not None:
        with path.open("r+b") as f:
            f.truncate(start + keep_log_bytes)
    return start


def test_torn_tail_detected_reported_quarantined(tmp_path: Path) -> None:
    path = make_log(tmp_path, 4)
    cut_line = lines(path)[3]
    good_len = cut_commit(path, 50)  # a power cut 50 bytes into the last commit
    exc = expect(path, TornTail)
    assert exc.data["offset"] == good_len and exc.data["interrupted"]
    with pytest.raises(TornLogError) as ei:
        AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=Clock())
    assert ei.value.offset == good_len and str(good_len) in ei.value.message
    log = AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=Clock(), allow_torn=True)
    with pytest.raises(TornLogError):
        log.append(event())
    assert log.quarantine_torn_tail() == 50
    log.close()
    (moved,) = path.parent.glob(f"audit.log.torn-{good_len}-*")
    assert moved.read_bytes() == cut_line[:50]
    r = verify_log(path, keys=KEYS)
    assert r.size == 4
    last = parse_entry(lines(path)[-1])
    assert last["type"] == "audit.quarantine" and last["objects"]["counts"]["bytes"] == 50


def test_crash_between_entry_and_checkpoint_is_adopted(tmp_path: Path) -> None:
    clock = Clock()
    path = make_log(tmp_path, 4, clock)
    cut_commit(path, None)  # as if killed after the entry's fsync, before the checkpoint's
    expect(path, UncoveredEntries)
    with AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=clock) as log:
        assert log.size == 5  # adopted + audit.recovered
    r = verify_log(path, keys=KEYS)
    assert r.size == 5 and parse_entry(lines(path)[-1])["type"] == "audit.recovered"


CHILD = r"""
import sys, hashlib
from datetime import UTC, datetime
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from xinan.audit import AuditEvent, AuditLog, Ed25519Signer
raw = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"log").digest())
key = Ed25519Signer(sys.argv[2], raw)
now = lambda: datetime.now(UTC)
log = AuditLog.open(sys.argv[1], signer=key, origin=sys.argv[2], clock=now)
ids = ["r-%05d" % i for i in range(400)]
ev = AuditEvent("open", "querent-bank-01", "querent", objects={"record_ids": ids})
print("ready", flush=True)
while True:
    with log.batch():
        for _ in range(50):
            log.append(ev)
"""


def test_crash_with_killed_process(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    for attempt in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), ORIGIN],
            stdout=subprocess.PIPE,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        # on a loaded machine the child may not have written its first batch yet: an empty
        # file is not a torn one, so wait for bytes (at most 60 s), then kill at a random point
        deadline = time.monotonic() + 60
        while (not path.exists() or path.stat().st_size == 0) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3 + 0.17 * attempt)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        # whole entries or none: every complete line is a valid entry
        data = path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        for i, line in enumerate(complete.split(b"\n")[:-1]):
            assert parse_entry(line)["seq"] == i
        if not data.endswith(b"\n"):  # a torn tail is detected, never dropped
            with pytest.raises(TornLogError):
                AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=Clock())
            log = AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=Clock(), allow_torn=True)
            log.quarantine_torn_tail()
            log.close()
        # the next open adopts any entries fsynced before their checkpoint
        AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=Clock()).close()
        r = verify_log(path, keys=KEYS)
        assert r.size >= 50


# -- pruning ---------------------------------------------------------------------------------------


def test_prune_keeps_verification_and_proofs(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 1, 1, tzinfo=UTC))
    path = make_log(tmp_path, 0, clock)
    with AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=clock) as log:
        for i in range(11):
            log.append(event(i))
        clock.t = datetime(2025, 1, 1, tzinfo=UTC)
        for i in range(11, 20):
            log.append(event(i))
        trusted = log.latest_note
        now = datetime(2025, 1, 2, tzinfo=UTC)
        # one floor for xinan (issue 12 item 7): the policy's 184 days, not 180
        assert MIN_RETENTION_DAYS == AUDIT_LOG_MIN_DAYS == 184
        for short in (179, 180, 183):
            with pytest.raises(AuditRetentionError):
                log.prune(now, retention_days=short, now=now)
        res = log.prune(now, retention_days=184, now=now)
        assert res.entries == 11 and res.size == 11
        assert log.prune(now, retention_days=184, now=now).entries == 0
    assert parse_entry(lines(path)[0])["seq"] == 11
    r = verify_log(path, keys=KEYS, trusted_checkpoint=trusted)
    assert r.pruned == 11 and r.size == 21  # 20 + the audit.prune event
    assert parse_entry(lines(path)[-1])["type"] == "audit.prune"
    # proofs for remaining entries and from sizes ≥ the cut still work; from before, refused
    cp = verify_log(path, keys=KEYS).latest_checkpoint.encode()
    check_proof(prove_inclusion(path, 15), cp, keys=tuple(KEYS))
    check_proof(prove_consistency(path, 20), trusted, keys=tuple(KEYS))
    with pytest.raises(AuditError):
        prove_consistency(path, 5)
    # tampering after a prune is still named
    ls = lines(path)
    ls[2] = ls[2].replace(b"querent-bank-01", b"querent-bank-07")
    write_lines(path, ls)
    expect(path, EntryModified)


# -- proofs and cosignatures from a real log ---------------------------------------------


def test_proofs_from_log_and_flips(tmp_path: Path) -> None:
    clock = Clock()
    path = make_log(tmp_path, 5, clock)
    old = verify_log(path, keys=KEYS).latest_checkpoint.encode()
    with AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=clock) as log:
        for i in range(5, 21):
            log.append(event(i))
    head = verify_log(path, keys=KEYS).latest_checkpoint.encode()
    inc = prove_inclusion(path, 7)
    assert inc.startswith("c2sp.org/tlog-proof@v1\nextra ")
    assert check_proof(inc, head, keys=tuple(KEYS)).index == 7
    assert check_proof(inc, head, entry=lines(path)[7]).kind == "inclusion"
    with pytest.raises(IntegrityError):
        check_proof(inc, head, entry=lines(path)[8])
    cons = prove_consistency(path, 5)
    res = check_proof(cons, old, keys=tuple(KEYS))
    assert res.old_size == 5 and res.size == 21
    with pytest.raises(IntegrityError):
        check_proof(cons, head)  # wrong trusted size
    for proof in (inc, cons):
        head_part = proof.split("\n\n")[0]
        for i in range(len(head_part)):
            if head_part[i] == "\n":
                continue
            bad = proof[:i] + chr(ord(proof[i]) ^ 1) + proof[i + 1 :]
            with pytest.raises(Exception):  # noqa: B017  any rejection
                check_proof(bad, old if proof is cons else head, keys=tuple(KEYS))


def test_witness_cosignature_on_trusted_checkpoint(tmp_path: Path) -> None:
    path = make_log(tmp_path, 3)
    head = verify_log(path, keys=KEYS).latest_checkpoint.encode()
    witness = CosignatureSigner("witness.example/w1", _key(b"w"), lambda: datetime.now(UTC))
    cosigned = add_signatures(parse_note(head), [witness]).to_bytes()
    verify_log(path, keys=KEYS, witnesses=[witness.verifier()], trusted_checkpoint=cosigned)
    with pytest.raises(BadSignature):
        verify_log(path, keys=KEYS, witnesses=[witness.verifier()], trusted_checkpoint=head)
