"""Tests of the sealed package format (docs/package.md): round trips in every suite, tamper
detection (flip every byte, truncate, reorder, duplicate, drop, swap), keys and suites, parser
limits, share packages, and an independent re-implementation of §5.3 for intl."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinan import keys
from xinan.crypto import get_suite
from xinan.crypto.base import CryptoSuite
from xinan.errors import (
    InputError,
    IntegrityError,
    UsageError,
    VerificationError,
    XinanError,
)
from xinan.formats import package as P

NOW = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
SUITES = ["intl", "pq", "gm"]
CLEAR = ("行政相对人名称", "处罚类别", "决定日期")
SEALED = ("证件号码", "法定代表人", "联系电话")
META = P.PackageMeta("credit-default", "2026.1", "penalty", CLEAR, SEALED)


@cache
def ident(suite_name: str, name: str) -> keys.Identity:
    """An in-memory identity (no key file, no Argon2): fast."""
    s = get_suite(suite_name)
    sk, kk = s.generate_signing_key(), s.generate_kem_key()
    info = keys.PublicKeyInfo(
        name,
        f"xk1{suite_name}{name}",
        keys.Role.PROVIDER,
        s.name,
        NOW,
        sk.public_bytes(),
        kk.public_bytes(),
    )
    return keys.Identity(info, sk, kk)


def trust_of(*ids: keys.Identity) -> P.TrustLookup:
    table = {i.key_id: i.info for i in ids}
    return table.get


def recs(n: int = 3) -> list[P.SealRecord]:
    return [
        P.SealRecord(
            f"R-{i:04d}",
            [f"某某商贸有限公司{i}", "罚款", "2025-12-01"],
            [f"11010519491231{i:03d}X", f"张三{i}", f"1380013{i:04d}"],
        )
        for i in range(n)
    ]


def seal(
    suite_name: str = "intl",
    records: list[P.SealRecord] | None = None,
    *,
    sender: str = "prov",
    to: tuple[str, ...] = ("plat",),
    meta: P.PackageMeta = META,
    limits: P.Limits = P.DEFAULT_LIMITS,
) -> bytes:
    out = io.BytesIO()
    P.seal_package(
        out,
        recs() if records is None else records,
        suite=get_suite(suite_name),
        sender=ident(suite_name, sender),
        recipients=[ident(suite_name, r).info for r in to],
        meta=meta,
        now=NOW,
        limits=limits,
    )
    return out.getvalue()


def open_all(
    data: bytes, suite_name: str = "intl", *, key: str = "plat", sender: str = "prov", **kw: Any
) -> list[P.OpenedRecord]:
    got: list[P.OpenedRecord] = []
    P.open_package(
        io.BytesIO(data),
        got.append,
        identity=ident(suite_name, key),
        trust=trust_of(ident(suite_name, sender)),
        **kw,
    )
    return got


def verify(data: bytes, suite_name: str = "intl", sender: str = "prov", **kw: Any) -> P.PackageInfo:
    return P.verify_package(io.BytesIO(data), trust=trust_of(ident(suite_name, sender)), **kw)


def resign(data: bytes, suite_name: str = "intl", sender: str = "prov") -> bytes:
    """Recompute the trailer with the genuine sender key: models a dishonest/buggy sender, so
    that the AEAD bindings themselves are tested (the signature no longer catches the edit)."""
    s = get_suite(suite_name)
    lines = data.splitlines(keepends=True)
    header, body = lines[0], lines[1:-1]
    digest = s.digest(b"".join(body))
    sig = s.sign(ident(suite_name, sender).signing, P._signed_message(s, header, len(body), digest))
    return header + b"".join(body) + P._trailer_line(len(body), digest, sig)


def must_not_open(data: bytes, suite_name: str = "intl", **kw: Any) -> XinanError:
    """Opening fails with a xinan error and releases no record."""
    released: list[P.OpenedRecord] = []
    with pytest.raises((IntegrityError, VerificationError)) as ei:
        P.open_package(
            io.BytesIO(data),
            released.append,
            identity=ident(suite_name, "plat"),
            trust=trust_of(ident(suite_name, "prov")),
            **kw,
        )
    assert released == []
    return ei.value


# -- round trips ---------------------------------------------------------------------------
values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=40
) | st.sampled_from(["", "张三", "山东省济南市历下区", "x" * 5000, '"\\\n\t\x00'])
record_ids = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda s: not any(0x7F <= ord(c) <= 0x9F for c in s))


@pytest.mark.parametrize("suite_name", SUITES)
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            record_ids,
            st.lists(values, min_size=3, max_size=3),
            st.lists(values, min_size=3, max_size=3),
        ),
        max_size=5,
    )
)
def test_round_trip(suite_name: str, rows: list[tuple[str, list[str], list[str]]]) -> None:
    records = [P.SealRecord(r, c, s) for r, c, s in rows]
    data = seal(suite_name, records)
    info = verify(data, suite_name)
    assert info.count == len(records) and info.suite.value == suite_name
    got = open_all(data, suite_name)
    assert [(g.record_id, list(g.clear), list(g.sealed)) for g in got] == [
        (r.record_id, list(r.clear), list(r.sealed)) for r in records
    ]
    assert all(g.source_package_id == info.package_id for g in got)


def test_header_and_layout() -> None:
    data = seal()
    lines = data.split(b"\n")
    assert lines[-1] == b"" and len(lines) == 1 + 3 + 1 + 1
    h = json.loads(lines[0])
    assert next(iter(h)) == "format" and h["format"] == "xinan-package/1"
    assert h["audience"] == "submission" and h["sealed"] == list(SEALED)
    assert h["created"] == "2026-01-05T08:30:00Z"
    assert lines[-2].startswith(b'{"trailer":"xinan-package/1",')
    assert "张三" not in data.decode()  # sealed values are not in clear
    assert "某某商贸有限公司0" in data.decode()  # clear fields are
    # Every package gets a fresh id and fresh keys.
    assert json.loads(seal().split(b"\n")[0])["id"] != h["id"]


def test_multiple_recipients_each_open() -> None:
    data = seal(to=("plat", "plat2"))
    assert open_all(data, key="plat") == open_all(data, key="plat2")


def test_empty_package() -> None:
    data = seal(records=[])
    assert verify(data).count == 0
    assert open_all(data) == []


# -- §5.3 / §5.4 by an independent implementation (intl) ----------------------------------
def test_spec_field_key_and_value_by_hand() -> None:
    keyed: list[P.KeyedRecord] = []
    data = seal()
    info = P.open_package_keys(
        io.BytesIO(data),
        keyed.append,
        identity=ident("intl", "plat"),
        trust=trust_of(ident("intl", "prov")),
    )
    pid = bytes.fromhex(info.package_id)
    kr = keyed[1]
    assert kr.record_key is not None

    def enc(s: str) -> bytes:
        b = s.encode()
        return len(b).to_bytes(2, "big") + b

    for i, name in enumerate(SEALED):
        fixed = b"xinan-package/1 field-key\x00" + pid + enc(kr.record_id) + enc(name)
        kf = hashlib.sha256(b"\x00\x00\x00\x01" + kr.record_key + fixed).digest()
        assert kf == kr.field_keys[i]
        assert kf == P.derive_field_key(
            get_suite("intl"), info.package_id, kr.record_key, kr.record_id, name
        )
        blob = kr.blobs[i]
        assert blob is not None
        assert (
            blob[:32] == hashlib.sha256(b"xinan-package/1 field-key-commitment\x00" + kf).digest()
        )
        aad = b"xinan-package/1 value\x00" + pid + enc(kr.record_id) + enc(name)
        assert AESGCM(kf).decrypt(bytes(12), blob[32:], aad).decode() == recs()[1].sealed[i]
        assert (
            P.open_sealed_value(
                get_suite("intl"),
                blob,
                kf,
                package_id=info.package_id,
                record_id=kr.record_id,
                field_name=name,
            )
            == recs()[1].sealed[i]
        )


def test_open_sealed_value_checks_commitment_and_binding() -> None:
    keyed: list[P.KeyedRecord] = []
    info = P.open_package_keys(
        io.BytesIO(seal()),
        keyed.append,
        identity=ident("intl", "plat"),
        trust=trust_of(ident("intl", "prov")),
    )
    s = get_suite("intl")
    k0, k1 = keyed[0], keyed[1]
    blob, fk = k0.blobs[0], k0.field_keys[0]
    assert blob is not None and fk is not None
    args = {"package_id": info.package_id, "record_id": k0.record_id, "field_name": SEALED[0]}
    other_key = k0.field_keys[1]
    assert other_key is not None
    with pytest.raises(IntegrityError):  # wrong key: commitment catches it before the AEAD
        P.open_sealed_value(s, blob, other_key, **args)
    with pytest.raises(IntegrityError):  # right key, another record's id in the AAD
        P.open_sealed_value(s, blob, fk, **{**args, "record_id": k1.record_id})
    with pytest.raises(IntegrityError):  # another field's name
        P.open_sealed_value(s, blob, fk, **{**args, "field_name": SEALED[1]})
    with pytest.raises(IntegrityError):  # another package
        P.open_sealed_value(s, blob, fk, **{**args, "package_id": "00" * 16})


# -- tampering -------------------------------------------------------------------------------
def small_package() -> bytes:
    meta = P.PackageMeta("p", "1", "penalty", ("a",), ("b", "c"))
    return seal(
        records=[P.SealRecord("r1", ["x"], ["秘密", "s"]), P.SealRecord("r2", ["y"], ["t", ""])],
        meta=meta,
    )


@pytest.mark.parametrize("mask", [0x01, 0x80, 0x20])
def test_flip_every_byte(mask: int) -> None:
    data = small_package()
    open_all(data)  # sanity: it opens untouched
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= mask
        with pytest.raises((IntegrityError, VerificationError)):
            verify(bytes(bad))
        must_not_open(bytes(bad))


def test_truncate_anywhere() -> None:
    data = small_package()
    for n in range(len(data)):
        with pytest.raises((IntegrityError, VerificationError)):
            verify(data[:n])
        must_not_open(data[:n])


def lines_of(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def rebuild(lines: list[bytes]) -> bytes:
    return b"".join(lines)


def test_reorder_duplicate_drop_insert() -> None:
    h, r1, r2, r3, t = lines_of(seal())
    cases = {
        "reorder": [h, r2, r1, r3, t],
        "duplicate": [h, r1, r1, r2, r3, t],
        "drop": [h, r1, r3, t],
        "drop last": [h, r1, r2, t],
        "missing trailer": [h, r1, r2, r3],
        "data after trailer": [h, r1, r2, r3, t, r1],
        "other package's record": [h, r1, lines_of(seal())[2], r3, t],
    }
    for name, parts in cases.items():
        with pytest.raises((IntegrityError, VerificationError)):
            verify(rebuild(parts))
        e = must_not_open(rebuild(parts))
        assert e.message, name


def test_count_and_digest_named() -> None:
    h, r1, r2, r3, t = lines_of(seal())
    with pytest.raises(VerificationError, match="count mismatch"):
        verify(rebuild([h, r1, r2, t]).replace(b'"count":3', b'"count":3'))  # digest differs
    tr = json.loads(t)
    tr["count"] = 2
    forged = json.dumps(tr, separators=(",", ":")).encode() + b"\n"
    with pytest.raises(VerificationError, match="count mismatch"):
        verify(rebuild([h, r1, r2, r3, forged]))
    with pytest.raises(VerificationError, match="records digest mismatch"):
        verify(rebuild([h, r2, r1, r3, t]))


def _swap_sealed(line_a: bytes, line_b: bytes, fa: int, fb: int) -> tuple[bytes, bytes]:
    a, b = json.loads(line_a), json.loads(line_b)
    a[2][fa], b[2][fb] = b[2][fb], a[2][fa]
    enc = lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"  # noqa: E731
    return enc(a), enc(b)


def test_swap_sealed_field_between_records() -> None:
    h, r1, r2, r3, t = lines_of(seal())
    s1, s2 = _swap_sealed(r1, r2, 0, 0)
    swapped = rebuild([h, s1, s2, r3, t])
    with pytest.raises(VerificationError, match="digest"):
        verify(swapped)
    must_not_open(swapped)
    # Even re-signed by the sender, the AAD (record id) catches it when opening.
    re = resign(swapped)
    verify(re)
    e = must_not_open(re)
    assert "record 1" in e.message and "R-0000" in e.message


def test_swap_two_fields_of_one_record() -> None:
    h, r1, r2, r3, t = lines_of(seal())
    a = json.loads(r1)
    a[2][0], a[2][1] = a[2][1], a[2][0]
    r1x = json.dumps(a, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    bad = resign(rebuild([h, r1x, r2, r3, t]))
    e = must_not_open(bad)
    assert "证件号码" in e.message or "法定代表人" in e.message
    assert "110105" not in e.message and "张三" not in e.message  # no plaintext in errors


def test_swap_record_keys_between_records_resigned() -> None:
    h, r1, r2, r3, t = lines_of(seal())
    a, b = json.loads(r1), json.loads(r2)
    a[3], b[3] = b[3], a[3]
    enc = lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"  # noqa: E731
    e = must_not_open(resign(rebuild([h, enc(a), enc(b), r3, t])))
    assert "record key did not open" in e.message


def test_changed_after_it_was_read() -> None:
    """A file that changes once it was read (a second pass would see other bytes): the reader
    reads the package once and releases exactly the records it verified, never the new ones."""
    good = seal()
    h, r1, r2, r3, t = lines_of(good)
    a = json.loads(r1)
    a[1][0] = "改过了"
    changed = rebuild(
        [h, json.dumps(a, ensure_ascii=False, separators=(",", ":")).encode() + b"\n", r2, r3, t]
    )

    class Flaky(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            out = super().read(n)
            if not out:  # read to the end once: from now on the file holds other bytes
                pos = self.tell()
                self.__init__(changed)  # type: ignore[misc]
                super().seek(pos)
            return out

        def seek(self, pos: int, whence: int = 0) -> int:
            self.__init__(changed)  # type: ignore[misc]
            return super().seek(pos, whence)

    plat, prov = ident("intl", "plat"), ident("intl", "prov")
    released: list[P.OpenedRecord] = []
    P.open_package(Flaky(good), released.append, identity=plat, trust=trust_of(prov))
    expected: list[P.OpenedRecord] = []
    P.open_package(io.BytesIO(good), expected.append, identity=plat, trust=trust_of(prov))
    assert released == expected and len(expected) == 3
    assert all("改过了" not in r.clear for r in released)


def test_pipe_input_is_spooled(tmp_path: Any) -> None:
    data = seal()

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self._b = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, b: Any) -> int:
            chunk = self._b.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

    got: list[P.OpenedRecord] = []
    P.open_package(
        io.BufferedReader(Pipe()),
        got.append,
        identity=ident("intl", "plat"),
        trust=trust_of(ident("intl", "prov")),
        spool_dir=str(tmp_path),
    )
    assert [g.sealed for g in got] == [tuple(r.sealed) for r in recs()]


def test_trailer_must_be_canonical() -> None:
    h, *rs, t = lines_of(seal())
    spaced = t.replace(b'"count":', b'"count": ')
    with pytest.raises(VerificationError, match="canonical"):
        verify(rebuild([h, *rs, spaced]))
    with pytest.raises(VerificationError):
        verify(rebuild([h, *rs, t.rstrip(b"\n")]))


# -- keys, senders, suites -------------------------------------------------------------------
def test_wrong_recipient_key() -> None:
    data = seal()
    e = must_not_open_with(data, key="stranger")
    assert isinstance(e, VerificationError) and "not addressed" in e.message


def must_not_open_with(data: bytes, *, key: str, suite_name: str = "intl") -> XinanError:
    released: list[P.OpenedRecord] = []
    with pytest.raises(XinanError) as ei:
        P.open_package(
            io.BytesIO(data),
            released.append,
            identity=ident(suite_name, key),
            trust=trust_of(ident("intl", "prov")),
        )
    assert released == []
    return ei.value


def test_same_key_id_other_key() -> None:
    """An identity that claims a recipient's key id but holds another key: unwrap fails."""
    data = seal()
    real = ident("intl", "plat")
    impostor = keys.Identity(real.info, ident("intl", "x").signing, ident("intl", "x").kem)
    released: list[P.OpenedRecord] = []
    with pytest.raises(IntegrityError, match="did not unwrap"):
        P.open_package(
            io.BytesIO(data),
            released.append,
            identity=impostor,
            trust=trust_of(ident("intl", "prov")),
        )
    assert released == []


