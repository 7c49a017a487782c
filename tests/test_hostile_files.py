"""Loading a hostile or damaged file: always NetworkFileError, quickly, in bounded memory.

The files here are built byte by byte (a zip written with ``struct``, .npy headers written with
numpy's own header writer), so each one is exactly the damage it names: a flipped bit, a cut,
a compression bomb, a header that lies about its size, JSON nested too deeply, a wrong dtype,
a FIFO that would block a reader forever.
"""

import contextlib
import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

import jacobian_nn as jnn
from jacobian_nn import io as jio

STORED, DEFLATED = 0, 8
MiB = 2**20


class Hang(BaseException):
    """Raised by the alarm; a BaseException, so ``load`` cannot swallow it as a bad file."""


@contextlib.contextmanager
def deadline(seconds: float):
    """Fail instead of hanging: SIGALRM interrupts a blocking open() or read()."""
    def ring(signum, frame):
        raise Hang(f"load did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def load_refused(path, *, match: str | None = None, max_peak: int = 16 * MiB, seconds: float = 5.0):
    """``jnn.load(path)`` raises NetworkFileError (nothing else), in time and memory bounds.

    Returns the error. ``max_peak`` bounds the Python/numpy heap peak seen by tracemalloc
    (numpy reports its array buffers to tracemalloc).
    """
    tracemalloc.start()
    try:
        with deadline(seconds), pytest.raises(jio.NetworkFileError, match=match) as info:
            jnn.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert type(info.value) is jio.NetworkFileError, type(info.value)
    assert peak < max_peak, f"load allocated {peak / MiB:.1f} MiB on a bad file"
    return info.value


# --------------------------------------------------------------------------------------------
# Building files byte by byte
# --------------------------------------------------------------------------------------------
def npy_header(descr: str, shape: tuple, fortran: bool = False) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": fortran, "shape": shape})
    return buf.getvalue()


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=array.dtype == object)
    return buf.getvalue()


def meta_npy(meta) -> bytes:
    return npy(np.array(meta if isinstance(meta, str) else json.dumps(meta)))


def member(name: str, raw: bytes, method: int = STORED, *, payload: bytes | None = None,
           size: int | None = None, crc: int | None = None, flags: int = 0) -> tuple:
    """One zip member: ``raw`` is the uncompressed content; every header field can lie."""
    if payload is None:
        payload = raw
        if method == DEFLATED:
            squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
            payload = squeeze.compress(raw) + squeeze.flush()
    return (name.encode(), payload, method, len(raw) if size is None else size,
            zlib.crc32(raw) if crc is None else crc, flags)


def raw_zip(*members) -> bytes:
    """A zip archive (local headers, data, central directory, end record) from ``member``s."""
    out, central = bytearray(), bytearray()
    for name, payload, method, size, crc, flags in members:
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc,
                           len(payload), size, len(name), 0) + name + payload
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, method, 0, 0x21,
                               crc, len(payload), size, len(name), 0, 0, 0, 0, 0, offset) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(central), len(out), 0)
    return bytes(out + central + end)


def one_linear() -> dict:
    """A description of Network([Linear(p0)]), with p0 the W ∈ R^{1×2} of the files below."""
    return {"format": "jacobian_nn.network", "version": 1,
            "network": {"kind": "Network", "layers": [{"kind": "Linear", "params": "p0"}]}}


def write(tmp_path, data: bytes, name: str = "bad.npz") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_the_hand_built_zip_is_a_valid_network_file(tmp_path):
    """The builder itself is right: with honest headers the file loads (stored and deflated)."""
    W = np.array([[1.0, 2.0]])
    for method in (STORED, DEFLATED):
        path = write(tmp_path, raw_zip(member("jacobian_nn.npy", meta_npy(one_linear())),
                                       member("p0.npy", npy(W), method)))
        np.testing.assert_array_equal(jnn.load(path).layers[0].W, W)


def good_file(tmp_path) -> bytes:
    rng = np.random.default_rng(5)
    net = jnn.Network([jnn.Affine(rng.normal(size=(3, 2)), rng.normal(size=3)),
                       jnn.LeakyReLU(0.25),
                       jnn.Network([jnn.Linear(rng.normal(size=(2, 3))), jnn.Tanh()])])
    net.save(tmp_path / "good.npz")
    return (tmp_path / "good.npz").read_bytes()


