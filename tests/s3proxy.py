"""S3Proxy, a real S3-compatible server, on loopback for the S3 tests.

S3Proxy (``org.gaul:s3proxy``, one self-contained jar from Maven Central, cached in the jar cache
with its SHA-1 checked by ``amp_features.jars``) speaks the S3 API over a local folder
(jclouds' ``filesystem-nio2`` backend) and checks AWS v2/v4 signatures with a fixed test identity.
``python tests/s3proxy.py fetch`` caches the jar (``scripts/bootstrap.sh --with-s3proxy``).
A module of its own name (not ``conftest``), so that test files import it unambiguously.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from amp_features.jars import MavenJar, fetch_jars

S3PROXY_JAR = MavenJar(
    "org.gaul",
    "s3proxy",
    "4.1.0",
    classifier="jar-with-dependencies",
    sha1="0a0b89e982bc1b1b5757d45b61109e05a840dd87",
)
ACCESS_KEY = "amp-test-identity"
SECRET_KEY = "amp-test-credential"  # a fixed test credential, valid only for this local server
REGION = "us-east-1"


def s3proxy_jar() -> Path:
    """The S3Proxy jar, downloaded into the jar cache on first use (55 MB), then offline."""
    return fetch_jars([S3PROXY_JAR])[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class S3Proxy:
    """An S3Proxy process on 127.0.0.1 storing its buckets under ``folder``."""

    def __init__(self, folder: Path, bucket: str = "amp-test") -> None:
        self.folder = folder
        self.bucket = bucket
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.access_key = ACCESS_KEY
        self.secret_key = SECRET_KEY
        self.region = REGION
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        """The variables a client (boto3, or a Spark session via amp_features.session) reads."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            # No instance-metadata probe (a 1 s timeout per try) when a key is missing.
            "AWS_EC2_METADATA_DISABLED": "true",
            "SPARK_LOCAL_IP": "127.0.0.1",
        }

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )

    def start(self) -> None:
        java = shutil.which("java", path=os.path.join(os.environ.get("JAVA_HOME", ""), "bin"))
        java = java or shutil.which("java")
        if java is None:
            raise RuntimeError("java not found: install a Java 17 runtime (Spark needs it too)")
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        props = self.folder / "s3proxy.conf"
        props.write_text(
            "\n".join(
                [
                    f"s3proxy.endpoint={self.endpoint}",
                    "s3proxy.authorization=aws-v2-or-v4",
                    f"s3proxy.identity={self.access_key}",
                    f"s3proxy.credential={self.secret_key}",
                    "jclouds.provider=filesystem-nio2",
                    f"jclouds.filesystem.basedir={data}",
                ]
            )
            + "\n"
        )
        jar = s3proxy_jar()
        with open(self.folder / "s3proxy.log", "wb") as logfile:
            self.proc = subprocess.Popen(
                [java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-DLOG_LEVEL=warn",
                 "-jar", str(jar), "--properties", str(props)],
                stdout=logfile,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        atexit.register(self.stop)  # a crashed or interrupted run leaves no server behind
        self._wait_until_up()
        self.client().create_bucket(Bucket=self.bucket)

    def _wait_until_up(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.endpoint + "/", timeout=1).close()
                return
            except urllib.error.HTTPError:
                return  # 403 for an unsigned request: it answers
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    log = (self.folder / "s3proxy.log").read_text(errors="replace")[-2000:]
                    self.stop()
                    raise RuntimeError(
                        f"S3Proxy did not start on port {self.port}:\n{log}"
                    ) from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        with contextlib.suppress(ValueError):  # no longer needed at exit
            atexit.unregister(self.stop)


if __name__ == "__main__":
    if sys.argv[1:] != ["fetch"]:
        sys.exit("usage: python tests/s3proxy.py fetch")
    import logging

    logging.basicConfig(level=logging.INFO, format="[s3proxy] %(message)s")
    print(f"[s3proxy] {s3proxy_jar()}")
