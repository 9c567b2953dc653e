"""Issue 15's "Why", line by line: each failure it quotes and the test that fails if it comes
back. The two not covered elsewhere are tested here (tables with Chinese column names; the
set-up script saying what it installs).

- README set-up a dead end (keys add / keygen need a sys-admin a provider or bank lacks):
  flow/test_init.py::test_four_parties_run_the_flow_without_vault_log_or_repeated_as,
  flow/test_readme.py::test_readme_runs_as_written
- `--audit-log` elsewhere changed the trust store unlogged: flow/test_init.py::
  test_the_old_bypass_audit_log_elsewhere_does_not_change_the_trust_store
- 11 of 13 platform lines need --vault; auditor's `audit verify` needs the log and --key:
  flow/test_readme.py::test_readme_runs_as_written
- `report subject` under a new pseudonym key gives a silently empty report:
  auditor/test_report.py::test_report_under_the_wrong_pseudonym_key_is_refused
- `seal -o -` summary on stdout: cli/test_cli_streams.py::test_seal_to_stdout_is_only_the_package
- `mask -o - --json` / `open -o - --json` JSON after the CSV: cli/test_cli_streams.py::
  test_mask_reads_stdin_and_json_stays_off_stdout, test_open_to_stdout_json_on_stderr
- `mask -` "file is empty": cli/test_cli_streams.py::test_mask_from_stdin_matches_mask_from_file;
  `-` for every file: cli/test_cli_stdin_all.py
- grant ids starting with `-` (`grant revoke -Ewsc…`, test_grant_revoked flaky): short_ids
  tests (test_the_display_form_never_begins_with_a_dash_and_round_trips), platform/
  test_share_denials.py (revoke -Ewsc…), flow/test_init.py (revoke by a unique prefix)
- `grant issue` asks four times, no retry: cli/test_passphrase_tty.py::
  test_grant_issue_asks_each_key_once, test_each_key_is_asked_once_and_a_typo_is_asked_again;
  `init`: cli/test_init_prompts.py
- `verify` needs a private key's passphrase: flow/test_init.py (integrity checks with no
  passphrase available)
- English for a Chinese audience (help 145 Han against 26,232 Latin): i18n/test_i18n.py::
  test_chinese_help_from_the_locale; errors, hints, summaries, progress: i18n/
  test_catalogue_complete.py; reject reasons: test_rejects_file_in_chinese_with_stable_codes
- `--kind 行政处罚` and `2027年6月30日` refused: i18n/test_i18n.py::
  test_kind_and_date_typed_in_chinese_on_the_command_line, test_chinese_dates
- tables with Chinese column names misaligned: here
- CSV without a BOM: cli/test_cli_streams.py::test_csv_files_get_a_bom_by_default_stdout_does_not
- `destroy --record` with no preview or confirmation: platform/test_destroy.py::
  test_destroy_previews_and_scripts_must_say_yes
- long runs silent: cli/test_progress_commands.py (every loop over records), cli/
  test_cli_progress.py; the first install silent: here
- commands without an example or --json: cli/test_cli_help.py
- errors never JSON; click's errors off-style; `--as` after the subcommand: cli/
  test_cli_streams.py::test_errors_under_json_are_one_object_with_a_code,
  test_click_usage_errors_use_xinans_form, test_global_options_after_the_subcommand
- the demo cannot be explored afterwards: cli/test_cli_provider.py::test_demo
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from wcwidth import wcswidth

from tests.cli.test_cli_streams import invoke
from tests.cli.test_cli_streams import runner as streams_runner  # noqa: F401 - a fixture
from xinan.cli.render import table

ROOT = Path(__file__).resolve().parents[2]


def _starts(line: str) -> list[int]:
    """Display columns where each cell after the first begins (cells: 2+ spaces apart)."""
    out, col = [], 0
    for m in re.finditer(r"\S+(?: \S+)*", line):
        col = wcswidth(line[: m.start()])
        out.append(col)
    return out[1:]


def test_tables_align_by_display_width():
    rows = [["列", "类型", "n"], ["统一社会信用代码", "uscc", "12"], ["id", "证件号码", "3"]]
    lines = table(rows, right=(2,)).splitlines()
    ends = {wcswidth(x) for x in lines}
    assert len(ends) == 1  # the right-aligned last column ends at one display column
    assert len({_starts(x)[0] for x in lines}) == 1  # the second column starts at one


def test_scan_table_with_chinese_column_names_is_aligned(streams_runner):  # noqa: F811
    r = invoke(streams_runner, "--as", "amr", "scan", "e.csv")
    assert r.exit_code == 0, r.output
    rows = [x for x in r.stdout.splitlines() if x.startswith("  ") and "  " in x.strip()]
    assert len(rows) > 5 and any(re.search(r"[\u4e00-\u9fff]", x) for x in rows)
    assert len({_starts(x)[0] for x in rows}) == 1, rows


def test_the_set_up_script_says_what_it_installs(tmp_path):
    """scripts/_venv.sh prints (to stderr), before installing, every package of pyproject.toml's
    dependencies and of the extras it installs (item 8)."""
    script = (ROOT / "scripts" / "_venv.sh").read_text("utf-8")
    assert "installing into .venv" in script
    code = script.split("<<'PY'\n", 1)[1].split("\nPY\n", 1)[0]
    out = subprocess.run(  # the script's own listing, run on this checkout's pyproject.toml
        [sys.executable, "-", "dev"], input=code, text=True, capture_output=True, cwd=ROOT,
        timeout=120, check=True,
    )  # fmt: skip
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    for dep in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        name = re.split(r"[<>=!~;\[ ]", dep, maxsplit=1)[0]
        assert name in out.stdout, name


def test_the_demos_next_commands_in_the_chosen_language(tmp_path):
    """Item 10: the demo ends with three commands to try, in the run's language — the
    commands as typed, what each shows in Chinese (the CLI prints each line translated)."""
    from xinan.demo import NEXT_COMMANDS, say_next_steps
    from xinan.i18n import translate, using_language

    said: list[str] = []
    say_next_steps(tmp_path, tmp_path / "env.sh", said.append)
    with using_language("zh"):
        zh = [translate(x) for x in said]
    assert f"完成：所有文件都在 {tmp_path} 下" in zh
    assert any(x.startswith("下一步：`source ") for x in zh)
    for cmd in NEXT_COMMANDS:
        i = zh.index(f"    {cmd}")  # the command itself, unchanged
        assert re.search(r"[\u4e00-\u9fff]{4}", zh[i + 1]), zh[i + 1]  # what it shows, 中文
    assert "平台保存的记录（封装的值保持封装）" in "\n".join(zh)
    with using_language("en"):
        assert [translate(x) for x in said] == said
