"""Options and small helpers shared by the command modules (parsing only, no logic)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from xinan.access import Actor, Session
from xinan.audit.note import NoteVerifier, looks_like_vkey, parse_vkeys, read_vkeys

if TYPE_CHECKING:
    from xinan.authn import Token, TokenSource
from xinan.cli._app import Env
from xinan.cli._stdio import InputPath
from xinan.errors import KeyringError, UsageError
from xinan.i18n.dates import parse_date
from xinan.i18n.dates import parse_datetime as parse_cn_datetime
from xinan.masking import Pseudonymizer
from xinan.platform import Platform, PlatformContext
from xinan.policy.catalogue import Policy

F = TypeVar("F", bound=Callable[..., Any])
A = TypeVar("A", bound=Actor)


def policy_option(f: F) -> F:
    return click.option(
        "--policy",
        "policy_path",
        type=InputPath("policy", exists=False),
        default=None,
        is_eager=True,  # read before --kind, which names a kind of this policy
        help="Policy file (else $XINAN_POLICY, else the built-in credit-default).",
    )(f)


def kind_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--kind`` as typed: the kind's key, or its Chinese name in the policy (``行政处罚`` ≡
    ``penalty``); the library refuses a name that is neither, listing the kinds."""
    if not value:
        return value
    from xinan.policy.catalogue import load_policy
    from xinan.policy.kind_names import resolve_kind

    return resolve_kind(load_policy(ctx.params.get("policy_path")), value)


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return parse_date(value)  # YYYY-MM-DD or 2027年6月30日
    except ValueError:
        raise click.BadParameter("expected YYYY-MM-DD or 2027年6月30日") from None


def today_option(f: F) -> F:
    """``--today`` fixes the clock (birth dates in the future, windows); default: today."""
    return click.option(
        "--today",
        callback=_parse_date,
        envvar="XINAN_TODAY",
        default=None,
        metavar="YYYY-MM-DD",
        help="Treat this date as today (else $XINAN_TODAY, else the system date).",
    )(f)


def parse_audiences(values: Iterable[str], policy: Policy) -> list[str]:
    out: list[str] = []
    for v in values:
        for part in v.split(","):
            a = part.strip()
            if not a:
                continue
            if a == "all":
                out.extend(x for x in policy.audiences if x not in out)
                continue
            if a not in policy.audiences:
                raise UsageError(
                    f"unknown audience {a!r}", hint=f"known: {', '.join(policy.audiences)}"
                )
            if a not in out:
                out.append(a)
    if not out:
        raise UsageError("no audience given", hint=f"one of: {', '.join(policy.audiences)}")
    return out


def read_passphrase(what: str) -> str:
    """The library's passphrase callback: each key asked once per process, from
    ``XINAN_PASSPHRASE_<ID>``, ``--passin``, ``$XINAN_PASSPHRASE`` or a hidden prompt
    (xinan/cli/_passphrase.py). Never echoed, never logged."""
    return _env().passphrases(what)


def read_new_passphrase(what: str) -> str:
    """A new passphrase: $XINAN_NEW_PASSPHRASE, else the scripted sources, else a hidden
    prompt asked twice."""
    return _env().passphrases.new(what)


def _env() -> Env:
    from xinan.cli._app import get_env

    try:
        return get_env()
    except RuntimeError:  # no click context (a library caller of these helpers)
        return Env(keyring=Env.default_keyring(), audit_log=None, identity=None, verbose=False)


def load_pseudonymizers(
    env: Env, refs: Sequence[str], needed: set[str]
) -> dict[str, Pseudonymizer]:
    """Unlock the pseudonym keys a job needs: one key serves every namespace it is given for.

    ``refs`` are keyring ids or key ids (``--pseudonym-key``); ``NS=REF`` binds one namespace.
    """
    if not needed:
        return {}
    if not refs:
        raise KeyringError(
            f"this job writes keyed pseudonyms (namespace {', '.join(sorted(needed))}) and needs "
            "a pseudonym key",
            hint="create one with `xinan keygen --id subject-ps --role pseudonym --suite intl`, "
            "then pass --pseudonym-key subject-ps (or set XINAN_PSEUDONYM_KEY)",
        )
    from xinan.keys import Keyring

    ring = Keyring(env.keyring)
    out: dict[str, Pseudonymizer] = {}
    default: Pseudonymizer | None = None
    for ref in refs:
        ns, _, key_ref = ref.rpartition("=")
        secret = ring.secret(key_ref, read_passphrase(f"pseudonym key {key_ref}"))
        if ns:
            out[ns] = secret
        else:
            default = secret
    for ns in needed:
        if ns not in out:
            if default is None:
                raise KeyringError(
                    f"no pseudonym key for namespace {ns!r}",
                    hint=f"pass --pseudonym-key {ns}=KEY_ID",
                )
            out[ns] = default
    return out


def utc_now() -> datetime:
    """The CLI's clock (the library takes its clock as a parameter; this is the boundary)."""
    return datetime.now(UTC)


def read_tokens() -> TokenSource:
    """Where an administrator's second factor comes from (GB/T 22239-2019 8.1.4.1 d):
    ``$XINAN_TOKEN`` (a token file), else ``$XINAN_TOKEN_DIR`` (``<id>.token`` files, for
    scripts acting as several administrators), else the working directory's ``tokens``
    (docs/config.md), else a prompt for the token file's path."""
    from xinan.authn import TokenDir, tokens_from_environment
    from xinan.cli._config import token_dir

    found = tokens_from_environment()
    if found is not None:
        return found
    directory = token_dir(_env())  # the working directory's tokens (xinan init)
    return TokenDir(directory) if directory is not None else _prompt_token


