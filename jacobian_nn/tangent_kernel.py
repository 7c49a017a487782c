"""The empirical neural tangent kernel from the explicit Jacobians.

Θ(x_i, x'_l) = Σ_j D_{W_j} f_W(x_i) D_{W_j} f_W(x'_l)ᵀ ∈ R^{h_m×h_m}, for every pair of examples:
shape (n1, n2, h_m, h_m). For a Linear, Affine or Bias layer D_{W_j} f_W(x) = D^(j) (I ⊗ z̃ᵀ),
so its term is (z̃^(j-1) · z̃'^(j-1)) D^(j) D'^(j)ᵀ and the Jacobian J is never formed (the
``"structured"`` route); ``"naive"`` contracts the materialised J of ``Network.jacobians``.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_real_array
from .curvature import require_network, stacked_jacobian
from .layers import Affine, Bias, Layer, Linear

ROUTES = ("structured", "naive")


def _inputs(net, X, name: str) -> np.ndarray:
    X = as_real_array(X, f"ntk: {name} (rows z^(0) = x_i)", ndim=(2,),
                      hint=" Stack the inputs as rows; one input x is the batch x[None, :].")
    net(X)  # the network's own size checks, naming the layer
    return X


def _kernel(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A_i B_lᵀ for A (n1, h, r), B (n2, h, r), as one GEMM, laid out (n1, h, n2, h): entry
    [i, a, l, b] = (A_i B_lᵀ)[a, b]. ``ntk`` transposes to (n1, n2, h, h) once, at the end."""
    return np.tensordot(A, B, axes=([2], [2]))


def _prefixes(net, zs: list[np.ndarray]) -> list[np.ndarray]:
    """D^(j) for every example, shape (n, h_m, h_j), j = 1 … m (D^(m) = I; entry 0 is None).

    Through a Linear or Affine layer D^(j-1) = D^(j) W for the whole batch at once; through
    any other layer example by example, with its dense D_z.
    """
    n, h = zs[-1].shape
    D = [None] * len(zs)
    D[-1] = np.broadcast_to(np.eye(h), (n, h, h))
    for j in range(net.m, 1, -1):
        layer = net.layers[j - 1]
        if type(layer) in (Linear, Affine):
            D[j - 1] = D[j] @ layer.W
        else:
            D[j - 1] = np.stack([Di @ layer.D_z(z) for Di, z in zip(D[j], zs[j - 1], strict=True)])
    return D


def _lifted(layer: Layer, Z: np.ndarray) -> np.ndarray:
    """Rows z̃ with D_W f(z) = I_h ⊗ z̃ᵀ: z for Linear, (z, 1) for Affine, (1) for Bias."""
    if type(layer) is Linear:
        return Z
    if type(layer) is Affine:
        return np.column_stack([Z, np.ones(len(Z))])
    return np.ones((len(Z), 1))


def ntk(net, X1, X2=None, route: str = "structured") -> np.ndarray:
    """The empirical NTK Θ(x_i, x'_l) = Σ_j D_{W_j} f_W(x_i) D_{W_j} f_W(x'_l)ᵀ.

    Parameters
    ----------
    net : Network
    X1 : array_like, shape (n1, k)
    X2 : array_like, shape (n2, k), optional
        Defaults to X1 (then Θ[i, l] = Θ[l, i]ᵀ).
    route : {"structured", "naive"}
        ``"naive"`` contracts the materialised Jacobians J (n, h_m, d) from ``net.jacobians``.
        ``"structured"`` uses D_{W_j} f_W(x) = D^(j) (I ⊗ z̃ᵀ) for the Linear, Affine and
        Bias layers j: their term is (z̃^(j-1) · z̃'^(j-1)) D^(j) D'^(j)ᵀ, with z̃ = z
        (Linear), (z, 1) (Affine) or 1 (Bias), so J is never formed; other layers with
        parameters contract their blocks D^(j) D_{W_j} f_{W_j}(z^(j-1)). Both agree to rounding.

    Returns
    -------
    ndarray, shape (n1, n2, h_m, h_m)
        Entry [i, l] is Θ(x_i, x'_l) ∈ R^{h_m×h_m}.
    """
    require_network(net)
    if route not in ROUTES:
        raise ValueError(f"ntk: route must be one of {ROUTES}, got {route!r}.")
    X1 = _inputs(net, X1, "X1")
    X2 = X1 if X2 is None else _inputs(net, X2, "X2")
    if route == "naive":
        J1 = stacked_jacobian(net, X1)
        K = _kernel(J1, J1 if X2 is X1 else stacked_jacobian(net, X2))
        return np.ascontiguousarray(K.transpose(0, 2, 1, 3))
    sides = []
    for X in (X1,) if X2 is X1 else (X1, X2):
        zs = [X]
        for layer in net.layers:
            zs.append(layer(zs[-1]))
        sides.append((zs, _prefixes(net, zs)))
    (zs1, D1), (zs2, D2) = sides[0], sides[-1]
    h = zs1[-1].shape[1]
    K = np.zeros((len(X1), h, len(X2), h))
    for j, layer in enumerate(net.layers, 1):
        if not layer.n_params:
            continue
        if type(layer) in (Linear, Affine, Bias):
            S = _lifted(layer, zs1[j - 1]) @ _lifted(layer, zs2[j - 1]).T  # z̃_i · z̃'_l
            term = _kernel(D1[j], D2[j])
            term *= S[:, None, :, None]
            K += term
        else:
            blocks = [np.stack([Di @ layer.D_W(z) for Di, z in zip(D[j], zs[j - 1], strict=True)])
                      for zs, D in ((zs1, D1), (zs2, D2))]
            K += _kernel(*blocks)
    return np.ascontiguousarray(K.transpose(0, 2, 1, 3))
