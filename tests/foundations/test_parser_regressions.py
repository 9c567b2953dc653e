"""Regression tests for the parser crashes of issue 11 ("Parsers crash instead of refusing"):
each input below raised a Python exception (UnicodeEncodeError, OSError, TypeError,
AttributeError, ValueError) instead of one of xinan's own errors, or was accepted in a second
byte string. Each test fails on the code before the fix."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import UTC, date, datetime, timedelta
from functools import cache

import pytest

from xinan import keys
from xinan.crypto import get_suite
from xinan.errors import (
    InvalidProof,
    KeyringError,
    NoteError,
    PolicyError,
    UsageError,
    VerificationError,
    XinanError,
)
from xinan.formats import grant as G
from xinan.formats import package as P
from xinan.formats import release as R

NOW = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
META = P.PackageMeta("credit-default", "2026.1", "penalty", ("名称",), ("证件号码",))


@cache
def ident(name: str, role: keys.Role = keys.Role.PROVIDER) -> keys.Identity:
    s = get_suite("intl")
    h = hashlib.sha256(name.encode()).digest()
    sk, kk = s.import_private("sign", h), s.import_private("kem", h[::-1])
    kid = "xk1" + base64.b32encode(h[:15]).decode().lower()
    info = keys.PublicKeyInfo(name, kid, role, s.name, NOW, sk.public_bytes(), kk.public_bytes())
    return keys.Identity(info, sk, kk)


def seal() -> bytes:
    out = io.BytesIO()
    P.seal_package(
        out,
        [P.SealRecord("R-1", ["某某商贸有限公司"], ["11010519491231002X"])],
        suite=get_suite("intl"),
        sender=ident("prov"),
        recipients=[ident("plat").info],
        meta=META,
        now=NOW,
    )
    return out.getvalue()


def resign(header: bytes, body: list[bytes]) -> bytes:
    """The package of ``header`` and ``body`` signed by the genuine sender: what a dishonest or
    buggy sender could send (so the reader's own checks are what is tested)."""
    s = get_suite("intl")
    digest = s.digest(b"".join(body))
    msg = P._signed_message(s, header, len(body), digest)
    sig = s.sign(ident("prov").signing, msg)
    return header + b"".join(body) + P._trailer_line(len(body), digest, sig)


def verify(data: bytes) -> P.PackageInfo:
    trust = {ident("prov").key_id: ident("prov").info}.get
    return P.verify_package(io.BytesIO(data), trust=trust)


def open_(data: bytes) -> list[P.OpenedRecord]:
    got: list[P.OpenedRecord] = []
    P.open_package(
        io.BytesIO(data),
        got.append,
        identity=ident("plat"),
        trust={ident("prov").key_id: ident("prov").info}.get,
    )
    return got


def test_package_sealed_field_name_with_lone_surrogate_is_refused() -> None:
    lines = seal().splitlines(keepends=True)
    header = lines[0].replace('"sealed":["证件号码"]'.encode(), b'"sealed":["\\ud800"]')
    assert header != lines[0]
    data = resign(header, lines[1:-1])
    for reader in (verify, open_):
        with pytest.raises(VerificationError):
            reader(data)


def test_package_record_id_with_lone_surrogate_is_refused() -> None:
    lines = seal().splitlines(keepends=True)
    rec = lines[1].replace(b'["R-1",', b'["R-\\udc80",')
    assert rec != lines[1]
    data = resign(lines[0], [rec])
    for reader in (verify, open_):
        with pytest.raises(VerificationError, match="record 1"):
            reader(data)


def test_package_header_escapes_are_not_a_second_encoding() -> None:
    """One package id, one byte string: a header whose text uses \\uXXXX escapes for
    characters written as themselves by the writer (or any other spacing) is refused."""
    data = seal()
    lines = data.splitlines(keepends=True)
    assert verify(data).kind == "penalty"
    for old, new in [
        (b'"kind":"penalty"', b'"kind":"\\u0070enalty"'),
        ('"证件号码"'.encode(), b'"\\u8bc1\\u4ef6\\u53f7\\u7801"'),
        (b'"kind":"penalty"', b'"kind": "penalty"'),
        (b'"sealed":', b'"sealed" :'),
    ]:
        header = lines[0].replace(old, new, 1)
        assert header != lines[0]
        with pytest.raises(VerificationError, match="canonical"):
            verify(resign(header, lines[1:-1]))


def test_package_record_escapes_are_not_a_second_encoding() -> None:
    lines = seal().splitlines(keepends=True)
    rec = lines[1].replace(b'"R-1"', b'"R\\u002d1"')
    assert rec != lines[1]
    with pytest.raises(VerificationError, match=r"record 1.*canonical"):
        verify(resign(lines[0], [rec]))


def _release_doc() -> dict[str, object]:
    return {
        "format": R.FORMAT,
        "id": "0" * 32,
        "suite": "intl",
        "share": "1" * 32,
        "grant": "g",
        "querent": "xk1bank",
        "sender": "xk1plat",
        "created": "2026-01-05T08:30:00Z",
        "records": 0,
        "withheld": 0,
        "wrapped": "AA==",
        "key_commitment": "AA==",
        "secrets": "AA==",
        "signature": "AA==",
    }


def test_release_file_with_lone_surrogate_is_refused() -> None:
    doc = _release_doc()
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"
    assert R.read_release_header(text.encode())["grant"] == "g"  # the shape is right
    bad = text.replace('"grant":"g"', '"grant":"\\ud800"').encode()
    with pytest.raises(VerificationError):
        R.read_release_header(bad)


def test_revocation_list_with_lone_surrogate_is_refused() -> None:
    plat = ident("plat", keys.Role.PLATFORM)
    rl = G.RevocationList(plat.info.id, 1)
    data = G.sign_revocations(rl, plat, now=NOW, next_update=NOW + timedelta(days=1))
    trust = {plat.key_id: plat.info}
    assert G.verify_revocations(data, trust=trust, now=NOW).number == 1
    bad = data.replace(f'"issuer": "{plat.info.id}"'.encode(), b'"issuer": "\\udfff"')
    assert bad != data
    with pytest.raises(G.RevocationListInvalid):
        G.verify_revocations(bad, trust=trust, now=NOW)


def test_key_file_with_lone_surrogate_is_refused(tmp_path) -> None:
    ring = keys.Keyring(tmp_path / "ring")
    ring.generate("amr", keys.Role.PROVIDER, "intl", "correct horse battery", now=NOW)
    pub = ring.public_path("amr")
    data = pub.read_bytes()
    bad = tmp_path / "bad.pub"
    bad.write_bytes(data.replace(b'"id": "amr"', b'"id": "\\ud800"'))
    assert bad.read_bytes() != data
    with pytest.raises(KeyringError):
        keys.read_public_file(bad)


def test_a_long_string_given_as_a_verifier_key_is_not_taken_for_a_path() -> None:
    from xinan.audit.note import parse_vkeys

    with pytest.raises(UsageError):
        parse_vkeys("x" * 5000)
    with pytest.raises(UsageError):
        parse_vkeys("name+" + "0" * 8 + "+" + "A" * 5000)


def test_cli_key_option_with_a_long_non_key_fails_cleanly(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from xinan.cli import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.log").write_bytes(b"")
    res = CliRunner().invoke(app, ["audit", "verify", "a.log", "--key", "k" * 5000])
    assert res.exit_code in (1, 2), res.output
    assert "not a verifier key" in res.output


@pytest.mark.parametrize("where", ["text", "name"])
def test_note_given_as_str_with_a_lone_surrogate_is_refused(where: str) -> None:
    from xinan.audit.note import open_note, parse_note

    text = "origin\n1\nAAAA\n\n\u2014 name AAAAAAAA\n"
    text = text.replace("origin", "o\ud800") if where == "text" else text.replace("name", "n\udc00")
    with pytest.raises(NoteError):
        open_note(parse_note(text), [])


@pytest.mark.parametrize("index", ["²", "١", "+1", " 1"])
def test_proof_index_must_be_ascii_decimal(index: str) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from xinan.audit.checkpoint import Checkpoint, sign_checkpoint
    from xinan.audit.note import Ed25519Signer
    from xinan.audit.proof import TLOG_PROOF_HEADER, check_proof

    signer = Ed25519Signer("example.gov.cn/log", Ed25519PrivateKey.from_private_bytes(bytes(32)))
    note = sign_checkpoint(Checkpoint("example.gov.cn/log", 1, bytes(32)), [signer]).to_bytes()
    proof = f"{TLOG_PROOF_HEADER}\nextra AA==\nindex {index}\n\n" + note.decode()
    with pytest.raises(InvalidProof):
        check_proof(proof, note)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # the [quality] thresholds (0.95)
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("subject_classes",), 1),
        (("prohibited",), True),
        (("settings",), "x"),
        (("kind", "penalty"), True),
        (("kind", "penalty", "field"), True),
        (("kind", "penalty", "field", 0), "x"),
        (("kind", "penalty", "field", 0, "category"), ["x"]),
        (("kind", "penalty", "field", 0, "consent_gated"), ["x"]),
        (("kind", "penalty", "class_requires"), ["x"]),
        (("kind", "penalty", "class_field"), ["x"]),
        (("consent_gated", "category", 0), "x"),
        (("grades",), ["x"]),
    ],
)
def test_policy_with_a_value_of_another_type_is_refused(path: tuple, value: object) -> None:
    """Each of these raised TypeError or AttributeError from the policy loader."""
    import tomllib
    from pathlib import Path

    from xinan.policy import load_policy_text

    text = (Path(__file__).resolve().parents[2] / "policies" / "credit-default.toml").read_text(
        "utf-8"
    )
    doc = tomllib.loads(text)
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    parent[path[-1]] = value
    mutated = "".join(f"{json.dumps(k)} = {_toml(v)}\n" for k, v in doc.items())
    with pytest.raises(PolicyError) as ei:
        load_policy_text(mutated, "bad.toml")
    assert any(p.path.startswith(path[0]) for p in ei.value.problems), ei.value.problems


