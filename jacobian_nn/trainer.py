"""Full-batch gradient descent, lecture 000:

    W_{t+1,j} = W_{t,j} − (α/n) Σ_i ∇_{W_j} L(f_{W_t}(x_i), y_i)    for every layer j at once.

Every layer's step uses gradients computed at the same W_t; only then are all layers updated.

``GradientDescent.update`` is that line; ``step`` applies it once and ``fit`` in a loop, so
``fit(max_iters=k)`` evaluates k gradients and k + 1 losses (the last by a forward pass alone).

Two options from lecture 001 (docs/beyond.md): a ``penalty`` λ R(W_j) on chosen layers, whose
gradient λ ∇R(W_j) is added to the data gradient, and minibatches (``batch_size``): each update
averages over B examples of a seeded shuffle instead of all n.
"""

from __future__ import annotations

import math
import signal
import threading
import warnings
from collections.abc import Sequence

import numpy as np

from ._kernels import all_finite
from ._validate import nonnegative_float, positive_float, positive_int
from .batch import MODES, Batch, NonFiniteError
from .history import History
from .losses import DomainError, Loss
from .network import Network
from .regularization import Penalty

GROWTH = 1e4  # a recorded loss this many times the starting loss is divergence, not descent


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
    record : {"epoch", "update"}
        When ``fit`` records the full-data objective in ``History.losses``: after every epoch
        (the default; full batch, an epoch is one update) or after every update, which costs a
        forward pass over all n examples per minibatch update.

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
                 seed: int | None = None, record: str = "epoch"):
        self.lr = positive_float(lr, "GradientDescent: lr (the learning rate α)")
        self.max_iters = positive_int(max_iters, "GradientDescent: max_iters")
        self.tol = None if tol is None else nonnegative_float(tol, "GradientDescent: tol")
        if mode not in MODES:
            raise ValueError(f"GradientDescent: mode must be one of {MODES}, "
                             f"got {mode!r}.")
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
        if seed is not None and seed < 0:
            raise ValueError(f"GradientDescent: seed must be ≥ 0 (numpy's generators take no "
                             f"negative seed), got {seed!r}.")
        self.seed = seed
        if record not in ("epoch", "update"):
            raise ValueError(f"GradientDescent: record must be 'epoch' or 'update', "
                             f"got {record!r}.")
        self.record = record

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

    def _penalty(self, net: Network, penalized: list[int]) -> float:
        """λ Σ_j R(W_j) over the penalised layers, at the current W."""
        return sum((self.penalty(net.layers[i].params) for i in penalized), 0.0)

    def _regularize(self, net: Network, grads: list, penalized: list[int]) -> tuple[float, list]:
        """λ Σ_j R(W_j) at the current W, and the gradients with λ ∇R(W_j) added."""
        if not penalized:
            return 0.0, grads
        grads = [g + self.penalty.grad(net.layers[i].params) if i in penalized else g
                 for i, g in enumerate(grads)]
        return self._penalty(net, penalized), grads

    def update(self, net: Network, batch: Batch, penalized: list[int]):
        """W_{t+1,j} = W_{t,j} − α ∇_{W_j}(objective) for every layer j at once, all gradients
        taken at W_t; returns (data loss at W_t on ``batch``, penalty at W_t, [W_{t+1,j}]).

        The new weights are not installed: the caller checks them first.
        """
        data_value, grads = batch.gradients(self.mode)
        penalty, grads = self._regularize(net, grads, penalized)
        lr = self.lr
        new = [layer.params - lr * g if g.size else layer.params
               for layer, g in zip(net.layers, grads, strict=True)]
        return data_value, penalty, new

    def step(self, net: Network, X, Y, loss: Loss) -> float:
        """Apply one update on all of (X, Y), with the penalty if one is set; return the
        objective (mean loss + penalty) at W_t."""
        _require_network(net)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is found, not warned of
            data_value, penalty, new = self.update(net, net.check_batch(X, Y, loss),
                                                   self._penalized(net))
        if not all_finite(*new):
            raise ValueError(
                "GradientDescent: an update made a weight non-finite (NaN or ±inf); the network "
                "was left unchanged. Try a smaller learning rate."
            )
        _install(net, new)
        return data_value + penalty

    def fit(self, net: Network, X, Y, loss: Loss) -> History:
        """Train ``net`` in place; return the ``History``.

        Divergence never leaves NaN weights behind: if the loss or a weight becomes
        non-finite, or ŷ leaves the loss's domain (a CrossEntropy output outside [0, 1]),
        the network is restored to the last recorded weights, a RuntimeWarning names the
        update and the learning rate, and ``history.stop_reason`` is ``"diverged"``. Ctrl-C
        (KeyboardInterrupt) stops training with the network at the last completed update and
        returns the history so far (``stop_reason`` ``"interrupted"``). A non-finite loss at
        the starting weights raises ValueError. See docs/robustness.md.
        """
        _require_network(net)
        full = net.check_batch(X, Y, loss)  # validated once, not at every update
        # Overflow on the way to divergence is expected and detected below; numpy's own
        # warnings would only bury ours (or raise first under warnings-as-errors).
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            with _Interrupts() as interrupts:
                return _Run(self, net, full, interrupts).run()