def test_unknown_sender() -> None:
    data = seal()
    with pytest.raises(VerificationError, match="unknown"):
        P.verify_package(io.BytesIO(data), trust=trust_of(ident("intl", "plat")))
    # A lookup that resolves the id as something else does not count.
    with pytest.raises(VerificationError, match="unknown"):
        P.verify_package(io.BytesIO(data), trust=lambda _k: ident("intl", "plat").info)

    def raising(_k: str) -> None:
        raise keys.KeyringError("no such key")

    with pytest.raises(VerificationError, match="unknown"):
        P.verify_package(io.BytesIO(data), trust=raising)


def test_other_sender_key_same_id() -> None:
    data = seal()
    fake = ident("intl", "prov").info
    other = keys.PublicKeyInfo(
        fake.id, fake.key_id, fake.role, fake.suite, NOW, ident("intl", "x").info.sig, fake.kem
    )
    with pytest.raises(IntegrityError, match="signature"):
        P.verify_package(io.BytesIO(data), trust={fake.key_id: other}.get)


def test_mixed_suites_refused() -> None:
    intl = get_suite("intl")
    with pytest.raises(UsageError, match="recipient"):
        P.seal_package(
            io.BytesIO(),
            recs(),
            suite=intl,
            sender=ident("intl", "prov"),
            recipients=[ident("pq", "plat").info],
            meta=META,
            now=NOW,
        )
    with pytest.raises(UsageError, match="sender"):
        P.seal_package(
            io.BytesIO(),
            recs(),
            suite=intl,
            sender=ident("gm", "prov"),
            recipients=[ident("intl", "plat").info],
            meta=META,
            now=NOW,
        )
    data = seal()
    # Trust store says the sender's key is pq: refused.
    with pytest.raises(VerificationError, match=r"suite|pq"):
        P.verify_package(
            io.BytesIO(data),
            trust={
                ident("intl", "prov").key_id: keys.PublicKeyInfo(
                    "prov",
                    ident("intl", "prov").key_id,
                    keys.Role.PROVIDER,
                    get_suite("pq").name,
                    NOW,
                    b"",
                    b"",
                )
            }.get,
        )
    # Opening with a key of another suite that claims the recipient's id.
    pq_as_plat = keys.Identity(
        ident("intl", "plat").info, ident("pq", "plat").signing, ident("pq", "plat").kem
    )
    with pytest.raises(VerificationError, match="is a pq key; the package is intl"):
        P.open_package(
            io.BytesIO(data),
            lambda r: None,
            identity=pq_as_plat,
            trust=trust_of(ident("intl", "prov")),
        )


