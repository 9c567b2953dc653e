"""Record lines of a ``xinan-package/1`` submission, sealed on an executor (docs/spark.md §5).

Owns only what differs from a local seal: the record id, record key and record-key nonce come
from (package key, partition, row) (:mod:`xinan.spark.keys`) instead of the CSPRNG and the
package index, so that a retried task writes the same bytes. The line itself — clear values,
sealed values, field keys, commitments — is the package module's own
:class:`xinan.formats.package.RecordSealer` (the batch engine's sealer), so the two cannot
drift. The driver writes the header and the trailer around the lines
(:mod:`xinan.spark.package`).
"""

from __future__ import annotations

import binascii
from collections.abc import Sequence

from xinan.errors import InputError
from xinan.formats.package import DEFAULT_LIMITS, L_RK, RecordSealer, enc
from xinan.spark.keys import (
    ExecutorKeys,
    record_id,
    record_ids_and_keys,
    record_key,
    record_key_nonce,
)

__all__ = ["PartitionSealer"]


class PartitionSealer:
    """Seals records of one package: ``seal(partition, row, clear, sealed) → (id, line)``."""

    def __init__(self, keys: ExecutorKeys, sealed_fields: Sequence[str], n_clear: int) -> None:
        if keys.package_key is None or not keys.package_id:
            raise InputError("sealing on Spark needs the job's package key")
        self._suite = keys.crypto()
        self._kp = keys.package_key
        self._pid = bytes.fromhex(keys.package_id)
        self._pk_seal = self._suite.aead(keys.package_key).seal
        self._heads = RecordSealer(self._suite, self._pid, sealed_fields, n_clear)

    def seal(
        self, partition: int, row: int, clear: Sequence[str], sealed: Sequence[str]
    ) -> tuple[str, bytes]:
        suite, pid = self._suite, self._pid
        rid = record_id(suite, self._kp, pid, partition, row)
        rk = record_key(suite, self._kp, pid, partition, row)
        try:
            head = self._heads.line_head(rid, rk, clear, sealed)
        except (ValueError, TypeError, UnicodeEncodeError):
            raise InputError(
                f"partition {partition} row {row}: cannot be sealed (values must be valid Unicode)"
            ) from None
        nonce = record_key_nonce(partition, row)
        wrapped = nonce + self._pk_seal(nonce, rk, L_RK + pid + enc(rid))
        line = head + binascii.b2a_base64(wrapped, newline=False) + b'"]'
        if len(line) + 1 > DEFAULT_LIMITS.max_line_bytes:
            raise InputError(
                f"partition {partition} row {row}: sealed line longer than "
                f"{DEFAULT_LIMITS.max_line_bytes} bytes",
                hint="shorten the values (docs/package.md §8)",
            )
        return rid, line  # without its newline: the assembler adds it

    def seal_rows(
        self,
        partition: int,
        rows: Sequence[int],
        clear: Sequence[Sequence[str]],
        sealed: Sequence[Sequence[str]],
    ) -> tuple[list[str], list[bytes]]:
        """:meth:`seal` for many rows of one partition (``clear[k]``, ``sealed[k]``: row
        ``rows[k]``'s values): the same ids and lines, with the per-record key schedule
        computed per batch (:func:`xinan.spark.keys.record_ids_and_keys`)."""
        suite, pid = self._suite, self._pid
        ids, rks = record_ids_and_keys(suite, self._kp, pid, partition, rows)
        head = self._heads.line_head
        pk_seal = self._pk_seal
        b2a = binascii.b2a_base64
        aad_pre = L_RK + pid
        first = (1 + partition).to_bytes(4, "big")  # record_key_nonce's first word
        limit = DEFAULT_LIMITS.max_line_bytes
        lines: list[bytes] = []
        for row, rid, rk, c, v in zip(rows, ids, rks, clear, sealed, strict=True):
            try:
                h = head(rid, rk, c, v)
            except (ValueError, TypeError, UnicodeEncodeError):
                raise InputError(
                    f"partition {partition} row {row}: cannot be sealed (values must be valid "
                    "Unicode)"
                ) from None
            nonce = first + row.to_bytes(8, "big")
            line = h + b2a(nonce + pk_seal(nonce, rk, aad_pre + enc(rid)), newline=False) + b'"]'
            if len(line) + 1 > limit:
                raise InputError(
                    f"partition {partition} row {row}: sealed line longer than {limit} bytes",
                    hint="shorten the values (docs/package.md §8)",
                )
            lines.append(line)
        return ids, lines
