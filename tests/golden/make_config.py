"""Write the working-directory config golden files (docs/config.md, xinan-config/1): a
querent's ``xinan.toml`` rendered by ``render_config`` (deterministic, so the test also checks
that the writer reproduces it byte for byte) and committed mutations. Rerun only after a
deliberate format change:

    .venv/bin/python tests/golden/make_config.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "config"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from xinan.config import Config, render_config  # noqa: E402


def config(directory: Path) -> Config:
    return Config(
        path=directory / "xinan.toml",
        party="querent",
        keyring=directory / "keys",
        audit_log=directory / "audit" / "audit.log",
        identity="bank-golden",
        tokens=directory / "tokens",
    )


def mutations(good: str) -> dict[str, bytes]:
    return {
        "wrong_version.toml": good.replace("xinan-config/1", "xinan-config/2").encode(),
        "no_version.toml": "".join(
            x for x in good.splitlines(keepends=True) if not x.startswith("format")
        ).encode(),
        "unknown_key.toml": (good + 'vault_password = "x"\n').encode(),
        "missing_identity.toml": "".join(
            x for x in good.splitlines(keepends=True) if not x.startswith("identity")
        ).encode(),
        "unknown_party.toml": good.replace('"querent"', '"regulator"').encode(),
        "not_a_string.toml": good.replace('identity = "bank-golden"', "identity = 7").encode(),
        "bad_identity.toml": good.replace('"bank-golden"', '"../bank"').encode(),
        "truncated.toml": good.encode()[: good.encode().index(b"keyring") + 12],
        "not_utf8.toml": good.encode().replace(b"bank-golden", b"bank-\xffgolden"),
        "duplicate_key.toml": (good + 'party = "querent"\n').encode(),
    }


def main() -> None:
    good = render_config(config(HERE))
    (HERE / "bad").mkdir(parents=True, exist_ok=True)
    (HERE / "xinan.toml").write_text(good, encoding="utf-8")
    for name, data in mutations(good).items():
        (HERE / "bad" / name).write_bytes(data)


if __name__ == "__main__":
    main()