class _Run:
    """One ``fit``: the loop over ``GradientDescent.update`` and what it records."""

    def __init__(self, gd: GradientDescent, net: Network, full: Batch, interrupts: _Interrupts):
        self.gd, self.net, self.full, self.interrupts = gd, net, full, interrupts
        self.penalized = gd._penalized(net)
        self.hist = History()
        # W_t as arrays of our own: params are replaced, never written into, and a composite
        # layer's params is a read-only copy whose restore must leave its layers writable.
        self.current = [np.array(layer.params) for layer in net.layers]
        self.recorded = self.current  # the weights of the last recorded (finite) loss

    def batches(self):
        """The examples of each update: all n, or minibatches of a seeded shuffle, epoch after
        epoch; yields (batch, whether the update starts an epoch)."""
        gd, n = self.gd, self.full.n
        if gd.batch_size is None:
            while True:
                yield self.full, True
        rng = np.random.default_rng(gd.seed)
        while True:
            order = rng.permutation(n)
            for start in range(0, n, gd.batch_size):
                yield self.full.subset(order[start:start + gd.batch_size]), start == 0

    def record(self, data_value: float, penalty: float, t: int) -> bool:
        """Record the objective at W_t; False (and stop) if it is not finite or has converged."""
        hist, value = self.hist, data_value + penalty
        if not math.isfinite(value):
            self.diverged(t, f"the loss became {value}")
            return False
        if hist.losses and hist.losses[0] > 0 and value > GROWTH * hist.losses[0]:
            self.diverged(t, f"the loss grew from {hist.losses[0]:.6g} to {value:.6g}, more than "
                             f"{GROWTH:g} times its start")
            return False
        hist.losses.append(value)
        hist.iters.append(t)
        hist.data_losses.append(data_value)
        hist.penalties.append(penalty)
        self.recorded = self.current
        tol = self.gd.tol
        if len(hist.losses) > 1 and tol is not None and abs(hist.losses[-2] - value) < tol:
            hist.stop_reason = "converged"
            return False
        return True

    def run(self) -> History:
        gd, net, hist = self.gd, self.net, self.hist
        try:
            for t, (batch, new_epoch) in zip(range(gd.max_iters), self.batches(), strict=False):
                try:
                    value, penalty, new = gd.update(net, batch, self.penalized)
                    recording = batch is self.full or new_epoch or gd.record == "update"
                    if recording and batch is not self.full:
                        value = self.full.mean_loss()  # the full-data loss at W_t
                except (DomainError, NonFiniteError) as err:
                    if not hist.losses:  # at W_0: the error is about the user's data
                        raise
                    self.diverged(t, _why(err))
                    return hist
                if recording and not self.record(value, penalty, t):
                    return hist
                if not math.isfinite(value):  # a minibatch's own loss
                    self.diverged(t, f"the minibatch loss became {value}")
                    return hist
                if not all_finite(*new):
                    self.diverged(t + 1, "a weight became non-finite")
                    return hist
                self.interrupts.held = True  # W_{t+1} goes in whole, or not at all
                _install(net, new)
                self.current = new
                hist.n_iters = t + 1
                self.interrupts.release()
            try:  # the loss of the returned weights, by a forward pass alone
                final = self.full.mean_loss()
            except (DomainError, NonFiniteError) as err:
                self.diverged(hist.n_iters, _why(err))
                return hist
            if self.record(final, gd._penalty(net, self.penalized), hist.n_iters):
                hist.stop_reason = "max_iters"
        except KeyboardInterrupt:
            self.interrupts.stopping = True  # a second Ctrl-C must not cut the clean-up short
            _install(net, self.current)  # an interrupted assignment never leaves a mixed W
            hist.stop_reason = "interrupted"
            keep = min(len(hist.losses), len(hist.iters), len(hist.data_losses),
                       len(hist.penalties))
            for name in ("losses", "iters", "data_losses", "penalties"):
                setattr(hist, name, getattr(hist, name)[:keep])
        return hist

    def diverged(self, t: int, what: str) -> None:
        """Restore the last recorded weights and say so (at W_0 there are none: raise)."""
        hist = self.hist
        if not hist.losses:
            raise ValueError(
                f"The loss at the starting weights is not finite ({what}), so there is nothing "
                "to descend from. Check the targets against the loss (for probabilities that "
                "can reach 0, use SoftmaxCrossEntropy on raw scores)."
            )
        _install(self.net, self.recorded)
        self.current = self.recorded
        hist.stop_reason = "diverged"
        hist.n_iters = hist.iters[-1]
        warnings.warn(
            f"Gradient descent diverged at update {t}: {what}. The network was restored to "
            f"the weights after update {hist.n_iters} (loss {hist.losses[-1]:.6g}). "
            f"Try a smaller learning rate than lr = {self.gd.lr:g}.",
            RuntimeWarning,
            stacklevel=4,  # at the user's fit(): fit → run → diverged
        )


