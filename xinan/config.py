"""A party's working-directory configuration, ``xinan.toml`` (docs/config.md).

This module owns the file's format: how it is found, parsed (strictly: an unknown key, a
wrong type or a missing version marker is refused, naming the file and the key) and
written. Paths in the file are relative to the file's own directory, so a working directory
can be moved or reached from anywhere through ``$XINAN_CONFIG``.

It does not decide what a command does with the settings: the command line fills the
options a user left out (command line, then the environment, then this file), and
:mod:`xinan.party_setup` writes the file when it sets a party up. The file holds no secret:
no passphrase and no token — only where things are and who acts by default.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from xinan.errors import ConfigError
from xinan.fileio import write_text_atomic

FORMAT = "xinan-config/1"
FILENAME = "xinan.toml"
ENV_VAR = "XINAN_CONFIG"
PARTIES = ("provider", "platform", "querent", "auditor")

# key -> (is a path, required)
_KEYS: dict[str, tuple[bool, bool]] = {
    "format": (False, True),
    "party": (False, True),
    "keyring": (True, True),
    "audit_log": (True, True),
    "identity": (False, True),
    "vault": (True, False),
    "pseudonym_key": (False, False),
    "tokens": (True, False),
    "policy": (True, False),
}
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Config:
    """A parsed ``xinan.toml``; paths are absolute (resolved against the file's directory)."""

    path: Path
    party: str
    keyring: Path
    audit_log: Path
    identity: str
    vault: Path | None = None
    pseudonym_key: str | None = None
    tokens: Path | None = None
    policy: Path | None = None

    @property
    def directory(self) -> Path:
        return self.path.parent


def _bad(path: Path, key: str | None, what: str, hint: str) -> ConfigError:
    where = f"{path}: key {key!r}: " if key else f"{path}: "
    return ConfigError(where + what, hint=hint)


def parse_config(data: bytes, path: Path) -> Config:
    """Parse the bytes of a config file found at ``path`` (which anchors relative paths)."""
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _bad(
            path, None, f"not a TOML file ({exc})", "fix it, or write a new one: xinan init"
        ) from None
    if doc.get("format") != FORMAT:
        raise _bad(
            path,
            "format",
            f"expected {FORMAT!r}, found {doc.get('format')!r}",
            f'the first line of a xinan config is format = "{FORMAT}" (docs/config.md)',
        )
    for key, value in doc.items():
        if key not in _KEYS:
            raise _bad(path, key, "unknown key", f"known keys: {', '.join(_KEYS)} (docs/config.md)")
        if not isinstance(value, str) or not value:
            raise _bad(path, key, "must be a non-empty string", 'quote the value: key = "…"')
    for key, (_, required) in _KEYS.items():
        if required and key not in doc:
            raise _bad(path, key, "missing", f'add {key} = "…" (docs/config.md)')
    if doc["party"] not in PARTIES:
        raise _bad(
            path, "party", f"unknown party {doc['party']!r}", f"one of: {', '.join(PARTIES)}"
        )
    for key in ("identity", "pseudonym_key"):
        if key in doc and not _ID.fullmatch(doc[key]):
            raise _bad(path, key, f"not a key id: {doc[key]!r}", "use the id given to xinan init")
    base = path.parent

    def where(key: str) -> Path | None:
        v = doc.get(key)
        return None if v is None else (base / Path(v).expanduser()).resolve()

    return Config(
        path=path,
        party=doc["party"],
        keyring=where("keyring") or base,
        audit_log=where("audit_log") or base,
        identity=doc["identity"],
        vault=where("vault"),
        pseudonym_key=doc.get("pseudonym_key"),
        tokens=where("tokens"),
        policy=where("policy"),
    )


def load_config(path: Path) -> Config:
    path = path.expanduser().resolve()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file",
            hint=f"set up a working directory with `xinan init PARTY DIR`, or fix {ENV_VAR} / "
            "--config",
        ) from None
    return parse_config(data, path)


def find_config(explicit: Path | None, *, cwd: Path | None = None) -> Config | None:
    """``--config``, else ``$XINAN_CONFIG``, else ``./xinan.toml`` (only the current
    directory: a config two folders up never acts by surprise), else None."""
    if explicit is not None:
        return load_config(explicit)
    env = os.environ.get(ENV_VAR)
    if env:
        return load_config(Path(env))
    here = (cwd or Path.cwd()) / FILENAME
    return load_config(here) if here.is_file() else None


def _quote(value: str) -> str:
    # TOML basic string: escape the backslash and the quote; control characters are refused
    if any(ord(c) < 0x20 for c in value):
        raise ConfigError(f"a config value holds a control character: {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_config(cfg: Config) -> str:
    """The file's text: relative paths where a path is inside the config's directory."""
    lines = [
        f"# xinan working directory of a {cfg.party} (docs/config.md). No secrets here.",
        f"format = {_quote(FORMAT)}",
    ]
    for f in fields(cfg):
        if f.name == "path":
            continue
        value = getattr(cfg, f.name)
        if value is None:
            continue
        if isinstance(value, Path):
            try:
                value = value.resolve().relative_to(cfg.directory.resolve()).as_posix()
            except ValueError:
                value = str(value.resolve())
        lines.append(f"{f.name} = {_quote(str(value))}")
    return "\n".join(lines) + "\n"


def write_config(cfg: Config) -> Path:
    text = render_config(cfg)
    parse_config(text.encode("utf-8"), cfg.path)  # what we write, we can read back
    write_text_atomic(cfg.path, text)
    return cfg.path


__all__ = [
    "ENV_VAR",
    "FILENAME",
    "FORMAT",
    "PARTIES",
    "Config",
    "find_config",
    "load_config",
    "parse_config",
    "render_config",
    "write_config",
]
