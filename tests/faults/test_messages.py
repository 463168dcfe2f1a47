"""Clear messages on faults: no credential and no record in any message or log line, and a failed
export says what readers see now, as read from the store after the failure.

Real redis-servers on 127.0.0.1 (the tests' ``RedisServer``, with a password, a tiny
``maxmemory``, or killed and restarted without persistence midway), the online tests' tiny
warehouse, and the ``amp-features`` command run as a separate process where its whole output
matters.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from handmade import append_hand_commit

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "online"), str(TESTS / "quality")]
# The export writes from Spark's Python workers, which need this interpreter's packages (redis).
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

import redis  # noqa: E402
from online_testdata import D1, D2, write_tiny_warehouse  # noqa: E402
from quality_helpers import (  # noqa: E402
    AS_OF,
    day,
    engagement_rows,
    lake_days,
    playback_rows,
    ts,
    write_raw,
)
from redisserver import REDIS_SERVER, RedisServer, _free_port  # noqa: E402

from amp_features.errors import OnlineStoreError, QualityGateError  # noqa: E402
from amp_features.export import publish  # noqa: E402
from amp_features.quality import load_result, validate_inputs  # noqa: E402
from amp_features.serve import OnlineStore  # noqa: E402
from amp_features.serve.backends import error_cause, hide_secrets, redact  # noqa: E402

needs_redis = pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server")
PASSWORD = "pw-Q7v9Lr2xK"  # a throw-away server's
ALICE_PASSWORD = "alice-M4t8Wz"
WRONG_PASSWORD = "wrong-H3n6Yd"
TOKEN = "tok-B5c1Pq"
SECRETS = (PASSWORD, ALICE_PASSWORD, WRONG_PASSWORD, TOKEN)
# What a record write carries (tiny warehouse): a record hash key, the command, feature values.
RECORD_CONTENTS = re.compile(r"HSET|\w+:\d{8}-\d+:[usc]:\d|95\.25|0\.123456789|música")
# The cause as redis-py names it: OutOfMemoryError since 5.1, the server's OOM code before.
OOM = r"(OutOfMemoryError: |OOM )command not allowed when used memory > 'maxmemory'"
AMP_FEATURES = str(Path(sys.executable).with_name("amp-features"))


class ConfiguredRedis(RedisServer):
    """The tests' server with settings applied as it starts (CONFIG SET of
    ``requirepass``, ``maxmemory``, ...: what the command-line flags of the same name set)."""

    def __init__(self, folder: Path, config: dict[str, str]) -> None:
        super().__init__(folder)
        self.config = config

    def start(self) -> None:
        super().start()
        client = redis.Redis(port=self.port, socket_connect_timeout=2)
        for key, value in self.config.items():
            client.config_set(key, value)

    def admin(self) -> redis.Redis:
        return redis.Redis(port=self.port, password=self.config.get("requirepass"))

    def stop(self) -> None:
        if self.proc is not None and self.config.get("requirepass"):
            with contextlib.suppress(redis.RedisError):  # SHUTDOWN drops the line
                self.admin().shutdown(nosave=True)
        super().stop()


@pytest.fixture()
def servers() -> Iterator[Callable[..., ConfiguredRedis]]:
    made: list[ConfiguredRedis] = []

    def make(**config: str) -> ConfiguredRedis:
        folder = Path(tempfile.mkdtemp(prefix="amp-redis-faults-"))
        server = ConfiguredRedis(folder, {k.replace("_", "-"): v for k, v in config.items()})
        made.append(server)
        server.start()
        return server

    yield make
    for server in made:
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def tiny_wh(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    root = str(tmp_path_factory.mktemp("faults-wh"))
    write_tiny_warehouse(spark, root)
    _commit_snapshots(spark, root)
    return root


def _commit_snapshots(spark: Any, root: str) -> None:
    """Commit rows for both dates (export reads committed snapshots only), unless the tiny
    warehouse's writer already made them."""
    from delta.tables import DeltaTable

    from amp_features.offline import snapshots

    if snapshots.committed_dates(spark, root):
        return
    versions = {
        t: int(DeltaTable.forPath(spark, snapshots.table_path(root, t)).history(1).first()[0])
        for t in snapshots.SNAPSHOT_TABLES
    }
    for as_of in (D1, D2):
        append_hand_commit(spark, root, as_of, "faults", versions)


@pytest.fixture()
def amp_logs() -> Iterator[list[str]]:
    """Every line the library logs (with tracebacks), whatever handlers the CLI set up."""
    logger = logging.getLogger("amp_features")
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def _cli(*argv: str) -> tuple[int, str]:
    """``amp-features`` as a user runs it: its exit code and everything it printed (stdout,
    stderr: its own logs at DEBUG, Spark's and the Python workers')."""
    proc = subprocess.run(
        [AMP_FEATURES, "--log-level", "DEBUG", "--conf", "spark.ui.enabled=false", *argv],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "AMP_SPARK_LOG_LEVEL": "INFO"},
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def _assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} printed in:\n{text[-3000:]}"


