"""Which entries of a large matrix are shown: its corners and its largest entries.

A trace of a 784-128-10 network holds matrices with millions of entries; written out whole
they are over 100 MB of text. Like numpy's print options (``threshold``, ``edgeitems``), a
matrix with more than ``MAX_ENTRIES`` entries, or a side longer than ``MAX_SIDE``, is
*summarised*: every axis longer than 2 ``EDGE_ITEMS`` + 1 keeps its first and last
``EDGE_ITEMS`` entries with ⋯ (columns), ⋮ (rows) and ⋱ between, and the ``LARGEST`` entries of
largest absolute value are named with their indices. ``jacobian_nn.display`` writes the
result as text or LaTeX; every rendering takes ``full=True`` to show each matrix whole.

Examples
--------
>>> A = np.arange(40.0).reshape(2, 20)
>>> summarised(A)
True
>>> [c if isinstance(c, str) else int(c) for c in corners(A)[0]]
[0, 1, 2, '⋯', 17, 18, 19]
>>> largest(A, 2)
[((1, 19), 39.0), ((1, 18), 38.0)]
"""

from __future__ import annotations

import numpy as np

#: A matrix with more entries than this (a 12 × 12 is shown whole) is summarised ...
MAX_ENTRIES = 144
#: ... and so is one with a side longer than this (a row of 17 numbers no longer fits a line).
MAX_SIDE = 16
#: Entries kept at each end of a summarised axis (numpy's ``edgeitems``).
EDGE_ITEMS = 3
#: How many of the largest |entries| a summary names.
LARGEST = 3
#: The marks that stand for the entries left out: along a row, down a column, both.
HDOTS, VDOTS, DDOTS = "⋯", "⋮", "⋱"


def summarised(A: np.ndarray, full: bool = False) -> bool:
    """Whether A is shown by its corners (never with ``full=True``, never a scalar)."""
    return not full and A.ndim > 0 and (A.size > MAX_ENTRIES or max(A.shape) > MAX_SIDE)


def kept(n: int) -> list[int | None]:
    """The indices shown along an axis of length n; None where the left-out ones are."""
    if n <= 2 * EDGE_ITEMS + 1:  # cutting 7 entries to 3 + ⋯ + 3 would save nothing
        return list(range(n))
    return [*range(EDGE_ITEMS), None, *range(n - EDGE_ITEMS, n)]


def corners(A: np.ndarray) -> list[list[float | str]]:
    """The shown cells of a matrix (a vector as one row): its entries, or HDOTS, VDOTS, DDOTS."""
    A = A[None, :] if A.ndim == 1 else A
    cols = kept(A.shape[1])
    return [[VDOTS if c is not None else DDOTS for c in cols] if r is None
            else [HDOTS if c is None else float(A[r, c]) for c in cols]
            for r in kept(A.shape[0])]


def largest(A: np.ndarray, k: int = LARGEST) -> list[tuple[tuple[int, ...], float]]:
    """The k entries of largest |value|, largest first (ties: the first in C order), as
    (index, value) with 0-based indices, as numpy writes them."""
    flat = np.abs(A).ravel()  # a copy: the entries already named are set to −1 below
    out = []
    for _ in range(min(k, flat.size)):
        p = int(flat.argmax())  # k passes of argmax: O(k · size), no sort of millions
        idx = tuple(int(i) for i in np.unravel_index(p, A.shape))
        out.append((idx, float(A[idx])))
        flat[p] = -1.0
    return out
