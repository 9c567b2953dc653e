"""Proof files: inclusion (C2SP tlog-proof@v1; ``xinan-audit-proof-sm3/1`` for SM3 logs) and
consistency (xinan-audit-consistency/1).

Owns the text formats of docs/audit-log.md §10, making proofs from a log file (through the
stored hashes of :class:`~xinan.audit.merkle.MerkleTree`) and checking them offline against a
trusted checkpoint.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from xinan._codec import b64decode
from xinan.audit.checkpoint import Checkpoint
from xinan.audit.log import _last_record, read_prune_state
from xinan.audit.merkle import MerkleTree, get_hash, verify_consistency, verify_inclusion
from xinan.audit.note import NoteVerifier, open_note, parse_note
from xinan.errors import AuditError, InvalidProof, NoteError, UsageError

__all__ = [
    "CONSISTENCY_HEADER",
    "SM3_PROOF_HEADER",
    "TLOG_PROOF_HEADER",
    "ProofResult",
    "check_proof",
    "load_tree",
    "prove_consistency",
    "prove_inclusion",
    "prove_inclusions",
]

TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
# A C2SP tlog-proof is defined over SHA-256 trees: a gm (SM3) log's inclusion proof has the same
# body under its own marker, so no C2SP tool takes it for one (docs/adr/0005-gm-audit-logs.md).
SM3_PROOF_HEADER = "xinan-audit-proof-sm3/1"
CONSISTENCY_HEADER = "xinan-audit-consistency/1"


def _b64(x: bytes) -> str:
    return base64.b64encode(x).decode()


def _unb64(s: str) -> bytes:
    try:
        return b64decode(s)
    except ValueError:
        raise InvalidProof("proof: malformed or non-canonical base64") from None


def load_tree(path: str | Path) -> tuple[MerkleTree, bytes]:
    """The stored hashes of the log at ``path`` and its latest signed checkpoint note.

    The tree is rebuilt from the file (about a second per million entries); the proof it
    yields is checked against the signed root before use, so it is never trusted blindly.
    """
    p = Path(path)
    rec, _, torn = _last_record(Path(str(p) + ".checkpoints"))
    if rec is None:
        raise AuditError(
            f"{p}: no signed checkpoint to prove against"
            + (f" (torn record at byte {torn})" if torn is not None else "")
        )
    cp = Checkpoint.parse(parse_note(rec.note).text)
    h = get_hash(cp.hash_name)
    prune = read_prune_state(p)
    tree = (
        MerkleTree(h, start=prune.size, start_frontier=prune.frontier) if prune else MerkleTree(h)
    )
    leaf = h.leaf
    with p.open("rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    lines.pop()  # after the last newline: empty, or a torn tail (not part of the tree)
    tree.extend([leaf(x) for x in lines[: max(0, cp.size - tree.start)]])
    if tree.size < cp.size or tree.root(cp.size) != cp.root:
        raise AuditError(
            f"{p}: the log does not match its latest checkpoint",
            hint="run `xinan audit verify` to find out why",
        )
    return tree, rec.note


def prove_inclusion(path: str | Path, index: int) -> str:
    """A tlog-proof for entry ``index`` against the log's latest checkpoint."""
    tree, note = load_tree(path)
    cp = Checkpoint.parse(parse_note(note).text)
    if not tree.start <= index < cp.size:
        raise UsageError(
            f"no entry {index} under the latest checkpoint (size {cp.size}"
            + (f", pruned below {tree.start})" if tree.start else ")")
        )
    hashes = tree.inclusion_proof(index, cp.size)
    entry = _entry_line(Path(path), index - tree.start)
    verify_inclusion(tree.h, tree.h.leaf(entry), index, cp.size, hashes, cp.root)
    lines = [_inclusion_header(cp.hash_name), f"extra {_b64(entry)}", f"index {index}"]
    lines += [_b64(x) for x in hashes]
    return "\n".join(lines) + "\n\n" + note.decode()


def prove_inclusions(path: str | Path, entries: Mapping[int, bytes]) -> dict[int, str]:
    """Inclusion proofs (the text :func:`prove_inclusion` prints) for many entries at once:
    ``entries`` maps a seq to the entry's line as the caller read it. The tree is built once
    (the auditor's report proves every entry it lists). Entries not under the latest
    checkpoint, or whose line does not verify against its signed root, get no proof."""
    tree, note = load_tree(path)
    cp = Checkpoint.parse(parse_note(note).text)
    out: dict[int, str] = {}
    for index, entry in entries.items():
        if not tree.start <= index < cp.size:
            continue
        hashes = tree.inclusion_proof(index, cp.size)
        try:
            verify_inclusion(tree.h, tree.h.leaf(entry), index, cp.size, hashes, cp.root)
        except InvalidProof:
            continue
        lines = [_inclusion_header(cp.hash_name), f"extra {_b64(entry)}", f"index {index}"]
        lines += [_b64(x) for x in hashes]
        out[index] = "\n".join(lines) + "\n\n" + note.decode()
    return out


