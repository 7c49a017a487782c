"""Your own layer from three plain functions, ready for ``check_jacobians`` and ``Network``.

Write f and its two Jacobians for ONE example, in lecture 000's layout:

* ``forward(z, W)`` → f_W(z), shape (h,);
* ``D_z(z, W)`` → D_z f_W(z), shape (h, k): entry [i, a] = ∂f_i/∂z_a;
* ``D_W(z, W)`` → D_W f_W(z), shape (h, d): entry [i, p] = ∂f_i/∂w_p with w = W.ravel()
  (C order). Leave it out for a layer without parameters.

``W`` is the layer's params array (shape (0,) without parameters). ``custom_layer`` wraps the
three into a ``Layer``; batches are run one row at a time, so the functions never see a batch.
The other route — subclassing ``Layer`` and implementing ``_f``, ``_D_z`` and ``_D_W`` — is
described in docs/beyond.md.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._validate import as_real_array, positive_int
from .layers import Layer


class CustomLayer(Layer):
    """A layer made by ``custom_layer``; see there."""

    def __init__(self, forward: Callable, D_z: Callable, D_W: Callable | None, params,
                 name: str, in_size: int | None, out_size: int | None,
                 symbolic: Callable | None = None):
        if not isinstance(name, str):
            raise TypeError(f"custom_layer: name must be a string, got {name!r}.")
        in_size, out_size = (None if s is None else positive_int(s, f"custom_layer {name!r}: {w}")
                             for s, w in [(in_size, "in_size (k)"), (out_size, "out_size (h)")])
        for what, fn in [("forward", forward), ("D_z", D_z)]:
            if not callable(fn):
                raise TypeError(f"custom_layer {name!r}: {what} must be a function, got {fn!r}.")
        if params is not None and D_W is None:
            raise ValueError(f"custom_layer {name!r}: a layer with params needs D_W(z, W).")
        super().__init__(None if params is None else as_real_array(
            params, f"custom_layer {name!r}: params", ndim=(1, 2)))
        self._forward, self._jac_z, self._jac_W = forward, D_z, D_W
        self.name, self._in, self._out = name, in_size, out_size
        if symbolic is not None and not callable(symbolic):
            raise TypeError(f"custom_layer {name!r}: symbolic must be a function, "
                            f"got {symbolic!r}.")
        self.symbolic = symbolic  #: f(z, W) in sympy, for jnn.symbolic (None: not given)

    @property
    def in_size(self) -> int | None:
        return self._in

    def out_size(self, k):
        return self._out

    def describe(self) -> str:
        return f"custom layer {self.name!r}"

    def __repr__(self) -> str:
        return f"custom_layer({self.name!r}, params of shape {self._params.shape})"

    def _call(self, fn: Callable, what: str, z: np.ndarray, P: np.ndarray) -> np.ndarray:
        """Run one of the user's functions on copies, so it can never change our arrays; what
        it returns must be real numbers (strings or complex would fail later, unexplained)."""
        return as_real_array(fn(z.copy(), P.copy()),
                             f"{self.describe()}: what {what}(z, W) returned", ndim=None,
                             finite=False)

    def _one(self, P: np.ndarray, z: np.ndarray) -> np.ndarray:
        out = self._call(self._forward, "forward", z, P)
        if out.ndim != 1:
            raise ValueError(f"{self.describe()}: forward(z, W) must return a vector f(z) ∈ R^h, "
                             f"got shape {out.shape}.")
        return out

    def _f(self, P, Z):
        return self._one(P, Z) if Z.ndim == 1 else np.stack([self._one(P, z) for z in Z])

    def _jacobian(self, fn: Callable, what: str, z: np.ndarray, cols: int, layout: str):
        J = self._call(fn, what, z, self._params)
        h = self._one(self._params, z).shape[0]
        if J.shape != (h, cols):
            flip = " (transposed?)" if J.shape == (cols, h) else ""
            raise ValueError(f"{self.describe()}: {what}(z, W) returned shape {J.shape}{flip}; "
                             f"{what} f(z) must have shape ({h}, {cols}): {layout}.")
        return J

    def _D_z(self, z):
        return self._jacobian(self._jac_z, "D_z", z, z.shape[0], "entry [i, a] = ∂f_i/∂z_a")

    def _D_W(self, z):
        if self._jac_W is None:
            return np.zeros((self._one(self._params, z).shape[0], 0))
        return self._jacobian(self._jac_W, "D_W", z, self.n_params,
                              "entry [i, p] = ∂f_i/∂w_p, w = W.ravel()")


def custom_layer(forward: Callable, D_z: Callable, D_W: Callable | None = None, params=None, *,
                 name: str = "custom", in_size: int | None = None,
                 out_size: int | None = None, symbolic: Callable | None = None) -> Layer:
    """Make a layer from f and its Jacobians written for one example.

    Parameters
    ----------
    forward : callable (z, W) → array of shape (h,)
        f_W(z) for one input z of shape (k,).
    D_z : callable (z, W) → array of shape (h, k)
        D_z f_W(z): entry [i, a] = ∂f_i/∂z_a.
    D_W : callable (z, W) → array of shape (h, d), optional
        D_W f_W(z): entry [i, p] = ∂f_i/∂w_p with w = W.ravel() (C order). Needed when
        ``params`` is given.
    params : array_like, shape (d,) or (h_W, k_W), optional
        The starting W (copied). None for a layer without parameters.
    name : str
        Shown in messages and check reports.
    in_size, out_size : int, optional
        k and h, if fixed, so a Network can check sizes when it is built (unknown otherwise).
    symbolic : callable (z, W) → h sympy expressions, optional
        f_W(z) for ``jnn.symbolic``, with z a sympy column and W shaped like params; the
        symbolic trace differentiates it. Without it ``jnn.symbolic`` refuses the layer.

    Returns
    -------
    Layer
        Works with ``check_jacobians``, inside a ``Network``, in all gradient modes (the
        batched modes use your dense Jacobians example by example).

    Examples
    --------
    >>> import jacobian_nn as jnn
    >>> scale = custom_layer(lambda z, a: a * z, lambda z, a: np.diag(a),
    ...                      lambda z, a: np.diag(z), params=[2.0, 3.0], name="a ⊙ z")
    >>> scale(np.array([1.0, 1.0]))
    array([2., 3.])
    >>> jnn.check_jacobians(scale, [0.5, -1.0]).passed
    True
    """
    return CustomLayer(forward, D_z, D_W, params, name, in_size, out_size, symbolic)
