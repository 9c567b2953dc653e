"""Key files and the keyring (docs/keys.md)."""

from __future__ import annotations

import base64
import json
import os
import stat
import traceback
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from xinan.crypto import get_suite
from xinan.errors import ComplianceError, KeyringError, UsageError, WrongPassphrase, XinanError
from xinan.keys import DEFAULT_KDF, KdfParams, Keyring, Role

NOW = datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC)
FAST_KDF = KdfParams(m_kib=64, t=1, p=1, iterations=1000)  # test-only: minimum-ish, ~0.1 ms
PW = "正确 horse battery staple"


@pytest.fixture
def ring(tmp_path: Path) -> Keyring:
    return Keyring(tmp_path / "keys", compliance_mode="any")


def _gen(ring: Keyring, name: str, suite: str = "intl", role: str = "provider"):
    return ring.generate(name, role, suite, PW, now=NOW, kdf_params=FAST_KDF)


@pytest.mark.parametrize("suite", ["intl", "pq", "gm"])
def test_generate_unlock_use(ring: Keyring, suite: str) -> None:
    info = _gen(ring, "amr-zaozhuang", suite)
    assert info.key_id.startswith("xk1") and len(info.key_id) == 27
    assert info.suite == suite and info.role is Role.PROVIDER and info.created == NOW
    ident = ring.unlock("amr-zaozhuang", PW)
    assert ring.unlock(info.key_id, PW).key_id == info.key_id  # by key id too
    s = get_suite(suite)
    s.verify(info.sig, b"msg", ident.sign(b"msg"))
    w = s.wrap(info.kem, b"k" * 32, b"info", b"aad")
    assert ident.unwrap(w, b"info", b"aad") == b"k" * 32
    assert ring.get_public("amr-zaozhuang") == info
    assert ring.get_public(info.key_id) == info


def test_file_modes_and_layout(ring: Keyring) -> None:
    _gen(ring, "platform-1", role="platform")
    priv = ring.private_path("platform-1")
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600
    assert stat.S_IMODE(ring.private_dir.stat().st_mode) == 0o700
    assert ring.public_path("platform-1").is_file()
    assert priv.read_text(encoding="utf-8").startswith('{\n  "format": "xinan-key/1",')
    doc = json.loads(priv.read_text(encoding="utf-8"))
    assert doc["kind"] == "private" and doc["cipher"] == "aes-256-gcm"
    assert doc["kdf"]["name"] == "argon2id"


def test_gm_key_file_uses_sm4_and_sm3(ring: Keyring) -> None:
    info = _gen(ring, "gm-1", "gm")
    doc = json.loads(ring.private_path("gm-1").read_text(encoding="utf-8"))
    assert doc["cipher"] == "sm4-gcm"
    assert len(base64.b64decode(doc["sig"])) == 65
    assert info.key_id.startswith("xk1")


def test_wrong_passphrase(ring: Keyring) -> None:
    _gen(ring, "q1", role="querent")
    with pytest.raises(WrongPassphrase) as err:
        ring.unlock("q1", PW + "x")
    assert PW not in str(err.value) and "q1" in str(err.value)
    assert err.value.hint


def test_empty_passphrase_refused(ring: Keyring) -> None:
    with pytest.raises(UsageError):
        ring.generate("x1", "provider", "intl", "", now=NOW, kdf_params=FAST_KDF)


def test_passphrase_is_nfc_normalised(ring: Keyring) -> None:
    ring.generate(
        "nfc", "provider", "intl", "cafe\u0301 au lait 咖啡", now=NOW, kdf_params=FAST_KDF
    )
    ring.unlock("nfc", "caf\u00e9 au lait 咖啡")


def test_new_keys_need_a_passphrase_of_twelve_characters(ring: Keyring) -> None:
    """GB/T 22239-2019 8.1.4.1 a): passphrase complexity for new keys."""
    with pytest.raises(UsageError, match="at least 12 characters"):
        ring.generate("short", "provider", "intl", "eleven char", now=NOW, kdf_params=FAST_KDF)
    with pytest.raises(UsageError, match="at least 12 characters"):
        ring.generate_secret("short-ps", "intl", "short", now=NOW, kdf_params=FAST_KDF)
    ring.generate("long", "provider", "intl", "twelve chars", now=NOW, kdf_params=FAST_KDF)


@pytest.mark.parametrize("suite", ["intl", "gm"])
def test_flip_every_byte_of_private_file(ring: Keyring, suite: str) -> None:
    _gen(ring, "victim", suite)
    path = ring.private_path("victim")
    good = path.read_bytes()
    for i in range(len(good)):
        bad = bytearray(good)
        bad[i] ^= 0x01
        path.write_bytes(bytes(bad))
        with pytest.raises(XinanError):  # KeyringError, WrongPassphrase or UsageError
            ring.unlock("victim", PW)
    path.write_bytes(good)
    ring.unlock("victim", PW)


