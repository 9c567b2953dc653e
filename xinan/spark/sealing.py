"""Record lines of a ``xinan-package/1`` submission, sealed on an executor (docs/spark.md §5).

Owns: turning one validated record into the exact record line of docs/package.md §4–§5 with
keys and nonces derived from (package key, partition, row) (:mod:`xinan.spark.keys`) instead
of drawn at random, so that a retried task writes the same bytes. The driver writes the
header (the recipients' wraps) and the trailer (the signature) around the lines
(:mod:`xinan.spark.package`).

ENGINE SEAM: the line layout repeats the hot loop of
:func:`xinan.formats.package.seal_package`; the tests open every line with the package
reader (``open_package``), which is what keeps the two in step until the batch engine's
sealer (issue 13) takes explicit record keys and this module calls it instead.
"""

from __future__ import annotations

import binascii
from collections.abc import Sequence
from json.encoder import encode_basestring

from xinan.errors import InputError
from xinan.formats.package import L_FC, L_FK, L_RK, L_VALUE, enc
from xinan.spark.keys import ExecutorKeys, record_id, record_key, record_key_nonce

__all__ = ["RecordSealer"]

_CTR1 = b"\x00\x00\x00\x01"  # package §5.3: SP 800-56C one-step KDF, first block
_ZERO_NONCE = bytes(12)  # package §5.3: each field key encrypts exactly one value
_MAX_LINE = 1 << 20  # package §8 default line limit: a reader with defaults must read it


class RecordSealer:
    """Seals records of one package: ``seal(partition, row, clear, sealed) → (id, line)``."""

    def __init__(self, keys: ExecutorKeys, sealed_fields: Sequence[str]) -> None:
        if keys.package_key is None or not keys.package_id:
            raise InputError("sealing on Spark needs the job's package key")
        self._suite = keys.crypto()
        self._kp = keys.package_key
        self._pid = bytes.fromhex(keys.package_id)
        self._pk_seal = self._suite.aead(keys.package_key).seal
        self._kl = self._suite.key_len
        self._names = [enc(n) for n in sealed_fields]

    def seal(
        self, partition: int, row: int, clear: Sequence[str], sealed: Sequence[str]
    ) -> tuple[str, bytes]:
        suite, pid, kl = self._suite, self._pid, self._kl
        rid = record_id(suite, self._kp, pid, partition, row)
        rk = record_key(suite, self._kp, pid, partition, row)
        erid = enc(rid)
        digest = suite.digest
        kdf_pre = _CTR1 + rk + L_FK + pid + erid
        aad_pre = L_VALUE + pid + erid
        parts = []
        for en, v in zip(self._names, sealed, strict=True):
            fk = digest(kdf_pre + en)[:kl]
            blob = digest(L_FC + fk) + suite.aead(fk).seal(_ZERO_NONCE, v.encode(), aad_pre + en)
            parts.append(binascii.b2a_base64(blob, newline=False))
        nonce = record_key_nonce(partition, row)
        wrapped = nonce + self._pk_seal(nonce, rk, L_RK + pid + erid)
        line = b"".join(
            (
                b"[",
                encode_basestring(rid).encode(),
                b",[",
                ",".join(encode_basestring(c) for c in clear).encode("utf-8"),
                b'],["',
                b'","'.join(parts),
                b'"],"',
                binascii.b2a_base64(wrapped, newline=False),
                b'"]',
            )
        )
        if len(line) + 1 > _MAX_LINE:
            raise InputError(
                f"partition {partition} row {row}: sealed line longer than {_MAX_LINE} bytes",
                hint="shorten the values (docs/package.md §8)",
            )
        return rid, line  # without its newline: the assembler adds it
