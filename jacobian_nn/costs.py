"""The brackets, counted: one product of Jacobians, bracketed from the output or from the input.

Lecture 000 writes the gradient of layer j, and the input Jacobian, as products of local
Jacobians J_j = D_z f_{W_j}(z^(j-1)) ∈ R^{h_j×h_{j-1}} and B_j = D_{W_j} f_{W_j}(z^(j-1)) ∈
R^{h_j×d_j}:

    ∇_{W_j}Lᵀ = ∇_ŷLᵀ · J_m ⋯ J_{j+1} · B_j,        D^(0) = D_x f_W(x) = J_m ⋯ J_1.

Matrix products are associative, so every bracketing gives the same numbers; what it costs
depends on the bracketing and on the sizes. ``costs`` counts it; ``input_jacobian_forward``
computes D^(0) bracketed from the input (forward accumulation), where the lecture's backward
recursion D^(j) = D^(j+1) J_{j+1} brackets it from the output.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass

import numpy as np

from .activations import Elementwise
from .layers import Bias
from .network import Network

TARGETS = ("gradient", "input_jacobian")


@dataclass(frozen=True)
class CostRow:
    """One bracketing: its name, the product as written, its cost and its largest matrix."""

    order: str
    bracketing: str
    multiply_adds: int
    largest: int
    formula: str


@dataclass(frozen=True)
class CostTable:
    """The cost of each bracketing of one product (``costs`` builds it).

    ``rows`` are ``CostRow``s, cheapest first; ``as_dicts()`` gives them as plain dicts. The
    table prints as text and renders as HTML in Jupyter.
    """

    target: str
    n: int
    sizes: tuple[int, ...]
    n_params: tuple[int, ...]
    structured: bool
    rows: tuple[CostRow, ...]

    def row(self, order: str) -> CostRow:
        """The row of one bracketing (``"reverse"``, ``"forward"``, …)."""
        for r in self.rows:
            if r.order == order:
                return r
        raise KeyError(f"no bracketing {order!r}; this table has "
                       f"{', '.join(r.order for r in self.rows)}.")

    @property
    def cheapest(self) -> str:
        """The order with the fewest multiply–adds."""
        return self.rows[0].order

    def as_dicts(self) -> list[dict]:
        """The rows as dicts (order, bracketing, multiply_adds, largest, formula)."""
        return [asdict(r) for r in self.rows]

    def _title(self) -> str:
        what = "∇_{W_j} L for every j" if self.target == "gradient" else "D^(0) = D_x f_W(x)"
        kind = "diagonal Jacobians as diagonals" if self.structured else "every Jacobian dense"
        return (f"Cost of {what}, n = {self.n}: widths h_0…h_m = {list(self.sizes)}, "
                f"d_1…d_m = {list(self.n_params)} ({kind})")

    def __repr__(self) -> str:
        head = ("order", "bracketing", "multiply–adds", "largest (floats)")
        cells = [head] + [(r.order, r.bracketing, f"{r.multiply_adds:,}", f"{r.largest:,}")
                          for r in self.rows]
        width = [max(len(c[i]) for c in cells) for i in range(4)]
        lines = ["  ".join(c[i].ljust(width[i]) if i < 2 else c[i].rjust(width[i])
                           for i in range(4)) for c in cells]
        return "\n".join([self._title(), *lines])

    def to_markdown(self) -> str:
        """The table as Markdown, with each row's formula."""
        out = [self._title(), "", "| order | bracketing | multiply–adds | largest (floats) | "
               "formula |", "| --- | --- | --- | --- | --- |"]
        out += [f"| {r.order} | {r.bracketing} | {r.multiply_adds:,} | {r.largest:,} | "
                f"{r.formula} |" for r in self.rows]
        return "\n".join(out)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def costs(network: Network, n: int = 1, target: str = "gradient", *, k: int | None = None,
          structured: bool = False) -> CostTable:
    """Multiply–adds and the largest intermediate matrix of each way to bracket the product.

    Sizes: h_0 = k is the input width, h_j that of z^(j), d_j the number of parameters of
    layer j, g = ∇_ŷL ∈ R^{h_m}; j_0 is the first layer with parameters. A product of an
    (r×h) and an (h×c) matrix counts r·h·c multiply–adds. With ``structured=True`` a diagonal
    Jacobian (an element-wise layer's D_z = diag(φ'(z)), a Bias's D_z = D_b = I) counts as the
    scaling it is: r·h for X·diag, h·c for diag·Y. A nested Network, Concat or Residual counts as
    one layer with dense Jacobians. Every count and size is per example, times n.

    ``target="gradient"`` (every ∇_{W_j} L):

    * ``lecture`` — ∇_ŷLᵀ (D^(j) B_j): D^(m−1) = J_m, D^(j) = D^(j+1) J_{j+1} costs h_m·h_{j+1}·h_j
      for j = m−2 … j_0; D_{W_j} f_W = D^(j) B_j costs h_m·h_j·d_j (free for j = m, D^(m) = I);
      gᵀ D_{W_j} f_W costs h_m·d_j. Largest: D^(j) (h_m·h_j) or D_{W_j} f_W (h_m·d_j).
    * ``jacobian`` — (∇_ŷLᵀ D^(j)) B_j: the same D^(j); gᵀ D^(j) costs h_m·h_j (j < m), then
      (gᵀ D^(j)) B_j costs h_j·d_j. Largest: D^(j), h_m·h_j.
    * ``reverse`` — ∇_ŷLᵀ applied first: rows r_m = gᵀ, r_{j−1} = r_j J_j costs h_j·h_{j−1}
      (j = m … j_0 + 1), and r_j B_j costs h_j·d_j. Largest: a row, h_j (or a gradient, d_j).
    * ``forward`` — from the input: T_j = ∂z^(j)/∂(w_1, …, w_j) ∈ R^{h_j×P_j}, P_j = d_1 + … +
      d_j, T_j = [J_j T_{j−1} | B_j] costs h_j·h_{j−1}·P_{j−1}; then gᵀ T_m costs h_m·P_m.
      Largest: h_j·P_j.

    ``target="input_jacobian"`` (D^(0)):

    * ``output`` — the lecture's D^(j) = D^(j+1) J_{j+1} down to j = 0 (one vector–Jacobian
      product per output): Σ_{j=0}^{m−2} h_m·h_{j+1}·h_j. Largest h_m·h_j.
    * ``forward`` — F^(1) = J_1, F^(j) = J_j F^(j−1) (one Jacobian–vector product per input):
      Σ_{j=2}^{m} h_j·h_{j−1}·h_0. Largest h_j·h_0.

    Parameters
    ----------
    network : Network
    n : int
        Examples; every count is n times one example's.
    target : {"gradient", "input_jacobian"}
    k : int, optional
        The input width, when the first layer does not fix it (an element-wise layer).
    structured : bool
        Count diagonal Jacobians as diagonals (see above) instead of dense.

    Returns
    -------
    CostTable

    Examples
    --------
    >>> import jacobian_nn as jnn
    >>> net = jnn.Network([jnn.Linear(np.ones((3, 4))), jnn.Tanh(), jnn.Linear(np.ones((2, 3)))])
    >>> costs(net, target="input_jacobian").row("forward").multiply_adds   # 3·3·4 + 2·3·4
    60
    """
    if not isinstance(network, Network):
        raise TypeError(f"costs takes a jacobian_nn Network, got {type(network).__name__}.")
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}.")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n (the number of examples) must be a positive integer, got {n!r}.")
    layers = network.layers
    sizes = [network.in_size if k is None else int(k)]
    if sizes[0] is None:
        raise ValueError("the first layer takes inputs of any width; pass k = the input width.")
    for j, layer in enumerate(layers, 1):
        sizes.append(layer.out_size(sizes[-1]))
        if sizes[-1] is None:
            raise ValueError(f"layer {j} ({layer.describe()}) does not say its output width.")
    d = [0] + [layer.n_params for layer in layers]
    diag_z = [False] + [structured and isinstance(L, Elementwise | Bias) for L in layers]
    diag_W = [False] + [structured and isinstance(L, Bias) for L in layers]
    build = _gradient_rows if target == "gradient" else _input_jacobian_rows
    rows = [CostRow(o, b, n * c, n * s, f) for o, b, c, s, f in build(sizes, d, diag_z, diag_W)]
    return CostTable(target, int(n), tuple(sizes), tuple(d[1:]), structured,
                     tuple(sorted(rows, key=lambda r: r.multiply_adds)))


