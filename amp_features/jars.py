"""The jars Spark needs beyond PySpark's: Delta's, and S3A's for ``s3a://`` paths.

Delta's jar version follows the installed ``delta-spark`` package, and its Scala artifact carries
the Spark minor version (``delta-spark_4.2_2.13``). The S3 jars are ``hadoop-aws`` matching the
Hadoop inside PySpark plus the AWS SDK v2 modules it uses, pinned below with their SHA-1s (see
``S3_JARS``). Jars are downloaded once from Maven Central, or from ``AMP_MAVEN_REPO`` (a private
mirror), into ``AMP_JARS_DIR``; later runs read them from there and need no network. On an
air-gapped cluster, put the jars in a folder and point AMP_JARS_DIR at it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from amp_features.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_MAVEN_REPO = "https://repo1.maven.org/maven2"
SCALA_BINARY = "2.13"


@dataclass(frozen=True)
class MavenJar:
    group: str
    artifact: str
    version: str
    classifier: str = ""
    sha1: str = ""  # pinned checksum; empty: trust the repository's published .sha1

    @property
    def coordinate(self) -> str:
        base = f"{self.group}:{self.artifact}:{self.version}"
        return f"{base}:jar:{self.classifier}" if self.classifier else base

    @property
    def filename(self) -> str:
        suffix = f"-{self.classifier}" if self.classifier else ""
        return f"{self.artifact}-{self.version}{suffix}.jar"

    def url(self, repo: str) -> str:
        path = f"{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.filename}"
        return f"{repo.rstrip('/')}/{path}"


def delta_jars() -> list[MavenJar]:
    """The jars Delta needs for the installed pyspark and delta-spark versions."""
    try:
        delta_version = metadata.version("delta-spark")
        spark_version = metadata.version("pyspark")
    except metadata.PackageNotFoundError as exc:  # pragma: no cover - install problem
        raise ConfigError(f"missing Python package: {exc}; run scripts/bootstrap.sh") from exc
    spark_minor = ".".join(spark_version.split(".")[:2])
    return [
        MavenJar("io.delta", f"delta-spark_{spark_minor}_{SCALA_BINARY}", delta_version),
        MavenJar("io.delta", "delta-storage", delta_version),
    ]


# hadoop-aws must match PySpark's Hadoop (pyspark/jars/hadoop-client-api-3.5.0.jar). Its POM
# declares software.amazon.awssdk:bundle (686 MB, every AWS service); S3A needs only the S3 client
# and the transfer manager, so this is hadoop-aws's own dependencies (analytics accelerator,
# wildfly-openssl for fs.s3a.ssl.channel.mode=openssl) plus `s3` and `s3-transfer-manager` at the
# SDK version Hadoop 3.5.0 builds with (hadoop-project's aws-java-sdk-v2.version = 2.35.4) and
# their transitive dependencies, minus what PySpark already ships (netty, httpclient/httpcore,
# commons-codec, commons-logging via jcl-over-slf4j, slf4j-api). Resolved once with
# `mvn dependency:list` (bundle excluded); 36 jars, 12.9 MB.
S3_HADOOP_VERSION = "3.5.0"
AWS_SDK_VERSION = "2.35.4"
_AWS_SDK_SHA1 = {
    "annotations": "0ee2f050aafed2b3b9393472a4fb35eb91c74555",
    "apache-client": "406c25140a3a32ccd49ba3d752096a9fe2787ba3",
    "arns": "d915a3104773b44533bd6f618a8c7b28c2e9d8a0",
    "auth": "3a5f28f575d616813cad10a8db817984ed57d777",
    "aws-core": "2f288fa2bac08dde3e9c74950bc9a7fe04913371",
    "aws-query-protocol": "a4908689bc1285e192da926bd1d646d09d1d7def",
    "aws-xml-protocol": "3a8c83d91ba7b41c29a2d84826e293ec4fa51386",
    "checksums-spi": "36eba96eccfc87a5de204f72ad215ac362d28755",
    "checksums": "75d7256f1fa208224a3b23e2100941c0416f38a5",
    "crt-core": "eba7c2ddaef9938a072b4a6e58fd95ce8a7e0805",
    "endpoints-spi": "5fd0e9e47a6fdf05ea5906ac38e0bce1268ab9f0",
    "http-auth-aws-eventstream": "2590b41716ea3fd938fe614321da9c5367f6868c",
    "http-auth-aws": "d149f075bc7b5631754cbb1adfcd2c77aa932a1b",
    "http-auth-spi": "8b280ce879d02d3da134e61e303d8e6c5eacc988",
    "http-auth": "ffa68c5e63d0f8ee9a5788029267cc450b5617c4",
    "http-client-spi": "3995875e3b834d39d708b661142949078babc34a",
    "identity-spi": "75e3168376548e375560e4595ba6a768458c87c1",
    "json-utils": "ca561bcb836814901bb8eda4089e451dcbf18024",
    "metrics-spi": "a2065eca2ade2adb2a937d4e671b52704cffbdc5",
    "netty-nio-client": "90acbbb695727eac973267f70d72bd95244d1d60",
    "profiles": "f9342cdd5f95a0d2f85bbedc3d25c3fc230beb51",
    "protocol-core": "54d8a6bdbe86852311b80d2a5b782995d6d7d0b7",
    "regions": "83ab2f31cd9932dc274aa418cd4cbd761cbca3c8",
    "retries-spi": "22196f00e2560aa9c74b6a74f62b8bd51a4b94b6",
    "retries": "02117c396b14d7db6c4b88d5c32b8380640a7bd0",
    "s3-transfer-manager": "6e4f2e5072fbc8551940eeed15220ddd11c684b2",
    "s3": "cc6cd77617d73cf9084d021e2693863bede49a4d",
    "sdk-core": "7de70ccba4959d32e7a2ec549d312378413d36c9",
    "third-party-jackson-core": "980758655bc742236478439d753c634858846d1c",
    "utils-lite": "148d6b8801d9696c4cffff306dfdd3b96781af24",
    "utils": "8bf086b3b751b058fa62e7f0398d94db7295ebbe",
}
S3_JARS: tuple[MavenJar, ...] = (
    MavenJar(
        "org.apache.hadoop", "hadoop-aws", S3_HADOOP_VERSION,
        sha1="9e594525d264c0db653c7f68da98b245f7d61ea5",
    ),
    MavenJar(
        "software.amazon.s3.analyticsaccelerator", "analyticsaccelerator-s3", "1.3.1",
        sha1="6c9bd0f6c440c9a78e82d272f5f0252d942419f6",
    ),
    MavenJar(
        "org.wildfly.openssl", "wildfly-openssl", "2.2.5.Final",
        sha1="78a86a04b5ddbfb75d6f3a2812cc724cde4a26f1",
    ),
    MavenJar(
        "org.reactivestreams", "reactive-streams", "1.0.4",
        sha1="3864a1320d97d7b045f729a326e1e077661f31b7",
    ),
    MavenJar(
        "software.amazon.eventstream", "eventstream", "1.0.1",
        sha1="6ff8649dffc5190366ada897ba8525a836297784",
    ),
    *(
        MavenJar("software.amazon.awssdk", name, AWS_SDK_VERSION, sha1=sha1)
        for name, sha1 in sorted(_AWS_SDK_SHA1.items())
    ),
)  # fmt: skip


def s3_jars() -> list[MavenJar]:
    return list(S3_JARS)


def spark_hadoop_version() -> str | None:
    """The Hadoop version inside the installed PySpark (from its hadoop-client-api jar)."""
    import pyspark

    found = sorted(Path(pyspark.__file__).parent.glob("jars/hadoop-client-api-*.jar"))
    return found[0].name.removeprefix("hadoop-client-api-").removesuffix(".jar") if found else None


def check_s3_hadoop_version() -> None:
    """hadoop-aws from another Hadoop release fails at run time with obscure linkage errors."""
    hadoop = spark_hadoop_version()
    if hadoop is not None and hadoop != S3_HADOOP_VERSION:
        raise ConfigError(
            f"PySpark ships Hadoop {hadoop} but amp_features pins hadoop-aws {S3_HADOOP_VERSION}; "
            "update S3_JARS in amp_features/jars.py"
        )


def jars_dir() -> Path:
    return Path(os.environ.get("AMP_JARS_DIR") or Path.home() / ".cache" / "amp_features" / "jars")


def maven_repo() -> str:
    return os.environ.get("AMP_MAVEN_REPO") or DEFAULT_MAVEN_REPO


def local_jars(jars: Sequence[MavenJar], directory: Path | None = None) -> list[Path] | None:
    """Paths of the cached jars, or None when any is missing."""
    directory = directory or jars_dir()
    paths = [directory / jar.filename for jar in jars]
    return paths if all(p.is_file() for p in paths) else None


def local_delta_jars(directory: Path | None = None) -> list[Path] | None:
    return local_jars(delta_jars(), directory)


def local_s3_jars(directory: Path | None = None) -> list[Path] | None:
    return local_jars(S3_JARS, directory)


def _published_sha1(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url + ".sha1", timeout=60) as response:
            return str(response.read().decode().split()[0].strip())
    except OSError:
        log.warning("no .sha1 published next to %s; skipped the checksum", url)
        return None


def _download(url: str, target: Path, sha1: str = "") -> None:
    """Stream ``url`` into ``target``, checking the pinned (else the published) SHA-1."""
    digest = hashlib.sha1()
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh, urllib.request.urlopen(url, timeout=60) as response:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                fh.write(chunk)
        expected = sha1 or _published_sha1(url)
        if expected is not None and expected != digest.hexdigest():
            raise ConfigError(f"checksum mismatch for {url}: {digest.hexdigest()} != {expected}")
        os.replace(tmp, target)  # atomic: a killed download never leaves half a jar
    finally:
        Path(tmp).unlink(missing_ok=True)


def _mvn_copy(jar: MavenJar, target_dir: Path) -> None:
    """Fallback: let Maven resolve the jar (it honours ~/.m2/settings.xml mirrors and proxies)."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ConfigError("mvn not found")
    subprocess.run(
        [
            mvn,
            "-q",
            "dependency:copy",
            f"-Dartifact={jar.group}:{jar.artifact}:{jar.version}:jar"
            + (f":{jar.classifier}" if jar.classifier else ""),
            f"-DoutputDirectory={target_dir}",
            f"-DremoteRepositories={maven_repo()}",
        ],
        check=True,
        capture_output=True,
    )
    copied = target_dir / jar.filename
    if jar.sha1 and hashlib.sha1(copied.read_bytes()).hexdigest() != jar.sha1:
        copied.unlink()
        raise ConfigError(f"checksum mismatch for {jar.coordinate} copied by mvn")


