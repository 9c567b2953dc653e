"""Drive a target with atheris (libFuzzer, coverage-guided): see fuzz/README.md.

    python -m fuzz.run TARGET [libFuzzer options] [work corpus dir]
    python -m fuzz.run all [libFuzzer options] [work corpus dir]
    python -m fuzz.run --list

``all`` fuzzes every target in one process (instrumented once): the first byte of an input
picks the target, the rest is its input; the seeds of every target are given with their byte.
The target's committed corpus (fuzz/corpus/TARGET) is read, never written: new inputs go to the
work directory, by default $TMPDIR/xinan-fuzz-corpus/TARGET, which later runs build on. On a
crash libFuzzer writes the input as ``crash-<sha1>`` (``-artifact_prefix=DIR/`` says where);
for ``all`` its first byte names the target (``python -m fuzz.run --split FILE`` prints which
and writes the target's input beside it). Copy the input to fuzz/corpus/TARGET/ and commit it
with the fix: tests/project/test_fuzz.py replays it forever.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

# the modules whose branches guide the fuzzer (with their submodules)
PARSERS = [
    "xinan._codec",
    "xinan.formats",
    "xinan.audit",
    "xinan.policy",
    "xinan.records",
    "xinan.keys",
    "xinan.identifiers",
    "xinan.platform.destruction",
    "xinan.platform.destruction_model",
    "xinan.platform.destruction_verify",
    "xinan.platform.backup_format",
    "xinan.platform.lifecycle",
    "xinan.access",
    # what the parsers call to decide: key and point decoding (public keys, certificates,
    # signatures) and the identifier shapes a correction is checked against
    "xinan.crypto",
    "xinan.shapes",
]


def _not_parsers() -> list[str]:
    """Every xinan module outside PARSERS, found on disk (importing would defeat the hook):
    atheris includes whole top-level packages and excludes exact module names."""
    import importlib.util

    spec = importlib.util.find_spec("xinan")
    assert spec is not None and spec.submodule_search_locations
    root = Path(next(iter(spec.submodule_search_locations)))
    names = []
    for f in root.rglob("*.py"):
        parts = ("xinan", *f.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        if not any(name == p or name.startswith(p + ".") for p in PARSERS):
            names.append(name)
    return sorted(names)


def _names() -> list[str]:
    from fuzz import targets

    return sorted(targets.TARGETS)


def split(path: str) -> tuple[str, Path]:
    """The target and the input of a crash found by ``all``; writes the input beside it."""
    data = Path(path).read_bytes()
    names = _names()
    name = names[data[0] % len(names)] if data else names[0]
    out = Path(path).with_name(Path(path).name + "." + name)
    out.write_bytes(data[1:])
    return name, out


def _all_seeds(work: Path) -> Path:
    """Every target's corpus with its selector byte, in a directory libFuzzer reads."""
    from fuzz import world

    seeds = work / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(_names()):
        for p in sorted((world.CORPUS / name).glob("*")):
            (seeds / f"{name}-{p.name}").write_bytes(bytes([i]) + p.read_bytes())
    return seeds


def main(argv: list[str]) -> int:
    if argv[:1] == ["--split"] and len(argv) == 2:
        name, out = split(argv[1])
        print(f"{name}: {out}")
        return 0
    import atheris

    # Coverage feedback comes from the parsers and the code they call to decide (codec,
    # formats, audit files, policy, records, key files, identifiers, destruction
    # certificates), not from the vault, the engine or the CLI that are imported beside them:
    # instrumenting those costs seconds per run and guides nothing.
    with atheris.instrument_imports(include=["xinan"], exclude=_not_parsers()):
        import xinan.audit
        import xinan.formats
        import xinan.keys
        import xinan.platform.destruction
        import xinan.policy
        import xinan.records  # noqa: F401  (imported to be instrumented)
    from fuzz import targets, world

    names = _names()
    if not argv or argv[0] in {"-h", "--help", "--list"}:
        print("targets:", " ".join(names), "(or: all)")
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name != "all" and name not in targets.TARGETS:
        print(f"unknown target {name!r}; try --list", file=sys.stderr)
        return 2
    opts = [a for a in rest if a.startswith("-")]
    dirs = [a for a in rest if not a.startswith("-")]
    # libFuzzer reads every corpus directory given and writes new inputs to the first one:
    # the work directory comes first, so the committed corpus stays as it is. (atheris.Fuzz
    # ends the process, so the default work directory is a fixed one later runs build on.)
    work = Path(dirs[0]) if dirs else Path(tempfile.gettempdir()) / "xinan-fuzz-corpus" / name
    work.mkdir(parents=True, exist_ok=True)
    if name == "all":
        seeds = str(_all_seeds(work.parent / f"{work.name}-seeds"))

        def one(data: bytes) -> None:
            if data:
                targets.run(names[data[0] % len(names)], data[1:])

    else:
        seeds = str(world.CORPUS / name)

        def one(data: bytes) -> None:
            targets.run(name, data)

    atheris.Setup([sys.argv[0], *opts, str(work), seeds], one)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
