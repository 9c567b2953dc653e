"""How the command line speaks: the language, help texts, errors, tables and the streams.

What this module owns (docs/i18n.md, docs/cli.md §1):

* the **language** of a run: ``--lang zh|en`` anywhere on the command line, else the locale
  variables (:mod:`xinan.i18n`); help, errors, hints and summaries are translated here, at
  render time, from the catalogue — the library raises English, language-neutral errors;
* **errors**, one renderer for xinan's own errors, click's usage errors, OS errors and bugs:
  ``xinan: error: …`` / ``xinan: hint: …`` on stderr, or with ``--json`` one JSON object on
  stderr with a stable ``code`` (stdout keeps the data or the result);
* **help**: click's help translated (usage, headings, every command's and option's text);
* the **global options after the subcommand** (``xinan seal … --as X``): every command also
  accepts ``--as``, ``--keyring``, ``--audit-log``, ``--passin``, ``--verbose`` and
  ``--lang`` (hidden in its help; the root's help lists them);
* **tables** aligned by display width (wcwidth): a Chinese character takes two columns.

It holds no guarantee of its own: what is checked, logged and refused is the library's.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click
from wcwidth import wcswidth, wcwidth

from xinan.cli._stdio import claim_stdin_for_passin, copy_pending_stdin, show_stdin
from xinan.errors import EXIT_FAILURE, XinanError
from xinan.i18n import current_language, translate
from xinan.i18n import gettext_ as _

# -- the run's settings read before click parses (errors while parsing need them) ------------


def prescan(args: Sequence[str]) -> tuple[str | None, bool, bool]:
    """``--lang`` value, ``--json`` and ``--verbose`` anywhere before ``--``: an error found
    while click parses the line is rendered in the asked language and form."""
    lang: str | None = None
    as_json = verbose = False
    it = iter(args)
    for arg in it:
        if arg == "--":
            break
        if arg == "--lang":
            lang = next(it, None)
        elif arg.startswith("--lang="):
            lang = arg.split("=", 1)[1]
        elif arg == "--json":
            as_json = True
        elif arg == "--verbose":
            verbose = True
    return lang, as_json, verbose


# -- errors ----------------------------------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def report_error(
    *,
    code: str,
    message: str,
    hint: str | None,
    exit_code: int,
    as_json: bool,
    kind: str | None = None,
) -> None:
    """Write one error to stderr, translated: two lines for people, or one JSON object."""
    # a private copy of standard input is named as the user gave it (cli/_stdio.py)
    text = show_stdin(translate(message))
    help_text = show_stdin(translate(hint)) if hint else None
    if as_json:
        obj: dict[str, Any] = {"error": kind or code, "code": code, "message": text}
        if help_text:
            obj["hint"] = help_text
        obj["exit_code"] = exit_code
        click.echo(json.dumps(obj, ensure_ascii=False), err=True)
        return
    click.echo(f"xinan: {_('error')}: {text}", err=True)
    if help_text:
        click.echo(f"xinan: {_('hint')}: {help_text}", err=True)


def render_exception(exc: BaseException, *, as_json: bool, verbose: bool) -> int:
    """The one place an exception becomes a message and an exit code (STYLE.md §4, §11)."""
    if isinstance(exc, XinanError):
        if verbose:
            traceback.print_exception(exc)
        report_error(
            code=exc.code,
            message=exc.message,
            hint=exc.hint,
            exit_code=exc.exit_code,
            as_json=as_json,
            kind=type(exc).__name__,
        )
        return exc.exit_code
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        exc.show()  # a group called with nothing: its help, on stderr, exit 2 (as click does)
        return exc.exit_code
    if isinstance(exc, click.ClickException):
        hint = None
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            words = exc.ctx.command_path.split()
            hint = f"see `{' '.join(['xinan', *words[1:]])} --help`"
        report_error(
            code=_snake(type(exc).__name__),
            message=exc.format_message(),
            hint=hint,
            exit_code=exc.exit_code,
            as_json=as_json,
            kind=type(exc).__name__,
        )
        return exc.exit_code
    if isinstance(exc, click.exceptions.Abort | KeyboardInterrupt):
        report_error(
            code="interrupted", message="interrupted", hint=None, exit_code=130, as_json=as_json
        )
        return 130
    if isinstance(exc, OSError):  # a path that is missing, unwritable or a directory
        if verbose:
            traceback.print_exception(exc)
        where = f"{exc.filename}: " if exc.filename else ""
        report_error(
            code="os_error",
            message=f"{where}{exc.strerror or type(exc).__name__}",
            hint="check the path, that its folder exists, and permissions",
            exit_code=EXIT_FAILURE,
            as_json=as_json,
        )
        return EXIT_FAILURE
    # a bug: say so, never dump locals (they may hold secrets)
    if verbose:
        traceback.print_exception(exc)
    report_error(
        code="internal_error",
        message=f"internal error ({type(exc).__name__})",
        hint="rerun with --verbose and report it (see SECURITY.md)",
        exit_code=EXIT_FAILURE,
        as_json=as_json,
    )
    return EXIT_FAILURE


# -- help ------------------------------------------------------------------------------------

_EXTRA = re.compile(r"(?:\A|\s\s)\[([^\[\]]*)\]\Z")


def _translate_extra(help_text: str) -> str:
    """click's ``[default: x; required]`` tail of an option's help, in the run's language."""
    m = _EXTRA.search(help_text)
    if m is None or current_language() == "en":
        return help_text
    zh = current_language() == "zh"
    parts = []
    for part in m.group(1).split("; "):
        key, sep, value = part.partition(": ")
        parts.append(f"{_(key)}{'：' if zh else ': '}{value}" if sep else _(part))
    lead = help_text[m.start() : m.start() + 2] if m.start() < len(help_text) else ""
    lead = "  " if lead == "  " else ""
    return help_text[: m.start()] + lead + "[" + ("；" if zh else "; ").join(parts) + "]"