def fetch_jars(jars: Sequence[MavenJar], directory: Path | None = None) -> list[Path]:
    """Ensure ``jars`` are in the cache and return their paths (no network when cached)."""
    directory = directory or jars_dir()
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for jar in jars:
        target = directory / jar.filename
        if not target.is_file():
            url = jar.url(maven_repo())
            log.info("downloading %s from %s", jar.coordinate, url)
            try:
                _download(url, target, jar.sha1)
            except (OSError, ConfigError) as exc:
                log.warning("direct download failed (%s); trying mvn dependency:copy", exc)
                try:
                    _mvn_copy(jar, directory)
                except (OSError, ConfigError, subprocess.CalledProcessError) as exc2:
                    raise ConfigError(
                        f"cannot fetch {jar.coordinate} from {maven_repo()} ({exc}; mvn: {exc2}). "
                        "Set AMP_MAVEN_REPO to a reachable mirror, or put the jar in AMP_JARS_DIR."
                    ) from exc2
        paths.append(target)
    return paths


def fetch_delta_jars(directory: Path | None = None) -> list[Path]:
    return fetch_jars(delta_jars(), directory)


def fetch_s3_jars(directory: Path | None = None) -> list[Path]:
    check_s3_hadoop_version()
    return fetch_jars(S3_JARS, directory)
