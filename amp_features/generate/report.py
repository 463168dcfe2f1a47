"""The generation report: what ``generate_lake`` wrote, as ``_generation_report.json``."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from amp_features.errors import ConfigError
from amp_features.layout import join

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

REPORT_NAME = "_generation_report.json"


@dataclass
class GenerationReport:
    """What ``generate_lake`` wrote: rows per table, rows per injected class, the shape."""

    out: str
    fmt: str
    start_date: dt.date
    end_date: dt.date
    arguments: dict[str, Any]
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> path, rows
    injected: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> class -> rows
    shape: dict[str, float | int] = field(default_factory=dict)
    seconds: float = 0.0
    shape_seconds: float = 0.0

    @property
    def report_path(self) -> str:
        return join(self.out, REPORT_NAME)

    def rows(self, table: str) -> int:
        return int(self.tables[table]["rows"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": self.out,
            "format": self.fmt,
            "dt_range": [self.start_date.isoformat(), self.end_date.isoformat()],
            "arguments": self.arguments,
            "tables": self.tables,
            "injected": self.injected,
            "shape": self.shape,
            "seconds": round(self.seconds, 1),
            "shape_seconds": round(self.shape_seconds, 1),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=False, default=str) + "\n"

    def summary_lines(self) -> list[str]:
        lines = [
            f"wrote {self.fmt} lake {self.out} (dt {self.start_date} .. {self.end_date}) "
            f"in {self.seconds:.1f}s"
        ]
        for name, info in self.tables.items():
            lines.append(f"  {name:<11} {info['rows']:>12,} rows  {info['path']}")
        for table, classes in self.injected.items():
            shown = ", ".join(f"{k}={v:,}" for k, v in classes.items() if v)
            lines.append(f"  injected in {table}: {shown or 'none'}")
        if self.shape:
            lines.append(
                "  shape: "
                + ", ".join(
                    f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v:,}"
                    for k, v in self.shape.items()
                )
            )
        lines.append(f"  report: {self.report_path}")
        return lines


# -- file system (works for local folders and s3a:// alike through Hadoop) ------------------------


def hadoop_fs(spark: SparkSession, path: str) -> tuple[Any, Any]:
    sc: Any = spark.sparkContext
    jpath = sc._jvm.org.apache.hadoop.fs.Path(path)
    return jpath.getFileSystem(sc._jsc.hadoopConfiguration()), jpath


def write_text(spark: SparkSession, path: str, text: str) -> None:
    fs, jpath = hadoop_fs(spark, path)
    stream = fs.create(jpath, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def read_report(spark: SparkSession, out: str) -> dict[str, Any]:
    """The JSON report of the lake at ``out``."""
    fs, jpath = hadoop_fs(spark, join(out, REPORT_NAME))
    if not fs.exists(jpath):
        raise ConfigError(f"out: no {REPORT_NAME} in {out}; was it written by generate?")
    sc: Any = spark.sparkContext
    stream = fs.open(jpath)
    try:
        text = sc._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()
    loaded: dict[str, Any] = json.loads(text)
    return loaded
