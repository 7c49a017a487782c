"""Losses L(ŷ, y) and their derivatives ∇_ŷ L(ŷ, y), one after the other.

``loss(yhat, y)`` is a float and ``loss.grad(yhat, y)`` an array shaped like ŷ, for one
example. For a batch, rows are examples: ``values(Yhat, Y)`` (n,) and ``grads(Yhat, Y)`` (n, h),
or both at once from ``values_and_grads``, on targets that ``targets(Yhat, Y)`` has checked —
what the batch modes use, and what a new loss implements (with ``check_targets`` for what
its targets must be, checked once per batch, and ``check_values`` for the domain of ŷ, checked
at every evaluation).
"""

from __future__ import annotations

import numpy as np

from . import _kernels
from ._validate import as_real_array, bracketed


class DomainError(ValueError):
    """ŷ lies outside the loss's domain (a CrossEntropy output outside [0, 1], or a probability
    saturated to exactly 0 or 1 where the target needs the other side): during training this is
    how divergence shows itself, so the trainers catch exactly this error."""


def require_loss(loss) -> None:
    """Raise a clear TypeError unless ``loss`` is one of this package's losses."""
    if not isinstance(loss, Loss):
        raise TypeError(
            f"loss must be a jacobian_nn loss such as HalfSquaredError(), got {loss!r}."
        )

TARGET_SUM_TOL = 1e-6  # |Σ_k y_k − 1| a cross-entropy target may have: rounding, not a 2nd label
_ONE_EXAMPLE = " L(ŷ, y) scores one example; Network.gradients(X, Y, loss) takes a batch."


