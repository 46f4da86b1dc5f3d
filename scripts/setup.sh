#!/usr/bin/env bash
# Creates .venv and installs the project (and, with "test", what the tests need) from nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "${1:-}" = "test" ]; then
  .venv/bin/python -m pip install --quiet -e ".[test]"
  # The browser test drives Debian's Chromium: Playwright cannot download its own here.
  if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ]; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
        || echo "setup: could not install chromium; the browser test will be skipped" >&2
    else
      echo "setup: chromium is not installed (sudo apt-get install chromium); the browser test will be skipped" >&2
    fi
  fi
else
  .venv/bin/python -m pip install --quiet -e .
fi
