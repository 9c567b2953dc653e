"""docs/api.md is a program: its Python blocks run in order, in a fresh directory, on synthetic
data — so the library's documented calls can never drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_api_doc_runs_end_to_end(tmp_path, monkeypatch, fast_kdf):
    monkeypatch.chdir(tmp_path)
    for var in (
        "XINAN_IDENTITY",
        "XINAN_AUDIT_LOG",
        "XINAN_VAULT",
        "XINAN_KEYRING",
        "XINAN_TOKEN",
        "XINAN_TOKEN_DIR",
    ):
        monkeypatch.delenv(var, raising=False)
    code = blocks()
    assert len(code) >= 5
    namespace: dict[str, object] = {"__name__": "api_doc"}
    for i, block in enumerate(code):
        exec(compile(block, f"docs/api.md block {i + 1}", "exec"), namespace)
    assert (tmp_path / "opened.csv").exists()
    assert not (tmp_path / "wider.grant").exists()
    log = (tmp_path / "plat" / "audit" / "audit.log").read_text(encoding="utf-8")
    assert '"outcome":"denied"' in log
