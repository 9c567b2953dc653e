"""Grants and revocation lists (docs/grant.md). Every test sets the clock; keys are generated
in a throw-away keyring with test-only Argon2 parameters."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from xinan.errors import (
    AccessDenied,
    ComplianceError,
    IntegrityError,
    UsageError,
    VerificationError,
    XinanError,
)
from xinan.formats import grant as G
from xinan.formats.grant import jws as GJ
from xinan.keys import Identity, KdfParams, Keyring, PublicKeyInfo

NOW = datetime(2026, 3, 2, 9, 30, 0, tzinfo=UTC)
FAST_KDF = KdfParams(m_kib=64, t=1, p=1, iterations=1000)  # test-only
PW = "grant test passphrase"
FIELDS = ("联系电话", "住所")


class Party:
    """One suite's cast: platform, sec-admin, sys-admin, two querents, a trust store."""

    def __init__(self, ring: Keyring, suite: str) -> None:
        def gen(name: str, role: str) -> Identity:
            ring.generate(f"{name}-{suite}", role, suite, PW, now=NOW, kdf_params=FAST_KDF)
            return ring.unlock(f"{name}-{suite}", PW)

        self.ring = ring
        self.suite = suite
        self.platform = gen("platform", "platform")
        self.sec_admin = gen("secadm", "sec-admin")
        self.sys_admin = gen("sysadm", "sys-admin")
        self.bank = gen("bank", "querent")
        self.other_bank = gen("bank2", "querent")
        self.trust = {self.platform.key_id: self.platform.info}

    @property
    def querent(self) -> PublicKeyInfo:
        return self.bank.info


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    return Keyring(tmp_path_factory.mktemp("grants") / "keys", compliance_mode="any")


@pytest.fixture(scope="module")
def intl(ring: Keyring) -> Party:
    return Party(ring, "intl")


@pytest.fixture(scope="module")
def pq(ring: Keyring) -> Party:
    return Party(ring, "pq")


@pytest.fixture(scope="module")
def gm(ring: Keyring) -> Party:
    return Party(ring, "gm")


def ps(n: int = 0) -> str:
    """A synthetic keyed pseudonym (the shape xinan.masking.pseudonym produces)."""
    tag = base64.b32encode(hashlib.sha256(f"subject {n}".encode()).digest()[:16])
    return "ps1.xs1testkeyaaaaaaaaaaaaaaaa." + tag.decode().rstrip("=").lower()


def consent(p: Party, **over: Any) -> G.Consent:
    base: dict[str, Any] = {
        "id": "c-2026-0001",
        "subject": ps(0),
        "querent": p.bank.key_id,
        "purpose": "信易贷授信审查",
        "fields": ("联系电话", "住所", "证件号码"),
        "valid_until": NOW + timedelta(days=30),
        "ref": "paper consent 2026-0001 (scanned)",
    }
    base.update(over)
    return G.Consent(**base)


def issue(p: Party, **over: Any) -> G.Grant:
    args: dict[str, Any] = {
        "platform": p.platform,
        "authorised_by": p.sec_admin,
        "querent": p.querent,
        "consent": consent(p),
        "purpose": "信易贷授信审查",
        "fields": FIELDS,
        "subjects": [ps(0)],
        "policy_label": "credit-default@2026.1",
        "ttl": timedelta(hours=1),
        "now": NOW,
    }
    args.update(over)
    return G.issue_grant(**args)


def verify(p: Party, token: str, **over: Any) -> G.GrantClaims:
    args: dict[str, Any] = {"trust": p.trust, "now": NOW + timedelta(minutes=1)}
    args.update(over)
    return G.verify_grant(token, **args)


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    h, p, s = token.split(".")
    pad = lambda x: x + "=" * (-len(x) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(h))),
        json.loads(base64.urlsafe_b64decode(pad(p))),
        s,
    )


def sign_raw(p: Party, header: dict[str, Any] | str, payload: dict[str, Any] | str) -> str:
    """Sign arbitrary header/payload JSON with the platform key (hostile-but-signed tokens)."""
    hj = header if isinstance(header, str) else json.dumps(header, ensure_ascii=False)
    pj = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    si = b64u(hj.encode()) + "." + b64u(pj.encode())
    return si + "." + b64u(p.platform.sign(si.encode()))


def header_of(p: Party, **over: Any) -> dict[str, Any]:
    h = {"alg": "EdDSA", "kid": p.platform.key_id, "typ": G.TYP}
    h.update(over)
    return h


