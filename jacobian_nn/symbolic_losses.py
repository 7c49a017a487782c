"""L(ŷ, y) and ∇_ŷ L in symbols: the closed forms of losses.py, as sympy expressions."""

from __future__ import annotations

import sympy as sp

from . import losses
from .symbolic_forms import sigma


def loss_form(loss, yhat: sp.Matrix, y: sp.Matrix) -> tuple[sp.Expr, sp.Matrix]:
    """L(ŷ, y) and ∇_ŷ L(ŷ, y) (a column), from the closed forms in losses.py.

    As there, a cross-entropy term whose coefficient (y_k, or 1 − y_k) is exactly 0 is left out
    of both, so ŷ_k = 0 with y_k = 0 gives 0, not 0 · log 0.
    """
    kind, h = type(loss), yhat.rows
    if kind is losses.SquaredError:
        r = yhat - y
        return sp.Add(*[e ** 2 for e in r]), 2 * r
    if kind is losses.HalfSquaredError:
        r = yhat - y
        return sp.Rational(1, 2) * sp.Add(*[e ** 2 for e in r]), r
    if kind is losses.CrossEntropy:
        _nonnegative(loss, y)
        L = -sp.Add(*[yk * sp.log(pk) for yk, pk in zip(y, yhat, strict=True) if yk != 0])
        return L, sp.Matrix([0 if yk == 0 else -yk / pk for yk, pk in zip(y, yhat, strict=True)])
    if kind is losses.SoftmaxCrossEntropy:
        if h == 1:
            raise ValueError(f"{loss!r}: softmax of one score is always 1, so the loss is "
                             "constant; use one Sigmoid output with BinaryCrossEntropy().")
        _nonnegative(loss, y)
        e = [sp.exp(v) for v in yhat]
        t, total = sp.Add(*y), sp.Add(*e)
        L = t * sp.log(total) - (y.T * yhat)[0]  # (Σ_k y_k) logΣexp(ŷ) − yᵀŷ
        return L, sp.Matrix([t * ek / total - yk for ek, yk in zip(e, y, strict=True)])
    if kind is losses.BinaryCrossEntropy:
        if any(v.is_number and not 0 <= v <= 1 for v in y):
            raise ValueError(f"{loss!r}: targets y must lie in [0, 1].")
        terms, grad = [], []
        for yk, pk in zip(y, yhat, strict=True):
            pos = 0 if yk == 0 else yk / pk
            neg = 0 if yk == 1 else (1 - yk) / (1 - pk)
            terms += [0 if yk == 0 else -yk * sp.log(pk),
                      0 if yk == 1 else -(1 - yk) * sp.log(1 - pk)]
            grad.append(neg - pos)
        return sp.Add(*terms), sp.Matrix(grad)
    if kind is losses.SigmoidBinaryCrossEntropy:  # on raw scores s: Σ log(1 + e^s) − y s
        if any(v.is_number and not 0 <= v <= 1 for v in y):
            raise ValueError(f"{loss!r}: targets y must lie in [0, 1].")
        L = sp.Add(*[sp.log(1 + sp.exp(sk)) - yk * sk for yk, sk in zip(y, yhat, strict=True)])
        return L, sp.Matrix([sigma(sk) - yk for yk, sk in zip(y, yhat, strict=True)])
    raise TypeError(f"jnn.symbolic knows the package's losses (SquaredError, HalfSquaredError, "
                    f"CrossEntropy, SoftmaxCrossEntropy, BinaryCrossEntropy, "
                    f"SigmoidBinaryCrossEntropy), not {loss!r}.")


def _nonnegative(loss, y: sp.Matrix) -> None:
    if any(v.is_number and v < 0 for v in y):
        raise ValueError(f"{loss!r}: targets y must be probabilities or one-hot rows (y_k ≥ 0).")
