"""The click group, global options and the one place errors become messages and exit codes.

Command modules (``xinan/cli/*.py``) import :data:`app` and register commands on it. A
command parses its options, calls the library, and renders the result with :func:`emit`;
it holds no logic of its own (STYLE.md practice 11).
"""

from __future__ import annotations

import contextlib
import json
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from xinan.cli._passphrase import Passphrases, RetryCommand
from xinan.config import Config
from xinan.errors import EXIT_FAILURE, WrongPassphrase, XinanError

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


class XinanGroup(click.Group):
    """The root group: lists commands in the order they were added (the order of the data
    flow) and is the one place where errors become messages and exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WrongPassphrase as exc:
            env = ctx.find_object(Env)
            if env is not None and env.passphrases.retry_after_wrong():
                click.echo(
                    f"xinan: {exc.message}; try again ({env.passphrases.tries_left()} left)",
                    err=True,
                )
                raise RetryCommand from None
            _report(ctx, exc)
        except XinanError as exc:
            _report(ctx, exc)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except OSError as exc:  # a path that is missing, unwritable or a directory
            if _verbose(ctx):
                traceback.print_exc()
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"xinan: error: {where}{exc.strerror or type(exc).__name__}", err=True)
            click.echo(
                "xinan: hint: check the path, that its folder exists, and permissions", err=True
            )
            ctx.exit(EXIT_FAILURE)
        except KeyboardInterrupt:
            click.echo("xinan: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug: say so, never dump locals (they may hold secrets)
            if _verbose(ctx):
                traceback.print_exc()
            click.echo(f"xinan: error: internal error ({type(exc).__name__})", err=True)
            click.echo(
                "xinan: hint: rerun with --verbose and report it (see SECURITY.md)", err=True
            )
            ctx.exit(EXIT_FAILURE)


def _report(ctx: click.Context, exc: XinanError) -> None:
    if _verbose(ctx):
        traceback.print_exc()
    click.echo(f"xinan: error: {exc.message}", err=True)
    if exc.hint:
        click.echo(f"xinan: hint: {exc.hint}", err=True)
    ctx.exit(exc.exit_code)


def _verbose(ctx: click.Context) -> bool:
    env = ctx.find_object(Env)
    return bool(env and env.verbose)


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
    type=click.Path(dir_okay=False, path_type=Path),
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
    type=click.Path(dir_okay=False, path_type=Path),
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


def emit(as_json: bool, data: dict[str, Any], text: str | Callable[[], str] | None = None) -> None:
    """Render a result: JSON on stdout with --json, else human text."""
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False, default=str))
    elif text is not None:
        click.echo(text() if callable(text) else text)


def note(message: str) -> None:
    """Progress or status for humans: stderr, so stdout stays clean for data and --json."""
    click.echo(message, err=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``xinan`` command (errors are mapped by :class:`XinanGroup`)."""
    from xinan.process import disable_core_dumps

    disable_core_dumps()  # before any passphrase is read (issue 11)
    source = Passphrases()
    while True:  # a passphrase mistyped at the prompt: run again (at most three tries)
        with contextlib.suppress(RetryCommand):
            app.main(args=argv, prog_name="xinan", obj=source)
