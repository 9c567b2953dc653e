"""Golden files of the working-directory config (docs/config.md, xinan-config/1), written once
by tests/golden/make_config.py. Today's reader must accept ``xinan.toml`` with the pinned
values (paths resolved against the file's directory), today's writer must reproduce it byte
for byte, and every committed mutation must be refused with ConfigError (naming the file) —
never another exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden.make_config import config
from xinan.config import Config, parse_config, render_config
from xinan.errors import ConfigError, XinanError

GOLDEN = Path(__file__).resolve().parent / "config"

CONFIG_REFUSALS: dict[str, type[XinanError]] = {
    "wrong_version.toml": ConfigError,
    "no_version.toml": ConfigError,
    "unknown_key.toml": ConfigError,
    "missing_identity.toml": ConfigError,
    "unknown_party.toml": ConfigError,
    "not_a_string.toml": ConfigError,
    "bad_identity.toml": ConfigError,
    "truncated.toml": ConfigError,
    "not_utf8.toml": ConfigError,
    "duplicate_key.toml": ConfigError,
}


def test_config_golden_read() -> None:
    path = GOLDEN / "xinan.toml"
    cfg = parse_config(path.read_bytes(), path)
    assert cfg == Config(
        path=path,
        party="querent",
        keyring=(GOLDEN / "keys").resolve(),
        audit_log=(GOLDEN / "audit" / "audit.log").resolve(),
        identity="bank-golden",
        tokens=(GOLDEN / "tokens").resolve(),
    )


def test_config_golden_written_again() -> None:
    assert render_config(config(GOLDEN)) == (GOLDEN / "xinan.toml").read_text(encoding="utf-8")


def test_config_mutations_all_listed() -> None:
    assert sorted(p.name for p in (GOLDEN / "bad").iterdir()) == sorted(CONFIG_REFUSALS)


@pytest.mark.parametrize("name", sorted(CONFIG_REFUSALS))
def test_config_mutation_refused(name: str) -> None:
    path = GOLDEN / "bad" / name
    with pytest.raises(XinanError) as info:
        parse_config(path.read_bytes(), path)
    assert type(info.value) is CONFIG_REFUSALS[name], info.value
    assert str(path) in str(info.value)  # names the file