def test_compliance_gm_only_refuses_intl_package() -> None:
    with pytest.raises(XinanError):
        verify(seal(), compliance_mode="gm-only")


def test_asymmetric_operations_once_per_package() -> None:
    real = get_suite("intl")
    calls = {"wrap": 0, "sign": 0, "verify": 0, "unwrap": 0}

    class Counting:
        def __getattr__(self, name: str) -> Any:
            attr = getattr(real, name)
            if name in calls:

                def counted(*a: Any, **k: Any) -> Any:
                    calls[name] += 1
                    return attr(*a, **k)

                return counted
            return attr

    out = io.BytesIO()
    summary = P.seal_package(
        out,
        recs(2000),
        suite=Counting(),
        sender=ident("intl", "prov"),  # type: ignore[arg-type]
        recipients=[ident("intl", "plat").info, ident("intl", "p2").info],
        meta=META,
        now=NOW,
    )
    assert calls == {"wrap": 2, "sign": 1, "verify": 0, "unwrap": 0}
    assert summary.count == 2000 and summary.wraps == 2 and summary.signatures == 1


# -- input checks when sealing ---------------------------------------------------------------
@pytest.mark.parametrize(
    "bad",
    [
        P.SealRecord("", ["a", "b", "c"], ["1", "2", "3"]),
        P.SealRecord("r\n1", ["a", "b", "c"], ["1", "2", "3"]),
        P.SealRecord("r1", ["a", "b"], ["1", "2", "3"]),
        P.SealRecord("r1", ["a", "b", "c"], ["1", "2"]),
        P.SealRecord("r1", ["a", "b", "c"], ["1", "2", 3]),  # type: ignore[list-item]
        P.SealRecord("r1", ["a", "b", None], ["1", "2", "3"]),  # type: ignore[list-item]
        P.SealRecord("r1", ["a", "b", "c"], ["1", "2", "\ud800"]),
        P.SealRecord("x" * 257, ["a", "b", "c"], ["1", "2", "3"]),
    ],
)
def test_bad_records_refused(bad: P.SealRecord) -> None:
    with pytest.raises(InputError, match="record 2") as ei:
        seal(records=[recs(1)[0], bad])
    assert "\ud800" not in ei.value.message


