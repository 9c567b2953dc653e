"""Atomic file output: a crash never leaves a half-written file under its final name.

This module owns how xinan puts bytes on disk (DEVELOPING.md, "Files"): every output is written
to a temporary file in the destination directory, flushed and ``fsync``-ed, renamed over the
final name with :func:`os.replace` (atomic on POSIX and on Windows within one volume), and then
the directory itself is ``fsync``-ed so that the rename survives a power cut.

* Temporary names are ``.<final name>.xinan-<16 hex>.tmp``: hidden, obviously temporary, unique
  (created with ``O_EXCL``, so an existing file or a planted symlink is never followed or reused)
  and recognisable by :func:`clean_stale_temps`.
* ``secret=True`` creates the file with mode 0600 from the first byte (never 0644 then chmod),
  and forces exactly 0600 whatever the umask. Otherwise the file is created with mode 0644,
  narrowed by the process umask as for any new file. The mode of a file being replaced is not
  carried over.
* On any exception (including ``KeyboardInterrupt``) the temporary file is removed and the final
  name keeps its previous content, or stays absent.
* The path ``"-"`` means standard output: no temporary file and no atomicity.
* **No output replaces a protected file** (issue 11): the audit log and its sidecars, the
  vault's files, key files and the input a command is reading are registered here by the
  parts that own them (:func:`protect`, :func:`protected`, :func:`open_input`), and every
  output is checked against them by real path and by device and inode
  (:func:`check_output`) before anything is written and again before the rename. The library
  decides; a CLI only passes paths.

It does not own what is written (see :mod:`xinan.records` for record formats) nor locking: two
writers racing for one final name each produce a whole file and the last rename wins.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from xinan.errors import (  # re-exported: the classes live in xinan.errors
    ProtectedOutputError,
)

__all__ = [
    "STDIO",
    "ProtectedOutputError",
    "atomic_writer",
    "check_output",
    "clean_stale_temps",
    "open_input",
    "protect",
    "protected",
    "write_bytes_atomic",
    "write_text_atomic",
]

#: The path that means standard input / standard output.
STDIO = "-"

_TEMP_SUFFIX = ".tmp"
_TEMP_MARK = ".xinan-"
# The visible part of the final name kept in a temp name: NAME_MAX is 255 bytes on the common
# file systems and the decoration adds 30 characters; 60 characters of (possibly CJK, 3-byte)
# name stay well inside it.
_TEMP_NAME_KEEP = 60
_TEMP_RE = re.compile(r"\A\..*\.xinan-[0-9a-f]{16}\.tmp\Z", re.DOTALL)


def _temp_name(final: Path) -> Path:
    token = secrets.token_hex(8)
    return final.with_name(f".{final.name[:_TEMP_NAME_KEEP]}{_TEMP_MARK}{token}{_TEMP_SUFFIX}")


def _fsync_directory(directory: Path) -> None:
    """Make a rename in *directory* durable (POSIX: the entry lives in the directory)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:  # Windows cannot open a directory; its rename is durable on its own
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems (and all of Windows) refuse fsync on a directory
        pass
    finally:
        os.close(fd)


def _open_temp(final: Path, secret: bool) -> tuple[Path, int]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    mode = 0o600 if secret else 0o644
    for _ in range(8):  # a collision of 64 random bits means something else is wrong
        temp = _temp_name(final)
        try:
            fd = os.open(temp, flags, mode)
        except FileExistsError:
            continue
        if secret and hasattr(os, "fchmod"):
            # The umask can only remove bits, but "exactly 0600" is the contract for secrets.
            os.fchmod(fd, 0o600)
        return temp, fd
    raise FileExistsError(f"could not create a unique temporary file next to {final}")


def _is_special(path: Path) -> bool:
    """True when *path* exists and is a device, pipe or socket (not a regular file or link)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _text(encoding: str, newline: str | None) -> dict[str, Any]:
    return {"encoding": encoding, "newline": newline}


@contextmanager
def atomic_writer(
    path: str | Path,
    *,
    binary: bool = False,
    encoding: str = "utf-8",
    newline: str | None = "",
    secret: bool = False,
    owner: str | None = None,
) -> Iterator[IO[Any]]:
    """Open *path* for writing so that it appears whole or not at all.

    Yields a file object (text with *encoding* and *newline*, or binary when *binary*). When the
    ``with`` block ends normally the data is flushed, ``fsync``-ed and renamed over *path*, and
    the directory is ``fsync``-ed. When it raises, the temporary file is removed, *path* is left
    as it was, and the exception propagates.

    ``path == "-"`` yields standard output (``sys.stdout``, or its binary buffer) and only
    flushes it at the end: there is nothing atomic about a pipe.

    Raises :class:`ProtectedOutputError` if *path* names a protected file (see
    :func:`protect`), unless *owner* is the owner that protected it (a keyring rewriting its
    own key file).
    """
    if str(path) == STDIO:
        if binary:
            sys.stdout.flush()  # keep text already written ahead of our bytes
            yield sys.stdout.buffer
            sys.stdout.buffer.flush()
        else:
            yield sys.stdout
            sys.stdout.flush()
        return

    final = Path(path)
    check_output(final, owner=owner)
    if _is_special(final):
        # A device or a pipe (-o /dev/null, a named pipe): written in place. Renaming a
        # temporary file over it would replace the device itself with a regular file (as root,
        # /dev/null for every process on the machine); there is nothing atomic about a pipe.
        with final.open(
            "wb" if binary else "w", **({} if binary else _text(encoding, newline))
        ) as f:
            yield f
        return
    temp, fd = _open_temp(final, secret)
    try:
        if binary:
            handle: IO[Any] = os.fdopen(fd, "wb")
        else:
            handle = os.fdopen(fd, "w", encoding=encoding, newline=newline)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        check_output(final, owner=owner)  # again: an input may have been opened meanwhile
        os.replace(temp, final)
    except BaseException:
        # Covers the caller's exception, a failed flush (disk full) and a failed rename alike.
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_directory(final.parent)


def write_bytes_atomic(
    path: str | Path, data: bytes, *, secret: bool = False, owner: str | None = None
) -> None:
    """Write *data* to *path* atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path, binary=True, secret=secret, owner=owner) as handle:
        handle.write(data)


