"""The recipes of xinan.crypto (docs/crypto.md, "Layers"): SecretWrapper, digests by name, the
password KDFs, Ed25519 for notes; and SM3 wherever the gm suite fingerprints something."""

from __future__ import annotations

import os
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinan.crypto import get_suite
from xinan.crypto.base import SuiteName
from xinan.crypto.hazmat import primitives
from xinan.crypto.recipes import (
    HASH_FOR_SUITE,
    SecretWrapper,
    derive_passphrase_key,
    ed25519_key_from_seed,
    hash_constructor,
    hash_function,
    hex_fingerprint,
    passphrase_kdf_for,
    sign_ed25519,
    verify_ed25519,
)
from xinan.errors import IntegrityError, KeyringError

SUITES = ["intl", "gm"]


# -- SecretWrapper ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SUITES)
@given(secret=st.binary(max_size=64), aad=st.binary(max_size=48))
@settings(max_examples=40, deadline=None)
def test_wrapper_round_trip_and_every_flip_refused(name: str, secret: bytes, aad: bytes) -> None:
    suite = get_suite(name)
    w = SecretWrapper(suite, suite.random(suite.key_len))
    wrapped = w.wrap(secret, aad)
    assert len(wrapped) == 12 + len(secret) + 16
    assert w.unwrap(wrapped, aad) == secret
    for i in range(len(wrapped)):
        b = bytearray(wrapped)
        b[i] ^= 0x80
        with pytest.raises(IntegrityError):
            w.unwrap(bytes(b), aad)
    with pytest.raises(IntegrityError):
        w.unwrap(wrapped, aad + b"x")
    with pytest.raises(IntegrityError):
        SecretWrapper(suite, suite.random(suite.key_len)).unwrap(wrapped, aad)


@pytest.mark.parametrize("name", SUITES)
def test_wrapper_is_the_vault_layout_and_refuses_short_input(name: str) -> None:
    """nonce ‖ AEAD.seal(nonce, secret, aad): the bytes the vault stored before the recipe."""
    suite = get_suite(name)
    key = suite.random(suite.key_len)
    wrapped = SecretWrapper(suite, key).wrap(b"s" * 32, b"aad")
    assert suite.aead(key).open(wrapped[:12], wrapped[12:], b"aad") == b"s" * 32
    nonce = suite.random(12)
    old = nonce + suite.aead(key).seal(nonce, b"t" * 32, b"aad")
    assert SecretWrapper(suite, key).unwrap(old, b"aad") == b"t" * 32
    with pytest.raises(IntegrityError):
        SecretWrapper(suite, key).unwrap(b"\x00" * 27, b"aad")
    with pytest.raises(KeyringError):
        SecretWrapper(suite, key[:-1])
    assert "s" * 8 not in repr(SecretWrapper(suite, key)) and key.hex() not in repr(suite)


def test_wrapper_nonces_are_unique_across_refills_and_threads() -> None:
    suite = get_suite("intl")
    w = SecretWrapper(suite, suite.random(32))
    seen: list[bytes] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [w.wrap(b"k", b"")[:12] for _ in range(1500)]  # > one 1,024-nonce batch each
        with lock:
            seen.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 6000 and len(set(seen)) == 6000


def test_a_forked_child_never_reuses_the_parents_nonces() -> None:
    """GCM under one key must never see a nonce twice: a child forked after the parent drew
    its batch starts from a fresh one (os.register_at_fork)."""
    suite = get_suite("intl")
    w = SecretWrapper(suite, suite.random(32))
    first = w.wrap(b"k", b"")[:12]
    parent_next = w.wrap(b"k", b"")[:12]
    r, wr = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.write(wr, b"".join(w.wrap(b"k", b"")[:12] for _ in range(3)))
        finally:
            os._exit(0)
    os.close(wr)
    child = os.read(r, 36)
    os.close(r)
    os.waitpid(pid, 0)
    assert len(child) == 36
    parent_more = {w.wrap(b"k", b"")[:12] for _ in range(10)}
    child_nonces = {child[i : i + 12] for i in range(0, 36, 12)}
    assert not child_nonces & (parent_more | {first, parent_next})


