# Sourced by the scripts here: make sure .venv exists with xinan and its dev tools installed.
# Needs only Python 3.11+ and access to the package registry; idempotent and quick when done.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON:-python3}"
"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "xinan needs Python 3.11 or newer (found: $("$py" --version 2>&1))" >&2
  exit 1
}
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
# XINAN_EXTRAS: the optional extras to install (scripts/test.sh adds spark for the Spark tests).
extras="${XINAN_EXTRAS:-dev}"
stamp=".venv/.xinan-installed-${extras//,/-}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  # say what is installed, from pyproject.toml (issue 15: the set-up says what it installs)
  echo "scripts/_venv.sh: installing into .venv: pip, xinan (editable) and, for extras [$extras]:" >&2
  .venv/bin/python - "$extras" >&2 <<'PY'
import sys, textwrap, tomllib

with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f)["project"]
deps = list(project["dependencies"])
for extra in sys.argv[1].split(","):
    deps += project.get("optional-dependencies", {}).get(extra, [])
names = ", ".join(d.split(";")[0].strip() for d in deps)
print(textwrap.fill(names, 96, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False))
PY
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[$extras]"
  touch "$stamp"
fi
export PATH="$root/.venv/bin:$PATH"
# Bytecode beside the sources, as Python writes it by default. Where PYTHONDONTWRITEBYTECODE
# is set, as on this project's machines, each `xinan` a script or a test starts, each pytest
# worker and each Spark Python worker would otherwise compile every module it imports again
# (about 0.3 s per `xinan` command and 4 s per pytest worker here). The packages in .venv come
# compiled by pip; xinan's and the tests' modules are compiled once per checkout, into
# __pycache__ directories git ignores. (A cache elsewhere, PYTHONPYCACHEPREFIX, hides pip's
# bytecode: a fresh clone then compiled all of .venv's modules again, 34 of the 256
# CPU-seconds of its first test run here.) A PYTHONPYCACHEPREFIX the user set is kept only
# when it is the user's own directory and no one else can write to it: Python runs the bytecode
# it finds there, and these processes handle keys.
unset PYTHONDONTWRITEBYTECODE
if [ -n "${PYTHONPYCACHEPREFIX:-}" ] && ! { [ -d "$PYTHONPYCACHEPREFIX" ] \
  && [ -O "$PYTHONPYCACHEPREFIX" ] \
  && [ -z "$(find "$PYTHONPYCACHEPREFIX" -maxdepth 0 -perm /022 2>/dev/null)" ]; }; then
  echo "scripts/_venv.sh: ignoring PYTHONPYCACHEPREFIX=$PYTHONPYCACHEPREFIX (not a directory of" \
    "your own that only you can write)" >&2
  unset PYTHONPYCACHEPREFIX
fi