class TranslatedHelp:
    """Mixed into xinan's click commands and groups: every text of ``--help`` goes through
    the catalogue when it is shown (the help strings are English in the code)."""

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(_(p) for p in pieces), _("Usage: "))

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        text = getattr(self, "help", None)
        if not text:
            return
        import inspect

        text = translate_help(inspect.cleandoc(text).partition("\f")[0])
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(text)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for param in self.get_params(ctx):  # type: ignore[attr-defined]
            if isinstance(param, click.Argument):
                continue
            original = getattr(param, "help", None)
            if original:
                param.help = translate_help(original)
            try:
                rec = param.get_help_record(ctx)
            finally:
                if original:
                    param.help = original
            if rec is not None:
                rows.append((rec[0], _translate_extra(rec[1])))
        if rows:
            with formatter.section(_("Options")):
                formatter.write_dl(rows)
        if isinstance(self, click.Group):
            self.format_commands(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if not isinstance(self, click.Group):
            return
        commands = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                commands.append((name, cmd))
        limit = formatter.width - 6 - max((len(n) for n, _c in commands), default=0)
        rows = [(name, cmd.get_short_help_str(limit)) for name, cmd in commands]
        if rows:
            with formatter.section(_("Commands")):
                formatter.write_dl(rows)

    def get_short_help_str(self, limit: int = 45) -> str:
        import inspect

        help_text = getattr(self, "help", None) or ""
        short = getattr(self, "short_help", None)
        if short:
            return translate_help(inspect.cleandoc(short))
        first = inspect.cleandoc(help_text).partition("\f")[0].split("\n\n")[0]
        text = _(first)
        if text != first:  # a translated first paragraph: shown whole (it is one sentence)
            return text.replace("\n", " ")
        return click.Command.get_short_help_str(self, limit)  # type: ignore[arg-type]


def translate_help(text: str) -> str:
    """A help text in the run's language: the whole text when the catalogue has it, else
    paragraph by paragraph (the examples, which are commands, stay as they are)."""
    whole = _(text)
    if whole != text:
        return whole
    paragraphs = text.split("\n\n")
    if len(paragraphs) == 1:
        return translate(text)
    return "\n\n".join(_(p) if _(p) != p else translate(p) for p in paragraphs)


def _set_global(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """A global option given after the subcommand: it sets what the root's would have."""
    if value is None or value is False:
        return value
    from xinan.cli._app import Env

    env = ctx.find_object(Env)
    if env is None:
        return value
    name = param.name
    if name == "g_identity":
        env.identity = value
    elif name == "g_keyring":
        env.keyring = value
    elif name == "g_audit_log":
        env.audit_log = value
    elif name == "g_verbose":
        env.verbose = True
    elif name == "g_passin":
        claim_stdin_for_passin(ctx, value)
        env.passphrases.passin = value
    return value


def _global_options() -> tuple[tuple[str, str, dict[str, Any]], ...]:
    """The root's options a subcommand also accepts: (flag, parameter name, click options)."""
    from pathlib import Path

    return (
        ("--as", "g_identity", {"metavar": "KEY_ID"}),
        ("--keyring", "g_keyring", {"type": click.Path(file_okay=False, path_type=Path)}),
        ("--audit-log", "g_audit_log", {"type": click.Path(dir_okay=False, path_type=Path)}),
        ("--verbose", "g_verbose", {"is_flag": True}),
        ("--passin", "g_passin", {"metavar": "file:PATH|fd:N|env:VAR"}),
        # read before parsing (prescan); here it is only accepted
        ("--lang", "g_lang", {"type": click.Choice(["zh", "en"], case_sensitive=False)}),
    )


def add_global_options(cmd: click.Command) -> None:
    """Give ``cmd`` hidden copies of the root's options that it does not define itself, so
    that ``xinan seal … --as X`` means ``xinan --as X seal …`` (as git, age and cosign
    accept). ``--lang`` is read before parsing (:func:`prescan`); here it is only accepted."""
    taken = {opt for p in cmd.params for opt in getattr(p, "opts", [])}
    for flag, name, kwargs in _global_options():
        if flag in taken:
            continue
        callback = None if flag == "--lang" else _set_global
        cmd.params.append(
            click.Option([flag, name], hidden=True, expose_value=False, callback=callback, **kwargs)
        )


# -- tables and streams ----------------------------------------------------------------------


def width(text: str) -> int:
    """Columns ``text`` takes on a terminal (a Chinese character takes two; wcwidth)."""
    w = wcswidth(text)
    return len(text) if w < 0 else w  # a control character: count it as one


def pad(text: str, columns: int, *, right: bool = False) -> str:
    """``text`` padded with spaces to ``columns`` display columns."""
    fill = " " * max(columns - width(text), 0)
    return fill + text if right else text + fill


def table(rows: Sequence[Sequence[str]], *, right: Sequence[int] = (), indent: str = "") -> str:
    """Rows aligned by display width, two spaces between columns, no trailing spaces."""
    if not rows:
        return ""
    n = max(len(r) for r in rows)
    widths = [max((width(r[i]) for r in rows if i < len(r)), default=0) for i in range(n)]
    out = []
    for r in rows:
        cells = [pad(c, widths[i], right=i in right) for i, c in enumerate(r)]
        out.append((indent + "  ".join(cells)).rstrip())
    return "\n".join(out)


def echo_text(text: str | Callable[[], str], *, err: bool = False) -> None:
    """Human text in the run's language (summaries pass through the catalogue's templates)."""
    click.echo(translate(text() if callable(text) else text), err=err)


def stdout_is(path: object) -> bool:
    """Whether an output argument names standard output (``-``)."""
    return str(path) == "-"


def isatty_stderr() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# -- help laid out by display width ----------------------------------------------------------

_TOKEN = re.compile(
    r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+|\s+"
)


_NO_START = set("）)]】》」』，。、；：！？…%")  # never at the start of a line (GB/T 15834)
_NO_END = set("（([【《「『")  # never at the end of a line


def _wide(c: str) -> bool:
    return int(wcwidth(c)) == 2  # int(): wcwidth is untyped in some releases


def _glue(tokens: list[str]) -> list[str]:
    """Closing punctuation sticks to what precedes it, opening to what follows, and a wide
    character to a following narrow word that starts with punctuation (报告.html)."""
    out: list[str] = []
    carry = ""
    for piece in tokens:
        if piece.isspace():
            if carry:
                continue
            out.append(piece)
            continue
        tok = carry + piece
        carry = ""
        prev = out[-1] if out and not out[-1].isspace() else ""
        if prev and (
            tok[0] in _NO_START
            or (_wide(prev[-1]) and not _wide(tok[0]) and not tok[0].isalnum())
            or (not _wide(prev[-1]) and not prev[-1].isalnum() and _wide(tok[0]))
        ):
            out[-1] += tok
        elif tok[-1] in _NO_END:
            carry = tok
        else:
            out.append(tok)
    if carry:
        out.append(carry)
    return out


def _wrap_paragraph(text: str, columns: int, first: str, rest: str) -> list[str]:
    """Greedy wrap by display width: Chinese breaks between any two characters, other text
    between words (GB/T 15834 aside, this is what terminals and man pages do)."""
    joined = re.sub(r"\s*\n\s*", " ", text.strip())
    lines: list[str] = []
    line = first
    budget = max(columns, 10)
    for tok in _glue(_TOKEN.findall(joined)):
        if tok.isspace():
            if line.strip():
                line += " "
            continue
        if width(line) + width(tok) > budget and line.strip():
            lines.append(line.rstrip())
            line = rest
        line += tok
    if line.strip():
        lines.append(line.rstrip())
    return lines


def wrap_text(
    text: str,
    columns: int,
    initial_indent: str = "",
    subsequent_indent: str = "",
    preserve_paragraphs: bool = False,
) -> str:
    """click's ``wrap_text``, measuring display width: English text is wrapped by click as
    before (byte-identical help); text with wide characters by :func:`_wrap_paragraph`."""
    if not any(wcwidth(c) == 2 for c in text):  # no wide character: click's own wrap
        return click.formatting.wrap_text(
            text,
            columns,
            initial_indent=initial_indent,
            subsequent_indent=subsequent_indent,
            preserve_paragraphs=preserve_paragraphs,
        )
    out: list[str] = []
    paragraphs = re.split(r"\n\s*\n", text) if preserve_paragraphs else [text]
    for para in paragraphs:
        if para.lstrip().startswith("\b"):
            body = para.lstrip()[1:].lstrip("\n")
            out.append("\n".join(initial_indent + ln for ln in body.splitlines()))
        else:
            out.append("\n".join(_wrap_paragraph(para, columns, initial_indent, subsequent_indent)))
    return "\n\n".join(out)


class XinanFormatter(click.HelpFormatter):
    """click's help formatter with lines measured in display columns (wcwidth)."""

    def write_heading(self, heading: str) -> None:
        colon = "：" if any(ord(c) >= 0x1100 for c in heading) else ":"
        self.write(f"{'':>{self.current_indent}}{heading}{colon}\n")

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        self.write(wrap_text(text, self.width, indent, indent, preserve_paragraphs=True))
        self.write("\n")

    def write_dl(
        self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        items = list(rows)
        first_col = min(max((width(r[0]) for r in items), default=0), col_max) + col_spacing
        for term, text in items:
            self.write(f"{'':>{self.current_indent}}{term}")
            if not text:
                self.write("\n")
                continue
            if width(term) <= first_col - col_spacing:
                self.write(" " * (first_col - width(term)))
            else:
                self.write("\n")
                self.write(" " * (first_col + self.current_indent))
            text_width = max(self.width - first_col - 2, 10)
            lines = wrap_text(text, text_width, preserve_paragraphs=True).splitlines()
            if lines:
                self.write(f"{lines[0]}\n")
                for ln in lines[1:]:
                    self.write(f"{'':>{first_col + self.current_indent}}{ln}\n")
            else:
                self.write("\n")


class XinanContext(click.Context):
    formatter_class = XinanFormatter


class XinanCommand(TranslatedHelp, click.Command):
    """A leaf command: translated help, and the global options accepted after its name."""

    context_class = XinanContext
    # InputPath copies standard input after parse_args, not while converting (cli/_stdio.py)
    copies_stdin_after_parsing = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_global_options(self)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        copy_pending_stdin(ctx)
        return rest
