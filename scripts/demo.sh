#!/usr/bin/env bash
# The README's main-job command: generate a lake, compute the 21 features for one date,
# write them to Delta and export them to SQLite, all on embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
VENV=${AMP_VENV:-.venv}
exec "$VENV/bin/amp-features" demo "$@"
