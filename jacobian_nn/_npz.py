"""Read a network file's arrays with every size checked before anything is allocated.

``numpy.load`` trusts the file: a header claiming 10^12 elements makes it allocate them, a
2 MB deflate bomb inflates to gigabytes, a FIFO blocks it forever, and a damaged zip header
surfaces as NotImplementedError or RuntimeError. This module reads the same ``.npz`` layout
itself, refusing anything that is not ours before reading it:

1. only a regular file (checked by ``stat`` before opening, and by ``fstat`` on the opened
   descriptor, which is opened non-blocking so that a FIFO swapped in between cannot block);
2. the file and the sum of its members' uncompressed sizes are at most ``byte_limit()``
   bytes, the smaller of 4 GiB and 1/16 of the memory available (MemAvailable, a cgroup
   limit, RLIMIT_AS); members are stored or deflated, and a deflated member larger than 1 MiB
   may expand at most 100-fold (float64 weights barely compress; a bomb expands ~1000-fold);
3. each member's .npy header (read with numpy's own header parser, never ``allow_pickle``)
   must declare float64 weights, or a unicode scalar for the description, whose byte count
   equals the member's declared size; the description holds at most 2^22 characters;
4. each member is read with a bounded read of exactly that many bytes (the zip checksum is
   verified at its end), so a lying header can never make it allocate more.

Anything else a damaged file makes zipfile or numpy raise is reported as NetworkFileError.
"""

from __future__ import annotations

import math
import os
import stat
import zipfile

import numpy as np
from numpy.lib import format as npy_format

from . import _memory

MAX_BYTES = 4 * 2**30  # the fixed cap of byte_limit()
MEMORY_SHARE = 16  # byte_limit() ≤ available memory / 16: headroom for copies and zip metadata
MAX_DESCRIPTION_CHARS = 2**22
RATIO_FREE_BYTES = 2**20  # a deflated member up to 1 MiB may compress any amount (zero biases)
MAX_RATIO = 100
METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # not on Windows, which has no FIFOs to block on


class NetworkFileError(ValueError):
    """The file is not a readable jacobian_nn network file."""


class NetworkFileNotFoundError(FileNotFoundError, NetworkFileError):
    """There is no file at the path: both a FileNotFoundError and a NetworkFileError."""


def read_network_file(path: str, meta_key: str) -> tuple[str, dict[str, np.ndarray]]:
    """The description text (member ``meta_key``) and the float64 arrays of a network file."""
    with _open_regular(path) as fh:
        limit = byte_limit()
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise NetworkFileError(
                f"{path} is {size} bytes; load reads files of at most {limit} bytes "
                "(the smaller of 4 GiB and 1/16 of the available memory)."
            )
        _require_zip(fh, path)
        try:
            with zipfile.ZipFile(fh) as archive:
                return _read_members(archive, path, meta_key, limit)
        except NetworkFileError:
            raise
        except Exception as err:  # a damaged zip can make zipfile or numpy raise nearly anything
            raise _corrupted(path, f"{type(err).__name__}: {err}") from err


def _corrupted(path: str, detail: str) -> NetworkFileError:
    return NetworkFileError(f"{path} is not a readable .npz file (truncated or corrupted?): "
                            f"{detail}")


# ----------------------------------------------------------------------------------------------
# The file itself
# ----------------------------------------------------------------------------------------------
def _open_regular(path: str):
    try:
        _require_regular(os.stat(path), path)  # devices and FIFOs are refused without opening
        fd = os.open(path, os.O_RDONLY | _NONBLOCK)
    except FileNotFoundError as err:
        raise NetworkFileNotFoundError(err.errno, err.strerror, path) from err
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        raise NetworkFileError(f"cannot read {path}: {err}") from err
    try:
        _require_regular(os.fstat(fd), path)  # what was opened, should the path have changed
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _require_regular(st: os.stat_result, path: str) -> None:
    if stat.S_ISREG(st.st_mode):
        return
    kinds = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket")]
    what = next((name for test, name in kinds if test(st.st_mode)), "not a regular file")
    raise NetworkFileError(f"{path} is {what}, not a regular file: load reads only files "
                           "written by Network.save.")


