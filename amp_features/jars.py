"""Delta Lake's jars: which ones, where they are cached, and how they are fetched.

The jar version follows the installed ``delta-spark`` package, and its Scala artifact carries the
Spark minor version (``delta-spark_4.2_2.13``). Jars are downloaded once from Maven Central, or from
``AMP_MAVEN_REPO`` (a private mirror), into ``AMP_JARS_DIR``; later runs read them from there and
need no network. On an air-gapped cluster, put the two jars in a folder and point AMP_JARS_DIR at it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import urllib.request
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

    @property
    def coordinate(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"

    @property
    def filename(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    def url(self, repo: str) -> str:
        return f"{repo.rstrip('/')}/{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.filename}"


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


def jars_dir() -> Path:
    return Path(os.environ.get("AMP_JARS_DIR") or Path.home() / ".cache" / "amp_features" / "jars")


def maven_repo() -> str:
    return os.environ.get("AMP_MAVEN_REPO") or DEFAULT_MAVEN_REPO


def local_delta_jars(directory: Path | None = None) -> list[Path] | None:
    """Paths of the cached jars, or None when any is missing."""
    directory = directory or jars_dir()
    paths = [directory / jar.filename for jar in delta_jars()]
    return paths if all(p.is_file() for p in paths) else None


def _download(url: str, target: Path) -> None:
    with urllib.request.urlopen(url, timeout=60) as response:
        data = response.read()
    try:
        with urllib.request.urlopen(url + ".sha1", timeout=60) as response:
            expected = response.read().decode().split()[0].strip()
        actual = hashlib.sha1(data).hexdigest()
        if expected != actual:
            raise ConfigError(f"checksum mismatch for {url}: {actual} != {expected}")
    except OSError:
        log.warning("no .sha1 published next to %s; skipped the checksum", url)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)  # atomic: a killed download never leaves half a jar


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
            f"-Dartifact={jar.coordinate}",
            f"-DoutputDirectory={target_dir}",
            f"-DremoteRepositories={maven_repo()}",
        ],
        check=True,
        capture_output=True,
    )


def fetch_delta_jars(directory: Path | None = None) -> list[Path]:
    """Ensure Delta's jars are in the cache and return their paths (no network when cached)."""
    directory = directory or jars_dir()
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for jar in delta_jars():
        target = directory / jar.filename
        if not target.is_file():
            url = jar.url(maven_repo())
            log.info("downloading %s from %s", jar.coordinate, url)
            try:
                _download(url, target)
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
