"""Closed forms of every layer in sympy: f(z), D_z f(z) and D_W f(z) (losses: symbolic_losses.py).

The machinery behind ``jacobian_nn.symbolic``; it imports sympy, so the core never imports it.
Each Jacobian is written from its closed form, the way a lecturer writes it — diag(1 − tanh² z),
σ(z)(1 − σ(z)), I_h ⊗ zᵀ — never by differentiating the nested forward expression.

Layout, as everywhere: D_z f(z) has shape (h, k): entry [i, a] = ∂f_i/∂z_a, and D_W f(z) has
shape (h, d): entry [i, p] = ∂f_i/∂w_p with w = params.ravel() (C order). Vectors are sympy
column matrices; a layer's params are a sympy matrix shaped like ``params`` (a 1-D params
array becomes a column).
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction
from typing import NamedTuple

import numpy as np
import sympy as sp

from . import activations, composition, conv, custom, layers
from ._validate import fmt_shape
from .network import Network


# -- symbols and exact numbers ------------------------------------------------------------------
class Entry(sp.Symbol):
    """A real symbol named like ``W_1[0,1]`` (entry [0, 1] of W_1), typeset (W_1)_{0,1}.

    ``x[0]`` and ``y[0]``, which carry no layer index, are typeset x_{0} and y_{0}.
    """

    def __new__(cls, name: str):
        return super().__new__(cls, name, real=True)

    def _latex(self, printer) -> str:
        head, _, index = self.name.partition("[")
        index = index.rstrip("]")
        letter, _, path = head.partition("_")
        return f"({letter}_{{{path}}})_{{{index}}}" if path else f"{letter}_{{{index}}}"


def vector(name: str, n: int) -> sp.Matrix:
    """The column (name[0], …, name[n−1]) of real symbols, e.g. ``vector("x", 2)``.

    Examples
    --------
    >>> vector("x", 2).T
    Matrix([[x[0], x[1]]])
    """
    return sp.Matrix([Entry(f"{name}[{i}]") for i in range(n)])


def exact(v, what: str) -> sp.Expr:
    """v as an exact sympy number, or v itself if it is already a sympy expression.

    ints, ``fractions.Fraction`` and sympy Rationals stay what they are. A float (Python,
    numpy or sympy) becomes the shortest decimal that rounds to it, ``Rational(repr(v))``:
    0.2 → 1/5, not the binary fraction 3602879701896397/18014398509481984 that 0.2 is stored as.
    """
    if isinstance(v, bool | np.bool_):
        raise TypeError(f"{what} must be a number or a sympy expression, got the boolean {v!r}.")
    if isinstance(v, sp.Basic):
        if v.is_Float:
            return exact(float(v), what)
        if not isinstance(v, sp.Expr) or v.is_real is False:
            raise TypeError(f"{what} must be a real number or a real sympy expression, got {v!r}.")
        return v
    if isinstance(v, Fraction):
        return sp.Rational(v.numerator, v.denominator)
    if isinstance(v, numbers.Integral):
        return sp.Integer(int(v))
    if isinstance(v, numbers.Real):
        if not math.isfinite(v):
            raise ValueError(f"{what} must be finite, got {v!r}.")
        return sp.Rational(repr(float(v)))
    raise TypeError(
        f"{what} must be a number (int, fractions.Fraction, float) or a sympy expression, got "
        f"{type(v).__name__} {v!r}. For symbols use sympy.Symbol or jnn.symbolic.vector."
    )


def exact_vector(a, what: str) -> sp.Matrix:
    """A flat sequence, numpy vector or sympy row/column as an exact sympy column."""
    if isinstance(a, sp.MatrixBase):
        if 1 not in a.shape:
            raise ValueError(f"{what} must be a vector, got a {a.rows}×{a.cols} sympy matrix.")
        entries = list(a)
    elif isinstance(a, np.ndarray):
        if a.ndim > 1:
            raise ValueError(f"{what} must be a vector (one example), got shape {a.shape}.")
        entries = a.reshape(-1).tolist()
    elif isinstance(a, list | tuple):
        entries = list(a)
        if any(isinstance(e, list | tuple | np.ndarray) for e in entries):
            raise ValueError(f"{what} must be a flat vector (one example), got nested lists.")
    else:
        entries = [a]  # one number: a vector of size 1
    if not entries:
        raise ValueError(f"{what} holds no numbers.")
    return sp.Matrix([exact(e, f"{what}[{i}]") for i, e in enumerate(entries)])


# -- two functions sympy does not have, typeset as the lecture writes them ----------------------
class sigma(sp.Function):
    """σ(z) = 1 / (1 + e^{−z}); σ'(z) = σ(z)(1 − σ(z)); σ(0) = 1/2 exactly."""

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.S.Half

    def fdiff(self, argindex=1):
        s = sigma(self.args[0])
        return s * (1 - s)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sp.exp(-z))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        s = rf"\sigma\left({printer._print(self.args[0])}\right)"
        return s if exp is None else rf"{s}^{{{exp}}}"


