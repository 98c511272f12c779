"""Benchmark: egress analysis on DuckDB and on Spark local[2] over the same Parquet flows.

Run: .venv/bin/python bench/egress_spark/run.py [--flows N] [--master URL] [--memory 4g]
Generates N flows (default 100,000,000) in the store's Parquet layout with the generator of
bench/egress_10m (2,000 devices, 30% of flows to 50,000 outside addresses), runs the egress
analysis with DuckDB, then with Spark, and prints both times, the ratio and whether the
verdict documents are identical (exit 1 if not). Spark's start-up (the JVM) is timed apart.
Needs the spark extra and Java 17+; the data goes to a temporary folder (about 16 bytes a
flow, plus Spark's spill).
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from coverwatch.models import Attribution
from coverwatch.store.interface import DeviceRecord
from coverwatch.traffic.egress import egress
from coverwatch.traffic.engines import DuckDbEngine, SparkEngine
from coverwatch.traffic.engines.spark_sql import builder


def _generator() -> Any:
    """``generate(store, flows)`` of bench/egress_10m (one generator for both benchmarks)."""
    path = Path(__file__).resolve().parent.parent / "egress_10m" / "run.py"
    spec = importlib.util.spec_from_file_location("egress_10m_run", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=100_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--memory", default="4g", help="Spark driver memory (local mode)")
    parser.add_argument("--shuffle-partitions", default="16")
    args = parser.parse_args()
    devices = [
        DeviceRecord(f"10.1.{n // 250}.{n % 250 + 1}", None, "bench", Attribution(maker="Dahua"))
        for n in range(2000)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        store.mkdir()
        start = time.perf_counter()
        _generator()(store, args.flows)
        print(f"generated {args.flows:,} flows as Parquet in {time.perf_counter() - start:.1f} s")

        start = time.perf_counter()
        duck = egress(str(store), devices, ["10.0.0.0/8"], engine=DuckDbEngine())
        duck_s = time.perf_counter() - start
        print(f"duckdb: {duck_s:.1f} s ({args.flows / duck_s:,.0f} flows/s)")

        start = time.perf_counter()
        builder(
            args.master,
            **{
                "spark.driver.memory": args.memory,
                "spark.sql.shuffle.partitions": args.shuffle_partitions,
                "spark.local.dir": str(Path(tmp) / "spark"),
            },
        ).getOrCreate().sparkContext.setLogLevel("ERROR")
        startup = time.perf_counter() - start
        start = time.perf_counter()
        spark = egress(str(store), devices, ["10.0.0.0/8"], engine=SparkEngine(args.master))
        spark_s = time.perf_counter() - start
        print(
            f"spark {args.master}: {spark_s:.1f} s ({args.flows / spark_s:,.0f} flows/s), "
            f"plus {startup:.1f} s to start the JVM"
        )
        print(f"spark / duckdb: {spark_s / duck_s:.1f}x")
        same = [asdict(e) for e in spark] == [asdict(e) for e in duck]
        destinations = sum(len(e.destinations) for e in duck)
        print(
            f"verdicts identical: {'yes' if same else 'NO'} "
            f"({len(duck)} devices, {destinations:,} outside destinations)"
        )
        if not same:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
