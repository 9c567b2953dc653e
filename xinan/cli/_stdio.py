"""``-`` as an input in every command that reads a file (docs/cli-streams.md).

Two cases, because inputs are read in two ways:

* a **record file** (``mask -``, ``seal -``, ``scan -``): the command reads its header first
  (to ask only for the keys the job needs), then the job streams it. Standard input cannot
  be read twice, so :func:`replayable_stdin` keeps the bytes read before :func:`rewind` in
  memory (the header and the reader's first sample: bounded, never the whole input) and
  serves them again to the job. Clear records never touch the disk.
* an **artifact** (a package, a grant, a certificate, a proof): the library verifies it as a
  file (several passes: signature, then every record), so :func:`input_file` copies standard
  input once to a private temporary file (directory 0700, file 0600, removed afterwards).
  Artifacts are sealed or public; the copy is the same bytes the sender would have stored.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

STDIN = "-"
# How an error shows a private copy of standard input: by what the user typed, not by the
# temporary path nobody chose (and which is gone when the message is read).
STDIN_LABEL = "<stdin>"
# Every copy's path made in this process. Kept after the copy is removed: an error is
# rendered after the command's context (and with it the copy) has closed.
_copies: set[str] = set()
# An input that sends more than this before its header is complete is not a record file.
_REPLAY_LIMIT = 64 << 20


class _Replay(io.RawIOBase):
    """Standard input that remembers what was read until :meth:`rewind`, then replays it."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._kept = bytearray()
        self._recording = True
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not self._recording and self._pos < len(self._kept):
            n = min(len(view), len(self._kept) - self._pos)
            view[:n] = self._kept[self._pos : self._pos + n]
            self._pos += n
            return n
        data = self._raw.read(len(view))
        if not data:
            return 0
        n = len(data)
        view[:n] = data
        if self._recording:
            if len(self._kept) + n > _REPLAY_LIMIT:
                raise OSError("standard input: the header was not found in its first 64 MiB")
            self._kept += data
        return n

    def rewind(self) -> None:
        self._recording = False
        self._pos = 0


@contextmanager
def replayable_stdin(path: str | os.PathLike[str]) -> Iterator[Callable[[], None]]:
    """Within the block, standard input can be read from its start a second time: call the
    function it yields between the first reading (the header) and the second (the job).
    For any other path the function does nothing."""
    if os.fspath(path) != STDIN:
        yield lambda: None
        return
    saved = sys.stdin
    replay = _Replay(saved.buffer)
    # Every wrapper stays referenced until the end and is detached then: a wrapper collected
    # earlier would close the shared replay stream under the next reader.
    wrappers: list[io.TextIOWrapper[io.BufferedReader]] = []

    def wrap() -> None:
        wrappers.append(io.TextIOWrapper(io.BufferedReader(replay), encoding="utf-8"))
        sys.stdin = wrappers[-1]

    def rewind() -> None:
        replay.rewind()
        wrap()

    wrap()
    try:
        yield rewind
    finally:
        sys.stdin = saved
        for w in wrappers:
            with contextlib.suppress(ValueError):  # already detached by a reader
                w.detach().detach()


@contextmanager
def input_file(path: Path | str, what: str = "input") -> Iterator[Path]:
    """``path`` itself, or for ``-`` a private temporary copy of standard input (removed when
    the block ends) for the library to verify as a file."""
    if os.fspath(path) != STDIN:
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix="xinan-stdin-") as directory:  # mode 0700
        copy = Path(directory) / f"stdin-{what}"
        _copies.add(str(copy))
        _copy_stdin(copy)
        yield copy


def _copy_stdin(copy: Path) -> None:
    """Standard input, whole, into the new private file ``copy`` (0600)."""
    fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)


def copy_pending_stdin(ctx: click.Context) -> None:
    """Make the copy of standard input an :class:`InputPath` asked for, now that every
    parameter of the line has been converted (and none other claims standard input)."""
    for copy in ctx.find_root().meta.pop("xinan.stdin.pending", []):
        copy()


def show_stdin(text: str) -> str:
    """``text`` with the path of every private copy of standard input shown as ``<stdin>``."""
    for path in _copies:
        text = text.replace(path, STDIN_LABEL)
    return text


def _label(param: click.Parameter | None, default: str) -> str:
    """How the user typed the parameter: ``--policy`` for an option, ``FILE`` for an argument."""
    if isinstance(param, click.Option):
        return max(param.opts, key=len)
    return param.human_readable_name if param is not None else default