def prove_consistency(path: str | Path, old_size: int) -> str:
    """A consistency proof from ``old_size`` to the log's latest checkpoint."""
    tree, note = load_tree(path)
    cp = Checkpoint.parse(parse_note(note).text)
    if not 0 <= old_size <= cp.size:
        raise UsageError(f"old size {old_size} is beyond the latest checkpoint ({cp.size})")
    hashes = tree.consistency_proof(old_size, cp.size)
    lines = [CONSISTENCY_HEADER, f"old {old_size}"] + [_b64(x) for x in hashes]
    return "\n".join(lines) + "\n\n" + note.decode()


def _inclusion_header(hash_name: str) -> str:
    return TLOG_PROOF_HEADER if hash_name == "sha256" else SM3_PROOF_HEADER


def _entry_line(p: Path, local: int) -> bytes:
    with p.open("rb") as f:
        for i, raw in enumerate(f):
            if i == local:
                return raw.rstrip(b"\n")
    raise UsageError(f"{p}: no line {local + 1}")


@dataclass(frozen=True)
class ProofResult:
    kind: str  # "inclusion" | "consistency"
    origin: str
    size: int
    index: int | None = None
    old_size: int | None = None
    signatures_checked: bool = False


def _is_decimal(s: str) -> bool:
    # ASCII digits without leading zeros (str.isdigit also admits "²" and "١", which int()
    # refuses or reads: one number, one spelling), at most 20 digits (a uint64).
    return 0 < len(s) <= 20 and s.isascii() and s.isdigit() and (s == "0" or s[0] != "0")


def _split_proof(proof: bytes | str) -> tuple[list[str], bytes]:
    # A proof file is UTF-8 text; as str it must be Unicode text (no lone surrogate), so that
    # the note it carries has exactly one byte string (issue 11).
    try:
        text = proof.decode("utf-8") if isinstance(proof, bytes) else proof
        text.encode("utf-8")
    except UnicodeError:
        raise InvalidProof("proof: not UTF-8 text") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise InvalidProof("proof: no checkpoint after the proof lines")
    return head.split("\n"), note.encode()


def check_proof(
    proof: bytes | str,
    checkpoint: bytes,
    *,
    entry: bytes | None = None,
    keys: tuple[NoteVerifier, ...] = (),
) -> ProofResult:
    """Verify a proof file offline against the trusted ``checkpoint``.

    Inclusion: the proof's checkpoint must be the same tree head as ``checkpoint``; the
    entry is ``entry`` if given, else the proof's ``extra`` data. Consistency: ``checkpoint``
    is the old head; the proof carries the new one. With ``keys``, every checkpoint's
    signature is checked too. Raises :class:`InvalidProof` or :class:`NoteError`.
    """
    lines, proof_note = _split_proof(proof)
    trusted_note = parse_note(checkpoint)
    trusted = Checkpoint.parse(trusted_note.text)
    carried_note = parse_note(proof_note)
    carried = Checkpoint.parse(carried_note.text)
    if keys:
        open_note(trusted_note, keys)
        open_note(carried_note, keys)
    if carried.origin != trusted.origin or carried.hash_name != trusted.hash_name:
        raise NoteError("proof is for another log")
    h = get_hash(trusted.hash_name)
    if lines[0] in (TLOG_PROOF_HEADER, SM3_PROOF_HEADER):
        if lines[0] != _inclusion_header(trusted.hash_name):
            raise InvalidProof(
                f"proof marker {lines[0]!r} does not match the log's hash ({trusted.hash_name})"
            )
        i = 1
        extra = None
        if len(lines) > i and lines[i].startswith("extra "):
            extra = _unb64(lines[i][6:])
            i += 1
        if len(lines) <= i or not lines[i].startswith("index "):
            raise InvalidProof("proof: no index line")
        idx_s = lines[i][6:]
        if not _is_decimal(idx_s):
            raise InvalidProof("proof: malformed index")
        hashes = [_unb64(x) for x in lines[i + 1 :]]
        if carried != trusted:
            raise InvalidProof("proof is against another checkpoint than the one given")
        data = entry if entry is not None else extra
        if data is None:
            raise UsageError("the proof carries no entry: pass --entry FILE")
        verify_inclusion(h, h.leaf(data), int(idx_s), trusted.size, hashes, trusted.root)
        return ProofResult("inclusion", trusted.origin, trusted.size, int(idx_s), None, bool(keys))
    if lines[0] == CONSISTENCY_HEADER:
        if len(lines) < 2 or not lines[1].startswith("old "):
            raise InvalidProof("proof: no old size line")
        old_s = lines[1][4:]
        if not _is_decimal(old_s) or int(old_s) != trusted.size:
            raise InvalidProof("proof starts from another size than the trusted checkpoint")
        hashes = [_unb64(x) for x in lines[2:]]
        verify_consistency(h, trusted.size, carried.size, hashes, trusted.root, carried.root)
        return ProofResult(
            "consistency", trusted.origin, carried.size, None, trusted.size, bool(keys)
        )
    raise InvalidProof("not a proof file (unknown first line)")