class step(sp.Function):
    """1(z ≥ 0): ReLU's derivative with the package's convention φ'(0) = 1."""

    @classmethod
    def eval(cls, z):
        if z.is_number:
            nonneg = sp.GreaterThan(z, 0)
            if nonneg in (sp.true, sp.false):
                return sp.Integer(int(bool(nonneg)))
        if z.is_nonnegative:
            return sp.Integer(1)
        if z.is_negative:
            return sp.Integer(0)

    def _eval_is_real(self):
        return True

    def _latex(self, printer, exp=None):
        s = rf"\mathbf{{1}}\left[{printer._print(self.args[0])} \geq 0\right]"
        return s if exp is None else rf"{s}^{{{exp}}}"


#: Functions whose values at rational points are not rational: an entry holding one of them
#: is "transcendental" in the exactness report.
TRANSCENDENTAL = (sp.tanh, sp.exp, sp.log, sigma)


# -- one layer ----------------------------------------------------------------------------------
class Form(NamedTuple):
    """A layer at one input: f(z), D_z f(z), D_W f(z), its params P and their float values."""

    f: sp.Matrix
    D_z: sp.Matrix
    D_W: sp.Matrix
    P: sp.Matrix
    values: dict


def _params(array: np.ndarray, path: str, weights: str, letter=lambda b: "W"):
    """``array`` (1-D or 2-D) as a sympy matrix (a 1-D array as a column) of symbols or exact
    numbers, and each symbol's float value. Column b of a 2-D array holds ``letter(b)``_path[a,b];
    a 1-D array, or Affine's b column (``letter(b)`` = "b"), holds letter_path[a]."""
    A = array.reshape(-1, 1) if array.ndim == 1 else array
    if weights == "values":
        return sp.Matrix(*A.shape, lambda a, b: exact(float(A[a, b]), "a weight")), {}
    values = {}

    def entry(a, b):
        two_d = array.ndim == 2 and letter(b) == "W"
        s = Entry(f"{letter(b)}_{path}[{a},{b}]" if two_d else f"{letter(b)}_{path}[{a}]")
        values[s] = float(A[a, b])
        return s

    return sp.Matrix(*A.shape, entry), values


