"""The usual slips of a hand calculation, each recomputed from a trace's own numbers.

``Recomputed`` redoes lecture 000's quantities the way a person might have: keeping d
decimals of every earlier quantity, taking φ' of an element-wise layer at its output, or
multiplying a product of the chain in reverse. ``candidates`` lists, for one quantity, every
slip that can affect it with the numbers it gives; ``handcheck.check`` tries them in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from .activations import Elementwise
from .layers import Affine, Linear


def reversed_product(A: np.ndarray, B: np.ndarray) -> np.ndarray | None:
    """B · A in place of the lecture's A · B, where that has A · B's shape (a row read as a
    column); None where the shapes do not allow it."""
    if A.ndim == 1:  # a row ∂L/∂z^(i+1)
        return B @ A if B.shape[0] == B.shape[1] == A.shape[0] else None
    if A.shape[0] == 1 and B.shape[0] == B.shape[1]:  # D^(i+1) of a scalar output is a row
        return (B @ A[0])[None, :]
    if A.shape[0] == A.shape[1] == B.shape[0] == B.shape[1]:
        return B @ A
    return None


class Recomputed:
    """Every trace quantity recomputed the way a person might: keeping ``d`` decimals of each
    earlier quantity (None: exact), taking φ' at the output for the element-wise layers in
    ``at_output``, and multiplying in reverse order at the steps in ``reversed_steps`` (step i
    is D^(i) = D^(i+1) D_z f_{W_{i+1}}(z^(i))) and, with ``reversed_W``, in
    D_{W_j} f_W(x) = D^(j) D_{W_j} f_{W_j}(z^(j-1)).

    Variants of one check pass one ``shared`` dict: what no slip changes (the forward pass,
    D_{W_j} f_{W_j} and the loss at d decimals) is computed once for all of them.
    """

    def __init__(self, tr, d: int | None = None, at_output=(), reversed_steps=(),
                 reversed_W: bool = False, shared: dict | None = None):
        self.tr, self.d, self.reversed_W = tr, d, reversed_W
        self.at_output, self.reversed_steps = frozenset(at_output), frozenset(reversed_steps)
        self.layers = tr.network.layers
        self._memo: dict = {}
        self._shared = {} if shared is None else shared

    def _r(self, a):
        return a if self.d is None else np.round(a, self.d)

    def get(self, name: str, j: int | None) -> np.ndarray:
        unchanged = name in ("z", "local_D_W", "loss") or (
            name == "local_D_z" and j not in self.at_output)
        memo, key = (self._shared, (self.d, name, j)) if unchanged else (self._memo, (name, j))
        if key not in memo:
            memo[key] = np.asarray(getattr(self, "_" + name)(j), dtype=np.float64)
        return memo[key]

    def _z(self, j):
        if self.d is None or j == 0:
            return self.tr.z(j)
        return self.layers[j - 1](self._r(self.get("z", j - 1)))  # z^(j) = f_{W_j}(z^(j-1))

    def _local_D_z(self, j):
        at_output = j in self.at_output
        if self.d is None and not at_output:
            return self.tr.local_D_z(j)
        return self.layers[j - 1].D_z(self._r(self.get("z", j if at_output else j - 1)))

    def _local_D_W(self, j):
        if self.d is None:
            return self.tr.local_D_W(j)
        return self.layers[j - 1].D_W(self._r(self.get("z", j - 1)))

    def _loss(self, _):
        if self.d is None:
            return self.tr.loss
        return self.tr.loss_fn(self._r(self.get("z", self.tr.m)), self.tr.y)

    def _product(self, name, j):
        """D^(j) = D^(j+1) D_z f_{W_{j+1}}(z^(j)), or the row ∂L/∂z^(j) the same way."""
        A, B = self._r(self.get(name, j + 1)), self._r(self.get("local_D_z", j + 1))
        swapped = reversed_product(A, B) if j in self.reversed_steps else None
        return A @ B if swapped is None else swapped

    def _D(self, j):
        if j == self.tr.m:
            return np.eye(self.tr.z(j).shape[0])  # D^(m) = I
        return self._product("D", j)

    def _dL_dz(self, j):
        if j == self.tr.m:  # ∇_ŷ L(ŷ, y)
            if self.d is None:
                return self.tr.grad_yhat
            return self.tr.loss_fn.grad(self._r(self.get("z", j)), self.tr.y)
        return self._product("dL_dz", j)

    def _rounded_local_D_W(self, j):
        """D_{W_j} f_{W_j}(z^(j-1)) at d decimals, rounded once for every variant (it is the
        largest matrix of the trace: h_j × h_j·k for a linear layer)."""
        key = (self.d, "rounded local_D_W", j)
        if key not in self._shared:
            self._shared[key] = self._r(self.get("local_D_W", j))
        return self._shared[key]

    def _times_local_D_W(self, A, j):
        B = self._rounded_local_D_W(j)
        swapped = reversed_product(A, B) if self.reversed_W else None
        return A @ B if swapped is None else swapped

    def _D_W(self, j):  # D_{W_j} f_W(x) = D^(j) D_{W_j} f_{W_j}(z^(j-1))
        return self._times_local_D_W(self._r(self.get("D", j)), j)

    def _grad(self, j):  # ∇_{W_j}Lᵀ = (∇_ŷLᵀ D^(j)) D_{W_j} f_{W_j}(z^(j-1)), shaped like W_j
        row = self._times_local_D_W(self._r(self.get("dL_dz", j)), j)
        return row.reshape(self.layers[j - 1].params.shape)


def safely(compute: Callable[[], np.ndarray]) -> np.ndarray | None:
    """A slip's value, or None where it cannot be computed (rounded numbers outside the loss's
    domain, say): such a slip explains nothing."""
    with np.errstate(all="ignore"):
        try:
            return compute()
        except (ValueError, ZeroDivisionError, FloatingPointError):
            return None


def candidates(tr, name: str, j: int | None, d: int | None,
           shared: dict) -> Iterator[tuple[str, str, Callable[[], np.ndarray]]]:
    """(slip, what it is, how to compute the value it gives) for every slip that can affect
    quantity (name, j), with ``d`` decimals kept (None: exactly), in the order they are tried."""
    def variant(at_output=(), reversed_steps=(), reversed_W=False):
        return lambda: Recomputed(tr, d, at_output, reversed_steps, reversed_W,
                                shared).get(name, j)

    value = safely(variant())
    if value is None:
        return
    if value.ndim == 2 and value.shape[0] == value.shape[1]:
        yield "transposed", "your matrix is the transpose of the right one", lambda: value.T
    layer = tr.network.layers[j - 1] if name == "z" and j else None
    if isinstance(layer, Linear | Affine) and layer.W.shape[0] == layer.W.shape[1]:
        z_in = Recomputed(tr, d, shared=shared).get("z", j - 1)
        z_in = z_in if d is None else np.round(z_in, d)
        bias = layer.b if isinstance(layer, Affine) else 0.0
        yield ("transposed", f"you computed W_{j}ᵀ z^({j - 1}) instead of W_{j} z^({j - 1})",
               lambda: layer.W.T @ z_in + bias)
    yield "sign", "every entry has the opposite sign", lambda: -value
    if name in ("D_W", "grad"):
        yield ("reversed_order", f"you multiplied D_{{W_{j}}} f_{{W_{j}}}(z^({j - 1})) · D^({j}) "
               f"instead of D^({j}) · D_{{W_{j}}} f_{{W_{j}}}(z^({j - 1}))",
               variant(reversed_W=True))
    if name in ("D", "dL_dz", "D_W", "grad"):
        steps = range(j, tr.m)
        for i in steps:
            what = (f"at D^({i}) = D^({i + 1}) D_z f_{{W_{i + 1}}}(z^({i})) you multiplied in the "
                    f"reverse order, D_z f_{{W_{i + 1}}}(z^({i})) · D^({i + 1})")
            if name in ("dL_dz", "grad"):
                what = (f"at ∂L/∂z^({i}) you multiplied in the reverse order, "
                        f"D_z f_{{W_{i + 1}}}(z^({i})) · ∂L/∂z^({i + 1}) "
                        "(the row read as a column)")
            yield "reversed_order", what, variant(reversed_steps={i})
        if len(steps) > 1:
            yield ("reversed_order", "you multiplied every product of the chain in the reverse "
                   "order", variant(reversed_steps=steps))
    elementwise = [i for i in affected_layers(tr, name, j)
                   if isinstance(tr.network.layers[i - 1], Elementwise)]
    for i in elementwise:
        yield ("derivative_at_output", f"you took φ' of layer {i} "
               f"({type(tr.network.layers[i - 1]).__name__}) at its output z^({i}) instead of "
               f"its input z^({i - 1})", variant(at_output={i}))
    if len(elementwise) > 1:
        yield ("derivative_at_output", "you took φ' of every element-wise layer at its output "
               "instead of its input", variant(at_output=elementwise))


def affected_layers(tr, name: str, j: int | None) -> list[int]:
    """The layers whose local Jacobian D_z f_{W_i} enters quantity (name, j)."""
    if name == "local_D_z":
        return [j]
    if name in ("D", "dL_dz", "D_W", "grad"):
        return list(range(j + 1, tr.m + 1))
    return []
