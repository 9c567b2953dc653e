"""The zh-CN message catalogue's tooling (docs/i18n.md), with Babel.

    python scripts/i18n.py extract   # xinan/i18n/locale/xinan.pot from the CLI and messages.py
    python scripts/i18n.py update    # merge the .pot into zh_CN/LC_MESSAGES/xinan.po
    python scripts/i18n.py compile   # the .po to the .mo beside it (committed; a test checks)
    python scripts/i18n.py missing   # messages with no translation yet (all of them: help,
                                     # messages.py, reasons, library errors, CLI summaries)

The msgids are the English texts as the code has them: every help text of the command line
(whole, and paragraph by paragraph, and the lines of ``\\b`` blocks that are not commands),
every option's help, and the templates of xinan/i18n/messages.py (errors, hints, summaries,
reject reasons, with ``{field}`` placeholders), and what xinan/i18n/sources.py finds in the
source: every error message and hint the library raises, every summary line the CLI prints.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "xinan" / "i18n" / "locale"
POT = LOCALE / "xinan.pot"
PO = LOCALE / "zh_CN" / "LC_MESSAGES" / "xinan.po"
MO = PO.with_suffix(".mo")


def help_paragraphs(text: str) -> Iterator[str]:
    """A help text's units of translation: its paragraphs; in a ``\\b`` block, its lines
    that are prose (not commands, not blank)."""
    for para in inspect.cleandoc(text).partition("\f")[0].split("\n\n"):
        if para.startswith("\b"):
            for line in para[1:].strip("\n").splitlines():
                s = line.strip()
                command = s.startswith(("-", "$", "#")) or "xinan " in s or s.endswith("\\")
                if s and not command:
                    yield s
        elif para.strip():
            yield para


def cli_messages() -> Iterator[tuple[str, str]]:
    """(msgid, where) for every text of ``xinan --help`` and its commands' help."""
    sys.path.insert(0, str(ROOT))
    from xinan.cli import app

    def walk(cmd: click.Command, path: str) -> Iterator[tuple[str, str]]:
        if cmd.help:
            for p in help_paragraphs(cmd.help):
                yield p, path
        if cmd.short_help:
            yield cmd.short_help, path
        for param in cmd.params:
            h = getattr(param, "help", None)
            if h and not getattr(param, "hidden", False):
                yield h, f"{path} {param.opts[0] if param.opts else param.name}"
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from walk(sub, f"{path} {name}")

    yield from walk(app, "xinan")


def extract() -> Catalog:
    sys.path.insert(0, str(ROOT))
    from xinan.i18n.messages import MESSAGES

    cat = Catalog(project="xinan", domain="xinan", fuzzy=False)
    for msgid, where in cli_messages():
        m = cat.get(msgid)
        if m is None:
            cat.add(msgid, auto_comments=[where])
    for msgid, note in MESSAGES:
        if cat.get(msgid) is None:
            cat.add(msgid, auto_comments=[note] if note else [])
    from xinan.i18n.reasons import REASONS

    for code, msgid in REASONS:
        if cat.get(msgid) is None:
            cat.add(msgid, auto_comments=[f"a reject reason (code {code})"])
    for msgid, where in all_source_messages():
        if cat.get(msgid) is None:
            cat.add(msgid, auto_comments=[where])
    return cat


def all_source_messages() -> Iterator[tuple[str, str]]:
    """The library's error messages and hints, and the summaries the CLI and the demo print,
    found in the source (xinan/i18n/sources.py)."""
    sys.path.insert(0, str(ROOT))
    from xinan.i18n.sources import library_messages, said_messages

    yield from library_messages()
    yield from said_messages()


def all_messages() -> Iterator[tuple[str, str]]:
    """Every msgid the catalogue must translate, with where it comes from."""
    sys.path.insert(0, str(ROOT))
    from xinan.i18n.messages import MESSAGES
    from xinan.i18n.reasons import REASONS

    yield from cli_messages()
    yield from ((m, note or "messages.py") for m, note in MESSAGES)
    yield from ((m, f"reason {code}") for code, m in REASONS)
    yield from all_source_messages()


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "missing"
    if cmd == "extract":
        with POT.open("wb") as f:
            write_po(f, extract(), width=100, omit_header=False, sort_output=False)
        return 0
    if cmd == "update":
        template = extract()
        with PO.open("rb") as f:
            po = read_po(f, locale="zh_CN", domain="xinan")
        po.update(template, no_fuzzy_matching=True)
        with PO.open("wb") as f:
            write_po(f, po, width=100, ignore_obsolete=True)
        return 0
    if cmd == "compile":
        with PO.open("rb") as f:
            po = read_po(f, locale="zh_CN", domain="xinan")
        with MO.open("wb") as f:
            write_mo(f, po, use_fuzzy=False)
        return 0
    if cmd == "missing":
        with PO.open("rb") as f:
            po = read_po(f, locale="zh_CN", domain="xinan")
        n = 0
        seen: set[str] = set()
        for msgid, where in all_messages():
            m = po.get(msgid)
            if (m is None or not m.string) and msgid not in seen:
                seen.add(msgid)
                n += 1
                print(f"{where}: {msgid!r}")
        print(f"{n} untranslated", file=sys.stderr)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
