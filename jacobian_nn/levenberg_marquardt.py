"""Levenberg–Marquardt: damped Gauss–Newton steps built from the explicit Jacobians.

For the mean loss F(w) = (1/n) Σ_i L(f_W(x_i), y_i), each update solves one dense d×d system

    w_{t+1} = w_t − (G + μ I)⁻¹ ∇F(w_t),    G = (1/n) Σ_i J_iᵀ ∇²_ŷL J_i   (the GGN, ``net.ggn``),

with J_i = D_W f_W(x_i). For the squared errors, with residuals r_i = f_W(x_i) − y_i stacked
into r ∈ R^{n h_m} and the J_i stacked into J̃ ∈ R^{n h_m × d}, ∇²_ŷL = c I with c = 2 for
SquaredError (L = ‖r_i‖²) and c = 1 for HalfSquaredError (L = ½‖r_i‖²), so G = (c/n) J̃ᵀJ̃,
∇F = (c/n) J̃ᵀ r and the update is the classical one,

    w_{t+1} = w_t − (J̃ᵀJ̃ + (n μ / c) I)⁻¹ J̃ᵀ r,

whose μ → 0 limit is the Gauss–Newton step of the mean loss for either factor c. One μ means
the same for every loss: the damping added to the GGN of the mean loss. μ adapts as
Marquardt's rule does: a step that lowers F is accepted and μ ← μ/10; one that does not is
rejected and retried with μ ← 10 μ, within [``MU_MIN``, ``MU_MAX``].
"""

from __future__ import annotations

import warnings

import numpy as np

from ._validate import nonnegative_float, positive_float, positive_int
from .curvature import ggn
from .history import History
from .losses import Loss
from .network import Network

MU_MIN, MU_MAX = 1e-12, 1e10  #: the range μ stays in
MAX_DENSE_PARAMS = 4096  #: default largest d: one d×d float64 matrix is then 128 MiB


