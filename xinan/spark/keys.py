"""What Spark's executors are given to work with, and the per-row key schedule (docs/spark.md §5).

Owns: :class:`ExecutorKeys`, the one object that carries key material from the driver to the
executors, and the derivations that make a retried or speculative task write the same bytes:
record ids, record keys and record-key nonces are functions of (package key, partition, row).

What executors receive — and what they never receive:

* the package key ``K_p`` of this one package (a data key: fresh from the CSPRNG per job, of
  no use for any other package), its package id and the suite name;
* the material of the pseudonym keys the policy asks for (symmetric HMAC keys), with key ids;
* never a private key (signing, KEM/unwrapping) and never a passphrase: the driver signs the
  package and the partition manifests and wraps ``K_p`` to the recipients itself.

The object travels inside the pickled ``mapInArrow`` function, never in the query plan: unlike
Spark's ``aes_encrypt(col, key)``, no key shows in ``explain()``, the SQL tab or the event
log. Production clusters must still turn on Spark's own RPC authentication and encryption
(``spark.authenticate``, ``spark.network.crypto.enabled``, ``spark.io.encryption.enabled``):
the closure crosses the network to the executors.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from xinan._codec import b32_lower_many
from xinan.crypto import get_suite
from xinan.crypto.base import CryptoSuite, SuiteName

__all__ = ["SPARK_FORMAT", "ExecutorKeys", "PseudonymMaterial"]

SPARK_FORMAT = "xinan-spark/1"
_V = SPARK_FORMAT.encode("ascii")
L_RECORD_KEY = _V + b" record-key\x00"
L_RECORD_ID = _V + b" record-id\x00"
_CTR1 = b"\x00\x00\x00\x01"  # SP 800-56C Rev. 2 §4.1 one-step KDF, first block (as package §5.3)


@dataclass(frozen=True)
class PseudonymMaterial:
    """One pseudonym key as an executor holds it: key id, suite and the HMAC key bytes."""

    key_id: str
    suite: SuiteName
    material: bytes = field(repr=False)


class _Pseudonymizer:
    """xinan.masking.Pseudonymizer over shipped material (the suite's HMAC)."""

    __slots__ = ("_key", "_mac", "key_id")

    def __init__(self, m: PseudonymMaterial, compliance_mode: str) -> None:
        self.key_id = m.key_id
        self._key = m.material
        # the suite's HMAC (HMAC-SHA256 or HMAC-SM3), as xinan.keys.SecretKey.mac
        self._mac = get_suite(m.suite, compliance_mode=compliance_mode).mac

    def mac(self, data: bytes) -> bytes:
        return self._mac(self._key, data)

    def __repr__(self) -> str:
        return f"<spark pseudonym key {self.key_id}>"


@dataclass(frozen=True)
class ExecutorKeys:
    """Everything keyed that an executor needs for one job (see the module docstring).

    ``package_key`` is None for a job that seals nothing (masked views only).
    """

    suite: SuiteName
    compliance_mode: str
    package_id: str = ""  # 32 hex digits when sealing
    package_key: bytes | None = field(default=None, repr=False)
    pseudonyms: Mapping[str, PseudonymMaterial] = field(default_factory=dict)

    def __repr__(self) -> str:
        ids = ", ".join(f"{ns}={m.key_id}" for ns, m in self.pseudonyms.items())
        return f"<ExecutorKeys {self.suite.value} package={self.package_id or '-'} {ids}>"

    def __getstate__(self) -> dict[str, Any]:
        # Spark pickles the function that carries these keys (cloudpickle): allowed here, and
        # only here; xinan.keys.SecretKey and Identity refuse to be pickled at all.
        return dict(self.__dict__)

    def crypto(self) -> CryptoSuite:
        return get_suite(self.suite, compliance_mode=self.compliance_mode)

    def pseudonymizers(self) -> dict[str, _Pseudonymizer]:
        return {ns: _Pseudonymizer(m, self.compliance_mode) for ns, m in self.pseudonyms.items()}

    def fingerprint(self) -> bytes:
        """A hash of every key held (for caches keyed by job: two jobs never share state)."""
        parts = [self.suite.value.encode(), self.package_id.encode(), self.package_key or b""]
        for ns, m in sorted(self.pseudonyms.items()):
            parts += [ns.encode(), m.key_id.encode(), m.material]
        return self.crypto().digest(b"xinan-spark/1 cache\x00" + b"".join(enc(p) for p in parts))

    def key_ids(self) -> list[str]:
        return sorted({m.key_id for m in self.pseudonyms.values()})


def enc(b: bytes) -> bytes:
    return len(b).to_bytes(4, "big") + b


def _position(partition: int, row: int) -> bytes:
    return partition.to_bytes(4, "big") + row.to_bytes(8, "big")


def record_key(
    suite: CryptoSuite, package_key: bytes, pid: bytes, partition: int, row: int
) -> bytes:
    """``K_r`` of the record at (partition, row): the one-step KDF of package §5.3 over ``K_p``.

    Full-entropy and unique per record because ``K_p`` is fresh per package and (partition,
    row) is unique in it; deterministic so that a retried task derives the same key.
    """
    fixed = L_RECORD_KEY + pid + _position(partition, row)
    return suite.digest(_CTR1 + package_key + fixed)[: suite.key_len]


def record_id(suite: CryptoSuite, package_key: bytes, pid: bytes, partition: int, row: int) -> str:
    """The record id at (partition, row): ``r`` + 26 base32 characters, like a local seal's.

    Keyed by ``K_p``: the id reveals nothing of the record's content (package §4 asks that
    ids not be derived from content) nor, without ``K_p``, its position."""
    fixed = L_RECORD_ID + pid + _position(partition, row)
    tag = suite.digest(_CTR1 + package_key + fixed)[:16]
    return "r" + base64.b32encode(tag).decode().rstrip("=").lower()


def b32_ids(tags: Sequence[bytes]) -> list[str]:
    """``"r" + base32_lower(tag)`` for many 16-byte tags at once: :func:`record_id`'s strings."""
    return b32_lower_many(list(tags), "r")


def record_ids_and_keys(
    suite: CryptoSuite, package_key: bytes, pid: bytes, partition: int, rows: Sequence[int]
) -> tuple[list[str], list[bytes]]:
    """:func:`record_id` and :func:`record_key` for many rows of one partition (the same
    values, computed with the common prefixes hashed into once per batch)."""
    digest = suite.digest
    part = partition.to_bytes(4, "big")
    id_pre = _CTR1 + package_key + L_RECORD_ID + pid + part
    key_pre = _CTR1 + package_key + L_RECORD_KEY + pid + part
    kl = suite.key_len
    tags = []
    keys = []
    for r in rows:
        pos = r.to_bytes(8, "big")
        tags.append(digest(id_pre + pos)[:16])
        keys.append(digest(key_pre + pos)[:kl])
    return b32_ids(tags), keys


def record_key_nonce(partition: int, row: int) -> bytes:
    """The nonce that wraps ``K_r`` under ``K_p``: ``u32(1 + partition) ‖ u64(row)``.

    A local seal uses ``u32(0) ‖ u64(index)`` (package §5.2); a partition's first word is never
    0, so the two never meet, and (partition, row) is unique within the package."""
    return (1 + partition).to_bytes(4, "big") + row.to_bytes(8, "big")
