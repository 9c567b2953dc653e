"""Partition manifests: canonical, signed, and refused after any change to any byte."""

from __future__ import annotations

import pytest

from xinan.crypto import get_suite
from xinan.errors import IntegrityError, VerificationError
from xinan.spark.manifest import (
    OutputRoot,
    PartitionManifest,
    RootBuilder,
    manifest_ref,
    parse_manifest,
    row_leaf,
    sign_manifest,
)

SUITE = get_suite("intl")


@pytest.fixture(scope="module")
def signed():
    key = SUITE.generate_signing_key()
    pub = key.public_bytes()

    def verify(signer: str, message: bytes, sig: bytes) -> None:
        if signer != "xk1signer":
            raise IntegrityError("unknown signer")
        SUITE.verify(pub, message, sig)

    b = RootBuilder("sha256")
    for i in range(5):
        b.add(row_leaf(i, ["张*", None, "2026"]))
    m = PartitionManifest(
        job="ab" * 16,
        partition=2,
        partitions=4,
        policy="credit-default@2026.11#" + "0" * 32,
        kind="penalty",
        hash="sha256",
        rows_in=6,
        rejected=1,
        outputs={"public": OutputRoot(b.rows, b.root()), "rejects": OutputRoot(1, b"\x01" * 32)},
        key_ids=("xk1signer",),
        package=None,
        signer="xk1signer",
    )
    return m, sign_manifest(m, lambda msg: SUITE.sign(key, msg)), verify


def test_round_trip(signed):
    m, line, verify = signed
    assert parse_manifest(line, "line 1", verify) == m
    assert manifest_ref(m.job, 2, line, "sha256").startswith(f"spark:{m.job}:2:")


def test_flip_every_byte(signed):
    _m, line, verify = signed
    for i in range(len(line)):
        bad = bytearray(line)
        bad[i] ^= 0x01
        with pytest.raises(VerificationError):
            parse_manifest(bytes(bad), "line 1", verify)


def test_row_leaf_is_format_independent():
    assert row_leaf(3, ["a", None, ""]) == row_leaf(3, ["a", "", ""])
    assert row_leaf(3, ["a,b"]) != row_leaf(3, ["a", "b"])  # JSON, not a joined string
