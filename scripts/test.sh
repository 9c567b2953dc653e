#!/usr/bin/env bash
# The README's second command: set up, then run the whole test suite and the static checks.
# Fails (non-zero) when any test or check fails.
# The Spark tests are part of the suite: install the spark extra and a Java runtime.
export XINAN_EXTRAS="${XINAN_EXTRAS:-dev,spark}"
source "$(dirname "$0")/_venv.sh"
source "$(dirname "$0")/_java.sh"
echo "== ruff (lint, incl. security rules) =="
ruff check .
ruff format --check .
echo "== mypy (strict) =="
mypy
echo "== bandit (fails on medium or high) =="
bandit -q -r xinan -ll -c pyproject.toml
echo "== pytest =="
# every core: the tests are independent (each has its own directory, worlds and Spark session
# per worker); `python -m pytest` alone runs them in one process
python -m pytest -q -p no:cacheprovider -n auto "$@"