# --------------------------------------------------------------------------------------------
# Random damage (derandomized)
# --------------------------------------------------------------------------------------------
def test_flipped_bits_anywhere_give_the_same_network_or_network_file_error(tmp_path):
    """A bit flip either lands where the zip ignores it (a timestamp) or is reported."""
    data = good_file(tmp_path)
    original = jnn.load(tmp_path / "good.npz")
    rng = np.random.default_rng(2024)
    refused = 0
    for trial in range(300):
        damaged = bytearray(data)
        damaged[rng.integers(len(data))] ^= 1 << int(rng.integers(8))
        path = write(tmp_path, bytes(damaged), f"flip{trial}.npz")
        try:
            with deadline(5):
                back = jnn.load(path)
        except jio.NetworkFileError:
            refused += 1
            continue
        assert repr(back) == repr(original)
        assert np.array_equal(back.params, original.params)
    assert refused > 200  # most bytes are weights, headers or checksums


def test_every_truncation_is_refused(tmp_path):
    data = good_file(tmp_path)
    for cut in range(0, len(data), 7):
        path = write(tmp_path, data[:cut], "cut.npz")
        with deadline(5), pytest.raises(jio.NetworkFileError):
            jnn.load(path)


# --------------------------------------------------------------------------------------------
# Zip headers
# --------------------------------------------------------------------------------------------
def with_p0(**fields) -> bytes:
    return raw_zip(member("jacobian_nn.npy", meta_npy(one_linear())),
                   member("p0.npy", npy(np.array([[1.0, 2.0]])), **fields))


@pytest.mark.parametrize(("fields", "match"), [
    ({"method": 99}, "compression method 99"),  # zipfile: NotImplementedError
    ({"method": 12}, "compression method 12"),  # bzip2: not what our files use
    ({"method": 14}, "compression method 14"),  # lzma
    ({"method": STORED, "flags": 0x1}, "encrypted"),  # zipfile: RuntimeError (password)
    ({"method": STORED, "flags": 0x20}, "truncated or corrupted"),  # NotImplementedError
    ({"method": STORED, "crc": 12345}, "CRC"),
    ({"method": DEFLATED, "crc": 12345}, "CRC"),
    ({"method": DEFLATED, "payload": b"\xff" * 40}, "truncated or corrupted"),  # zlib.error
])
def test_damaged_zip_headers(tmp_path, fields, match):
    load_refused(write(tmp_path, with_p0(**fields)), match=match)


def test_a_duplicate_member_is_refused(tmp_path):
    p0 = member("p0.npy", npy(np.array([[1.0, 2.0]])))
    load_refused(write(tmp_path, raw_zip(member("jacobian_nn.npy", meta_npy(one_linear())),
                                         p0, p0)), match="twice")


def test_a_member_that_is_not_an_npy_array(tmp_path):
    load_refused(write(tmp_path, raw_zip(member("jacobian_nn.npy", meta_npy(one_linear())),
                                         member("p0.npy", b"hello, world" * 10))),
                 match="not a .npy array")


# --------------------------------------------------------------------------------------------
# Sizes that lie
# --------------------------------------------------------------------------------------------
def test_a_header_claiming_a_trillion_elements(tmp_path):
    raw = npy_header("<f8", (10**12,)) + bytes(16)
    load_refused(write(tmp_path, raw_zip(member("jacobian_nn.npy", meta_npy(one_linear())),
                                         member("p0.npy", raw))),
                 match="8000000000000 bytes")


def test_a_header_that_disagrees_with_the_zip_size(tmp_path):
    raw = npy_header("<f8", (1, 2)) + bytes(16)
    load_refused(write(tmp_path, raw_zip(member("jacobian_nn.npy", meta_npy(one_linear())),
                                         member("p0.npy", raw, size=len(raw) + 8))),
                 match="truncated or corrupted")


