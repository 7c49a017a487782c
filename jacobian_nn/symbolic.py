"""Lecture 000's backpropagation in symbols (sympy): every matrix of the trace as a formula.

``st = jnn.symbolic.backprop(network, x, y, loss, weights="symbols")`` runs the lecture's
algorithm on sympy matrices and keeps what ``Network.backprop`` keeps, under the same names:
``st.z(j)``, ``st.D(j)``, ``st.local_D_z(j)``, ``st.local_D_W(j)``, ``st.D_W(j)``,
``st.grad(j)``, ``st.dL_dz(j)``, ``st.loss``. ``st.latex("D(1)")`` typesets one quantity.

This module needs the optional extra ``[symbolic]`` (``pip install -e ".[symbolic]"``); the
core never imports it: ``jnn.symbolic`` loads it on first use.

Conventions, beyond those of the package:

* Symbols. Entry [a, b] of layer j's W is the real symbol ``W_j[a,b]``, typeset (W_j)_{a,b};
  indices are 0-based like numpy's (``W_1[0,1]`` is ``net.layers[0].W[0, 1]``). A bias entry is
  ``b_j[a]``, a Conv1D kernel tap ``w_j[m]``; in a nested Network, Concat or Residual the layer
  index is a path: ``W_3.1[0,0]`` is in layer 1 of the Network that is layer 3, ``W_2.a[0,0]``
  in f_a of the Concat that is layer 2 (a Residual's g keeps the Residual's index). x and y may
  be ``"symbols"``, giving ``x[a]`` and ``y[a]`` (typeset x_a, y_a).
* Exact numbers. ints, ``fractions.Fraction`` and sympy Rationals are kept exactly. A float —
  the network's float64 weights with ``weights="values"``, LeakyReLU's a, Swish's β, or a float
  in x or y — becomes the shortest decimal that rounds to it, ``sympy.Rational(repr(v))``: 0.2
  is 1/5 (what was typed), not the binary fraction float64 stores.
* Shapes. Vectors are sympy columns: z(j) is (h_j, 1), ``grad_yhat`` (h_m, 1); the rows
  ``dL_dz(j)`` are (1, h_j); ``grad(j)`` is shaped like layer j's params (a 1-D params array
  as a column). ``numeric`` gives float64 arrays shaped exactly as ``Network.backprop``'s.
* Closed forms. Each Jacobian is written as the lecture writes it: D_z f = diag(1 − tanh² z),
  diag(σ(z)(1 − σ(z))), W, I_h ⊗ zᵀ, diag(s) − s sᵀ …, not by differentiating the nested
  forward expression. ReLU's derivative is 1[z ≥ 0] (the package's φ'(0) = 1).
* MaxPool1D picks the maximum of each window, as the numeric layer does (first maximum on
  ties). With symbols the maximum is often undecidable (is x[0] > x[1]?); then it refuses with
  a clear error instead of building max(…) whose derivative depends on the unknown order.
* A layer of your own needs a symbolic form: ``custom_layer(..., symbolic=f)`` or a method
  ``symbolic(self, z, W)`` on a Layer subclass, returning the entries of f(z) as sympy
  expressions of z (a column) and W (shaped like params). Its Jacobians are then sympy's
  derivatives of that expression. Anything else is refused with a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .losses import Loss
from .network import Network
from .symbolic_eval import NumericTrace, as_mpf
from .symbolic_forms import TRANSCENDENTAL, chain, exact, exact_vector, vector
from .symbolic_losses import loss_form

__all__ = ["Exactness", "Latex", "NumericTrace", "SymbolicTrace", "backprop", "vector"]

WEIGHTS = ("symbols", "values")
_QUANTITY = re.compile(r"(z|D|local_D_z|local_D_W|D_W|grad|dL_dz)\((\d+)\)")
_KINDS = ("exact", "symbolic", "transcendental")


def backprop(network: Network, x, y, loss: Loss, weights: str = "symbols") -> SymbolicTrace:
    """Lecture 000's backpropagation on one example, every quantity a sympy formula.

    Parameters
    ----------
    network : Network
        Any network of the package's layers (nested Networks, Concat, Residual included).
    x : sequence of numbers or sympy expressions, shape (k,), or ``"symbols"``
        z^(0). ``"symbols"`` gives x[0] … x[k−1] (k must then be fixed by the first layer).
    y : sequence, shape (h_m,) (a number when h_m = 1), or ``"symbols"``
        The target.
    loss : Loss
        One of the package's five losses.
    weights : {"symbols", "values"}
        ``"symbols"``: every W_j becomes a matrix of symbols W_j[a,b] (see the module
        docstring); ``"values"``: the network's numbers, exactly.

    Returns
    -------
    SymbolicTrace

    Examples
    --------
    >>> import jacobian_nn as jnn
    >>> net = jnn.Network([jnn.Linear([[2, -1]]), jnn.Tanh()])
    >>> st = backprop(net, "symbols", [0], jnn.HalfSquaredError())
    >>> st.local_D_z(2)
    Matrix([[1 - tanh(W_1[0,0]*x[0] + W_1[0,1]*x[1])**2]])
    >>> backprop(net, [1, 1], [0], jnn.HalfSquaredError(), weights="values").z(2)
    Matrix([[tanh(1)]])
    """
    if not isinstance(network, Network):
        raise TypeError(f"backprop takes a jacobian_nn Network, got {type(network).__name__}; "
                        "wrap a single layer as Network([layer]).")
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a jacobian_nn loss such as HalfSquaredError(), "
                        f"got {loss!r}.")
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}.")
    x = _vector_or_symbols(x, "x", network.in_size, "z^(0) = x")
    c = chain(network, x, "", weights, "layer ")
    yhat = c["z"][-1]
    y = _vector_or_symbols(y, "y", yhat.rows, "the target y")
    L, g = loss_form(loss, yhat, y)
    return SymbolicTrace(network, weights, c, y, loss, L, g)


def _vector_or_symbols(a, name: str, size: int | None, what: str) -> sp.Matrix:
    if isinstance(a, str) and a == "symbols":
        if size is None:
            raise ValueError(f"{name} = 'symbols' needs the input size k, but layer 1 takes any "
                             f"size; pass {name} = jnn.symbolic.vector('{name}', k).")
        return vector(name, size)
    v = exact_vector(a, what)
    if size is not None and v.rows != size:
        raise ValueError(f"{what} must have {size} entries, got {v.rows}.")
    return v


class Latex(str):
    """LaTeX source (``print`` shows it, to paste into a document); Jupyter typesets it."""

    def _repr_latex_(self) -> str:
        return f"$${self}$$"


def _latex(expr) -> str:
    if isinstance(expr, sp.MatrixBase) and 0 in expr.shape:
        return r"\text{(empty: no parameters)}"
    return sp.latex(expr, mat_str="bmatrix", mat_delim="")


class SymbolicTrace:
    """Every quantity of one backpropagation as a sympy matrix, under its lecture name.

    Indices as in ``Trace``: ``z(j)``, ``D(j)``, ``dL_dz(j)`` for j = 0 … m; ``local_D_z(j)``,
    ``local_D_W(j)``, ``D_W(j)``, ``grad(j)`` for j = 1 … m. ``loss`` is L(f_W(x), y) and
    ``grad_yhat`` ∇_ŷ L (a column). ``weight_values`` maps each weight symbol to the network's
    float; ``numeric()`` substitutes them.
    """

    def __init__(self, network, weights, c, y, loss_fn, L, g, values=None):
        self.network, self.m, self.weights = network, network.m, weights
        self.y, self.loss_fn, self.loss, self.grad_yhat = y, loss_fn, L, g
        self._z, self._D, self._D_W = c["z"], c["D"], c["D_W"]
        forms = c["forms"]
        self._local_D_z = [None] + [fm.D_z for fm in forms[1:]]
        self._local_D_W = [None] + [fm.D_W for fm in forms[1:]]
        self._P = [None] + [fm.P for fm in forms[1:]]
        self._grad = [None] + [(g.T * c["D_W"][j]).reshape(*self._P[j].shape)
                               for j in range(1, self.m + 1)]  # ∇_{W_j}Lᵀ = ∇_ŷLᵀ D_{W_j} f_W
        self.weight_values = values if values is not None else \
            {s: v for fm in forms[1:] for s, v in fm.values.items()}
        self._c = c

    # -- the quantities --
    def _j(self, j: int, lo: int) -> int:
        if isinstance(j, bool) or not isinstance(j, int | np.integer) or not lo <= j <= self.m:
            raise IndexError(f"j must be an integer in {lo}..{self.m} (m = {self.m}), got {j!r}.")
        return int(j)

    def z(self, j: int) -> sp.Matrix:
        """z^(j), a column (h_j, 1); z(0) = x and z(m) = ŷ."""
        return self._z[self._j(j, 0)]

    def D(self, j: int) -> sp.Matrix:
        """D^(j) = D_z f_{W_m}(z^(m-1)) ⋯ D_z f_{W_{j+1}}(z^(j)), shape (h_m, h_j)."""
        return self._D[self._j(j, 0)]

    def local_D_z(self, j: int) -> sp.Matrix:
        """D_z f_{W_j}(z^(j-1)), shape (h_j, h_{j-1})."""
        return self._local_D_z[self._j(j, 1)]

    def local_D_W(self, j: int) -> sp.Matrix:
        """D_{W_j} f_{W_j}(z^(j-1)), shape (h_j, d_j)."""
        return self._local_D_W[self._j(j, 1)]

    def D_W(self, j: int) -> sp.Matrix:
        """D_{W_j} f_W(x) = D^(j) D_{W_j} f_{W_j}(z^(j-1)), shape (h_m, d_j)."""
        return self._D_W[self._j(j, 1)]

    def grad(self, j: int) -> sp.Matrix:
        """∇_{W_j} L(f_W(x), y), shaped like layer j's params (a 1-D params array as a column)."""
        return self._grad[self._j(j, 1)]

    def params(self, j: int) -> sp.Matrix:
        """W_j as the trace used it: its symbols, or its exact numbers."""
        return self._P[self._j(j, 1)]

    def dL_dz(self, j: int) -> sp.Matrix:
        """∇_ŷLᵀ D^(j), the row (1, h_j): lecture 002's ∂L/∂x_j."""
        return self.grad_yhat.T * self._D[self._j(j, 0)]

    @property
    def yhat(self) -> sp.Matrix:
        """ŷ = z^(m)."""
        return self._z[-1]

    def quantity(self, quantity: str):
        """The quantity named as in ``Trace.check``: ``"D(1)"``, ``"grad(2)"``, ``"loss"`` …"""
        if quantity == "loss":
            return self.loss
        match = _QUANTITY.fullmatch(quantity) if isinstance(quantity, str) else None
        if match is None:
            raise ValueError(
                f"quantity must be 'loss' or one of z(j), D(j), local_D_z(j), local_D_W(j), "
                f"D_W(j), grad(j), dL_dz(j) with a number for j, got {quantity!r}.")
        return getattr(self, match[1])(int(match[2]))

    # -- typesetting --
    def latex(self, quantity: str) -> Latex:
        r"""One quantity as LaTeX under its lecture name, e.g. ``D^{(1)} = \begin{bmatrix}…``."""
        value = self.quantity(quantity)  # first, so a bad name gets quantity()'s message
        return Latex(f"{_latex_name(quantity)} = {_latex(value)}")

    def _repr_latex_(self) -> str:
        m = self.m
        names = [f"z({j})" for j in range(m + 1)] + ["loss"]
        for j in range(1, m + 1):
            names.append(f"local_D_z({j})")
            if self.local_D_W(j).cols:
                names.append(f"local_D_W({j})")
        names += [f"D({j})" for j in range(m, -1, -1)]
        names += [f"grad({j})" for j in range(1, m + 1) if self.grad(j).rows]
        rows = [f"{_latex_name(q)} &= {_latex(self.quantity(q))}" for q in names]
        return "$$\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}$$"

    def to_text(self) -> str:
        """Every quantity as sympy's plain text, one per line, under its lecture name."""
        lines = [f"Symbolic backpropagation through m = {self.m} layers "
                 f"(weights as {self.weights})"]
        for q in self._all_quantities():
            lines.append(f"  {_text_name(q)} = {self.quantity(q)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_pretty_(self, p, cycle: bool) -> None:
        """IPython's text/plain: the text form of what ``_repr_latex_`` typesets."""
        p.text(self.to_text())

    def __repr__(self) -> str:
        free = sorted(map(str, self.free_symbols))
        shown = ", ".join(free[:6]) + (", …" if len(free) > 6 else "")
        return (f"<SymbolicTrace of backprop through m = {self.m} layers, weights as "
                f"{self.weights}, {len(free)} free symbols{': ' + shown if free else ''}>")

    # -- numbers --
    @property
    def free_symbols(self) -> set:
        """Every symbol of the trace: those of x, y and the weights, on which all else depends."""
        out = set(self.z(0).free_symbols | self.y.free_symbols)
        for P in self._P[1:]:
            out |= P.free_symbols
        return out

    def substitute(self, values: dict) -> SymbolicTrace:
        """The trace with ``values`` put in for symbols (keys: symbols or their names, e.g.
        ``"x[0]"``; values: numbers, exact as in ``backprop``, or sympy expressions)."""
        rep = self._replacements(values)
        return SymbolicTrace(self.network, self.weights, _xreplace(self._c, rep),
                             self.y.xreplace(rep), self.loss_fn, self.loss.xreplace(rep),
                             self.grad_yhat.xreplace(rep),
                             {s: v for s, v in self.weight_values.items() if s not in rep})

    def numeric(self, values: dict | None = None) -> NumericTrace:
        """Every quantity as float64, shaped as ``Network.backprop``'s trace.

        The weight symbols take the network's numbers (``weight_values``) unless ``values``
        says otherwise; every other symbol (x, y) must be given in ``values``. The formulas are
        evaluated with mpmath at 30 significant digits (a float as the binary number it is)
        and rounded to float64 at the end.
        """
        rep = dict(self.weight_values) | self._replacements(values or {})
        free = sorted(str(s) for s in self.free_symbols if s not in rep)
        if free:
            raise ValueError(f"numeric() needs a number for every symbol; missing: "
                             f"{', '.join(free)}.")
        return NumericTrace(self, {s: as_mpf(v, str(s)) for s, v in rep.items()})

    def _replacements(self, values: dict) -> dict:
        symbols = {str(s): s for s in self.free_symbols | set(self.weight_values)}
        rep = {}
        for key, v in values.items():
            s = symbols.get(str(key))
            if s is None:
                raise KeyError(f"{key!r} is not a symbol of this trace; its symbols are "
                               f"{', '.join(sorted(symbols)) or 'none'}.")
            rep[s] = exact(v, str(key))
        return rep

    # -- exactness --
    def kinds(self, quantity: str) -> np.ndarray:
        """Per entry of a quantity: ``"exact"`` (a rational number), ``"transcendental"``
        (involves tanh, exp, log or σ) or ``"symbolic"`` (depends on symbols through +, ×, ÷,
        max and cases only). Shaped like the sympy quantity (0-d for the loss)."""
        q = self.quantity(quantity)
        if not isinstance(q, sp.MatrixBase):
            return np.array(_kind(q))
        return np.array([_kind(e) for e in q], dtype="<U14").reshape(q.shape)

    def is_exact(self, quantity: str) -> bool:
        """True when every entry of ``quantity`` is a rational number."""
        return bool(np.all(self.kinds(quantity) == "exact"))

    def exactness(self) -> Exactness:
        """Which quantities are exact rationals, which involve transcendental functions."""
        return Exactness({q: self.kinds(q) for q in self._all_quantities()})

    def _all_quantities(self) -> list[str]:
        m = self.m
        out = [f"z({j})" for j in range(m + 1)] + ["loss"]
        out += [f"{q}({j})" for j in range(1, m + 1) for q in ("local_D_z", "local_D_W")]
        out += [f"D({j})" for j in range(m, -1, -1)]
        out += [f"{q}({j})" for j in range(1, m + 1) for q in ("D_W", "grad")]
        return out + [f"dL_dz({j})" for j in range(m, -1, -1)]


def _kind(e) -> str:
    if e.is_Rational:
        return "exact"
    if e.atoms(*TRANSCENDENTAL) or not e.free_symbols:
        return "transcendental"
    return "symbolic"


def _xreplace(c: dict, rep: dict) -> dict:
    forms = [None] + [fm._replace(f=fm.f.xreplace(rep), D_z=fm.D_z.xreplace(rep),
                                  D_W=fm.D_W.xreplace(rep), P=fm.P.xreplace(rep))
                      for fm in c["forms"][1:]]
    return {"z": [z.xreplace(rep) for z in c["z"]], "forms": forms,
            "D": [D.xreplace(rep) for D in c["D"]],
            "D_W": [None] + [B.xreplace(rep) for B in c["D_W"][1:]]}


def _latex_name(q: str) -> str:
    if q == "loss":
        return r"L(\hat y, y)"
    name, j = _QUANTITY.fullmatch(q).groups()
    return {
        "z": f"z^{{({j})}}", "D": f"D^{{({j})}}",
        "local_D_z": f"D_z f_{{W_{{{j}}}}}(z^{{({int(j) - 1})}})",
        "local_D_W": f"D_{{W_{{{j}}}}} f_{{W_{{{j}}}}}(z^{{({int(j) - 1})}})",
        "D_W": f"D_{{W_{{{j}}}}} f_W(x)", "grad": f"\\nabla_{{W_{{{j}}}}} L",
        "dL_dz": f"\\frac{{\\partial L}}{{\\partial z^{{({j})}}}}",
    }[name]


def _text_name(q: str) -> str:
    if q == "loss":
        return "L(ŷ, y)"
    name, j = _QUANTITY.fullmatch(q).groups()
    return {
        "z": f"z^({j})", "D": f"D^({j})", "local_D_z": f"D_z f_{{W_{j}}}(z^({int(j) - 1}))",
        "local_D_W": f"D_{{W_{j}}} f_{{W_{j}}}(z^({int(j) - 1}))", "D_W": f"D_{{W_{j}}} f_W(x)",
        "grad": f"∇_{{W_{j}}} L", "dL_dz": f"∂L/∂z^({j})",
    }[name]


@dataclass(frozen=True)
class Exactness:
    """Per quantity of a trace, how many entries are exact, symbolic or transcendental.

    Truthy only when every entry of every quantity is an exact rational number.
    """

    kinds: dict

    @property
    def passed(self) -> bool:
        return all(np.all(k == "exact") for k in self.kinds.values())

    def __bool__(self) -> bool:
        return self.passed

    @property
    def exact(self) -> list[str]:
        """The quantities all of whose entries are rational numbers."""
        return [q for q, k in self.kinds.items() if np.all(k == "exact")]

    @property
    def transcendental(self) -> list[str]:
        """The quantities with at least one entry that involves tanh, exp, log or σ."""
        return [q for q, k in self.kinds.items() if np.any(k == "transcendental")]

    def __repr__(self) -> str:
        head = f"{'quantity':<14}" + "".join(f"{k:>16}" for k in _KINDS)
        rows = [f"{q:<14}" + "".join(f"{int(np.sum(k == kind)):>16}" for kind in _KINDS)
                for q, k in self.kinds.items()]
        verdict = "every entry exact" if self.passed else "not every entry exact"
        return "\n".join([f"Exactness of the trace ({verdict}): entries of each kind", head, *rows])
