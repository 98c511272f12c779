"""SQL engines for the egress aggregations: DuckDB on this machine (the default) or Apache Spark.

Both read the same Parquet layout (``traffic.table``) and answer the same ``EgressQueries``;
``traffic.egress`` turns their rows into verdicts. Spark is an optional extra, imported only
when chosen.
"""

from __future__ import annotations

from enum import Enum

from coverwatch.traffic.engines.duckdb_sql import DuckDbEngine
from coverwatch.traffic.engines.interface import EgressQueries, FlowEngine
from coverwatch.traffic.engines.spark_sql import SparkEngine


class EngineKind(str, Enum):
    """Where the egress aggregations run."""

    DUCKDB = "duckdb"
    SPARK = "spark"


ENGINES: dict[EngineKind, type[FlowEngine]] = {
    EngineKind.DUCKDB: DuckDbEngine,
    EngineKind.SPARK: SparkEngine,
}

__all__ = ["ENGINES", "DuckDbEngine", "EgressQueries", "EngineKind", "FlowEngine", "SparkEngine"]
