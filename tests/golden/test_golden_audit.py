"""Golden files of the audit family's wire formats (docs/audit-log.md): the signed checkpoint
note; the log of xinan-audit/1 entries with its checkpoint sidecar; inclusion and consistency
proofs. The positive artifact was written once by tests/golden/make_checkpoint.py from a seeded
key; today's reader must accept it with the pinned values, today's writer must reproduce it
byte for byte (Ed25519 is deterministic), and every committed mutation must be refused with
the xinan error named in the table below — never another exception."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.golden.make_audit_log import write_log
from tests.golden.make_checkpoint import positive, signer
from xinan.audit.checkpoint import open_checkpoint
from xinan.audit.entry import parse_entry
from xinan.audit.note import NoteVerifier, read_vkeys
from xinan.audit.proof import check_proof, prove_consistency, prove_inclusion
from xinan.audit.verify import verify_log
from xinan.errors import (
    BadSignature,
    EntriesMissing,
    EntriesReordered,
    EntryModified,
    InvalidProof,
    LogTruncated,
    NoteError,
    XinanError,
)

GOLDEN = Path(__file__).resolve().parent / "checkpoint"

# mutation file -> the xinan error class its reader must raise
CHECKPOINT_REFUSALS: dict[str, type[XinanError]] = {
    "sig_flipped.note": NoteError,
    "size_changed.note": NoteError,
    "size_leading_zero.note": NoteError,
    "origin_changed.note": NoteError,
    "truncated.note": NoteError,
    "no_final_newline.note": NoteError,
    "no_signature.note": NoteError,
    "unknown_extension.note": NoteError,
    "control_char.note": NoteError,
    "wrong_key.note": NoteError,
    "two_signatures.note": NoteError,
    "not_utf8.note": NoteError,
}


def _keys():  # the verifier key as an auditor holds it: the committed vkey file
    return read_vkeys(GOLDEN / "vkey.txt")


def test_checkpoint_golden_read() -> None:
    expected = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))
    cp, note = open_checkpoint((GOLDEN / "checkpoint.note").read_bytes(), _keys())
    assert cp.origin == expected["origin"]
    assert cp.size == expected["size"]
    assert cp.root.hex() == expected["root_sha256_hex"]
    assert cp.hash_name == expected["hash_name"]
    assert [s.name for s in note.signatures] == expected["signers"]


def test_checkpoint_golden_written_again() -> None:
    assert positive() == (GOLDEN / "checkpoint.note").read_bytes()
    assert signer().verifier().vkey() + "\n" == (GOLDEN / "vkey.txt").read_text(encoding="utf-8")


def test_checkpoint_mutations_all_listed() -> None:
    assert sorted(p.name for p in (GOLDEN / "bad").iterdir()) == sorted(CHECKPOINT_REFUSALS)


@pytest.mark.parametrize("name", sorted(CHECKPOINT_REFUSALS))
def test_checkpoint_mutation_refused(name: str) -> None:
    data = (GOLDEN / "bad" / name).read_bytes()
    with pytest.raises(XinanError) as info:
        open_checkpoint(data, _keys(), origin="example.gov.cn/xinan-audit/golden")
    assert type(info.value) is CHECKPOINT_REFUSALS[name], info.value


def test_checkpoint_every_byte_flip_refused() -> None:
    good = (GOLDEN / "checkpoint.note").read_bytes()
    keys = _keys()
    for i in range(len(good)):
        bad = bytearray(good)
        bad[i] ^= 0x01
        with pytest.raises(NoteError):
            open_checkpoint(bytes(bad), keys, origin="example.gov.cn/xinan-audit/golden")


# -- the log, its sidecar and proofs (tests/golden/make_audit_log.py) -------------------------
LOG = Path(__file__).resolve().parent / "audit_log"

# file in audit_log/bad -> the xinan error its reader raises (verify_log for .log files, with
# the good sidecar beside them; check_proof for .proof files)
AUDIT_LOG_REFUSALS: dict[str, type[XinanError]] = {
    "entry_changed.log": EntryModified,
    "entry_reencoded.log": EntryModified,
    "entry_wrong_version.log": EntryModified,
    "entries_swapped.log": EntriesReordered,
    "entry_dropped.log": EntriesMissing,
    "truncated.log": LogTruncated,
    "torn_tail.log": LogTruncated,
    "sidecar_sig_flipped.checkpoints": BadSignature,  # the good log beside it
    "inclusion_hash_flipped.proof": InvalidProof,
    "inclusion_index_changed.proof": InvalidProof,
    "inclusion_wrong_header.proof": InvalidProof,
    "inclusion_no_note.proof": InvalidProof,
    "consistency_hash_flipped.proof": InvalidProof,
    "consistency_old_changed.proof": InvalidProof,
}


def _log_keys() -> tuple[NoteVerifier, ...]:
    return tuple(read_vkeys(LOG / "vkey.txt"))


def _head() -> bytes:  # the size-5 checkpoint the inclusion proof carries, as an auditor keeps it
    return (LOG / "inclusion-2.proof").read_bytes().split(b"\n\n", 1)[1]


def test_audit_log_golden_read() -> None:
    keys = _log_keys()
    report = verify_log(LOG / "audit.log", keys=keys)
    assert report.ok and report.size == 5
    entries = [parse_entry(x) for x in (LOG / "audit.log").read_bytes().split(b"\n")[:-1]]
    assert [e["seq"] for e in entries] == [0, 1, 2, 3, 4]
    assert {e["v"] for e in entries} == {"xinan-audit/1"}
    assert entries[2]["time"] == "2026-03-02T09:30:03.000000Z"
    assert entries[2]["objects"]["record_ids"] == ["r-golden-0002"]
    inc = check_proof((LOG / "inclusion-2.proof").read_bytes(), _head(), keys=keys)
    assert (inc.kind, inc.size, inc.index) == ("inclusion", 5, 2)
    con = check_proof(
        (LOG / "consistency-3.proof").read_bytes(),
        (LOG / "checkpoint-3.note").read_bytes(),
        keys=keys,
    )
    assert (con.kind, con.old_size, con.size) == ("consistency", 3, 5)


def test_audit_log_golden_written_again(tmp_path: Path) -> None:
    path = write_log(tmp_path)
    for name in ("audit.log", "audit.log.checkpoints"):
        assert (tmp_path / name).read_bytes() == (LOG / name).read_bytes(), name
    assert prove_inclusion(path, 2) == (LOG / "inclusion-2.proof").read_text(encoding="utf-8")
    assert prove_consistency(path, 3) == (LOG / "consistency-3.proof").read_text(encoding="utf-8")


def test_audit_log_mutations_all_listed() -> None:
    assert sorted(p.name for p in (LOG / "bad").iterdir()) == sorted(AUDIT_LOG_REFUSALS)


@pytest.mark.parametrize("name", sorted(AUDIT_LOG_REFUSALS))
def test_audit_log_mutation_refused(tmp_path: Path, name: str) -> None:
    src = LOG / "bad" / name
    keys = _log_keys()
    with pytest.raises(XinanError) as info:
        if name.endswith(".log"):
            shutil.copy(src, tmp_path / "audit.log")
            shutil.copy(LOG / "audit.log.checkpoints", tmp_path / "audit.log.checkpoints")
            verify_log(tmp_path / "audit.log", keys=keys)
        elif name.endswith(".checkpoints"):
            shutil.copy(LOG / "audit.log", tmp_path / "audit.log")
            shutil.copy(src, tmp_path / "audit.log.checkpoints")
            verify_log(tmp_path / "audit.log", keys=keys)
        elif name.startswith("inclusion"):
            check_proof(src.read_bytes(), _head(), keys=keys)
        else:
            check_proof(src.read_bytes(), (LOG / "checkpoint-3.note").read_bytes(), keys=keys)
    assert type(info.value) is AUDIT_LOG_REFUSALS[name], info.value


def test_inclusion_proof_every_byte_flip_refused() -> None:
    good = (LOG / "inclusion-2.proof").read_bytes()
    head, keys = _head(), _log_keys()
    for i in range(len(good)):
        bad = bytearray(good)
        bad[i] ^= 0x01
        with pytest.raises((InvalidProof, NoteError)):
            check_proof(bytes(bad), head, keys=keys)