def _left(r: int, h: int, c: int, diagonal: bool) -> int:
    """X (r×h) · J (h×c): r·h·c, or r·h when J is diagonal."""
    return r * h if diagonal else r * h * c


def _right(h: int, k: int, c: int, diagonal: bool) -> int:
    """J (h×k) · Y (k×c): h·k·c, or h·c when J is diagonal."""
    return h * c if diagonal else h * k * c


def _gradient_rows(h, d, diag_z, diag_W):
    m = len(h) - 1
    with_params = [j for j in range(1, m + 1) if d[j]]
    if not with_params:
        raise ValueError("the network has no parameters: there is no gradient to count.")
    j0 = with_params[0]
    D_chain = sum(_left(h[m], h[j + 1], h[j], diag_z[j + 1]) for j in range(j0, m - 1))
    D_sizes = [h[m] * h[j] for j in range(j0, m)]
    lecture = D_chain + sum(_left(h[m], h[j], d[j], diag_W[j]) + h[m] * d[j]
                            for j in with_params if j < m) + (h[m] * d[m] if d[m] else 0)
    jacobian = D_chain + sum((h[m] * h[j] if j < m else 0) + _left(1, h[j], d[j], diag_W[j])
                             for j in with_params)
    reverse = sum(_left(1, h[j], h[j - 1], diag_z[j]) for j in range(j0 + 1, m + 1)) + \
        sum(_left(1, h[j], d[j], diag_W[j]) for j in with_params)
    P = np.cumsum(d).tolist()
    forward = sum(_right(h[j], h[j - 1], P[j - 1], diag_z[j]) for j in range(2, m + 1)) + \
        h[m] * P[m]
    grads = [d[j] for j in with_params]
    return [
        ("lecture", "∇_ŷLᵀ (D^(j) D_{W_j} f)", lecture,
         max(D_sizes + [h[m] * d[j] for j in with_params] + grads),
         "Σ_j h_m·h_{j+1}·h_j + Σ_{j<m} h_m·h_j·d_j + Σ_j h_m·d_j"),
        ("jacobian", "(∇_ŷLᵀ D^(j)) D_{W_j} f", jacobian, max(D_sizes + grads),
         "Σ_j h_m·h_{j+1}·h_j + Σ_{j<m} h_m·h_j + Σ_j h_j·d_j"),
        ("reverse", "((∇_ŷLᵀ D_z f_m) D_z f_{m−1}) ⋯ D_{W_j} f", reverse,
         max([h[j] for j in range(j0, m + 1)] + grads),
         "Σ_j h_j·h_{j−1} + Σ_j h_j·d_j"),
        ("forward", "∇_ŷLᵀ (D_z f_m ⋯ (D_z f_2 D_{W_1} f))", forward,
         max(h[j] * P[j] for j in range(1, m + 1)),
         "Σ_j h_j·h_{j−1}·(d_1 + … + d_{j−1}) + h_m·d"),
    ]


