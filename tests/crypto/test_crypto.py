"""The CryptoSuite contract, run against every suite; compliance; no secrets in reprs."""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinan.crypto import CryptoSuite, get_suite
from xinan.crypto.compliance import Compliance, active
from xinan.errors import ComplianceError, IntegrityError, KeyringError, UsageError

SUITES = ["intl", "pq", "gm"]
FAST = settings(max_examples=60, deadline=None)
SLOW = settings(  # SM2 in pure Python is ~50-100 ops/s
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.fixture(scope="module", params=SUITES)
def suite(request: pytest.FixtureRequest) -> CryptoSuite:
    return get_suite(request.param, compliance_mode="any")


@pytest.fixture(scope="module")
def keys(suite: CryptoSuite) -> tuple:
    return suite.generate_kem_key(), suite.generate_signing_key()


def _flips(data: bytes):
    for i in range(len(data)):
        b = bytearray(data)
        b[i] ^= 0x01
        yield bytes(b)


def test_constants(suite: CryptoSuite) -> None:
    assert suite.nonce_len == 12 and suite.digest_len == 32
    assert len(suite.aead(suite.random(suite.key_len)).seal(bytes(12), b"", b"")) == 16
    assert len(suite.random(7)) == 7


@given(pt=st.binary(max_size=300), aad=st.binary(max_size=64))
@FAST
def test_aead_round_trip_and_tamper(suite: CryptoSuite, pt: bytes, aad: bytes) -> None:
    key = suite.random(suite.key_len)
    a = suite.aead(key)
    nonce = suite.random(suite.nonce_len)
    ct = a.seal(nonce, pt, aad)
    assert a.open(nonce, ct, aad) == pt
    with pytest.raises(IntegrityError):
        a.open(nonce, ct, aad + b"x")
    with pytest.raises(IntegrityError):
        suite.aead(suite.random(suite.key_len)).open(nonce, ct, aad)  # wrong key
    with pytest.raises(IntegrityError):
        a.open(bytes(12) if nonce != bytes(12) else b"\x01" * 12, ct, aad)
    with pytest.raises(IntegrityError):
        a.open(nonce, ct[:-1], aad)


def test_aead_flip_every_byte(suite: CryptoSuite) -> None:
    a = suite.aead(suite.random(suite.key_len))
    nonce = suite.random(12)
    ct = a.seal(nonce, b"110105194912310021", b"pkg|rec-1|id_number")
    for bad in _flips(ct):
        with pytest.raises(IntegrityError):
            a.open(nonce, bad, b"pkg|rec-1|id_number")


def test_aead_short_ciphertext(suite: CryptoSuite) -> None:
    a = suite.aead(suite.random(suite.key_len))
    for n in range(16):
        with pytest.raises(IntegrityError):
            a.open(bytes(12), bytes(n), b"")


def test_aead_rejects_wrong_key_length(suite: CryptoSuite) -> None:
    with pytest.raises(ValueError):
        suite.aead(bytes(suite.key_len + 1))


@given(
    secret=st.binary(min_size=1, max_size=64),
    info=st.binary(max_size=40),
    aad=st.binary(max_size=40),
)
@SLOW
def test_wrap_round_trip(
    suite: CryptoSuite, keys: tuple, secret: bytes, info: bytes, aad: bytes
) -> None:
    kem, _ = keys
    w = suite.wrap(kem.public_bytes(), secret, info, aad)
    assert suite.unwrap(kem, w, info, aad) == secret
    with pytest.raises(IntegrityError):
        suite.unwrap(kem, w, info + b"!", aad)
    with pytest.raises(IntegrityError):
        suite.unwrap(kem, w, info, aad + b"!")


def test_wrap_wrong_key_and_flips(suite: CryptoSuite, keys: tuple) -> None:
    kem, _ = keys
    other = suite.generate_kem_key()
    w = suite.wrap(kem.public_bytes(), b"k" * 32, b"info", b"aad")
    with pytest.raises(IntegrityError):
        suite.unwrap(other, w, b"info", b"aad")
    # every byte: cheap suites all of them, gm (SM2 decrypt ~20 ms) a spread across C1/C3/C2/body
    positions = (
        range(len(w))
        if suite.name != "gm"
        else [0, 1, 33, 64, 65, 80, 97, 100, 113, 130, len(w) - 1]
    )
    for i in positions:
        bad = bytearray(w)
        bad[i] ^= 0x01
        with pytest.raises(IntegrityError):
            suite.unwrap(kem, bytes(bad), b"info", b"aad")
    for cut in (0, 1, len(w) // 2, len(w) - 1):
        with pytest.raises(IntegrityError):
            suite.unwrap(kem, w[:cut], b"info", b"aad")


def test_wrap_to_malformed_public_key(suite: CryptoSuite) -> None:
    with pytest.raises(IntegrityError):
        suite.wrap(b"\x04" + bytes(10), b"k" * 32, b"", b"")


@given(msg=st.binary(max_size=200))
@SLOW
def test_sign_verify_round_trip(suite: CryptoSuite, keys: tuple, msg: bytes) -> None:
    _, sk = keys
    sig = suite.sign(sk, msg)
    suite.verify(sk.public_bytes(), msg, sig)
    with pytest.raises(IntegrityError):
        suite.verify(sk.public_bytes(), msg + b"x", sig)


def test_signature_flips_and_wrong_key(suite: CryptoSuite, keys: tuple) -> None:
    _, sk = keys
    sig = suite.sign(sk, b"header|records|trailer")
    other = suite.generate_signing_key()
    with pytest.raises(IntegrityError):
        suite.verify(other.public_bytes(), b"header|records|trailer", sig)
    positions = range(len(sig)) if suite.name != "gm" else [0, 15, 31, 32, 47, 63]
    for i in positions:
        bad = bytearray(sig)
        bad[i] ^= 0x01
        with pytest.raises(IntegrityError):
            suite.verify(sk.public_bytes(), b"header|records|trailer", bytes(bad))
    for bad_pub in (b"", sk.public_bytes()[:-1], bytes(len(sk.public_bytes()))):
        with pytest.raises(IntegrityError):
            suite.verify(bad_pub, b"header|records|trailer", sig)
    with pytest.raises(IntegrityError):
        suite.verify(sk.public_bytes(), b"header|records|trailer", sig[:-1])


def test_mixed_suites_refused(suite: CryptoSuite) -> None:
    other = get_suite("gm" if suite.name != "gm" else "intl")
    foreign_sign = other.generate_signing_key()
    foreign_kem = other.generate_kem_key()
    with pytest.raises(KeyringError):
        suite.sign(foreign_sign, b"m")
    with pytest.raises(KeyringError):
        suite.unwrap(foreign_kem, b"x" * 200, b"", b"")
    with pytest.raises(KeyringError):
        suite.sign(suite.generate_kem_key(), b"m")  # a KEM key is not a signing key


def test_private_key_export_import(suite: CryptoSuite, keys: tuple) -> None:
    for k in keys:
        raw = suite.export_private(k)
        back = suite.import_private(k.purpose, raw)
        assert back.public_bytes() == k.public_bytes()
        suite.check_public(k.purpose, k.public_bytes())
        with pytest.raises(KeyringError):
            suite.import_private(k.purpose, raw[:-1])
        with pytest.raises(KeyringError):
            suite.check_public(k.purpose, k.public_bytes()[:-1])


def test_private_key_repr_has_no_secret(suite: CryptoSuite, keys: tuple) -> None:
    for k in keys:
        raw = suite.export_private(k)
        for text in (repr(k), str(k), f"{k}", f"{k!r}"):
            assert raw.hex() not in text and raw.hex().upper() not in text
            assert suite.name.value in text and k.purpose in text
        with pytest.raises(TypeError):
            pickle.dumps(k)
        with pytest.raises(TypeError):
            copy.deepcopy(k)


@given(data=st.binary(max_size=200), key=st.binary(min_size=1, max_size=80))
@FAST
def test_mac_kdf_hasher_consistency(suite: CryptoSuite, data: bytes, key: bytes) -> None:
    assert len(suite.mac(key, data)) == 32
    assert suite.mac(key, data) != suite.mac(key + b"x", data)
    h = suite.hasher()
    h.update(data[:7])
    h.update(data[7:])
    assert h.finalize() == suite.digest(data)
    assert suite.kdf(key, b"a", 48)[:32] == suite.kdf(key, b"a", 32)
    assert suite.kdf(key, b"a", 32) != suite.kdf(key, b"b", 32)


def test_intl_and_gm_hashes_differ() -> None:
    assert get_suite("intl").digest(b"abc") != get_suite("gm").digest(b"abc")


# -- compliance ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["intl", "pq"])
def test_gm_only_refuses_other_suites(name: str) -> None:
    with pytest.raises(ComplianceError) as err:
        get_suite(name, compliance_mode="gm-only")
    assert name in err.value.message
    assert "Ed25519" in err.value.message or "AES-256-GCM" in err.value.message
    assert err.value.rule == "compliance:gm-only"
    assert err.value.exit_code == 77
    assert err.value.hint


def test_gm_only_allows_gm() -> None:
    assert get_suite("gm", compliance_mode=Compliance.GM_ONLY).name == "gm"


def test_compliance_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINAN_COMPLIANCE", "gm-only")
    assert active() is Compliance.GM_ONLY
    with pytest.raises(ComplianceError):
        get_suite("intl")
    assert get_suite("intl", compliance_mode="any").name == "intl"  # explicit wins
    monkeypatch.setenv("XINAN_COMPLIANCE", "nonsense")
    with pytest.raises(UsageError):
        get_suite("gm")
    monkeypatch.delenv("XINAN_COMPLIANCE")
    assert active() is Compliance.ANY


def test_unknown_suite() -> None:
    with pytest.raises(UsageError) as err:
        get_suite("rot13")
    assert "intl" in (err.value.hint or "")
