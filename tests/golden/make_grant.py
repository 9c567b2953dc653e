"""Write the grant golden files (docs/grant.md): a test-only keyring (platform, sec-admin,
querent; intl suite, Ed25519; test-only Argon2 parameters and passphrase), a grant JWT issued at
a fixed clock, a signed revocation list revoking it, and committed mutations of both.

The keys are made once (random, then committed: they are synthetic test keys, never used
outside tests). The grant's ``jti`` is random, so ``issue_grant`` cannot reproduce the token;
the test re-signs the committed claims with the committed key and expects the same bytes
(Ed25519 is deterministic), and ``sign_revocations`` must reproduce the list byte for byte.
Rerun only after a deliberate format change (it makes new keys, so every file changes):

    rm -rf tests/golden/grant && .venv/bin/python tests/golden/make_grant.py
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent / "grant"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from xinan.formats import grant as G  # noqa: E402
from xinan.keys import Identity, KdfParams, Keyring  # noqa: E402

NOW = datetime(2026, 3, 2, 9, 30, 0, tzinfo=UTC)
PW = "golden grant test passphrase"  # test-only keys, committed on purpose
FAST_KDF = KdfParams(m_kib=64, t=1, p=1, iterations=1000)  # test-only
FIELDS = ("联系电话", "住所")
PURPOSE = "信易贷授信审查"
POLICY = "credit-default@2026.1"
NEXT_UPDATE = NOW + timedelta(hours=6)


def subject() -> str:
    """A synthetic keyed pseudonym (the shape xinan.masking.pseudonym produces)."""
    tag = base64.b32encode(hashlib.sha256(b"golden subject 0").digest()[:16])
    return "ps1.xs1testkeyaaaaaaaaaaaaaaaa." + tag.decode().rstrip("=").lower()


def keyring() -> Keyring:
    return Keyring(HERE / "keys", compliance_mode="any")


def unlock(ring: Keyring, name: str) -> Identity:
    return ring.unlock(name, PW)


def make_keys(ring: Keyring) -> None:
    for name, role in (("platform", "platform"), ("secadm", "sec-admin"), ("bank", "querent")):
        ring.generate(name, role, "intl", PW, now=NOW, kdf_params=FAST_KDF)


def revocation_list(platform: Identity, grant: G.Grant) -> bytes:
    rl = G.RevocationList(platform.info.id).revoke(
        grant.claims.jti, at=NOW + timedelta(minutes=5), expires=grant.claims.expires
    )
    return G.sign_revocations(rl, platform, now=NOW + timedelta(minutes=5), next_update=NEXT_UPDATE)


def _b64u_json(obj: object) -> str:
    raw = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def grant_mutations(token: str) -> dict[str, str]:
    head, payload, sig = token.split(".")
    raw_sig = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw_sig[-1] ^= 0x01
    flipped = base64.urlsafe_b64encode(bytes(raw_sig)).decode().rstrip("=")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    changed = dict(claims, fields=[*claims["fields"], "证件号码"])
    return {
        "sig_flipped.jwt": f"{head}.{payload}.{flipped}",
        "claim_changed.jwt": f"{head}.{_b64u_json(changed)}.{sig}",
        "alg_none.jwt": f"{_b64u_json(dict(header, alg='none'))}.{payload}.",
        "alg_hs256.jwt": f"{_b64u_json(dict(header, alg='HS256'))}.{payload}.{sig}",
        "typ_changed.jwt": f"{_b64u_json(dict(header, typ='JWT'))}.{payload}.{sig}",
        "kid_unknown.jwt": f"{_b64u_json(dict(header, kid='k' * 26))}.{payload}.{sig}",
        "truncated.jwt": token[: len(token) // 2],
        "two_parts.jwt": f"{head}.{payload}",
        "padded_b64.jwt": f"{head}.{payload}=.{sig}",
    }


def revocation_mutations(good: bytes) -> dict[str, bytes]:
    doc = json.loads(good)
    raw = bytearray(base64.urlsafe_b64decode(doc["sig"] + "=" * (-len(doc["sig"]) % 4)))
    raw[-1] ^= 0x01
    flipped = dict(doc, sig=base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="))

    def enc(d: dict[str, object]) -> bytes:
        return (json.dumps(d, indent=2, ensure_ascii=False) + "\n").encode()

    assert enc(doc) == good, "the list's encoding is not what this generator assumes"
    return {
        "sig_flipped.json": enc(flipped),
        "number_changed.json": enc(dict(doc, number=2)),
        "entry_dropped.json": enc(dict(doc, revoked=[])),
        "wrong_version.json": enc(dict(doc, format="xinan-revocations/2")),
        "truncated.json": good[: len(good) // 2],
        "compact.json": json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode(),
        "member_added.json": enc(dict(doc, note="x")),
    }


def main() -> None:
    HERE.mkdir(exist_ok=True)
    ring = keyring()
    make_keys(ring)
    platform, secadm = unlock(ring, "platform"), unlock(ring, "secadm")
    bank = ring.get_public("bank")
    consent = G.Consent(
        id="c-2026-0001",
        subject=subject(),
        querent=bank.key_id,
        purpose=PURPOSE,
        fields=("联系电话", "住所", "证件号码"),
        valid_until=NOW + timedelta(days=30),
        ref="paper consent 2026-0001 (scanned)",
    )
    grant = G.issue_grant(
        platform=platform,
        authorised_by=secadm,
        querent=bank,
        consent=consent,
        purpose=PURPOSE,
        fields=FIELDS,
        subjects=[subject()],
        policy_label=POLICY,
        ttl=timedelta(hours=1),
        now=NOW,
    )
    (HERE / "grant.jwt").write_text(grant.token + "\n", encoding="ascii")
    rl = revocation_list(platform, grant)
    (HERE / "revocations.json").write_bytes(rl)
    bad = HERE / "bad"
    bad.mkdir(exist_ok=True)
    for name, text in grant_mutations(grant.token).items():
        (bad / name).write_text(text + "\n", encoding="ascii")
    for name, data in revocation_mutations(rl).items():
        (bad / name).write_bytes(data)
    expected = {"claims": grant.claims.to_json(), "revoked": [grant.claims.jti], "number": 1}
    (HERE / "expected.json").write_text(
        json.dumps(expected, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
