"""Second order from the explicit Jacobians: the Gauss–Newton matrix and the Hessian.

For one example, with J = D_W f_W(x) ∈ R^{h_m×d} and ŷ = f_W(x), the chain rule taken twice is

    ∇²_w L(f_W(x), y) = Jᵀ ∇²_ŷL J  +  Σ_a (∇_ŷL)_a ∇²_w f_a(x)          shape (d, d).

The first term is the generalised Gauss–Newton matrix (GGN); it needs only the Jacobians that
backpropagation builds anyway and the loss's own Hessian ``loss.hessian``. The second, the
curvature term, needs each layer's second derivatives: its rule, registered per class, and the
chain through the network, in curvature_rules.py (whose names are re-exported here: ``register``,
``RULES``, ``layer_curvature``, ``second_derivative``, ``second_order_chain``, …).

* ``ggn(net, X, Y, loss)``     (1/n) Σ_i J_iᵀ ∇²_ŷL J_i, (d, d), first derivatives only;
* ``hessian(net, X, Y, loss)`` (1/n) Σ_i ∇²_w L(f_W(x_i), y_i), (d, d), exact;
* ``hessian_trace(net, x, y, loss)`` one example's blocks (j, j') under their lecture names.

The empirical neural tangent kernel, built from the same Jacobians: tangent_kernel.py.
"""

from __future__ import annotations

import numpy as np

from .curvature_rules import (  # noqa: F401 (re-exported: jnn.curvature is their public home)
    RULES,
    LayerCurvature,
    MissingRule,
    layer_curvature,
    network_rule,
    register,
    require_network,
    second_derivative,
    second_order_chain,
)
from .hessian_trace import HessianTrace
from .losses import Loss

_CHUNK_NUMBERS = 2**22  # per-example Jacobians are built in chunks of about 32 MiB


# -- batches -----------------------------------------------------------------------------------
def _batch(net, X, Y, loss: Loss):
    """X, Y (n, h_m) and Ŷ = f_W(X), after exactly the checks of ``net.gradients``."""
    require_network(net)
    net.gradients(X, Y, loss, mode="reverse")  # a bad X, Y or loss gets its usual clear error
    X = np.asarray(X, dtype=np.float64)
    Yhat = net(X)
    return X, np.asarray(Y, dtype=np.float64).reshape(Yhat.shape), Yhat


def _chunks(n: int, per_example: int):
    """Slices of the batch whose per-example Jacobians hold about 2²² numbers together."""
    size = max(1, _CHUNK_NUMBERS // max(per_example, 1))
    return [slice(i, i + size) for i in range(0, n, size)]


def stacked_jacobian(net, X) -> np.ndarray:
    """J_i = D_w f_W(x_i) = [D_{W_1} f_W(x_i) … D_{W_m} f_W(x_i)] for every example: (n, h_m, d)."""
    return np.concatenate(net.jacobians(X)[0], axis=-1)


def ggn(net, X, Y, loss: Loss) -> np.ndarray:
    """The generalised Gauss–Newton matrix (1/n) Σ_i J_iᵀ ∇²_ŷL(ŷ_i, y_i) J_i, shape (d, d).

    J_i = D_w f_W(x_i) from ``net.jacobians`` (built in chunks of examples, so memory stays
    bounded); positive semi-definite for every built-in loss, as each ∇²_ŷL is.

    Parameters
    ----------
    net : Network
    X : array_like, shape (n, k)
    Y : array_like, shape (n, h_m)
    loss : Loss
        Needs ``loss.hessian``.
    """
    X, Y, Yhat = _batch(net, X, Y, loss)
    n, h, d = X.shape[0], Yhat.shape[1], net.n_params
    G = np.zeros((d, d))
    for rows in _chunks(n, h * d):
        J = stacked_jacobian(net, X[rows])
        H = np.stack([loss.hessian(yh, y) for yh, y in zip(Yhat[rows], Y[rows], strict=True)])
        G += J.reshape(-1, d).T @ (H @ J).reshape(-1, d)  # Σ_i J_iᵀ (H_i J_i) as one product
    return G / n


def hessian(net, X, Y, loss: Loss) -> np.ndarray:
    """The exact Hessian (1/n) Σ_i ∇²_w L(f_W(x_i), y_i), shape (d, d).

    Per example: J_iᵀ ∇²_ŷL J_i + Σ_a (∇_ŷL)_a ∇²_w f_a(x_i), the second term by
    ``second_order_chain`` from each layer's rule (``RULES``). Cost O(m h d²) per example: for
    small networks. A layer without a rule (a ``custom_layer``) raises ``MissingRule``.

    Parameters
    ----------
    net : Network
    X : array_like, shape (n, k)
    Y : array_like, shape (n, h_m)
    loss : Loss
        Needs ``loss.grad`` and ``loss.hessian``.
    """
    X, Y, Yhat = _batch(net, X, Y, loss)
    total = np.zeros((net.n_params, net.n_params))
    for x, y, yh in zip(X, Y, Yhat, strict=True):
        J, R = second_order_chain(net, x, loss.grad(yh, y))
        total += J.T @ loss.hessian(yh, y) @ J + R
    return total / X.shape[0]


def hessian_trace(net, x, y, loss: Loss):
    """One example's ∇²_w L block by block, (j, j') under lecture names: a ``HessianTrace``."""
    return HessianTrace(net, x, y, loss)
