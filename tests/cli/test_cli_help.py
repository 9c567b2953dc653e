"""Help (issue 15, item 9): every leaf command's --help ends with examples that name real
commands and options and the README's key ids; every leaf command takes --json."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from xinan.cli import app
from xinan.party_setup import default_keys

ROOT = Path(__file__).resolve().parents[2]


def leaves(cmd: click.Command = app, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            yield from leaves(sub, (*path, name))
    else:
        yield path


def command(path: tuple[str, ...]) -> click.Command:
    cmd: click.Command = app
    for name in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[name]
    return cmd


def readme_ids() -> set[str]:
    """Key ids the README's `xinan init` lines make (with the defaults init derives)."""
    ids: set[str] = set()
    text = (ROOT / "README.md").read_text("utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        if line.startswith("xinan init "):
            words = shlex.split(line, comments=True)
            opts = dict(zip(words[4::2], words[5::2], strict=False))
            keys = default_keys(words[2], opts.get("--id"), opts.get("--admin"),
                                opts.get("--pseudonym-key"))  # fmt: skip
            ids.update(k for k, _ in keys.roles())
    return ids


def examples(cmd: click.Command) -> list[list[str]]:
    help_text = cmd.help or ""
    assert "Examples:" in help_text
    block = help_text.split("Examples:", 1)[1].replace("\\\n", " ")
    out = []
    for line in block.splitlines():
        line = line.strip()
        m = re.search(r"(?:^|\$\(|=… )(xinan .*?)(?:\)|$)", line)
        if m:
            text = re.split(r" [|<>] ", m.group(1))[0]
            out.append(shlex.split(text, comments=True))
    return out


def resolve(words: list[str]) -> tuple[tuple[str, ...], int]:
    """The command path an example names, and where its own arguments start."""
    cmd: click.Command = app
    path: list[str] = []
    i = 1
    while i < len(words) and words[i].startswith("-"):
        i += 2  # global options take a value
    while isinstance(cmd, click.Group) and i < len(words) and words[i] in cmd.commands:
        cmd = cmd.commands[words[i]]
        path.append(words[i])
        i += 1
    return tuple(path), i


GLOBAL_WITH_VALUE = {"--as", "--keyring", "--audit-log", "--config", "--passin"}
LEAVES = list(leaves())


def test_the_tree_is_walked() -> None:
    assert len(LEAVES) > 60 and ("init",) in LEAVES and ("grant", "show") in LEAVES


@pytest.mark.parametrize("path", LEAVES, ids=[" ".join(p) for p in LEAVES])
def test_every_leaf_has_examples_that_parse_with_readme_ids(path: tuple[str, ...]) -> None:
    cmd = command(path)
    exs = examples(cmd)
    assert exs, f"xinan {' '.join(path)} --help has no example"
    ids = readme_ids()
    assert any(resolve(w)[0] == path for w in exs), f"no example of xinan {' '.join(path)}"
    for words in exs:
        assert words[0] == "xinan"
        for j in range(1, len(words) - 1):
            if not words[j].startswith("-"):
                break
            if j % 2 == 1:
                assert words[j] in GLOBAL_WITH_VALUE, f"{words}: unknown global {words[j]}"
            if words[j] == "--as":
                assert words[j + 1] in ids, f"{words}: --as {words[j + 1]} is not a README id"
        named, i = resolve(words)
        target = command(named)
        assert not isinstance(target, click.Group), f"{words} names no command"
        opts = {o for p in target.params for o in (*getattr(p, "opts", ()), *p.secondary_opts)}
        opts |= {"-h", "--help"}
        for w in words[i:]:
            if w.startswith("-") and len(w) > 1 and not re.fullmatch(r"-\d.*", w):
                assert w.split("=")[0] in opts, f"{words}: {w} is not an option of {named}"
        recipients = ("--querent", "--platform") + (
            ("--to",) if named[-1] in ("seal", "run") else ()
        )
        for flag in recipients:
            if flag in words:
                assert words[words.index(flag) + 1] in ids, f"{words}: {flag} not a README id"


@pytest.mark.parametrize("path", LEAVES, ids=[" ".join(p) for p in LEAVES])
def test_every_leaf_takes_json(path: tuple[str, ...]) -> None:
    opts = {o for p in command(path).params for o in getattr(p, "opts", ())}
    assert "--json" in opts, f"xinan {' '.join(path)} has no --json"
