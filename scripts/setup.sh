#!/usr/bin/env bash
# Create .venv (if needed) and install coverwatch into it; "dev" also installs the test tools.
# Used by demo.sh and test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
if [ -n "$extras" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
else
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
fi
# Byte-compile the sources now (as pip does for an installed wheel): where
# PYTHONDONTWRITEBYTECODE is set, every command would otherwise compile them again at start.
.venv/bin/python -m compileall -q src/coverwatch >/dev/null
