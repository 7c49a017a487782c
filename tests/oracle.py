"""The one oracle of the tests: independent references by finite differences of forward maps.

Nothing here calls a layer's D_z or D_W, a batch mode or the trainer; derivatives come from
scipy's differentiation of ``forward`` and of losses evaluated one example at a time (through
jacobian_nn.numerical_jacobian, itself tested against known matrices).
"""

import copy

import numpy as np

from jacobian_nn import numerical_jacobian


def num_D_z(f, z):
    """D_z f(z) from forward evaluations of f alone."""
    return numerical_jacobian(f, z)


def with_params(layer, P):
    """A copy of `layer` whose params are P (the original is untouched)."""
    clone = copy.deepcopy(layer)
    clone.params = P
    return clone


def num_D_W(layer, z):
    """D_W f(z) with columns in C order of params, from forward evaluations only."""
    shape = layer.params.shape
    return numerical_jacobian(lambda w: with_params(layer, w.reshape(shape)).forward(z),
                              layer.params.ravel())


def num_D_W_tensor(layer, z):
    """T[i, a, b] = ∂f_i/∂W_ab, perturbing one entry W_ab at a time (no vec convention)."""
    W = layer.params
    h = np.asarray(layer.forward(z)).shape[0]
    T = np.zeros((h, *W.shape))
    for idx in np.ndindex(W.shape):
        E = np.zeros_like(W)
        E[idx] = 1.0
        col = numerical_jacobian(lambda t, E=E: with_params(layer, W + t[0] * E).forward(z),
                                 np.zeros(1))
        T[(slice(None), *idx)] = col[:, 0]
    return T


def num_grad(scalar_fn, w):
    """∇ of a scalar function at w, as a vector."""
    return numerical_jacobian(lambda v: np.atleast_1d(scalar_fn(v)), w)[0]


def num_D_w(net, x, initial_step: float = 1e-2) -> np.ndarray:
    """D_w f_W(x) (h_m, d) of a whole network, w = net.params, perturbing w in a copy."""
    clone = copy.deepcopy(net)

    def f(w: np.ndarray) -> np.ndarray:
        clone.params = w
        return clone(x)

    return numerical_jacobian(f, net.params, initial_step)


def numerical_mean_loss_gradient(net, X, Y, loss, initial_step: float = 1e-2) -> np.ndarray:
    """∇_w (1/n) Σ_i L(f_w(x_i), y_i) for w = net.params, by scipy's finite differences."""
    clone = copy.deepcopy(net)
    Y2 = np.asarray(Y).reshape(len(X), -1)

    def mean_loss(w: np.ndarray) -> np.ndarray:
        clone.params = w
        return np.array([np.mean([loss(clone(x), y) for x, y in zip(X, Y2, strict=True)])])

    return numerical_jacobian(mean_loss, net.params, initial_step)[0]


def flat(grads) -> np.ndarray:
    """Per-layer gradients as one vector in the order of Network.params."""
    return np.concatenate([np.ravel(g) for g in grads])
