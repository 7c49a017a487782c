"""What a training run did: the record ``GradientDescent.fit`` and ``LevenbergMarquardt.fit``
both return."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class History:
    """What a training run did.

    Attributes
    ----------
    losses : list of float
        The objective (1/n) Σ_i L(f_{W_t}(x_i), y_i) + λ Σ_j R(W_{t,j}) (the total: data loss
        plus penalty; without a penalty just the data loss), always over all n examples, at
        the updates t = ``iters[i]``: full batch, after every update (``losses[t]`` is the
        loss of W_t); with minibatches, after every epoch (``record="epoch"``, the default)
        or every update (``record="update"``). ``losses[0]`` is the starting value and the
        last entry that of the returned weights (after an interruption the returned weights'
        value may not have been computed yet).
    iters : list of int
        ``iters[i]`` = the number of updates applied when ``losses[i]`` was recorded.
    data_losses : list of float
        ``data_losses[t]`` = (1/n) Σ_i L(f_{W_t}(x_i), y_i), the data term alone.
    penalties : list of float
        ``penalties[t]`` = λ Σ_j R(W_{t,j}) over the penalised layers (0.0 without a penalty).
    n_iters : int
        Updates applied: the network holds W_{n_iters}.
    stop_reason : str
        ``"max_iters"``, ``"converged"`` (|Δloss| < tol between two recorded losses),
        ``"diverged"`` (gradient descent: a non-finite loss or weight appeared, the loss grew
        past ``trainer.GROWTH`` = 10⁴ times its start, or ŷ left the loss's domain, and the
        network was restored to the last recorded weights; Levenberg–Marquardt: the GGN or
        gradient stopped being finite, and the network keeps W_t) or ``"interrupted"``
        (Ctrl-C; the network holds the last completed update).
    """

    losses: list[float] = field(default_factory=list)
    iters: list[int] = field(default_factory=list)
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
