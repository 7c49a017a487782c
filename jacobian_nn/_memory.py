"""How large an array a computation may build: the machine's free memory, read in one place.

Two users: ``load`` bounds what it reads from a file (_npz.py), and the batch computations
bound their largest array before they allocate it:

* the "jacobian" mode's stack D · D^(j) (n, h_m, h_j) is built in chunks of rows that fit
  (``row_chunks``; batch.py cuts them smaller still, for the cache), so
  ``Network.gradients`` gives the same mean and never refuses;
* outputs that are themselves that large (``Network.jacobians``, per-example gradients) are
  refused with a ``MemoryLimitError`` that says the size, the limit and what to do instead
  (``require_fits``).

The limit is ``array_limit()``: 1/8 of the available memory (a backward step holds D^(j+1),
D^(j) and a temporary or two of that size at once) but at least 64 MiB, or the environment
variable ``JACOBIAN_NN_MEMORY_LIMIT`` in bytes, which tests set to a few KiB instead of
allocating GiBs. ``fits`` answers for arrays up to 64 MiB without reading /proc, so a training
step on a small network pays nothing for the guard.
"""

from __future__ import annotations

import contextlib
import os

ENV_LIMIT = "JACOBIAN_NN_MEMORY_LIMIT"
MEMORY_SHARE = 8  # the largest array may take 1/8 of the available memory …
MIN_LIMIT = 64 * 2**20  # … but never less than 64 MiB
UNKNOWN_LIMIT = 2 * 2**30  # where the available memory cannot be read
GIB = 2**30


class MemoryLimitError(MemoryError):
    """A result would not fit in memory: refused before anything was allocated."""


def fits(n_bytes: int) -> bool:
    """Whether an array of ``n_bytes`` is within ``array_limit()``."""
    if n_bytes <= MIN_LIMIT and ENV_LIMIT not in os.environ:
        return True  # within any limit but a set one: no need to read the free memory
    return n_bytes <= array_limit()


def array_limit() -> int:
    """The most bytes one array of a batch computation may take: ``JACOBIAN_NN_MEMORY_LIMIT``
    if set, else 1/8 of ``available_memory()`` but at least 64 MiB (2 GiB where the available
    memory is unknown)."""
    text = os.environ.get(ENV_LIMIT)
    if text is not None:
        try:
            limit = int(text)
        except ValueError:
            limit = 0
        if limit < 1:
            raise ValueError(f"{ENV_LIMIT} must be a whole number of bytes ≥ 1, got {text!r}.")
        return limit
    available = available_memory()
    return UNKNOWN_LIMIT if available is None else max(MIN_LIMIT, available // MEMORY_SHARE)


def describe_limit() -> str:
    """The limit in words, for messages."""
    source = (f"set by {ENV_LIMIT}" if ENV_LIMIT in os.environ else
              f"1/{MEMORY_SHARE} of the available memory; set {ENV_LIMIT} (bytes) to change it")
    return f"{gib(array_limit())} ({source})"


def gib(n_bytes: int) -> str:
    return f"{n_bytes / GIB:.3g} GiB"


def require_fits(n_bytes: int, what: str, hint: str) -> None:
    """Raise ``MemoryLimitError`` if ``n_bytes`` (the size of ``what``) exceeds the limit."""
    if not fits(n_bytes):
        raise MemoryLimitError(f"{what} would take {gib(n_bytes)} ({n_bytes} bytes), more than "
                               f"the limit of {describe_limit()}. {hint}")


def require_jacobians_fit(n: int, k: int, h_m: int, d: int) -> None:
    """``Network.jacobians``' D_W (n, h_m, d) and D_x (n, h_m, k) must fit, or it refuses."""
    require_fits(8 * n * h_m * (d + k),
                 f"Network.jacobians for n = {n} examples (D_W (n, h_m, d) and D_x (n, h_m, k) "
                 f"with h_m = {h_m}, d = {d}, k = {k})",
                 "Pass X in smaller batches of rows, or, where only a loss's gradient is needed, "
                 'use net.gradients(X, Y, loss, mode="reverse"), which never forms them.')


def require_per_example_gradients_fit(n: int, d: int) -> None:
    """``per_example_gradients``' n gradients of d numbers must fit, or it refuses."""
    require_fits(8 * n * d,
                 f"per_example_gradients for n = {n} examples and d = {d} parameters (an array "
                 "(n, d))",
                 "Compute them for fewer examples at a time (rows of X), or use "
                 'net.gradients(X, Y, loss, mode="reverse") for their mean.')


def row_chunks(n: int, bytes_per_row: int) -> list[slice]:
    """Slices of rows 0 … n−1 such that each chunk's array of ``bytes_per_row`` per row fits
    the limit (at least one row per chunk); one slice covering everything when all of it fits."""
    if fits(n * bytes_per_row):
        return [slice(0, n)]
    size = max(1, array_limit() // max(bytes_per_row, 1))
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def available_memory() -> int | None:
    """The smallest of the memory the kernel says is available, the cgroup's remaining limit
    and the address space RLIMIT_AS leaves; None where none of them can be read."""
    found = [_meminfo_available(), _cgroup_remaining(), _rlimit_remaining()]
    known = [n for n in found if n is not None]
    return min(known) if known else None


def _meminfo_available() -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/meminfo", "rb") as fh:
            for line in fh:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


def _cgroup_remaining() -> int | None:
    with contextlib.suppress(OSError, ValueError):
        with open("/sys/fs/cgroup/memory.max", "rb") as fh:
            cap = fh.read().strip()
        if cap != b"max":
            with open("/sys/fs/cgroup/memory.current", "rb") as fh:
                return max(0, int(cap) - int(fh.read()))
    return None


def _rlimit_remaining() -> int | None:
    with contextlib.suppress(ImportError, OSError, ValueError):
        import resource  # Unix only

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm", "rb") as fh:
                used = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            return max(0, soft - used)
    return None
