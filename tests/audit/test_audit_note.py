"""Signed notes, vkeys, checkpoints and cosignatures (C2SP signed-note, tlog-checkpoint,
tlog-cosignature)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from xinan.audit.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from xinan.audit.note import (
    SIG_TYPE_SM2,
    CosignatureSigner,
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    add_signatures,
    cosignature_time,
    format_vkey,
    key_id,
    open_note,
    parse_note,
    parse_vkey,
    parse_vkeys,
    read_vkeys,
    register_vkey_type,
    sign_note,
)
from xinan.errors import IntegrityError, NoteError, UsageError

T0 = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"test key %d" % seed).digest())


LOG = Ed25519Signer("example.gov.cn/xinan-audit/test", _key(1))
OTHER = Ed25519Signer("example.gov.cn/xinan-audit/test", _key(2))  # same name, other key
WITNESS = CosignatureSigner("witness.example/w1", _key(3), lambda: T0)
CP = Checkpoint("example.gov.cn/xinan-audit/test", 7, hashlib.sha256(b"r").digest())


def test_key_id_matches_definition() -> None:
    pub = LOG.verifier().public_key
    want = hashlib.sha256(LOG.name.encode() + b"\n\x01" + pub).digest()[:4]
    assert LOG.key_id == int.from_bytes(want, "big")


def test_go_note_vkey_example_parses() -> None:
    # The example verifier key of golang.org/x/mod/sumdb/note's documentation.
    v = parse_vkey("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    assert v.name == "PeterNeumann" and v.key_id == 0xC74F20A3
    with pytest.raises(UsageError):
        parse_vkey("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_vkey_roundtrip_and_file(tmp_path) -> None:
    vk = LOG.verifier().vkey()
    assert parse_vkey(vk) == LOG.verifier()
    assert parse_vkey(WITNESS.verifier().vkey()) == WITNESS.verifier()
    f = tmp_path / "keys.vkey"
    f.write_text("# log\n" + vk + "\n" + WITNESS.verifier().vkey() + "\n")
    assert len(read_vkeys(f)) == 2
    assert read_vkeys(f) == parse_vkeys(f.read_text())
    with pytest.raises(UsageError):
        read_vkeys(tmp_path / "missing")
    with pytest.raises(UsageError, match="not a verifier key"):
        parse_vkeys(str(f))  # text is never taken for a file name
    with pytest.raises(UsageError):
        parse_vkey("a+b+c")


def test_sign_open_roundtrip() -> None:
    note = sign_checkpoint(CP, [LOG])
    data = note.to_bytes()
    assert parse_note(data).to_bytes() == data
    cp, _ = open_checkpoint(data, [LOG.verifier()], origin=CP.origin)
    assert cp == CP
    assert data.decode().startswith(CP.text() + "\n\u2014 " + LOG.name + " ")


@given(
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1).filter(
        lambda s: not s.startswith("@")
    ),
    st.integers(0, 2**63),
    st.binary(min_size=32, max_size=32),
)
def test_checkpoint_text_roundtrip(origin: str, size: int, root: bytes) -> None:
    cp = Checkpoint(origin, size, root)
    assert Checkpoint.parse(cp.text()) == cp
    note = sign_checkpoint(cp, [LOG]).to_bytes()
    assert parse_note(note).to_bytes() == note


def test_flip_every_byte_of_signed_checkpoint_rejected() -> None:
    data = add_signatures(sign_checkpoint(CP, [LOG]), [WITNESS]).to_bytes()
    open_checkpoint(data, [LOG.verifier()], required=[WITNESS.verifier()])
    for i in range(len(data)):
        for mask in (0x01, 0x80):
            bad = bytearray(data)
            bad[i] ^= mask
            with pytest.raises((IntegrityError, UsageError)):
                open_checkpoint(bytes(bad), [LOG.verifier()], required=[WITNESS.verifier()])


def test_unknown_keys_ignored_known_must_verify() -> None:
    text = CP.text()
    stranger = Ed25519Signer("stranger.example", _key(9))
    note = sign_note(text, [stranger, LOG])
    open_note(note, [LOG.verifier()])  # the stranger's line is ignored
    with pytest.raises(NoteError):
        open_note(sign_note(text, [stranger]), [LOG.verifier()])
    # same name, other key: a different key id, so ignored; but no known line → reject
    with pytest.raises(NoteError):
        open_note(sign_note(text, [OTHER]), [LOG.verifier()])
    # a known key's bad line rejects even when another known line verifies
    good = sign_note(text, [LOG, Ed25519Signer("w2.example", _key(4))])
    sigs = list(good.signatures)
    sigs[1] = type(sigs[1])(sigs[1].name, sigs[1].key_id, bytes(64))
    with pytest.raises(NoteError):
        open_note(
            Note(text, tuple(sigs)),
            [LOG.verifier(), Ed25519Signer("w2.example", _key(4)).verifier()],
        )


def test_duplicate_known_lines_rejected_unknown_duplicates_ignored() -> None:
    note = sign_note(CP.text(), [LOG, LOG])
    with pytest.raises(NoteError):
        open_note(note, [LOG.verifier()])
    stranger = Ed25519Signer("stranger.example", _key(9))
    open_note(sign_note(CP.text(), [stranger, stranger, LOG]), [LOG.verifier()])


def test_required_key_missing_rejected() -> None:
    note = sign_checkpoint(CP, [LOG])
    with pytest.raises(NoteError):
        open_note(note, [LOG.verifier()], required=[WITNESS.verifier()])


def test_cosignature_format_and_check() -> None:
    note = add_signatures(sign_checkpoint(CP, [LOG]), [WITNESS])
    sig = note.signatures[-1]
    assert sig.key_id == key_id(WITNESS.name, b"\x04", WITNESS.verifier().public_key)
    assert len(sig.signature) == 72 and cosignature_time(sig.signature) == int(T0.timestamp())
    # the signed message is cosignature/v1 framing + the whole checkpoint text
    msg = b"cosignature/v1\ntime %d\n" % int(T0.timestamp()) + CP.text().encode()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    Ed25519PublicKey.from_public_bytes(WITNESS.verifier().public_key).verify(sig.signature[8:], msg)
    open_note(note, [LOG.verifier()], required=[WITNESS.verifier()])
    # a cosignature is not an Ed25519 note signature by the same key
    plain = Ed25519Verifier(WITNESS.name, WITNESS.verifier().public_key)
    assert plain.key_id != WITNESS.key_id
    # future timestamps may be rejected
    from xinan.audit.note import CosignatureVerifier

    strict = CosignatureVerifier(WITNESS.name, WITNESS.verifier().public_key, max_time=0)
    with pytest.raises(NoteError):
        open_note(note, [LOG.verifier()], required=[strict])


def test_malformed_notes_rejected() -> None:
    good = sign_checkpoint(CP, [LOG]).to_bytes()
    for bad in (
        good[:-1],  # no final newline
        good.replace(b"\n\n", b"\n"),  # no blank line
        CP.text().encode() + b"\n",  # no signature
        good.replace("\u2014".encode(), b"-"),
        good.replace(b"\n7\n", b"\n07\n"),  # leading zero
        b"\xff" + good,
        good.replace(b"\n7\n", b"\n7\x01\n"),
    ):
        with pytest.raises(NoteError):
            open_checkpoint(bad, [LOG.verifier()])


def test_checkpoint_hash_extension() -> None:
    cp = Checkpoint.for_hash("o", 1, bytes(32), "sm3")
    assert cp.text().endswith("xinan-hash sm3\n") and cp.hash_name == "sm3"
    assert Checkpoint.for_hash("o", 1, bytes(32), "sha256").hash_name == "sha256"
    with pytest.raises(NoteError):
        Checkpoint("o", 1, bytes(32), ("xinan-hash md5",))


def test_sm2_type_pluggable() -> None:
    # A stand-in verifier proves the registry and key-id rules for the private 0xff type.
    class Fake:
        def __init__(self, name: str, pub: bytes) -> None:
            self.name, self.pub = name, pub

        @property
        def key_id(self) -> int:
            return key_id(self.name, SIG_TYPE_SM2, self.pub)

        def verify(self, msg: bytes, sig: bytes) -> None:
            if sig != hashlib.sha256(self.pub + msg).digest() * 2:
                raise NoteError("bad")

    register_vkey_type(SIG_TYPE_SM2, Fake)
    pub = b"\x04" + bytes(64)
    vk = format_vkey("gm.example/log", SIG_TYPE_SM2, pub)
    assert base64.b64decode(vk.split("+")[2])[:14] == SIG_TYPE_SM2
    v = parse_vkey(vk)
    assert isinstance(v, Fake) and v.pub == pub