# -- round trips -----------------------------------------------------------------------------------
@pytest.mark.parametrize("suite", ["intl", "pq", "gm"])
def test_round_trip(request: pytest.FixtureRequest, suite: str) -> None:
    p: Party = request.getfixturevalue(suite)
    g = issue(p)
    c = verify(p, g.token, expected_querent=p.querent)
    assert c == g.claims
    assert c.querent == p.bank.key_id and c.kid == p.platform.key_id
    assert c.issuer == p.platform.info.id and c.audience == G.AUDIENCE
    assert c.fields == FIELDS and c.subjects == (ps(0),) and c.consent_id == "c-2026-0001"
    assert c.authorised_by == p.sec_admin.key_id and c.policy == "credit-default@2026.1"
    assert c.expires - c.not_before == timedelta(hours=1) and c.issued_at == NOW
    header, payload, _ = parts(g.token)
    assert header == {
        "alg": "XINAN-SM2-SM3" if suite == "gm" else "EdDSA",
        "kid": p.platform.key_id,
        "typ": "xinan-grant+jwt",
    }
    assert list(payload) == list(G.CLAIMS)
    assert payload["cnf"] == {
        {"intl": "jkt", "pq": "xinan-jkt-pq", "gm": "xinan-jkt-sm3"}[suite]: c.cnf[1]
    }
    assert len(base64.urlsafe_b64decode(payload["jti"] + "==")) == 16


def test_jti_is_fresh_each_time(intl: Party) -> None:
    assert len({issue(intl).claims.jti for _ in range(20)}) == 20


def test_grant_file_round_trip(intl: Party, tmp_path: Path) -> None:
    g = issue(intl)
    G.write_grant(tmp_path / "g.jwt", g)
    assert (tmp_path / "g.jwt").read_bytes() == g.token.encode() + b"\n"
    assert G.read_grant(tmp_path / "g.jwt") == g.token


def test_repr_hides_token(intl: Party) -> None:
    g = issue(intl)
    assert g.token not in repr(g)


def test_trust_from_keyring_and_callable(intl: Party) -> None:
    g = issue(intl)
    assert verify(intl, g.token, trust=intl.ring).jti == g.claims.jti
    assert verify(intl, g.token, trust=intl.trust.get).jti == g.claims.jti


# -- interoperability: a standard JOSE library accepts the grant -----------------------------------
@pytest.mark.parametrize("suite", ["intl", "pq"])
def test_plain_pyjwt_verifies(request: pytest.FixtureRequest, suite: str) -> None:
    p: Party = request.getfixturevalue(suite)
    wall = datetime.now(UTC)  # pyjwt reads the wall clock; issue for now
    g = issue(p, now=wall, consent=consent(p, valid_until=wall + timedelta(days=1)))
    pub = Ed25519PublicKey.from_public_bytes(p.platform.info.sig)
    out = jwt.decode(
        g.token,
        key=pub,
        algorithms=["EdDSA"],
        audience="xinan-share",
        issuer=p.platform.info.id,
        options={"require": ["exp", "iat", "nbf", "jti", "sub", "iss", "aud"]},
    )
    assert out["jti"] == g.claims.jti and out["fields"] == list(FIELDS)
    # the JWK export of the platform key works with PyJWK
    jwk = jwt.PyJWK(json.loads(p.ring.export(p.platform.info.id, "jwk")))
    assert jwk.key_id == p.platform.key_id == jwt.get_unverified_header(g.token)["kid"]
    out2 = jwt.decode(g.token, key=jwk, algorithms=["EdDSA"], audience="xinan-share")
    assert out2 == out
    # and pyjwt refuses it with the wrong key
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            g.token,
            key=Ed25519PublicKey.from_public_bytes(p.sec_admin.info.sig),
            algorithms=["EdDSA"],
            audience="xinan-share",
        )


def test_gm_grant_with_registered_pyjwt_algorithm(gm: Party) -> None:
    """A pyjwt user registers SuiteAlgorithm and verifies an SM2 grant."""
    g = issue(gm)
    jws = jwt.PyJWS(algorithms=[])
    jws.register_algorithm("XINAN-SM2-SM3", G.SuiteAlgorithm("XINAN-SM2-SM3", "sm2-sign"))
    from xinan.crypto import get_suite

    key: Any = G.VerifyingKey(get_suite("gm"), gm.platform.info.sig)
    out = jws.decode_complete(g.token, key=key, algorithms=["XINAN-SM2-SM3"])
    assert json.loads(out["payload"])["jti"] == g.claims.jti
    assert len(out["signature"]) == 64  # r || s


