"""Golden files of the audit family's wire formats (docs/audit-log.md): the signed checkpoint
note. The positive artifact was written once by tests/golden/make_checkpoint.py from a seeded
key; today's reader must accept it with the pinned values, today's writer must reproduce it
byte for byte (Ed25519 is deterministic), and every committed mutation must be refused with
the xinan error named in the table below — never another exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.golden.make_checkpoint import positive, signer
from xinan.audit.checkpoint import open_checkpoint
from xinan.audit.note import read_vkeys
from xinan.errors import NoteError, XinanError

GOLDEN = Path(__file__).resolve().parent / "golden" / "checkpoint"

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
