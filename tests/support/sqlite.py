"""Editing a vault's database behind xinan's back, as the tamper tests do."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def edit_db(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to ``path`` that commits when the block ends (rolls back on an exception)
    and is closed then. ``with sqlite3.connect(p) as con`` only commits: the connection stays
    open until it is collected, which Python 3.13 reports as a ResourceWarning (an error here)."""
    con = sqlite3.connect(path)
    try:
        with con:
            yield con
    finally:
        con.close()
