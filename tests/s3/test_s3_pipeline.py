"""The whole pipeline with the lake and the warehouse on S3 (a real S3Proxy on loopback).

One module fixture generates a small lake onto S3 with ``amp-features generate --out s3a://...``,
runs D-1 and D incrementally with the warehouse on S3 (validation included: its results and HTML
report land on S3 too), exports D to SQLite, and computes the same two dates from a copy of the lake
on a local disk. The tests then compare what readers see on both sides, row for row, check what
landed in the bucket, the DAG's sensor on S3 and the warehouse lease on S3.

D is run by a separate ``amp-features`` process configured from the environment only (as a user
would), with DEBUG logging, to check that the S3 secret never appears in a run's output. The other
commands run in this process through the CLI's ``main`` on the shared session (the ``s3_spark``
fixture of tests/conftest.py: per-bucket S3A keys for Spark, the AWS variables for the non-Spark
storage layer, ``amp_features.files``: quality results, reports, the sensor).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from s3proxy import S3Proxy

from amp_features.cli import main as cli
from amp_features.registry import GROUPS

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.executable).parent
D_PREV, D = dt.date(2026, 3, 4), dt.date(2026, 3, 5)
# Five days of events (03-01..03-05): a lake younger than the 60-day window, which the input
# suites accept from its first day on; enough for an incremental day after a first one.
LAKE = ["--users", "60", "--days", "5", "--end-date", str(D), "--seed", "5"]
TABLES = (*GROUPS, "show_attributes")
# The separate process's Spark: small, like the test session (the features do not depend on it).
SMALL_SPARK = (
    "spark.sql.shuffle.partitions=2;spark.default.parallelism=2;spark.ui.enabled=false;"
    "spark.driver.memory=1g;spark.databricks.delta.snapshotPartitions=2"
)


def keys(s3proxy: S3Proxy, prefix: str) -> list[str]:
    """What another client of the bucket sees under ``prefix``."""
    pages = s3proxy.client().get_paginator("list_objects_v2")
    return [
        obj["Key"]
        for page in pages.paginate(Bucket=s3proxy.bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
    ]


@dataclass
class Runs:
    lake: str  # on S3
    warehouse: str  # on S3
    local_lake: str
    local_warehouse: str
    online: str  # SQLite, exported from the S3 warehouse
    run_d: subprocess.CompletedProcess[str]  # `amp-features run` of D, a process of its own


def copy_lake_to_disk(s3proxy: S3Proxy, prefix: str, target: Path) -> None:
    """The same objects on a local disk, through Arrow's S3 client (not Spark)."""
    from pyarrow import fs

    remote = fs.S3FileSystem(
        access_key=s3proxy.access_key,
        secret_key=s3proxy.secret_key,
        endpoint_override=s3proxy.endpoint.removeprefix("http://"),
        scheme="http",
        region=s3proxy.region,
    )
    target.mkdir(parents=True)
    fs.copy_files(f"{s3proxy.bucket}/{prefix}", str(target), source_filesystem=remote)


