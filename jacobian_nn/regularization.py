"""Penalties λ R(W) for learning with regularisation (lecture 001):

    L(W) = (1/N) Σ_i L_i(f(x_i, W), y_i) + λ R(W),
    ∇_W L(W) = (1/N) Σ_i ∇_W L_i + λ ∇_W R(W).

Pass one to ``GradientDescent(..., penalty=L2(1e-3))``. R sums over every entry of a layer's
params array — for ``Affine`` that includes the bias column, since W and b are one array.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_real_array, nonnegative_float


class Penalty:
    """λ R(W): ``penalty(W)`` = λ R(W) and ``penalty.grad(W)`` = λ ∇_W R(W), shaped like W.

    Parameters
    ----------
    lam : float
        λ ≥ 0, the weight of R(W) in the objective.
    """

    formula = "R(W)"

    def __init__(self, lam: float):
        self.lam = nonnegative_float(lam, f"{type(self).__name__}: lam (λ)")

    def R(self, W: np.ndarray) -> float:
        """R(W), without λ."""
        raise NotImplementedError

    def grad_R(self, W: np.ndarray) -> np.ndarray:
        """∇_W R(W), shaped like W."""
        raise NotImplementedError

    def __call__(self, W) -> float:
        return self.lam * self.R(self._weights(W))

    def grad(self, W) -> np.ndarray:
        return self.lam * self.grad_R(self._weights(W))

    def _weights(self, W) -> np.ndarray:
        return as_real_array(W, f"{self!r}: W", ndim=(0, 1, 2))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lam={self.lam:g})"


class L2(Penalty):
    """R(W) = Σ_kl W_kl², ∇_W R = 2 W.

    Examples
    --------
    >>> L2(0.5)(np.array([[1.0, -2.0]])), L2(0.5).grad(np.array([[1.0, -2.0]]))
    (2.5, array([[ 1., -2.]]))
    """

    formula = "Σ W²"

    def R(self, W):
        return float(np.sum(W * W))

    def grad_R(self, W):
        return 2.0 * W


class L1(Penalty):
    """R(W) = Σ_kl |W_kl|, ∇_W R = sign(W): at W_kl = 0, where |·| has a kink, the
    subgradient 0 is used."""

    formula = "Σ |W|"

    def R(self, W):
        return float(np.sum(np.abs(W)))

    def grad_R(self, W):
        return np.sign(W)


class ElasticNet(Penalty):
    """R(W) = Σ_kl β W_kl² + |W_kl| (lecture 001's L1 + L2), ∇_W R = 2β W + sign(W).

    Parameters
    ----------
    lam : float
        λ ≥ 0.
    beta : float
        β ≥ 0, the weight of the squared term relative to the absolute one.
    """

    formula = "Σ β W² + |W|"

    def __init__(self, lam: float, beta: float):
        super().__init__(lam)
        self.beta = nonnegative_float(beta, "ElasticNet: beta (β)")

    def __repr__(self) -> str:
        return f"ElasticNet(lam={self.lam:g}, beta={self.beta:g})"

    def R(self, W):
        return float(np.sum(self.beta * W * W + np.abs(W)))

    def grad_R(self, W):
        return 2.0 * self.beta * W + np.sign(W)
