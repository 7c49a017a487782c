"""One example's Hessian ∇²_w L, block by block under lecture names, rendered like a trace.

For layers j and j' with parameters, the block (j, j') of shape (d_j, d_j') has entry
[p, q] = ∂²L/∂w_{j,p}∂w_{j',q} and is the sum of

    the GGN block         D_{W_j} f_W(x)ᵀ ∇²_ŷL D_{W_j'} f_W(x)
    the curvature block   Σ_a (∇_ŷL)_a ∇²_{W_j W_j'} f_a(x)

(see ``jacobian_nn.curvature``). Block (j', j) is the transpose of block (j, j').
"""

from __future__ import annotations

import numpy as np

from .curvature_rules import require_network, second_order_chain
from .display import Rendering, matrix_to_latex, show_matrix
from .losses import Loss


def _frozen(a) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.flags.writeable = False
    return a


class HessianTrace:
    """∇²_w L(f_W(x), y) for one example (x, y), split into blocks per layer pair (j, j').

    ``ggn(j, j2)``, ``curvature(j, j2)`` and ``hessian(j, j2)`` give block (j, j2) of the GGN
    term, the curvature term and their sum (lecture indices j, j2 = 1 … m; a layer without
    parameters gives an empty block); without arguments, the whole (d, d) matrix. Also kept:
    ``loss``, ``grad_yhat`` (∇_ŷL), ``loss_hessian`` (∇²_ŷL), ``D_W(j)`` and ``dL_dz(j)``
    (the weight ∇_{z^(j)}L = D^(j)ᵀ ∇_ŷL of layer j's second derivatives). Arrays are read-only.

    Examples
    --------
    >>> import jacobian_nn as jnn
    >>> ex = jnn.examples.tanh_worked_example()
    >>> tr = HessianTrace(ex.network, ex.x, ex.y, ex.loss)
    >>> tr.hessian(3, 3).round(4)     # ∇²_{W_3 W_3} L = z^(2) z^(2)ᵀ (f_3 is linear, L = ½ r²)
    array([[0.3653, 0.1761],
           [0.1761, 0.0849]])
    """

    def __init__(self, network, x, y, loss: Loss):
        require_network(network, "HessianTrace")
        tr = network.backprop(x, y, loss)  # checks x, y and the loss; first-order quantities
        self.network, self.m, self.loss_fn = network, network.m, loss
        self.loss = tr.loss  #: L(f_W(x), y)
        self.x, self.y, self.yhat, self.grad_yhat = tr.z(0), tr.y, tr.yhat, tr.grad_yhat
        self.loss_hessian = _frozen(loss.hessian(tr.yhat, tr.y))  #: ∇²_ŷ L, (h_m, h_m)
        self._D_W = [None] + [tr.D_W(j) for j in range(1, self.m + 1)]
        self._dL_dz = [tr.dL_dz(j) for j in range(self.m + 1)]
        J, R = second_order_chain(network, np.array(tr.z(0)), np.array(tr.grad_yhat))
        self._G = _frozen(J.T @ self.loss_hessian @ J)
        self._R = _frozen(R)
        self._H = _frozen(self._G + self._R)
        self._cuts = np.cumsum([0] + [layer.n_params for layer in network.layers])

    def _j(self, j) -> int:
        if isinstance(j, bool) or not isinstance(j, int | np.integer) or not 1 <= j <= self.m:
            raise IndexError(f"j must be an integer in 1..{self.m} (m = {self.m}), got {j!r}.")
        return int(j)

    def _block(self, A: np.ndarray, j, j2) -> np.ndarray:
        if j is None and j2 is None:
            return A
        if j is None or j2 is None:
            raise TypeError("give both layer indices (j, j2) of a block, or neither for all.")
        j, j2 = self._j(j), self._j(j2)
        c = self._cuts
        return A[c[j - 1]:c[j], c[j2 - 1]:c[j2]]

    def ggn(self, j: int | None = None, j2: int | None = None) -> np.ndarray:
        """D_{W_j} f_Wᵀ ∇²_ŷL D_{W_j2} f_W, shape (d_j, d_j2); the whole Jᵀ ∇²_ŷL J without j."""
        return self._block(self._G, j, j2)

    def curvature(self, j: int | None = None, j2: int | None = None) -> np.ndarray:
        """Σ_a (∇_ŷL)_a ∇²_{W_j W_j2} f_a, shape (d_j, d_j2); the whole (d, d) without j."""
        return self._block(self._R, j, j2)

    def hessian(self, j: int | None = None, j2: int | None = None) -> np.ndarray:
        """∇²_{W_j W_j2} L = ggn(j, j2) + curvature(j, j2); the whole ∇²_w L without j."""
        return self._block(self._H, j, j2)

    def D_W(self, j: int) -> np.ndarray:
        """D_{W_j} f_W(x), shape (h_m, d_j)."""
        return self._D_W[self._j(j)]

    def dL_dz(self, j: int) -> np.ndarray:
        """∇_{z^(j)} L = D^(j)ᵀ ∇_ŷL, shape (h_j,), j = 0 … m."""
        if isinstance(j, int | np.integer) and not isinstance(j, bool) and j == 0:
            return self._dL_dz[0]
        return self._dL_dz[self._j(j)]

    def _pairs(self) -> list[tuple[int, int]]:
        js = [j for j, layer in enumerate(self.network.layers, 1) if layer.n_params]
        return [(j, j2) for j in js for j2 in js if j <= j2]

    def _names(self, j: int, j2: int, latex: bool) -> list[tuple[str, np.ndarray]]:
        if latex:
            names = [rf"D_{{W_{j}}} f_W^\top \nabla^2_{{\hat y}} L \, D_{{W_{j2}}} f_W",
                     rf"\sum_a (\nabla_{{\hat y}} L)_a \nabla^2_{{W_{j} W_{j2}}} f_a",
                     rf"\nabla^2_{{W_{j} W_{j2}}} L"]
        else:
            names = [f"D_{{W_{j}}} f_Wᵀ ∇²_ŷL D_{{W_{j2}}} f_W",
                     f"Σ_a (∇_ŷL)_a ∇²_{{W_{j} W_{j2}}} f_a",
                     f"∇²_{{W_{j} W_{j2}}} L"]
        blocks = [self.ggn(j, j2), self.curvature(j, j2), self.hessian(j, j2)]
        return list(zip(names, blocks, strict=True))

    def to_text(self, decimals: int = 4, full: bool = False) -> str:
        """The trace as plain text: ŷ, L, ∇_ŷL, ∇²_ŷL, the weights ∇_{z^(j)}L, then every block;
        a large block by its corners and largest entries unless ``full=True``."""
        def shown(name, A):
            text = show_matrix(A, name, decimals, full=full).text
            return ["  " + line for line in text.split("\n")]

        out = [f"Second order for one example through m = {self.m} layers, "
               f"d = {self.network.n_params} parameters:",
               "  ∇²_w L = D_W f_Wᵀ ∇²_ŷL D_W f_W + Σ_a (∇_ŷL)_a ∇²_w f_a"]
        out += [f"  f_{j}: {layer!r}" for j, layer in enumerate(self.network.layers, 1)]
        out += [""] + shown(f"ŷ = z^({self.m})", self.yhat) + shown("y", self.y)
        out += [f"  L(ŷ, y) = {self.loss:.{decimals}f}"]
        out += shown("∇_ŷ L", self.grad_yhat) + shown("∇²_ŷ L", self.loss_hessian)
        out += ["", "Weights of each layer's second derivatives: ∇_{z^(j)} L = D^(j)ᵀ ∇_ŷ L"]
        for j in range(1, self.m + 1):
            out += shown(f"∇_{{z^({j})}} L", self.dL_dz(j))
        for j, j2 in self._pairs():
            out += ["", f"Block ({j}, {j2}): entry [p, q] = ∂²L/∂w_{{{j},p}}∂w_{{{j2},q}}"]
            for name, A in self._names(j, j2, latex=False):
                out += shown(name, A)
        return "\n".join(out)

    def to_latex(self, decimals: int = 4, full: bool = False) -> str:
        """The blocks as one LaTeX ``aligned`` block (``$$ … $$``)."""
        def row(name, A):
            return f"{name} &= {matrix_to_latex(A, decimals, full)}"

        rows = [row(r"\nabla_{\hat y} L", self.grad_yhat),
                row(r"\nabla^2_{\hat y} L", self.loss_hessian)]
        rows += [row(f"\\nabla_{{z^{{({j})}}}} L", self.dL_dz(j)) for j in range(1, self.m + 1)]
        for j, j2 in self._pairs():
            rows += [row(name, A) for name, A in self._names(j, j2, latex=True)]
        return "$$\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}$$"

    def display(self, decimals: int = 4, full: bool = False) -> Rendering:
        """Text and LaTeX together, as a ``display.Rendering`` (typeset in Jupyter)."""
        return Rendering(self.to_text(decimals, full), self.to_latex(decimals, full))

    def _repr_latex_(self) -> str:
        return self.to_latex()

    def _repr_pretty_(self, p, cycle: bool) -> None:
        """IPython's text/plain: the text form (``repr`` stays one line)."""
        p.text(self.to_text())

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return (f"<HessianTrace of one example through m = {self.m} layers, "
                f"d = {self.network.n_params}, L = {self.loss:.6g}>")
