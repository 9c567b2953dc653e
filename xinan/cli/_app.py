"""The click group, global options and the one place errors become messages and exit codes.

Command modules (``xinan/cli/*.py``) import :data:`app` and register commands on it. A
command parses its options, calls the library, and renders the result with :func:`emit`;
it holds no logic of its own (STYLE.md practice 11).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from xinan.cli._passphrase import Passphrases, RetryCommand
from xinan.cli._stdio import CONFIG_NOT_STDIN, LOG_NOT_STDIN, NotStdin, claim_stdin_for_passin
from xinan.cli.render import (
    TranslatedHelp,
    XinanCommand,
    XinanContext,
    add_global_options,
    echo_text,
    prescan,
    render_exception,
)
from xinan.config import Config
from xinan.errors import WrongPassphrase
from xinan.i18n import resolve_language, translate, using_language

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Env:
    """Settings resolved once from global options and the environment."""

    keyring: Path
    audit_log: Path | None
    identity: str | None
    verbose: bool
    config: Config | None = None
    passphrases: Passphrases = field(default_factory=Passphrases)

    @property
    def identity_given(self) -> bool:
        """``--as`` or ``$XINAN_IDENTITY`` named who acts (not only the config's default):
        public-key checks then act, and log, as that identity."""
        return self.explicit_as

    explicit_as: bool = False

    @staticmethod
    def default_keyring() -> Path:
        return Path(os.environ.get("XINAN_KEYRING") or "keys")

    def log_path(self) -> Path:
        """``--audit-log``, else ``$XINAN_AUDIT_LOG``, else ``<keyring>/../audit/audit.log``."""
        if self.audit_log is not None:
            return self.audit_log
        return self.keyring.parent / "audit" / "audit.log"


class XinanGroup(TranslatedHelp, click.Group):
    """The root group (and every subgroup): lists commands in the order they were added (the
    order of the data flow), translates help, and — at the root — is the one place where
    errors become messages and exit codes (:func:`xinan.cli.render.render_exception`)."""

    command_class = XinanCommand
    group_class = type  # subgroups are XinanGroups too
    context_class = XinanContext

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_global_options(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        # the root in the order of the data flow; a subgroup's commands by name, as before
        return list(self.commands) if ctx.parent is None else sorted(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WrongPassphrase as exc:
            # a passphrase mistyped at the prompt: main() runs the command again (three tries)
            env = ctx.find_object(Env)
            if ctx.parent is None and env is not None and env.passphrases.retry_after_wrong():
                left = env.passphrases.tries_left()
                click.echo(
                    f"xinan: {translate(exc.message)}; " + translate(f"try again ({left} left)"),
                    err=True,
                )
                raise RetryCommand from None
            raise

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        lang, as_json, verbose = prescan(argv)
        with using_language(resolve_language(lang)):
            try:
                rv = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
                code = rv if isinstance(rv, int) else 0
            except (SystemExit, RetryCommand):
                raise
            except BaseException as exc:
                code = render_exception(exc, as_json=as_json, verbose=verbose)
        if standalone_mode:
            sys.exit(code)
        return code


@click.group(
    cls=XinanGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--keyring",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="XINAN_KEYRING",
    default="keys",
    show_default=True,
    help="Keyring directory (else $XINAN_KEYRING, else keys/).",
)
@click.option(
    "--audit-log",
    type=NotStdin(LOG_NOT_STDIN, dir_okay=False),
    envvar="XINAN_AUDIT_LOG",
    default=None,
    help="Audit log file (else $XINAN_AUDIT_LOG, else <keyring>/../audit/audit.log).",
)
@click.option(
    "--as",
    "identity",
    envvar="XINAN_IDENTITY",
    default=None,
    metavar="KEY_ID",
    help="Act as this identity (else $XINAN_IDENTITY).",
)
@click.option(
    "--config",
    "config_path",
    type=NotStdin(CONFIG_NOT_STDIN, dir_okay=False),
    default=None,
    metavar="FILE",
    help="Working-directory config (else $XINAN_CONFIG, else ./xinan.toml; docs/config.md).",
)
@click.option(
    "--passin",
    default=None,
    metavar="file:PATH|fd:N|env:VAR",
    help="Where scripts give passphrases, as openssl -passin (docs/config.md).",
)
@click.option("--verbose", is_flag=True, help="Show tracebacks on errors.")
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"], case_sensitive=False),
    default=None,
    expose_value=False,  # read before parsing (render.prescan): errors while parsing use it
    help="Language of messages and help: zh or en (else LANGUAGE, LC_ALL, LC_MESSAGES, LANG).",
)
@click.version_option(package_name="xinan")
@click.pass_context
def app(
    ctx: click.Context,
    keyring: Path,
    audit_log: Path | None,
    identity: str | None,
    config_path: Path | None,
    passin: str | None,
    verbose: bool,
) -> None:
    """信安 xinan — exchange public credit data without leaking it.

    \b
    The flow:  provider → platform → querent → auditor
      provider:  fake, scan, mask, seal
      platform:  verify, open, vault …
      auditor:   audit …
    Every command takes --json for machine-readable output.
    """
    from xinan.cli._config import apply_config

    # one passphrase source per process: main() passes it in so that a retry keeps the keys
    # already answered (xinan/cli/_passphrase.py)
    source = ctx.obj if isinstance(ctx.obj, Passphrases) else Passphrases()
    if passin:
        claim_stdin_for_passin(ctx, passin)  # fd:0 and a `-` input cannot share stdin
    source.passin = passin or source.passin
    ctx.obj = Env(
        keyring=keyring,
        audit_log=audit_log,
        identity=identity,
        verbose=verbose,
        passphrases=source,
        explicit_as=identity is not None,
    )
    apply_config(ctx, ctx.obj, config_path)


def get_env() -> Env:
    ctx = click.get_current_context()
    env = ctx.find_object(Env)
    if env is None:  # a command invoked outside the group (tests calling it directly)
        env = Env(keyring=Env.default_keyring(), audit_log=None, identity=None, verbose=False)
    return env


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def emit(
    as_json: bool,
    data: dict[str, Any],
    text: str | Callable[[], str] | None = None,
    *,
    stdout_busy: bool = False,
) -> None:
    """Render a result: JSON with --json, else human text (in the run's language).

    On stdout, unless ``stdout_busy``: a command writing its data to stdout (``-o -``) passes
    it, and the summary or the JSON goes to stderr, so that stdout carries only the data (as
    age, sops and cosign do; docs/cli.md §1)."""
    if as_json:
        click.echo(
            json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False, default=str),
            err=stdout_busy,
        )
    elif text is not None:
        echo_text(text, err=stdout_busy)


def note(message: str) -> None:
    """Progress or status for humans: stderr, so stdout stays clean for data and --json."""
    echo_text(message, err=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``xinan`` command (errors are mapped by :class:`XinanGroup`)."""
    from xinan.process import disable_core_dumps

    disable_core_dumps()  # before any passphrase is read (issue 11)
    source = Passphrases()
    while True:  # a passphrase mistyped at the prompt: run again (at most three tries)
        with contextlib.suppress(RetryCommand):
            app.main(args=argv, prog_name="xinan", obj=source)
