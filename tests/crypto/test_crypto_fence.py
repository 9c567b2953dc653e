"""The crypto fence (docs/crypto.md, "Layers"), read from the syntax tree of every module.

* Only ``xinan/crypto/hazmat/`` imports cryptography, gmalg, hashlib or hmac.
* Only ``xinan/crypto/`` imports ``xinan.crypto.hazmat``.
* No module passes ``compliance_mode="any"``: the one way round the compliance check is
  :func:`xinan.crypto.get_suite_unchecked`, and every call of it carries a comment saying why.

Each checker is also run on a planted violation, so that a checker that finds nothing fails.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "xinan"
PRIMITIVES = frozenset({"cryptography", "gmalg", "hashlib", "hmac"})
HAZMAT = "xinan.crypto.hazmat"


def _modules() -> list[tuple[str, ast.Module, list[str]]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT).as_posix()
        out.append((rel, ast.parse(text, filename=rel), text.splitlines()))
    assert len(out) > 40, "the walk found too few modules to mean anything"
    return out


def imported_modules(tree: ast.Module) -> list[tuple[int, str]]:
    """Every module a tree imports: import statements (at any depth, also inside functions)
    and ``importlib.import_module("…")`` / ``__import__("…")`` with a constant name."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{a.name}") for a in node.names)
        elif isinstance(node, ast.Call) and node.args:
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            arg = node.args[0]
            if name in ("import_module", "__import__") and isinstance(arg, ast.Constant):
                found.append((node.lineno, str(arg.value)))
    return found


def primitive_imports(rel: str, tree: ast.Module) -> list[str]:
    if rel.startswith("xinan/crypto/hazmat/"):
        return []
    return [
        f"{rel}:{line}: imports {mod}"
        for line, mod in imported_modules(tree)
        if mod.split(".")[0] in PRIMITIVES
    ]


def hazmat_imports(rel: str, tree: ast.Module) -> list[str]:
    if rel.startswith("xinan/crypto/"):
        return []
    return [
        f"{rel}:{line}: imports {mod}"
        for line, mod in imported_modules(tree)
        if mod == HAZMAT or mod.startswith(HAZMAT + ".")
    ]


def compliance_bypasses(rel: str, tree: ast.Module, lines: list[str]) -> list[str]:
    problems: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            v = kw.value
            literal_any = isinstance(v, ast.Constant) and v.value == "any"
            enum_any = isinstance(v, ast.Attribute) and v.attr == "ANY"
            if kw.arg == "compliance_mode" and (literal_any or enum_any):
                problems.append(f"{rel}:{node.lineno}: compliance_mode=any skips the check")
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        if name == "get_suite_unchecked" and rel != "xinan/crypto/suites.py":
            above = lines[max(0, node.lineno - 4) : node.lineno]
            if not any("#" in x for x in above):
                problems.append(f"{rel}:{node.lineno}: get_suite_unchecked without a why comment")
    return problems


MODULES = _modules()


def test_only_hazmat_imports_primitives() -> None:
    problems = [p for rel, tree, _ in MODULES for p in primitive_imports(rel, tree)]
    assert problems == []


def test_hazmat_is_imported_only_by_the_crypto_package() -> None:
    problems = [p for rel, tree, _ in MODULES for p in hazmat_imports(rel, tree)]
    assert problems == []


def test_no_unnamed_compliance_bypass() -> None:
    problems = [p for rel, tree, lines in MODULES for p in compliance_bypasses(rel, tree, lines)]
    assert problems == []


def test_the_hazmat_layer_does_import_the_primitives() -> None:
    """The fence is where the imports are: hazmat holds every one of the four libraries."""
    seen = {
        mod.split(".")[0]
        for rel, tree, _ in MODULES
        if rel.startswith("xinan/crypto/hazmat/")
        for _, mod in imported_modules(tree)
    }
    assert seen >= PRIMITIVES


PLANTED = """
import hmac
from cryptography.hazmat.primitives import hashes
from xinan.crypto.hazmat import primitives
def f():
    import hashlib
    importlib.import_module("gmalg")
    get_suite("intl", compliance_mode="any")
    get_suite("intl", compliance_mode=Compliance.ANY)
    get_suite_unchecked("gm")
"""


@pytest.mark.parametrize("rel", ["xinan/audit/planted.py", "xinan/platform/planted.py"])
def test_the_checkers_find_planted_violations(rel: str) -> None:
    tree = ast.parse(PLANTED)
    prims = primitive_imports(rel, tree)
    assert {p.split("imports ")[1].split(".")[0] for p in prims} == PRIMITIVES
    assert len(hazmat_imports(rel, tree)) == 2  # the module and its name
    bypasses = compliance_bypasses(rel, tree, PLANTED.splitlines())
    assert len(bypasses) == 3
    # inside the fence the same imports are allowed
    assert primitive_imports("xinan/crypto/hazmat/x.py", tree) == []
    assert hazmat_imports("xinan/crypto/recipes.py", tree) == []
