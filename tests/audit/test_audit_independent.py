"""An independent RFC 6962/9162 implementation agrees with xinan's audit log (issue 5, "done
when"): pymerkle, given nothing but the log file, recomputes the root of every signed
checkpoint, and accepts the inclusion proofs and consistency proofs that `xinan audit prove`
prints. pymerkle (https://github.com/fmerg/pymerkle) shares no code with xinan."""

from __future__ import annotations

import base64
import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pymerkle = pytest.importorskip("pymerkle")

from xinan.audit.checkpoint import Checkpoint  # noqa: E402
from xinan.audit.entry import AuditEvent  # noqa: E402
from xinan.audit.log import AuditLog, read_sidecar  # noqa: E402
from xinan.audit.note import Ed25519Signer, parse_note  # noqa: E402
from xinan.audit.proof import prove_consistency, prove_inclusion  # noqa: E402

ORIGIN = "xinan.test/independent"


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> Path:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = tmp_path_factory.mktemp("ind") / "audit.log"
    signer = Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    n = 0
    # single appends and batches of several sizes: checkpoints at irregular tree sizes
    for batch in (1, 1, 3, 7, 1, 16, 2, 5, 1, 30):
        with (
            AuditLog.open(
                path, signer=signer, origin=ORIGIN, clock=lambda n=n: t0 + timedelta(seconds=n)
            ) as a,
            a.batch(),
        ):
            for _ in range(batch):
                a.append(
                    AuditEvent(
                        "open",
                        "xk1independenttest",
                        "platform",
                        objects={"record_ids": [f"r{n}"], "counts": {"n": n}},
                        why={"purpose": "测试 independent check"},
                    )
                )
                n += 1
    return path


def _entries(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]  # each leaf: the line's bytes without the LF


def _tree(entries: list[bytes]):
    t = pymerkle.InmemoryTree(algorithm="sha256")
    for e in entries:
        t.append_entry(e)
    return t


def test_independent_roots_match_every_signed_checkpoint(log):
    entries = _entries(log)
    tree = _tree(entries)
    records, _ = read_sidecar(Path(f"{log}.checkpoints"))
    assert len(records) >= 10
    for rec in records:
        cp = Checkpoint.parse(parse_note(rec.note).text)
        assert tree.get_root(cp.size) == cp.root, cp.size
    # and the definition, once more, for the whole log
    leaves = [hashlib.sha256(b"\x00" + e).digest() for e in entries]
    assert len(leaves) == tree.get_size() == 67


def _proof_hashes(text: str) -> tuple[int, list[bytes]]:
    head = text.split("\n\n", 1)[0].splitlines()
    index = int(next(x for x in head if x.startswith("index ")).split()[1])
    hashes = [base64.b64decode(x) for x in head if not x.startswith(("c2sp.org", "extra", "index"))]
    return index, hashes


@pytest.mark.parametrize("index", [0, 1, 2, 5, 17, 31, 32, 40, 66])
def test_independent_verifier_accepts_our_inclusion_proofs(log, index):
    entries = _entries(log)
    tree = _tree(entries)
    text = prove_inclusion(log, index)
    got_index, ours = _proof_hashes(text)
    assert got_index == index
    cp = Checkpoint.parse(parse_note(text.split("\n\n", 1)[1].encode()).text)
    theirs = tree.prove_inclusion(index + 1, cp.size)  # pymerkle counts leaves from 1
    leaf = hashlib.sha256(b"\x00" + entries[index]).digest()
    # pymerkle's path is the leaf hash followed by the RFC 9162 audit path: ours, hash for hash
    assert [bytes.fromhex(x) for x in theirs.serialize()["path"]] == [leaf, *ours]
    proof = pymerkle.proof.InclusionProof(
        "sha256",
        True,
        cp.size,
        index + 1,
        theirs.serialize()["rule"],
        [leaf, *ours],
    )
    pymerkle.verify_inclusion(leaf, cp.root, proof)  # raises if it does not hold
    bad = list(ours)
    if bad:
        bad[0] = bytes([bad[0][0] ^ 1]) + bad[0][1:]
        forged = pymerkle.proof.InclusionProof(
            "sha256",
            True,
            cp.size,
            index + 1,
            theirs.serialize()["rule"],
            [leaf, *bad],
        )
        with pytest.raises(pymerkle.InvalidProof):
            pymerkle.verify_inclusion(leaf, cp.root, forged)


def test_independent_consistency_between_our_signed_checkpoints(log):
    """Every pair of signed checkpoints is consistent by pymerkle's own consistency proofs
    (pymerkle decomposes consistency paths differently from RFC 9162 §2.1.4, so here it checks
    our signed roots, and our RFC 9162 proofs are checked against the CT vectors elsewhere)."""
    entries = _entries(log)
    tree = _tree(entries)
    records, _ = read_sidecar(Path(f"{log}.checkpoints"))
    cps = [Checkpoint.parse(parse_note(r.note).text) for r in records]
    for old, new in itertools.pairwise(cps):
        proof = tree.prove_consistency(old.size, new.size)
        pymerkle.verify_consistency(old.root, new.root, proof)
    with pytest.raises(pymerkle.InvalidProof):
        bad = bytes([cps[0].root[0] ^ 1]) + cps[0].root[1:]
        pymerkle.verify_consistency(
            bad, cps[-1].root, tree.prove_consistency(cps[0].size, cps[-1].size)
        )
    text = prove_consistency(log, cps[0].size)
    assert text.startswith("xinan-audit-consistency/1\n")
