"""Unit visualisation by backpropagation to the input (lecture 002).

To see what unit ``u`` of layer j responds to, climb its value in input space:

    x^(0) ← x^(0) + η ∂(z_u^(j) − λ‖x^(0)‖²)/∂x^(0)
          = x^(0) + η (row u of D_x z^(j) − 2λ x^(0)),

where D_x z^(j) is the input Jacobian D^(0) of the first j layers (for j = m, ``net.D_z(x)``),
an (h_j, k) matrix: entry [i, a] = ∂z_i^(j)/∂x_a. The penalty −λ‖x‖² (lecture 002's λR(x)
with R(x) = −‖x‖²) keeps x bounded. Nothing here needs a plotting package.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import as_real_array, nonnegative_float, positive_float, positive_int
from .layers import Layer
from .network import Network


@dataclass
class UnitVisualization:
    """The ascent path of ``maximize_unit``.

    Attributes
    ----------
    xs : ndarray, shape (steps + 1, k)
        x^(0) before each step; ``xs[0]`` is the start, ``xs[-1]`` the result.
    activations : ndarray, shape (steps + 1,)
        z_u^(j) at each ``xs[t]``.
    objectives : ndarray, shape (steps + 1,)
        z_u^(j) − λ‖xs[t]‖², the function being climbed.
    """

    xs: np.ndarray
    activations: np.ndarray
    objectives: np.ndarray

    @property
    def x(self) -> np.ndarray:
        """The final input, shape (k,)."""
        return self.xs[-1]


def maximize_unit(net: Layer, unit: int, x0, lr: float, steps: int, l2: float = 0.0,
                  layer: int | None = None) -> UnitVisualization:
    """Gradient ascent on the input to maximise one unit, x ← x + η (∂z_u^(j)/∂x − 2λx).

    Parameters
    ----------
    net : Network or Layer
        The (trained) network; it is not modified.
    unit : int
        u, the index of the unit within z^(j) (0-based).
    x0 : array_like, shape (k,)
        Starting input.
    lr : float
        Step size η > 0.
    steps : int
        Number of ascent steps.
    l2 : float
        λ ≥ 0 of the penalty −λ‖x‖².
    layer : int, optional
        j in 1 … m: climb z_u^(j) of the first j layers of a Network (a unit "in the middle of
        the network"); default the output z^(m).

    Returns
    -------
    UnitVisualization
        The path ``xs`` (steps + 1, k), ``activations`` and ``objectives`` (steps + 1,).

    Examples
    --------
    >>> import jacobian_nn as jnn
    >>> net = jnn.Network([jnn.Linear([[1.0, -2.0]])])
    >>> maximize_unit(net, 0, [0.0, 0.0], lr=0.1, steps=200, l2=0.5).x.round(6)  # w / (2λ)
    array([ 1., -2.])
    """
    if not isinstance(net, Layer):
        raise TypeError(f"maximize_unit needs a jacobian_nn Network or layer, "
                        f"got {type(net).__name__}.")
    f = net
    if layer is not None:
        if not isinstance(net, Network):
            raise TypeError("maximize_unit: layer=j needs a Network.")
        if isinstance(layer, bool) or not isinstance(layer, int | np.integer) \
                or not 1 <= layer <= net.m:
            raise ValueError(f"maximize_unit: layer must be j in 1 … {net.m}, got {layer!r}.")
        f = Network(net.layers[:layer])  # z^(j) as a function of x; shares the layers
    lr = positive_float(lr, "maximize_unit: lr (η)")
    steps = positive_int(steps, "maximize_unit: steps")
    lam = nonnegative_float(l2, "maximize_unit: l2 (λ)")
    x = as_real_array(x0, "maximize_unit: x0", ndim=(1,)).copy()
    h = f(x).shape[0]
    if isinstance(unit, bool) or not isinstance(unit, int | np.integer) or not 0 <= unit < h:
        where = f"z^({layer})" if layer is not None else "the output"
        raise ValueError(f"maximize_unit: unit must index {where} ∈ R^{h} (0 … {h - 1}), "
                         f"got {unit!r}.")

    xs, acts = [x], [float(f(x)[unit])]
    for t in range(1, steps + 1):
        grad = f.D_z(x)[unit]  # row u of D^(0): ∂z_u^(j)/∂x^(0)
        with np.errstate(over="ignore", invalid="ignore"):
            x = x + lr * (grad - 2.0 * lam * x)
        if not np.all(np.isfinite(x)):
            raise ValueError(f"maximize_unit: the ascent diverged at step {t} (x became "
                             f"non-finite); try a smaller lr than {lr:g} or a larger l2.")
        xs.append(x)
        acts.append(float(f(x)[unit]))
    xs_arr, acts_arr = np.array(xs), np.array(acts)
    return UnitVisualization(xs_arr, acts_arr, acts_arr - lam * np.sum(xs_arr ** 2, axis=1))
