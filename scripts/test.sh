#!/usr/bin/env bash
# Install coverwatch with its test tools and run the whole test suite (slow tests included).
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not slow" for the quick loop.
set -euo pipefail
cd "$(dirname "$0")/.."
# The inventory tests start a throwaway PostgreSQL cluster of their own: install Debian's
# server package when it is missing and we may (root with apt), else those tests skip.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
        && command -v apt-get >/dev/null; then
    echo "Installing Debian's postgresql package for the inventory tests..." >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
scripts/setup.sh dev,postgres
exec .venv/bin/python -m pytest "$@"
