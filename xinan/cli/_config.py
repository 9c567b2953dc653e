"""The working directory's ``xinan.toml`` as the command line's defaults (docs/config.md).

Precedence, for every setting: the command line, then the environment, then the config
file, then the built-in default. The global options (keyring, audit log, identity) are
filled here; the per-command options a config knows (``--vault``, ``--pseudonym-key``,
``--policy``) through click's ``default_map``, which click consults after the command line
and the environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from xinan.cli._app import Env
from xinan.config import Config, find_config

# a command parameter's name -> how the config fills it
_PARAMS = ("vault_dir", "pseudonym_keys", "policy_path")


def _value(cfg: Config, param: click.Parameter) -> Any:
    if param.name == "vault_dir":
        return cfg.vault
    if param.name == "pseudonym_keys":
        return [cfg.pseudonym_key] if cfg.pseudonym_key else None
    if param.name == "policy_path":  # the library reads $XINAN_POLICY itself: it comes first
        return None if os.environ.get("XINAN_POLICY") else cfg.policy
    return None


def command_defaults(group: click.Group, cfg: Config) -> dict[str, Any]:
    """A ``default_map`` for every command under ``group`` that has an option the config
    fills (nested by command name, as click looks it up)."""
    out: dict[str, Any] = {}
    for name, cmd in group.commands.items():
        # a group's own options (``destroy --expired``) sit beside its subcommands' maps
        values: dict[str, Any] = command_defaults(cmd, cfg) if isinstance(cmd, click.Group) else {}
        for p in cmd.params:
            if p.name in _PARAMS:
                v = _value(cfg, p)
                if v is not None:
                    values[p.name] = [str(x) for x in v] if isinstance(v, list) else str(v)
        if values:
            out[name] = values
    return out


def _from_line_or_env(ctx: click.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source in (
        click.core.ParameterSource.COMMANDLINE,
        click.core.ParameterSource.ENVIRONMENT,
    )


def apply_config(ctx: click.Context, env: Env, explicit: Path | None) -> None:
    """Find the config (``--config``, ``$XINAN_CONFIG``, ``./xinan.toml``) and fill what the
    user did not give. No config: nothing changes (the pre-config defaults hold)."""
    cfg = find_config(explicit)
    if cfg is None:
        return
    env.config = cfg
    if not _from_line_or_env(ctx, "keyring"):
        env.keyring = cfg.keyring
    if env.audit_log is None:
        env.audit_log = cfg.audit_log
    if env.identity is None:
        env.identity = cfg.identity
    if isinstance(ctx.command, click.Group):  # the root group's callback
        ctx.default_map = command_defaults(ctx.command, cfg)


def token_dir(env: Env) -> Path | None:
    """The administrators' token directory: ``$XINAN_TOKEN_DIR``, else the config's."""
    directory = os.environ.get("XINAN_TOKEN_DIR")
    if directory:
        return Path(directory)
    return env.config.tokens if env.config is not None else None


__all__ = ["apply_config", "command_defaults", "token_dir"]
