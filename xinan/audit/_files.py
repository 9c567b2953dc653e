"""How the audit log touches the disk: one write per record, fsync, exclusive new files.

Owns the low-level file operations of docs/audit-log.md §1 and §6: a record lands with one
``os.write`` (whole, or cut by an OS crash and detected), new files (quarantine files, the
temporary files of pruning) are created ``O_EXCL | O_NOFOLLOW`` under unpredictable names, and
renames are made durable by fsyncing the directory. Does not own what is written.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from xinan.errors import AuditError

__all__ = ["CLOEXEC", "NOFOLLOW", "atomic_replace", "create_exclusive", "fsync_dir", "write_all"]

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def fsync_dir(path: Path) -> None:
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    # One os.write: with O_APPEND a record lands whole or (if the OS crashes) is cut, and the
    # cut is detected as a torn tail. A short write is a failure, never retried piecemeal.
    n = os.write(fd, data)
    if n != len(data):
        raise OSError(f"short write ({n} of {len(data)} bytes)")


def create_exclusive(directory: Path, stem: str, data: bytes) -> Path:
    """Write ``data`` to a new file ``<stem>-<32 hex>`` in ``directory``, fsynced.

    Created with ``O_EXCL | O_NOFOLLOW`` under a name nobody can predict, so a file or a
    symbolic link planted in advance is never followed, reused or overwritten (issue 11).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | CLOEXEC
    for _ in range(8):
        path = directory / f"{stem}-{secrets.token_hex(16)}"
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            continue
        try:
            write_all(fd, data)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise
        os.close(fd)
        fsync_dir(path)
        return path
    raise AuditError(f"{directory}: cannot create a fresh file for {stem}")


def atomic_replace(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` through an exclusively created temporary file."""
    tmp = create_exclusive(path.parent, f".{path.name}.tmp", data)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path)
