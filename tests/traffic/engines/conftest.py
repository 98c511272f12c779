"""One local Spark session for the engine tests (local[2], two shuffle partitions, no UI)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from coverwatch.traffic.engines import SparkEngine


@pytest.fixture(scope="session")
def spark_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkEngine]:
    """Spark on this machine, shared by every test of the session; stopped at the end."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime: apt install openjdk-17-jre-headless")
    from coverwatch.traffic.engines.spark_sql import builder

    scratch = tmp_path_factory.mktemp("spark")
    spark = builder(
        "local[2]",
        **{
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.local.dir": str(scratch / "local"),
            "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        },
    ).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    yield SparkEngine("local[2]")
    spark.stop()
