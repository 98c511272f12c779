"""Benchmark: egress analysis over a 10,000,000-flow table generated directly as Parquet.

Run: .venv/bin/python bench/egress_10m/run.py [FLOWS]
2,000 devices in 10.1.0.0/16; 70% of flows internal (to an NVR range), 30% to 50,000 outside
addresses (documentation ranges and 100.64.0.0/10-style filler). Prints generation time, egress
time and rows/s (target: under 30 s for 10M rows).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import duckdb

from coverwatch.models import Attribution
from coverwatch.store.interface import DeviceRecord
from coverwatch.traffic.egress import egress
from coverwatch.traffic.table import TABLES


def generate(store: Path, flows: int) -> None:
    for table in TABLES:
        (store / table).mkdir(parents=True)
    con = duckdb.connect()
    con.execute(
        f"""
        COPY (
          SELECT (1767600000.0 + i * 0.05)::DOUBLE AS first_ts,
                 (1767600000.0 + i * 0.05 + (i % 120))::DOUBLE AS last_ts,
                 CASE WHEN i % 3 = 0 THEN 'udp' ELSE 'tcp' END AS proto,
                 '10.1.' || ((i % 2000) // 250) || '.' || (i % 250 + 1) AS src_ip,
                 (1024 + i % 60000)::INTEGER AS src_port,
                 CASE WHEN i % 10 < 7 THEN '10.2.0.' || (i % 8 + 1)
                      ELSE (ARRAY['203.0.113.', '198.51.100.', '192.0.2.', '100.65.'])[i % 4 + 1]
                           || ((i // 7) % 250 + 1)
                           || CASE WHEN i % 4 = 3 THEN '.' || ((i // 13) % 200 + 1) ELSE '' END
                 END AS dst_ip,
                 (ARRAY[554, 443, 8800, 123, 80])[i % 5 + 1]::INTEGER AS dst_port,
                 (i % 5000 + 40)::BIGINT AS bytes_out, (i % 20 + 1)::BIGINT AS packets_out,
                 (i % 3000)::BIGINT AS bytes_in, (i % 10)::BIGINT AS packets_in,
                 NULL::VARCHAR AS dns_name, 'netflow' AS source, 'bench' AS file
          FROM range({flows}) t(i)
        ) TO '{store / "flows" / "bench.parquet"}' (FORMAT parquet, COMPRESSION zstd)
        """
    )
    for table in ("dns", "portmaps"):
        import pyarrow.parquet as pq

        pq.write_table(TABLES[table].empty_table(), str(store / table / "empty.parquet"))


def main() -> None:
    flows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp)
        start = time.perf_counter()
        generate(store, flows)
        print(f"generated {flows:,} flows as Parquet in {time.perf_counter() - start:.1f} s")
        devices = [
            DeviceRecord(
                f"10.1.{n // 250}.{n % 250 + 1}", None, "bench", Attribution(maker="Dahua")
            )
            for n in range(2000)
        ]
        start = time.perf_counter()
        result = egress(str(store), devices, ["10.0.0.0/8"], None)
        took = time.perf_counter() - start
        outside = sum(len(r.destinations) for r in result)
        verdicts: dict[str, int] = {}
        for r in result:
            verdicts[r.verdict.value] = verdicts.get(r.verdict.value, 0) + 1
        print(
            f"egress: {took:.2f} s, {flows / took:,.0f} rows/s; {len(result)} devices, "
            f"{outside:,} outside destinations, verdicts {verdicts}"
        )
        print("target < 30 s:", "met" if took < 30 else "NOT met")


if __name__ == "__main__":
    main()
