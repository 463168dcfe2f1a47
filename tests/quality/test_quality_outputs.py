"""Output suites and the publish gate, bound to commits: a clean commit passes; a commit of broken
features stops the publish; a write that no commit pinned changes nothing readers or the gate
see; a pass recorded for an earlier commit of the date does not count for a newer one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from quality_helpers import AS_OF, commit_snapshot, feature_ddl, feature_rows

from amp_features.errors import QualityGateError, SnapshotMissingError
from amp_features.offline import snapshots
from amp_features.quality import assert_publishable, load_result, validate_outputs
from amp_features.registry import GROUPS


def _replace_as_of(spark: Any, warehouse: Path, group: str, rows: list[Any], ddl: str) -> None:
    """Rewrite the AS_OF partition of one feature table (the previous as_of stays)."""
    from amp_features.layout import Warehouse

    df = spark.createDataFrame(rows, ddl)
    (
        df.write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", f"as_of = '{AS_OF}'")
        .option("overwriteSchema", "false")
        .save(Warehouse(str(warehouse)).feature_table(group))
    )


def test_clean_run_passes_the_gate_and_writes_a_report(spark: Any, warehouse_copy: Path) -> None:
    result = validate_outputs(spark, str(warehouse_copy), AS_OF, report=True)
    assert result.success, result.summary()
    assert [s.name for s in result.suites] == [f"output_{g}" for g in GROUPS]
    commit = assert_publishable(spark, str(warehouse_copy), AS_OF)
    # The result is bound to the commit it validated (its row, and a file named by its id).
    assert commit.validation_id == result.run_id and commit.validation_passed is True
    assert (
        warehouse_copy / "quality" / f"as_of={AS_OF}" / "commits" / f"{commit.commit_id}.json"
    ).is_file()
    page = Path(result.report).read_text()
    assert "PASSED" in page and "data:image/png;base64," in page
    assert result.profiles["user"]["previous_rows"] == result.profiles["user"]["rows"] == 4


def test_all_null_feature_stops_the_publish(spark: Any, warehouse_copy: Path) -> None:
    ddl = feature_ddl("show")
    rows = [(*r[:-2], None, r[-1]) for r in feature_rows("show", AS_OF, 4)]  # last feature null
    _replace_as_of(spark, warehouse_copy, "show", rows, ddl)
    commit_snapshot(spark, warehouse_copy, AS_OF, "broken")  # a run committed the broken table
    result = validate_outputs(spark, str(warehouse_copy), AS_OF, report=False)
    assert not result.success
    assert result.suite("output_user").success
    checks = {(o.check, o.column) for o in result.suite("output_show").failures}
    assert ("all-null feature", "show_avg_listen_minutes_60d") in checks
    assert ("null-rate change", "change") in checks
    with pytest.raises(QualityGateError) as err:
        assert_publishable(spark, str(warehouse_copy), AS_OF)
    message = str(err.value)
    assert "publish blocked" in message
    assert "features/show: all-null feature" in message
    assert "show_avg_listen_minutes_60d" in message and "output_show" in message
    # The failed validation stays readable.
    stored = load_result(str(warehouse_copy), AS_OF, "outputs")
    assert stored is not None and not stored.success


def test_schema_change_in_a_feature_table_stops_the_publish(
    spark: Any, warehouse_copy: Path
) -> None:
    # sessions_60d written as a double: the user table no longer matches the registry.
    ddl = feature_ddl("user").replace("sessions_60d bigint", "sessions_60d double")
    from amp_features.layout import Warehouse

    rows = feature_rows("user", AS_OF, 4)
    df = spark.createDataFrame(rows, feature_ddl("user")).selectExpr(
        *[
            f"cast({c} as double) as {c}" if c == "sessions_60d" else c
            for c in spark.createDataFrame(rows, feature_ddl("user")).columns
        ]
    )
    assert "sessions_60d double" in ddl
    (
        df.write.format("delta")
        .mode("overwrite")
        .option("overwriteSchema", "true")
        .partitionBy("as_of")
        .save(Warehouse(str(warehouse_copy)).feature_table("user"))
    )
    commit_snapshot(spark, warehouse_copy, AS_OF, "retyped")
    validate_outputs(spark, str(warehouse_copy), AS_OF, report=False)
    with pytest.raises(
        QualityGateError, match=r"features/user: schema change \(observed DoubleType"
    ):
        assert_publishable(spark, str(warehouse_copy), AS_OF)


def test_an_unpinned_write_changes_nothing_and_a_new_commit_needs_its_own_pass(
    spark: Any, warehouse_copy: Path
) -> None:
    wh = str(warehouse_copy)
    assert validate_outputs(spark, wh, AS_OF, report=False).success
    passed = assert_publishable(spark, wh, AS_OF)
    clean = sorted(map(tuple, snapshots.read(spark, wh, passed, "show").collect()))
    # A write to D's partition that no commit pinned (a re-run killed before its commit, or a
    # manual write): readers and the gate still see the validated commit and its rows.
    rows = [(*r[:-2], None, r[-1]) for r in feature_rows("show", AS_OF, 4)]
    _replace_as_of(spark, warehouse_copy, "show", rows, feature_ddl("show"))
    assert assert_publishable(spark, wh, AS_OF) == passed
    assert sorted(map(tuple, snapshots.read(spark, wh, passed, "show").collect())) == clean
    # Once a run commits it, the earlier pass does not carry over: the new commit is refused
    # until its own validation runs.
    newer = commit_snapshot(spark, warehouse_copy, AS_OF, "rerun")
    with pytest.raises(QualityGateError, match="has no output validation of its own") as err:
        assert_publishable(spark, wh, AS_OF)
    assert newer.commit_id in str(err.value)


def test_missing_validation_blocks_and_override_is_logged(
    spark: Any, warehouse_copy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wh = str(warehouse_copy)  # committed, never validated
    with pytest.raises(QualityGateError, match="has no output validation of its own"):
        assert_publishable(spark, wh, AS_OF)
    import logging

    logging.getLogger("amp_features").propagate = True
    with caplog.at_level(logging.WARNING, logger="amp_features"):
        commit = assert_publishable(spark, wh, AS_OF, override=True)
    assert commit.as_of == AS_OF
    assert "publish gate OVERRIDDEN" in caplog.text
    assert list((warehouse_copy / "quality" / f"as_of={AS_OF}" / "history").glob("*-override.txt"))
    # A date without any commit has nothing to publish, override or not.
    for override in (False, True):
        with pytest.raises(SnapshotMissingError, match=f"as_of {AS_OF} has no committed snapshot"):
            assert_publishable(spark, str(tmp_path / "empty"), AS_OF, override=override)