def test_cert_with_lone_surrogate_is_refused() -> None:
    from xinan.errors import CertificateInvalid
    from xinan.platform.destruction import verify_certificate

    doc = {"certificate": {"format": "\ud800"}, "format": "xinan-destruction/1", "signature": {}}
    text = json.dumps(doc, sort_keys=True, indent=2) + "\n"
    with pytest.raises(CertificateInvalid):
        verify_certificate(text.encode(), trust=[])


def test_every_regression_error_is_a_xinan_error() -> None:
    assert issubclass(NoteError, XinanError) and issubclass(InvalidProof, XinanError)
    assert base64  # imported for the helpers above


@pytest.mark.parametrize("data", [b"[]", b'{"format": "xinan-audit-config/1"}', b"[" * 100_000])
def test_audit_config_that_is_not_an_object_is_refused(tmp_path, data: bytes) -> None:
    """Was AttributeError / KeyError / RecursionError."""
    from xinan.access import AuditConfig, load_audit_config
    from xinan.errors import AuditError

    log = tmp_path / "audit.log"
    AuditConfig.path_for(log).write_bytes(data)
    with pytest.raises(AuditError):
        load_audit_config(log)


@pytest.mark.parametrize(
    ("suffix", "data"),
    [
        (".json", b"[" * 100_000),  # was RecursionError
        (".json", b'{"a": 1' + b"0" * 5000 + b"}"),  # was ValueError (int digits limit)
        (".json", b'{"a": "\\ud800"}'),  # a lone surrogate
        (".csv", b"field,value\nx," + b"a" * 200_000 + b"\n"),  # was csv.Error (field limit)
    ],
)
def test_correction_file_is_refused_cleanly(tmp_path, suffix: str, data: bytes) -> None:
    import csv

    from xinan.platform.lifecycle import read_correction

    p = tmp_path / ("c" + suffix)
    p.write_bytes(data)
    # the csv module's field limit is process-wide (other code may raise it): fix it here
    old = csv.field_size_limit(131072)
    try:
        with pytest.raises(UsageError):
            read_correction(p)
    finally:
        csv.field_size_limit(old)


def test_proof_given_as_text_with_a_lone_surrogate_is_refused() -> None:
    """Was UnicodeEncodeError (the note part is encoded to bytes)."""
    from fuzz import world
    from xinan.audit.proof import TLOG_PROOF_HEADER, check_proof

    proof = f"{TLOG_PROOF_HEADER}\nindex 0\n\no\ud800\n1\nAAAA\n\n— n AAAAAAAA\n"
    with pytest.raises(InvalidProof):
        check_proof(proof, world.checkpoint_note(5))
