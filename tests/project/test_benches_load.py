"""Every benchmark under ``bench/`` still loads against today's library: a module, class or
function it imports that moved or went away fails here, not on the day someone reruns the
figures the README quotes (``bench/scrub.py`` imported the retired row validator for a week).
One fresh interpreter loads them all, without running any (each runs only under ``__main__``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_LOAD_ALL = """
import importlib.util, sys
failed = []
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("bench_" + path.rsplit("/", 1)[-1][:-3], path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        failed.append(f"{path}: {type(e).__name__}: {e}")
    else:
        if not callable(getattr(module, "main", None)):
            failed.append(f"{path}: no main()")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_benchmark_loads() -> None:
    benches = sorted(str(p) for p in (ROOT / "bench").glob("*.py"))
    assert len(benches) >= 10
    proc = subprocess.run(
        [sys.executable, "-c", _LOAD_ALL, *benches],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
