#!/usr/bin/env bash
# The README's second command: set up, then run the whole test suite and the static checks.
# Fails (non-zero) when any test or check fails.
# The Spark tests are part of the suite: install the spark extra and a Java runtime.
export XINAN_EXTRAS="${XINAN_EXTRAS:-dev,spark}"
source "$(dirname "$0")/_venv.sh"
source "$(dirname "$0")/_java.sh"
start=$SECONDS
# The static checks run beside pytest (they take a few seconds of one core; pytest's workers
# leave gaps); their output is printed after pytest's, and any failure fails the script.
static_log="$(mktemp)"
(
  rc=0
  echo "== ruff (lint, incl. security rules) =="
  { timeout 600 ruff check . && timeout 600 ruff format --check .; } || rc=1
  echo "== mypy (strict) =="
  timeout 1200 mypy || rc=1
  echo "== bandit (fails on medium or high) =="
  timeout 1200 bandit -q -r xinan -ll -c pyproject.toml || rc=1
  exit "$rc"
) >"$static_log" 2>&1 &
static_pid=$!
echo "== pytest (ruff, mypy and bandit run beside it; their output follows) =="
# every core: the tests are independent (each has its own directory, worlds and Spark session
# per worker); --dist loadgroup keeps the tests that share one Spark session or one demo world
# on one worker (tests/conftest.py); `python -m pytest` alone runs them in one process
pytest_rc=0
# A wall-clock limit on the whole run as well (CI allows 90 minutes for set-up and all): a
# hang that no per-test timeout catches (pytest's own exit, say) still ends with its output.
# With Debian's eatmydata (scripts/_system.sh installs it in CI) fsync is a no-op for the tests:
# they check what is written and that nothing appears half-written under its final name (a
# kill -9 keeps the page cache), never that the disk has it, which only a power cut could show.
# The thousands of small files and SQLite commits the tests make then cost no disk flushes
# (about 15 % of the run on this machine).
nosync=()
command -v eatmydata >/dev/null 2>&1 && nosync=(eatmydata)
timeout --kill-after=60 "${XINAN_TEST_TIMEOUT:-3600}" "${nosync[@]}" \
  python -m pytest -q -p no:cacheprovider -n auto --dist loadgroup "$@" || pytest_rc=$?
[ "$pytest_rc" -eq 124 ] && echo "xinan: pytest did not finish within ${XINAN_TEST_TIMEOUT:-3600} s" >&2
static_rc=0
wait "$static_pid" || static_rc=$?
cat "$static_log"
rm -f "$static_log"
echo "== the whole suite took $((SECONDS - start)) s (pytest exit $pytest_rc, static checks exit $static_rc) =="
[ "$pytest_rc" -eq 0 ] && [ "$static_rc" -eq 0 ]