def test_flip_every_byte_of_public_file(ring: Keyring) -> None:
    _gen(ring, "pubv")
    path = ring.public_path("pubv")
    good = path.read_bytes()
    for i in range(len(good)):
        bad = bytearray(good)
        bad[i] ^= 0x01
        path.write_bytes(bytes(bad))
        with pytest.raises(KeyringError):
            ring.get_public("pubv")


def _rewrite(path: Path, **changes: object) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc.update(changes)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def test_header_edit_with_recomputed_key_id_is_caught_by_aad(ring: Keyring) -> None:
    """An attacker who re-encodes canonically and fixes the key id still fails the AAD."""
    from xinan.keys import pair_key_id

    _gen(ring, "edit", role="querent")
    path = ring.private_path("edit")
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["role"] = "platform"
    doc["key_id"] = pair_key_id(get_suite("intl"), doc)
    _rewrite(path, role=doc["role"], key_id=doc["key_id"])
    with pytest.raises(WrongPassphrase):
        ring.unlock("edit", PW)


def test_non_canonical_file_refused(ring: Keyring) -> None:
    _gen(ring, "canon")
    path = ring.public_path("canon")
    path.write_text(path.read_text(encoding="utf-8").replace("\n  ", "\n   ", 1), encoding="utf-8")
    with pytest.raises(KeyringError, match="canonical"):
        ring.get_public("canon")


def test_hostile_kdf_parameters_refused_before_deriving(ring: Keyring) -> None:
    _gen(ring, "dos")
    path = ring.private_path("dos")
    doc = json.loads(path.read_text(encoding="utf-8"))
    _rewrite(path, kdf=dict(doc["kdf"], m_kib=64 * 1024 * 1024))
    with pytest.raises(KeyringError, match="out of range"):
        ring.unlock("dos", PW)


def test_generate_refuses_existing_and_bad_names(ring: Keyring) -> None:
    _gen(ring, "dup")
    with pytest.raises(KeyringError, match="already exists"):
        _gen(ring, "dup")
    for bad in ("../evil", "Upper", "", "a/b", "x" * 65, "xk1" + "a" * 24):
        with pytest.raises(UsageError):
            _gen(ring, bad)
    with pytest.raises(UsageError):
        _gen(ring, "r", role="king")
    with pytest.raises(UsageError):
        _gen(ring, "r", role="pseudonym")  # a secret role, not a key pair


def test_repr_and_errors_carry_no_key_material(ring: Keyring) -> None:
    _gen(ring, "rep")
    ident = ring.unlock("rep", PW)
    s = get_suite("intl")
    secrets_hex = [s.export_private(ident.signing).hex(), s.export_private(ident.kem).hex()]
    texts = [repr(ident), str(ident), repr(ident.signing), repr(ident.kem), repr(ring)]
    try:
        ring.unlock("rep", "wrong")
    except WrongPassphrase as e:
        texts.append("".join(traceback.format_exception(e)))
    for t in texts:
        for sh in secrets_hex:
            assert sh not in t
            assert base64.b64encode(bytes.fromhex(sh)).decode() not in t
        assert PW not in t
    assert "rep" in repr(ident) and ident.key_id in repr(ident)


def test_secret_keys(ring: Keyring) -> None:
    info = ring.generate_secret("pseud-2025", "intl", PW, now=NOW, kdf_params=FAST_KDF)
    assert info.key_id.startswith("xs1") and len(info.key_id) == 27
    sk = ring.secret("pseud-2025", PW)
    assert len(sk.material()) == 32
    assert sk.key_id == info.key_id
    assert sk.material().hex() not in repr(sk) and sk.material().hex() not in str(sk)
    assert sk.mac(b"110105194912310021") == get_suite("intl").mac(
        sk.material(), b"110105194912310021"
    )
    assert ring.secret(info.key_id, PW).material() == sk.material()
    with pytest.raises(WrongPassphrase):
        ring.secret("pseud-2025", "nope")
    with pytest.raises(KeyringError):
        ring.unlock("pseud-2025", PW)  # a secret is not a key pair
    with pytest.raises(UsageError):
        ring.generate_secret("s2", "intl", PW, now=NOW, role="provider", kdf_params=FAST_KDF)
    listed = {e.id: e for e in ring.list()}
    assert listed["pseud-2025"].kind == "secret"
    assert stat.S_IMODE(ring.private_path("pseud-2025").stat().st_mode) == 0o600


def test_gm_secret_key(ring: Keyring) -> None:
    ring.generate_secret("gm-pseud", "gm", PW, now=NOW, kdf_params=FAST_KDF)
    sk = ring.secret("gm-pseud", PW)
    assert sk.mac(b"x") == get_suite("gm").mac(sk.material(), b"x")


def test_default_kdf_parameters_once(ring: Keyring) -> None:
    assert (DEFAULT_KDF.m_kib, DEFAULT_KDF.t, DEFAULT_KDF.p) == (65536, 3, 4)
    ring.generate("slow", "auditor", "intl", PW, now=NOW)
    doc = json.loads(ring.private_path("slow").read_text(encoding="utf-8"))
    assert doc["kdf"]["m_kib"] == 65536 and doc["kdf"]["t"] == 3 and doc["kdf"]["p"] == 4
    assert len(base64.b64decode(doc["kdf"]["salt"])) == 16
    ring.unlock("slow", PW)


