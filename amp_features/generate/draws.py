"""Vectorised random draws and id strings for the generator (NumPy arrays in, Arrow arrays out).

Two kinds of randomness, both functions of the seed only:

* ``uniform(key, *ids)`` hashes ids (a counter-based draw): an attribute of a user or a show is
  the same wherever it is recomputed (the users table, every day's events).
* ``stream(seed, name, *words)`` is a NumPy generator for the draws of one task (one day of one
  slice of users). The task layout is a function of the arguments (``Plan``), never of Spark's
  partitioning, so the same arguments still give the same rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

U64 = np.uint64
_GOLDEN = U64(0x9E3779B97F4A7C15)
_MIX1 = U64(0xBF58476D1CE4E5B9)
_MIX2 = U64(0x94D049BB133111EB)
_TO_UNIT = 2.0**-53


def key(seed: int, salt: str) -> int:
    """A 64-bit constant naming one draw: the seed and the draw's salt."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{salt}".encode()).digest()[:8], "little")


def _mix(z: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser (uint64 arithmetic wraps, which is what it wants)."""
    z = z ^ (z >> U64(30))
    z = z * _MIX1
    z = z ^ (z >> U64(27))
    z = z * _MIX2
    return z ^ (z >> U64(31))


def uniform(draw_key: int, *ids: np.ndarray | int) -> np.ndarray:
    """A uniform draw in (0, 1) that depends only on ``draw_key`` and the ids (broadcast)."""
    h = np.asarray(U64(draw_key))
    for ids_i in ids:
        h = _mix(h ^ (np.asarray(ids_i).astype(U64) * _GOLDEN))
    out: np.ndarray = ((h >> U64(11)).astype(np.float64) + 0.5) * _TO_UNIT
    return out


def stream(seed: int, name: str, *words: int) -> np.random.Generator:
    """The generator of one task's draws of one kind (``name``), e.g. one day's sessions."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([key(seed, name), *words])))


def draws(rng: np.random.Generator, count: int, n: int) -> np.ndarray:
    """``count`` rows of ``n`` uniforms in (0, 1]: ``log`` and ``pick`` are safe on all of them.

    Single precision (steps of 2**-24) is plenty for choices among at most a few hundred
    thousand values and takes half the time of doubles."""
    out = rng.random((count, n), dtype=np.float32)
    np.subtract(np.float32(1.0), out, out=out)
    return out


def pick(u: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    """An index in [0, n) from a draw in (0, 1]."""
    out: np.ndarray = np.minimum((u * n).astype(np.int64), np.asarray(n, dtype=np.int64) - 1)
    return out


def skewed(u: np.ndarray, n: np.ndarray | int, power: float) -> np.ndarray:
    """A Zipf-like index in [0, n): index 0 is the most likely (power > 1 skews harder)."""
    return pick(power_of(u, power), n)


def power_of(u: np.ndarray, power: float) -> np.ndarray:
    """``u ** power``, by products and square roots for the half-integer powers (much faster)."""
    whole, half = divmod(power, 1.0)
    if half not in (0.0, 0.5) or not 0 <= whole <= 3:
        out: np.ndarray = u**power
        return out
    result = np.sqrt(u) if half else np.ones_like(u)
    for _ in range(int(whole)):
        result = result * u
    return result


def weighted(u: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """The index drawn with the given relative weights (an inverse CDF)."""
    cum = np.cumsum(np.asarray(weights, dtype=np.float64)) / float(sum(weights))
    out: np.ndarray = np.searchsorted(cum[:-1], u, side="right").astype(np.int64)
    return out


def normal(u1: np.ndarray, u2: np.ndarray) -> np.ndarray:
    """A standard normal draw (Box-Muller) from two uniforms in (0, 1]."""
    out: np.ndarray = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return out


# -- strings ----------------------------------------------------------------------------------

# Lookup tables of digit groups as 4-byte words: one gather writes four characters.
_DEC4 = np.frombuffer("".join(f"{i:04d}" for i in range(10_000)).encode(), np.uint32)
_HEX4 = np.frombuffer("".join(f"{i:04x}" for i in range(65_536)).encode(), np.uint32)


def _with_prefix(prefix: str, words: np.ndarray, width: int) -> np.ndarray:
    """A (rows, len(prefix) + width) byte matrix: the prefix, then the last ``width`` digits
    of the 4-character groups ``words`` (rows, groups)."""
    digits = np.ascontiguousarray(words).view(np.uint8).reshape(len(words), -1)
    head = prefix.encode()
    out = np.empty((len(words), len(head) + width), dtype=np.uint8)
    out[:, : len(head)] = np.frombuffer(head, np.uint8)
    out[:, len(head) :] = digits[:, digits.shape[1] - width :]
    return out


def decimal_ids(prefix: str, values: np.ndarray, width: int) -> np.ndarray:
    """``prefix`` + ``values`` zero-padded to ``width`` digits, as a (rows, chars) byte matrix."""
    groups = (width + 3) // 4
    words = np.empty((len(values), groups), dtype=np.uint32)
    v = values.astype(np.int64)
    for g in range(groups - 1, -1, -1):
        v, rest = np.divmod(v, 10_000)
        words[:, g] = _DEC4[rest]
    return _with_prefix(prefix, words, width)


def hex_ids(prefix: str, values: np.ndarray) -> np.ndarray:
    """``prefix`` + the 16 lower-case hex digits of ``values`` (uint64), as a byte matrix."""
    quarters = values.astype(">u8").view(">u2").reshape(len(values), 4)  # most significant first
    return _with_prefix(prefix, _HEX4[quarters], 16)


def strings(
    chars: np.ndarray, null: np.ndarray | None = None, empty: np.ndarray | None = None
) -> pa.Array:
    """An Arrow string array from a byte matrix (one row per value): ``null`` rows are null and
    ``empty`` rows are "" (both optional boolean masks)."""
    n, width = chars.shape
    if null is None and empty is None:
        offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
        return pa.StringArray.from_buffers(
            n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars))
        )
    blank = np.zeros(n, dtype=bool)
    for mask in (null, empty):
        if mask is not None:
            blank |= mask
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.where(blank, 0, width), out=offsets[1:])
    data = np.ascontiguousarray(chars[~blank])
    if null is None or not null.any():
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    validity = pa.py_buffer(np.packbits(~null, bitorder="little"))
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(data), validity, int(null.sum())
    )


def labels(values: Sequence[str], index: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """``values[index]`` as an Arrow string array, null where ``null`` is set."""
    return pa.array(values, pa.string()).take(pa.array(index, pa.int32(), mask=null))


def timestamps(epoch_seconds: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """UTC instants (Spark ``timestamp``) from whole epoch seconds."""
    return pa.array(epoch_seconds * 1_000_000, pa.timestamp("us", tz="UTC"), mask=null)
