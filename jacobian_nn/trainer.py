"""Full-batch gradient descent, lecture 000:

    W_{t+1,j} = W_{t,j} − (α/n) Σ_i ∇_{W_j} L(f_{W_t}(x_i), y_i)    for every layer j at once.

Every layer's step uses gradients computed at the same W_t; only then are all layers updated.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ._validate import positive_float, positive_int
from .losses import Loss
from .network import MODES, Network


@dataclass
class History:
    """What a training run did.

    Attributes
    ----------
    losses : list of float
        ``losses[t]`` = (1/n) Σ_i L(f_{W_t}(x_i), y_i), the loss after t updates; ``losses[0]``
        is the starting loss and the last entry the loss of the returned weights.
    n_iters : int
        Updates applied.
    stop_reason : str
        ``"max_iters"``, ``"converged"`` (|Δloss| < tol), ``"diverged"`` (a non-finite loss or
        weight appeared; the network was restored to the last finite weights) or
        ``"interrupted"`` (Ctrl-C; the network holds the last completed update).
    """

    losses: list[float] = field(default_factory=list)
    n_iters: int = 0
    stop_reason: str = ""

    @property
    def converged(self) -> bool:
        return self.stop_reason == "converged"

    @property
    def diverged(self) -> bool:
        return self.stop_reason == "diverged"

    @property
    def final_loss(self) -> float:
        return self.losses[-1]

    def __repr__(self) -> str:
        return (
            f"History(n_iters={self.n_iters}, stop_reason={self.stop_reason!r}, "
            f"loss {self.losses[0]:.6g} → {self.losses[-1]:.6g})"
        )


class GradientDescent:
    """Full-batch gradient descent with learning rate α = ``lr``.

    Parameters
    ----------
    lr : float
        α > 0.
    max_iters : int
        At most this many updates.
    tol : float or None
        Stop when |loss_t − loss_{t+1}| < tol; None never stops early.
    mode : {"jacobian", "lecture", "reverse"}
        How ``Network.gradients`` computes the gradient; all give the same numbers.

    Examples
    --------
    >>> import jacobian_nn as jnn
    >>> net = jnn.Network([jnn.Linear([[0.0]])])
    >>> X, Y = np.array([[1.0], [2.0]]), np.array([[2.0], [4.0]])
    >>> h = jnn.GradientDescent(lr=0.1, max_iters=200, tol=1e-12).fit(net, X, Y, jnn.SquaredError())
    >>> round(float(net.layers[0].W[0, 0]), 6), h.stop_reason
    (2.0, 'converged')
    """

    def __init__(self, lr: float, max_iters: int = 1000, tol: float | None = None,
                 mode: str = "jacobian"):
        self.lr = positive_float(lr, "GradientDescent: lr (the learning rate α)")
        self.max_iters = positive_int(max_iters, "GradientDescent: max_iters")
        self.tol = None if tol is None else float(tol)
        if self.tol is not None and not (np.isfinite(self.tol) and self.tol >= 0):
            raise ValueError(f"GradientDescent: tol must be None or finite and ≥ 0, got {tol!r}.")
        if mode not in MODES:
            raise ValueError(f"GradientDescent: mode must be one of {MODES}, got {mode!r}.")
        self.mode = mode

    def __repr__(self) -> str:
        return (f"GradientDescent(lr={self.lr:g}, max_iters={self.max_iters}, tol={self.tol}, "
                f"mode={self.mode!r})")

    def step(self, net: Network, X, Y, loss: Loss) -> float:
        """Apply one update W_{t+1,j} = W_{t,j} − α ∇_{W_j}(mean loss); return the loss at W_t."""
        value, grads = net.gradients(X, Y, loss, mode=self.mode)
        new = [L.params - self.lr * g for L, g in zip(net.layers, grads, strict=True)]
        _assign(net, new)
        return value

    def fit(self, net: Network, X, Y, loss: Loss) -> History:
        """Train ``net`` in place; return the ``History``.

        Divergence never leaves NaN weights behind: if the loss or a weight becomes
        non-finite, the network is restored to the last finite weights, a RuntimeWarning
        names the iteration, and ``history.stop_reason`` is ``"diverged"``.
        """
        if not isinstance(net, Network):
            raise TypeError(f"fit trains a jacobian_nn.Network, got {type(net).__name__}.")
        X, Y = net._check_batch(X, Y, loss)  # validate once, not every iteration
        hist = History()
        last_good = [L.params for L in net.layers]  # params are replaced, never written into
        try:
            for t in range(self.max_iters + 1):
                value, grads = net._gradients(X, Y, loss, self.mode)
                if not np.isfinite(value):
                    self._diverged(net, last_good, hist, t, f"the loss became {value}")
                    return hist
                hist.losses.append(value)
                if t > 0 and self.tol is not None and abs(hist.losses[-2] - value) < self.tol:
                    hist.stop_reason = "converged"
                    return hist
                if t == self.max_iters:
                    hist.stop_reason = "max_iters"
                    return hist
                new = [L.params - self.lr * g for L, g in zip(net.layers, grads, strict=True)]
                if not all(np.all(np.isfinite(p)) for p in new):
                    self._diverged(net, last_good, hist, t + 1, "a weight became non-finite")
                    return hist
                _assign(net, new)
                last_good = new
                hist.n_iters = t + 1
        except KeyboardInterrupt:
            _assign(net, last_good)  # an interrupted assignment never leaves a mixed W
            hist.stop_reason = "interrupted"
            if len(hist.losses) > hist.n_iters + 1:
                hist.losses = hist.losses[: hist.n_iters + 1]
        return hist

    def _diverged(self, net, last_good, hist, t, what) -> None:
        _assign(net, last_good)
        hist.stop_reason = "diverged"
        kept = (f"the weights after update {hist.n_iters} (loss {hist.losses[-1]:.6g})"
                if hist.losses else "its starting weights")
        warnings.warn(
            f"Gradient descent diverged at update {t}: {what}. The network was restored to "
            f"{kept}. "
            f"Try a smaller learning rate than lr = {self.lr:g}.",
            RuntimeWarning,
            stacklevel=3,
        )


def _assign(net: Network, params: list[np.ndarray]) -> None:
    # The trainer's own fresh arrays: installed as they are, without the public setter's checks
    # and copy (params are replaced, never written into, so ``last_good`` stays valid). One
    # finiteness check first, so that no update can leave NaN or inf weights, nor a mixed W.
    if not all(np.isfinite(p).all() for p in params if p.size):
        raise ValueError(
            "GradientDescent: an update made a weight non-finite (NaN or ±inf); the network was "
            "left unchanged. Try a smaller learning rate."
        )
    for layer, p in zip(net.layers, params, strict=True):
        layer._assign_params(p)
