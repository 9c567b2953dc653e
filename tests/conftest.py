"""Shared fixtures: the shipped policy, a fixed 'today', an in-memory pseudonym key."""

from __future__ import annotations

import hmac
from datetime import date
from pathlib import Path

import pytest

from xinan.policy.catalogue import Policy, load_policy

ROOT = Path(__file__).resolve().parent.parent
POLICY_FILE = ROOT / "policies" / "credit-default.toml"
TODAY = date(2026, 11, 25)


class FixedPseudonymKey:
    """A test pseudonym key (HMAC-SHA256 under a fixed synthetic key)."""

    def __init__(self, key_id: str = "xs1testkey", key: bytes = b"\x07" * 32) -> None:
        self._key_id = key_id
        self._key = key

    @property
    def key_id(self) -> str:
        return self._key_id

    def mac(self, data: bytes) -> bytes:
        return hmac.digest(self._key, data, "sha256")


# `pytest -n auto --dist loadgroup` (scripts/test.sh): the tests that share one expensive
# per-process resource run on one worker, so that it is made once per run and not once per
# worker — the Spark session (a JVM) and its job, and the demo world the report tests read.
XDIST_GROUPS = {"tests/spark/": "spark", "tests/reports/test_reports.py": "demo-world"}


# tryfirst: xdist's own hook turns the marker into the "@group" suffix of the node id its
# scheduler groups by; run after it, the markers came too late and each group was split
# between the workers (two Spark JVMs, two demo worlds)
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    grouped: set[str] = set()
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        for prefix, group in XDIST_GROUPS.items():
            if path.startswith(prefix):
                item.add_marker(pytest.mark.xdist_group(group))
                grouped.add(item.nodeid)
    # the groups first: each is long and runs on one worker, so started last it would leave
    # the other worker idle at the end of the run (the rest is dealt out as workers free up)
    items.sort(key=lambda item: item.nodeid not in grouped)


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(POLICY_FILE)


@pytest.fixture()
def pskey() -> FixedPseudonymKey:
    return FixedPseudonymKey()


def cheap_kdf_params():
    """The test-only passphrase KDF cost: Argon2id 64 KiB, 1 pass, 1 lane; PBKDF2-HMAC-SM3 1,000
    iterations. Only for tests whose subject is not the KDF: the production defaults
    (``xinan.keys.DEFAULT_KDF``: Argon2id 64 MiB, t=3, p=4; PBKDF2 600,000) are pinned by
    tests/keys/test_keys.py and tests/keys/test_keys_gm_kdf.py, and every key a test makes
    with these parameters opens only under them (they are in the key file)."""
    from xinan import keys

    return keys.KdfParams(m_kib=64, t=1, p=1, iterations=1000)


@pytest.fixture()
def fast_kdf(monkeypatch):
    """Keys made in this test use :func:`cheap_kdf_params`'s cheap parameters; never used outside
    tests."""
    from xinan import keys

    monkeypatch.setattr(keys, "DEFAULT_KDF", cheap_kdf_params())


CLI_PASSPHRASE = "correct horse battery staple"


def cli_workplace(tmp_path, monkeypatch, *setup: list[str]):
    """A CliRunner in a fresh workplace (keyring and audit log under ``tmp_path``, a fixed
    'today', a passphrase and a token directory in the environment) after running each
    ``setup`` command line (keys, ``audit init``, then ``keys bootstrap`` as the sys-admin)."""
    from click.testing import CliRunner

    from xinan.cli import app

    monkeypatch.setenv("XINAN_KEYRING", str(tmp_path / "keys"))
    monkeypatch.setenv("XINAN_PASSPHRASE", CLI_PASSPHRASE)
    monkeypatch.setenv("XINAN_TODAY", "2026-11-25")
    # administrators' second factor without a prompt (README: scripts and CI)
    monkeypatch.setenv("XINAN_TOKEN_DIR", str(tmp_path / "tokens"))
    for var in (
        "XINAN_IDENTITY",
        "XINAN_AUDIT_LOG",
        "XINAN_VAULT",
        "XINAN_PSEUDONYM_KEY",
        "XINAN_TOKEN",
        "XINAN_NEW_PASSPHRASE",
        "XINAN_CONFIG",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for args in setup:
        res = runner.invoke(app, args, catch_exceptions=False)
        assert res.exit_code == 0, (args, res.output)
    return runner


def bootstrap_keyring(
    ring, log, tokens, *, passphrase: str, admin: str = "sa", now=None, suite: str = "intl"
):
    """The explicit bootstrap for library-level tests: a sys-admin ``admin`` (made here if the
    keyring has none by that name) signs the first roster, bound to ``log`` (already set up
    with ``init_audit_log``); administrators' tokens go to ``tokens``. Returns the token
    source sessions pass as ``tokens=``."""
    from datetime import UTC, datetime

    from xinan.authn import TokenDir
    from xinan.key_management import bootstrap

    now = now or datetime(2026, 11, 1, tzinfo=UTC)
    if not ring.private_path(admin).exists():
        ring.generate(admin, "sys-admin", suite, passphrase, now=now)
    bootstrap(
        ring,
        admin=admin,
        log_path=log,
        passphrase=lambda _: passphrase,
        clock=lambda: now,
        token_out=lambda holder: tokens / f"{holder}.token",
    )
    return TokenDir(tokens)
