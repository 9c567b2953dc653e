"""Golden files of the grant family (docs/grant.md): the grant JWT (xinan-grant/1) and the
signed revocation list (xinan-revocations/1), written once by tests/golden/make_grant.py with
committed test-only keys at a fixed clock. Today's reader must accept them with the pinned
values; today's writer must reproduce them byte for byte (Ed25519 is deterministic: the token
from the committed claims, the list from the same edition); every committed mutation must be
refused with the xinan error named in the tables — never another exception."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.golden.make_grant import NEXT_UPDATE, NOW, PW
from xinan.errors import (
    GrantAlgorithmRefused,
    GrantInvalid,
    GrantRevoked,
    GrantTypeRefused,
    GrantUnknownKey,
    RevocationListInvalid,
    XinanError,
)
from xinan.formats import grant as G
from xinan.formats.grant.issue import _encode_token
from xinan.formats.grant.jws import pinned_algorithm
from xinan.keys import Keyring, PublicKeyInfo

GOLDEN = Path(__file__).resolve().parent / "grant"
AT = NOW + timedelta(minutes=1)  # inside the grant's lifetime
RL_AT = NOW + timedelta(minutes=10)  # inside the list's validity

GRANT_REFUSALS: dict[str, type[XinanError]] = {
    "sig_flipped.jwt": GrantInvalid,
    "claim_changed.jwt": GrantInvalid,
    "alg_none.jwt": GrantInvalid,  # an empty signature part: refused before the header
    "alg_hs256.jwt": GrantAlgorithmRefused,
    "typ_changed.jwt": GrantTypeRefused,
    "kid_unknown.jwt": GrantUnknownKey,
    "truncated.jwt": GrantInvalid,
    "two_parts.jwt": GrantInvalid,
    "padded_b64.jwt": GrantInvalid,
}
REVOCATION_REFUSALS: dict[str, type[XinanError]] = {
    "sig_flipped.json": RevocationListInvalid,
    "number_changed.json": RevocationListInvalid,
    "entry_dropped.json": RevocationListInvalid,
    "wrong_version.json": RevocationListInvalid,
    "truncated.json": RevocationListInvalid,
    "compact.json": RevocationListInvalid,
    "member_added.json": RevocationListInvalid,
}


@pytest.fixture(scope="module")
def ring() -> Keyring:
    return Keyring(GOLDEN / "keys", compliance_mode="any")


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))
    return data


def test_grant_golden_read(ring: Keyring, expected: dict[str, Any]) -> None:
    token = G.read_grant(GOLDEN / "grant.jwt")
    claims = G.verify_grant(token, trust=ring, now=AT, expected_querent=ring.get_public("bank"))
    assert claims.to_json() == expected["claims"]


def test_grant_golden_written_again(ring: Keyring) -> None:
    good = G.read_grant(GOLDEN / "grant.jwt")
    claims = G.verify_grant(good, trust=ring, now=AT)
    platform = ring.unlock("platform", PW)
    alg = pinned_algorithm(platform.suite)
    # the claims in the writer's member order (GrantClaims.to_json), signed again
    assert _encode_token(platform, claims.to_json(), alg=alg, suite=platform.suite) == good


def test_revocations_golden_read_and_written_again(ring: Keyring, expected: dict[str, Any]) -> None:
    data = (GOLDEN / "revocations.json").read_bytes()
    rl = G.verify_revocations(data, trust=ring, now=RL_AT)
    assert rl.number == expected["number"]
    assert sorted(rl.jtis) == expected["revoked"]
    unsigned = G.RevocationList(rl.issuer, rl.number, rl.entries)
    platform = ring.unlock("platform", PW)
    assert G.sign_revocations(unsigned, platform, now=rl.issued, next_update=NEXT_UPDATE) == data
    # and the golden grant is refused under the golden list
    token = G.read_grant(GOLDEN / "grant.jwt")
    with pytest.raises(GrantRevoked):
        G.verify_grant(token, trust=ring, now=RL_AT, revoked=rl)


def test_grant_mutations_all_listed() -> None:
    names = sorted(p.name for p in (GOLDEN / "bad").iterdir())
    assert names == sorted([*GRANT_REFUSALS, *REVOCATION_REFUSALS])


@pytest.mark.parametrize("name", sorted(GRANT_REFUSALS))
def test_grant_mutation_refused(ring: Keyring, name: str) -> None:
    token = G.read_grant(GOLDEN / "bad" / name)
    with pytest.raises(XinanError) as info:
        G.verify_grant(token, trust=ring, now=AT)
    assert type(info.value) is GRANT_REFUSALS[name], info.value


@pytest.mark.parametrize("name", sorted(REVOCATION_REFUSALS))
def test_revocation_mutation_refused(ring: Keyring, name: str) -> None:
    data = (GOLDEN / "bad" / name).read_bytes()
    with pytest.raises(XinanError) as info:
        G.verify_revocations(data, trust=ring, now=RL_AT)
    assert type(info.value) is REVOCATION_REFUSALS[name], info.value


def _trust(ring: Keyring) -> dict[str, PublicKeyInfo]:
    # the platform's public key as a mapping (a Keyring reads its directory at each lookup)
    info = ring.get_public("platform")
    return {info.key_id: info}


def test_grant_every_byte_flip_refused(ring: Keyring) -> None:
    trust = _trust(ring)
    good = G.read_grant(GOLDEN / "grant.jwt").encode("ascii")
    for i in range(len(good)):
        bad = bytearray(good)
        bad[i] ^= 0x01
        try:
            token = bytes(bad).decode("ascii")
        except UnicodeDecodeError:  # pragma: no cover - XOR 1 keeps ASCII
            continue
        with pytest.raises(XinanError):
            G.verify_grant(token, trust=trust, now=AT)


def test_revocations_every_byte_flip_refused(ring: Keyring) -> None:
    trust = _trust(ring)
    good = (GOLDEN / "revocations.json").read_bytes()
    for i in range(len(good)):
        bad = bytearray(good)
        bad[i] ^= 0x01
        with pytest.raises(RevocationListInvalid):
            G.verify_revocations(bytes(bad), trust=trust, now=RL_AT)
