"""The batch engine's mask job writes the bytes the row-at-a-time job wrote (golden files from
commit 2e69136, tests/golden/make_mask_golden.py), with one worker and with two."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import TODAY, FixedPseudonymKey
from xinan.engine.jobs import mask_file
from xinan.masking import MaskContext

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "mask"
AUDIENCES = ("public", "gov_share", "querent", "internal", "submission")
FIXTURES = sorted(p.name for p in (GOLDEN / "in").iterdir())


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("name", FIXTURES)
def test_mask_matches_golden(policy, tmp_path, name, workers):
    stem = name.replace(".", "_")
    expected = GOLDEN / "out" / stem
    ctx = MaskContext(today=TODAY, default_pseudonymizer=FixedPseudonymKey())
    summary = mask_file(
        GOLDEN / "in" / name,
        {a: tmp_path / f"{a}.csv" for a in AUDIENCES},
        policy=policy,
        ctx=ctx,
        rejects=tmp_path / "rejects.csv",
        workers=workers,
        batch_rows=64,  # many batches, so that order across batches and workers is exercised
    )
    for a in AUDIENCES:
        assert (tmp_path / f"{a}.csv").read_bytes() == (expected / f"{a}.csv").read_bytes(), a
    assert (tmp_path / "rejects.csv").read_bytes() == (expected / "rejects.csv").read_bytes()
    data = summary.to_json()
    data["file"] = name
    data["outputs"] = None
    data["rejects_file"] = None
    for a in data["audiences"].values():
        a["output"] = None
    assert data == json.loads((expected / "summary.json").read_text(encoding="utf-8"))
    assert summary.balanced()
