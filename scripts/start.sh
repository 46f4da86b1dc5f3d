#!/usr/bin/env bash
# Sets everything up from nothing, then starts the what-if app on the shipped data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f app.py ]; then
  exec .venv/bin/python -m streamlit run app.py --server.headless true "$@"
else
  exec .venv/bin/python -m pricing optimize --data data --out out "$@"
fi
