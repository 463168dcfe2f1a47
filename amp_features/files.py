"""Non-Spark file storage: the one place that reads and writes plain files (quality results,
HTML reports, overrides) and lists folders (the DAG's readiness sensor), on a local disk or on S3.

It is a thin layer over ``pyarrow.fs`` (Arrow's maintained C++ filesystems, already a core
dependency), so there is no S3 client of our own and no extra package. Paths are the project's
plain strings: local folders, ``file:`` URIs, or ``s3a://bucket/key`` (``s3://`` and ``s3n://``
too, the same objects Spark's S3A connector reads).

S3 settings come from the standard places: credentials from the AWS default chain (environment,
``~/.aws``, instance metadata), the endpoint from ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``
(Arrow ignores those variables, so they are passed on here), the region from ``AWS_REGION`` or
``AWS_DEFAULT_REGION``. No credential is ever logged.
"""

from __future__ import annotations

import functools
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from amp_features.errors import ConfigError, StorageError

if TYPE_CHECKING:
    from pyarrow import fs as pafs

S3_SCHEMES = ("s3", "s3a", "s3n")
_LOCK = threading.Lock()


def is_remote(path: str) -> bool:
    return urlparse(path).scheme in S3_SCHEMES


def s3_endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


@functools.lru_cache(maxsize=4)
def _s3(endpoint: str | None, region: str | None) -> pafs.FileSystem:
    from pyarrow import fs as pafs

    kwargs: dict[str, object] = {}
    if endpoint:
        url = urlparse(endpoint)
        kwargs["endpoint_override"] = url.netloc or url.path
        kwargs["scheme"] = url.scheme or "https"
    if region:
        kwargs["region"] = region
    return pafs.S3FileSystem(**kwargs)


def _resolve(path: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) for one of the project's path strings."""
    from pyarrow import fs as pafs

    url = urlparse(path)
    if url.scheme in S3_SCHEMES:
        if not url.netloc:
            raise ConfigError(f"S3 path {path!r} has no bucket (expected s3a://bucket/prefix)")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        with _LOCK:  # Arrow's S3 initialisation is process-wide; build each filesystem once
            fs = _s3(s3_endpoint(), region)
        return fs, f"{url.netloc}/{url.path.lstrip('/')}".rstrip("/")
    if url.scheme == "file":
        return pafs.LocalFileSystem(), str(Path(url.path).absolute())
    if url.scheme:
        raise ConfigError(
            f"unsupported storage scheme {url.scheme!r} in {path!r}: use a local path or s3a://"
        )
    return pafs.LocalFileSystem(), str(Path(path).absolute())


def _fail(action: str, path: str, exc: Exception) -> StorageError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StorageError(f"cannot {action} {path}: {first[:300]}")


def exists(path: str) -> bool:
    from pyarrow import fs as pafs

    fs, inner = _resolve(path)
    try:
        info = fs.get_file_info(inner)
        if info.type != pafs.FileType.NotFound:
            return True
        if is_remote(path):  # S3 has no folders: a prefix "exists" when it holds a key
            return bool(fs.get_file_info(pafs.FileSelector(inner, allow_not_found=True)))
        return False
    except OSError as exc:
        raise _fail("check", path, exc) from exc


def read_text(path: str) -> str:
    fs, inner = _resolve(path)
    try:
        with fs.open_input_stream(inner) as fh:
            return bytes(fh.read()).decode("utf-8")
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _fail("read", path, exc) from exc


def write_text(path: str, text: str) -> None:
    """Write a whole file so that a reader never sees half of it.

    Locally: a temp file in the same folder, then a rename. On S3 a PUT is atomic already.
    """
    fs, inner = _resolve(path)
    data = text.encode("utf-8")
    try:
        if is_remote(path):
            with fs.open_output_stream(inner) as fh:
                fh.write(data)
            return
        target = Path(inner)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise _fail("write", path, exc) from exc


def create_exclusive(path: str, text: str) -> bool:
    """Create a file only if nothing is there; False if something was. Atomic on a local disk
    (``O_EXCL``); S3 has no such primitive through Arrow, so there it is a plain PUT after a
    look, and callers that race must verify what they wrote (``offline.lease`` does)."""
    if is_remote(path):
        if exists(path):
            return False
        write_text(path, text)
        return True
    _, inner = _resolve(path)
    target = Path(inner)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        tmp.write_bytes(text.encode("utf-8"))
        os.link(tmp, target)  # fails if the target exists; a reader never sees half a file
    except FileExistsError:
        return False
    except OSError as exc:
        raise _fail("create", path, exc) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return True


def delete(path: str) -> None:
    """Remove one file; nothing there is fine."""
    fs, inner = _resolve(path)
    try:
        fs.delete_file(inner)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _fail("delete", path, exc) from exc


def list_names(path: str) -> list[str]:
    """Names of the entries directly inside a folder (or S3 prefix), sorted; [] if none."""
    from pyarrow import fs as pafs

    fs, inner = _resolve(path)
    try:
        infos = fs.get_file_info(pafs.FileSelector(inner, allow_not_found=True))
    except OSError as exc:
        raise _fail("list", path, exc) from exc
    return sorted(info.base_name for info in infos)


def has_file(folder: str, suffix: str, *, skip_hidden: bool = True) -> bool:
    """Whether anything below ``folder`` is a file ending in ``suffix`` (recursive listing)."""
    from pyarrow import fs as pafs

    fs, inner = _resolve(folder)
    try:
        infos = fs.get_file_info(pafs.FileSelector(inner, allow_not_found=True, recursive=True))
    except OSError as exc:
        raise _fail("list", folder, exc) from exc
    return any(
        info.type == pafs.FileType.File
        and info.base_name.endswith(suffix)
        and not (skip_hidden and info.base_name.startswith((".", "_")))
        for info in infos
    )


def is_delta(path: str) -> bool:
    """The contract's rule: a folder with a ``_delta_log/`` is Delta, otherwise Parquet."""
    return exists("/".join([path.rstrip("/"), "_delta_log"]))