def test_from_mapping() -> None:
    values = dict(zip(CLEAR + SEALED, ["a", "b", "c", "1", "2", "3"], strict=True))
    r = P.SealRecord.from_mapping("r1", values, META)
    assert list(r.clear) == ["a", "b", "c"] and list(r.sealed) == ["1", "2", "3"]
    with pytest.raises(InputError, match="法定代表人"):
        P.SealRecord.from_mapping(
            "r1", {k: v for k, v in values.items() if k != "法定代表人"}, META
        )


def test_clear_values_needing_escapes() -> None:
    rows = [P.SealRecord("r", ['q"uote', "back\\slash", "ctl\x01\n"], ["a", "b", "c"])]
    got = open_all(seal(records=rows))
    assert list(got[0].clear) == ['q"uote', "back\\slash", "ctl\x01\n"]


# -- limits ------------------------------------------------------------------------------------
def test_limit_header_bytes() -> None:
    data = seal()
    with pytest.raises(VerificationError, match="header: longer than the limit"):
        verify(data, limits=P.Limits(max_header_bytes=200))
    with pytest.raises(UsageError):
        seal(limits=P.Limits(max_header_bytes=200))


def test_limit_line_bytes() -> None:
    rows = [P.SealRecord("r", ["a", "b", "c"], ["x" * 3000, "", ""])]
    data = seal(records=rows)
    with pytest.raises(VerificationError, match="record 1: longer than the limit"):
        verify(data, limits=P.Limits(max_line_bytes=1000))
    with pytest.raises(InputError, match="longer than"):
        seal(records=rows, limits=P.Limits(max_line_bytes=1000))


