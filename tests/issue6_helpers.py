"""Independent references shared by issue 6's tests: numerical gradients of a batch loss."""

from __future__ import annotations

import copy

import numpy as np

import jacobian_nn as jnn


def numerical_mean_loss_gradient(net: jnn.Network, X, Y, loss) -> np.ndarray:
    """∇_w (1/n) Σ_i L(f_w(x_i), y_i) for w = net.params, by scipy's finite differences."""
    clone = copy.deepcopy(net)
    Y2 = np.asarray(Y).reshape(len(X), -1)

    def mean_loss(w: np.ndarray) -> np.ndarray:
        clone.params = w
        return np.array([np.mean([loss(clone(x), y) for x, y in zip(X, Y2, strict=True)])])

    return jnn.numerical_jacobian(mean_loss, net.params)[0]


def flat(grads) -> np.ndarray:
    """Per-layer gradients as one vector in the order of Network.params."""
    return np.concatenate([np.ravel(g) for g in grads])