def test_a_declared_size_over_the_limit(tmp_path):
    """The central directory claims almost 4 GiB: refused before anything is read."""
    size = 2**32 - 1024
    raw = npy_header("<f8", ((size - 128) // 8,))
    load_refused(write(tmp_path, raw_zip(member("jacobian_nn.npy", meta_npy(one_linear())),
                                         member("p0.npy", raw, size=size))),
                 match="at most")


def zero_bomb(n_mib: int, header: bytes) -> bytes:
    """A raw deflate stream of ``header`` and n_mib MiB of zeros, built in milliseconds: after a
    full flush the compressor restarts, so one compressed MiB can be repeated."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = squeeze.compress(header) + squeeze.flush(zlib.Z_FULL_FLUSH)
    one_mib = squeeze.compress(bytes(MiB)) + squeeze.flush(zlib.Z_FULL_FLUSH)
    return start + one_mib * n_mib + squeeze.flush()


def bomb_file(tmp_path, n_mib: int, declared_elements: int, size: int | None = None) -> Path:
    header = npy_header("<f8", (declared_elements,))
    # The CRC is not the data's: computing it would read gigabytes, and a reader that
    # inflates the member before its sizes are checked is caught by the memory bound anyway.
    p0 = member("p0.npy", b"", DEFLATED, payload=zero_bomb(n_mib, header), crc=0,
                size=len(header) + n_mib * MiB if size is None else size)
    return write(tmp_path, raw_zip(member("jacobian_nn.npy", meta_npy(one_linear())), p0))


def test_a_two_megabyte_deflate_bomb(tmp_path):
    """2.4 MB inflating to 2.4 GB of float64 zeros, its sizes all honest."""
    path = bomb_file(tmp_path, 2400, 2400 * MiB // 8)
    assert path.stat().st_size < 3 * 10**6
    load_refused(path)


def test_a_deflate_bomb_under_the_memory_limit_is_refused_by_its_ratio(tmp_path, monkeypatch):
    from jacobian_nn import _npz
    monkeypatch.setattr(_npz, "byte_limit", lambda: 2**40)  # as on a machine with a huge RAM
    load_refused(bomb_file(tmp_path, 256, 256 * MiB // 8), match="expands")


def test_a_bomb_behind_a_small_declared_size_is_never_inflated(tmp_path):
    """The zip says 136 bytes (header + 1 float); the stream holds 256 MiB of zeros."""
    header = npy_header("<f8", (1,))
    load_refused(bomb_file(tmp_path, 256, 1, size=len(header) + 8),
                 match="truncated or corrupted")


def test_a_big_file_is_refused_without_reading_it(tmp_path, monkeypatch):
    from jacobian_nn import _npz
    monkeypatch.setattr(_npz, "byte_limit", lambda: 1000)
    data = good_file(tmp_path)
    assert len(data) > 1000
    load_refused(write(tmp_path, data), match="at most 1000 bytes")


# --------------------------------------------------------------------------------------------
# The architecture description
# --------------------------------------------------------------------------------------------
def with_meta(raw_meta: bytes, *extra) -> bytes:
    return raw_zip(member("jacobian_nn.npy", raw_meta),
                   member("p0.npy", npy(np.array([[1.0, 2.0]]))), *extra)


def test_json_nested_a_hundred_thousand_deep(tmp_path):
    load_refused(write(tmp_path, with_meta(meta_npy("[" * 100_000 + "]" * 100_000))),
                 match="nested", max_peak=64 * MiB)


def test_networks_nested_beyond_the_limit(tmp_path):
    spec = {"kind": "Linear", "params": "p0"}
    for _ in range(300):  # within what json can parse, beyond what a file may hold
        spec = {"kind": "Network", "layers": [spec]}
    meta = {"format": "jacobian_nn.network", "version": 1, "network": spec}
    load_refused(write(tmp_path, with_meta(meta_npy(meta))), match="nested")


def test_a_description_over_its_size_limit(tmp_path):
    meta = one_linear()
    meta["padding"] = "x" * (2**22 + 1)
    load_refused(write(tmp_path, with_meta(meta_npy(meta))), match="description",
                 max_peak=64 * MiB)


@pytest.mark.parametrize(("raw_meta", "match"), [
    (npy(np.array(json.dumps(one_linear()).encode())), "dtype"),  # bytes, not str
    (npy(np.array(3.0)), "dtype"),
    (npy(np.array([json.dumps(one_linear())] * 2)), "shape"),
    (npy(np.array(json.dumps(one_linear()), dtype=object)), "dtype"),  # a pickle inside
    (npy_header("<U1", ()) + struct.pack("<I", 0x110000), "truncated or corrupted"),  # no char
])
def test_wrong_description_dtypes(tmp_path, raw_meta, match):
    load_refused(write(tmp_path, with_meta(raw_meta)), match=match)


@pytest.mark.parametrize("array", [
    np.array([[1, 2]]),
    np.array([[1.0, 2.0]], dtype=np.float32),
    np.array([[1.0, 2.0]], dtype=np.complex128),
    np.array([[1.0, 2.0]], dtype=object),
    np.zeros((1, 2), dtype=[("w", "<f8")]),
    np.array([["1.0", "2.0"]]),
], ids=["int64", "float32", "complex", "object", "structured", "str"])
def test_weights_of_the_wrong_dtype(tmp_path, array):
    path = write(tmp_path, raw_zip(member("jacobian_nn.npy", meta_npy(one_linear())),
                                   member("p0.npy", npy(array))))
    load_refused(path, match="float64")


def test_big_endian_and_fortran_order_weights_load(tmp_path):
    """Other writers' valid float64 arrays are read right (the values, not just the shape)."""
    W = np.array([[1.5, -2.0, 3.25], [4.0, 0.5, -6.0]])
    for array in (W.astype(">f8"), np.asfortranarray(W)):
        meta = one_linear()
        path = write(tmp_path, raw_zip(member("jacobian_nn.npy", meta_npy(meta)),
                                       member("p0.npy", npy(array))))
        back = jnn.load(path).layers[0].W
        assert back.dtype == np.float64 and back.dtype.isnative
        np.testing.assert_array_equal(back, W)


# --------------------------------------------------------------------------------------------
# Not regular files
# --------------------------------------------------------------------------------------------
def test_a_fifo_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "pipe.npz")
    load_refused(tmp_path / "pipe.npz", match="FIFO", seconds=2)


def test_a_device_is_not_read(tmp_path):
    load_refused("/dev/zero", match="character device", seconds=2)


def test_a_directory(tmp_path):
    load_refused(tmp_path, match="a directory, not a regular file")


def test_a_socket(tmp_path):
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "s.npz"))
        load_refused(tmp_path / "s.npz", match="a socket")