def test_limit_recipients() -> None:
    data = seal(to=("plat", "r2", "r3"))
    with pytest.raises(VerificationError, match="recipients"):
        verify(data, limits=P.Limits(max_recipients=2))
    with pytest.raises(UsageError):
        seal(to=tuple(f"r{i}" for i in range(17)))


def test_limit_fields() -> None:
    data = seal()
    with pytest.raises(VerificationError, match="fields"):
        verify(data, limits=P.Limits(max_fields=5))
    with pytest.raises(UsageError):
        seal(limits=P.Limits(max_fields=5))


def test_limit_records() -> None:
    data = seal()
    with pytest.raises(VerificationError, match="more than 2 records"):
        verify(data, limits=P.Limits(max_records=2))
    with pytest.raises(InputError, match="more than 2 records"):
        seal(limits=P.Limits(max_records=2))


def test_limit_names_ids_and_wrapped() -> None:
    short = P.PackageMeta("p", "1", "k", ("clearfield",), ("sealedfield",))
    with pytest.raises(VerificationError, match="field name"):
        verify(
            seal(records=[P.SealRecord("r", ["a"], ["b"])], meta=short),
            limits=P.Limits(max_name_chars=5),
        )
    data = seal()
    with pytest.raises(VerificationError, match="record id"):
        verify(data, limits=P.Limits(max_record_id_chars=3))
    with pytest.raises(VerificationError, match="sender"):
        verify(data, limits=P.Limits(max_key_id_chars=5))
    with pytest.raises(VerificationError, match="wrapped key"):
        verify(data, limits=P.Limits(max_wrapped_bytes=16))


