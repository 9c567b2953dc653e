"""Golden files of the catalogue policy (docs/policy.md, xinan-policy/2): a frozen copy of the
shipped default policy, written by tests/golden/make_policy.py. A policy is written by people,
so the goldens are reader-side: today's reader must load the frozen copy with the pinned values
and refuse every committed mutation with PolicyError naming the file — never another
exception."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from xinan.errors import PolicyError, XinanError
from xinan.policy import load_policy

GOLDEN = Path(__file__).resolve().parent / "policy"

POLICY_REFUSALS: dict[str, type[XinanError]] = {
    "wrong_version.toml": PolicyError,
    "unknown_key.toml": PolicyError,
    "unknown_audience.toml": PolicyError,
    "truncated.toml": PolicyError,
    "not_utf8.toml": PolicyError,
    "duplicate_key.toml": PolicyError,
    "no_audiences.toml": PolicyError,
}


def test_policy_golden_read() -> None:
    expected = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))
    path = GOLDEN / "credit-default.toml"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == expected["sha256"]
    p = load_policy(path)
    assert (p.id, p.version, p.jurisdiction) == (
        expected["id"],
        expected["version"],
        expected["jurisdiction"],
    )
    assert list(p.audiences) == expected["audiences"]
    assert sorted(p.kinds) == expected["kinds"]


def test_policy_mutations_all_listed() -> None:
    assert sorted(p.name for p in (GOLDEN / "bad").iterdir()) == sorted(POLICY_REFUSALS)


@pytest.mark.parametrize("name", sorted(POLICY_REFUSALS))
def test_policy_mutation_refused(name: str) -> None:
    path = GOLDEN / "bad" / name
    with pytest.raises(XinanError) as info:
        load_policy(path)
    assert type(info.value) is POLICY_REFUSALS[name], info.value
    assert name in str(info.value)  # names the file