def test_a_fifo_swapped_in_after_the_check_does_not_hang(tmp_path, monkeypatch):
    """The race: the path is a regular file when checked and a FIFO when opened."""
    regular = tmp_path / "regular.npz"
    regular.write_bytes(b"")
    os.mkfifo(tmp_path / "pipe.npz")
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: real_stat(regular))
    load_refused(tmp_path / "pipe.npz", match="FIFO", seconds=2)


UNDER_RLIMIT_AS = """
import resource, sys
import jacobian_nn as jnn
from jacobian_nn import io as jio

good, bomb = sys.argv[1:]
with open("/proc/self/statm") as fh:
    used = int(fh.read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (used + 400 * 2**20, resource.RLIM_INFINITY))
print(jnn.load(good).n_params)
try:
    jnn.load(bomb)
except jio.NetworkFileError as err:
    print("refused:", err)
"""


def test_under_an_address_space_limit_the_bound_follows_it(tmp_path):
    """With 400 MiB of address space left, the 2.4 GB bomb is refused by size (not by a
    MemoryError half-way) and a 784-128-10 network still loads."""
    jnn.mlp([784, 128, 10], seed=0).save(tmp_path / "good.npz")
    bomb = bomb_file(tmp_path, 2400, 2400 * MiB // 8)
    out = subprocess.run([sys.executable, "-c", UNDER_RLIMIT_AS, str(tmp_path / "good.npz"),
                          str(bomb)], capture_output=True, text=True, timeout=60, check=True)
    n_params, refusal = out.stdout.splitlines()
    assert n_params == str(784 * 128 + 128 + 128 * 10 + 10)
    assert "refused:" in refusal and "load reads at most" in refusal
    limit = int(refusal.split("at most ")[1].split()[0])
    assert limit <= 500 * MiB // 16  # 400 MiB left, give or take what the process freed since