def _require_zip(fh, path: str) -> None:
    head = fh.read(6)
    fh.seek(0)
    if head.startswith(b"\x93NUMPY"):
        raise NetworkFileError(f"{path} holds a single .npy array, not a saved network.")
    if head[:1] == b"\x80":
        raise NetworkFileError(f"{path} holds pickled data, not a saved network; jacobian_nn "
                               "never unpickles a file (unpickling can run any code).")
    if head[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise _corrupted(path, f"it does not start like a zip archive (first bytes {head!r})")


def byte_limit() -> int:
    """The most bytes ``load`` reads: min(4 GiB, available memory / 16)."""
    available = _memory.available_memory()
    return MAX_BYTES if available is None else min(MAX_BYTES, available // MEMORY_SHARE)


# ----------------------------------------------------------------------------------------------
# The zip directory and the .npy members
# ----------------------------------------------------------------------------------------------
def _read_members(archive: zipfile.ZipFile, path: str, meta_key: str,
                  limit: int) -> tuple[str, dict[str, np.ndarray]]:
    members = _check_directory(archive.infolist(), path, limit)
    if meta_key not in members:
        raise NetworkFileError(
            f"{path} is a .npz file but not a saved network: it has no '{meta_key}' entry "
            f"(entries: {sorted(members)}). Write networks with Network.save."
        )
    meta = _read_array(archive, members.pop(meta_key), path, description=True)
    arrays = {key: _read_array(archive, info, path) for key, info in members.items()}
    return str(meta[()]), arrays


def _check_directory(infos: list[zipfile.ZipInfo], path: str,
                     limit: int) -> dict[str, zipfile.ZipInfo]:
    """The members by array name, after every size and method in the directory is checked."""
    total = sum(info.file_size for info in infos)
    if total > limit:
        raise NetworkFileError(f"{path}: its arrays would take {total} bytes; load reads at most "
                               f"{limit} (the smaller of 4 GiB and 1/16 of the available memory).")
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        if not name.endswith(".npy"):
            raise _corrupted(path, f"member {name!r} is not a .npy array")
        if name[:-4] in members:
            raise _corrupted(path, f"member {name!r} appears twice")
        if info.compress_type not in METHODS:
            raise _corrupted(path, f"member {name!r} uses compression method "
                                   f"{info.compress_type}; network files are stored or deflated")
        if info.flag_bits & 0x1:
            raise _corrupted(path, f"member {name!r} is encrypted")
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise _corrupted(path, f"stored member {name!r} has {info.compress_size} bytes but "
                                   f"declares {info.file_size}")
        ratio_cap = max(RATIO_FREE_BYTES, MAX_RATIO * info.compress_size)
        if info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > ratio_cap:
            raise _corrupted(path, f"member {name!r} expands {info.compress_size} bytes to "
                                   f"{info.file_size}, more than {MAX_RATIO}-fold (a zip bomb?)")
        members[name[:-4]] = info
    return members


def _read_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str,
                description: bool = False) -> np.ndarray:
    """One member as an array, its header checked against the directory before the data is
    read; weights come back as native float64, the description as a 0-d unicode array."""
    with archive.open(info) as member:
        shape, fortran, dtype = _read_header(member, info, path)
        _check_dtype(dtype, shape, info.filename, path, description)
        n_bytes = math.prod(shape) * dtype.itemsize  # Python ints: cannot overflow
        available = info.file_size - member.tell()
        if n_bytes != available:
            raise _corrupted(path, f"member {info.filename!r} declares shape {shape} of {dtype}, "
                                   f"{n_bytes} bytes, but holds {available}")
        if description and n_bytes > 4 * MAX_DESCRIPTION_CHARS:
            raise NetworkFileError(f"{path}: the architecture description is {n_bytes // 4} "
                                   f"characters; at most {MAX_DESCRIPTION_CHARS} are read.")
        data = member.read(n_bytes)  # at most n_bytes, however the stream inflates
        if len(data) != n_bytes:
            raise _corrupted(path, f"member {info.filename!r} ends after {len(data)} of "
                                   f"{n_bytes} bytes")
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return array if description else array.astype(np.float64)  # native byte order, a copy


def _read_header(member, info: zipfile.ZipInfo, path: str):
    """(shape, fortran_order, dtype) by numpy's own parser (a literal, never unpickled)."""
    try:
        version = npy_format.read_magic(member)
    except ValueError as err:
        raise _corrupted(path, f"member {info.filename!r} is not a .npy array ({err})") from err
    readers = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}
    if version not in readers:
        raise _corrupted(path, f"member {info.filename!r} has .npy format version {version}, "
                               "not 1.0 or 2.0")
    try:
        return readers[version](member)
    except ValueError as err:
        raise _corrupted(path, f"member {info.filename!r} has a damaged .npy header ({err})"
                         ) from err


def _check_dtype(dtype: np.dtype, shape: tuple, name: str, path: str, description: bool) -> None:
    if description:
        if dtype.kind != "U":
            raise NetworkFileError(f"{path}: the architecture description {name!r} has dtype "
                                   f"{dtype}, not a unicode string.")
        if shape != ():
            raise NetworkFileError(f"{path}: the architecture description {name!r} has shape "
                                   f"{shape}, not one string (shape ()).")
    elif dtype.kind != "f" or dtype.itemsize != 8 or dtype.fields is not None:
        raise NetworkFileError(f"{path}: the weights {name!r} have dtype {dtype}; network files "
                               "hold float64 weights.")