def claim_stdin(ctx: click.Context | None, name: str) -> None:
    """Mark standard input as read for parameter ``name``; a usage error when another
    parameter of the same command line has it already (it can be read once)."""
    if ctx is None:
        return
    root = ctx.find_root()
    first = root.meta.get("xinan.stdin")
    if first:
        from xinan.errors import UsageError

        raise UsageError(
            f"standard input is already read for {first}: {name} cannot read it too",
            hint="give one of them as a file path",
        )
    root.meta["xinan.stdin"] = name


def passin_reads_stdin(spec: str) -> bool:
    """Whether a ``--passin`` source is standard input (``fd:0``, ``file:/dev/stdin`` …): it
    then claims standard input like a ``-`` does."""
    kind, _, arg = spec.partition(":")
    if kind == "fd":
        return arg.strip() == "0"
    return kind == "file" and arg in ("-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0")


def claim_stdin_for_passin(ctx: click.Context, spec: str) -> None:
    """``--passin`` (at the root or after the command) reading standard input claims it."""
    if passin_reads_stdin(spec) and ctx.find_root().meta.get("xinan.stdin") != "--passin":
        claim_stdin(ctx, "--passin")


def read_bytes(path: Path | str) -> bytes:
    """The bytes of ``path``, or of standard input for ``-`` (a proof, a certificate: small
    artifacts read whole)."""
    if os.fspath(path) == STDIN:
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


# -- file parameters: `-` accepted (a private copy) or refused with the reason ----------------

LOG_NOT_STDIN = (
    "an audit log is read with the files beside it (its checkpoints, configuration and "
    "signer), which standard input cannot carry"
)
CONFIG_NOT_STDIN = "a working directory's config names files relative to its own folder"


class InputPath(click.Path):
    """A file the command reads, as click.Path(exists=True): ``-`` is standard input, copied
    once to a private temporary file (directory 0700, file 0600, removed when the command
    ends) that the command reads as a path. For artifacts only — packages, grants, releases,
    change files, signatures, proofs, backups, public keys: sealed, signed or public bytes.
    Clear records from standard input are streamed, never copied (:func:`replayable_stdin`).
    Standard input can be read once: a second ``-`` on the line is a usage error."""

    def __init__(self, what: str = "input", *, exists: bool = True) -> None:
        super().__init__(exists=exists, dir_okay=False, allow_dash=True, path_type=Path)
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if os.fspath(value) != STDIN or ctx is None:
            return super().convert(value, param, ctx)
        root = ctx.find_root()
        claim_stdin(ctx, _label(param, self.what))
        stack = contextlib.ExitStack()
        root.call_on_close(stack.close)
        if not getattr(ctx.command, "copies_stdin_after_parsing", False):
            return stack.enter_context(input_file(STDIN, self.what))
        # The copy is made once every parameter is converted (XinanCommand.parse_args): a
        # second `-` later on the line (a record file, streamed) is refused before anything of
        # standard input is written to disk (eager options such as --policy convert first).
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="xinan-stdin-")))
        copy = directory / f"stdin-{self.what}"
        _copies.add(str(copy))
        root.meta.setdefault("xinan.stdin.pending", []).append(lambda: _copy_stdin(copy))
        return copy


class RecordsArg(click.types.StringParamType):
    """A record file's path as typed; ``-`` (standard input, streamed by the command through
    :func:`replayable_stdin`) is claimed so that no other parameter reads it too."""

    name = "file"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value == STDIN:
            claim_stdin(ctx, _label(param, "FILE"))
        return super().convert(value, param, ctx)


class DashPath(click.Path):
    """click.Path(allow_dash=True) for an artifact the command reads from standard input
    itself (a package, a proof, a certificate, a public key): ``-`` is claimed like
    :class:`RecordsArg`'s."""

    def __init__(self, *, exists: bool = True) -> None:
        super().__init__(dir_okay=False, exists=exists, allow_dash=True, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if os.fspath(value) == STDIN:
            claim_stdin(ctx, _label(param, "FILE"))
        return super().convert(value, param, ctx)


class NotStdin(click.Path):
    """A file the command cannot read from standard input, with the reason: ``-`` is refused
    with a usage error that says why and what to pass instead (docs/cli.md §1)."""

    def __init__(self, why: str, **kwargs: Any) -> None:
        kwargs.setdefault("path_type", Path)
        super().__init__(**kwargs)
        self.why = why

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if os.fspath(value) == STDIN:
            from xinan.errors import UsageError

            raise UsageError(f"{value}: {self.why}", hint="name the file by its path")
        return super().convert(value, param, ctx)