def test_thumbprint_canonicalisation_rfc8037_vector() -> None:
    # RFC 8037 Appendix A.3: thumbprint of the Ed25519 example key
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    digest = hashlib.sha256(GJ._thumbprint_input(jwk)).digest()
    assert b64u(digest) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_intl_cnf_is_rfc7638_thumbprint_of_exported_kem_jwk(intl: Party) -> None:
    jwk = json.loads(intl.ring.export(intl.bank.info.id, "jwk", part="kem"))
    required = {k: jwk[k] for k in ("crv", "kty", "x")}
    canon = json.dumps(required, sort_keys=True, separators=(",", ":")).encode()
    assert G.querent_binding(intl.querent) == ("jkt", b64u(hashlib.sha256(canon).digest()))


def test_gm_cnf_uses_sm3(gm: Party) -> None:
    from xinan.crypto import get_suite

    kem = gm.querent.kem
    canon = json.dumps(
        {"crv": "SM2", "kty": "EC", "x": b64u(kem[1:33]), "y": b64u(kem[33:])},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    member, value = G.querent_binding(gm.querent)
    assert member == "xinan-jkt-sm3" and value == b64u(get_suite("gm").digest(canon))


# -- time ------------------------------------------------------------------------------------------
def test_expired(intl: Party) -> None:
    g = issue(intl)
    exp = g.claims.expires
    verify(intl, g.token, now=exp - timedelta(seconds=1))
    with pytest.raises(G.GrantExpired) as e:
        verify(intl, g.token, now=exp)  # RFC 7519 §4.1.4: on or after exp
    assert isinstance(e.value, VerificationError) and e.value.jti == g.claims.jti
    verify(intl, g.token, now=exp, leeway=30)
    with pytest.raises(G.GrantExpired):
        verify(intl, g.token, now=exp + timedelta(seconds=30), leeway=timedelta(seconds=30))


def test_not_yet_valid(intl: Party) -> None:
    g = issue(intl, not_before=NOW + timedelta(hours=2))
    with pytest.raises(G.GrantNotYetValid):
        verify(intl, g.token, now=NOW + timedelta(hours=1))
    verify(intl, g.token, now=NOW + timedelta(hours=2))
    verify(intl, g.token, now=NOW + timedelta(hours=2) - timedelta(seconds=10), leeway=10)


def test_issued_in_future_refused(intl: Party) -> None:
    g = issue(intl)
    with pytest.raises(G.GrantNotYetValid):
        verify(intl, g.token, now=NOW - timedelta(seconds=1))


def test_leeway_bounded(intl: Party) -> None:
    with pytest.raises(UsageError):
        verify(intl, issue(intl).token, leeway=3600)


def test_naive_clock_refused(intl: Party) -> None:
    with pytest.raises(UsageError):
        verify(intl, issue(intl).token, now=datetime(2026, 3, 2, 9, 31))


# -- revocation and replay -------------------------------------------------------------------------
def test_revoked_by_id(intl: Party) -> None:
    g = issue(intl)
    with pytest.raises(G.GrantRevoked):
        verify(intl, g.token, revoked={g.claims.jti})
    verify(intl, g.token, revoked={"AAAAAAAAAAAAAAAAAAAAAA"})


def test_revoked_by_signed_list(intl: Party) -> None:
    g = issue(intl)
    rl = G.RevocationList(intl.platform.info.id).revoke(
        g.claims.jti, at=NOW, expires=g.claims.expires
    )
    data = G.sign_revocations(rl, intl.platform, now=NOW, next_update=NOW + timedelta(days=1))
    got = G.verify_revocations(data, trust=intl.trust, now=NOW + timedelta(minutes=1))
    assert got.jtis == {g.claims.jti} and got.number == 1
    with pytest.raises(G.GrantRevoked):
        verify(intl, g.token, revoked=got)


def test_replay_guard(intl: Party) -> None:
    g = issue(intl)
    guard = G.MemoryReplayGuard()
    with pytest.raises(G.GrantWrongAudience):  # a failed check does not use up the id
        verify(intl, g.token, audience="other", replay=guard)
    verify(intl, g.token, replay=guard)
    with pytest.raises(G.GrantReplayed):
        verify(intl, g.token, replay=guard)
    guard.prune(g.claims.expires)
    verify(intl, g.token, replay=guard, now=g.claims.expires - timedelta(seconds=1))


# -- key binding -----------------------------------------------------------------------------------
def test_wrong_querent_key(intl: Party) -> None:
    g = issue(intl)
    with pytest.raises(G.GrantWrongQuerent):
        verify(intl, g.token, expected_querent=intl.other_bank.info)


def test_cnf_mismatch_with_right_sub(intl: Party) -> None:
    """sub names the bank but cnf binds another key: refused for the bank."""
    g = issue(intl)
    payload = g.claims.to_json()
    payload["cnf"] = dict([G.querent_binding(intl.other_bank.info)])
    token = sign_raw(intl, header_of(intl), payload)
    claims = verify(intl, token)  # authentic, and no querent named: verifies
    with pytest.raises(G.GrantWrongQuerent):
        claims.check_querent(intl.querent)
    with pytest.raises(G.GrantWrongQuerent):
        verify(intl, token, expected_querent=intl.querent)


def test_cross_suite_querent_binding(intl: Party, pq: Party) -> None:
    """An intl platform may grant to a pq querent; the pq binding is used."""
    g = issue(intl, querent=pq.querent, consent=consent(intl, querent=pq.bank.key_id))
    c = verify(intl, g.token, expected_querent=pq.querent)
    assert c.cnf[0] == "xinan-jkt-pq"


# -- tampering -------------------------------------------------------------------------------------
def test_flip_every_byte(intl: Party) -> None:
    g = issue(intl)
    raw = g.token.encode()
    for i in range(len(raw)):
        for bit in (0x01, 0x20):
            bad = bytearray(raw)
            bad[i] ^= bit
            try:
                text = bad.decode("utf-8")
            except UnicodeDecodeError:
                continue
            with pytest.raises(G.GrantInvalid):
                verify(intl, text)


def test_tampered_payload(intl: Party) -> None:
    g = issue(intl)
    h, _, s = g.token.split(".")
    payload = g.claims.to_json()
    payload["fields"] = [*FIELDS, "证件号码"]
    forged = h + "." + b64u(json.dumps(payload, ensure_ascii=False).encode()) + "." + s
    with pytest.raises(G.GrantInvalid):
        verify(intl, forged)


def test_tampered_header(intl: Party) -> None:
    g = issue(intl)
    _, p, s = g.token.split(".")
    h = b64u(json.dumps({"alg": "EdDSA", "typ": G.TYP, "kid": intl.platform.key_id}).encode())
    with pytest.raises(G.GrantInvalid):
        verify(intl, h + "." + p + "." + s)  # same members, other order: signature fails


def test_signature_from_another_grant(intl: Party) -> None:
    a, b = issue(intl), issue(intl)
    ha, pa, _ = a.token.split(".")
    with pytest.raises(G.GrantInvalid):
        verify(intl, ha + "." + pa + "." + b.token.split(".")[2])


def test_truncated_and_oversized(intl: Party) -> None:
    g = issue(intl)
    for bad in (g.token[:-1], g.token + ".x", g.token.rsplit(".", 1)[0], "", "a.b", g.token + "="):
        with pytest.raises(G.GrantInvalid):
            verify(intl, bad)
    with pytest.raises(G.GrantInvalid):
        verify(intl, "a" * (G.MAX_TOKEN_CHARS + 1))


# -- algorithm attacks (RFC 8725 §2.1, §3.1) -------------------------------------------------------
@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none(intl: Party, alg: str) -> None:
    payload = issue(intl).claims.to_json()
    hb = b64u(json.dumps(header_of(intl, alg=alg)).encode())
    pb = b64u(json.dumps(payload, ensure_ascii=False).encode())
    with pytest.raises(G.GrantInvalid):  # empty signature: not even a compact JWS here
        verify(intl, hb + "." + pb + ".")
    with pytest.raises(G.GrantAlgorithmRefused):
        verify(intl, hb + "." + pb + "." + b64u(b"\x00" * 64))


def test_hs256_with_public_key_as_secret(intl: Party) -> None:
    """Algorithm confusion: HMAC keyed with the platform's public key (raw and PEM)."""
    payload = issue(intl).claims.to_json()
    pem = intl.ring.export(intl.platform.info.id, "pem").encode()
    for secret in (intl.platform.info.sig, pem):
        for alg, digest in (("HS256", "sha256"), ("HS512", "sha512")):
            hb = b64u(json.dumps(header_of(intl, alg=alg)).encode())
            pb = b64u(json.dumps(payload, ensure_ascii=False).encode())
            mac = hmac.new(secret, f"{hb}.{pb}".encode(), digest).digest()
            with pytest.raises(G.GrantAlgorithmRefused):
                verify(intl, f"{hb}.{pb}.{b64u(mac)}")


@pytest.mark.parametrize("alg", ["XINAN-SM2-SM3", "ES256", "RS256", "Ed25519", "EDDSA", ""])
def test_header_alg_swapped(intl: Party, alg: str) -> None:
    token = sign_raw(intl, header_of(intl, alg=alg), issue(intl).claims.to_json())
    with pytest.raises(G.GrantAlgorithmRefused):
        verify(intl, token)


def test_eddsa_header_on_gm_key_refused(gm: Party, intl: Party) -> None:
    """A gm platform key pins XINAN-SM2-SM3: an EdDSA header is refused before any check."""
    token = sign_raw(intl, header_of(intl, kid=gm.platform.key_id), issue(intl).claims.to_json())
    with pytest.raises(G.GrantAlgorithmRefused):
        verify(gm, token)


def test_gm_tampered_signature(gm: Party) -> None:
    g = issue(gm)
    h, p, s = g.token.split(".")
    sig = bytearray(base64.urlsafe_b64decode(s + "=="))
    sig[10] ^= 1
    with pytest.raises(G.GrantInvalid):
        verify(gm, f"{h}.{p}.{b64u(bytes(sig))}")
    with pytest.raises(G.GrantInvalid):
        verify(gm, f"{h}.{p}.{b64u(bytes(sig[:63]))}")  # wrong length


# -- header checks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+jwt", "xinan-grant", "", None, 1])
def test_wrong_typ(intl: Party, typ: Any) -> None:
    h = header_of(intl, typ=typ)
    if typ is None:
        del h["typ"]
    with pytest.raises(G.GrantTypeRefused):
        verify(intl, sign_raw(intl, h, issue(intl).claims.to_json()))


@pytest.mark.parametrize("typ", ["application/xinan-grant+jwt", "XINAN-GRANT+JWT"])
def test_typ_equivalent_forms(intl: Party, typ: str) -> None:
    # RFC 7515 §4.1.9: case-insensitive, "application/" may be omitted
    verify(intl, sign_raw(intl, header_of(intl, typ=typ), issue(intl).claims.to_json()))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("crit", ["exp"]),
        ("jku", "https://evil.example/jwks.json"),
        ("x5u", "https://evil.example/cert.pem"),
        (
            "jwk",
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        ),
        ("x5c", ["MIIB"]),
        ("b64", False),
        ("cty", "JWT"),
    ],
)
def test_forbidden_header_parameters(intl: Party, name: str, value: Any) -> None:
    token = sign_raw(intl, header_of(intl, **{name: value}), issue(intl).claims.to_json())
    with pytest.raises(G.GrantInvalid) as e:
        verify(intl, token)
    assert name in e.value.message


