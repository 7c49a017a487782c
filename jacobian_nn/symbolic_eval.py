"""Numbers from the symbolic trace's formulas: mpmath at 30 digits, each shared piece once.

A trace's formulas share their pieces (z^(j) appears inside every later quantity), so sympy
stores them as a graph, but printed out as one tree — which ``lambdify`` and ``evalf`` walk — a
residual block's formula grows exponentially with depth. ``evaluate`` walks the graph instead,
computing each distinct sub-expression once. ``NumericTrace`` is a symbolic trace read this way,
with the accessors of a ``Trace``.
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp

from .symbolic_forms import exact, sigma, step

DIGITS = 30

_FUNCTIONS = {sigma: lambda t: 1 / (1 + mpmath.exp(-t)),
              step: lambda t: mpmath.mpf(1 if t >= 0 else 0)}
_RELATIONS = {sp.GreaterThan: lambda a, b: a >= b, sp.StrictGreaterThan: lambda a, b: a > b,
              sp.LessThan: lambda a, b: a <= b, sp.StrictLessThan: lambda a, b: a < b,
              sp.Equality: lambda a, b: a == b, sp.Unequality: lambda a, b: a != b}


def evaluate(exprs: list, values: dict) -> list[float]:
    """Each expression as a float, with ``values`` (symbol → mpmath number) put in."""
    cache = dict(values)
    with mpmath.workdps(DIGITS):
        return [float(_value(e, cache)) for e in exprs]


def _value(e, cache: dict):
    if e in cache:
        return cache[e]
    if e.is_Rational:
        v = mpmath.mpf(e.p) / e.q
    elif e.is_Add:
        v = mpmath.fsum(_value(a, cache) for a in e.args)
    elif e.is_Mul:
        v = mpmath.fprod(_value(a, cache) for a in e.args)
    elif e.is_Pow:
        v = _value(e.base, cache) ** _value(e.exp, cache)
    elif isinstance(e, sp.Piecewise):
        v = next(_value(expr, cache) for expr, cond in e.args if _holds(cond, cache))
    elif isinstance(e, sp.Max | sp.Min):
        v = (max if isinstance(e, sp.Max) else min)(_value(a, cache) for a in e.args)
    elif e.is_Function:
        f = _FUNCTIONS.get(e.func) or getattr(mpmath, e.func.__name__.lower())
        v = f(*(_value(a, cache) for a in e.args))
    elif e.is_number:  # pi, E, …
        v = mpmath.mpf(sp.Float(e, DIGITS + 10))
    else:
        raise ValueError(f"cannot evaluate {e} ({type(e).__name__}): no number for it.")
    cache[e] = v
    return v


def _holds(cond, cache: dict) -> bool:
    if cond in (sp.true, sp.false):
        return bool(cond)
    return _RELATIONS[type(cond)](_value(cond.lhs, cache), _value(cond.rhs, cache))


def as_mpf(v, what: str) -> mpmath.mpf:
    """A number given for a symbol, as mpmath evaluates it: a float exactly, anything else at
    ``DIGITS`` + 10 digits."""
    if isinstance(v, float | np.floating):
        return mpmath.mpf(float(v))  # exactly the float64 the numeric trace computes with
    e = exact(v, what)
    if not e.is_number:
        raise ValueError(f"numeric() needs numbers; {what} = {e} still holds symbols.")
    return mpmath.mpf(sp.Float(e, DIGITS + 10))


class NumericTrace:
    """A symbolic trace ``st`` (``symbolic.SymbolicTrace``) with numbers for every symbol: the
    accessors of ``Trace``, in float64 and shaped as ``Network.backprop``'s (vectors 1-D,
    gradients shaped like params)."""

    def __init__(self, st, values: dict):
        self._st, self.m = st, st.m
        self._values = values

    def _floats(self, A, shape) -> np.ndarray:
        entries = list(A) if isinstance(A, sp.MatrixBase) else [A]
        out = np.array(evaluate(entries, self._values), dtype=np.float64).reshape(shape)
        out.flags.writeable = False
        return out

    def _matrix(self, A) -> np.ndarray:
        return self._floats(A, A.shape)

    def _vec(self, A) -> np.ndarray:
        return self._floats(A, (len(A),))

    def z(self, j: int) -> np.ndarray:
        return self._vec(self._st.z(j))

    def D(self, j: int) -> np.ndarray:
        return self._matrix(self._st.D(j))

    def local_D_z(self, j: int) -> np.ndarray:
        return self._matrix(self._st.local_D_z(j))

    def local_D_W(self, j: int) -> np.ndarray:
        return self._matrix(self._st.local_D_W(j))

    def D_W(self, j: int) -> np.ndarray:
        return self._matrix(self._st.D_W(j))

    def grad(self, j: int) -> np.ndarray:
        return self._floats(self._st.grad(j), self._st.network.layers[j - 1].params.shape)

    def dL_dz(self, j: int) -> np.ndarray:
        return self._vec(self._st.dL_dz(j))

    @property
    def grad_yhat(self) -> np.ndarray:
        return self._vec(self._st.grad_yhat)

    @property
    def loss(self) -> float:
        return float(self._floats(self._st.loss, ()))

    def __repr__(self) -> str:
        return f"<NumericTrace of a symbolic trace, m = {self.m} layers, L = {self.loss:.6g}>"
