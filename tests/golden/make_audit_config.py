"""Write the audit log configuration golden files (docs/audit-log.md, xinan-audit/1 config
``<log>.config``): the config of the golden audit log (tests/golden/audit_log), written by
``AuditConfig.to_bytes`` (deterministic: the test checks the writer byte for byte), and
committed mutations. Rerun only after a deliberate format change:

    .venv/bin/python tests/golden/make_audit_config.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "audit_config"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from xinan.access import AuditConfig  # noqa: E402

CONFIG = AuditConfig(
    origin="example.gov.cn/xinan-audit/golden-log",
    hash="sha256",
    log_key="platform",
    log_key_id="xk1rh5ke7zhpbmbacwt2j62wkzn",  # the golden platform key (tests/golden/grant)
)


def _enc(doc: dict[str, object]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


def mutations(good: bytes) -> dict[str, bytes]:
    doc = json.loads(good)
    assert _enc(doc) == good, "the config encoding is not what this generator assumes"
    return {
        "wrong_version.log.config": _enc(dict(doc, format="xinan-audit-config/9")),
        "no_version.log.config": _enc({k: v for k, v in doc.items() if k != "format"}),
        "member_dropped.log.config": _enc({k: v for k, v in doc.items() if k != "log_key_id"}),
        "not_a_string.log.config": _enc(dict(doc, log_key=7)),
        "truncated.log.config": good[: len(good) // 2],
        "duplicate_member.log.config": good.replace(b'  "hash"', b'  "hash": "sm3",\n  "hash"', 1),
        # refused by the spec's strict-parse rule, accepted today (reported; the test marks
        # them xfail(strict) so that a fix is noticed)
        "member_added.log.config": _enc(dict(doc, note="x")),
        "unknown_hash.log.config": _enc(dict(doc, hash="md5")),
    }


def main() -> None:
    good = CONFIG.to_bytes()
    (HERE / "bad").mkdir(parents=True, exist_ok=True)
    (HERE / "audit.log.config").write_bytes(good)
    for name, data in mutations(good).items():
        (HERE / "bad" / name).write_bytes(data)


if __name__ == "__main__":
    main()
