#!/usr/bin/env bash
# Install coverwatch and audit the built-in lab site: writes coverwatch-demo/report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh web,pcap
exec .venv/bin/coverwatch demo "$@"
