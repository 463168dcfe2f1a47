#!/usr/bin/env bash
# Installs everything the project needs, once: a virtualenv, the package with its extras,
# Delta's and S3A's jars (cached, so later runs need no network), with --with-redis a Redis server
# and with --with-s3proxy the S3Proxy jar the S3 tests run as their S3 server.
# Safe to run again: each step checks a stamp or the thing itself and skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_REDIS=0
WITH_S3PROXY=0
for arg in "$@"; do
  case "$arg" in
    --with-redis) WITH_REDIS=1 ;;
    --with-s3proxy) WITH_S3PROXY=1 ;;
    *) echo "bootstrap: unknown option $arg" >&2; exit 2 ;;
  esac
done

PYTHON=${AMP_PYTHON:-python3}
VENV=${AMP_VENV:-.venv}
log() { printf '[bootstrap] %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtualenv $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
fi

# Re-install only when the packaging files change.
stamp="$VENV/.amp-install-$(cat setup.cfg pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  log "installing amp-features[dev,airflow,redis,notebook] (first run builds the pyspark wheel: a few minutes)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -e ".[dev,airflow,redis,notebook]"
  rm -f "$VENV"/.amp-install-*
  touch "$stamp"
else
  log "packages up to date ($stamp)"
fi

# Delta's and S3A's jars (hadoop-aws + the AWS SDK's S3 modules, 13 MB, SHA-1s pinned):
# downloaded from Maven Central (or AMP_MAVEN_REPO) into the jar cache (AMP_JARS_DIR) once.
"$VENV/bin/amp-features" jars fetch --s3
if [ "$WITH_S3PROXY" = 1 ]; then
  # S3Proxy (55 MB, one jar, SHA-1 pinned) into the same cache: the S3 tests' server.
  "$VENV/bin/python" tests/s3proxy.py fetch
fi

if [ "$WITH_REDIS" = 1 ] && ! command -v redis-server >/dev/null 2>&1; then
  log "installing redis-server and redis-tools from Debian"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
  # The Debian package starts a system service on 6379; the project starts its own servers.
  ($SUDO systemctl stop redis-server 2>/dev/null || $SUDO service redis-server stop 2>/dev/null || true) >/dev/null 2>&1
fi
if [ "$WITH_REDIS" = 1 ]; then log "redis: $(redis-server --version | cut -d' ' -f1-3)"; fi
log "ready"
