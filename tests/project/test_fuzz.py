"""The fuzz harnesses in CI (fuzz/README.md): every parser of untrusted bytes raises only
xinan's own errors on any input.

* every file of fuzz/corpus/ — the seeds and each crash ever found (``crash-*``, regression
  vectors) — is replayed through its target;
* each target runs a bounded, reproducible hypothesis search (seeds mutated byte-wise and with
  tokens that broke parsers before: lone surrogates, non-ASCII digits, deep nesting…);
* the policy loader is also fuzzed structurally (values of the shipped policy replaced by
  values of other types);
* where atheris installs, each target runs a short coverage-guided libFuzzer session.

Long runs: ``python -m fuzz.run TARGET -max_total_time=3600`` (fuzz/README.md).
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import targets, world

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted(
    (t, p) for t in targets.TARGETS for p in sorted((world.CORPUS / t).glob("*")) if p.is_file()
)


def test_every_target_has_seeds() -> None:
    for name in targets.TARGETS:
        assert any((world.CORPUS / name).glob("seed-*")), name


@pytest.mark.parametrize(("name", "path"), CORPUS, ids=[f"{t}/{p.name}" for t, p in CORPUS])
def test_corpus_replays(name: str, path: Path) -> None:
    targets.run(name, path.read_bytes())


# Tokens that broke (or could break) a parser: lone surrogates raw and escaped, digits that
# str.isdigit accepts and int() refuses, huge numbers, nesting, BOM, CESU-8, separators.
TOKENS = [
    b"\\ud800",
    b"\\udfff\\ud800",
    b"\\u0000",
    b"\\u0070",
    b"\xed\xa0\x80",
    b"\xff",
    b"\xef\xbb\xbf",
    "²".encode(),
    "١".encode(),
    "\u2014".encode(),
    "\u3000".encode(),
    b"99999999999999999999",
    b"9007199254740992",
    b"-0",
    b"1.5",
    b"1e999",
    b"NaN",
    b"null",
    b"[" * 64,
    b"{" * 64,
    b"\x00",
    b"\r",
    b"\n",
    b"\n\n",
    b" ",
    b'"',
    b"\\",
    b",",
    b"+",
    b"=",
    b"..",
]


@st.composite
def mutated(draw: st.DrawFn, name: str) -> bytes:
    seeds = sorted((world.CORPUS / name).glob("*"))
    data = bytearray(draw(st.sampled_from(seeds)).read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.integers(0, 5))
        at = draw(st.integers(0, len(data)))
        if op == 0 and data:  # flip a byte
            at = min(at, len(data) - 1)
            data[at] ^= draw(st.integers(1, 255))
        elif op == 1:  # insert a token
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif op == 2:  # replace a range by a token
            end = min(len(data), at + draw(st.integers(1, 16)))
            data[at:end] = draw(st.sampled_from(TOKENS))
        elif op == 3:  # cut
            del data[at : at + draw(st.integers(1, 64))]
        elif op == 4:  # duplicate a range
            data[at:at] = data[at : at + draw(st.integers(1, 64))]
        else:  # random bytes
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


# Examples per target: a few seconds each on the reference machine.
BUDGET = {"keyfile": 40, "policy": 25, "records_xlsx": 40, "certificate": 60, "sidecar": 60}


@pytest.mark.parametrize("name", sorted(targets.TARGETS))
def test_mutated_seeds(name: str) -> None:
    @settings(
        max_examples=BUDGET.get(name, 120),
        deadline=None,
        derandomize=True,  # CI explores the same inputs each run: no flaky failures
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(mutated(name))
    def check(data: bytes) -> None:
        targets.run(name, data)

    check()


# -- the policy, structurally -------------------------------------------------------------
def _toml(value: Any) -> str:
    """A TOML value (inline form); JSON's string escapes are TOML basic-string escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


POLICY = tomllib.loads(world.policy_text().decode("utf-8"))
POLICY_PATHS = _paths(POLICY)
OTHER_VALUES = [
    0,
    -1,
    10**30,
    1.5,
    True,
    "",
    "x",
    "public",
    "1",
    [],
    [1],
    ["x"],
    [{}],
    [[]],
    {},
    {"a": 1},
    {"a": "b"},
    dt.date(2020, 1, 1),
]


def _mutate_policy(doc: dict[str, Any], path: tuple[Any, ...], how: int, value: Any) -> str:
    d = copy.deepcopy(doc)
    parent = d
    for k in path[:-1]:
        parent = parent[k]
    if how == 0 and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(value)
    return "".join(f"{json.dumps(k)} = {_toml(v)}\n" for k, v in d.items())


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    st.lists(
        st.tuples(st.sampled_from(POLICY_PATHS), st.integers(0, 5), st.sampled_from(OTHER_VALUES)),
        min_size=1,
        max_size=3,
    )
)
def test_policy_with_values_of_other_types(edits: list[tuple[tuple[Any, ...], int, Any]]) -> None:
    doc = POLICY
    for path, how, value in edits:
        try:
            text = _mutate_policy(doc, path, how, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced the path
        doc = tomllib.loads(text)
    targets.run("policy", text.encode("utf-8"))


# -- atheris -------------------------------------------------------------------------------
HAS_ATHERIS = importlib.util.find_spec("atheris") is not None


@pytest.mark.skipif(not HAS_ATHERIS, reason="atheris does not install here")
def test_atheris_short_run(tmp_path: Path) -> None:
    """A short coverage-guided libFuzzer session over every target at once (one process,
    instrumented once; fixed seed and run count). A crash fails the test; its input is kept
    in $TMPDIR/xinan-fuzz-crashes/ for fuzz/corpus/TARGET/ (fuzz/README.md)."""
    keep = Path(tempfile.gettempdir()) / "xinan-fuzz-crashes"
    keep.mkdir(exist_ok=True)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "fuzz.run",
            "all",
            "-runs=3000",
            "-seed=1",
            f"-artifact_prefix={keep}/",
            "-max_len=65536",
            str(tmp_path / "work"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        check=False,
    )
    found = [line for line in res.stderr.splitlines() if "Test unit written to" in line]
    assert res.returncode == 0 and not found, (found, res.stderr[-3000:])


def test_the_fuzzer_instruments_every_module_a_target_calls() -> None:
    """fuzz/run.py instruments only PARSERS: every xinan module fuzz/targets.py imports must
    be one of them (or inside one), or libFuzzer would run that parser without coverage."""
    import ast

    from fuzz.run import PARSERS, _not_parsers

    tree = ast.parse((ROOT / "fuzz" / "targets.py").read_text(encoding="utf-8"))
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "xinan":
            used.update(f"xinan.{a.name}" for a in node.names)  # from xinan import keys
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xinan."):
            used.add(str(node.module))
        elif isinstance(node, ast.Import):
            used.update(a.name for a in node.names if a.name.startswith("xinan"))
    assert len(used) > 10
    excluded = set(_not_parsers())
    for module in used - {"xinan.errors"}:  # the error classes: nothing to parse
        assert module not in excluded, f"{module} is called by a fuzz target but not instrumented"
        assert any(module == p or module.startswith(p + ".") for p in PARSERS), module
    assert "xinan.platform.vault" in excluded and "xinan.formats.package.read" not in excluded