def _size(nbytes: float) -> str:
    """A byte count in the largest binary unit up to GiB, e.g. ``128.0 MiB``."""
    k = min(int(np.log2(max(nbytes, 1.0))) // 10, 3)
    return f"{nbytes / 1024 ** k:.1f} {('bytes', 'KiB', 'MiB', 'GiB')[k]}"


def _step(G: np.ndarray, grad: np.ndarray, mu: float) -> np.ndarray | None:
    """(G + μI)⁻¹ ∇F by Cholesky; None when G + μI is not numerically positive definite."""
    from scipy import linalg  # where it is used: scipy.linalg is slow to import

    try:
        factor = linalg.cho_factor(G + mu * np.eye(len(G)), check_finite=False)
    except linalg.LinAlgError:
        return None
    step = linalg.cho_solve(factor, grad, check_finite=False)
    return step if np.isfinite(step).all() else None


class LevenbergMarquardt:
    """Levenberg–Marquardt training of a whole network (module docstring).

    Parameters
    ----------
    damping : float
        The starting μ > 0, in [MU_MIN, MU_MAX]; MATLAB's ``trainlm`` also starts at 1e-3.
    max_iters : int
        At most this many accepted updates.
    tol : float or None
        Stop when |loss_t − loss_{t+1}| < tol; None never stops early on that.
    max_params : int
        The largest d accepted: the dense d×d solve needs memory for a few d×d matrices.

    Attributes
    ----------
    dampings : list of float
        After ``fit``: the μ of each accepted update, in order.

    Examples
    --------
    >>> import jacobian_nn as jnn
    >>> X, Y = jnn.datasets.xor()
    >>> net = jnn.mlp([2, 3, 1], seed=0)
    >>> h = LevenbergMarquardt(max_iters=100, tol=1e-12).fit(net, X, Y, jnn.SquaredError())
    >>> h.final_loss < 1e-6, h.n_iters < 100
    (True, True)
    """

    def __init__(self, damping: float = 1e-3, max_iters: int = 100, tol: float | None = None,
                 *, max_params: int = MAX_DENSE_PARAMS):
        self.damping = positive_float(damping, "LevenbergMarquardt: damping (μ)")
        if not MU_MIN <= self.damping <= MU_MAX:
            raise ValueError(f"LevenbergMarquardt: damping (μ) must lie in [{MU_MIN:g}, "
                             f"{MU_MAX:g}], got {damping!r}.")
        self.max_iters = positive_int(max_iters, "LevenbergMarquardt: max_iters")
        self.tol = None if tol is None else nonnegative_float(tol, "LevenbergMarquardt: tol")
        self.max_params = positive_int(max_params, "LevenbergMarquardt: max_params")
        self.dampings: list[float] = []

    def __repr__(self) -> str:
        return (f"LevenbergMarquardt(damping={self.damping:g}, max_iters={self.max_iters}, "
                f"tol={self.tol})")

    def _require_small(self, d: int) -> None:
        if d > self.max_params:
            raise ValueError(
                f"LevenbergMarquardt solves a dense d×d system, and this network has d = {d} "
                f"parameters: one d×d float64 matrix takes {_size(8.0 * d * d)} (8·d² bytes) "
                "and a step holds about three (the GGN, its damped copy, its Cholesky factor). "
                f"The limit is d ≤ {self.max_params} ({_size(8.0 * self.max_params ** 2)} per "
                "matrix); raise it with max_params=… if you have the memory, or train with "
                "GradientDescent."
            )
        if d == 0:
            raise ValueError("LevenbergMarquardt: the network has no parameters (d = 0).")

    def fit(self, net: Network, X, Y, loss: Loss) -> History:
        """Train ``net`` in place; return the ``History`` (the meaning ``GradientDescent`` gives).

        ``losses[t]`` is the mean loss of W_t, which every accepted update lowers. The network
        only ever keeps finite weights: a trial step whose weights or loss are not finite (or
        whose ŷ leaves the loss's domain) is rejected like any step that does not lower the
        loss. ``stop_reason`` is ``"max_iters"``, ``"converged"`` (|Δloss| < tol, a zero
        gradient, or no μ up to MU_MAX lowers the loss: a minimum at working precision),
        ``"diverged"`` (the GGN or gradient at W_t is not finite, so no step can be computed;
        the network keeps W_t and a RuntimeWarning says so) or ``"interrupted"`` (Ctrl-C; the
        network holds the last accepted W_t). A non-finite loss at the starting weights
        raises ValueError; bad X, Y or loss get the errors of ``net.gradients``.
        """
        if not isinstance(net, Network):
            raise TypeError(f"fit trains a jacobian_nn.Network, got {type(net).__name__}.")
        self._require_small(net.n_params)
        # Overflow in a rejected trial is expected and handled; numpy's warnings would only
        # bury ours (or raise first under warnings-as-errors).
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._fit(net, X, Y, loss)

    def _evaluate(self, net: Network, X, Y, loss: Loss):
        """The mean loss and gradient at the network's current weights; (inf, None) when the
        forward pass overflows or ŷ leaves the loss's domain there."""
        try:
            value, grads = net.gradients(X, Y, loss, mode="reverse")
        except ValueError:
            return np.inf, None
        return value, _flat(grads)

    def _fit(self, net: Network, X, Y, loss: Loss) -> History:
        hist, self.dampings = History(), []
        state = (np.array(net.params), 0)  # (W_t, t): replaced in one assignment, never mixed
        mu = self.damping
        try:
            value, grads = net.gradients(X, Y, loss, mode="reverse")  # every input check
            if not np.isfinite(value):
                raise ValueError(
                    f"The loss at the starting weights is not finite ({value}), so there is "
                    "nothing to descend from. Check the targets against the loss (for "
                    "probabilities that can reach 0, use SoftmaxCrossEntropy on raw scores)."
                )
            grad = _flat(grads)
            hist.losses.append(value)
            hist.iters.append(0)
            hist.data_losses.append(value)
            hist.penalties.append(0.0)
            for t in range(self.max_iters):
                w = state[0]
                G = ggn(net, X, Y, loss)
                if not (np.isfinite(G).all() and np.isfinite(grad).all()):
                    self._diverged(hist, t + 1, "the Gauss–Newton matrix or the gradient at the "
                                   "current weights is not finite")
                    return hist
                if not grad.any():
                    hist.stop_reason = "converged"
                    return hist
                while True:
                    step = _step(G, grad, mu)
                    trial = None if step is None else w - step
                    if trial is not None and np.isfinite(trial).all():
                        net.params = trial
                        new_value, new_grad = self._evaluate(net, X, Y, loss)
                        if new_value < value:
                            break
                        net.params = w
                    if mu >= MU_MAX:  # even a tiny steepest-descent step does not lower F
                        hist.stop_reason = "converged"
                        return hist
                    mu = min(10.0 * mu, MU_MAX)
                self.dampings.append(mu)
                hist.losses.append(new_value)
                hist.iters.append(t + 1)
                hist.data_losses.append(new_value)
                hist.penalties.append(0.0)
                state = (trial, t + 1)
                hist.n_iters = t + 1
                previous, value, grad = value, new_value, new_grad
                mu = max(mu / 10.0, MU_MIN)
                if self.tol is not None and previous - value < self.tol:
                    hist.stop_reason = "converged"
                    return hist
            hist.stop_reason = "max_iters"
        except KeyboardInterrupt:
            w, n_iters = state
            net.params = w  # the last accepted W_t, whole, even if a trial was being assigned
            hist.n_iters, hist.stop_reason = n_iters, "interrupted"
            hist.losses = hist.losses[:n_iters + 1]
            hist.iters = hist.iters[:n_iters + 1]
            hist.data_losses = hist.data_losses[:n_iters + 1]
            hist.penalties = hist.penalties[:n_iters + 1]
            self.dampings = self.dampings[:n_iters]
        return hist

    def _diverged(self, hist: History, t: int, what: str) -> None:
        hist.stop_reason = "diverged"
        warnings.warn(
            f"Levenberg–Marquardt stopped at update {t}: {what}. The network keeps the weights "
            f"after update {hist.n_iters} (loss {hist.losses[-1]:.6g}).",
            RuntimeWarning,
            stacklevel=4,  # at the user's fit() call: fit → _fit → _diverged
        )


def _flat(grads: list[np.ndarray]) -> np.ndarray:
    """The layers' gradients as one vector ∇F ∈ R^d, in the order of ``net.params``."""
    return np.concatenate([g.ravel() for g in grads])
