"""The library's own messages, found in its source (docs/i18n.md §3): what ``xgettext`` does
for C, done with :mod:`ast` for xinan's error calls.

Every call of a :mod:`xinan.errors` class in ``xinan/`` — ``SomeError(message, hint=...)`` —
gives the catalogue its message and its hint as *templates*: the literal text kept, each
``{expression}`` of an f-string (or any other expression joined with ``+``) turned into a
named field (``{package_id}``, ``{path}``…). Both branches of ``a if c else b`` count. A
message that is a variable alone (``raise InputError(message)``) has no text of its own here:
it is listed where it is written, if anywhere. Used by ``scripts/i18n.py`` (extract, missing)
and by the test that fails when one of these lacks a translation (tests/i18n/).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent

# Expressions whose value is itself a message (an exception, a reason): named so that the
# renderer translates the value in turn (xinan.i18n._NESTED).
_NESTED_NAMES = {"e", "exc", "err", "error", "msg", "message", "problem", "detail"}


def _error_classes() -> frozenset[str]:
    from xinan import errors

    return frozenset(
        n
        for n, v in vars(errors).items()
        if isinstance(v, type)
        and issubclass(v, Exception)
        and v.__module__.startswith(errors.__name__)  # xinan/errors/ and its modules
    )


def _called(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _field_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        name = node.id
    elif isinstance(node, ast.Attribute):
        name = node.attr
    else:
        return "value"
    name = re.sub(r"[^a-z0-9_]", "_", name.lower()).lstrip("_") or "value"
    if name in _NESTED_NAMES:
        return "message"
    return name if not name[0].isdigit() else "v" + name


class _Template:
    """One message being built: its text with ``{name}`` fields, names kept unique."""

    def __init__(self) -> None:
        self.text = ""
        self.names: list[str] = []

    def literal(self, s: str) -> None:
        self.text += s

    def field(self, node: ast.expr) -> None:
        base = _field_name(node)
        name = base
        if base == "message" and "message" in self.names:
            name = "why" if "why" not in self.names else "extra"
        n = 2
        while name in self.names:
            name = f"{base}_{n}"
            n += 1
        self.names.append(name)
        self.text += "{" + name + "}"


def _templates(node: ast.expr) -> list[_Template]:
    """Every message ``node`` can be, as templates (a conditional gives both branches)."""
    if isinstance(node, ast.IfExp):
        return _templates(node.body) + _templates(node.orelse)
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):  # `hint or "default"`
        return [t for v in node.values for t in _templates(v)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        out = []
        for left in _templates(node.left):
            for right in _templates(node.right):
                t = _Template()
                t.literal(left.text)
                t.names = list(left.names)
                # re-add the right side's fields under names unique in the whole message
                pos = 0
                for m in re.finditer(r"\{([a-z_][a-z0-9_]*)\}", right.text):
                    t.literal(right.text[pos : m.start()])
                    t.field(ast.Name(id=m.group(1)))
                    pos = m.end()
                t.literal(right.text[pos:])
                out.append(t)
        return out
    t = _Template()
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        t.literal(node.value)
    elif isinstance(node, ast.JoinedStr):
        for part in node.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                t.literal(part.value)
            elif isinstance(part, ast.FormattedValue):
                t.field(part.value)
    else:
        t.field(node)
    return [t]


def _worth(text: str) -> bool:
    """A template with words of its own (not a field alone, not punctuation)."""
    fixed = re.sub(r"\{[a-z_][a-z0-9_]*\}", "", text)
    return any(c.isalpha() for c in fixed)


def _constants(tree: ast.Module) -> dict[str, ast.expr]:
    """The module's top-level ``NAME = "text"`` constants (a hint kept in a constant)."""
    out: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            text = node.value
            if isinstance(text, ast.Constant | ast.JoinedStr | ast.BinOp):
                for t in targets:
                    if isinstance(t, ast.Name):
                        out[t.id] = text
    return out


def library_messages(root: Path = PACKAGE) -> Iterator[tuple[str, str]]:
    """(template, "file:line") for every message and hint of an error raised in ``root``
    (a module-level constant named as the message or the hint counts as its text)."""
    classes = _error_classes()
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        where = path.relative_to(root.parent).as_posix()
        consts = _constants(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _called(node)
            # an error class's own default text: `super().__init__(...)` in xinan/errors/
            own = name == "__init__" and (root / "errors") in path.parents
            if name not in classes and not own:
                continue
            exprs = list(node.args[:1]) + [k.value for k in node.keywords if k.arg == "hint"]
            exprs = [consts.get(e.id, e) if isinstance(e, ast.Name) else e for e in exprs]
            for expr in exprs:
                for t in _templates(expr):
                    if _worth(t.text):
                        yield t.text, f"{where}:{node.lineno}"


_SAYING = {"emit", "echo", "say", "step", "append", "secho", "note", "warn"}
# Lines that are commands, file contents or the renderer's own frame, not sentences.
_NOT_SAID = ("xinan ", "xinan:", "#", "export ", "{expr} AS")


def _said(node: ast.Call) -> list[ast.expr]:
    """The text arguments of a call that prints to people (``emit(as_json, data, TEXT)``,
    ``click.echo(TEXT)``, ``lines.append(TEXT)``, ``say(TEXT)``)."""
    name = _called(node)
    if name not in _SAYING:
        return []
    if name == "emit":
        return list(node.args[2:3])
    return list(node.args[:1])


def said_messages(root: Path = PACKAGE) -> Iterator[tuple[str, str]]:
    """(template, "file:line") for every summary line the command line and the demo print:
    the text of ``emit``, ``echo``, ``say`` and of the lines a command's ``text()`` joins,
    one template per line (the renderer translates a text line by line)."""
    files = [*sorted((root / "cli").glob("*.py")), root / "demo.py"]
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        where = path.relative_to(root.parent).as_posix()
        exprs: list[tuple[ast.expr, int]] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                exprs += [(e, node.lineno) for e in _said(node)]
            elif isinstance(node, ast.Assign | ast.AugAssign) and isinstance(node.value, ast.List):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == "lines" for t in targets):
                    exprs += [(e, node.lineno) for e in node.value.elts]
            elif isinstance(node, ast.ListComp) and isinstance(node.elt, ast.JoinedStr):
                exprs.append((node.elt, node.lineno))
        for expr, line in exprs:
            if not isinstance(expr, ast.JoinedStr | ast.Constant | ast.BinOp | ast.IfExp):
                continue
            for t in _templates(expr):
                for part in t.text.split("\n"):
                    body = part.strip(" ")
                    if _worth(body) and not body.startswith(_NOT_SAID):
                        yield body, f"{where}:{line}"
