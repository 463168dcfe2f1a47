"""The example notebook runs top to bottom, so it cannot rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "explore_features.ipynb"


@pytest.mark.slow
def test_example_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel starts its own Spark: keep it as small as the tests' session, and make sure it
    # does not think it runs under spark-submit because of this process's variables.
    for name in ("PYSPARK_GATEWAY_PORT", "PYSPARK_GATEWAY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AMP_SPARK_MASTER", "local[2]")
    monkeypatch.setenv(
        "AMP_SPARK_CONF",
        "spark.sql.shuffle.partitions=2;spark.default.parallelism=2;spark.ui.enabled=false;"
        "spark.driver.memory=1g",
    )
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=900,  # per cell; the lake and the two pipeline runs are one cell
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in outputs
    )
    assert "features_as_of" in text
    assert "Run the pipeline for those dates" in text  # the explicit missing-snapshot error
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the two plots, each shown once
    assert (tmp_path / "explore-demo" / "warehouse" / "features" / "user").is_dir()
