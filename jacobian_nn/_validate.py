"""Input checks shared by every public entry point.

One rule, applied at the boundary: accept anything numpy can turn into a real float64 array
(lists, integer arrays, read-only arrays), reject everything else with a message that says
what was expected in the lecture's symbols and what arrived. Nothing here modifies its input.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._kernels import all_finite


def as_real_array(a, name: str, *, ndim: tuple[int, ...] | None = (1, 2), finite: bool = True,
                  nonempty: bool = False, hint: str = ""):
    """Return `a` as a float64 ndarray, or raise a clear TypeError/ValueError.

    Parameters
    ----------
    a : array_like
        The user's input. It is never modified; the result may share memory with it only
        when it already is a float64 array, and callers never write to the result.
    name : str
        How the message names the input, e.g. ``"z^(0)"`` or ``"layer 2 (Linear) input"``.
    ndim : tuple of int, or None
        Allowed numbers of dimensions (None: any).
    finite : bool
        Reject NaN and infinity.
    nonempty : bool
        Reject arrays with a zero-length axis (a layer with W ∈ R^{0×3} computes nothing).
    hint : str
        Appended to the message when the number of dimensions is wrong: what the input is for.
    """
    if isinstance(a, str | bytes):
        raise TypeError(f"{name} must be a real-valued array, got the string {a!r}.")
    if isinstance(a, np.ma.MaskedArray):  # np.asarray would silently use the masked entries
        raise TypeError(
            f"{name} must be a plain array, got a masked array; fill or drop the masked "
            "entries first (e.g. a.filled(0.0) or a.compressed())."
        )
    try:
        arr = np.asarray(a)
    except ValueError as err:  # ragged nested lists
        raise ValueError(
            f"{name} must be a rectangular real-valued array; numpy could not build one "
            f"({err}). Check that every row has the same length."
        ) from None
    if arr.dtype == object:
        raise TypeError(
            f"{name} must be a rectangular real-valued array, got an object array "
            "(ragged rows or mixed types?)."
        )
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}.")
    if arr.dtype.kind not in "biufm":  # numbers (timedelta64 counts as one) and booleans
        raise TypeError(f"{name} must be a real-valued array, got dtype {arr.dtype}.")
    if ndim is not None and arr.ndim not in ndim:
        allowed = " or ".join(f"{d}-D" for d in ndim)
        if arr.ndim == 0:  # net(3.0): say how to write it, not only that shape () is wrong
            raise ValueError(f"{name} must be {allowed}, got the single number "
                             f"{bracketed(arr, 0)}: write {bracketed(arr, min(ndim))}.")
        raise ValueError(f"{name} must be {allowed}, got shape {arr.shape}.{hint}")
    if nonempty and arr.size == 0:
        raise ValueError(f"{name} must have at least one entry on every axis, got shape "
                         f"{arr.shape}.")
    arr = arr.astype(np.float64, copy=False)
    if finite and not all_finite(arr):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(
            f"{name} contains a non-finite value ({arr[bad]} at index {bad}); "
            "NaN and infinity cannot be differentiated through."
        )
    return arr


def bracketed(number: np.ndarray, depth: int) -> str:
    """A 0-d array written inside ``depth`` brackets, as a user would type it: [3.0], [[3.0]]."""
    return "[" * depth + repr(number.item()) + "]" * depth


def positive_float(value, name: str) -> float:
    """Return `value` as a finite float > 0, or raise."""
    value = _to_float(value, name)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}.")
    return value


def nonnegative_float(value, name: str) -> float:
    """Return `value` as a finite float ≥ 0, or raise (NaN would make every comparison pass)."""
    value = _to_float(value, name)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and ≥ 0, got {value!r}.")
    return value


def _to_float(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    try:
        return float(value)
    except (OverflowError, ValueError):  # 10**400, or a Fraction too large for a float
        return float("inf")


def real_number(value, name: str) -> float:
    """Return ``value`` (an int, float, Fraction, numpy scalar …) as a finite float, or raise."""
    out = _to_float(value, name)
    if not np.isfinite(out):
        shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:20]}…"
        raise ValueError(f"{name} is non-finite or beyond float64's range ({shown}); it must "
                         "be a finite real number.")
    return out


def positive_int(value, name: str) -> int:
    """Return `value` as an int >= 1, or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}.")
    return int(value)


def fmt_shape(*dims: int | None) -> str:
    """Write a space like R^{h×k} (``R^3`` for a vector), as the lecture does."""
    if len(dims) == 1:
        return f"R^{dims[0]}"
    return "R^{" + "×".join(str(d) for d in dims) + "}"


MAX_DECIMALS = 15


def check_decimals(decimals, what: str = "decimals") -> int:
    """``decimals`` as an int in 0..15, or a ValueError saying what it must be."""
    if (isinstance(decimals, bool) or not isinstance(decimals, numbers.Integral)
            or not 0 <= decimals <= MAX_DECIMALS):
        raise ValueError(
            f"{what} must be a whole number of digits after the point, 0 to {MAX_DECIMALS}, "
            f"got {decimals!r}."
        )
    return int(decimals)