def test_unknown_kid(intl: Party, gm: Party) -> None:
    g = issue(intl)
    with pytest.raises(G.GrantUnknownKey):
        verify(intl, g.token, trust={})
    with pytest.raises(G.GrantUnknownKey):
        verify(intl, g.token, trust=gm.trust)
    with pytest.raises(G.GrantUnknownKey):  # malformed kid
        verify(intl, sign_raw(intl, header_of(intl, kid=["x"]), g.claims.to_json()))


def test_kid_of_a_non_platform_key(intl: Party) -> None:
    """A token signed by the sec-admin's own key is not a grant, even if the key is trusted."""
    payload = issue(intl).claims.to_json()
    hb = b64u(json.dumps(header_of(intl, kid=intl.sec_admin.key_id)).encode())
    pb = b64u(json.dumps(payload, ensure_ascii=False).encode())
    token = f"{hb}.{pb}." + b64u(intl.sec_admin.sign(f"{hb}.{pb}".encode()))
    trust = {intl.sec_admin.key_id: intl.sec_admin.info, **intl.trust}
    with pytest.raises(G.GrantUnknownKey):
        verify(intl, token, trust=trust)


def test_duplicate_members(intl: Party) -> None:
    payload = issue(intl).claims.to_json()
    body = json.dumps(payload, ensure_ascii=False)
    dup_payload = body[:-1] + ',"purpose":"营销"}'
    with pytest.raises(G.GrantClaimInvalid):
        verify(intl, sign_raw(intl, header_of(intl), dup_payload))
    dup_header = json.dumps(header_of(intl))[:-1] + ',"alg":"none"}'
    with pytest.raises(G.GrantInvalid):
        verify(intl, sign_raw(intl, dup_header, payload))