def test_header_strictness() -> None:
    h, *rest = lines_of(seal())
    doc = json.loads(h)

    def with_header(d: dict[str, Any]) -> bytes:
        return (
            json.dumps(d, ensure_ascii=False, separators=(",", ":")).encode()
            + b"\n"
            + b"".join(rest)
        )

    cases = [
        {**doc, "extra": 1},
        {k: v for k, v in doc.items() if k != "kind"},
        {**doc, "id": doc["id"].upper()},
        {**doc, "suite": "rot13"},
        {**doc, "audience": "public"},
        {**doc, "grant": "g1"},
        {**doc, "clear": ["a", "a"]},
        {**doc, "recipients": []},
        {**doc, "created": "2026-01-05 08:30"},
    ]
    for d in cases:
        with pytest.raises(VerificationError):
            verify(with_header(d))
    dup = h.replace(b'"kind":"penalty"', b'"kind":"penalty","kind":"penalty"')
    with pytest.raises(VerificationError, match=r"duplicate|members"):
        verify(dup + b"".join(rest))
    with pytest.raises(VerificationError, match="not a xinan-package/1"):
        verify(h.replace(b"xinan-package/1", b"xinan-package/2", 1) + b"".join(rest))
    with pytest.raises(VerificationError, match="empty"):
        verify(b"")


