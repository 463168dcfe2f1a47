"""A wheel of this checkout installed into a fresh virtualenv outside the repository.

The wheel is built without isolation (no network: the build tools come from the [dev] extra) from
a copy of what the wheel is made of, so the checkout never sees a ``build/`` folder. It is
installed with ``--no-deps``; its dependencies (Spark, Delta, GX, Airflow, redis...) come from this
project's venv through a ``.pth`` line, which Python appends *after* the new venv's own
site-packages, so ``amp_features`` resolves to the wheel (the same trick as tests/packaging).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# What the wheel is built from (everything else in a checkout is tests, docs, tooling).
WHEEL_SOURCES = ("amp_features", "setup.cfg", "pyproject.toml", "MANIFEST.in", "README.md")
NOT_SOURCE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done  # type: ignore[no-any-return]


def build_wheel(work: Path) -> Path:
    src = work / "src"
    src.mkdir(parents=True)
    for name in WHEEL_SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, symlinks=True, ignore=NOT_SOURCE)
        else:
            shutil.copy2(path, src / name)
    out = work / "dist"
    run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(src)]
    )
    (wheel,) = out.glob("amp_features-*.whl")
    return wheel


def fresh_venv(wheel: Path, root: Path) -> Path:
    """A new virtualenv at ``root`` with the wheel installed; returns its ``bin`` folder."""
    run([sys.executable, "-m", "venv", str(root)])
    python = root / "bin" / "python"
    run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
         "--disable-pip-version-check", str(wheel)])  # fmt: skip
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib.stdout.strip()) / "amp-test-deps.pth").write_text(
        "".join(f"{p}\n" for p in sorted(ours)), encoding="utf-8"
    )
    return root / "bin"


# Variables that would point a process back at this checkout or this venv's Spark settings.
_SCRUBBED = (
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "AMP_EXPECTATIONS_DIR",
    "AMP_SPARK_CONF",
    "AMP_SPARK_MASTER",
)


def installed_env(bin_dir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without anything naming the checkout, with the new venv and
    Spark's ``bin`` (spark-submit, as a pip-installed pyspark puts it on PATH) first on PATH."""
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _SCRUBBED and not k.startswith(("PYSPARK_", "SPARK_", "AMP_FEATURES_"))
    }
    env["PATH"] = os.pathsep.join([str(bin_dir), str(spark_home / "bin"), env.get("PATH", "")])
    env["SPARK_HOME"] = str(spark_home)
    env.update(extra)
    return env