@pytest.fixture(scope="module")
def runs(s3_spark: Any, s3proxy: S3Proxy, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    work = tmp_path_factory.mktemp("s3-pipeline")
    root = f"s3a://{s3proxy.bucket}/pipeline"
    lake, warehouse = f"{root}/lake", f"{root}/warehouse"
    online = f"sqlite:///{work / 'online.db'}"
    assert cli(["generate", "--out", lake, *LAKE]) == 0
    copy_lake_to_disk(s3proxy, "pipeline/lake", work / "lake")

    assert cli(["run", "--as-of", str(D_PREV), "--lake", lake, "--warehouse", warehouse]) == 0
    env = {
        **os.environ,
        **s3proxy.env(),
        "AMP_SPARK_MASTER": "local[2]",
        "AMP_SPARK_CONF": SMALL_SPARK,
    }
    run_d = subprocess.run(
        [str(VENV_BIN / "amp-features"), "--log-level", "DEBUG", "run", "--as-of", str(D),
         "--lake", lake, "--warehouse", warehouse],
        env=env, capture_output=True, text=True, timeout=1800, cwd=work,
    )  # fmt: skip
    assert run_d.returncode == 0, run_d.stderr[-5000:]
    assert cli(["export", "--as-of", str(D), "--warehouse", warehouse, "--online", online]) == 0

    local_lake, local_wh = str(work / "lake"), str(work / "warehouse")
    for day in (D_PREV, D):
        args = ["run", "--as-of", str(day), "--lake", local_lake, "--warehouse", local_wh]
        assert cli([*args, "--skip-validation"]) == 0
    return Runs(lake, warehouse, local_lake, local_wh, online, run_d)


def rows(df: Any) -> list[tuple[Any, ...]]:
    return sorted((tuple(r) for r in df.collect()), key=repr)  # tiny tables: equality checks


def test_generate_wrote_the_lake_and_its_report_to_s3(
    runs: Runs, s3_spark: Any, s3proxy: S3Proxy
) -> None:
    from amp_features.generate.report import read_report

    found = keys(s3proxy, "pipeline/lake/")
    for table in ("playback", "engagement", "shows", "users"):
        assert f"pipeline/lake/{table}/_delta_log/00000000000000000000.json" in found, table
    days = {k.split("/")[3] for k in found if k.startswith("pipeline/lake/playback/dt=")}
    assert days == {f"dt={D - dt.timedelta(days=i)}" for i in range(5)}
    report = read_report(s3_spark, runs.lake)
    assert report["dt_range"] == [str(D - dt.timedelta(days=4)), str(D)]


def test_feature_tables_on_s3_equal_the_local_disk_row_for_row(runs: Runs, s3_spark: Any) -> None:
    from amp_features.offline.snapshots import committed_dates, read_history

    assert committed_dates(s3_spark, runs.warehouse) == [D_PREV, D]
    for table in TABLES:
        on_s3 = rows(read_history(s3_spark, runs.warehouse, table))
        assert on_s3, table
        assert {r[-1] for r in on_s3} == {D_PREV, D}, table  # as_of is the last column
        assert on_s3 == rows(read_history(s3_spark, runs.local_warehouse, table)), table


def test_validation_results_report_and_state_live_in_the_bucket(
    runs: Runs, s3_spark: Any, s3proxy: S3Proxy
) -> None:
    from amp_features.quality import assert_publishable, load_result

    found = set(keys(s3proxy, "pipeline/warehouse/"))
    for day in (D_PREV, D):
        folder = f"pipeline/warehouse/quality/as_of={day}"
        assert {f"{folder}/inputs.json", f"{folder}/outputs.json", f"{folder}/report.html"} <= found
        assert load_result(runs.warehouse, day, "inputs").success, day  # read back from S3
        assert load_result(runs.warehouse, day, "outputs").success, day
    report = (
        s3proxy.client()
        .get_object(Bucket=s3proxy.bucket, Key=f"pipeline/warehouse/quality/as_of={D}/report.html")[
            "Body"
        ]
        .read()
        .decode()
    )
    assert "output_user" in report and str(D) in report
    for table in ("quarantine/playback", "metrics/input_counts", "metrics/runs"):
        assert f"pipeline/warehouse/{table}/_delta_log/00000000000000000000.json" in found, table
    assert "pipeline/warehouse/state/lease.json" not in found  # released after each run
    assert assert_publishable(s3_spark, runs.warehouse, D).as_of == D  # the gate reads S3


def test_export_training_and_explore_read_the_s3_warehouse(runs: Runs, s3_spark: Any) -> None:
    from amp_features import build_training_set
    from amp_features.explore import load_group, load_vectors
    from amp_features.registry import vector_columns
    from amp_features.serve import OnlineStore
    from amp_features.training import AS_OF_COL

    users = [r["user_id"] for r in load_group(s3_spark, runs.warehouse, "user", D).collect()]
    shows = [r["show_id"] for r in load_group(s3_spark, runs.warehouse, "show", D).collect()]
    some_users, some_shows = sorted(users)[:8], sorted(shows)[:6]
    pairs = [(u, s) for u in some_users for s in some_shows]
    online = []
    with OnlineStore.from_url(runs.online) as store:
        for user in some_users:
            vectors = store.ranking_vectors(user, some_shows)
            online += [(user, show, *v) for show, v in zip(some_shows, vectors, strict=True)]
    columns = ["user_id", "show_id", *vector_columns()]
    offline = rows(load_vectors(s3_spark, runs.warehouse, D, pairs).select(*columns))
    assert offline == online  # what the online store serves is the S3 snapshot of D
    assert offline == rows(load_vectors(s3_spark, runs.local_warehouse, D, pairs).select(*columns))

    # Examples on D+1 see the snapshot of D; on D, the one of D-1 (point in time, from S3).
    noon = dt.time(12, tzinfo=dt.UTC)
    moments = [dt.datetime.combine(day, noon) for day in (D, D + dt.timedelta(days=1))]
    examples = s3_spark.createDataFrame(
        [(f"{u}-{s}-{t:%d}", u, s, t, 1) for (u, s) in pairs[:10] for t in moments],
        "example_id string, user_id string, show_id string, event_ts timestamp, label int",
    )
    training = build_training_set(s3_spark, examples, runs.warehouse)
    assert {r[AS_OF_COL] for r in training.select(AS_OF_COL).collect()} == {D_PREV, D}
    local = build_training_set(s3_spark, examples, runs.local_warehouse)
    assert rows(training) == rows(local.select(*training.columns))


def test_a_run_on_s3_never_logs_the_secret(runs: Runs, s3proxy: S3Proxy) -> None:
    output = runs.run_d.stdout + runs.run_d.stderr
    # It is the verbose output of a real S3 run: the session's settings and the S3 paths.
    assert "session settings" in output and s3proxy.endpoint in output
    assert f"{runs.warehouse}/features/user" in output
    assert s3proxy.secret_key not in output


def test_sensor_lists_s3_ready_and_not_ready(runs: Runs, s3proxy: S3Proxy) -> None:
    from amp_features.orchestration.presence import missing_raw_partitions

    client, bucket = s3proxy.client(), s3proxy.bucket
    assert missing_raw_partitions(runs.lake, D).ready
    later = missing_raw_partitions(runs.lake, D + dt.timedelta(days=1))
    assert later.missing == (
        f"playback: no data in partition dt={D + dt.timedelta(days=1)}",
        f"engagement: no data in partition dt={D + dt.timedelta(days=1)}",
    )

    # A second lake arriving object by object: nothing, then the dimensions and playback of D,
    # then engagement's partition with only a marker file, then its data.
    lake = f"s3a://{bucket}/sensor/lake"
    assert [m.split(":")[0] for m in missing_raw_partitions(lake, D).missing] == [
        "playback", "engagement", "shows", "users",
    ]  # fmt: skip

    def copy(table: str, part: str = "") -> None:
        for key in keys(s3proxy, f"pipeline/lake/{table}/{part}"):
            target = key.replace("pipeline/lake/", "sensor/lake/", 1)
            client.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": key})

    for table in ("shows", "users"):
        copy(table)
    copy("playback", f"dt={D}/")
    assert missing_raw_partitions(lake, D).missing == (
        f"engagement: no table at {lake}/engagement",
    )
    client.put_object(Bucket=bucket, Key=f"sensor/lake/engagement/dt={D}/_SUCCESS", Body=b"")
    assert missing_raw_partitions(lake, D).missing == (f"engagement: no data in partition dt={D}",)
    copy("engagement", f"dt={D}/")
    assert missing_raw_partitions(lake, D).ready


def test_a_backfill_fails_fast_while_a_run_holds_the_s3_warehouse_lease(
    runs: Runs, s3_spark: Any
) -> None:
    from amp_features.errors import WarehouseBusyError
    from amp_features.jobs import backfill
    from amp_features.offline import lease as leases
    from amp_features.offline.snapshots import history
    from amp_features.pipeline.runner import RunContext, Targets, warehouse_lease

    before = history(s3_spark, runs.warehouse)
    airflow_run = f"scheduled__{D + dt.timedelta(days=1)}T22:00:00+00:00"
    holder = RunContext(
        s3_spark, D, Targets(runs.lake, runs.warehouse), external_run_id=airflow_run
    )
    with warehouse_lease(holder), pytest.raises(WarehouseBusyError) as busy:
        backfill.run(
            ["--start", str(D_PREV), "--end", str(D), "--force",
             "--lake", runs.lake, "--warehouse", runs.warehouse]
        )  # fmt: skip
    message = str(busy.value)
    assert f"warehouse {runs.warehouse} is busy" in message
    assert f"run {holder.run_id} (as_of {D}), Airflow run {airflow_run}" in message  # the holder
    assert f"pid {os.getpid()}" in message
    assert history(s3_spark, runs.warehouse) == before  # it wrote nothing
    # Once the holder is done the lease is free again: the next writer takes it at once.
    with leases.hold(runs.warehouse, "next-run", "the next run") as lease:
        assert lease.holder.startswith("next-run:") and lease.owner == "the next run"
