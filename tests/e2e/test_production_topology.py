"""The production topology, end to end: the wheel installed in a fresh virtualenv, the lake and the
warehouse on S3 (S3Proxy), every Spark task submitted to a standalone cluster, Redis online.

What the test does is what docs/deploy.md ("Recipe: standalone cluster, S3, Airflow") tells a user
to do; keep the two in step. From a folder outside the repository, with only the installed
package (its job scripts found by ``amp-features jobs path``):

1. ``amp-features generate --out s3a://...``: a six-day lake onto S3.
2. Airflow runs the DAG in spark-submit mode (``dag.test()``) for two consecutive dates against
   the cluster, its stages grouped into two applications per date (``compute``, then
   ``publish``): D1 through ``compute`` only (``publish`` is marked successful, to save a minute
   of CI), D2 through all three tasks, publishing to Redis.
3. ``spark-submit .../jobs/backfill.py`` over D2..D3 on the cluster: D2 is already done (skipped),
   D3 is computed, validated and published.

Meanwhile ``amp-features demo`` runs from the installed wheel on embedded defaults (local Spark,
local disk, SQLite) in a folder of its own, and this process computes D1..D3 from a copy of the
lake on a local disk. The feature tables on S3 must equal those row for row, the vectors Redis
serves must equal the offline ones, every application must have run on the cluster, and the S3
secret must appear in no output. The other tests check what else lives in the bucket (the lake's
report, quality results and HTML reports, quarantine, metrics, the released lease), what the
training set and the DAG's sensor read from S3, and that a second writer fails fast on the S3
warehouse's lease. tests/e2e/topology.py builds it all, once per module.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from installed import REPO
from redisserver import RedisServer
from s3proxy import S3Proxy
from sparkcluster import StandaloneCluster
from topology import D1, D2, D3, LAKE, PREFIX, TASKS, Topology, build, keys

# In `make test` (CI): the only test of S3, the wheel, the DAG's spark-submit mode and the cluster
# together. About 18 minutes alone on 2 cores; one xdist worker runs it while the other runs the rest.
pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def topology(
    s3_spark: Any,
    s3proxy: S3Proxy,
    redis_server: RedisServer,
    spark_standalone: StandaloneCluster,
    airflow_db: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Topology:
    work = tmp_path_factory.mktemp("production")
    return build(s3_spark, s3proxy, redis_server, spark_standalone, work)


def rows(df: Any) -> list[tuple[Any, ...]]:
    return sorted((tuple(r) for r in df.collect()), key=repr)  # tiny tables: equality checks


def test_everything_ran_from_the_installed_wheel(topology: Topology) -> None:
    site = topology.venv_bin.parent / "lib"
    assert Path(topology.jobs_dir).is_relative_to(site), topology.jobs_dir
    assert Path(topology.jobs_dir, "compute_features.py").is_file()
    # The DAG, copied away from the checkout, found the job script in the installed package.
    apps = topology.dag["applications"]
    assert {apps[task] for task in TASKS} == {f"{topology.jobs_dir}/compute_features.py"}
    assert str(REPO) not in topology.outputs["dag"].replace(str(REPO / ".venv"), "")


def test_the_dag_ran_both_dates_and_every_task_on_the_cluster(
    topology: Topology, spark_standalone: StandaloneCluster
) -> None:
    first, second = topology.dag["runs"]
    assert (first["day"], first["state"], second["day"], second["state"]) == (
        str(D1), "success", str(D2), "success",
    )  # fmt: skip
    assert set(second["tasks"]) == {"wait_for_raw_partitions", *TASKS}
    assert set(second["tasks"].values()) == {"success"}
    completed = [app["name"] for app in spark_standalone.status()["completedapps"]]  # type: ignore[union-attr]
    # Each task was a spark-submit application on the master, named by its job and stages.
    submitted = [f"amp-features compute {D1} {TASKS['compute']}"]
    submitted += [f"amp-features compute {D2} {stages}" for stages in TASKS.values()]
    submitted.append(f"amp-features backfill {D2}..{D3}")
    assert not [name for name in submitted if name not in completed], completed
    assert spark_standalone.status()["aliveworkers"] == 2


def test_the_backfill_skipped_the_date_the_dag_had_done(topology: Topology, s3_spark: Any) -> None:
    from amp_features.offline.snapshots import latest_commits

    commits = latest_commits(s3_spark, topology.warehouse)
    assert sorted(commits) == [D1, D2, D3]
    assert "1 to roll up, 1 already complete" in topology.outputs["backfill"]
    # D2 is still the DAG's commit (with its Airflow run id); D3 is the backfill's, validated.
    assert commits[D2].external_run_id == topology.dag["runs"][1]["run_id"]
    assert commits[D2].validation_passed is True
    assert commits[D3].external_run_id is None and commits[D3].validation_passed is True


def test_feature_tables_on_s3_equal_the_local_disk_row_for_row(
    topology: Topology, s3_spark: Any
) -> None:
    from amp_features.offline.snapshots import read_history
    from amp_features.registry import GROUPS

    for table in (*GROUPS, "show_attributes"):
        on_s3 = rows(read_history(s3_spark, topology.warehouse, table))
        assert {r[-1] for r in on_s3} == {D1, D2, D3}, table  # as_of is the last column
        assert on_s3 == rows(read_history(s3_spark, topology.local_warehouse, table)), table


def test_redis_serves_the_offline_vectors_of_the_last_date(
    topology: Topology, s3_spark: Any
) -> None:
    from amp_features.explore import load_group, load_vectors
    from amp_features.export import status
    from amp_features.registry import vector_columns
    from amp_features.serve import OnlineStore

    live, versions = status(topology.online)
    assert [v.as_of for v in versions if v.version == live] == [str(D3)]
    users = sorted(r["user_id"] for r in load_group(s3_spark, topology.warehouse, "user", D3).collect())  # fmt: skip
    shows = sorted(r["show_id"] for r in load_group(s3_spark, topology.warehouse, "show", D3).collect())  # fmt: skip
    users, shows = [*users[:10], "no-such-user"], [*shows[:8], "no-such-show"]
    served = []
    with OnlineStore.from_url(topology.online) as store:
        for user in users:
            vectors = store.ranking_vectors(user, shows)
            served += [(user, show, *v) for show, v in zip(shows, vectors, strict=True)]
    pairs = [(u, s) for u in users for s in shows]
    columns = ["user_id", "show_id", *vector_columns()]
    assert rows(load_vectors(s3_spark, topology.warehouse, D3, pairs).select(*columns)) == sorted(
        served, key=repr
    )


def test_no_output_shows_the_s3_secret(topology: Topology, s3proxy: S3Proxy) -> None:
    assert set(topology.outputs) == {"generate", "demo", "dag", "backfill"}
    assert f"{topology.warehouse}" in topology.outputs["dag"]  # the real, verbose logs
    for step, output in topology.outputs.items():
        assert s3proxy.secret_key not in output, step


# -- the installed demo ----------------------------------------------------------------------------
def test_the_installed_demo_ran_on_embedded_defaults(topology: Topology, spark: Any) -> None:
    from amp_features.explore import load_group, load_vectors
    from amp_features.offline.snapshots import committed_dates
    from amp_features.registry import vector_columns
    from amp_features.serve import OnlineStore

    out = topology.outputs["demo"]
    assert topology.demo_code == 0, out[-5000:]
    assert "quality:    passed" in out, out[-3000:]
    assert committed_dates(spark, topology.demo_warehouse) == [D3]
    # What its SQLite store serves is its offline snapshot of D3.
    online = f"sqlite:///{Path(topology.demo_warehouse).parent / 'online.db'}"
    assert f"online:     {online} (version " in out, out[-3000:]
    users = sorted(r["user_id"] for r in load_group(spark, topology.demo_warehouse, "user", D3).collect())  # fmt: skip
    shows = sorted(r["show_id"] for r in load_group(spark, topology.demo_warehouse, "show", D3).collect())  # fmt: skip
    assert users and shows
    users, shows = users[:6], shows[:6]
    with OnlineStore.from_url(online) as store:
        served = [
            (user, show, *vector)
            for user in users
            for show, vector in zip(shows, store.ranking_vectors(user, shows), strict=True)
        ]
    pairs = [(u, s) for u in users for s in shows]
    columns = ["user_id", "show_id", *vector_columns()]
    offline = load_vectors(spark, topology.demo_warehouse, D3, pairs).select(*columns)
    assert rows(offline) == sorted(served, key=repr)


# -- what else lives in the bucket ------------------------------------------------------------------
def test_generate_wrote_the_lake_and_its_report_to_s3(
    topology: Topology, s3_spark: Any, s3proxy: S3Proxy
) -> None:
    from amp_features.generate.report import read_report

    found = keys(s3proxy, f"{PREFIX}/lake/")
    for table in ("playback", "engagement", "shows", "users"):
        assert f"{PREFIX}/lake/{table}/_delta_log/00000000000000000000.json" in found, table
    days = {k.split("/")[3] for k in found if k.startswith(f"{PREFIX}/lake/playback/dt=")}
    span = int(LAKE[LAKE.index("--days") + 1])
    assert days == {f"dt={D3 - dt.timedelta(days=i)}" for i in range(span)}
    report = read_report(s3_spark, topology.lake)
    assert report["dt_range"] == [str(D3 - dt.timedelta(days=span - 1)), str(D3)]


def test_validation_results_reports_and_state_live_in_the_bucket(
    topology: Topology, s3_spark: Any, s3proxy: S3Proxy
) -> None:
    from amp_features.quality import assert_publishable, load_result

    found = set(keys(s3proxy, f"{PREFIX}/warehouse/"))
    # The DAG's compute task ran both suites for D1 and D2. The backfill gates the date it
    # publishes (D3) with the output suites only (orchestration/backfill.py's FINAL_STAGES).
    folder = f"{PREFIX}/warehouse/quality/as_of="
    names = ("inputs.json", "outputs.json", "report.html")
    assert {f"{folder}{day}/{name}" for day in (D1, D2) for name in names} | {
        f"{folder}{D3}/outputs.json",
        f"{folder}{D3}/report.html",
    } <= found
    assert f"{folder}{D3}/inputs.json" not in found
    for day in (D1, D2):
        assert load_result(topology.warehouse, day, "inputs").success, day  # read back from S3
    for day in (D1, D2, D3):
        assert load_result(topology.warehouse, day, "outputs").success, day
    report_key = f"{PREFIX}/warehouse/quality/as_of={D3}/report.html"
    body = s3proxy.client().get_object(Bucket=s3proxy.bucket, Key=report_key)["Body"]
    report = body.read().decode()
    assert "output_user" in report and str(D3) in report
    for table in ("quarantine/playback", "metrics/input_counts", "metrics/runs"):
        assert f"{PREFIX}/warehouse/{table}/_delta_log/00000000000000000000.json" in found, table
    assert f"{PREFIX}/warehouse/state/lease.json" not in found  # released after each run
    assert assert_publishable(s3_spark, topology.warehouse, D3).as_of == D3  # the gate reads S3


def test_the_training_set_reads_the_s3_warehouse_point_in_time(
    topology: Topology, s3_spark: Any
) -> None:
    from amp_features import build_training_set
    from amp_features.explore import load_group
    from amp_features.training import AS_OF_COL

    users = sorted(r["user_id"] for r in load_group(s3_spark, topology.warehouse, "user", D3).collect())  # fmt: skip
    shows = sorted(r["show_id"] for r in load_group(s3_spark, topology.warehouse, "show", D3).collect())  # fmt: skip
    pairs = [(u, s) for u in users[:4] for s in shows[:3]]
    # Examples on D3 see the snapshot of D2, on D3+1 the one of D3, on D2 the one of D1.
    noon = dt.time(12, tzinfo=dt.UTC)
    moments = [dt.datetime.combine(day, noon) for day in (D2, D3, D3 + dt.timedelta(days=1))]
    examples = s3_spark.createDataFrame(
        [(f"{u}-{s}-{t:%d}", u, s, t, 1) for (u, s) in pairs for t in moments],
        "example_id string, user_id string, show_id string, event_ts timestamp, label int",
    )
    training = build_training_set(s3_spark, examples, topology.warehouse)
    assert {r[AS_OF_COL] for r in training.select(AS_OF_COL).collect()} == {D1, D2, D3}
    local = build_training_set(s3_spark, examples, topology.local_warehouse)
    assert rows(training) == rows(local.select(*training.columns))


def test_a_debug_run_on_the_cluster_logs_its_settings_but_never_the_secret(
    topology: Topology, s3proxy: S3Proxy
) -> None:
    output = topology.outputs["backfill"]  # submitted with --log-level DEBUG
    assert "session settings" in output and s3proxy.endpoint in output
    assert f"{topology.warehouse}/features/user" in output
    assert s3proxy.secret_key not in output


def test_the_sensor_lists_s3_partitions_ready_and_not_ready(
    topology: Topology, s3proxy: S3Proxy
) -> None:
    from amp_features.orchestration.presence import missing_raw_partitions

    client, bucket = s3proxy.client(), s3proxy.bucket
    after = D3 + dt.timedelta(days=1)
    assert missing_raw_partitions(topology.lake, D3).ready
    assert missing_raw_partitions(topology.lake, after).missing == (
        f"playback: no data in partition dt={after}",
        f"engagement: no data in partition dt={after}",
    )
    # A second lake arriving object by object: nothing, then the dimensions and playback of D3,
    # then engagement's partition with only a marker file, then its data.
    lake = f"s3a://{bucket}/sensor/lake"
    assert [m.split(":")[0] for m in missing_raw_partitions(lake, D3).missing] == [
        "playback", "engagement", "shows", "users",
    ]  # fmt: skip

    def copy(table: str, part: str = "") -> None:
        for key in keys(s3proxy, f"{PREFIX}/lake/{table}/{part}"):
            target = key.replace(f"{PREFIX}/lake/", "sensor/lake/", 1)
            client.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": key})

    for table in ("shows", "users"):
        copy(table)
    copy("playback", f"dt={D3}/")
    assert missing_raw_partitions(lake, D3).missing == (
        f"engagement: no table at {lake}/engagement",
    )
    client.put_object(Bucket=bucket, Key=f"sensor/lake/engagement/dt={D3}/_SUCCESS", Body=b"")
    assert missing_raw_partitions(lake, D3).missing == (
        f"engagement: no data in partition dt={D3}",
    )
    copy("engagement", f"dt={D3}/")
    assert missing_raw_partitions(lake, D3).ready


def test_a_backfill_fails_fast_while_a_run_holds_the_s3_warehouse_lease(
    topology: Topology, s3_spark: Any
) -> None:
    from amp_features.errors import WarehouseBusyError
    from amp_features.jobs import backfill
    from amp_features.offline import lease as leases
    from amp_features.offline.snapshots import history
    from amp_features.pipeline.runner import RunContext, Targets, warehouse_lease

    before = history(s3_spark, topology.warehouse)
    airflow_run = f"scheduled__{D3 + dt.timedelta(days=1)}T22:00:00+00:00"
    targets = Targets(topology.lake, topology.warehouse)
    holder = RunContext(s3_spark, D3, targets, external_run_id=airflow_run)
    with warehouse_lease(holder), pytest.raises(WarehouseBusyError) as busy:
        backfill.run(
            ["--start", str(D2), "--end", str(D3), "--force",
             "--lake", topology.lake, "--warehouse", topology.warehouse]
        )  # fmt: skip
    message = str(busy.value)
    assert f"warehouse {topology.warehouse} is busy" in message
    assert f"run {holder.run_id} (as_of {D3}), Airflow run {airflow_run}" in message  # the holder
    assert f"pid {os.getpid()}" in message
    assert history(s3_spark, topology.warehouse) == before  # it wrote nothing
    # Once the holder is done the lease is free again: the next writer takes it at once.
    with leases.hold(topology.warehouse, "next-run", "the next run") as lease:
        assert lease.holder.startswith("next-run:") and lease.owner == "the next run"
