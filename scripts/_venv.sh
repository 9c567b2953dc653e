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
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[$extras]"
  touch "$stamp"
fi
export PATH="$root/.venv/bin:$PATH"
