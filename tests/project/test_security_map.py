"""SECURITY.md's map of the 30 controls stays true: thirty rows, a status each, the count line
agrees, and every test and every code path a row names exists (issue 12 item 10)."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATUSES = ("met", "partly met", "not met")


def _rows() -> dict[int, list[str]]:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    section = text.split("## The 30 controls an assessor checks", 1)[1].split("\n## ", 1)[0]
    rows: dict[int, list[str]] = {}
    for line in section.splitlines():
        m = re.match(r"\| (\d+) \|", line)
        if m:
            rows[int(m[1])] = [c.strip() for c in line.strip().strip("|").split(" | ")]
    return rows


@cache
def _tests_in(path: str) -> frozenset[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return frozenset(n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))


def test_thirty_rows_each_with_a_status_and_the_count_agrees() -> None:
    rows = _rows()
    assert sorted(rows) == list(range(1, 31))
    for n, cells in rows.items():
        assert len(cells) == 7, (n, cells)
        assert cells[2] in STATUSES, (n, cells[2])
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    m = re.search(r"\*\*Count: (\d+) met, (\d+) partly met, (\d+) not met\.\*\*", text)
    assert m is not None
    counts = [sum(1 for c in rows.values() if c[2] == s) for s in STATUSES]
    assert [int(x) for x in m.groups()] == counts


def test_every_named_test_and_path_exists() -> None:
    for n, cells in _rows().items():
        code, tests = cells[4], cells[5]
        refs = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", tests)
        assert refs, f"row {n} names no test"
        for path, name in refs:
            assert (ROOT / path).is_file(), (n, path)
            if name:
                assert name in _tests_in(path), (n, path, name)
        for path in re.findall(r"`((?:xinan|policies|docs|fuzz)/[\w/.\-]*)", code):
            assert (ROOT / path.rstrip("/")).exists(), (n, path)


def test_the_checker_can_fail() -> None:
    assert "test_no_such_test" not in _tests_in("tests/project/test_security_map.py")