# -- 1. credentials ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw-Q7v9Lr2xK@h:6379/0", "redis://:***@h:6379/0"),
        ("redis://alice:pw-Q7v9Lr2xK@h:6379/0?prefix=a", "redis://alice:***@h:6379/0?prefix=a"),
        ("rediss://h:6380/0?password=pw-Q7v9Lr2xK", "rediss://h:6380/0?password=***"),
        (
            "redis://h/0?prefix=a&password=pw-Q7v9Lr2xK&ssl_password=tok-B5c1Pq",
            "redis://h/0?prefix=a&password=***&ssl_password=***",
        ),
        (
            "redis://h/0?auth_token=tok-B5c1Pq&Client_Secret=x1",
            "redis://h/0?auth_token=***&Client_Secret=***",
        ),
        ("redis://tok-B5c1Pq@h/0", "redis://***@h/0"),
        ("redis://[::1/0?password=pw-Q7v9Lr2xK", "redis://[::1/0"),  # not a valid URL
        ("sqlite:///data/online.db?prefix=amp", "sqlite:///data/online.db?prefix=amp"),
    ],
)
def test_redact_hides_every_form_of_credential(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert hide_secrets(f"could not reach {url}.", url) == f"could not reach {shown}."
    _assert_no_secret(error_cause(RuntimeError(f"could not reach {url}"), url))


def test_a_credential_echoed_outside_its_url_is_hidden_too() -> None:
    url = f"redis://alice:{ALICE_PASSWORD}@h/0?password={PASSWORD}"
    assert hide_secrets(f"AUTH alice {ALICE_PASSWORD} / {PASSWORD}", url) == "AUTH alice *** / ***"
    # redis-py quotes a failed pipeline command, arguments included: only the cause is kept.
    exc = redis.ResponseError(
        "Command # 1 (HSET amp:20260120-1:u:0 u1 [12,95.25]) of pipeline caused error: OOM "
        "command not allowed when used memory > 'maxmemory'."
    )
    assert error_cause(exc, url) == (
        "ResponseError: OOM command not allowed when used memory > 'maxmemory'."
    )


@needs_redis
def test_passwords_appear_in_no_output_of_export_and_status(
    tiny_wh: str, servers: Callable[..., ConfiguredRedis]
) -> None:
    server = servers(requirepass=PASSWORD)
    server.admin().acl_setuser(
        "alice",
        enabled=True,
        passwords=[f"+{ALICE_PASSWORD}"],
        keys=["*"],
        channels=["*"],
        commands=["+@all"],
    )
    base = f"127.0.0.1:{server.port}/0"
    urls = {
        f"redis://{base}?password={PASSWORD}&prefix=q": f"redis://{base}?password=***&prefix=q",
        f"redis://alice:{ALICE_PASSWORD}@{base}?prefix=a": f"redis://alice:***@{base}?prefix=a",
    }
    outputs = []
    for url, shown in urls.items():
        code, out = _cli(
            "export", "--as-of", str(D1), "--warehouse", tiny_wh, "--online", url,
            "--skip-quality-gate",
        )  # fmt: skip
        outputs.append(out)
        assert code == 0, out[-3000:]
        assert f"published as_of {D1} to {shown} as version" in out
        with OnlineStore.from_url(url) as store:  # the export did reach the store
            assert store.current_version() is not None
        code, out = _cli("online", "status", "--online", url)
        outputs.append(out)
        assert code == 0, out
        assert f"online store {shown}: live version 20260120-1" in out

    # Failing connections: a wrong password, and a port where nothing listens.
    wrong = f"redis://{base}?password={WRONG_PASSWORD}&prefix=q"
    code, out = _cli("online", "status", "--online", wrong)
    outputs.append(out)
    assert code == 1
    assert f"amp-features: error: reading the versions of redis://{base}?password=***" in out
    closed = f"redis://alice:{ALICE_PASSWORD}@127.0.0.1:{_free_port()}/0?token={TOKEN}"
    code, out = _cli(
        "export", "--as-of", str(D1), "--warehouse", tiny_wh, "--online", closed,
        "--skip-quality-gate",
    )  # fmt: skip
    outputs.append(out)
    assert code == 1
    assert "failed while opening the store" in out and "redis://alice:***@127.0.0.1:" in out
    assert "could not be reached to check" in out
    # It failed before starting Spark: nothing of the snapshot was read.
    assert "reading the committed snapshot" not in out and "SparkContext" not in out
    for out in outputs:
        _assert_no_secret(out)


# -- 2. record contents ----------------------------------------------------------------------------
def _fill_until_oom(server: ConfiguredRedis) -> None:
    client = server.admin()
    for i in range(200):  # 200 x 64 KB is far beyond 1 MB: a bounded loop
        try:
            client.set(f"filler:{i}", b"x" * 65536)
        except redis.ResponseError as exc:  # OutOfMemoryError in redis-py 5.1+
            assert "maxmemory" in str(exc)
            return
    raise AssertionError("the server never reached its maxmemory")


@needs_redis
def test_out_of_memory_names_store_operation_and_cause_never_records(
    spark: Any,
    tiny_wh: str,
    servers: Callable[..., ConfiguredRedis],
    amp_logs: list[str],
) -> None:
    server = servers(maxmemory="1mb", maxmemory_policy="noeviction")
    url = server.url("oom")

    def fill(stage: str) -> None:
        if stage == "writing the records":  # the version is registered: the writes hit OOM
            _fill_until_oom(server)

    with pytest.raises(OnlineStoreError) as err:
        publish(spark, tiny_wh, D1, url, on_stage=fill)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"export of as_of {D1} to {url} failed while writing the records")
    assert re.search(OOM, message), message
    assert "it has no live version, so readers get nothing" in message
    # The whole chain as a traceback prints it: Spark's error (the text of its executor log
    # lines, the Python worker's traceback included), and every line the library logged.
    chain = "".join(traceback.format_exception(err.value))
    assert "PythonException" in chain and re.search(OOM, chain)
    everything = "\n".join([chain, *amp_logs])
    found = RECORD_CONTENTS.findall(everything)
    assert not found, f"record contents {found} in:\n{everything[-4000:]}"