def test_compliance_gm_only_refuses_intl_grant(intl: Party) -> None:
    with pytest.raises(ComplianceError):
        verify(intl, issue(intl).token, compliance_mode="gm-only")


# -- claims ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("claim", G.CLAIMS)
def test_missing_claim(intl: Party, claim: str) -> None:
    payload = issue(intl).claims.to_json()
    del payload[claim]
    with pytest.raises(G.GrantMissingClaim) as e:
        verify(intl, sign_raw(intl, header_of(intl), payload))
    assert e.value.claim == claim and claim in e.value.message


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("format", "xinan-grant/2"),
        ("iat", "1772443800"),
        ("exp", 1.5e9),
        ("nbf", True),
        ("jti", "short"),
        ("fields", []),
        ("fields", ["住所", "住所"]),
        ("fields", "住所"),
        ("subjects", ["11010519491231002X"]),
        ("subjects", []),
        ("cnf", {}),
        ("cnf", {"jkt": "a", "xinan-jkt-pq": "b"}),
        ("cnf", "jkt"),
        ("sub", "bank"),
        ("aud", ["xinan-share"]),
        ("policy", "credit-default"),
        ("purpose", "line\nbreak"),
        ("authorised_by", ""),
    ],
)
def test_malformed_claim(intl: Party, claim: str, value: Any) -> None:
    payload = issue(intl).claims.to_json()
    payload[claim] = value
    with pytest.raises(G.GrantClaimInvalid):
        verify(intl, sign_raw(intl, header_of(intl), payload))