def _prompt_token(holder: str) -> Token | None:
    from xinan.authn import Token

    if not sys.stdin.isatty():  # a script without XINAN_TOKEN: no factor, refused (and logged)
        return None
    try:
        path: str = click.prompt(
            f"Token file for {holder}", err=True, default="", show_default=False
        )
    except click.exceptions.Abort:
        return None
    return Token.load(Path(path)) if path else None


def token_out(path: Path | None) -> Callable[[str], Path] | None:
    """Where a new administrator's token is written: ``--token-out``, else
    ``$XINAN_TOKEN_DIR/<id>.token``, else the config's ``tokens``, else nowhere (the library
    then refuses)."""
    if path is not None:
        return lambda _holder: path
    from xinan.cli._config import token_dir

    directory = token_dir(_env())
    if directory is not None:
        return lambda holder: directory / f"{holder}.token"
    return None


def key_session(env: Env, operation: str = "key.manage") -> Session | None:
    """Key management acts as the system administrator once the keyring is bootstrapped, on
    the log the keyring is bound to (not the one --audit-log names). Before the bootstrap no
    identity can act and key commands run unlogged: the bootstrap lists what they made."""
    from xinan.key_management import admin_session
    from xinan.keys import Keyring
    from xinan.roster import is_bootstrapped

    ring = Keyring(env.keyring)
    if not is_bootstrapped(ring):
        return None
    return admin_session(
        ring,
        identity=env.identity,
        passphrase=read_passphrase,
        clock=utc_now,
        tokens=read_tokens(),
        operation=operation,
    )


def parse_datetime(value: str) -> datetime:
    try:
        return parse_cn_datetime(value)  # ISO 8601, or 2027年6月30日 [08:00+08:00]
    except ValueError:
        raise UsageError(
            f"not a date/time: {value!r}", hint="use ISO 8601, e.g. 2026-01-31T12:00:00+08:00"
        ) from None


def platform_context(
    env: Env, vault_dir: Path | None, policy_path: Path | None = None
) -> PlatformContext:
    """What opening the platform as ``--as`` needs, from the command line and environment."""
    from xinan.keys import Keyring

    return PlatformContext(
        vault=vault_dir,
        keyring=Keyring(env.keyring),
        identity=env.identity,
        passphrase=read_passphrase,
        clock=utc_now,
        audit_log=env.audit_log,
        policy=policy_path,
        tokens=read_tokens(),
    )


def open_platform(env: Env, vault_dir: Path | None, policy_path: Path | None = None) -> Platform:
    """The platform opened as ``--as``: the library checks roles and writes every audit
    entry; the command only renders what it returns."""
    return Platform.open(platform_context(env, vault_dir, policy_path))


def open_actor(env: Env, party: type[A]) -> A:
    """``--as`` acting through the library as ``party`` (Provider, Querent, Desk, Auditor):
    the party's operations check the role and write every audit entry."""
    from xinan.keys import Keyring

    return party.open(
        keyring=Keyring(env.keyring),
        identity=env.identity,
        passphrase=read_passphrase,
        audit_log=env.log_path(),
        clock=utc_now,
        tokens=read_tokens(),
    )


def verifier_keys(arg: str) -> list[NoteVerifier]:
    """A ``--key VKEY|FILE`` argument: the vkey when it has a vkey's shape, else the file of
    vkeys it names. The library never guesses whether data is a path (issue 11); this is the
    one place the command line does."""
    return parse_vkeys(arg) if looks_like_vkey(arg) else read_vkeys(arg)


def workers_option(f: F) -> F:
    """``--workers N``: worker processes of the batch engine (default: every core)."""
    return click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=None,
        help="Worker processes (default: every core). The output is the same for any number.",
    )(f)


OUTPUT_ENCODINGS = ("utf-8-sig", "utf-8", "gb18030", "gbk")


def output_encoding_option(*aliases: str) -> Callable[[F], F]:
    """``--output-encoding``: the one name, in every command that writes CSV, for the
    encoding of what it writes (issue 15 item 6); ``aliases`` keep a command's older name
    working (``--out-encoding``, ``--encoding``). Not given: :func:`output_encoding`."""

    def decorate(f: F) -> F:
        return click.option(
            "--output-encoding",
            *aliases,
            "output_encoding",
            type=click.Choice(OUTPUT_ENCODINGS, case_sensitive=False),
            default=None,
            help="Encoding of CSV output: utf-8-sig (UTF-8 with a BOM, so that Excel opens it; "
            "the default for files), utf-8 (the default on stdout), gb18030 or gbk. "
            "A name ending .xlsx writes an Excel workbook instead.",
        )(f)

    return decorate


def output_encoding(path: str | Path, chosen: str | None) -> str:
    """The encoding an output gets: the one chosen, else UTF-8 with a BOM for a CSV file
    (Excel in China opens a CSV without one as GBK and garbles it), plain UTF-8 on stdout
    (a pipe wants no BOM) and for JSON Lines, which never starts with one."""
    if chosen:
        return chosen.lower()
    name = str(path)
    if name == "-" or Path(name).suffix.lower() in (".jsonl", ".json", ".xlsx", ".parquet"):
        return "utf-8"
    return "utf-8-sig"
