"""Drive one target with atheris (libFuzzer, coverage-guided): see fuzz/README.md.

    python -m fuzz.run TARGET [libFuzzer options] [extra corpus dirs]
    python -m fuzz.run --list

The target's seed corpus (fuzz/corpus/TARGET) is always given to libFuzzer read-only first; new
interesting inputs go to the first extra directory given, if any. A crash is written by
libFuzzer as ``crash-<sha1>`` (``-artifact_prefix=DIR/`` chooses where): copy it to
fuzz/corpus/TARGET/ and commit it with the fix, and tests/test_fuzz.py replays it forever.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    import atheris

    with atheris.instrument_imports(include=["xinan"]):
        import xinan.audit
        import xinan.formats
        import xinan.keys
        import xinan.platform.destruction
        import xinan.policy
        import xinan.records  # noqa: F401  (imported to be instrumented)
    from fuzz import targets, world

    if not argv or argv[0] in {"-h", "--help", "--list"}:
        print("targets:", " ".join(sorted(targets.TARGETS)))
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in targets.TARGETS:
        print(f"unknown target {name!r}; try --list", file=sys.stderr)
        return 2
    opts = [a for a in rest if a.startswith("-")]
    dirs = [a for a in rest if not a.startswith("-")]
    seeds = str(world.CORPUS / name)

    def one(data: bytes) -> None:
        targets.run(name, data)

    # libFuzzer reads every corpus directory given and writes new inputs to the first one:
    # the work directory comes first, so the committed corpus stays as it is.
    # (atheris.Fuzz ends the process, so the default work directory is a fixed one that
    # later runs build on: $TMPDIR/xinan-fuzz-corpus/TARGET.)
    work = Path(tempfile.gettempdir()) / "xinan-fuzz-corpus" / name
    if not dirs:
        work.mkdir(parents=True, exist_ok=True)
        dirs = [str(work)]
    atheris.Setup([sys.argv[0], *opts, *dirs, seeds], one)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
