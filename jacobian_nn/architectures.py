"""Ready-made networks: ``mlp``, lecture 002's stack of affine maps and activations.

Built from the package's own layers and ``Network``; nothing here computes a derivative.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .activations import Tanh
from .layers import Affine, Layer
from .network import Network


def mlp(sizes: Sequence[int], activation: type[Layer] | None = None, *, seed: int = 0) -> Network:
    """Affine → activation → … → Affine for layer widths ``sizes`` = [k, h_1, …, h_out].

    Weights are drawn N(0, 1/k_in) from ``numpy.random.default_rng(seed)`` (so the same seed
    gives the same network), biases start at 0; the last Affine has no activation after it.

    Examples
    --------
    >>> mlp([2, 2, 1])
    Network([
      f_1: Affine(W ∈ R^{2×2}, b ∈ R^2),
      f_2: Tanh(),
      f_3: Affine(W ∈ R^{1×2}, b ∈ R^1)
    ])
    """
    activation = Tanh if activation is None else activation
    if not (isinstance(activation, type) and issubclass(activation, Layer)):
        hint = (f" Pass the class, {type(activation).__name__}, not an instance."
                if isinstance(activation, Layer) else " For example jnn.Sigmoid.")
        raise TypeError(f"mlp: activation must be a layer class such as jnn.Tanh, got "
                        f"{activation!r}.{hint}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"mlp: seed must be a whole number ≥ 0, got {seed!r}.")
    if len(sizes) < 2 or not all(
        isinstance(s, numbers.Real) and not isinstance(s, bool) and s >= 1 and float(s).is_integer()
        for s in sizes
    ):
        raise ValueError(f"mlp: sizes must be ≥ 2 positive whole numbers, got {sizes!r}.")
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    for j, (k, h) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Affine(rng.normal(0.0, 1.0 / np.sqrt(k), (int(h), int(k))), np.zeros(int(h))))
        if j < len(sizes) - 2:
            layers.append(activation())
    return Network(layers)
