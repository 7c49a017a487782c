"""Full-batch gradient descent, lecture 000:

    W_{t+1,j} = W_{t,j} − (α/n) Σ_i ∇_{W_j} L(f_{W_t}(x_i), y_i)    for every layer j at once.

Every layer's step uses gradients computed at the same W_t; only then are all layers updated.

Two options from lecture 001 (docs/beyond.md): a ``penalty`` λ R(W_j) on chosen layers, whose
gradient λ ∇R(W_j) is added to the data gradient, and minibatches (``batch_size``): each update
averages over B examples of a seeded shuffle instead of all n.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ._validate import nonnegative_float, positive_float, positive_int
from .losses import Loss
from .network import MODES, Network
from .regularization import Penalty


@dataclass
class History:
    """What a training run did.

    Attributes
    ----------
    losses : list of float
        ``losses[t]`` = (1/n) Σ_i L(f_{W_t}(x_i), y_i) + λ Σ_j R(W_{t,j}), the objective after
        t updates (the total: data loss plus penalty; without a penalty just the data loss),
        always over all n examples, also when updates use minibatches; ``losses[0]`` is the
        starting value and the last entry that of the returned weights (after an
        interruption the returned weights' value may not have been computed yet).
    data_losses : list of float
        ``data_losses[t]`` = (1/n) Σ_i L(f_{W_t}(x_i), y_i), the data term alone.
    penalties : list of float
        ``penalties[t]`` = λ Σ_j R(W_{t,j}) over the penalised layers (0.0 without a penalty).
    n_iters : int
        Updates applied: the network holds W_{n_iters}.
    stop_reason : str
        ``"max_iters"``, ``"converged"`` (|Δloss| < tol), ``"diverged"`` (a non-finite loss or
        weight appeared; the network was restored to the last weights whose loss was finite) or
        ``"interrupted"`` (Ctrl-C; the network holds the last completed update).
    """

    losses: list[float] = field(default_factory=list)
    data_losses: list[float] = field(default_factory=list)
    penalties: list[float] = field(default_factory=list)
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
        if not self.losses:  # Ctrl-C before the first loss was computed
            raise ValueError("No loss was recorded: training stopped before computing one.")
        return self.losses[-1]

    def __repr__(self) -> str:
        losses = (f"loss {self.losses[0]:.6g} → {self.losses[-1]:.6g}" if self.losses
                  else "no loss recorded")
        return f"History(n_iters={self.n_iters}, stop_reason={self.stop_reason!r}, {losses})"


class GradientDescent:
    """Gradient descent with learning rate α = ``lr`` (full batch unless ``batch_size``).

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
    penalty : Penalty or None
        ``L2(λ)``, ``L1(λ)`` or ``ElasticNet(λ, β)``: each update then follows
        ∇_W L(W) = (1/N) Σ_i ∇_W L_i + λ ∇_W R(W) (lecture 001), N the examples of the update.
    penalized_layers : sequence of int or None
        Lecture indices j (1 … m) of the layers the penalty applies to; None means every
        layer with parameters.
    batch_size : int or None
        None (the default): full batch, every update uses all n examples. B: minibatch SGD —
        each epoch shuffles the n examples with ``numpy.random.default_rng(seed)`` and cuts the
        order into ⌈n/B⌉ batches of B (the last holds the n mod B rest, if any); one iteration
        (counted by ``max_iters`` and ``History.n_iters``) is one update on one batch.
    seed : int or None
        Seed of the shuffling generator; a fixed seed gives the same batches every run.

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
                 mode: str = "jacobian", *, penalty: Penalty | None = None,
                 penalized_layers: Sequence[int] | None = None, batch_size: int | None = None,
                 seed: int | None = None):
        self.lr = positive_float(lr, "GradientDescent: lr (the learning rate α)")
        self.max_iters = positive_int(max_iters, "GradientDescent: max_iters")
        self.tol = None if tol is None else nonnegative_float(tol, "GradientDescent: tol")
        if mode not in MODES:
            raise ValueError(f"GradientDescent: mode must be one of {MODES}, got {mode!r}.")
        self.mode = mode
        if penalty is not None and not isinstance(penalty, Penalty):
            raise TypeError(f"GradientDescent: penalty must be None or a jacobian_nn penalty "
                            f"(L2, L1, ElasticNet), got {penalty!r}.")
        self.penalty = penalty
        if penalized_layers is not None and not isinstance(penalized_layers, list | tuple | range):
            raise TypeError(f"GradientDescent: penalized_layers must be None or a list of lecture "
                            f"indices j, e.g. [1, 3]; got {penalized_layers!r}.")
        self.penalized_layers = None if penalized_layers is None else tuple(penalized_layers)
        self.batch_size = (None if batch_size is None
                           else positive_int(batch_size, "GradientDescent: batch_size (B)"))
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
            raise TypeError(f"GradientDescent: seed must be None or a whole number, got {seed!r}.")
        self.seed = seed

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in [
            ("penalty", self.penalty), ("penalized_layers", self.penalized_layers),
            ("batch_size", self.batch_size), ("seed", self.seed)] if v is not None)
        return (f"GradientDescent(lr={self.lr:g}, max_iters={self.max_iters}, tol={self.tol}, "
                f"mode={self.mode!r}{extra})")

    def _penalized(self, net: Network) -> list[int]:
        """0-based indices of the layers the penalty applies to."""
        if self.penalty is None:
            return []
        if self.penalized_layers is None:
            return [i for i, L in enumerate(net.layers) if L.n_params > 0]
        for j in self.penalized_layers:
            if isinstance(j, bool) or not isinstance(j, int | np.integer) or not 1 <= j <= net.m:
                raise ValueError(f"GradientDescent: penalized_layers holds lecture indices "
                                 f"j = 1 … {net.m} (m = {net.m}), got {j!r}.")
            if net.layers[j - 1].n_params == 0:
                raise ValueError(f"GradientDescent: penalized_layers names layer {j} "
                                 f"({net.layers[j - 1].describe()}), which has no parameters.")
        return sorted({int(j) - 1 for j in self.penalized_layers})

    def _regularize(self, net: Network, grads: list, penalized: list[int]) -> tuple[float, list]:
        """λ Σ_j R(W_j) at the current W, and the gradients with λ ∇R(W_j) added."""
        if not penalized:
            return 0.0, grads
        value = sum(self.penalty(net.layers[i].params) for i in penalized)
        grads = [g + self.penalty.grad(net.layers[i].params) if i in penalized else g
                 for i, g in enumerate(grads)]
        return value, grads

    def _batches(self, n: int):
        """Index arrays of the minibatches, epoch after epoch (None for full batch)."""
        if self.batch_size is None:
            return None
        rng = np.random.default_rng(self.seed)

        def epochs():
            while True:
                order = rng.permutation(n)
                for start in range(0, n, self.batch_size):
                    yield order[start:start + self.batch_size]

        return epochs()

    def _data_step(self, net: Network, X, Y, loss: Loss, batches) -> tuple[float, list]:
        """The data loss at W_t over all n examples, and the mean gradient for this update."""
        if batches is None:
            return net._gradients(X, Y, loss, self.mode)
        idx = next(batches)
        _, grads = net._gradients(X[idx], Y[idx], loss, self.mode)
        Yhat = net._forward_all(X)[-1]
        return float(loss._values(Yhat, loss._check(Yhat, Y)).mean()), grads

    def step(self, net: Network, X, Y, loss: Loss) -> float:
        """Apply one update W_{t+1,j} = W_{t,j} − α ∇_{W_j}(objective) on all of (X, Y), with
        the penalty if one is set; return the objective (mean loss + penalty) at W_t."""
        value, grads = net.gradients(X, Y, loss, mode=self.mode)
        penalty, grads = self._regularize(net, grads, self._penalized(net))
        new = [L.params - self.lr * g for L, g in zip(net.layers, grads, strict=True)]
        if not _finite(new):
            raise ValueError(
                "GradientDescent: an update made a weight non-finite (NaN or ±inf); the network "
                "was left unchanged. Try a smaller learning rate."
            )
        _assign(net, new)
        return value + penalty

    def fit(self, net: Network, X, Y, loss: Loss) -> History:
        """Train ``net`` in place; return the ``History``.

        Divergence never leaves NaN weights behind: if the loss or a weight becomes
        non-finite, or ŷ leaves the loss's domain (a CrossEntropy output outside [0, 1]),
        the network is restored to the last weights whose loss was finite, a
        RuntimeWarning names the update and the learning rate, and ``history.stop_reason`` is
        ``"diverged"``. Ctrl-C (KeyboardInterrupt) stops training with the network at the last
        completed update and returns the history so far (``stop_reason`` ``"interrupted"``).
        A non-finite loss at the starting weights raises ValueError. See docs/robustness.md.
        """
        if not isinstance(net, Network):
            raise TypeError(f"fit trains a jacobian_nn.Network, got {type(net).__name__}.")
        X, Y = net._check_batch(X, Y, loss)  # validate once, not every iteration
        # Overflow on the way to divergence is expected and detected in _fit; numpy's own
        # warnings would only bury ours (or raise first under warnings-as-errors).
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._fit(net, X, Y, loss)

    def _fit(self, net: Network, X: np.ndarray, Y: np.ndarray, loss: Loss) -> History:
        penalized = self._penalized(net)
        batches = self._batches(X.shape[0])
        hist = History()
        # W_t, assigned to every layer in full. Params are replaced, never written into, but a
        # composite layer's params is a read-only copy, and restoring it must leave its layers
        # writable params: so copies.
        current = [np.array(L.params) for L in net.layers]
        last_good = current  # the latest W_t whose loss is finite: its loss is losses[-1]
        try:
            for t in range(self.max_iters + 1):
                try:
                    data_value, grads = self._data_step(net, X, Y, loss, batches)
                except ValueError as err:
                    # X and Y passed at W_0, so an error now means W_t took ŷ out of the loss's
                    # domain (CrossEntropy's ŷ left [0, 1]): stop as for divergence.
                    if not hist.losses:
                        raise
                    what = f"ŷ left the loss's domain: {str(err).rstrip('.')}"
                    self._diverged(net, last_good, hist, t, what)
                    return hist
                penalty, grads = self._regularize(net, grads, penalized)
                value = data_value + penalty
                if not np.isfinite(value):
                    self._diverged(net, last_good, hist, t, f"the loss became {value}")
                    return hist
                hist.losses.append(value)
                hist.data_losses.append(data_value)
                hist.penalties.append(penalty)
                last_good = current
                if t > 0 and self.tol is not None and abs(hist.losses[-2] - value) < self.tol:
                    hist.stop_reason = "converged"
                    return hist
                if t == self.max_iters:
                    hist.stop_reason = "max_iters"
                    return hist
                new = [L.params - self.lr * g for L, g in zip(net.layers, grads, strict=True)]
                if not _finite(new):
                    self._diverged(net, last_good, hist, t + 1, "a weight became non-finite")
                    return hist
                _assign(net, new)
                current = new
                hist.n_iters = t + 1
        except KeyboardInterrupt:
            _assign(net, current)  # an interrupted assignment never leaves a mixed W
            hist.stop_reason = "interrupted"
            keep = min(hist.n_iters + 1, len(hist.losses), len(hist.data_losses),
                       len(hist.penalties))
            hist.losses = hist.losses[:keep]
            hist.data_losses = hist.data_losses[:keep]
            hist.penalties = hist.penalties[:keep]
        return hist

    def _diverged(self, net, last_good, hist, t, what) -> None:
        if not hist.losses:
            raise ValueError(
                f"The loss at the starting weights is not finite ({what}), so there is nothing "
                "to descend from. Check the targets against the loss (for probabilities that "
                "can reach 0, use SoftmaxCrossEntropy on raw scores)."
            )
        _assign(net, last_good)
        hist.stop_reason = "diverged"
        hist.n_iters = len(hist.losses) - 1  # last_good = W_{n_iters}, the last finite loss
        warnings.warn(
            f"Gradient descent diverged at update {t}: {what}. The network was restored to "
            f"the weights after update {hist.n_iters} (loss {hist.losses[-1]:.6g}). "
            f"Try a smaller learning rate than lr = {self.lr:g}.",
            RuntimeWarning,
            stacklevel=4,  # warn at the user's fit() call: fit → _fit → _diverged
        )


def _finite(params: list[np.ndarray]) -> bool:
    """No NaN or ±inf in any layer's new weights: checked before any layer is assigned."""
    return all(np.isfinite(p).all() for p in params if p.size)


def _assign(net: Network, params: list[np.ndarray]) -> None:
    # The trainer's own fresh, already-checked arrays: installed as they are, without the public
    # setter's checks and copy (params are replaced, never written into, so ``last_good`` stays
    # valid).
    for layer, p in zip(net.layers, params, strict=True):
        layer._assign_params(p)
