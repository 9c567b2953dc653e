"""Atomic file output (xinan.fileio): whole or nothing, 0600 secrets, crash leaves no half file."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from xinan.fileio import atomic_writer, clean_stale_temps, write_bytes_atomic, write_text_atomic

ROOT = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _temps(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def umask() -> Iterator[None]:
    """Run with the usual umask 022 whatever the test runner's is."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_writes_bytes_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    write_bytes_atomic(target, b"\x00\x01data")
    assert target.read_bytes() == b"\x00\x01data"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_text_is_written_untranslated_in_the_encoding(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_text_atomic(target, "信安\r\nline\n", encoding="gb18030")
    assert target.read_bytes() == "信安\r\nline\n".encode("gb18030")


def test_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_temp_file_is_hidden_in_the_same_directory_until_the_end(tmp_path: Path) -> None:
    target = tmp_path / "报告.csv"
    with atomic_writer(target) as handle:
        handle.write("x")
        handle.flush()
        [temp] = _temps(tmp_path)
        assert temp.startswith(".报告.csv.xinan-")
        assert temp.endswith(".tmp")
        assert not target.exists()
    assert target.read_text() == "x"
    assert _temps(tmp_path) == []


def test_exception_mid_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError, match="boom"), atomic_writer(target) as handle:
        handle.write("half a record,")
        handle.flush()
        raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_exception_mid_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_bytes(b"old complete content\n")
    with pytest.raises(KeyboardInterrupt), atomic_writer(target, binary=True) as handle:
        handle.write(b"new partial")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old complete content\n"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_failed_fsync_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        write_text_atomic(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_failed_rename_removes_the_temp(tmp_path: Path) -> None:
    target = tmp_path / "a-directory"
    target.mkdir()
    (target / "inside").write_text("kept")
    with pytest.raises(OSError):
        write_text_atomic(target, "cannot replace a non-empty directory")
    assert (target / "inside").read_text() == "kept"
    assert _temps(tmp_path) == []


def test_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_text_atomic(tmp_path / "no" / "such" / "dir.txt", "x")


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_secret_files_are_0600_even_with_an_open_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_bytes_atomic(tmp_path / "key", b"secret", secret=True)
        write_bytes_atomic(tmp_path / "plain", b"plain")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "key") == 0o600
    assert _mode(tmp_path / "plain") == 0o644


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_secret_mode_holds_while_writing_and_replaces_a_public_file(tmp_path: Path) -> None:
    target = tmp_path / "rejects.csv"
    target.write_text("old")
    target.chmod(0o644)
    with atomic_writer(target, secret=True) as handle:
        [temp] = _temps(tmp_path)
        assert _mode(tmp_path / temp) == 0o600  # from the first byte, not chmod-ed afterwards
        handle.write("clear data")
    assert _mode(target) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.usefixtures("umask")
def test_plain_files_are_0644_narrowed_by_the_umask(tmp_path: Path) -> None:
    write_text_atomic(tmp_path / "a", "x")
    assert _mode(tmp_path / "a") == 0o644
    os.umask(0o077)
    write_text_atomic(tmp_path / "b", "x")
    assert _mode(tmp_path / "b") == 0o600


def test_dash_writes_text_to_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    with atomic_writer("-") as handle:
        handle.write("到标准输出\n")
    assert capfd.readouterr().out == "到标准输出\n"


def test_dash_writes_bytes_to_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    write_bytes_atomic("-", b"raw bytes\n")
    assert capfd.readouterr().out == "raw bytes\n"


def test_clean_stale_temps_removes_only_old_xinan_temps(tmp_path: Path) -> None:
    stale = tmp_path / ".out.csv.xinan-0123456789abcdef.tmp"
    fresh = tmp_path / ".out.csv.xinan-fedcba9876543210.tmp"
    other = tmp_path / "somebody-elses.tmp"
    final = tmp_path / "out.csv"
    for path in (stale, fresh, other, final):
        path.write_text("x")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    assert clean_stale_temps(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [fresh.name, other.name, final.name]
    )
    assert clean_stale_temps(tmp_path, older_than=-1) == [fresh]


_SLOW_WRITER = r"""
import sys, time
from xinan.fileio import atomic_writer
with atomic_writer(sys.argv[1], binary=True) as handle:
    handle.write(b"partial " * 4096)
    handle.flush()
    print("writing", flush=True)
    while True:
        handle.write(b"more " * 1024)
        handle.flush()
        time.sleep(0.01)
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
@pytest.mark.parametrize("existing", [False, True])
def test_kill_9_while_writing_never_leaves_a_partial_file(tmp_path: Path, existing: bool) -> None:
    target = tmp_path / "out.csv"
    if existing:
        target.write_bytes(b"the previous, complete file\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(target)], stdout=subprocess.PIPE, env=env
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"writing\n"
        time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    if existing:
        assert target.read_bytes() == b"the previous, complete file\n"
    else:
        assert not target.exists()
    # All that is left is one obviously temporary file, which the cleaner recognises.
    [temp] = _temps(tmp_path)
    assert temp.startswith(".out.csv.xinan-")
    assert (tmp_path / temp).stat().st_size > 0
    assert clean_stale_temps(tmp_path, older_than=-1) == [tmp_path / temp]
    assert _temps(tmp_path) == []


def test_a_device_or_pipe_is_written_in_place_never_replaced(tmp_path: Path) -> None:
    """`-o /dev/null` as root once replaced /dev/null with a regular file (temp + rename over
    a device). A pipe (and so a device) is written in place and stays what it was."""
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    with atomic_writer(fifo, binary=True) as f:
        f.write(b"data\n")
    reader.join(10)
    assert got == [b"data\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert not [p for p in tmp_path.iterdir() if p.name != "pipe"]  # no temporary file left