class _Interrupts:
    """Ctrl-C during ``fit``: raised at once as KeyboardInterrupt, except while ``held`` (new
    weights going in, the clean-up after a first Ctrl-C), when it waits until the hold ends —
    or, once training is stopping, is dropped. One handler for the whole fit: installing one per
    update would cost more than a tiny network's update. Off the main thread, where Python
    delivers no signals, nothing is installed."""

    def __init__(self):
        self.held = self.pending = self.stopping = False
        self.previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False

    def _handle(self, signum, frame):
        if self.stopping:
            return
        if self.held:
            self.pending = True
            return
        raise KeyboardInterrupt

    def release(self):
        """End a hold; a Ctrl-C that came during it is raised now."""
        self.held = False
        if self.pending and not self.stopping:
            self.pending = False
            raise KeyboardInterrupt


def _why(err: ValueError) -> str:
    """What a DomainError or NonFiniteError says, as the reason in a divergence warning."""
    what = str(err).rstrip(".")
    return f"ŷ left the loss's domain: {what}" if isinstance(err, DomainError) else what


def _require_network(net) -> None:
    if not isinstance(net, Network):
        raise TypeError(f"GradientDescent trains a jacobian_nn.Network, got "
                        f"{type(net).__name__}; wrap a layer as Network([layer]).")


def _install(net: Network, params: list[np.ndarray]) -> None:
    """W_{t+1}: our own fresh, checked arrays, installed without the public setter's checks
    and copy (params are replaced, never written into, so earlier W_t stay valid)."""
    for layer, p in zip(net.layers, params, strict=True):
        layer.replace_params(p)
