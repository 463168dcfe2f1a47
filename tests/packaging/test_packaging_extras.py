"""Optional dependencies: the core never imports them, and a missing one is a one-line error.

Each check runs in a fresh interpreter (a module already imported here would hide a lazy import),
with the optional module made unimportable by ``sys.modules[name] = None``, which is what Python
does for a package that is not installed: ``import name`` raises ModuleNotFoundError.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

from amp_features.errors import AmpFeaturesError, ConfigError, MissingExtraError
from amp_features.extras import require


def run_python(
    code: str, *args: str, block: tuple[str, ...] = (), cwd: Path
) -> subprocess.CompletedProcess:
    prelude = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in block)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK_", "SPARK_"))}
    return subprocess.run(
        [sys.executable, "-c", prelude + code, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def run_cli(args: list[str], *, block: tuple[str, ...], cwd: Path) -> subprocess.CompletedProcess:
    code = "from amp_features.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return run_python(code, *args, block=block, cwd=cwd)


def test_sqlite_users_never_import_the_optional_packages(tmp_path):
    url = f"sqlite:///{tmp_path / 'online.db'}"
    code = f"""
import amp_features.export, amp_features.serve, amp_features.explore
import amp_features.orchestration.presence, amp_features.quality.suites
from amp_features.export.publish import status
from amp_features.serve.store import OnlineStore
print(status({url!r}))
loaded = [m for m in ("redis", "hiredis", "boto3", "botocore", "matplotlib") if m in sys.modules]
print("loaded:", loaded)
"""
    done = run_python(code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["(None, [])", "loaded: []"]


def test_sqlite_export_commands_work_without_redis(tmp_path):
    url = f"sqlite:///{tmp_path / 'online.db'}"
    done = run_cli(["online", "status", "--online", url], block=("redis",), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"online store {url}: live version none"


def test_a_redis_url_without_redis_is_one_line_naming_the_extra(tmp_path):
    done = run_cli(
        ["online", "status", "--online", "redis://127.0.0.1:1/0"], block=("redis",), cwd=tmp_path
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        "amp-features: error: redis is not installed: pip install 'amp-features[redis]'\n"
    )


def test_plots_without_matplotlib_name_the_notebook_extra(tmp_path):
    code = """
from amp_features.explore import plot_daily_mean, plot_distribution
for call in (
    lambda: plot_distribution(None, "wh", "sessions_60d", "2026-11-19", "2026-11-20"),
    lambda: plot_daily_mean(None, "wh", "sessions_60d", "2026-11-19", "2026-11-20"),
):
    try:
        call()
        print("no error")
    except Exception as exc:
        print(type(exc).__name__, exc)
"""
    # The helpers fail before touching Spark (spark=None here), so no JVM starts.
    done = run_python(code, block=("matplotlib",), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    message = "MissingExtraError matplotlib is not installed: pip install 'amp-features[notebook]'"
    assert done.stdout.splitlines() == [message, message]


def test_an_installed_but_broken_extra_keeps_its_reason(tmp_path, monkeypatch):
    pkg = tmp_path / "amp_broken_extra"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("import amp_no_such_dependency\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingExtraError) as err:
        require("amp_broken_extra", "redis")
    assert str(err.value) == (
        "amp_broken_extra cannot be imported (No module named 'amp_no_such_dependency'): "
        "pip install 'amp-features[redis]'"
    )
    # The CLI prints AmpFeaturesError messages as its one-line reason; ConfigError is exit 1.
    assert isinstance(err.value, ConfigError)
    assert isinstance(err.value, AmpFeaturesError)


def test_version_flag_prints_the_installed_distribution_version(capsys):
    from amp_features.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"amp-features {importlib.metadata.version('amp-features')}\n"
