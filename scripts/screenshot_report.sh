#!/usr/bin/env bash
# Render a quality report in headless Chromium and save a screenshot, to check it renders.
#   scripts/screenshot_report.sh WAREHOUSE/quality/as_of=D/report.html docs/img/quality_report.png
# Needs Debian's chromium (apt-get install -y chromium); the CI does not run this.
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: $0 REPORT.html OUT.png" >&2
  exit 2
fi
report=$(realpath "$1")
out=$(realpath -m "$2")
[[ -f "$report" ]] || { echo "no report at $report" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || true)
[[ -n "$browser" ]] || { echo "chromium not found: apt-get install -y chromium" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
# A fresh profile each time: no state, no first-run dialogs, nothing left behind.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars \
  --screenshot="$out" --window-size=1400,2000 "file://$report" >/dev/null 2>&1
[[ -s "$out" ]] || { echo "chromium wrote no screenshot to $out" >&2; exit 1; }
echo "$out"