def test_unknown_claim(intl: Party) -> None:
    payload = issue(intl).claims.to_json()
    payload["admin"] = True
    with pytest.raises(G.GrantClaimInvalid):
        verify(intl, sign_raw(intl, header_of(intl), payload))


def test_times_out_of_order(intl: Party) -> None:
    payload = issue(intl).claims.to_json()
    payload["nbf"] = payload["exp"]
    with pytest.raises(G.GrantClaimInvalid):
        verify(intl, sign_raw(intl, header_of(intl), payload))


def test_wrong_audience(intl: Party) -> None:
    g = issue(intl)
    with pytest.raises(G.GrantWrongAudience):
        verify(intl, g.token, audience="xinan-share:other-platform")
    g2 = issue(intl, audience="xinan-share:credit-platform")
    verify(intl, g2.token, audience="xinan-share:credit-platform")


def test_wrong_issuer(intl: Party) -> None:
    payload = issue(intl).claims.to_json()
    payload["iss"] = "another-platform"
    with pytest.raises(G.GrantWrongIssuer):
        verify(intl, sign_raw(intl, header_of(intl), payload))


# -- issuing: who, and within the consent ----------------------------------------------------------
def test_issuer_without_sec_admin_role(intl: Party) -> None:
    for who in (intl.sys_admin, intl.platform, intl.bank):
        with pytest.raises(G.GrantIssuerNotAuthorised) as e:
            issue(intl, authorised_by=who)
        assert isinstance(e.value, AccessDenied) and e.value.rule
    with pytest.raises(G.GrantIssuerNotAuthorised):  # the signer must be the platform key
        issue(intl, platform=intl.sec_admin)


def test_grant_only_to_querent_keys(intl: Party) -> None:
    with pytest.raises(AccessDenied):
        issue(
            intl, querent=intl.sys_admin.info, consent=consent(intl, querent=intl.sys_admin.key_id)
        )


@pytest.mark.parametrize(
    ("dimension", "over"),
    [
        ("fields", {"fields": ("联系电话", "行政处罚决定书文号")}),
        ("purpose", {"purpose": "营销"}),
        ("time", {"ttl": timedelta(days=31)}),
        ("subjects", {"subjects": [ps(0), ps(1)]}),
        ("querent", {"querent": "other"}),
        ("consent", {"consent_id": "c-other"}),
    ],
)
def test_wider_than_consent(intl: Party, dimension: str, over: dict[str, Any]) -> None:
    if over.get("querent") == "other":
        over = {"querent": intl.other_bank.info}
    if "consent_id" in over:
        c = consent(intl)
        req = G.GrantRequest(
            intl.bank.key_id, c.purpose, FIELDS, (ps(0),), "c-other", NOW, NOW + timedelta(hours=1)
        )
        with pytest.raises(G.GrantWiderThanConsent) as e:
            G.check_within_consent(req, c, now=NOW)
    else:
        with pytest.raises(G.GrantWiderThanConsent) as e:
            issue(intl, **over)
    assert e.value.dimensions == (dimension,)
    assert dimension in e.value.message and e.value.rule == "grant-within-consent"


def test_wider_in_several_dimensions_names_all(intl: Party) -> None:
    with pytest.raises(G.GrantWiderThanConsent) as e:
        issue(intl, purpose="营销", fields=("银行账号",), ttl=timedelta(days=60))
    assert set(e.value.dimensions) == {"purpose", "fields", "time"}


