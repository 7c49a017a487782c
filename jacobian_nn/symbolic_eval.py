"""Numbers from the symbolic trace's formulas: mpmath at 30 digits, each shared piece once.

A trace's formulas share their pieces (z^(j) appears inside every later quantity), so sympy
stores them as a graph, but printed out as one tree — which ``lambdify`` and ``evalf`` walk — a
residual block's formula grows exponentially with depth. ``evaluate`` walks the graph instead,
computing each distinct sub-expression once.
"""

from __future__ import annotations

import mpmath
import sympy as sp

from .symbolic_forms import sigma, step

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
