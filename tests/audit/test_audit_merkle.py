"""Merkle trees and proofs: RFC 6962 by definition for every size 0..64, the Argon 2020 CT
vectors, and every proof with flipped bits rejected."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinan.audit.merkle import (
    CompactRange,
    MerkleTree,
    get_hash,
    verify_consistency,
    verify_inclusion,
)
from xinan.errors import InvalidProof

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "ct-argon2020"
SHA = get_hash("sha256")
SM3 = get_hash("sm3")

# -- RFC 6962 §2.1, written from the definitions, recursively (the oracle) ----------------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return _h(b"")
    if len(d) == 1:
        return _h(b"\x00" + d[0])
    k = _k(len(d))
    return _h(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def proof(m: int, d: list[bytes]) -> list[bytes]:
    return subproof(m, d, True) if 0 < m < len(d) else []


LEAVES = [b"leaf %d" % i for i in range(64)]


def _flips(p: list[bytes], every_bit: bool = True):
    """Yield copies of ``p`` with one bit flipped (every bit, or one bit per byte)."""
    for i, x in enumerate(p):
        for j in range(len(x)):
            for bit in range(8) if every_bit else (j % 8,):
                y = bytearray(x)
                y[j] ^= 1 << bit
                yield [*p[:i], bytes(y), *p[i + 1 :]]


# -- roots -----------------------------------------------------------------------------


def test_roots_every_size_match_definition() -> None:
    tree = MerkleTree(SHA)
    cr = CompactRange(SHA)
    assert tree.root() == mth([]) == SHA.empty()
    for n in range(1, 65):
        tree.append(SHA.leaf(LEAVES[n - 1]))
        cr.append(SHA.leaf(LEAVES[n - 1]))
        want = mth(LEAVES[:n])
        assert tree.root() == want
        assert cr.root() == want
        # roots at every earlier size from the same stored hashes
        for m in range(n + 1):
            assert tree.root(m) == mth(LEAVES[:m])


def test_bulk_build_equals_incremental() -> None:
    for n in (0, 1, 2, 3, 5, 8, 13, 64):
        bulk = MerkleTree.from_leaves(LEAVES[:n], SHA)
        assert bulk.root() == mth(LEAVES[:n])
        assert bulk.size == n


# -- proofs, every size 0..64 ------------------------------------------------------------


def test_inclusion_every_size_and_index() -> None:
    tree = MerkleTree.from_leaves(LEAVES, SHA)
    for n in range(1, 65):
        root = mth(LEAVES[:n])
        for m in range(n):
            p = tree.inclusion_proof(m, n)
            assert p == path(m, LEAVES[:n]), (m, n)
            verify_inclusion(SHA, SHA.leaf(LEAVES[m]), m, n, p, root)
            with pytest.raises(InvalidProof):  # wrong index
                verify_inclusion(SHA, SHA.leaf(LEAVES[m]), (m + 1) % n if n > 1 else 1, n, p, root)
            with pytest.raises(InvalidProof):  # a longer path than the size allows
                verify_inclusion(SHA, SHA.leaf(LEAVES[m]), m, n, [*p, root], root)


def test_consistency_every_pair() -> None:
    tree = MerkleTree.from_leaves(LEAVES, SHA)
    for n in range(0, 65):
        for m in range(0, n + 1):
            p = tree.consistency_proof(m, n)
            assert p == proof(m, LEAVES[:n]), (m, n)
            verify_consistency(SHA, m, n, p, mth(LEAVES[:m]), mth(LEAVES[:n]))
            if 0 < m < n:
                with pytest.raises(InvalidProof):
                    verify_consistency(SHA, m, n, p, mth(LEAVES[:m]), mth(LEAVES[: n - 1]))
                with pytest.raises(InvalidProof):
                    verify_consistency(SHA, m, n, p[:-1], mth(LEAVES[:m]), mth(LEAVES[:n]))
                with pytest.raises(InvalidProof):
                    verify_consistency(SHA, m, n, [*p, p[0]], mth(LEAVES[:m]), mth(LEAVES[:n]))


def test_every_bit_flip_rejected_small_trees() -> None:
    tree = MerkleTree.from_leaves(LEAVES, SHA)
    for n in (1, 2, 3, 7, 8, 13, 33, 64):
        root = mth(LEAVES[:n])
        for m in {0, n // 3, n - 1}:
            p = tree.inclusion_proof(m, n)
            for bad in _flips(p):
                with pytest.raises(InvalidProof):
                    verify_inclusion(SHA, SHA.leaf(LEAVES[m]), m, n, bad, root)
            for bad_leaf in _flips([SHA.leaf(LEAVES[m])]):
                with pytest.raises(InvalidProof):
                    verify_inclusion(SHA, bad_leaf[0], m, n, p, root)
        for m in {1, n // 2, n - 1}:
            if not 0 < m < n:
                continue
            p = tree.consistency_proof(m, n)
            for bad in _flips(p):
                with pytest.raises(InvalidProof):
                    verify_consistency(SHA, m, n, bad, mth(LEAVES[:m]), root)


def test_consistency_edge_cases() -> None:
    e = SHA.empty()
    verify_consistency(SHA, 0, 0, [], e, e)
    verify_consistency(SHA, 0, 5, [], e, mth(LEAVES[:5]))
    with pytest.raises(InvalidProof):
        verify_consistency(SHA, 0, 5, [], b"\x00" * 32, mth(LEAVES[:5]))
    with pytest.raises(InvalidProof):
        verify_consistency(SHA, 6, 5, [], e, e)
    with pytest.raises(InvalidProof):
        verify_consistency(SHA, 3, 3, [], mth(LEAVES[:3]), mth(LEAVES[:2]))
    with pytest.raises(InvalidProof):
        verify_inclusion(SHA, SHA.leaf(b"x"), 0, 0, [], e)


def test_sm3_tree_uses_sm3() -> None:
    t = MerkleTree.from_leaves(LEAVES[:5], SM3)
    # SM3("abc") known answer, GB/T 32905-2016 A.1
    assert SM3.digest(b"abc").hex().startswith("66c7f0f462eeedd9")
    assert t.root() != MerkleTree.from_leaves(LEAVES[:5], SHA).root()
    p = t.inclusion_proof(3)
    verify_inclusion(SM3, SM3.leaf(LEAVES[3]), 3, 5, p, t.root())
    with pytest.raises(InvalidProof):
        verify_inclusion(SHA, SHA.leaf(LEAVES[3]), 3, 5, p, t.root())


def test_pruned_tree_keeps_proofs() -> None:
    full = MerkleTree.from_leaves(LEAVES, SHA)
    for start in (1, 3, 8, 13, 31, 40):
        cr = CompactRange(SHA)
        for d in LEAVES[:start]:
            cr.append(SHA.leaf(d))
        t = MerkleTree(SHA, start=start, start_frontier=cr.frontier())
        for d in LEAVES[start:]:
            t.append(SHA.leaf(d))
        assert t.root() == full.root()
        for n in range(start, 65):
            assert t.root(n) == full.root(n)
            for m in range(start, n):
                assert t.inclusion_proof(m, n) == full.inclusion_proof(m, n)
            for m in range(start, n + 1):
                assert t.consistency_proof(m, n) == full.consistency_proof(m, n)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=200), st.data())
def test_property_proofs_roundtrip(leaves: list[bytes], data: st.DataObject) -> None:
    t = MerkleTree.from_leaves(leaves, SHA)
    n = data.draw(st.integers(1, len(leaves)))
    m = data.draw(st.integers(0, n - 1))
    verify_inclusion(SHA, SHA.leaf(leaves[m]), m, n, t.inclusion_proof(m, n), t.root(n))
    old = data.draw(st.integers(0, n))
    verify_consistency(SHA, old, n, t.consistency_proof(old, n), t.root(old), t.root(n))


# -- Argon 2020 (real CT log responses, golang/mod sumdb/tlog testdata) --------------------


def _load(name: str) -> dict:
    return json.loads((VECTORS / name).read_text())


def test_argon2020_inclusion() -> None:
    sth = _load("sth.json")
    pr = _load("proof.json")
    entry = _load("entries.json")["entries"][0]
    root = base64.b64decode(sth["sha256_root_hash"])
    leaf = SHA.leaf(base64.b64decode(entry["leaf_input"]))
    p = [base64.b64decode(x) for x in pr["audit_path"]]
    size = sth["tree_size"]
    verify_inclusion(SHA, leaf, pr["leaf_index"], size, p, root)
    for bad in _flips(p, every_bit=False):
        with pytest.raises(InvalidProof):
            verify_inclusion(SHA, leaf, pr["leaf_index"], size, bad, root)
    with pytest.raises(InvalidProof):
        verify_inclusion(SHA, leaf, pr["leaf_index"] + 1, size, p, root)


def test_argon2020_consistency() -> None:
    sth = _load("sth.json")
    cons = [base64.b64decode(x) for x in _load("consistency.json")["consistency"]]
    old_root = base64.b64decode("AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ=")
    root = base64.b64decode(sth["sha256_root_hash"])
    verify_consistency(SHA, 3654490, sth["tree_size"], cons, old_root, root)
    for bad in _flips(cons, every_bit=False):
        with pytest.raises(InvalidProof):
            verify_consistency(SHA, 3654490, sth["tree_size"], bad, old_root, root)
    with pytest.raises(InvalidProof):
        verify_consistency(SHA, 3654491, sth["tree_size"], cons, old_root, root)
