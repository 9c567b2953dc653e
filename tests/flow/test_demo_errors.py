"""A failed demo step names the command, never the subject's identifier it was given (the demo
passes synthetic clear IDs to `report subject`; the habit is the product's: no identifier in an
error message)."""

from __future__ import annotations

import pytest

from xinan.demo import _Runner
from xinan.errors import DemoStepFailed

RID = "11010519491231002X"  # GB 11643-1999's printed example (not a real person's number)


def test_a_failed_step_does_not_echo_an_identifier(tmp_path, monkeypatch):
    monkeypatch.delenv("XINAN_PASSPHRASE", raising=False)
    run = _Runner(tmp_path)  # no keyring here: every command fails
    with pytest.raises(DemoStepFailed) as exc:
        run("platform", "platform", "report", "subject", RID, "--json")
    assert RID not in str(exc.value)
    assert "xinan report subject … …" in str(exc.value)
