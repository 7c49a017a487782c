"""Every speed trick of the package, each behind a named function.

Nothing here changes a number beyond rounding; each function says what it computes in the
lecture's symbols, and docs/performance.md ("The kernels") says why it exists and what it was
measured to save. The formulas live in layers.py, losses.py and batch.py; they call these.

Stacked Jacobians: the batch modes carry D^(j) for all n examples at once as an array
(n, r, h) — entry [i] is example i's matrix — or as rows (n, h) in reverse mode. Two shapes of
it are kept cheap instead of being copied n times:

* broadcast: one matrix for every example (``strides[0] == 0``), as D^(m−1) = W_m is;
* ``Diagonal``: D_i = diag(v_i), kept as the diagonals v (n, h), as D^(m) = I and the
  D^(m) diag(φ'(z^(m−1))) of an element-wise output layer are.
"""

from __future__ import annotations

import functools
import math

import numpy as np


class Diagonal:
    """A stack of diagonal matrices D_i = diag(v_i), i = 1 … n, kept as v (n, h).

    ``v`` None stands for D_i = I_h for every example (lecture 000's D^(m) = I). Only the layers
    whose ``left_mul_D_z`` keeps it diagonal or turns it into a matrix product receive one (see
    ``stack_for``); every other product sees ``dense(D)``.
    """

    __slots__ = ("n", "h", "v")
    ndim = 3

    def __init__(self, n: int, h: int, v: np.ndarray | None = None):
        self.n, self.h, self.v = n, h, v

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.n, self.h, self.h)

    def __getitem__(self, rows: slice) -> Diagonal:
        """The examples ``rows`` (a chunk of the batch), as ``D[rows]`` of an array."""
        return Diagonal(len(range(self.n)[rows]), self.h, None if self.v is None else self.v[rows])

    def __repr__(self) -> str:
        return f"Diagonal(n={self.n}, h={self.h}, {'I' if self.v is None else 'diag(v)'})"


def identity_stack(n: int, h: int) -> Diagonal:
    """D^(m) = I_h for each of n examples, stored as nothing at all."""
    return Diagonal(n, h)


def seed_identity(n: int, h: int):
    """D^(m) = I_h for each of n examples, as the "jacobian" mode's sum over the batch starts
    from it: ``identity_stack(n, h)``, except for one output (h = 1), where every D · D^(j) is
    a 1 × h_j matrix, carried as the rows (n, h_j) — a column of ones to start — so the chain
    costs what the "reverse" mode's rows cost."""
    return ones(n)[:, None] if h == 1 else identity_stack(n, h)


def dense(D):
    """D as an ordinary (n, r, h) array: a ``Diagonal`` is written out, anything else returned.

    The identity becomes one I_h broadcast over the batch (a read-only view, no copy).
    """
    if not isinstance(D, Diagonal):
        return D
    if D.v is None:
        return np.broadcast_to(np.eye(D.h), D.shape)
    out = np.zeros(D.shape)
    idx = np.arange(D.h)
    out[:, idx, idx] = D.v
    return out


def stack_for(layer, D):
    """D as ``layer.left_mul_D_z`` accepts it: a ``Diagonal`` only if the layer says it keeps
    one cheap (``layer.takes_diagonal``), otherwise ``dense(D)``."""
    return D if layer.takes_diagonal or not isinstance(D, Diagonal) else dense(D)


def rows_times(G: np.ndarray, D) -> np.ndarray:
    """Rows G_i D_i for every example: G (n, r), D (n, r, h) (or (n, h) for r = 1) → (n, h);
    here ∇_ŷLᵀ D^(j).

    The same numbers (to rounding) by the fastest route: nothing for the identity, a scaling
    for a diagonal stack, one GEMM when D is one matrix broadcast over the batch, numpy's
    batched matmul while D fits in cache, einsum's streaming loop for larger D.
    """
    if isinstance(D, Diagonal):
        return G if D.v is None else G * D.v
    if D.ndim == 2:  # r = 1 carried as rows: D_i is the row D[i], G_i one number
        return G * D
    if D.strides[0] == 0:
        return G @ D[0]
    if D.shape[1] == 1:  # r = 1 (one output): a scaling of D's rows, not n products
        return G * D[:, 0, :]
    if D.nbytes <= IN_CACHE_BYTES:
        return np.matmul(G[:, None, :], D)[:, 0, :]
    return np.einsum("nr,nrh->nh", G, D)


IN_CACHE_BYTES = 16 * 2**20  # where matmul stopped beating einsum on a 2-core EPYC


