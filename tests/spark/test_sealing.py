"""The batch key schedule and sealer give exactly the per-row ones' bytes (docs/spark.md §5.2):
record ids, record keys and whole lines, for any partition, rows and values."""

from __future__ import annotations

import base64
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from xinan.crypto import get_suite
from xinan.crypto.base import SuiteName
from xinan.spark.keys import ExecutorKeys, b32_ids, record_id, record_ids_and_keys, record_key
from xinan.spark.sealing import PartitionSealer

PID = bytes.fromhex("ab" * 16)
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(deadline=None)
@given(st.lists(st.binary(min_size=16, max_size=16), max_size=40))
def test_b32_ids_are_rfc4648_base32(tags):
    want = ["r" + base64.b32encode(t).decode().rstrip("=").lower() for t in tags]
    assert b32_ids(tags) == want


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from([SuiteName.INTL, SuiteName.GM]),
    st.binary(min_size=32, max_size=32),
    st.integers(0, 2**32 - 2),
    st.lists(st.integers(0, 2**63 - 1), max_size=12, unique=True),
)
def test_batch_key_schedule_equals_per_row(suite_name, kp, partition, rows):
    suite = get_suite(suite_name, compliance_mode="any")
    kp = kp[: suite.key_len]
    ids, keys = record_ids_and_keys(suite, kp, PID, partition, rows)
    assert ids == [record_id(suite, kp, PID, partition, r) for r in rows]
    assert keys == [record_key(suite, kp, PID, partition, r) for r in rows]


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 1000),
    st.lists(st.tuples(text, text, text), min_size=0, max_size=8),
)
def test_seal_rows_equals_seal(partition, values):
    keys = ExecutorKeys(SuiteName.INTL, "any", package_id="ab" * 16, package_key=b"\x09" * 32)
    sealer = PartitionSealer(keys, ["证件号码", "法定代表人证件号码"], 1)
    rows = [3 * i + 1 for i in range(len(values))]
    clear = [(v[0],) for v in values]
    sealed = [(v[1], v[2]) for v in values]
    ids, lines = sealer.seal_rows(partition, rows, clear, sealed)
    want = [sealer.seal(partition, r, c, s) for r, c, s in zip(rows, clear, sealed, strict=True)]
    assert list(zip(ids, lines, strict=True)) == want


# values with what JSON must escape ('"', '\\', C0 controls) and what it must not (U+2028,
# CJK, astral characters): the batch sealer's Arrow-joined JSON must match json.encoder's
json_text = st.text(
    st.one_of(
        st.sampled_from(['"', "\\", "\n", "\x00", "\x1f", "\x7f", "\u2028", "张", "𠀀", ",", "]"]),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([SuiteName.INTL, SuiteName.GM]),
    st.integers(0, 1000),
    st.integers(0, 3),
    st.integers(0, 2),
    st.lists(st.lists(json_text, min_size=5, max_size=5), max_size=8),
)
def test_seal_batch_equals_per_row_sealer(suite_name, partition, n_clear, n_sealed, values):
    import pyarrow as pa

    suite = get_suite(suite_name, compliance_mode="any")
    keys = ExecutorKeys(
        suite_name, "any", package_id="ab" * 16, package_key=bytes(range(suite.key_len))
    )
    names = ["证件号码", "法定代表人证件号码"][:n_sealed]
    sealer = PartitionSealer(keys, names, n_clear)
    rows = [7 * i + 2 for i in range(len(values))]
    clear = [tuple(v[:n_clear]) for v in values]
    sealed = [tuple(v[3 : 3 + n_sealed]) for v in values]
    clear_cols = [pa.array([c[j] for c in clear], pa.string()) for j in range(n_clear)]
    sealed_cols = [pa.array([s[j] for s in sealed], pa.string()) for j in range(n_sealed)]
    ids, lines = sealer.seal_batch(partition, rows, clear_cols, sealed_cols)
    want = [sealer.seal(partition, r, c, s) for r, c, s in zip(rows, clear, sealed, strict=True)]
    assert list(zip(ids, lines, strict=True)) == want
    for line, c in zip(lines, clear, strict=True):  # and each line is JSON with those values
        assert json.loads(line)[1] == list(c)
