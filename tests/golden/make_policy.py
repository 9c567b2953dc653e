"""Write the policy golden files (docs/policy.md, xinan-policy/2): a frozen copy of the
shipped default policy (policies/credit-default.toml as of this commit) and committed
mutations. A policy is written by people, not by xinan, so these goldens are reader-side: the
test checks that today's reader loads the frozen copy with the pinned values and refuses each
mutation with PolicyError. Rerun only after a deliberate format change (and review the
pinned values in expected.json):

    .venv/bin/python tests/golden/make_policy.py
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "policy"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from xinan.policy import load_policy  # noqa: E402


def mutations(good: str) -> dict[str, bytes]:
    return {
        "wrong_version.toml": good.replace('"xinan-policy/2"', '"xinan-policy/3"', 1).encode(),
        "unknown_key.toml": good.replace(
            'jurisdiction = "370400"', 'jurisdiction = "370400"\nsecret_mode = true', 1
        ).encode(),
        "unknown_audience.toml": good.replace(
            '"submission"]', '"submission", "press"]', 1
        ).encode(),
        "truncated.toml": good.encode()[: len(good.encode()) // 2],
        "not_utf8.toml": good.encode().replace(b"credit-default", b"credit-\xffdefault", 1),
        "duplicate_key.toml": good.replace(
            'id = "credit-default"', 'id = "credit-default"\nid = "other"', 1
        ).encode(),
        "no_audiences.toml": "".join(
            x for x in good.splitlines(keepends=True) if not x.startswith("audiences")
        ).encode(),
    }


def main() -> None:
    good = (ROOT / "policies" / "credit-default.toml").read_text(encoding="utf-8")
    (HERE / "bad").mkdir(parents=True, exist_ok=True)
    (HERE / "credit-default.toml").write_text(good, encoding="utf-8")
    for name, data in mutations(good).items():
        (HERE / "bad" / name).write_bytes(data)
    p = load_policy(HERE / "credit-default.toml")
    expected = {
        "id": p.id,
        "version": p.version,
        "jurisdiction": p.jurisdiction,
        "audiences": list(p.audiences),
        "kinds": sorted(p.kinds),
        "sha256": hashlib.sha256(good.encode()).hexdigest(),
    }
    (HERE / "expected.json").write_text(
        json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
