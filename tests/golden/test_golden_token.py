"""Golden files of the second-factor token (docs/keys.md §9, xinan-token/1), written once by
tests/golden/make_token.py from a seeded test-only key. Today's reader must load it with the
pinned holder and token id, today's writer must reproduce it byte for byte, and every
committed mutation must be refused with KeyringError naming the file — never another
exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden.make_token import HOLDER, HOLDER_KEY_ID, token
from xinan.authn import Token
from xinan.errors import KeyringError, XinanError

GOLDEN = Path(__file__).resolve().parent / "token"

TOKEN_REFUSALS: dict[str, type[XinanError]] = {
    "private_flipped.json": KeyringError,
    "public_flipped.json": KeyringError,
    "holder_key_id_changed.json": KeyringError,
    "token_id_changed.json": KeyringError,
    "wrong_version.json": KeyringError,
    "truncated.json": KeyringError,
    "compact.json": KeyringError,
    "member_added.json": KeyringError,
    "suite_changed.json": KeyringError,
}


def test_token_golden_read() -> None:
    tok = Token.load(GOLDEN / "token.json")
    assert (tok.holder, tok.holder_key_id, tok.suite.value) == (HOLDER, HOLDER_KEY_ID, "intl")
    assert tok.token_id == "xt1h27uamowcpiphynyyojex3s3"


def test_token_golden_written_again() -> None:
    assert token().to_bytes() == (GOLDEN / "token.json").read_bytes()


def test_token_mutations_all_listed() -> None:
    assert sorted(p.name for p in (GOLDEN / "bad").iterdir()) == sorted(TOKEN_REFUSALS)


@pytest.mark.parametrize("name", sorted(TOKEN_REFUSALS))
def test_token_mutation_refused(name: str) -> None:
    path = GOLDEN / "bad" / name
    with pytest.raises(XinanError) as info:
        Token.load(path)
    assert type(info.value) is TOKEN_REFUSALS[name], info.value
    assert name in str(info.value)
