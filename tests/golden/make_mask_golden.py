"""Write the mask golden files: inputs (synthetic, committed) and the outputs of a
row-at-a-time mask job (`reference_mask` below: the loop `mask_file` ran before the batch
engine replaced it, issue 13 — one row through `Validator.check` of tests/support/reference.py,
`View.apply_batch` per batch), so that the engine is held to an independent implementation of
the same rules.

The outputs were first taken at commit 2e69136; they were taken again after issue 11 changed
what free-text scrubbing writes (scrub by identifier shape, names as their columns show them).
tests/engine/test_engine_golden.py checks that the engine writes the same bytes. Rerun only to add a
fixture or after a rule change, never to "fix" a failing comparison:

    .venv/bin/python tests/golden/make_mask_golden.py [--inputs]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "mask"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import POLICY_FILE, TODAY, FixedPseudonymKey  # noqa: E402
from tests.support.reference import Rejected, Validator  # noqa: E402
from xinan.errors import Counts  # noqa: E402
from xinan.masking import MaskContext, View  # noqa: E402
from xinan.policy import load_policy  # noqa: E402
from xinan.provider.jobs import MaskSummary, match_header  # noqa: E402
from xinan.provider.synth import Synth  # noqa: E402
from xinan.records import BadRow, open_records, open_rejects, open_writer  # noqa: E402


def _reason_key(column, reason):
    head = reason.split(" — ", maxsplit=1)[0].split(" (", maxsplit=1)[0]
    return f"{column}: {head}" if column else head


def reference_mask(src, outputs, *, policy, ctx, rejects):
    """The row-at-a-time mask job (as xinan.provider.mask_file was before issue 13)."""
    with open_records(src) as reader:
        layout = match_header(policy, reader.header, kind=None, file=str(src))
        k = layout.kind
        validator = Validator(policy, k, today=ctx.today)
        views = {a: View(policy, k, a, ctx) for a in outputs}
        summary = MaskSummary(file=str(src), kind=k.name, encoding=reader.encoding)
        summary.per_audience = {a: Counts() for a in outputs}
        writers = {
            a: open_writer(p, views[a].columns, secret=a != "public") for a, p in outputs.items()
        }
        rej = open_rejects(rejects)
        batch, classes = [], []

        def flush():
            for a, view in views.items():
                for out in view.apply_batch(batch, classes):
                    if out is None:
                        summary.per_audience[a].withheld += 1
                    else:
                        writers[a].write(out)
                        summary.per_audience[a].written += 1
            batch.clear()
            classes.clear()

        for item in reader:
            summary.read += 1
            if isinstance(item, BadRow):
                rej.write(item)
                summary.rejected += 1
                summary.reasons[_reason_key(item.column, item.reason)] += 1
                continue
            try:
                for i, cat in layout.prohibited:
                    if item.values[i].strip():
                        raise Rejected(
                            reader.header[i],
                            f"prohibited:{cat.id} — {cat.label} must not be collected "
                            "(征信业管理条例 第十四条)",
                        )
                valid = validator.check(layout.to_kind_order(item.values))
            except Rejected as r:
                rej.reject(item.number, r.column, r.reason, item.values)
                summary.rejected += 1
                summary.reasons[_reason_key(r.column, r.reason)] += 1
                continue
            batch.append(valid.values)
            classes.append(valid.subject_class)
            if len(batch) >= 4096:
                flush()
        flush()
        for w in writers.values():
            w.close()
        rej.close()
        for a, c in summary.per_audience.items():
            c.read, c.rejected = summary.read, summary.rejected
            summary.scrubbed[a] = views[a].stats.scrubbed
            summary.guarded[a] = views[a].stats.guarded
    return summary


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
        summary = reference_mask(
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