def _kron_rows(h: int, v: sp.Matrix) -> sp.Matrix:
    """I_h ⊗ vᵀ, shape (h, h·k): row i holds vᵀ in columns i·k … i·k + k − 1."""
    k = v.rows
    return sp.Matrix(h, h * k, lambda i, p: v[p % k] if p // k == i else 0)


def _linear(layer, z, path, weights):
    W, values = _params(layer.W, path, weights)
    return Form(W * z, W, _kron_rows(W.rows, z), W, values)  # D_z = W, D_W = I_h ⊗ zᵀ


def _bias(layer, z, path, weights):
    b, values = _params(layer.b, path, weights, letter=lambda b: "b")
    eye = sp.eye(b.rows)
    return Form(z + b, eye, eye, b, values)  # D_z = D_b = I_h


def _affine(layer, z, path, weights):
    k = layer.in_size
    P, values = _params(layer.params, path, weights, letter=lambda b: "b" if b == k else "W")
    W, b = P[:, :k], P[:, k]
    z1 = z.col_join(sp.Matrix([1]))
    return Form(W * z + b, W, _kron_rows(P.rows, z1), P, values)  # D_W = I_h ⊗ (z, 1)ᵀ


def _elementwise(phi, dphi):
    """f(z)_i = φ(z_i) and D_z f = diag(φ'(z)); φ and φ' also take the layer's fixed numbers."""
    def elementwise_form(layer, z, path, weights):
        hyper = _hyper(layer)
        f = sp.Matrix([phi(zi, *hyper) for zi in z])
        D = sp.diag(*[dphi(zi, *hyper) for zi in z])
        return Form(f, D, sp.zeros(z.rows, 0), sp.zeros(0, 1), {})
    return elementwise_form


def _hyper(layer) -> tuple:
    """A layer's fixed numbers (LeakyReLU's a, Swish's β) as exact rationals."""
    if isinstance(layer, activations.LeakyReLU):
        return (exact(layer.a, "LeakyReLU: a"),)
    if isinstance(layer, activations.Swish):
        return (exact(layer.beta, "Swish: beta"),)
    return ()


def _softmax(layer, z, path, weights):
    e = [sp.exp(zi) for zi in z]
    total = sp.Add(*e)
    s = [ei / total for ei in e]
    # diag(s) − s sᵀ, with the diagonal written s_i (1 − s_i)
    D = sp.Matrix(z.rows, z.rows, lambda i, a: s[i] * (1 - s[i]) if i == a else -s[i] * s[a])
    return Form(sp.Matrix(s), D, sp.zeros(z.rows, 0), sp.zeros(0, 1), {})


def _taps(layer, N: int, where: str) -> list[list[int | None]]:
    """taps[i][m] = the sample tap m of output i reads (None for a zero pad): Conv1D's rule
    x_in[i + m − c] with its padding, as its docstring states."""
    M, c = layer.M, layer.c
    if N <= M:
        raise ValueError(f"{where} ({layer.describe()}) needs a signal x_in ∈ R^N with N > M = "
                         f"{M} (lecture 002: M < N); got N = {N}.")
    out = []
    for i in range(N):
        row = []
        for m in range(M):
            s = i + m - c
            if layer.padding == "zeros":
                row.append(s if 0 <= s < N else None)
            elif layer.padding == "circular":
                row.append(s % N)
            else:  # reflect about 0 and about N − 1, the end samples not repeated
                s = abs(s)
                row.append(2 * (N - 1) - s if s > N - 1 else s)
        out.append(row)
    return out


def _conv1d(layer, z, path, weights, where="Conv1D"):
    w, values = _params(layer.w, path, weights, letter=lambda b: "w")
    N, taps = z.rows, _taps(layer, z.rows, where)
    f = sp.Matrix([sp.Add(*[w[m] * z[s] for m, s in enumerate(row) if s is not None])
                   for row in taps])
    D_z, D_W = sp.zeros(N, N), sp.zeros(N, layer.M)
    for i, row in enumerate(taps):
        for m, s in enumerate(row):
            if s is not None:
                D_z[i, s] += w[m]  # several taps can fold onto one sample (reflect, circular)
                D_W[i, m] = z[s]  # row i of D_w is the window output i sees
    return Form(f, D_z, D_W, w, values)


def _maxpool1d(layer, z, path, weights, where="MaxPool1D"):
    N = z.rows
    try:
        n_out = layer.out_size(N)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    D = sp.zeros(n_out, N)
    for o in range(n_out):
        window = range(o * layer.stride, o * layer.stride + layer.size)
        best = window[0]
        for t in window[1:]:  # the first maximum wins on ties, as the numeric layer's argmax
            bigger = sp.StrictGreaterThan(z[t], z[best])
            if bigger not in (sp.true, sp.false):
                raise ValueError(
                    f"{where} ({layer.describe()}): which of z[{best}] = {z[best]} and "
                    f"z[{t}] = {z[t]} is larger depends on the symbols, so window {o} has no "
                    "single max and no single Jacobian. Give x (and weights='values') as "
                    "numbers, or substitute numbers for the symbols first."
                )
            if bigger == sp.true:
                best = t
        D[o, best] = 1  # the 0/1 selection row of window o
    f = D * z
    return Form(f, D, sp.zeros(n_out, 0), sp.zeros(0, 1), {})


def _custom(layer, z, path, weights, where):
    """A layer that brings its own ``symbolic(z, W)``: its Jacobians by sympy's diff, at dummy
    symbols for z and W (z may be an expression), then evaluated at z and W."""
    hook = getattr(layer, "symbolic", None)
    if not callable(hook):
        raise TypeError(
            f"{where} ({layer.describe()}) has no symbolic form: jnn.symbolic writes the "
            "package's own layers from their closed forms. For your own layer give one: "
            "custom_layer(..., symbolic=lambda z, W: [sympy expressions of z[a] and W[...]]), "
            "or a method symbolic(self, z, W) on your Layer subclass."
        )
    P, values = _params(layer.params, path, weights)
    u = sp.Matrix([sp.Dummy(f"z{a}", real=True) for a in range(z.rows)])
    V = sp.Matrix(P.rows, P.cols, lambda a, b: sp.Dummy(f"w{a}{b}", real=True))
    try:  # V is shaped like params (a 1-D params array as a column)
        f = sp.Matrix(list(sp.Matrix(hook(u, V))))
    except (TypeError, ValueError) as err:
        raise type(err)(f"{where} ({layer.describe()}): its symbolic(z, W) failed: {err}") \
            from err
    at = {**dict(zip(u, z, strict=True)), **dict(zip(V, P, strict=True))}
    D_z = f.jacobian(u).xreplace(at) if z.rows else sp.zeros(f.rows, 0)
    D_W = f.jacobian(list(V)).xreplace(at) if V.rows else sp.zeros(f.rows, 0)
    return Form(f.xreplace(at), D_z, D_W, P, values)


def _concat(layer, z, path, weights, where):
    a = form(layer.f_a, z, f"{path}.a", weights, f"{where}.f_a")
    b = form(layer.f_b, z, f"{path}.b", weights, f"{where}.f_b")
    D_W = sp.zeros(a.f.rows + b.f.rows, a.D_W.cols + b.D_W.cols)  # block-diagonal
    D_W[:a.f.rows, :a.D_W.cols] = a.D_W
    D_W[a.f.rows:, a.D_W.cols:] = b.D_W
    P = sp.Matrix(list(a.P) + list(b.P))
    return Form(a.f.col_join(b.f), a.D_z.col_join(b.D_z), D_W, P, {**a.values, **b.values})


def _residual(layer, z, path, weights, where):
    g = form(layer.g, z, path, weights, f"{where}.g")  # g's params are the Residual's
    if g.f.shape != z.shape:
        raise ValueError(f"{where} ({layer.describe()}): z + g(z) needs g(z) shaped like z "
                         f"({z.rows} entries), but g returned {g.f.rows}.")
    return Form(z + g.f, sp.eye(z.rows) + g.D_z, g.D_W, g.P, g.values)


def chain(network, x: sp.Matrix, path: str, weights: str, where: str) -> dict:
    """Lecture 000's forward and backward pass in symbols; a nested Network uses it too.

    z^(0) = x, z^(j) = f_{W_j}(z^(j-1)); D^(m) = I, D^(j) = D^(j+1) D_z f_{W_{j+1}}(z^(j));
    D_{W_j} f_W(x) = D^(j) D_{W_j} f_{W_j}(z^(j-1)).
    """
    zs, forms = [x], [None]
    for j, layer in enumerate(network.layers, 1):
        name = f"{path}.{j}" if path else str(j)
        forms.append(form(layer, zs[-1], name, weights, f"{where}{name}"))
        zs.append(forms[-1].f)
    m = network.m
    D = [None] * (m + 1)
    D[m] = sp.eye(zs[m].rows)
    for j in range(m - 1, -1, -1):
        D[j] = D[j + 1] * forms[j + 1].D_z
    D_W = [None] + [D[j] * forms[j].D_W for j in range(1, m + 1)]
    return {"z": zs, "forms": forms, "D": D, "D_W": D_W}


def _network(layer, z, path, weights, where):
    c = chain(layer, z, path, weights, f"{where}.")
    blocks = c["D_W"][1:]
    D_W = sp.Matrix.hstack(*blocks) if blocks else sp.zeros(c["z"][-1].rows, 0)
    P = sp.Matrix([p for fm in c["forms"][1:] for p in fm.P])
    values = {s: v for fm in c["forms"][1:] for s, v in fm.values.items()}
    return Form(c["z"][-1], c["D"][0], D_W, P, values)


_ELEMENTWISE = {
    activations.Identity: (lambda z: z, lambda z: sp.Integer(1)),
    activations.Tanh: (sp.tanh, lambda z: 1 - sp.tanh(z) ** 2),
    activations.Sigmoid: (sigma, lambda z: sigma(z) * (1 - sigma(z))),
    activations.ReLU: (lambda z: sp.Max(0, z), step),  # φ'(0) = 1, the package's convention
    activations.LeakyReLU: (lambda z, a: sp.Piecewise((z, z >= 0), (a * z, True)),
                       lambda z, a: sp.Piecewise((1, z >= 0), (a, True))),
    activations.Swish: (lambda z, b: z * sigma(b * z),
                   lambda z, b: sigma(b * z) + b * z * sigma(b * z) * (1 - sigma(b * z))),
}
_SIMPLE = {layers.Linear: _linear, layers.Bias: _bias, layers.Affine: _affine,
           activations.Softmax: _softmax,
           **{t: _elementwise(*fs) for t, fs in _ELEMENTWISE.items()}}
_NAMED = {conv.Conv1D: _conv1d, conv.MaxPool1D: _maxpool1d, composition.Concat: _concat,
          composition.Residual: _residual, custom.CustomLayer: _custom}


def form(layer, z: sp.Matrix, path: str, weights: str, where: str) -> Form:
    """Layer ``layer`` at input z, its symbols named after ``path`` (``"2"``, ``"3.1"``);
    ``where`` names it in messages. The exact type decides: a subclass may change the map, so
    it needs a ``symbolic`` form of its own, as any user layer does."""
    need = layer.in_size
    if need is not None and z.rows != need:
        raise ValueError(f"{where} ({layer.describe()}) expects z ∈ {fmt_shape(need)}, "
                         f"got {z.rows} entries.")
    kind = type(layer)
    if kind in _SIMPLE:
        return _SIMPLE[kind](layer, z, path, weights)
    if kind is Network:
        return _network(layer, z, path, weights, where)
    return _NAMED.get(kind, _custom)(layer, z, path, weights, where)