def test_exactly_the_consent_is_allowed(intl: Party) -> None:
    c = consent(intl)
    g = issue(intl, fields=c.fields, ttl=c.valid_until - NOW, consent=c)
    assert g.claims.expires == c.valid_until


def test_consent_revoked_or_expired(intl: Party) -> None:
    with pytest.raises(G.ConsentRevoked):
        issue(intl, consent=consent(intl, revoked=True))
    with pytest.raises(G.ConsentExpired):
        issue(intl, consent=consent(intl, valid_until=NOW))


def test_consent_revoked_after_issue_stops_share(intl: Party) -> None:
    g = issue(intl)
    claims = verify(intl, g.token)
    c = consent(intl)
    G.check_within_consent(claims, c, now=NOW + timedelta(minutes=1))
    with pytest.raises(G.ConsentRevoked):
        G.check_within_consent(claims, replace(c, revoked=True), now=NOW + timedelta(minutes=1))


@pytest.mark.parametrize(
    "clear",
    [
        "11010519491231002X",
        "110105194912310020",  # wrong check character: still shaped like an ID
        "11010519491231002x",
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width
        "440524800101001",  # 15-digit legacy form
        "91350100M000100Y43",  # USCC
        "身份证11010519491231002X",
    ],
)
def test_clear_identifier_in_subjects_refused(intl: Party, clear: str) -> None:
    with pytest.raises(G.ClearIdentifierRefused) as e:
        issue(intl, subjects=[clear])
    assert "subjects[0]" in e.value.message
    for text in (e.value.message, e.value.hint or "", repr(e.value)):
        assert clear not in text and clear.upper() not in text
    with pytest.raises(G.ClearIdentifierRefused):
        consent(intl, subject=clear)


def test_non_pseudonym_subject_refused(intl: Party) -> None:
    with pytest.raises(UsageError):
        issue(intl, subjects=["张三"])


def test_clear_identifier_in_purpose_refused(intl: Party) -> None:
    with pytest.raises(G.ClearIdentifierRefused):
        issue(intl, purpose="查询 11010519491231002X 的授信")


@pytest.mark.parametrize(
    "over",
    [
        {"ttl": timedelta(0)},
        {"ttl": timedelta(days=400)},
        {"fields": ()},
        {"fields": ("住所", "住所")},
        {"subjects": []},
        {"subjects": [ps(0), ps(0)]},
        {"policy_label": "credit default"},
        {"audience": "has space"},
        {"now": datetime(2026, 3, 2, 9, 30)},
        {"not_before": NOW - timedelta(hours=1)},
    ],
)
def test_bad_request(intl: Party, over: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        issue(intl, **over)


def test_end_of_day_cst() -> None:
    t = G.end_of_day_cst(date(2026, 3, 31))
    assert t.astimezone(UTC) == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)


# -- revocation lists ------------------------------------------------------------------------------
def _rl(p: Party, n: int = 2) -> G.RevocationList:
    rl = G.RevocationList(p.platform.info.id)
    for i in range(n):
        rl = rl.revoke(b64u(bytes([i]) * 16), at=NOW, expires=NOW + timedelta(hours=i + 1))
    return rl


def test_revocation_list_round_trip_and_canonical(intl: Party) -> None:
    rl = _rl(intl, 3)
    assert rl.revoke(rl.entries[0].jti, at=NOW, expires=NOW) is rl  # idempotent
    data = G.sign_revocations(rl, intl.platform, now=NOW, next_update=NOW + timedelta(hours=6))
    doc = json.loads(data)
    assert next(iter(doc)) == "format" and doc["format"] == "xinan-revocations/1"
    got = G.verify_revocations(data, trust=intl.trust, now=NOW)
    assert got.jtis == rl.jtis and got.number == 3 and got.issued == NOW
    assert got.next_update == NOW + timedelta(hours=6)
    pruned = got.prune(NOW + timedelta(hours=2))
    assert len(pruned.entries) == 1 and pruned.number == 4


def test_revocation_list_flip_every_byte(intl: Party) -> None:
    data = G.sign_revocations(
        _rl(intl, 1), intl.platform, now=NOW, next_update=NOW + timedelta(hours=6)
    )
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x01
        with pytest.raises(G.RevocationListInvalid):
            G.verify_revocations(bytes(bad), trust=intl.trust, now=NOW)


