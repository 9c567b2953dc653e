"""Chinese first, English too (issue 15 item 5): the catalogue in step with its source, the
language chosen from --lang or the locale, help and errors in Chinese, English unchanged."""

from __future__ import annotations

import gettext
import inspect
import re
from pathlib import Path

import click
import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from xinan.cli import app
from xinan.i18n import LOCALE_DIR, resolve_language, translate, using_language
from xinan.i18n.messages import MESSAGES

PO = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "xinan.po"
MO = PO.with_suffix(".mo")
FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
NO_LOCALE = {"LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": None}


def _po() -> dict[str, str]:
    with PO.open("rb") as f:
        cat = read_po(f, locale="zh_CN", domain="xinan")
    return {m.id: m.string for m in cat if m.id and m.string and not m.fuzzy}


def test_mo_is_in_step_with_po():
    """The committed .mo is the .po compiled (`python scripts/i18n.py compile`)."""
    with MO.open("rb") as f:
        compiled = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
    mo = {k: v for k, v in compiled.items() if k}
    assert mo == _po()


def test_templates_translate_every_field_and_only_those():
    for msgid, msgstr in _po().items():
        assert sorted(FIELD.findall(msgstr)) == sorted(FIELD.findall(msgid)), msgid


def test_every_message_of_messages_py_is_translated():
    po = _po()
    missing = [m for m, _ in MESSAGES if m not in po]
    assert not missing


def _walk(cmd: click.Command, path: list[str]):
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            yield from _walk(sub, [*path, name])


def test_every_command_has_a_chinese_summary():
    """`xinan --help` and every group's list read in Chinese: each command's first paragraph
    has a translation."""
    po = _po()
    for path, cmd in _walk(app, []):
        if cmd.help:
            first = inspect.cleandoc(cmd.help).split("\n\n")[0]
            assert first in po, " ".join(path)


@pytest.mark.parametrize(
    ("flag", "env", "want"),
    [
        (None, {}, "en"),
        (None, {"LANG": "zh_CN.UTF-8"}, "zh"),
        (None, {"LANG": "C.UTF-8"}, "en"),
        (None, {"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        (None, {"LANGUAGE": "en:zh", "LANG": "zh_CN.UTF-8"}, "en"),
        (None, {"LANGUAGE": "zh_CN:en", "LANG": "C"}, "zh"),
        (None, {"LANGUAGE": "", "LC_MESSAGES": "zh_CN", "LANG": "en_GB"}, "zh"),
        ("en", {"LANG": "zh_CN.UTF-8"}, "en"),
        ("zh", {"LANG": "C"}, "zh"),
        ("zh_CN", {}, "zh"),
    ],
)
def test_language_choice(flag, env, want):
    assert resolve_language(flag, env) == want


def test_chinese_help_from_the_locale():
    r = CliRunner().invoke(
        app, ["--help"], env={**NO_LOCALE, "LANG": "zh_CN.UTF-8"}, prog_name="xinan"
    )
    assert r.exit_code == 0
    out = r.output
    assert out.startswith("用法：xinan")
    assert "选项：" in out and "命令：" in out
    assert "显示本帮助并退出。" in out
    assert "校验 FILE，为某一受众写出每条记录的脱敏视图。" in out
    han = sum(1 for c in out if "\u4e00" <= c <= "\u9fff")
    latin = sum(1 for c in out if c.isascii() and c.isalpha())
    assert han > latin / 2, (han, latin)  # Chinese reads first (was 145 against 26,232)


def test_chinese_help_of_a_command_by_flag():
    r = CliRunner().invoke(app, ["mask", "--help", "--lang", "zh"], env=NO_LOCALE)
    assert r.exit_code == 0
    assert "[必填]" in r.output and "示例：" in r.output
    assert "xinan mask export.csv -o public.csv" in r.output  # examples stay commands


def test_english_help_without_a_locale():
    r = CliRunner().invoke(app, ["--help"], env=NO_LOCALE, prog_name="xinan")
    assert r.output.startswith("Usage: xinan [OPTIONS] COMMAND [ARGS]...")
    assert "Show this message and exit." in r.output
    assert "用法" not in r.output


def test_errors_in_chinese_and_json_code_stays():
    env = {**NO_LOCALE, "LANG": "zh_CN.UTF-8"}
    r = CliRunner().invoke(app, ["mask", "x.csv", "-o", "y.csv", "--audience", "nope"], env=env)
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        "xinan: 错误: 未知的受众 'nope'",
        "xinan: 提示: 可用的有：public, gov_share, querent, internal, submission",
    ]
    u = CliRunner().invoke(app, ["mask", "--bogus"], env=env)
    assert u.stderr.startswith("xinan: 错误: 没有选项 '--bogus'")
    j = CliRunner().invoke(app, ["mask", "--bogus", "--json"], env=env)
    assert '"code": "no_such_option"' in j.stderr


def test_help_lines_fit_the_terminal_by_display_width():
    from xinan.cli.render import width

    r = CliRunner().invoke(app, ["seal", "--help"], env={**NO_LOCALE, "LANG": "zh_CN.UTF-8"})
    prose = [ln for ln in r.output.splitlines() if not ln.lstrip().startswith("xinan ")]
    assert max(width(line) for line in prose) <= 80  # examples are commands, kept whole


def test_translate_keeps_data_as_data():
    with using_language("zh"):
        assert translate("e.csv, row 7: file is empty") == "e.csv，第 7 行：文件是空的"
        assert translate("e.csv: file is empty") == "e.csv：文件是空的"
        # a message the catalogue does not know stays English, whole
        assert translate("e.csv: something new") == "e.csv: something new"
        assert translate("unknown audience 'file is empty'") == "未知的受众 'file is empty'"
    assert translate("e.csv: file is empty") == "e.csv: file is empty"


@given(st.text(max_size=60))
def test_translate_never_fails_and_english_is_identity(text):
    assert translate(text, "en") == text
    out = translate(text, "zh")
    assert isinstance(out, str)


def test_catalogue_files_are_package_data():
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert "i18n/locale/*/LC_MESSAGES/*.mo" in pyproject


def test_rejects_file_in_chinese_with_stable_codes(tmp_path):
    import csv
    import io

    from xinan.records import BadRow, open_rejects

    def write(lang: str) -> list[list[str]]:
        path = tmp_path / f"rej-{lang}.csv"
        with using_language(lang), open_rejects(path) as rej:
            rej.write(BadRow(2, "证件号码", "required but empty", "a,,b"))
            rej.write(BadRow(3, "决定日期", "not a real calendar date", "a,2027-02-30"))
            rej.write(BadRow(4, "x", "a reason with no code yet", "q"))
        return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))

    zh, en = write("zh"), write("en")
    assert zh[0] == en[0] == ["row", "column", "reason", "code", "record"]
    assert [r[2] for r in zh[1:]] == [
        "必填但为空",
        "不是真实存在的日期",
        "a reason with no code yet",
    ]
    assert [r[2] for r in en[1:]] == [
        "required but empty",
        "not a real calendar date",
        "a reason with no code yet",
    ]
    assert (
        [r[3] for r in zh[1:]]
        == [r[3] for r in en[1:]]
        == [
            "required_empty",
            "bad_date",
            "invalid_value",
        ]
    )


