"""spark-submit against a real standalone cluster (one master, two workers on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import StandaloneCluster, spark_submit

pytestmark = pytest.mark.slow

SMOKE_JOB = """
import sys
from amp_features.session import build_session

spark = build_session("amp-cluster-smoke")
path = sys.argv[1]
spark.range(1000).repartition(4).write.format("delta").mode("overwrite").save(path)
print("ROWS", spark.read.format("delta").load(path).count())
print("MASTER", spark.sparkContext.master)
spark.stop()
"""


def test_cluster_runs_a_delta_job_on_both_workers(
    spark_standalone: StandaloneCluster, tmp_path: Path
) -> None:
    script = tmp_path / "smoke_job.py"
    script.write_text(SMOKE_JOB)
    result = spark_submit(
        script,
        [str(tmp_path / "table")],
        master=spark_standalone.master_url,
        extra_conf={"spark.executor.memory": "512m", "spark.cores.max": "2"},
    )
    assert result.returncode == 0, result.stderr[-4000:] + spark_standalone.logs()
    assert "ROWS 1000" in result.stdout
    assert f"MASTER {spark_standalone.master_url}" in result.stdout
    status = spark_standalone.status()
    assert status["aliveworkers"] == 2
    assert any(app["name"] == "amp-cluster-smoke" for app in status["completedapps"])
