"""Small data sets from the lectures, and helpers to shape targets. Batch axis first."""

from __future__ import annotations

import numpy as np

from ._validate import as_real_array, positive_int

_TRUTH_TABLES = {
    "and": [0.0, 0.0, 0.0, 1.0],
    "or": [0.0, 1.0, 1.0, 1.0],
    "nand": [1.0, 1.0, 1.0, 0.0],
    "xor": [0.0, 1.0, 1.0, 0.0],
}


def logic_gate(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The truth table of a two-input gate (lecture 000): X (4, 2) of 0/1, Y (4, 1).

    Examples
    --------
    >>> X, Y = logic_gate("xor")
    >>> X.tolist(), Y.ravel().tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 1.0, 0.0])
    """
    if name not in _TRUTH_TABLES:
        raise ValueError(f"logic_gate: name must be one of {sorted(_TRUTH_TABLES)}, got {name!r}.")
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return X, np.array(_TRUTH_TABLES[name])[:, None]


def xor() -> tuple[np.ndarray, np.ndarray]:
    """``logic_gate("xor")``: the data a single linear layer cannot fit."""
    return logic_gate("xor")


def perceptron_lecture003() -> tuple[np.ndarray, np.ndarray]:
    """Lecture 003's data for the one-weight perceptron ŷ = w x: X (4, 1), Y (4, 1)."""
    return np.array([[10.0], [2.0], [3.5], [1.0]]), np.array([[10.1], [1.9], [3.4], [1.1]])


def one_hot(labels, h: int) -> np.ndarray:
    """Rows e_{label} ∈ R^h for integer class labels in 0 … h−1: shape (n, h).

    Examples
    --------
    >>> one_hot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    h = positive_int(h, "one_hot: h (the number of classes)")
    lab = as_real_array(labels, "one_hot: labels", ndim=(1,))
    if np.any(lab != np.round(lab)):
        raise ValueError("one_hot: labels must be whole numbers.")
    if np.any(lab < 0) or np.any(lab >= h):
        bad = lab[(lab < 0) | (lab >= h)][0]
        raise ValueError(f"one_hot: labels must lie in 0 … {h - 1}; got {bad:g}.")
    out = np.zeros((lab.shape[0], h))
    out[np.arange(lab.shape[0]), lab.astype(int)] = 1.0
    return out