def test_trust_store(tmp_path: Path) -> None:
    alice = Keyring(tmp_path / "alice", compliance_mode="any")
    bob = Keyring(tmp_path / "bob", compliance_mode="any")
    a = _gen(alice, "amr-zaozhuang")
    _gen(bob, "platform", role="platform")
    added = bob.add_public(alice.public_path("amr-zaozhuang"))
    assert added == a
    assert bob.add_public(alice.public_path("amr-zaozhuang")) == a  # idempotent
    assert bob.get_public(a.key_id) == a
    kinds = {e.id: e.kind for e in bob.list()}
    assert kinds == {"amr-zaozhuang": "public", "platform": "private"}
    # a different key under the same id
    mallory = Keyring(tmp_path / "mallory", compliance_mode="any")
    _gen(mallory, "amr-zaozhuang")
    with pytest.raises(KeyringError, match="different key"):
        bob.add_public(mallory.public_path("amr-zaozhuang"))
    # the same keys under another id (re-labelled with a recomputed key id)
    from xinan.keys import pair_key_id

    doc = json.loads(alice.public_path("amr-zaozhuang").read_text(encoding="utf-8"))
    doc["id"] = "impostor"
    doc["key_id"] = pair_key_id(get_suite("intl"), doc)
    fake = tmp_path / "impostor.pub"
    fake.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    with pytest.raises(KeyringError, match="same public key"):
        bob.add_public(fake)
    # private files never go into the trust store
    with pytest.raises(KeyringError, match="only public"):
        bob.add_public(alice.private_path("amr-zaozhuang"))
    with pytest.raises(KeyringError, match="no public key"):
        bob.get_public("nobody")


def test_compliance_gm_only(tmp_path: Path) -> None:
    any_ring = Keyring(tmp_path / "k", compliance_mode="any")
    _gen(any_ring, "intl-key", "intl")
    _gen(any_ring, "gm-key", "gm")
    gm_only = Keyring(tmp_path / "k", compliance_mode="gm-only")
    with pytest.raises(ComplianceError, match="intl"):
        gm_only.generate("new", "provider", "intl", PW, now=NOW, kdf_params=FAST_KDF)
    with pytest.raises(ComplianceError, match="Ed25519"):
        gm_only.get_public("intl-key")
    with pytest.raises(ComplianceError):
        gm_only.unlock("intl-key", PW)
    with pytest.raises(ComplianceError):
        gm_only.export("intl-key", "pem")
    other = Keyring(tmp_path / "other", compliance_mode="gm-only")
    with pytest.raises(ComplianceError):
        other.add_public(any_ring.public_path("intl-key"))
    other.add_public(any_ring.public_path("gm-key"))
    gm_only.unlock("gm-key", PW)
    assert {e.suite for e in gm_only.list()} == {"intl", "gm"}  # listing shows everything


def test_export_pem_and_jwk(ring: Keyring) -> None:
    info = _gen(ring, "exp")
    pem = ring.export("exp", "pem")
    key = serialization.load_pem_public_key(pem.encode())
    assert key.public_bytes_raw() == info.sig  # type: ignore[union-attr]
    kem_pem = ring.export("exp", "pem", part="kem")
    assert serialization.load_pem_public_key(kem_pem.encode()).public_bytes_raw() == info.kem  # type: ignore[union-attr]
    jwk = json.loads(ring.export("exp", "jwk"))
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["kid"] == info.key_id
    # pyjwt accepts it and verifies an EdDSA token signed by the identity
    ident = ring.unlock("exp", PW)
    token = jwt.encode({"sub": "x"}, _ed_private_pem(ident), algorithm="EdDSA")
    assert jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["EdDSA"]) == {"sub": "x"}
    with pytest.raises(UsageError):
        ring.export("exp", "der")


def _ed_private_pem(ident) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    raw = get_suite("intl").export_private(ident.signing)
    return ed25519.Ed25519PrivateKey.from_private_bytes(raw).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_export_gm_and_pq(ring: Keyring) -> None:
    _gen(ring, "g", "gm")
    assert "BEGIN PUBLIC KEY" in ring.export("g", "pem")
    with pytest.raises(KeyringError, match="JWK"):
        ring.export("g", "jwk")
    _gen(ring, "p", "pq")
    assert json.loads(ring.export("p", "jwk"))["crv"] == "Ed25519"
    with pytest.raises(KeyringError, match="hybrid"):
        ring.export("p", "pem", part="kem")


def test_keyring_from_environment_compliance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XINAN_COMPLIANCE", "gm-only")
    ring = Keyring(tmp_path / "k")
    with pytest.raises(ComplianceError):
        ring.generate("x", "provider", "pq", PW, now=NOW, kdf_params=FAST_KDF)
    assert os.environ["XINAN_COMPLIANCE"] == "gm-only"
