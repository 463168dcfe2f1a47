"""The foundation: session settings, Delta round trip with history, and the CLI's behaviour."""

from __future__ import annotations

import subprocess
import sys

from delta.tables import DeltaTable
from pyspark.sql import functions as F

from amp_features.cli import main
from amp_features.session import parse_conf_pairs, session_conf


def test_session_is_utc_with_delta(spark):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert "DeltaSparkSessionExtension" in spark.conf.get("spark.sql.extensions")
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"


def test_delta_round_trip_has_history(spark, tmp_path):
    path = str(tmp_path / "t")
    spark.range(5).write.format("delta").save(path)
    spark.range(5, 8).write.format("delta").mode("append").save(path)
    table = DeltaTable.forPath(spark, path)
    assert table.toDF().count() == 8
    history = table.history().orderBy("version").select("version", "operation").collect()
    assert [(r.version, r.operation) for r in history] == [(0, "WRITE"), (1, "WRITE")]
    assert (tmp_path / "t" / "_delta_log").is_dir()
    assert table.toDF().agg(F.max("id")).first()[0] == 7


def test_conf_layering(monkeypatch):
    monkeypatch.setenv("AMP_SPARK_CONF", "spark.sql.shuffle.partitions=64;spark.x=1")
    merged = session_conf({"spark.x": "2"})
    assert merged["spark.sql.shuffle.partitions"] == "64"
    assert merged["spark.x"] == "2"
    assert merged["spark.sql.session.timeZone"] == "UTC"
    assert parse_conf_pairs(["a=b", " c = d "]) == {"a": "b", "c": "d"}


def test_cli_help_lists_subcommands():
    out = subprocess.run(
        [sys.executable, "-m", "amp_features.cli", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0
    for name in ("describe", "generate", "run", "export", "jars"):
        assert name in out.stdout


def test_cli_bad_subcommand_is_one_line_error():
    out = subprocess.run(
        [sys.executable, "-m", "amp_features.cli", "frobnicate"], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1
    assert "invalid choice" in out.stderr


def test_cli_bad_flag_is_one_line_error():
    out = subprocess.run(
        [sys.executable, "-m", "amp_features.cli", "describe", "--nope"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1


def test_describe_prints_catalog(capsys):
    assert main(["describe"]) == 0
    assert "topic_affinity" in capsys.readouterr().out
