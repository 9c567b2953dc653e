"""Chinese first (issue 15 item 5): every message xinan shows a person has a zh translation —
the help texts, the templates of messages.py, the reject reasons, and what
xinan/i18n/sources.py finds in the code: every error message and hint the library raises, every
summary line the command line and the demo print. A message added without its translation
fails here (fix: `python scripts/i18n.py update`, translate, `compile`; docs/i18n.md §3)."""

from __future__ import annotations

import inspect
import json
import re

import click
from babel.messages.pofile import read_po
from click.testing import CliRunner

from xinan.cli import app
from xinan.i18n import LOCALE_DIR, translate, using_language
from xinan.i18n.messages import MESSAGES
from xinan.i18n.reasons import REASONS
from xinan.i18n.sources import library_messages, said_messages

PO = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "xinan.po"
ZH = {"LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": "zh_CN.UTF-8"}


def _translated() -> set[str]:
    with PO.open("rb") as f:
        cat = read_po(f, locale="zh_CN", domain="xinan")
    return {m.id for m in cat if m.id and m.string and not m.fuzzy}


def _help_texts() -> set[str]:
    out: set[str] = set()

    def walk(cmd: click.Command) -> None:
        if cmd.help:
            for para in inspect.cleandoc(cmd.help).partition("\f")[0].split("\n\n"):
                if not para.startswith("\b") and para.strip():
                    out.add(para)
        for p in cmd.params:
            h = getattr(p, "help", None)
            if h and not getattr(p, "hidden", False):
                out.add(h)
        if isinstance(cmd, click.Group):
            for sub in cmd.commands.values():
                walk(sub)

    walk(app)
    return out


def test_the_extractor_finds_the_librarys_errors_and_the_clis_summaries():
    lib = {m for m, _ in library_messages()}
    said = {m for m, _ in said_messages()}
    assert len(lib) > 1000 and len(said) > 100
    assert "package truncated: no trailer" in lib  # a literal
    assert "package {pid} was ingested before with different records" in lib  # an f-string
    assert "several kinds have disclosure windows" in lib  # a branch of `a if c else b`
    assert "{package}: package {package_id} already ingested; nothing changed" in said


def test_every_message_of_the_library_and_the_cli_has_a_chinese_translation():
    done = _translated()
    wanted = {
        *(m for m, _ in MESSAGES),
        *(m for _, m in REASONS),
        *(m for m, _ in library_messages()),
        *(m for m, _ in said_messages()),
        *_help_texts(),
    }
    missing = sorted(wanted - done)
    assert missing == [], (
        f"{len(missing)} message(s) without a Chinese translation, e.g. {missing[:5]}: run "
        "`python scripts/i18n.py update`, translate them in xinan/i18n/locale/zh_CN/"
        "LC_MESSAGES/xinan.po, then `python scripts/i18n.py compile` (docs/i18n.md §3)"
    )


def test_errors_raised_by_the_library_render_in_chinese(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.xpkg").write_bytes(b"not a package\n")
    r = CliRunner().invoke(app, ["verify", "x.xpkg"], env=ZH)
    assert r.exit_code != 0
    assert "错误" in r.stderr and re.search(r"[\u4e00-\u9fff]{4}", r.stderr.split("错误", 1)[1])
    assert "not a" not in r.stderr, r.stderr  # the message too, not only the frame
    j = CliRunner().invoke(app, ["verify", "x.xpkg", "--json"], env=ZH)
    assert json.loads(j.stderr)["code"]  # machine output stays language-neutral


def test_templates_fill_fields_and_keep_data():
    with using_language("zh"):
        out = translate("package 0123abcd was ingested before with different records")
    assert out == "数据包 0123abcd 之前入库时的记录与此不同"
