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
# Two groups. `make test` (and CI) leaves out the tests marked `nightly`: the wheel builds, the
# spark-submit jobs on a cluster and the DuckDB baseline start a dozen JVMs each. The production
# topology is in `make test`: collected early (tests/e2e), it gets a worker of its own from the
# start while the other worker runs the rest. `make test-all` runs everything.
MARK=${AMP_TEST_MARK-not nightly}
MARKS=()
[ -z "$MARK" ] || MARKS=(-m "$MARK")
echo "[test] pytest ($WORKERS workers${MARK:+, -m \"$MARK\"})"
exec pytest "${XDIST[@]}" "${MARKS[@]}" --durations=25 "$@"
