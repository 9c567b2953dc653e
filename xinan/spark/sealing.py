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
from json.encoder import encode_basestring
from typing import TYPE_CHECKING

from xinan.errors import InputError
from xinan.formats.package import DEFAULT_LIMITS, L_FC, L_FK, L_RK, L_VALUE, RecordSealer, enc
from xinan.spark.keys import (
    _CTR1,
    ExecutorKeys,
    record_id,
    record_ids_and_keys,
    record_key,
    record_key_nonce,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["PartitionSealer"]

_ZERO_NONCE = bytes(12)  # docs/package.md §5.3: each field key encrypts exactly one value
# what json.encoder (ensure_ascii=False) escapes: '"', '\\' and the C0 controls
_JSON_ESC = r'[\x00-\x1f"\\]'


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
        self._enames = [enc(n) for n in sealed_fields]
        self._n_clear = n_clear

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

    def seal_batch(
        self,
        partition: int,
        rows: Sequence[int],
        clear: Sequence[pa.Array],
        sealed: Sequence[pa.Array],
    ) -> tuple[list[str], list[bytes]]:
        """:meth:`seal_rows` over Arrow columns (``clear[j][k]``, ``sealed[j][k]``: row
        ``rows[k]``'s values), the same ids and lines byte for byte (``tests/spark/
        test_sealing.py``): the clear values' JSON is joined as Arrow columns, and only the
        key schedule and the AEAD calls run per row. A null value falls back to
        :meth:`seal_rows`, which refuses it as the per-row sealer does."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(rows)
        if len(clear) != self._n_clear or len(sealed) != len(self._enames):
            raise InputError("sealing on Spark: the wrong number of values per record")
        cols = [*clear, *sealed]
        if any(c.null_count for c in cols) or any(len(c) != n for c in cols):
            return self.seal_rows(
                partition,
                rows,
                list(zip(*(c.to_pylist() for c in clear), strict=True)) if clear else [()] * n,
                list(zip(*(c.to_pylist() for c in sealed), strict=True)) if sealed else [()] * n,
            )
        suite, pid = self._suite, self._pid
        ids, rks = record_ids_and_keys(suite, self._kp, pid, partition, rows)
        if clear:
            joined = pc.binary_join_element_wise(*clear, '","').cast(pa.binary()).to_pylist()
            escape = np.zeros(n, dtype=bool)
            for c in clear:
                escape |= np.asarray(pc.match_substring_regex(c, _JSON_ESC), dtype=bool)
            clear_json: list[bytes] = [b'"' + j + b'"' for j in joined]
            for k in np.flatnonzero(escape).tolist():
                vals = [c[k].as_py() for c in clear]
                clear_json[k] = ",".join([encode_basestring(v) for v in vals]).encode()
        else:
            clear_json = [b""] * n
        values = [c.cast(pa.binary()).to_pylist() for c in sealed]
        digest, new_aead, kl = suite.digest, suite.aead, suite.key_len
        b2a = binascii.b2a_base64
        fk_label = L_FK + pid
        value_label = L_VALUE + pid
        enames = self._enames
        pk_seal = self._pk_seal
        aad_pre = L_RK + pid
        first = (1 + partition).to_bytes(4, "big")  # record_key_nonce's first word
        limit = DEFAULT_LIMITS.max_line_bytes
        lines: list[bytes] = []
        by_row = list(zip(*values, strict=True)) if values else [()] * n
        for row, rid, rk, cj, vs in zip(rows, ids, rks, clear_json, by_row, strict=True):
            brid = rid.encode()  # "r" + base32: ASCII, nothing for JSON to escape
            erid = len(brid).to_bytes(2, "big") + brid
            kdf_pre = _CTR1 + rk + fk_label + erid
            aad_v = value_label + erid
            parts = []
            for en, v in zip(enames, vs, strict=True):
                fk = digest(kdf_pre + en)[:kl]
                parts.append(
                    b2a(
                        digest(L_FC + fk) + new_aead(fk).seal(_ZERO_NONCE, v, aad_v + en),
                        newline=False,
                    )
                )
            nonce = first + row.to_bytes(8, "big")
            line = b"".join(
                (
                    b'["',
                    brid,
                    b'",[',
                    cj,
                    b'],["',
                    b'","'.join(parts),
                    b'"],"',
                    b2a(nonce + pk_seal(nonce, rk, aad_pre + erid), newline=False),
                    b'"]',
                )
            )
            if len(line) + 1 > limit:
                raise InputError(
                    f"partition {partition} row {row}: sealed line longer than {limit} bytes",
                    hint="shorten the values (docs/package.md §8)",
                )
            lines.append(line)
        return ids, lines