def test_revocation_list_stale_rollback_untrusted(intl: Party, pq: Party) -> None:
    data = G.sign_revocations(
        _rl(intl, 2), intl.platform, now=NOW, next_update=NOW + timedelta(hours=6)
    )
    with pytest.raises(G.RevocationListStale):
        G.verify_revocations(data, trust=intl.trust, now=NOW + timedelta(hours=6))
    with pytest.raises(G.RevocationListRollback):
        G.verify_revocations(data, trust=intl.trust, now=NOW, min_number=3)
    with pytest.raises(G.RevocationListInvalid):
        G.verify_revocations(data, trust=pq.trust, now=NOW)
    with pytest.raises(VerificationError):  # issued in the future
        G.verify_revocations(data, trust=intl.trust, now=NOW - timedelta(minutes=5))


def test_revocation_list_gm(gm: Party) -> None:
    data = G.sign_revocations(_rl(gm, 1), gm.platform, now=NOW, next_update=NOW + timedelta(days=1))
    assert json.loads(data)["alg"] == "XINAN-SM2-SM3"
    assert len(G.verify_revocations(data, trust=gm.trust, now=NOW).entries) == 1


def test_revocation_list_signer_checks(intl: Party) -> None:
    with pytest.raises(G.GrantIssuerNotAuthorised):
        G.sign_revocations(_rl(intl), intl.sec_admin, now=NOW, next_update=NOW + timedelta(hours=1))
    with pytest.raises(UsageError):
        G.sign_revocations(_rl(intl), intl.platform, now=NOW, next_update=NOW)


# -- error families --------------------------------------------------------------------------------
def test_error_families() -> None:
    assert issubclass(G.GrantInvalid, IntegrityError)
    for cls in (G.GrantAlgorithmRefused, G.GrantUnknownKey, G.GrantTypeRefused):
        assert issubclass(cls, G.GrantInvalid)
    for cls in (
        G.GrantExpired,
        G.GrantNotYetValid,
        G.GrantRevoked,
        G.GrantWrongQuerent,
        G.GrantWrongAudience,
        G.GrantMissingClaim,
        G.GrantReplayed,
    ):
        assert issubclass(cls, VerificationError)
    for cls in (G.GrantWiderThanConsent, G.GrantIssuerNotAuthorised, G.ClearIdentifierRefused):
        assert issubclass(cls, AccessDenied)
    classes = [getattr(G, n) for n in G.__all__]
    errors = [c for c in classes if isinstance(c, type) and issubclass(c, Exception)]
    assert len(errors) > 20 and all(issubclass(c, XinanError) for c in errors)


# -- properties ------------------------------------------------------------------------------------
CONSENTED = ("联系电话", "住所", "证件号码", "法定代表人")


@settings(max_examples=40, deadline=None)
@given(
    fields=st.lists(st.sampled_from([*CONSENTED, "行政处罚决定书文号"]), min_size=1, unique=True),
    minutes=st.integers(min_value=1, max_value=2 * 24 * 60),
)
def test_property_grant_within_consent_round_trips(
    intl: Party, fields: list[str], minutes: int
) -> None:
    c = consent(intl, fields=CONSENTED, valid_until=NOW + timedelta(days=1))
    within = set(fields) <= set(CONSENTED) and minutes <= 24 * 60
    if not within:
        with pytest.raises(G.GrantWiderThanConsent):
            issue(intl, consent=c, fields=fields, ttl=timedelta(minutes=minutes))
        return
    g = issue(intl, consent=c, fields=fields, ttl=timedelta(minutes=minutes))
    claims = verify(intl, g.token, now=NOW, expected_querent=intl.querent)
    assert claims.fields == tuple(fields) and claims == g.claims
    with pytest.raises(G.GrantExpired):
        verify(intl, g.token, now=g.claims.expires)


def test_pseudonym_slots_cannot_carry_digits(intl: Party) -> None:
    for bad in (
        "ps1.xs111010519491231002x.aaaaaaaaaaaaaaaaaaaaaaaaaa",
        "ps1.xs1testkey." + "1" * 26,
    ):
        with pytest.raises(XinanError):
            issue(intl, subjects=[bad])


def test_gm_only_refuses_non_gm_querent_at_issue(gm: Party, intl: Party) -> None:
    with pytest.raises(ComplianceError):
        issue(
            gm,
            querent=intl.querent,
            consent=consent(gm, querent=intl.bank.key_id),
            compliance_mode="gm-only",
        )


def test_purpose_may_hold_ideographic_space_but_no_controls(intl: Party) -> None:
    c = consent(intl, purpose="信易贷\u3000授信审查")
    assert issue(intl, consent=c, purpose=c.purpose).claims.purpose == c.purpose
    for bad in ("信易贷\u200b授信", "信易贷\x00"):
        with pytest.raises(UsageError):
            issue(intl, purpose=bad)
