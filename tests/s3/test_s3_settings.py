"""How the AWS variables become S3A settings, and when the S3A jars join a session (no Spark)."""

from __future__ import annotations

from pathlib import Path

import pytest

from amp_features.errors import ConfigError
from amp_features.jars import S3_JARS
from amp_features.session import S3A, redacted, s3a_env_conf, session_conf

AWS_VARS = (
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AMP_S3_PATH_STYLE", "AMP_S3", "AMP_SPARK_CONF", "PYSPARK_GATEWAY_PORT",
)  # fmt: skip


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture()
def s3_jar_dir(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A jar cache holding empty stand-ins for the S3 jars (enough for the settings)."""
    for jar in S3_JARS:
        (tmp_path / jar.filename).touch()
    clean_env.setenv("AMP_JARS_DIR", str(tmp_path))
    return tmp_path


def test_custom_endpoint_gets_path_style_and_plain_http() -> None:
    conf = s3a_env_conf({"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_REGION": "eu-west-1"})
    assert conf == {
        S3A + "endpoint": "http://127.0.0.1:9000",
        S3A + "connection.ssl.enabled": "false",
        S3A + "endpoint.region": "eu-west-1",
        S3A + "path.style.access": "true",
    }


def test_s3_specific_endpoint_and_region_fallbacks() -> None:
    conf = s3a_env_conf(
        {
            "AWS_ENDPOINT_URL": "http://other:1",
            "AWS_ENDPOINT_URL_S3": "https://s3.eu-west-1.amazonaws.com",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AMP_S3_PATH_STYLE": "false",
        }
    )
    assert conf == {
        S3A + "endpoint": "https://s3.eu-west-1.amazonaws.com",  # https: TLS stays on
        S3A + "endpoint.region": "eu-west-1",
        S3A + "path.style.access": "false",
    }


def test_plain_aws_needs_nothing_and_path_style_can_be_forced() -> None:
    assert s3a_env_conf({}) == {}
    assert s3a_env_conf({"AMP_S3_PATH_STYLE": "true"}) == {S3A + "path.style.access": "true"}
    with pytest.raises(ConfigError, match="AMP_S3_PATH_STYLE must be true or false"):
        s3a_env_conf({"AMP_S3_PATH_STYLE": "sometimes"})


def test_cached_s3_jars_join_the_session_and_explicit_conf_wins(
    s3_jar_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("AMP_SPARK_CONF", f"{S3A}endpoint.region=from-amp-spark-conf")
    merged = session_conf({S3A + "path.style.access": "false"})
    jars = merged["spark.jars"].split(",")
    assert str(s3_jar_dir / "hadoop-aws-3.5.0.jar") in jars
    assert merged[S3A + "endpoint"] == "http://127.0.0.1:9000"
    assert merged[S3A + "endpoint.region"] == "from-amp-spark-conf"
    assert merged[S3A + "path.style.access"] == "false"  # --conf beats the derived default


def test_amp_s3_false_leaves_s3_out(s3_jar_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMP_S3", "false")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    merged = session_conf()
    assert "hadoop-aws" not in merged.get("spark.jars", "")
    assert not [k for k in merged if k.startswith(S3A)]


def test_asking_for_missing_s3_jars_is_a_clear_error(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("AMP_JARS_DIR", str(tmp_path))
    assert "hadoop-aws" not in session_conf().get("spark.jars", "")  # auto: no jars, no error
    with pytest.raises(ConfigError, match=r"amp-features jars fetch --s3"):
        session_conf(s3=True)


def test_under_spark_submit_env_settings_apply_without_local_jars(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("AMP_JARS_DIR", str(tmp_path))
    clean_env.setenv("PYSPARK_GATEWAY_PORT", "1")  # what spark-submit sets for its Python
    clean_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    merged = session_conf()
    assert "spark.jars" not in merged  # spark-submit's --jars decide
    assert merged[S3A + "endpoint"] == "http://127.0.0.1:9000"


def test_secrets_are_redacted_for_logs() -> None:
    conf = {
        S3A + "secret.key": "s3cr3t",
        S3A + "session.token": "t0k3n",
        "spark.ssl.keyStorePassword": "pw",
        S3A + "endpoint": "http://127.0.0.1:9000",
    }
    shown = redacted(conf)
    assert "s3cr3t" not in str(shown) and "t0k3n" not in str(shown) and "pw" not in shown.values()
    assert shown[S3A + "endpoint"] == "http://127.0.0.1:9000"