class Loss:
    """L(ŷ, y) for ŷ, y ∈ R^h."""

    formula = "L(ŷ, y)"
    formula_latex = r"L(\hat y, y)"

    def __call__(self, yhat, y) -> float:
        """L(ŷ, y) for one example: ŷ and y of shape (h,)."""
        Yhat = as_real_array(yhat, f"{self!r}: ŷ", ndim=(1,), hint=_ONE_EXAMPLE)[None, :]
        Y = self.targets(Yhat, y, single=True)
        return float(self.values(Yhat, Y)[0])

    def grad(self, yhat, y) -> np.ndarray:
        """∇_ŷ L(ŷ, y), shape (h,)."""
        Yhat = as_real_array(yhat, f"{self!r}: ŷ", ndim=(1,), hint=_ONE_EXAMPLE)[None, :]
        Y = self.targets(Yhat, y, single=True)
        return self.grads(Yhat, Y)[0]

    def hessian(self, yhat, y) -> np.ndarray:
        """∇²_ŷ L(ŷ, y), shape (h, h): entry [a, b] = ∂²L/∂ŷ_a∂ŷ_b (symmetric)."""
        Yhat = as_real_array(yhat, f"{self!r}: ŷ", ndim=(1,), hint=_ONE_EXAMPLE)[None, :]
        Y = self.targets(Yhat, y, single=True)
        return np.array(self.hessians(Yhat, Y)[0])  # a fresh array, even where H is shared

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def targets(self, Yhat: np.ndarray, y, single: bool = False) -> np.ndarray:
        """Validate targets against predictions Ŷ (n, h); return Y as (n, h) float64.

        ``single``: y is one example's target, shape (h,). A bare number is refused even for
        h = 1 (as x is): y ∈ R^1 is written [y]."""
        n, h = Yhat.shape
        Y = as_real_array(y, f"{self!r}: target y", ndim=(0, 1) if single else (1, 2))
        number = single and Y.ndim == 0
        if single:
            Y = Y.reshape(1, -1)
        elif Y.ndim == 1 and h == 1:
            Y = Y[:, None]
        if number or Y.shape != (n, h):
            expected = f"y ∈ R^{h}" if single else f"Y of shape ({n}, {h})"
            got = (f"the single number {bracketed(np.asarray(y), 0)}" if number
                   else f"shape {Y.shape if not single else np.shape(y)}")
            # One number per example looks like a class label: (n,), (n, 1), or y of size 1.
            labels = np.size(y) == 1 if single else (Y.ndim == 1 or Y.shape[1] == 1)
            hint = " Class labels must be one-hot rows: see jacobian_nn.datasets.one_hot." \
                if h > 1 and labels else ""
            if number and h == 1:
                got += f": write {bracketed(np.asarray(y), 1)}"
            raise ValueError(
                f"{self!r}: the network outputs ŷ ∈ R^{h}, so it needs {expected}; "
                f"got {got}.{hint}"
            )
        self.check_targets(Y)
        self.check_values(Yhat, Y)
        return Y

    def check_targets(self, Y: np.ndarray) -> None:
        """Loss-specific checks of the targets alone (probability rows, y ∈ [0, 1]) on an
        (n, h) array: run once per batch, since Y stays fixed while the weights change."""

    def check_values(self, Yhat: np.ndarray, Y: np.ndarray) -> None:
        """Loss-specific domain checks that involve ŷ (probabilities in [0, 1], no saturated
        output) on (n, h) arrays: run at every evaluation."""

    def values(self, Yhat: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """L(ŷ_i, y_i) for every row: shape (n,)."""
        raise NotImplementedError

    def grads(self, Yhat: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """∇_ŷ L(ŷ_i, y_i)ᵀ for every row: shape (n, h)."""
        raise NotImplementedError

    def values_and_grads(self, Yhat: np.ndarray, Y: np.ndarray):
        """(``values``, ``grads``); losses whose two share work compute them together."""
        return self.values(Yhat, Y), self.grads(Yhat, Y)

    def hessians(self, Yhat: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """∇²_ŷ L(ŷ_i, y_i) for every row: shape (n, h, h)."""
        raise NotImplementedError(
            f"{self!r} has no second derivative ∇²_ŷL: give it a method hessians(Yhat, Y) "
            "returning the (n, h, h) Hessians, as the built-in losses do."
        )


class SquaredError(Loss):
    """L = ‖ŷ − y‖² (lecture 000); ∇_ŷ L = 2(ŷ − y).

    Examples
    --------
    >>> SquaredError().grad(np.array([1.0, 2.0]), np.array([0.5, 2.0]))
    array([1., 0.])
    """

    formula = "‖ŷ − y‖²"
    formula_latex = r"\lVert \hat y - y \rVert^2"

    def values(self, Yhat, Y):
        return ((Yhat - Y) ** 2).sum(axis=1)

    def grads(self, Yhat, Y):
        return 2.0 * (Yhat - Y)

    def hessians(self, Yhat, Y):
        n, h = Yhat.shape
        return np.broadcast_to(2.0 * np.eye(h), (n, h, h))  # 2I for every example, not copied


class HalfSquaredError(Loss):
    """L = ½‖ŷ − y‖² (lecture 002's Euclidean loss); ∇_ŷ L = ŷ − y."""

    formula = "½‖ŷ − y‖²"
    formula_latex = r"\tfrac12 \lVert \hat y - y \rVert^2"

    def values(self, Yhat, Y):
        return 0.5 * ((Yhat - Y) ** 2).sum(axis=1)

    def grads(self, Yhat, Y):
        return Yhat - Y

    def hessians(self, Yhat, Y):
        n, h = Yhat.shape
        return np.broadcast_to(np.eye(h), (n, h, h))  # I for every example, not copied


def _require_probability_targets(loss: Loss, Y: np.ndarray) -> None:
    """Cross-entropy compares ŷ with a distribution y: y_k ≥ 0 and Σ_k y_k = 1 (to rounding).
    A row such as [1, 1] is no distribution; the loss would silently count both classes."""
    if np.any(Y < 0):
        raise ValueError(
            f"{loss!r}: targets y must be probabilities or one-hot rows (y_k ≥ 0); "
            f"got y_k = {Y[Y < 0][0]}."
        )
    sums = _kernels.row_sums(Y)
    bad = np.abs(sums - 1.0) > TARGET_SUM_TOL
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(
            f"{loss!r}: a target y must be a probability vector (Σ_k y_k = 1), such as a "
            f"one-hot row; example i = {i} has Σ_k y_k = {sums[i]:.10g}. For several labels "
            "that can be on at once use BinaryCrossEntropy()."
        )


def _overflows(c: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Where c > 0 and c / p is not a finite float64: p = 0, or p subnormal (e^{−740})."""
    return (c > 0) & (p * np.finfo(np.float64).max < c)


def _require_unsaturated(loss: Loss, Yhat: np.ndarray, bad: np.ndarray, fused: str,
                         head: str) -> None:
    """A probability of 0 where the target needs more (σ(40) = 1 in float64) makes the loss
    +inf and its gradient ±inf, and the head's derivative 0 there: ∞ · 0 is NaN. A subnormal
    one (softmax's e^{−740}) has a finite loss but the same infinite ∇_ŷL = −y/ŷ."""
    if np.any(bad):
        i, k = (int(a) for a in np.argwhere(bad)[0])
        p = float(Yhat[i, k])
        side = 0 if p < 0.5 else 1
        what = (f"exactly {side}" if p == side else
                f"{p:.3g}, so close to {side} that the gradient overflows float64")
        raise DomainError(
            f"{loss!r}: ŷ is {what} (a saturated {head}) at example i = {i}, output {k}, where "
            "the target needs the other side: the loss's gradient is infinite or undefined "
            f"there in float64. Drop the final {head} and use {fused} on the raw scores: it "
            "computes the same loss stably."
        )


class CrossEntropy(Loss):
    """L = −Σ_k y_k log ŷ_k for probabilities ŷ; ∇_ŷ L = −y / ŷ (entries with y_k = 0 are 0).

    The target y must be a probability vector (y_k ≥ 0, Σ_k y_k = 1 to within 1e-6).

    Where ŷ_k = 0 but y_k > 0 the loss is +inf: feed scores to ``SoftmaxCrossEntropy``
    instead of probabilities when outputs can saturate.
    """

    formula = "−Σ_k y_k log ŷ_k"
    formula_latex = r"-\sum_k y_k \log \hat y_k"

    def check_targets(self, Y):
        _require_probability_targets(self, Y)

    def check_values(self, Yhat, Y):
        if np.any(Yhat < 0) or np.any(Yhat > 1):
            raise DomainError(
                f"{self!r}: ŷ must hold probabilities in [0, 1] (end the network with "
                "Softmax, or use SoftmaxCrossEntropy on raw scores)."
            )
        _require_unsaturated(self, Yhat, _overflows(Y, Yhat), "SoftmaxCrossEntropy()",
                             "Softmax")

    def values(self, Yhat, Y):
        return -_kernels.special().xlogy(Y, Yhat).sum(axis=1)  # xlogy: 0 · log 0 = 0

    def grads(self, Yhat, Y):
        with np.errstate(divide="ignore"):
            return -np.divide(Y, Yhat, out=np.zeros_like(Y), where=Y != 0)

    def hessians(self, Yhat, Y):
        # ∂(−y_k/ŷ_k)/∂ŷ_k = y_k/ŷ_k²: diag(y/ŷ²), 0 where y_k = 0 (as in the gradient).
        with np.errstate(divide="ignore"):
            d = np.divide(Y, Yhat * Yhat, out=np.zeros_like(Y), where=Y != 0)
        return _diagonals(d)


class SoftmaxCrossEntropy(Loss):
    """Cross-entropy of softmax(ŷ) for scores ŷ: L = (Σ_k y_k) logΣexp(ŷ) − yᵀŷ.

    ∇_ŷ L = (Σ_k y_k) softmax(ŷ) − y, which is softmax(ŷ) − y for the probability vectors y it
    accepts (y_k ≥ 0, Σ_k y_k = 1 to within 1e-6, as for ``CrossEntropy``). Computed with
    log-sum-exp, so scores of ±1000 give finite numbers.
    """

    formula = "−Σ_k y_k log softmax(ŷ)_k"
    formula_latex = r"-\sum_k y_k \log \operatorname{softmax}(\hat y)_k"

    def check_targets(self, Y):
        if Y.shape[1] == 1:
            raise ValueError(
                f"{self!r}: softmax of one score is always 1, so the loss is constant and its "
                "gradient 0. For two classes use one output with Sigmoid and "
                "BinaryCrossEntropy(), or two outputs with one-hot targets."
            )
        _require_probability_targets(self, Y)

    def values(self, Yhat, Y):
        return self.values_and_grads(Yhat, Y)[0]

    def grads(self, Yhat, Y):
        return self.values_and_grads(Yhat, Y)[1]

    def values_and_grads(self, Yhat, Y):
        # One exponential serves both: with M = max_k ŷ_k (the shift that keeps e^{ŷ−M} ≤ 1),
        # logΣexp(ŷ) = M + log S and softmax(ŷ) = e^{ŷ−M} / S, where S = Σ_k e^{ŷ_k−M}.
        M = _kernels.row_max(Yhat)
        E = Yhat - M[:, None]
        np.exp(E, out=E)
        S = _kernels.row_sums(E)
        t = _kernels.row_sums(Y)  # Σ_k y_k (1 for one-hot rows)
        values = t * (M + np.log(S)) - np.einsum("ij,ij->i", Y, Yhat)
        E *= (t / S)[:, None]
        E -= Y
        return values, E

    def hessians(self, Yhat, Y):
        # ∇_ŷL = t s − y with t = Σ_k y_k and s = softmax(ŷ), so ∇²_ŷL = t (diag(s) − s sᵀ).
        s = _kernels.special().softmax(Yhat, axis=1)
        H = _diagonals(s)
        H -= s[:, :, None] * s[:, None, :]
        H *= Y.sum(axis=1)[:, None, None]
        return H


class BinaryCrossEntropy(Loss):
    """L = −Σ_k [y_k log ŷ_k + (1 − y_k) log(1 − ŷ_k)] for ŷ, y ∈ [0, 1]^h.

    ∇_ŷ L = −y/ŷ + (1 − y)/(1 − ŷ); a term whose coefficient (y or 1 − y) is 0 contributes 0,
    so a confident correct prediction (ŷ = y = 1) has loss 0 and gradient −1, not 0/0.
    """

    formula = "−y log ŷ − (1 − y) log(1 − ŷ)"
    formula_latex = r"-y \log \hat y - (1 - y) \log(1 - \hat y)"

    def check_targets(self, Y):
        if np.any(Y < 0) or np.any(Y > 1):
            raise ValueError(f"{self!r}: targets y must lie in [0, 1].")

    def check_values(self, Yhat, Y):
        if np.any(Yhat < 0) or np.any(Yhat > 1):
            raise DomainError(
                f"{self!r}: ŷ must be a probability in [0, 1] (end the network with Sigmoid)."
            )
        _require_unsaturated(self, Yhat, _overflows(Y, Yhat) | _overflows(1.0 - Y, 1.0 - Yhat),
                             "SigmoidBinaryCrossEntropy()", "Sigmoid")

    def values(self, Yhat, Y):
        special = _kernels.special()
        return (-special.xlogy(Y, Yhat) - special.xlog1py(1.0 - Y, -Yhat)).sum(axis=1)

    def grads(self, Yhat, Y):
        with np.errstate(divide="ignore"):
            pos = np.divide(Y, Yhat, out=np.zeros_like(Y), where=Y != 0)
            neg = np.divide(1.0 - Y, 1.0 - Yhat, out=np.zeros_like(Y), where=Y != 1)
        return neg - pos

    def hessians(self, Yhat, Y):
        # diag(y/ŷ² + (1 − y)/(1 − ŷ)²); a term whose coefficient is 0 contributes 0, as above.
        with np.errstate(divide="ignore"):
            pos = np.divide(Y, Yhat * Yhat, out=np.zeros_like(Y), where=Y != 0)
            neg = np.divide(1.0 - Y, (1.0 - Yhat) ** 2, out=np.zeros_like(Y), where=Y != 1)
        return _diagonals(pos + neg)


def _diagonals(V: np.ndarray) -> np.ndarray:
    """diag(v_i) for every row v_i of V (n, h): shape (n, h, h)."""
    out = np.zeros((*V.shape, V.shape[1]))
    idx = np.arange(V.shape[1])
    out[:, idx, idx] = V
    return out

class SigmoidBinaryCrossEntropy(Loss):
    """Binary cross-entropy of σ(ŷ) for raw scores ŷ: the fused, stable Sigmoid + BCE pair.

    L = Σ_k [log(1 + e^{ŷ_k}) − y_k ŷ_k] = Σ_k [max(ŷ_k, 0) − y_k ŷ_k + log(1 + e^{−|ŷ_k|})],
    ∇_ŷ L = σ(ŷ) − y: finite for any finite score, where ``Sigmoid()`` then
    ``BinaryCrossEntropy()`` reach σ = 1 exactly (at ŷ ≈ 37) and give ∞ · 0.

    Examples
    --------
    >>> loss = SigmoidBinaryCrossEntropy()
    >>> loss(np.array([40.0]), np.array([0.0])), loss.grad(np.array([40.0]), np.array([0.0]))
    (40.0, array([1.]))
    """

    formula = "−y log σ(ŷ) − (1 − y) log(1 − σ(ŷ))"
    formula_latex = r"-y \log \sigma(\hat y) - (1 - y) \log(1 - \sigma(\hat y))"

    def check_targets(self, Y):
        if np.any(Y < 0) or np.any(Y > 1):
            raise ValueError(f"{self!r}: targets y must lie in [0, 1].")

    def values(self, Yhat, Y):
        return (np.maximum(Yhat, 0.0) - Y * Yhat + np.log1p(np.exp(-np.abs(Yhat)))).sum(axis=1)

    def grads(self, Yhat, Y):
        return _kernels.special().expit(Yhat) - Y

    def hessians(self, Yhat, Y):
        s = _kernels.special().expit(Yhat)
        return _diagonals(s * (1.0 - s))  # ∇²_ŷL = diag(σ(ŷ)(1 − σ(ŷ)))
