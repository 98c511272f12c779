#!/usr/bin/env bash
# Install coverwatch with its test tools, check lint and types, and run the whole test suite
# (slow tests included).
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not slow" for the quick loop.
set -euo pipefail
cd "$(dirname "$0")/.."
# System packages the tests use, from Debian, installed when missing and we may (root with
# apt); without them those tests skip with a reason. PostgreSQL: the inventory tests start a
# throwaway cluster of their own. Chromium: the HTML report and the dashboard are rendered in
# a real browser. tshark and nfdump: captures are re-read through Wireshark's and nfdump's
# own tools to check the traffic import against them; the same nfdump package brings nfcapd,
# which collects the NetFlow v5/v9/IPFIX datagrams the NetFlow tests send it on loopback.
# OpenJDK: Spark (the spark extra) runs the egress parity tests on a local JVM. nmap: its XML
# is imported and compared with coverwatch's own scan of the same lab. nftables and iproute2:
# the loss tests build a packet-dropping site in a network namespace of their own.
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v tshark >/dev/null || missing+=(tshark)
command -v nfdump >/dev/null || missing+=(nfdump)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v nmap >/dev/null || missing+=(nmap)
PATH="$PATH:/usr/sbin:/sbin" command -v nft >/dev/null || missing+=(nftables)
PATH="$PATH:/usr/sbin:/sbin" command -v ip >/dev/null || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian packages for the tests: ${missing[*]}..." >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
scripts/setup.sh dev,postgres,web,pcap,spark
# The code's own rules (STYLE: ruff's lint and format at line length 100, strict mypy), before
# the tests: a lint or type error fails CI as a failing test does.
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy src
exec .venv/bin/python -m pytest "$@"
