"""RFC 9162 §2.1 Merkle trees: hashing, compact ranges, stored hashes, proofs.

Owns: the leaf and node hash (``H(0x00‖d)``, ``H(0x01‖l‖r)``) with a pluggable hash (SHA-256
or SM3, from :mod:`xinan.crypto.recipes`), the streaming root (:class:`CompactRange`, O(log n)
memory), the in-memory stored hashes (:class:`MerkleTree`, one array per level, see
docs/audit-log.md §3) and the generation and verification of inclusion and consistency proofs
(RFC 9162 §2.1.3 and §2.1.4).

Does not own: what a leaf is (the log decides: the bytes of one line), files, signatures.

Verification functions raise :class:`~xinan.audit.errors.InvalidProof`; they never return a
bool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from xinan.crypto.recipes import hash_function
from xinan.errors import InvalidProof

__all__ = [
    "HASHES",
    "CompactRange",
    "HashAlgorithm",
    "MerkleTree",
    "get_hash",
    "root_from_frontier",
    "verify_consistency",
    "verify_inclusion",
]


@dataclass(frozen=True)
class HashAlgorithm:
    """A 32-byte hash with RFC 9162 domain separation for leaves and interior nodes."""

    name: str
    digest: Callable[[bytes], bytes]
    size: int = 32

    def leaf(self, data: bytes) -> bytes:
        """``H(0x00 ‖ data)`` (RFC 9162 §2.1.1)."""
        return self.digest(b"\x00" + data)

    def node(self, left: bytes, right: bytes) -> bytes:
        """``H(0x01 ‖ left ‖ right)`` (RFC 9162 §2.1.1)."""
        return self.digest(b"\x01" + left + right)

    def empty(self) -> bytes:
        """``MTH({}) = H()``, the root of the empty tree."""
        return self.digest(b"")


# SHA-256 (intl, pq) or SM3 (gm, GB/T 32905-2016): the one-shot digests of the crypto layer.
HASHES: dict[str, HashAlgorithm] = {
    "sha256": HashAlgorithm("sha256", hash_function("sha256")),
    "sm3": HashAlgorithm("sm3", hash_function("sm3")),
}


def get_hash(name: str) -> HashAlgorithm:
    """The hash called ``name`` ("sha256" or "sm3")."""
    try:
        return HASHES[name]
    except KeyError:
        from xinan.errors import UsageError

        raise UsageError(
            f"unknown audit log hash {name!r}", hint="use 'sha256' (intl, pq) or 'sm3' (gm)"
        ) from None


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n ≥ 2), RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_frontier(frontier: Sequence[bytes], h: HashAlgorithm) -> bytes:
    """Root of a tree given its compact range (subtree roots, largest first)."""
    if not frontier:
        return h.empty()
    r = frontier[-1]
    node = h.node
    for x in reversed(frontier[:-1]):
        r = node(x, r)
    return r


class CompactRange:
    """The RFC 9162 compact range ``[0, size)``: one subtree root per set bit of ``size``.

    Appending is amortised one node hash per leaf; memory is O(log n). ``push_block`` adds a
    whole aligned block of ``2^k`` leaves at once (used by the verifier's fast path).
    """

    __slots__ = ("_h", "levels", "nodes", "size")

    def __init__(self, h: HashAlgorithm, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        levels = [k for k in range(size.bit_length() - 1, -1, -1) if size >> k & 1]
        if len(levels) != len(frontier):
            raise InvalidProof("compact range does not match its size")
        self._h = h
        self.size = size
        self.levels: list[int] = levels
        self.nodes: list[bytes] = list(frontier)

    def _push(self, level: int, digest: bytes) -> None:
        levels, nodes, node = self.levels, self.nodes, self._h.node
        while levels and levels[-1] == level:
            levels.pop()
            digest = node(nodes.pop(), digest)
            level += 1
        levels.append(level)
        nodes.append(digest)

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf hash."""
        self._push(0, leaf_hash)
        self.size += 1

    def push_block(self, level: int, digest: bytes) -> None:
        """Add a complete subtree of ``2^level`` leaves; ``size`` must be a multiple of it."""
        if self.size & ((1 << level) - 1):
            raise ValueError("block not aligned")
        self._push(level, digest)
        self.size += 1 << level

    def root(self) -> bytes:
        return root_from_frontier(self.nodes, self._h)

    def frontier(self) -> list[bytes]:
        return list(self.nodes)

    def copy(self) -> CompactRange:
        c = CompactRange(self._h)
        c.size, c.levels, c.nodes = self.size, list(self.levels), list(self.nodes)
        return c


def reduce_levels(hashes: list[bytes], h: HashAlgorithm) -> list[list[bytes]]:
    """All complete levels over ``hashes`` (level 0 = ``hashes``), pairing left to right."""
    node = h.node
    levels = [hashes]
    cur = hashes
    while len(cur) > 1:
        cur = [node(a, b) for a, b in zip(cur[0::2], cur[1::2], strict=False)]
        levels.append(cur)
    return levels


class MerkleTree:
    """Stored hashes: one array per level (docs/audit-log.md §3).

    Level ``k`` holds ``MTH(D[j·2^k:(j+1)·2^k])`` for every complete aligned subtree, as
    consecutive hashes in one ``bytearray``. After pruning a prefix of ``start`` leaves, level
    ``k`` begins at node ``start >> k`` and the compact range of the pruned prefix supplies the
    only earlier nodes a proof can need.

    Proof generation reads O(log² n) stored hashes and hashes nothing but the right edge: at
    a million leaves it takes tens of microseconds.
    """

    def __init__(
        self, h: HashAlgorithm, *, start: int = 0, start_frontier: Sequence[bytes] = ()
    ) -> None:
        CompactRange(h, start, start_frontier)  # checks the frontier's shape
        self.h = h
        self.start = start
        self.size = start
        self._levels: list[bytearray] = []
        self._offsets: list[int] = []
        self._frontier: dict[tuple[int, int], bytes] = {}
        pos = 0
        for k in range(start.bit_length() - 1, -1, -1):
            if start >> k & 1:
                pos += 1 << k
                self._frontier[(k, (pos >> k) - 1)] = start_frontier[len(self._frontier)]

    # -- building ------------------------------------------------------------------------
    def _level(self, k: int) -> bytearray:
        while len(self._levels) <= k:
            self._offsets.append(self.start >> len(self._levels))
            self._levels.append(bytearray())
        return self._levels[k]

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf hash and every node it completes."""
        j = self.size
        self._level(0).extend(leaf_hash)
        k = 0
        digest = leaf_hash
        while j & 1:
            digest = self.h.node(self.node(k, j - 1), digest)
            k += 1
            j >>= 1
            self._level(k).extend(digest)
        self.size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Add many leaf hashes (bulk levels when the tree is empty and unpruned)."""
        if self.size == 0 and self.start == 0:
            hashes = leaf_hashes if isinstance(leaf_hashes, list) else list(leaf_hashes)
            for k, level in enumerate(reduce_levels(hashes, self.h)):
                self._level(k).extend(b"".join(level))
            self.size = len(hashes)
            return
        for lh in leaf_hashes:
            self.append(lh)

    @classmethod
    def from_leaves(cls, leaves: Iterable[bytes], h: HashAlgorithm) -> MerkleTree:
        t = cls(h)
        leaf = h.leaf
        t.extend([leaf(d) for d in leaves])
        return t

    # -- lookups -------------------------------------------------------------------------
    def node(self, level: int, index: int) -> bytes:
        """The stored root of the complete subtree ``[index·2^level, (index+1)·2^level)``."""
        if level < len(self._levels):
            i = index - self._offsets[level]
            arr = self._levels[level]
            if i >= 0 and (i + 1) * 32 <= len(arr):
                return bytes(arr[i * 32 : i * 32 + 32])
        f = self._frontier.get((level, index))
        if f is not None:
            return f
        if (index + 1) << level <= self.start:
            from xinan.errors import AuditError

            raise AuditError(
                f"leaves below {self.start} were pruned; this proof needs them",
                hint="ask for a proof from a size at or after the prune point",
            )
        raise IndexError(f"no complete subtree at level {level} index {index}")

    def subtree(self, lo: int, hi: int) -> bytes:
        """``MTH(D[lo:hi])`` for the ranges RFC 9162 proofs use (``lo`` aligned)."""
        n = hi - lo
        if n <= 0 or hi > self.size:
            raise IndexError("subtree range out of bounds")
        if n & (n - 1) == 0:
            level = n.bit_length() - 1
            if lo & (n - 1):
                raise IndexError("unaligned subtree")
            return self.node(level, lo >> level)
        k = _split(n)
        return self.h.node(self.subtree(lo, lo + k), self.subtree(lo + k, hi))

    def root(self, size: int | None = None) -> bytes:
        """``MTH(D[0:size])`` for any size up to the current one (default: current)."""
        n = self.size if size is None else size
        if n > self.size or n < 0:
            raise IndexError("size beyond the tree")
        if n == 0:
            return self.h.empty()
        if n < self.start:
            from xinan.errors import AuditError

            raise AuditError(
                f"the root at size {n} needs pruned leaves (pruned below {self.start})"
            )
        return self.subtree(0, n)

    def leaf_hash(self, index: int) -> bytes:
        return self.node(0, index)

    # -- proofs (RFC 9162 §2.1.3.1 and §2.1.4.1) -----------------------------------------
    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """``PATH(index, D[size])``: the audit path, leaf's sibling first."""
        n = self.size if size is None else size
        if not 0 <= index < n <= self.size:
            raise IndexError(f"no entry {index} in a tree of size {n}")
        path: list[bytes] = []
        lo, hi = 0, n
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                path.append(self.subtree(lo + k, hi))
                hi = lo + k
            else:
                path.append(self.subtree(lo, lo + k))
                lo += k
        path.reverse()
        return path

    def consistency_proof(self, old_size: int, size: int | None = None) -> list[bytes]:
        """``PROOF(old_size, D[size])``; empty when ``old_size`` is 0 or equals ``size``."""
        n = self.size if size is None else size
        if not 0 <= old_size <= n <= self.size:
            raise IndexError(f"no consistency proof from {old_size} to {n}")
        if old_size in (0, n):
            return []
        proof: list[bytes] = []
        lo, hi, m, complete = 0, n, old_size, True
        while True:
            if m == hi - lo:
                if not complete:
                    proof.append(self.subtree(lo, hi))
                break
            k = _split(hi - lo)
            if m <= k:
                proof.append(self.subtree(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self.subtree(lo, lo + k))
                m -= k
                lo += k
                complete = False
        proof.reverse()
        return proof


# -- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) -------------------------------------------


def verify_inclusion(
    h: HashAlgorithm,
    leaf_hash: bytes,
    index: int,
    size: int,
    proof: Sequence[bytes],
    root: bytes,
) -> None:
    """Check that ``proof`` shows the leaf ``leaf_hash`` at ``index`` in the tree of ``size``
    leaves with root ``root``. Raises :class:`InvalidProof`; returns nothing."""
    if not 0 <= index < size:
        raise InvalidProof("inclusion proof: index outside the tree")
    fn, sn, r = index, size - 1, leaf_hash
    node = h.node
    for p in proof:
        if len(p) != h.size:
            raise InvalidProof("inclusion proof: malformed hash")
        if sn == 0:
            raise InvalidProof("inclusion proof: too long")
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise InvalidProof("inclusion proof does not verify")


def verify_consistency(
    h: HashAlgorithm,
    old_size: int,
    size: int,
    proof: Sequence[bytes],
    old_root: bytes,
    root: bytes,
) -> None:
    """Check that the tree of ``size`` leaves with ``root`` extends the tree of ``old_size``
    leaves with ``old_root``. Raises :class:`InvalidProof`; returns nothing."""
    if not 0 <= old_size <= size:
        raise InvalidProof("consistency proof: old size larger than new size")
    if any(len(p) != h.size for p in proof):
        raise InvalidProof("consistency proof: malformed hash")
    if old_size == 0:
        # Every tree extends the empty tree; the empty tree's root is fixed.
        if proof or old_root != h.empty():
            raise InvalidProof("consistency proof does not verify")
        return
    if old_size == size:
        if proof or old_root != root:
            raise InvalidProof("consistency proof does not verify")
        return
    if not proof:
        raise InvalidProof("consistency proof: empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    node = h.node
    for c in path[1:]:
        if sn == 0:
            raise InvalidProof("consistency proof: too long")
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != old_root or sr != root:
        raise InvalidProof("consistency proof does not verify")
