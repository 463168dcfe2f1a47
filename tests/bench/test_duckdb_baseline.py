"""The DuckDB baseline of the benchmarks (bench/bench_duckdb.py), written from the contract,
gives the Spark engine's rows on a small generated lake with every awkward class of data, and
its row-for-row comparison reports a changed value."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("duckdb")
pytest.importorskip("deltalake")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import bench_duckdb

pytestmark = [pytest.mark.slow, pytest.mark.nightly]
AS_OF = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def outputs(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    from amp_features.generate import generate_lake
    from amp_features.pipeline.api import run_features

    root = tmp_path_factory.mktemp("duckdb-baseline")
    lake, warehouse = root / "lake", root / "warehouse"
    # Parquet here (the benchmark reads Delta); 61 days: the whole window plus the day before.
    generate_lake(
        spark, str(lake), users=300, days=61, end_date=AS_OF, seed=11, fmt="parquet", bad_rows=0.01
    )
    run_features(spark, str(lake), str(warehouse), AS_OF, mode="full")
    con = bench_duckdb.connect(threads=2)
    bench_duckdb.compute(con, str(lake), AS_OF)
    for group in bench_duckdb.GROUPS:
        path = warehouse / "features" / group
        bench_duckdb.register_feature_table(con, f"spark_{group}", path, AS_OF)
    return con, warehouse


@pytest.mark.parametrize("group", list(bench_duckdb.GROUPS))
def test_duckdb_gives_the_engines_rows(outputs: tuple[Any, Path], group: str) -> None:
    con, _ = outputs
    result = bench_duckdb.compare(con, group, f"duck_{group}", f"spark_{group}")
    assert result["rows_left"] > 0
    assert result["agree"], result
    assert result["rows_left"] == result["rows_right"]


def test_the_comparison_reports_a_changed_count_and_affinity(outputs: tuple[Any, Path]) -> None:
    con, _ = outputs
    con.execute("CREATE TEMP TABLE changed_user AS SELECT * FROM duck_user")
    con.execute(
        "UPDATE changed_user SET sessions_60d = sessions_60d + 1 "
        "WHERE user_id = (SELECT min(user_id) FROM changed_user)"
    )
    con.execute("CREATE TEMP TABLE changed_topic AS SELECT * FROM duck_user_topic")
    con.execute(
        "UPDATE changed_topic SET topic_affinity = topic_affinity * (1 + 1e-6) "
        "WHERE rowid = (SELECT rowid FROM changed_topic "
        "WHERE topic_affinity > 0 ORDER BY user_id, topic LIMIT 1)"
    )
    user = bench_duckdb.compare(con, "user", "changed_user", "spark_user")
    topic = bench_duckdb.compare(con, "user_topic", "changed_topic", "spark_user_topic")
    assert (user["agree"], user["sessions_60d"]) == (False, 1)
    assert (topic["agree"], topic["topic_affinity"]) == (False, 1)
    # Within a looser tolerance it is no mismatch, and the largest difference is reported.
    loose = bench_duckdb.compare(con, "user_topic", "changed_topic", "spark_user_topic", 1e-3)
    assert loose["agree"] and 9e-7 < loose["topic_affinity__max_rel"] < 2e-6
