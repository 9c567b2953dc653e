"""`xinan init` asks each new key's passphrase once — typed and confirmed — and nothing after
(issue 15 items 4 and 5): the set-up then unlocks several of the keys it made (the bootstrap
as the system administrator, the log, the vault, the trust imports) with the passphrases
given at creation, remembered for this process only."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from xinan.cli import _passphrase, app

PASS = "correct horse battery staple"


@pytest.mark.parametrize(
    ("party", "extra"),
    [
        ("platform", []),
        ("provider", ["--id", "amr-zaozhuang", "--admin", "amr-admin", "--pseudonym-key", "ps"]),
        ("querent", ["--id", "bank-a"]),
        ("auditor", []),
    ],
)
def test_each_key_is_asked_once_at_init(party, extra, tmp_path, monkeypatch, fast_kdf):
    for var in list(os.environ):
        if var.startswith("XINAN_"):
            monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    asked: list[tuple[str, bool]] = []

    def prompt(what: str, *, confirm: bool) -> str:  # the hidden terminal prompt, counted
        asked.append((what, confirm))
        return PASS

    monkeypatch.setattr(_passphrase.Passphrases, "_prompt", staticmethod(prompt))
    monkeypatch.setattr(_passphrase, "on_terminal", lambda: True)
    r = CliRunner().invoke(app, ["init", party, "d", *extra, "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    made = [k["id"] for k in json.loads(r.stdout)["keys"]]
    # one prompt per key made, each with its confirmation, and no other prompt at all
    assert sorted(w for w, _ in asked) == sorted(f"new key {k}" for k in made)
    assert all(confirm for _, confirm in asked)
