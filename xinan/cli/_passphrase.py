"""Where the command line's passphrases come from, asked once per key per process.

The library asks for a passphrase through a callback, ``passphrase(prompt) -> str``, each
time it unlocks a key. This module is that callback for the command line
(docs/config.md §Passphrases):

1. a key already answered in this process is not asked again (``grant issue`` unlocks the
   security administrator, the platform key and the log key: each is asked once);
2. ``XINAN_PASSPHRASE_<ID>`` (the key id upper-cased, every other character ``_``);
3. ``--passin file:PATH | fd:N | env:VAR`` (as ``openssl -passin``; ``pass:`` is refused:
   a passphrase on the command line is visible to every user in ``ps``);
4. ``$XINAN_PASSPHRASE``;
5. a hidden prompt on the terminal. A passphrase typed there that does not unlock its key
   is forgotten and the command is run again, up to three tries in all; each wrong try is
   counted and logged by the library as any failed unlock is (GB/T 22239-2019 8.1.4.1 b).

A passphrase is never echoed, logged or put in an error message.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from xinan.errors import KeyringError, UsageError

MAX_TRIES = 3
ENV_PREFIX = "XINAN_PASSPHRASE_"

# The library's prompts name the key (grep "passphrase(f" in xinan/): "<id> (<role>)",
# "audit log key <id>", "pseudonym key <id>", and for a new key "new key <id>".
_PROMPTS = (
    re.compile(r"(?:audit log key|pseudonym key|new key) (?P<id>[^\s()]+)"),
    re.compile(r"(?P<id>[^\s()]+) \((?!new\))[^)]*\)"),
)


def key_of(prompt: str) -> str | None:
    """The key id a library prompt names, or None (then the answer is not cached)."""
    for rx in _PROMPTS:
        m = rx.fullmatch(prompt)
        if m:
            return m.group("id")
    return None


def env_name(key_id: str) -> str:
    """``XINAN_PASSPHRASE_<ID>``: ``sec-admin`` → ``XINAN_PASSPHRASE_SEC_ADMIN``."""
    return ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", key_id.upper())


def _first_line(data: bytes, where: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"--passin {where}: not UTF-8 text") from None
    line = text.splitlines()[0] if text else ""
    if not line:
        raise UsageError(f"--passin {where}: empty", hint="put the passphrase on the first line")
    return line


def read_passin(spec: str) -> str:
    """Read a ``--passin`` source once: ``file:PATH``, ``fd:N`` or ``env:VAR``."""
    kind, sep, arg = spec.partition(":")
    if not sep or not arg:
        raise UsageError(
            f"--passin {spec!r}: expected file:PATH, fd:N or env:VAR",
            hint="e.g. --passin file:/run/secrets/xinan (first line of the file)",
        )
    if kind == "file":
        path = Path(arg).expanduser()
        try:
            return _first_line(path.read_bytes(), f"file:{path}")
        except FileNotFoundError:
            raise UsageError(f"--passin file:{path}: no such file") from None
    if kind == "fd":
        if not arg.isdigit():
            raise UsageError(f"--passin fd:{arg}: not a file descriptor number")
        chunks: list[bytes] = []
        fd = int(arg)
        try:
            while chunk := os.read(fd, 4096):
                chunks.append(chunk)
                if b"\n" in chunk:
                    break
        except OSError as exc:
            raise UsageError(f"--passin fd:{fd}: cannot read ({exc.strerror})") from None
        return _first_line(b"".join(chunks), f"fd:{fd}")
    if kind == "env":
        value = os.environ.get(arg)
        if not value:
            raise UsageError(f"--passin env:{arg}: the variable is not set or empty")
        return value
    if kind == "pass":
        raise UsageError(
            "--passin pass:… is refused: a passphrase on the command line is visible in ps",
            hint="use file:PATH, fd:N or env:VAR",
        )
    raise UsageError(f"--passin {spec!r}: unknown source {kind!r}", hint="file:, fd: or env:")


def on_terminal() -> bool:
    """A person can answer a prompt: stdin is a terminal, or (stdin piped, as in
    ``report subject - < id.txt``) stderr is and the hidden prompt reads /dev/tty."""
    return sys.stdin.isatty() or (sys.stderr.isatty() and os.path.exists("/dev/tty"))


class RetryCommand(Exception):
    """A passphrase typed at the prompt was wrong and tries are left: run the command again
    (raised by the CLI's error handler, caught by :func:`xinan.cli.main`)."""


@dataclass
class Passphrases:
    """The passphrase callback of one ``xinan`` process (see the module docstring)."""

    passin: str | None = None
    _cache: dict[str, str] = field(default_factory=dict, repr=False)
    _passin_value: str | None = field(default=None, repr=False)
    _prompted: set[str] = field(default_factory=set)
    _tries: dict[str, int] = field(default_factory=dict)
    last: str | None = None

    def __repr__(self) -> str:  # never show a cached passphrase
        return f"Passphrases(passin={self.passin!r}, keys={sorted(self._cache)})"

    def _from_passin(self) -> str | None:
        if self.passin is None:
            return None
        if self._passin_value is None:  # fd: can be read only once
            self._passin_value = read_passin(self.passin)
        return self._passin_value

    def _scripted(self, key: str | None) -> str | None:
        if key is not None:
            value = os.environ.get(env_name(key))
            if value:
                return value
        return self._from_passin() or os.environ.get("XINAN_PASSPHRASE") or None

    def __call__(self, prompt: str) -> str:
        """The passphrase of the key ``prompt`` names (the library's callback)."""
        key = key_of(prompt)
        self.last = key
        if key is not None and key in self._cache:
            return self._cache[key]
        value = self._scripted(key)
        if value is None:
            value = self._prompt(prompt, confirm=False)
            if key is not None:
                self._prompted.add(key)
        if key is not None:
            self._cache[key] = value
        return value

    def new(self, prompt: str) -> str:
        """A new key's passphrase: ``$XINAN_NEW_PASSPHRASE``, else as :meth:`__call__`
        (scripted), else a prompt asked twice. Remembered for the key's first unlock."""
        key = key_of(prompt)
        value = os.environ.get("XINAN_NEW_PASSPHRASE") or self._scripted(key)
        if value is None:
            value = self._prompt(prompt, confirm=True)
        if key is not None and not prompt.endswith("(new)"):
            self._cache[key] = value
        return value

    def remember(self, key: str, value: str) -> None:
        self._cache[key] = value

    def retry_after_wrong(self) -> bool:
        """Forget the passphrase that just failed; True when it was typed at the prompt and
        another try is allowed (at most :data:`MAX_TRIES` in all)."""
        key = self.last
        if key is None:
            return False
        self._cache.pop(key, None)
        if key not in self._prompted:
            return False
        self._prompted.discard(key)
        self._tries[key] = self._tries.get(key, 1) + 1
        return self._tries[key] <= MAX_TRIES and on_terminal()

    def tries_left(self) -> int:
        return MAX_TRIES - self._tries.get(self.last or "", 1) + 1

    @staticmethod
    def _prompt(prompt: str, *, confirm: bool) -> str:
        if not on_terminal():
            raise KeyringError(
                f"no passphrase for {prompt}",
                hint="scripts: --passin file:PATH|fd:N|env:VAR, XINAN_PASSPHRASE_<ID> or "
                "XINAN_PASSPHRASE (docs/config.md)",
            )
        try:
            value: str = click.prompt(
                f"Passphrase for {prompt}", hide_input=True, confirmation_prompt=confirm, err=True
            )
        except click.exceptions.Abort:
            raise KeyringError(
                f"no passphrase for {prompt}",
                hint="type it at the prompt, or give it the scripted way (docs/config.md)",
            ) from None
        return value


__all__ = [
    "MAX_TRIES",
    "Passphrases",
    "RetryCommand",
    "env_name",
    "key_of",
    "on_terminal",
    "read_passin",
]