def write_text_atomic(
    path: str | Path,
    text: str,
    *,
    encoding: str = "utf-8",
    newline: str | None = "",
    secret: bool = False,
) -> None:
    """Write *text* to *path* atomically (see :func:`atomic_writer`).

    With the default ``newline=""`` the text is written as given: no ``\\n`` translation.
    """
    with atomic_writer(path, encoding=encoding, newline=newline, secret=secret) as handle:
        handle.write(text)


def clean_stale_temps(directory: str | Path, *, older_than: float = 3600.0) -> list[Path]:
    """Remove temporary files that a crashed xinan writer left in *directory*.

    Only names that :func:`atomic_writer` makes (``.<name>.xinan-<16 hex>.tmp``) and only files
    last modified more than *older_than* seconds ago are removed, so a writer still at work is
    left alone. Returns the paths removed.
    """
    removed: list[Path] = []
    cutoff = time.time() - older_than
    with os.scandir(directory) as entries:
        for entry in entries:
            if not _TEMP_RE.match(entry.name):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                if entry.stat(follow_symlinks=False).st_mtime > cutoff:
                    continue
                os.unlink(entry.path)
            except FileNotFoundError:
                continue  # removed by someone else meanwhile
            removed.append(Path(entry.path))
    return removed


# -- the no-overwrite guard (issue 11: no command writes over its input or the evidence) -------


@dataclass(frozen=True)
class _Protected:
    what: str  # what the file is, for the message ("the audit log", "the input", ...)
    owner: str | None  # the module that may still replace it (see atomic_writer's owner=)
    suffixes: tuple[str, ...] | None  # for a directory: which names in it (None: every file)


_lock = threading.Lock()
# real path -> protections (counted: the same input may be read twice at once)
_files: dict[str, Counter[_Protected]] = {}
_dirs: dict[str, Counter[_Protected]] = {}


def _real(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.fspath(path))


def protect(
    path: str | os.PathLike[str],
    what: str,
    *,
    owner: str | None = None,
    directory: bool = False,
    suffixes: Sequence[str] | None = None,
) -> Callable[[], None]:
    """Refuse, from now on, every :func:`atomic_writer` output that resolves to ``path``.

    The match is by real path (symbolic links resolved) and, for a file that exists, by
    device and inode as well (a hard link names the same file). With ``directory``, every
    file directly in that directory is protected (or only names ending in ``suffixes``).
    ``owner`` names the one writer that may still replace it (``owner=`` of
    :func:`atomic_writer`). Returns the function that lifts this one protection again;
    protecting the same path the same way twice is counted, never duplicated.
    """
    entry = _Protected(what, owner, tuple(suffixes) if suffixes is not None else None)
    table = _dirs if directory else _files
    key = _real(path)
    with _lock:
        table.setdefault(key, Counter())[entry] += 1
    released = False

    def release() -> None:
        nonlocal released
        with _lock:
            entries = table.get(key)
            if released or entries is None:
                return
            released = True
            entries[entry] -= 1
            if entries[entry] <= 0:
                del entries[entry]
            if not entries:
                del table[key]

    return release


@contextmanager
def protected(path: str | os.PathLike[str], what: str) -> Iterator[None]:
    """Protect ``path`` for the duration of the ``with`` block (e.g. while it is read)."""
    if os.fspath(path) == STDIO:
        yield
        return
    release = protect(path, what)
    try:
        yield
    finally:
        release()


@contextmanager
def open_input(
    path: str | os.PathLike[str], what: str = "the input"
) -> Iterator[io.BufferedReader]:
    """Open ``path`` for reading; while it is open no output may replace it."""
    with protected(path, what), Path(path).open("rb") as f:
        yield f


def check_output(path: str | os.PathLike[str], *, owner: str | None = None) -> None:
    """Raise :class:`ProtectedOutputError` if writing ``path`` would replace a protected file.

    Called by :func:`atomic_writer` for every output; callers may call it earlier to refuse
    before any work is done.
    """
    if os.fspath(path) == STDIO:
        return
    real = _real(path)
    try:
        st: os.stat_result | None = os.stat(real)
    except OSError:
        st = None
    parent, name = os.path.split(real)
    # A snapshot of the protected files (few: released when their reader or log closes; each
    # is stat()ed below) and of this directory's protections only (one per keyring and vault
    # opened in this process, never released: copying them all cost a long-lived process
    # time in proportion to every directory it ever opened).
    with _lock:
        files = {k: list(v) for k, v in _files.items()}
        in_dir = list(_dirs.get(parent, ()))
    hits: list[_Protected] = list(files.get(real, []))
    if st is not None:
        for other, entries in files.items():
            if other == real:
                continue
            try:
                ost = os.stat(other)
            except OSError:
                continue
            if (ost.st_dev, ost.st_ino) == (st.st_dev, st.st_ino):
                hits += entries
    for e in in_dir:
        if e.suffixes is None or name.endswith(e.suffixes):
            hits.append(e)
    hits = [e for e in hits if owner is None or e.owner != owner]
    if hits:
        raise ProtectedOutputError(
            f"{path}: refusing to write over {hits[0].what}",
            hint="choose another output path: no command writes over its input, the audit "
            "log, the vault's files or a key file",
        )
