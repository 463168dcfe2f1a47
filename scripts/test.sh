#!/usr/bin/env bash
# The README's test command: install what is missing, then lint, type-check and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --with-redis --with-s3proxy
VENV=${AMP_VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
echo "[test] ruff check"; ruff check .
echo "[test] ruff format --check"; ruff format --check .
echo "[test] mypy amp_features"; mypy amp_features
# Two workers by default: the suite waits on JVM start-ups, Delta commits and subprocesses much of
# the time, so a second worker fills the idle core. Each test file stays in one worker
# (--dist loadfile), so its module fixtures are built once. AMP_TEST_WORKERS=0 runs everything in
# this process.
WORKERS=${AMP_TEST_WORKERS:-2}
XDIST=()
[ "$WORKERS" = "0" ] || XDIST=(-n "$WORKERS" --dist loadfile)
echo "[test] pytest ($WORKERS workers)"
exec pytest "${XDIST[@]}" --durations=15 "$@"
