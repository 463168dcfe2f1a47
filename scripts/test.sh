#!/usr/bin/env bash
# The README's test command: install what is missing, then lint, type-check and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --with-redis
VENV=${AMP_VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
echo "[test] ruff check"; ruff check .
echo "[test] ruff format --check"; ruff format --check .
echo "[test] mypy amp_features"; mypy amp_features
echo "[test] pytest"
exec pytest --durations=15 "$@"