# -- hashes by name --------------------------------------------------------------------------
def test_hashes_by_name_match_the_suites_and_both_sm3_paths() -> None:
    data = b"abc" * 100
    assert hash_function("sha256")(data) == get_suite("intl").digest(data)
    assert hash_function("sm3")(data) == get_suite("gm").digest(data)
    assert primitives.sm3_cryptography(data) == primitives.sm3(data)
    for name in ("sha256", "sm3"):
        assert hash_constructor(name)(data).digest() == hash_function(name)(data)
        assert hex_fingerprint(name, data) == hash_function(name)(data).hex()
    # GB/T 32905-2016 A.1
    assert hash_function("sm3")(b"abc").hex().startswith("66c7f0f462eeedd9d1f2d46bdc10e4e2")
    with pytest.raises(KeyError):
        hash_function("md5")
    assert {s: get_suite(s).hash_name for s in SuiteName} == HASH_FOR_SUITE


# -- password KDFs -------------------------------------------------------------------------
def _pbkdf2_by_hand(mac, password: bytes, salt: bytes, iterations: int, length: int) -> bytes:
    # RFC 8018 §5.2 written out over the suite's HMAC-SM3 (itself over the KAT-checked SM3)
    out = b""
    i = 1
    while len(out) < length:
        u = mac(password, salt + i.to_bytes(4, "big"))
        t = bytearray(u)
        for _ in range(iterations - 1):
            u = mac(password, u)
            t = bytearray(a ^ b for a, b in zip(t, u, strict=True))
        out += bytes(t)
        i += 1
    return out[:length]


@pytest.mark.parametrize(("iterations", "length"), [(1, 16), (2, 16), (1000, 16), (3, 48)])
def test_pbkdf2_hmac_sm3_is_rfc8018_over_hmac_sm3(iterations: int, length: int) -> None:
    gm = get_suite("gm")
    pw, salt = "口令 passphrase".encode(), b"0123456789abcdef"
    want = _pbkdf2_by_hand(gm.mac, pw, salt, iterations, length)
    got = derive_passphrase_key("pbkdf2-hmac-sm3", pw, salt, length, {"iterations": iterations})
    assert got == want
    assert got != derive_passphrase_key(
        "pbkdf2-hmac-sm3", pw, salt[::-1], length, {"iterations": iterations}
    )


def test_kdf_choice_and_unknown_kdf() -> None:
    assert passphrase_kdf_for(SuiteName.GM) == "pbkdf2-hmac-sm3"
    assert passphrase_kdf_for(SuiteName.INTL) == passphrase_kdf_for(SuiteName.PQ) == "argon2id"
    a = derive_passphrase_key("argon2id", b"pw", b"s" * 16, 32, {"m_kib": 64, "t": 1, "p": 1})
    assert len(a) == 32
    with pytest.raises(KeyringError, match="unknown passphrase KDF"):
        derive_passphrase_key("scrypt", b"pw", b"s" * 16, 32, {})


# -- Ed25519 for notes and gm fingerprints ------------------------------------------------------
def test_ed25519_recipes() -> None:
    key = ed25519_key_from_seed(bytes(range(32)))
    sig = sign_ed25519(key, b"note")
    verify_ed25519(key.public_bytes(), b"note", sig)
    with pytest.raises(IntegrityError):
        verify_ed25519(key.public_bytes(), b"note!", sig)


def test_gm_key_handles_show_an_sm3_fingerprint() -> None:
    gm = get_suite("gm")
    key = gm.generate_signing_key()
    assert f"pub:{hash_function('sm3')(key.public_bytes()).hex()[:12]}>" in repr(key)
    intl = get_suite("intl").generate_signing_key()
    assert f"pub:{hash_function('sha256')(intl.public_bytes()).hex()[:12]}>" in repr(intl)
