"""The sdist and wheel are complete: a wheel installed away from the checkout runs on its own.

``python -m build`` builds the sdist and then the wheel *from the unpacked sdist*, so a file the
sdist forgets is missing from the wheel too. The build runs on a copy of the checkout (other work
in the checkout must not see a ``build/`` folder appear) and without isolation, so no network is
needed: the build tools come from the [dev] extra.

The wheel is installed with ``--no-deps`` into a new virtualenv. Its dependencies (Spark, GX...)
come from this project's venv through a ``.pth`` line, which Python appends *after* the new venv's
own site-packages, so ``amp_features`` itself resolves to the wheel. (This venv's editable install
is a ``.pth`` hook, and hooks in a folder added that way are not run.)
"""

from __future__ import annotations

import email
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from amp_features.quality.suites import all_suite_names
from amp_features.registry import FEATURES

pytestmark = [pytest.mark.slow, pytest.mark.nightly]

REPO = Path(__file__).resolve().parents[2]
SUITES_IN_PACKAGE = "amp_features/quality/expectations"
# What a checkout may hold that is not source (all in .gitignore).
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache",
    ".mypy_cache", ".ruff_cache", "demo-output", "bench-output", "spark-warehouse",
    "metastore_db", "derby.log", ".ipynb_checkpoints", "tmp",
)  # fmt: skip


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def only(paths: list[Path]) -> Path:
    assert len(paths) == 1, paths
    return paths[0]


def expected_files() -> list[str]:
    """Package paths a complete distribution holds beyond the modules."""
    return ["amp_features/py.typed"] + [f"{SUITES_IN_PACKAGE}/{n}.json" for n in all_suite_names()]


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    src = tmp_path_factory.mktemp("checkout") / "amp-features"
    shutil.copytree(REPO, src, symlinks=True, ignore=NOT_SOURCE)
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)])
    return {"wheel": only(list(out.glob("*.whl"))), "sdist": only(list(out.glob("*.tar.gz")))}


def test_wheel_holds_every_suite_and_py_typed(dists):
    with zipfile.ZipFile(dists["wheel"]) as whl:
        names = set(whl.namelist())
        missing = [f for f in expected_files() if f not in names]
        assert not missing, f"missing from the wheel: {missing}"
        for name in all_suite_names():
            shipped = json.loads(whl.read(f"{SUITES_IN_PACKAGE}/{name}.json"))
            in_checkout = json.loads((REPO / SUITES_IN_PACKAGE / f"{name}.json").read_text())
            assert shipped == in_checkout, f"{name}.json in the wheel differs from the checkout's"
        dist_info = only([Path(n) for n in names if n.endswith(".dist-info/METADATA")])
        meta = email.message_from_bytes(whl.read(str(dist_info)))
    assert meta["Requires-Python"] == ">=3.11"
    core = [r for r in meta.get_all("Requires-Dist") if "extra ==" not in r]
    core_names = {r.split(";")[0].split("<")[0].split(">")[0].split("=")[0].strip() for r in core}
    assert core_names >= {"pyspark", "delta-spark", "pandas", "pyarrow", "great-expectations"}
    # The optional parts are extras, not core requirements.
    assert not core_names & {"redis", "hiredis", "boto3", "apache-airflow", "psutil", "ipykernel"}
    assert {"redis", "airflow", "notebook", "dev", "all"} <= set(meta.get_all("Provides-Extra"))


def test_sdist_holds_every_suite_and_py_typed(dists):
    with tarfile.open(dists["sdist"]) as tar:
        # Every member sits under one top folder, amp_features-<version>/.
        names = {m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name}
    missing = [f for f in expected_files() if f not in names]
    assert not missing, f"missing from the sdist: {missing}"
    # The top-level expectations/ is a link to the package data, not a second copy.
    assert not [n for n in names if n.startswith("expectations/")]


@pytest.fixture(scope="module")
def venv(dists, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv") / "fresh"
    run([sys.executable, "-m", "venv", str(root)])
    python = root / "bin" / "python"
    run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
         "--disable-pip-version-check", str(dists["wheel"])])  # fmt: skip
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib.stdout.strip()) / "amp-test-deps.pth").write_text(
        "".join(f"{p}\n" for p in sorted(ours)), encoding="utf-8"
    )
    return root


def run_installed(venv: Path, cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "AMP_EXPECTATIONS_DIR", "VIRTUAL_ENV")
        and not k.startswith(("PYSPARK_", "SPARK_"))
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return run(cmd, cwd=cwd, env=env)


def test_installed_cli_reports_its_version_and_catalog(dists, venv, tmp_path):
    version = dists["wheel"].name.split("-")[1]
    done = run_installed(venv, [str(venv / "bin" / "amp-features"), "--version"], tmp_path)
    assert done.stdout == f"amp-features {version}\n"
    done = run_installed(venv, [str(venv / "bin" / "amp-features"), "describe"], tmp_path)
    missing = [f.name for f in FEATURES if f.name not in done.stdout]
    assert not missing, f"describe does not list {missing}"


def test_installed_library_loads_its_suites_from_the_wheel(venv, tmp_path):
    code = """
import json
import amp_features
from amp_features.quality.suites import all_suite_names, load_suite, suites_location
print(json.dumps({
    "module": amp_features.__file__,
    "suites_at": str(suites_location()),
    "suites": {name: load_suite(name) for name in all_suite_names()},
}))
"""
    done = run_installed(venv, [str(venv / "bin" / "python"), "-c", code], tmp_path)
    seen = json.loads(done.stdout)
    assert Path(seen["module"]).is_relative_to(venv), seen["module"]
    assert Path(seen["suites_at"]).is_relative_to(venv), seen["suites_at"]
    assert sorted(seen["suites"]) == sorted(all_suite_names())
    for name, suite in seen["suites"].items():
        in_checkout = json.loads((REPO / SUITES_IN_PACKAGE / f"{name}.json").read_text())
        assert suite == in_checkout, name
