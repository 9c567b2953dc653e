"""Every refusal of issue 6 part 7, through `grant issue`, `share` and `open --grant`, each
checked for its exit code, the absence of output and its entry in the audit log."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest

from tests.support.worlds import PASS, build_world
from xinan.formats.grant import querent_binding
from xinan.keys import Keyring


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


@pytest.fixture()
def world(tmp_path, monkeypatch, fast_kdf):
    w = build_world(tmp_path, monkeypatch)
    w.subject = w.person(0)["证件号码"]
    w.consent_id = w.consent(w.subject)
    return w


def issued(w, **kw):
    r = w.grant(w.subject, w.consent_id, **kw)
    assert r.exit_code == 0, r.output
    return (w.root / kw.get("out", "bank.grant")).read_text().strip()


def last(w, party, type_):
    return [e for e in w.entries(party) if e["type"] == type_][-1]


def assert_share_denied(w, word, grant="bank.grant"):
    r = w.share(grant=grant, out="denied.xpkg")
    assert r.exit_code != 0, r.output
    assert word in r.output, r.output
    assert not (w.root / "denied.xpkg").exists()
    e = last(w, "plat", "share")
    assert e["outcome"] == "denied" and e["objects"]["ref"].startswith("rule:")
    return e


def assert_open_denied(w, word, *extra, grant="bank.grant", pkg="bank.xpkg", actor="bank"):
    r = w.open(pkg, grant, "denied.csv", *extra, actor=actor)
    assert r.exit_code != 0, r.output
    assert word in r.output, r.output
    assert not (w.root / "denied.csv").exists()
    e = last(w, "bank", "open")
    assert e["outcome"] == "denied"
    return e


OPAQUE = {
    "rule:GrantInvalid",
    "rule:GrantAlgorithmRefused",
    "rule:GrantUnknownKey",
    "rule:GrantTypeRefused",
}


def assert_invalid_everywhere(w, grant):
    """Refused before any claim is read: an opaque grant error, at the querent and the platform."""
    assert assert_open_denied(w, "grant", grant=grant)["objects"]["ref"] in OPAQUE
    assert assert_share_denied(w, "grant", grant=grant)["objects"]["ref"] in OPAQUE


def craft(w, header, claims, *, sign_with="platform"):
    """A token with any header and claims, signed (Ed25519, as EdDSA JWS) by a plat key."""
    ident = Keyring(w.ring("plat")).unlock(sign_with, PASS)
    signing_input = b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())
    return signing_input + "." + b64u(ident.sign(signing_input.encode()))


def token_parts(tok):
    h, p, s = tok.split(".")
    return json.loads(unb64u(h)), json.loads(unb64u(p)), s


# -- no consent / consent revoked ---------------------------------------------------------------
def test_no_consent_no_grant(world):
    w = world
    r = w.grant(w.subject, "c" + "0" * 26)
    assert r.exit_code != 0 and "no consent" in r.output
    other = w.person(1)["证件号码"]  # a person without any consent
    r = w.grant(other, w.consent_id)
    assert r.exit_code == 77 and "subjects" in r.output
    e = last(w, "plat", "grant")
    assert e["outcome"] == "denied" and e["subjects"][0].startswith("ps1.")


def test_consent_revoked_stops_issue_and_share(world):
    w = world
    issued(w)
    w.ok("plat", "secadm", "consent", "revoke", w.consent_id, "--vault", str(w.vault))
    assert_share_denied(w, "revoked")
    r = w.grant(w.subject, w.consent_id, out="g2.grant")
    assert r.exit_code == 77 and "revoked" in r.output


# -- time ---------------------------------------------------------------------------------------
def test_grant_expired(world):
    w = world
    issued(w, ttl="30s")
    assert w.share().exit_code == 0
    w.clock.advance(seconds=30)
    assert_open_denied(w, "expired")
    issued(w, ttl="30s", out="g2.grant")
    w.clock.advance(seconds=31)
    assert_share_denied(w, "expired", grant="g2.grant")


def test_grant_not_yet_valid(world):
    w = world
    issued(w)
    assert w.share().exit_code == 0
    w.clock.advance(seconds=-60)  # a clock behind the issuer's: iat is in the future
    assert_open_denied(w, "not valid before")
    issued(w, out="g2.grant")
    w.clock.advance(seconds=-60)
    assert_share_denied(w, "not valid before", grant="g2.grant")


# -- revocation ---------------------------------------------------------------------------------
def test_grant_revoked(world):
    w = world
    tok = issued(w)
    assert w.share().exit_code == 0
    assert w.release().exit_code == 0  # released while the grant held
    jti = token_parts(tok)[1]["jti"]
    r = w.ok("plat", "secadm", "grant", "revoke", jti, "--vault", str(w.vault), "--json")
    path = json.loads(r.stdout)["revocations"]
    # the platform releases nothing more under it
    r = w.release(out="after.release")
    assert r.exit_code != 0 and "revoked" in r.output and not (w.root / "after.release").exists()
    e = last(w, "plat", "share")
    assert e["outcome"] == "denied" and e["objects"]["ref"] == "rule:GrantRevoked"
    assert e["why"]["purpose"] == "release" and e["why"]["grant"] == jti
    # without the list the querent cannot know; with it, the open is refused
    assert w.open(out="before.csv").exit_code == 0
    assert_open_denied(w, "revoked", "--revocations", path)
    e = last(w, "plat", "revoke")
    assert e["why"]["grant"] == jti
    # a stale list is refused too (it could hide a revocation)
    w.clock.advance(days=8)
    assert_open_denied(w, "stale", "--revocations", path)
    # the platform refuses to share under a revoked grant
    w.clock.advance(days=-8)
    tok2 = issued(w, out="g2.grant")
    w.ok("plat", "secadm", "grant", "revoke", token_parts(tok2)[1]["jti"], "--vault", str(w.vault))
    assert_share_denied(w, "revoked", grant="g2.grant")


def test_one_grant_one_share(world):
    w = world
    issued(w)
    assert w.share().exit_code == 0
    e = assert_share_denied(w, "already been used")
    assert e["objects"]["ref"] == "rule:one-grant-one-share"


# -- wrong querent key, fields ------------------------------------------------------------------
def test_wrong_querent_key(world):
    w = world
    issued(w)
    assert w.share().exit_code == 0
    e = assert_open_denied(w, "bound to another querent", actor="bank2")
    assert e["objects"]["ref"] == "rule:GrantWrongQuerent"


def test_field_not_granted_is_absent(world):
    w = world
    issued(w, fields="mobile")  # the ASCII key of 手机号码
    assert w.share().exit_code == 0
    assert w.release().exit_code == 0
    assert w.open().exit_code == 0
    rows = w.opened()
    assert set(rows[0]) == {"record_id", "手机号码"}
    head = json.loads((w.root / "bank.xpkg").read_bytes().split(b"\n", 1)[0])
    assert head["sealed"] == ["手机号码"] and head["clear"] == []


@pytest.mark.parametrize(
    ("kw", "dimension"),
    [
        ({"fields": "手机号码,银行账号"}, "fields"),
        ({"purpose": "营销"}, "purpose"),
        ({"ttl": "60d"}, "time"),
        ({"querent": "bank2"}, "querent"),
    ],
)
def test_grant_wider_than_consent(world, kw, dimension):
    w = world
    r = w.grant(w.subject, w.consent_id, **kw)
    assert r.exit_code == 77, r.output
    assert "wider than consent" in r.output and dimension in r.output
    assert not (w.root / "bank.grant").exists()
    e = last(w, "plat", "grant")
    assert e["outcome"] == "denied" and "grant-within-consent" in e["objects"]["ref"]


def test_field_the_policy_never_releases_to_querents(world):
    w = world
    c = w.consent(w.subject, fields="民族")
    r = w.grant(w.subject, c, fields="民族")
    assert r.exit_code == 77 and "never releases" in r.output


# -- forged and damaged tokens --------------------------------------------------------------------
def _tamper(w, mutate, name="forged.grant"):
    tok = (w.root / "bank.grant").read_text().strip()
    (w.root / name).write_text(mutate(tok) + "\n")
    return name


def test_tampered_jwt(world):
    w = world
    issued(w)
    assert w.share().exit_code == 0

    def widen(tok):
        h, p, s = tok.split(".")
        claims = json.loads(unb64u(p))
        claims["fields"] = ["手机号码", "现住址", "证件号码", "银行账号"]
        return f"{h}.{b64u(json.dumps(claims).encode())}.{s}"

    assert_invalid_everywhere(w, _tamper(w, widen))
    flip = _tamper(w, lambda t: t[:-3] + ("A" if t[-3] != "A" else "B") + t[-2:], "flip.grant")
    assert_invalid_everywhere(w, flip)


def test_alg_none_and_hs256_with_the_public_key(world):
    w = world
    tok = issued(w)
    assert w.share().exit_code == 0
    h, _claims, _ = token_parts(tok)
    none = b64u(json.dumps({**h, "alg": "none"}).encode()) + "." + tok.split(".")[1] + "."
    (w.root / "none.grant").write_text(none + "\n")
    assert_invalid_everywhere(w, "none.grant")
    # alg none with a non-empty signature segment: refused on the header, before any check
    (w.root / "none2.grant").write_text(none + "AAAA\n")
    assert_invalid_everywhere(w, "none2.grant")
    import hmac

    pub = Keyring(w.ring("bank")).get_public("platform").sig
    hs_h = b64u(json.dumps({**h, "alg": "HS256"}).encode())
    signing_input = hs_h + "." + tok.split(".")[1]
    mac = hmac.digest(pub, signing_input.encode(), "sha256")
    (w.root / "hs.grant").write_text(signing_input + "." + b64u(mac) + "\n")
    assert_invalid_everywhere(w, "hs.grant")


def test_missing_claims(world):
    w = world
    tok = issued(w)
    assert w.share().exit_code == 0
    h, claims, _ = token_parts(tok)
    for claim in ("cnf", "exp", "jti", "fields"):
        c = {k: v for k, v in claims.items() if k != claim}
        (w.root / f"m-{claim}.grant").write_text(craft(w, h, c) + "\n")
        assert_open_denied(w, f"lacks the required claim '{claim}'", grant=f"m-{claim}.grant")
        assert_share_denied(w, claim, grant=f"m-{claim}.grant")


def test_grant_by_a_non_sec_admin(world):
    w = world
    # the command refuses every role but sec-admin, and logs the refusal
    r = w.run(
        "plat", "platform", "grant", "issue", "--vault", str(w.vault), "--querent", "bank",
        "--purpose", "信易贷授信审查", "--fields", "手机号码", "--subject", w.subject,
        "--consent", w.consent_id, "--ttl", "1h", "-o", str(w.root / "x.grant"),
    )  # fmt: skip
    assert r.exit_code == 77 and "may not grant" in r.output
    assert last(w, "plat", "denied")["objects"]["ref"] == "operation:grant"
    # a token signed by the sec-admin's own key (not the platform key) is refused as unknown
    tok = issued(w)
    assert w.share().exit_code == 0
    h, claims, _ = token_parts(tok)
    sec = Keyring(w.ring("plat")).get_public("secadm")
    w.ok("bank", "banksa", "keys", "add", str(w.ring("plat") / "public" / "secadm.pub"))
    forged = craft(w, {**h, "kid": sec.key_id}, {**claims, "iss": "secadm"}, sign_with="secadm")
    (w.root / "sec.grant").write_text(forged + "\n")
    assert_invalid_everywhere(w, "sec.grant")


def test_valid_signature_but_not_issued_by_the_vault(world):
    """A grant signed by the platform key outside `grant issue` (a stolen key, a script) is
    refused at share: the vault builds shares only for grants its sec-admin issued."""
    w = world
    tok = issued(w)
    h, claims, _ = token_parts(tok)
    claims = {**claims, "jti": b64u(b"\x01" * 16)}
    (w.root / "rogue.grant").write_text(craft(w, h, claims) + "\n")
    assert_share_denied(w, "not issued by this vault", grant="rogue.grant")


# -- the querent with everything it holds ----------------------------------------------
def test_querent_cannot_widen_with_what_it_holds(world):
    w = world
    p = w.person(0)
    issued(w, fields="手机号码")
    assert w.share().exit_code == 0
    pkg = (w.root / "bank.xpkg").read_bytes()
    # an edited package: claim another field, or point an entry at another ciphertext
    lines = pkg.split(b"\n")
    head = json.loads(lines[0])
    head["sealed"] = ["手机号码", "证件号码"]
    bad = json.dumps(head, ensure_ascii=False, separators=(",", ":")).encode()
    (w.root / "edited.xpkg").write_bytes(b"\n".join([bad, *lines[1:]]))
    assert_open_denied(w, "", pkg="edited.xpkg")
    # an edited grant naming more fields breaks its signature (test_tampered_jwt), and a
    # forged grant naming more fields does not match the package it is opened with
    _h, claims, _ = token_parts((w.root / "bank.grant").read_text().strip())
    assert claims["fields"] == ["手机号码"]
    # the output has the granted field of the granted person and nothing else
    assert w.release().exit_code == 0
    assert w.open().exit_code == 0
    assert w.opened() == [{"record_id": w.opened()[0]["record_id"], "手机号码": p["手机号码"]}]
    raw = (w.root / "bank.xpkg").read_bytes()
    for other in w.people:
        assert other["证件号码"].encode() not in raw and other["现住址"].encode() not in raw
    # the cnf binding in the grant is the bank's key, nothing else opens it
    bank = Keyring(w.ring("bank")).get_public("bank")
    assert next(iter(claims["cnf"].items())) == querent_binding(bank)


def test_a_grant_id_beginning_with_a_dash_is_an_id_not_an_option(world):
    # base64url ids begin with "-" one time in 64 (it made test_grant_revoked flaky)
    w = world
    r = w.run(
        "plat", "secadm", "grant", "revoke", "-Ewsc3Yp0Q2iWkq7nEwVZ6A", "--vault", str(w.vault)
    )
    assert r.exit_code != 0
    assert "No such option" not in r.output and "was issued by this vault" in r.output
    # one with an "h" in it printed the help and exited 0, revoking nothing (click read it as
    # the short options -E -w -s -c -h …)
    r = w.run(
        "plat", "secadm", "grant", "revoke", "-Ewsch3Yp0Q2iWkq7nEwVZ6", "--vault", str(w.vault)
    )
    assert r.exit_code != 0 and "Usage:" not in r.output, r.output
    assert "was issued by this vault" in r.output


def test_a_grant_whose_id_begins_with_a_dash_and_holds_an_h_is_revoked(world, monkeypatch):
    """The grant is revoked by its bare id, and the platform then shares nothing under it."""
    from xinan.formats.grant import issue as issue_module

    # 0xfa 0x1f… encodes as "-h…" in base64url: the id the old parser took for -h (help)
    fixed = SimpleNamespace(token_bytes=lambda n: b"\xfa\x1f" + bytes(range(1, n - 1)))
    monkeypatch.setattr(issue_module, "secrets", fixed)
    w = world
    tok = issued(w)
    jti = token_parts(tok)[1]["jti"]
    assert jti.startswith("-h")
    r = w.ok("plat", "secadm", "grant", "revoke", jti, "--vault", str(w.vault), "--json")
    assert json.loads(r.stdout)["jti"] == jti
    assert_share_denied(w, "revoked")


def test_a_mistyped_option_is_refused_with_a_hint_naming_the_options(world):
    """A word beginning with "-" that is none of the options is read as a bare grant id (ids
    begin with "-" one time in 64): a mistyped option revokes nothing, exits 2, and the error
    says where the ids and the options are listed."""
    w = world
    r = w.run("plat", "secadm", "grant", "revoke", "--valdi", "--vault", str(w.vault))
    assert r.exit_code == 2, r.output
    assert "was issued by this vault" in r.output and "grant revoke --help" in r.output
    assert not [e for e in w.entries("plat") if e["type"] == "revoke"]