def test_hostile_deep_json_line() -> None:
    h, *_ = lines_of(seal())
    bad = h + b"[" * 100_000 + b"\n"
    with pytest.raises(VerificationError):
        verify(bad)


# -- share packages (§6) ---------------------------------------------------------------------
def _keyed(data: bytes, suite_name: str = "intl") -> tuple[P.PackageInfo, list[P.KeyedRecord]]:
    out: list[P.KeyedRecord] = []
    info = P.open_package_keys(
        io.BytesIO(data),
        out.append,
        identity=ident(suite_name, "plat"),
        trust=trust_of(ident(suite_name, "prov")),
    )
    return info, out


def _share(
    suite_name: str = "intl",
    granted: tuple[str, ...] = ("联系电话",),
    which: tuple[int, ...] = (0, 2),
    release: str = "none",
    secrets_: dict[str, bytes] | None = None,
) -> tuple[bytes, P.PackageInfo, list[P.KeyedRecord]]:
    info, keyed = _keyed(seal(suite_name), suite_name)
    idx = [SEALED.index(g) for g in granted]
    out = io.BytesIO()
    P.build_share_package(
        out,
        [
            P.ShareRecord(
                kr.record_id,
                kr.source_package_id,
                [kr.clear[0]],
                [kr.blobs[i] for i in idx],
                [kr.field_keys[i] for i in idx],
                (secrets_ or {}).get(kr.record_id),
            )
            for n, kr in enumerate(keyed)
            if n in which
        ],
        suite=get_suite(suite_name),
        sender=ident(suite_name, "platsign"),
        querent=ident(suite_name, "bank").info,
        meta=P.PackageMeta("credit-default", "2026.1", "penalty", (CLEAR[0],), granted),
        grant="jti-123",
        now=NOW,
        release=release,
    )
    return out.getvalue(), info, keyed


def open_share(data: bytes, suite_name: str = "intl", **kw: Any) -> list[P.OpenedRecord]:
    got: list[P.OpenedRecord] = []
    P.open_package(
        io.BytesIO(data),
        got.append,
        identity=ident(suite_name, "bank"),
        trust=trust_of(ident(suite_name, "platsign")),
        **kw,
    )
    return got


@pytest.mark.parametrize("suite_name", SUITES)
def test_share_opens_exactly_the_granted_fields(suite_name: str) -> None:
    data, info, _ = _share(suite_name)
    share_info = P.verify_package(io.BytesIO(data), trust=trust_of(ident(suite_name, "platsign")))
    assert share_info.audience == "share" and share_info.grant == "jti-123"
    got = open_share(data, suite_name)
    assert [(g.record_id, g.sealed) for g in got] == [
        ("R-0000", ("13800130000",)),
        ("R-0002", ("13800130002",)),
    ]
    assert all(g.source_package_id == info.package_id for g in got)
    # Ciphertexts are the provider's bytes, verbatim.
    orig = lines_of(seal(suite_name))  # another package: different bytes, of course
    assert orig
    text = data.decode()
    assert "11010519491231" not in text and "张三" not in text
    # The share holds no record key and no other field's key; the platform cannot open it.
    released: list[P.OpenedRecord] = []
    with pytest.raises(VerificationError, match="not addressed"):
        P.open_package(
            io.BytesIO(data),
            released.append,
            identity=ident(suite_name, "plat"),
            trust=trust_of(ident(suite_name, "platsign")),
        )


def test_share_blobs_are_verbatim() -> None:
    data, _info, keyed = _share()
    rec = json.loads(lines_of(data)[1])
    blob_b64 = rec[3][0][0]
    import base64

    assert base64.b64decode(blob_b64) == keyed[0].blobs[SEALED.index("联系电话")]


def test_share_with_nulls_for_ungranted() -> None:
    _info, keyed = _keyed(seal())
    out = io.BytesIO()
    kr = keyed[0]
    P.build_share_package(
        out,
        [
            P.ShareRecord(
                kr.record_id,
                kr.source_package_id,
                [],
                [kr.blobs[0], None],
                [kr.field_keys[0], None],
            )
        ],
        suite=get_suite("intl"),
        sender=ident("intl", "platsign"),
        querent=ident("intl", "bank").info,
        meta=P.PackageMeta("p", "1", "penalty", (), (SEALED[0], SEALED[1])),
        grant="g",
        now=NOW,
    )
    got = open_share(out.getvalue())
    assert got[0].sealed == (recs()[0].sealed[0], None)