def test_every_reason_template_has_a_translation():
    from xinan.i18n.reasons import REASONS

    po = _po()
    assert [t for _c, t in REASONS if t not in po] == []


def test_chinese_dates():
    from datetime import date

    from xinan.i18n.dates import parse_date, parse_datetime

    assert parse_date("2027年6月30日") == date(2027, 6, 30)
    assert parse_date("2027年06月30号") == date(2027, 6, 30)
    assert parse_date("２０２７年６月３０日") == date(2027, 6, 30)
    assert parse_date("2027-06-30") == date(2027, 6, 30)
    for bad in ("2027年2月30日", "27年6月30日", "2027/6/30", "明天", "2027-6-30"):
        with pytest.raises(ValueError):
            parse_date(bad)
    assert parse_datetime("2027年6月30日 08:00+08:00").isoformat() == "2027-06-30T08:00:00+08:00"
    assert parse_datetime("2027-06-30T08:00:00+08:00").hour == 8


@given(st.dates(min_value=__import__("datetime").date(1000, 1, 1)))
def test_chinese_and_iso_dates_agree(d):
    from xinan.i18n.dates import parse_date

    assert parse_date(f"{d.year}年{d.month}月{d.day}日") == d == parse_date(d.isoformat())


def test_chinese_kind_names(policy):
    from xinan.policy.kind_names import resolve_kind

    assert resolve_kind(policy, "行政处罚") == "penalty"
    assert resolve_kind(policy, "行政处罚信息") == "penalty"
    assert resolve_kind(policy, "行政处罚信息（双公示）") == "penalty"
    assert resolve_kind(policy, "行政许可") == "license"
    assert resolve_kind(policy, "penalty") == "penalty"
    assert resolve_kind(policy, "处罚") == "处罚"  # not a name: left for the policy to refuse


def test_kind_and_date_typed_in_chinese_on_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(
        app,
        ["fake", "行政处罚", "-n", "5", "-o", "p.csv", "--today", "2027年6月30日", "--json"],
        env=NO_LOCALE,
    )
    assert r.exit_code == 0, r.output
    assert '"kind": "penalty"' in r.output
    s = CliRunner().invoke(app, ["policy", "show", "--kind", "行政许可", "--json"], env=NO_LOCALE)
    assert s.exit_code == 0, s.output
    assert "license" in s.output and "penalty" not in s.output
    bad = CliRunner().invoke(app, ["fake", "penalty", "-o", "x.csv", "--today", "2027年2月30日"])
    assert bad.exit_code == 2 and "2027年6月30日" in bad.stderr
