"""Write the mask golden files: inputs (synthetic, committed) and the outputs of `mask_file`.

The outputs in tests/golden/mask/ were taken from the row-at-a-time mask job (commit 2e69136)
before the batch engine replaced it (issue 13); tests/test_engine_golden.py checks that the
engine writes the same bytes. Rerun only to add a fixture, never to "fix" a failing comparison:

    .venv/bin/python tests/golden/make_mask_golden.py [--inputs]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "mask"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from xinan.synth import Synth  # noqa: E402

from tests.conftest import POLICY_FILE, TODAY, FixedPseudonymKey  # noqa: E402
from xinan.masking import MaskContext  # noqa: E402
from xinan.policy import load_policy  # noqa: E402
from xinan.provider import mask_file  # noqa: E402
from xinan.records import open_writer  # noqa: E402

AUDIENCES = ("public", "gov_share", "querent", "internal", "submission")
# (file name, kind, rows, bad rate, encoding, seed)
FIXTURES = [
    ("penalty-utf8.csv", "penalty", 400, 0.05, "utf-8", 11),
    ("penalty-gb18030.csv", "penalty", 300, 0.05, "gb18030", 12),
    ("license-bom.csv", "license", 300, 0.05, "utf-8-sig", 13),
    ("person.csv", "person", 300, 0.05, "utf-8", 14),
    ("company.csv", "company", 300, 0.05, "utf-8", 15),
]
# Hand-made inputs (committed as they are): edge cases the synthetic data does not reach.
HANDMADE = ["penalty-edge.csv", "penalty-edge.jsonl"]


def write_inputs() -> None:
    policy = load_policy(POLICY_FILE)
    for name, kind, n, bad, encoding, seed in FIXTURES:
        synth = Synth(policy, seed=seed, today=TODAY)
        k = policy.kind(kind)
        with open_writer(HERE / "in" / name, k.columns, encoding=encoding) as w:
            for values, _why in synth.rows(k, n, bad_rate=bad):
                w.write(values)


def write_outputs() -> None:
    policy = load_policy(POLICY_FILE)
    names = [f[0] for f in FIXTURES] + HANDMADE
    for name in names:
        src = HERE / "in" / name
        if not src.exists():
            continue
        stem = name.replace(".", "_")
        out = HERE / "out" / stem
        out.mkdir(parents=True, exist_ok=True)
        ctx = MaskContext(today=TODAY, default_pseudonymizer=FixedPseudonymKey())
        summary = mask_file(
            src,
            {a: out / f"{a}.csv" for a in AUDIENCES},
            policy=policy,
            ctx=ctx,
            rejects=out / "rejects.csv",
        )
        import json

        data = summary.to_json()
        data["file"] = name
        data["outputs"] = None
        data["rejects_file"] = None
        for a in data["audiences"].values():
            a["output"] = None
        (out / "summary.json").write_text(
            json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
        print(name, summary.read, summary.rejected)


if __name__ == "__main__":
    (HERE / "in").mkdir(parents=True, exist_ok=True)
    if "--inputs" in sys.argv:
        write_inputs()
    write_outputs()