# -- 3. what readers see after a failure ----------------------------------------------------------
@needs_redis
def test_failed_export_says_what_the_store_serves_now(
    spark: Any, tiny_wh: str, servers: Callable[..., ConfiguredRedis]
) -> None:
    server = servers()  # no persistence: a restart empties it
    url = server.url("amp")
    first = publish(spark, tiny_wh, D1, url).version

    def fail_at(stage_name: str, action: Callable[[], None]) -> str:
        def hook(stage: str) -> None:
            if stage == stage_name:
                action()

        with pytest.raises(OnlineStoreError) as err:
            publish(spark, tiny_wh, D2, url, on_stage=hook)
        message = str(err.value)
        assert "\n" not in message and "run the export again" in message
        assert "readers are unaffected" not in message
        return message

    def refuse() -> None:
        raise RuntimeError("refused by the test")

    # The store is fine: readers still get the first version, and the message says so.
    message = fail_at("switching the live-version pointer", refuse)
    assert f"the live version is still {first} (as_of {D1}), which readers are served" in message
    with OnlineStore.from_url(url) as store:
        assert store.current_version() == first

    # Redis restarts empty while the new version is checked: readers get nothing now.
    def restart() -> None:
        server.crash()
        server.start()

    message = fail_at("checking the new version against the Delta tables", restart)
    assert "failed while checking the new version" in message
    assert (
        f"Checked in the store: it has no live version, so readers get nothing "
        f"(it had {first} when the export started)" in message
    )
    with OnlineStore.from_url(url) as store:
        assert store.current_version() is None

    # Redis is gone: the message says it could not check, and claims nothing else.
    message = fail_at("checking the new version against the Delta tables", server.crash)
    assert "The store could not be reached to check what readers see now" in message
    assert "Connection refused" in message and "live version" not in message


# -- 4. a missing column -------------------------------------------------------------------------
def test_missing_column_is_one_clean_line_naming_table_and_column(
    spark: Any, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    days = lake_days()
    no_listen = "event_id string, user_id string, show_id string, started_at timestamp, dt date"
    write_raw(spark, lake, "playback", [r[:4] + r[5:] for r in playback_rows(days)], no_listen)
    write_raw(spark, lake, "engagement", engagement_rows(days))
    write_raw(spark, lake, "shows", [("s0", "c0", "news", ts(day(30), 8))])
    write_raw(spark, lake, "users", [("u0", ts(day(100), 1), "DE", ["news"])])
    warehouse = str(tmp_path / "wh")
    with pytest.raises(QualityGateError) as err:
        validate_inputs(spark, str(lake), warehouse, AS_OF)
    message = str(err.value)
    assert "\n" not in message
    assert f"broken input table(s) for as_of {AS_OF}: playback: schema change " in message
    assert "(missing column listen_seconds)" in message
    assert message.count("listen_seconds") == 1  # one failure, not one per expectation
    for noise in ("could not be evaluated", "list index", "_q_event_date", "engagement"):
        assert noise not in message
    stored = load_result(warehouse, AS_OF, "inputs")
    assert stored is not None
    playback = stored.suite("input_playback")
    assert [o.check for o in playback.failures] == ["schema change"]
    assert not playback.warnings  # the row rules on listen_seconds are not run, not "warnings"
    assert {o.column for o in playback.skipped} == {"listen_seconds"}
