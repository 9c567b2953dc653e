"""gmalg's field inversion, replaced by ``pow(x, -1, p)`` in xinan/crypto/hazmat/gm.py, gives
what gmalg's own loop gives, for every input class, on both SM2 moduli."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinan.crypto.hazmat import gm
from xinan.crypto.hazmat.gm import SM2_N, SM2_P


def _fields():
    from gmalg.primefield import PrimeField

    return PrimeField, PrimeField.inv.xinan_original


@pytest.mark.parametrize("p", [SM2_P, SM2_N])
def test_the_replacement_agrees_with_gmalg_on_edges(p: int) -> None:
    PrimeField, original = _fields()
    f = PrimeField(p)
    edges = [1, 2, 3, p - 1, p - 2, p, p + 1, 2 * p, 2 * p + 7, 0, -1, -p, -(p + 1), 1 << 300]
    for x in edges:
        assert f.inv(x) == original(f, x), x
    for x in (1, 2, p - 1, p + 1, 1 << 300):
        assert f.inv(x) * x % p == 1


@given(st.integers(min_value=-(1 << 260), max_value=1 << 520))
def test_the_replacement_agrees_with_gmalg_everywhere(x: int) -> None:
    PrimeField, original = _fields()
    for p in (SM2_P, SM2_N):
        f = PrimeField(p)
        assert f.inv(x) == original(f, x)


def test_sm2_still_round_trips_and_matches_the_loop() -> None:
    """A key pair, signature and ciphertext made with the replacement verify and open with
    gmalg's own loop put back (and the other way round)."""
    PrimeField, original = _fields()
    rng = random.Random(7)
    d = rng.randbytes(32)
    fast_pub = gm.sm2_public_from_private(d)
    sig = gm.sm2_sign(d, fast_pub, b"xinan", rng.getrandbits)
    ct = gm.sm2_encrypt(fast_pub, b"sixteen byte key", rng.getrandbits)
    replaced = PrimeField.inv
    PrimeField.inv = original
    try:
        assert gm.sm2_public_from_private(d) == fast_pub
        assert gm.sm2_verify(fast_pub, b"xinan", sig)
        assert gm.sm2_decrypt(d, ct) == b"sixteen byte key"
        slow_sig = gm.sm2_sign(d, fast_pub, b"other", rng.getrandbits)
    finally:
        PrimeField.inv = replaced
    assert gm.sm2_verify(fast_pub, b"other", slow_sig)