def _input_jacobian_rows(h, d, diag_z, diag_W):
    m = len(h) - 1
    output = sum(_left(h[m], h[j + 1], h[j], diag_z[j + 1]) for j in range(0, m - 1))
    forward = sum(_right(h[j], h[j - 1], h[0], diag_z[j]) for j in range(2, m + 1))
    return [
        ("output", "((D_z f_m D_z f_{m−1}) ⋯) D_z f_1", output,
         max(h[m] * h[j] for j in range(m)), "Σ_{j=0}^{m−2} h_m·h_{j+1}·h_j"),
        ("forward", "D_z f_m (⋯ (D_z f_2 D_z f_1))", forward,
         max(h[j] * h[0] for j in range(1, m + 1)), "Σ_{j=2}^{m} h_j·h_{j−1}·h_0"),
    ]


def input_jacobian_forward(network: Network, x) -> np.ndarray:
    """D^(0) = D_x f_W(x) ∈ R^{h_m×k} bracketed from the input (forward accumulation).

    F^(1) = D_z f_{W_1}(z^(0)), F^(j) = D_z f_{W_j}(z^(j-1)) F^(j-1), so D^(0) = F^(m); the
    lecture's recursion brackets the same product from the output. Entry [i, a] = ∂ŷ_i/∂x_a.
    An element-wise layer's diag(φ'(z)) scales the rows of F instead of being built; a nested
    Network is bracketed from its input too.

    Parameters
    ----------
    network : Network
    x : array_like, shape (k,)

    Returns
    -------
    ndarray, shape (h_m, k)

    Examples
    --------
    >>> import jacobian_nn as jnn
    >>> net = jnn.Network([jnn.Linear([[1.0, -3.0], [0.2, 1.0]]), jnn.Tanh(),
    ...                    jnn.Linear([[1.0, -1.0]])])
    >>> input_jacobian_forward(net, [1.0, 0.1]).round(4)
    array([[ 0.4517, -2.8194]])
    """
    if not isinstance(network, Network):
        raise TypeError(f"input_jacobian_forward takes a jacobian_nn Network, "
                        f"got {type(network).__name__}.")
    return network.D_z(x, order="forward")