CACHE_BYTES = 3 * 2**18  # 768 KiB of stack a chunk: with its other arrays, within a 2 MiB L2
CHUNK_ROWS_MULTIPLE = 64  # chunks of 64, 128, … examples when a row is short


def cache_chunks(chunks: list[slice], bytes_per_row: int) -> list[slice]:
    """The chunks of rows cut further, so that a stack of ``bytes_per_row`` per example fits in
    ``CACHE_BYTES`` (one example a chunk at least): a multiple of ``CHUNK_ROWS_MULTIPLE``
    examples where that many fit, so that ``scale_columns``' blocks of a power of two examples
    leave no remainder; a last piece of less than a quarter of that joins the one before it.

    Each stacked product reads the stack the previous one wrote; a chunk that stays in cache
    saves the trip to memory, which on a fast-GEMM machine is what the "jacobian" mode costs
    beyond "reverse" (docs/performance.md). A chunk of that size holds enough work that its
    Python calls (≈ 6 µs for a few layers) count little; a short tail would pay them for a
    few examples (the small net's 1797 = 7 · 256 + 5).
    """
    size = max(1, CACHE_BYTES // max(bytes_per_row, 1))
    if size >= CHUNK_ROWS_MULTIPLE:
        size -= size % CHUNK_ROWS_MULTIPLE
    out = []
    for c in chunks:
        stops = list(range(c.start + size, c.stop, size)) + [c.stop]
        if len(stops) > 1 and stops[-1] - stops[-2] < size // 4:
            del stops[-2]  # the short tail joins the chunk before it
        out += [slice(start, stop) for start, stop in zip([c.start, *stops[:-1]], stops,
                                                          strict=True)]
    return out


def broadcast(M: np.ndarray, n: int) -> np.ndarray:
    """M (r, h) as the same matrix for each of n examples: a read-only (n, r, h) view with
    stride 0 over the batch, as ``np.broadcast_to`` makes, built directly for a C-contiguous
    M (``np.broadcast_to`` spends about 2 µs in Python, as much as a tiny layer's product)."""
    if not M.flags.c_contiguous:
        return np.broadcast_to(M, (n, *M.shape))
    out = np.ndarray((n, *M.shape), M.dtype, M, 0, (0, *M.strides))
    out.flags.writeable = False
    return out


def times_matrix(D, M: np.ndarray) -> np.ndarray:
    """D_i M for every example i: D (n, ..., h), M (h, k) → (n, ..., k) — a layer whose
    D_z f = M is the same for every example (Linear, Affine, Conv1D).

    One GEMM over the stacked rows; when D is broadcast (or the identity) the product is too,
    computed once; a diagonal stack scales the rows of M.
    """
    if isinstance(D, Diagonal):
        if D.v is None:
            return broadcast(M, D.n)
        return D.v[:, :, None] * M
    if D.ndim == 2:  # rows: already one GEMM
        return D @ M
    h, k = M.shape
    if D.strides[0] == 0:
        return broadcast(D[0] @ M, D.shape[0])
    return (D.reshape(-1, h) @ M).reshape(*D.shape[:-1], k)


def scale_columns(D, v: np.ndarray):
    """D_i diag(v_i) for every example i: D (n, h), (n, r, h) or ``Diagonal``, v (n, h).

    A diagonal stack stays diagonal (diag(a) diag(b) = diag(a ∘ b)), so an element-wise output
    layer costs O(n h_m), not O(n h_m²). Otherwise numpy's loops would run over rows of h
    numbers, slow for short rows; so φ'(z_i) is first copied into each of D_i's r rows, and
    the product runs over whole (r, h) blocks — and for a broadcast D = D_0, over the blocks
    of several examples at once, against D_0 tiled as often (``TILE_NUMBERS`` long).
    """
    if isinstance(D, Diagonal):
        return Diagonal(D.n, D.h, v if D.v is None else D.v * v)
    if D.ndim == 2:
        return D * v
    n, r, h = D.shape
    if r == 1 or (h >= 64 and D.strides[0] != 0):  # one row, or long rows: nothing to gain
        return D * v[:, None, :]
    out = v[:, None, :].repeat(r, axis=1)
    if D.strides[0] != 0:
        out *= D
        return out
    per_block = 1 << max(0, (TILE_NUMBERS // (r * h)).bit_length() - 1)  # a power of two
    whole = n - n % per_block
    if whole:
        blocks = out[:whole].reshape(whole // per_block, -1)  # a view: out is C-contiguous
        blocks *= D[:per_block].reshape(-1)  # D_0 tiled: reshaping the broadcast view copies it
    out[whole:] *= D[0]
    return out


TILE_NUMBERS = 8192  # the longest tile: longer loops stopped paying (r = 10; h = 32, 128)


def all_finite(*arrays: np.ndarray) -> bool:
    """True when no entry of any of the arrays is NaN or ±inf.

    One dot product x·x per array proves it, without a boolean temporary the size of the
    input: NaN and ±inf propagate through the squares (never negative, so no ∞ − ∞ can hide
    one) and through their sum, taken in Python floats, which overflow to inf silently. numpy
    hands the dot product of a contiguous array to BLAS (about twice as fast as ``arr.sum()``
    on 2 cores for a large array; for the trainer's few small weight arrays, one call each
    instead of two). It runs over ``ravel(order="K")``, a view of a C- or Fortran-ordered
    array (``np.vdot`` would copy a Fortran-ordered 2-d array) when the array is large; a large
    array of another layout, and a sum that is not finite (a bad entry, or squares beyond
    ~1e308), take the entry-wise test.
    """
    total = 0.0
    for arr in arrays:
        size = arr.size
        if size == 0:  # a parameter-free layer's params
            continue
        if size <= 2**16:  # small: any layout, flattened (a copy at most 512 KiB)
            total += float(np.vdot(arr, arr))
        elif arr.flags.forc:
            flat = arr.ravel(order="K")
            total += float(np.vdot(flat, flat))
        elif not np.isfinite(arr).all():
            return False
    return math.isfinite(total) or all(bool(np.isfinite(arr).all()) for arr in arrays)


MMAP_THRESHOLD_MAX = 32 * 2**20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on a 64-bit machine
_BLOCK_MAX = MMAP_THRESHOLD_MAX - 2**16  # with malloc's header and page rounding, still ≤ it
_heap_kept = 128 * 2**10  # glibc's first mmap threshold: below it there is nothing to raise


def keep_temporaries_on_heap(nbytes: int) -> None:
    """Let glibc's malloc keep about ``nbytes`` of freed temporaries for the next update,
    instead of handing them back to the kernel and page-faulting them in again.

    glibc adapts its thresholds to the largest block it freed that it had mmap-ed: freeing one
    raises the mmap threshold to its size and the trim threshold to twice that (``mallopt(3)``,
    M_MMAP_THRESHOLD). One block of ``nbytes`` (kept just under ``MMAP_THRESHOLD_MAX``: above
    it glibc adapts nothing), allocated and freed at once, never touched and so never faulted
    in, puts the process where any process that once freed such an array already is, whatever
    it allocated before; without it an update of the small net faulted its few MB back ~400
    times, or never, depending on the process's history (docs/performance.md, "The heap").
    Once per size, per process; with
    another C library, or thresholds the user fixed (MALLOC_MMAP_THRESHOLD_, which stops the
    adaptation), it changes nothing.
    """
    global _heap_kept
    nbytes = min(nbytes, _BLOCK_MAX)
    if nbytes > _heap_kept:
        _heap_kept = nbytes
        block = np.empty(nbytes // 8)
        del block


def special():
    """scipy.special, imported on first use: importing it takes about a quarter of a second,
    which ``import jacobian_nn`` should not pay (docs/performance.md, "The kernels")."""
    from scipy import special as scipy_special

    return scipy_special


def expand_rows(v: np.ndarray, D: np.ndarray) -> np.ndarray:
    """View the per-example vectors v (n, h) so they broadcast against D (n, ..., h)."""
    if D.ndim == 2:
        return v
    return v.reshape(v.shape[0], *(1,) * (D.ndim - 2), v.shape[1])


@functools.lru_cache(maxsize=8)
def ones(n: int) -> np.ndarray:
    """A read-only vector of n ones."""
    v = np.ones(n)
    v.flags.writeable = False
    return v


def column_sums(G: np.ndarray) -> np.ndarray:
    """Σ_i G_i for G (n, h): as the product 1ᵀ G, several times faster than ``G.sum(axis=0)``
    on a tall, narrow batch."""
    return ones(G.shape[0]) @ G


def row_sums(A: np.ndarray) -> np.ndarray:
    """Σ_k A[i, k] for every row of A (n, h), as the product A 1."""
    return A @ ones(A.shape[1])


def row_max(A: np.ndarray) -> np.ndarray:
    """max_k A[i, k] for every row i of A (n, h).

    numpy reduces along short rows one row at a time; for h ≤ 32 reducing a transposed copy
    down its columns is several times faster (beyond that it is slower).
    """
    if A.shape[1] <= 32:
        return np.ascontiguousarray(A.T).max(axis=0)
    return A.max(axis=1)