def test_share_edited_to_reference_other_ciphertexts() -> None:
    data, _info, keyed = _share(granted=("联系电话",))
    h, r1, r2, t = lines_of(data)
    import base64

    def with_blob(line: bytes, blob: bytes) -> bytes:
        rec = json.loads(line)
        rec[3][0][0] = base64.b64encode(blob).decode()
        return json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"

    other = keyed[0].blobs[SEALED.index("证件号码")]  # an ungranted field of the same record
    assert other is not None
    edited = rebuild([h, with_blob(r1, other), r2, t])
    with pytest.raises((IntegrityError, VerificationError)):
        open_share(edited)
    # Even if the platform's signature were recomputed, the key commitment refuses it.
    re = resign(edited, sender="platsign")
    with pytest.raises(IntegrityError, match="commitment"):
        open_share(re)
    # Pointing a record at another record's id: the wrapped field key no longer opens.
    rec = json.loads(r1)
    rec[0] = "R-0001"
    moved = json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    with pytest.raises(IntegrityError, match="did not open"):
        open_share(resign(rebuild([h, moved, r2, t]), sender="platsign"))


def test_share_refuses_key_that_does_not_match_blob() -> None:
    _info, keyed = _keyed(seal())
    kr = keyed[0]
    with pytest.raises(IntegrityError, match="does not match"):
        P.build_share_package(
            io.BytesIO(),
            [
                P.ShareRecord(
                    kr.record_id, kr.source_package_id, [], [kr.blobs[0]], [kr.field_keys[1]]
                )
            ],
            suite=get_suite("intl"),
            sender=ident("intl", "platsign"),
            querent=ident("intl", "bank").info,
            meta=P.PackageMeta("p", "1", "penalty", (), (SEALED[0],)),
            grant="g",
            now=NOW,
        )


def test_share_per_record_release() -> None:
    secrets_ = {"R-0000": b"\x01" * 32, "R-0002": b"\x02" * 32}
    data, _info, _ = _share(release="per-record", secrets_=secrets_)
    share_id = json.loads(lines_of(data)[0])["id"]
    with pytest.raises(UsageError, match="release"):
        open_share(data)
    got = open_share(data, release=lambda pid, rid: secrets_[rid] if pid == share_id else b"")
    assert [g.sealed for g in got] == [("13800130000",), ("13800130002",)]

    def destroyed(_pid: str, rid: str) -> bytes:  # record R-0002 destroyed at the platform
        return secrets_[rid] if rid == "R-0000" else b"\x00" * 32

    released: list[P.OpenedRecord] = []
    with pytest.raises(IntegrityError, match="R-0002"):
        P.open_package(
            io.BytesIO(data),
            released.append,
            identity=ident("intl", "bank"),
            trust=trust_of(ident("intl", "platsign")),
            release=destroyed,
        )
    assert released == []


def test_destroying_a_record_key_leaves_others() -> None:
    """§10: with its record key gone a record's blobs no longer open; others are untouched."""
    info, keyed = _keyed(seal())
    s: CryptoSuite = get_suite("intl")
    kr0, kr1 = keyed[0], keyed[1]
    assert kr1.record_key is not None and kr0.blobs[0] is not None
    # Any key but the destroyed one (here: record 1's) fails on record 0's blob.
    guess = P.derive_field_key(s, info.package_id, kr1.record_key, kr0.record_id, SEALED[0])
    with pytest.raises(IntegrityError):
        P.open_sealed_value(
            s,
            kr0.blobs[0],
            guess,
            package_id=info.package_id,
            record_id=kr0.record_id,
            field_name=SEALED[0],
        )
    blob1 = kr1.blobs[0]
    assert blob1 is not None
    fk1 = P.derive_field_key(s, info.package_id, kr1.record_key, kr1.record_id, SEALED[0])
    assert (
        P.open_sealed_value(
            s, blob1, fk1, package_id=info.package_id, record_id=kr1.record_id, field_name=SEALED[0]
        )
        == recs()[1].sealed[0]
    )
