"""Lecture 002's pointwise modules and softmax: layers without parameters.

An element-wise layer applies one function φ to every entry, f(z)_i = φ(z_i), so its Jacobian
is diagonal — D_z f(z) = diag(φ'(z)), shape (k, k): entry [i, a] = δ_ia φ'(z_a) — and
D_W f(z) ∈ R^{k×0}. Each class below writes φ and φ' a few lines apart. Softmax is the one
layer here whose Jacobian is full.
"""

from __future__ import annotations

import numpy as np

from . import _kernels
from ._validate import real_number
from .layers import Layer


class Elementwise(Layer):
    """f(z)_i = φ(z_i). D_z f(z) = diag(φ'(z)) ∈ R^{k×k}; D_W f(z) ∈ R^{k×0}."""

    def phi(self, z: np.ndarray) -> np.ndarray:
        """φ applied to every entry."""
        raise NotImplementedError

    def dphi(self, z: np.ndarray, fz: np.ndarray) -> np.ndarray:
        """φ'(z) entry-wise; ``fz`` = φ(z) is passed so derivatives can reuse it."""
        raise NotImplementedError

    def _f(self, P, Z):
        return self.phi(Z)

    def _D_z(self, z):
        return np.diag(self.dphi(z, self.phi(z)))

    def _D_W(self, z):
        return np.zeros((z.shape[0], 0))

    takes_diagonal = True

    def left_mul_D_z(self, D, Z, F):
        return _kernels.scale_columns(D, self.dphi(Z, F))  # D diag(φ'(z)) scales D's columns

    def left_mul_D_W(self, D, Z, F):
        return np.zeros((*D.shape[:-1], 0))

    def grad_W_sum(self, G, Z, F):
        return np.zeros(0)


class Identity(Elementwise):
    """φ(z) = z, φ'(z) = 1."""

    formula = formula_latex = "z"

    def phi(self, z):
        return z.copy()

    def dphi(self, z, fz):
        return np.ones_like(z)


class Tanh(Elementwise):
    """φ(z) = tanh z, φ'(z) = 1 − tanh² z (lecture 002).

    Examples
    --------
    >>> Tanh().D_z(np.array([0.0, 0.5]))
    array([[1.        , 0.        ],
           [0.        , 0.78644773]])
    """

    formula = "tanh(z)"
    formula_latex = r"\tanh(z)"

    def phi(self, z):
        return np.tanh(z)

    def dphi(self, z, fz):
        d = fz * fz
        return np.subtract(1.0, d, out=d)  # 1 − tanh² z, without a second temporary


class Sigmoid(Elementwise):
    """φ(z) = σ(z) = 1 / (1 + e^{−z}), φ'(z) = σ(z)(1 − σ(z)); scipy's expit never overflows."""

    formula = "σ(z)"
    formula_latex = r"\sigma(z)"

    def phi(self, z):
        return _kernels.special().expit(z)

    def dphi(self, z, fz):
        return fz * (1.0 - fz)


class ReLU(Elementwise):
    """φ(z) = max(0, z), φ'(z) = 1(z ≥ 0) — lecture 002's convention at the kink z = 0."""

    formula = "max(0, z)"
    formula_latex = r"\max(0, z)"

    def phi(self, z):
        return np.maximum(z, 0.0)

    def dphi(self, z, fz):
        return (z >= 0).astype(np.float64)


class LeakyReLU(Elementwise):
    """φ(z) = z for z ≥ 0 and a·z otherwise; φ'(z) = 1(z ≥ 0) + a·1(z < 0)."""

    formula = "max(a z, z)"
    formula_latex = r"\max(a z, z)"

    def __init__(self, a: float = 0.01):
        super().__init__()
        self.a = real_number(a, "LeakyReLU: a")

    def __repr__(self) -> str:
        return f"LeakyReLU(a={self.a:g})"

    def phi(self, z):
        return np.where(z >= 0, z, self.a * z)

    def dphi(self, z, fz):
        return np.where(z >= 0, 1.0, self.a)


class Swish(Elementwise):
    """φ(z) = z σ(βz), φ'(z) = σ(βz) + β φ(z) (1 − σ(βz)) (lecture 004)."""

    formula = "z σ(βz)"
    formula_latex = r"z\,\sigma(\beta z)"

    def __init__(self, beta: float = 1.0):
        super().__init__()
        self.beta = real_number(beta, "Swish: beta")

    def __repr__(self) -> str:
        return f"Swish(beta={self.beta:g})"

    def _sigma(self, z):
        with np.errstate(over="ignore"):  # βz = ±inf is fine: σ(±inf) = 1, 0
            return _kernels.special().expit(self.beta * z)

    def phi(self, z):
        return z * self._sigma(z)

    def dphi(self, z, fz):
        s = self._sigma(z)
        return s + self.beta * (fz * (1.0 - s))  # β·fz would overflow first at z = 1e308


class Softmax(Layer):
    """f(z) = softmax(z) = e^z / Σ_a e^{z_a}; D_z f(z) = diag(s) − s sᵀ with s = f(z).

    The Jacobian is full, not diagonal: every output depends on every score.

    Examples
    --------
    >>> Softmax().D_z(np.array([0.0, 0.0]))
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    """

    formula = "softmax(z)"
    formula_latex = r"\operatorname{softmax}(z)"

    def _f(self, P, Z):
        # softmax shifts by the max: no overflow at |z| = 1000
        return _kernels.special().softmax(Z, axis=-1)

    def _D_z(self, z):
        s = _kernels.special().softmax(z)
        return np.diag(s) - np.outer(s, s)

    def _D_W(self, z):
        return np.zeros((z.shape[0], 0))

    def left_mul_D_z(self, D, Z, F):
        # D (diag(s) − s sᵀ) = D ∘ sᵀ − (D s) sᵀ, never forming the k×k matrix.
        s = _kernels.expand_rows(F, D)
        return D * s - (D * s).sum(axis=-1, keepdims=True) * s

    def left_mul_D_W(self, D, Z, F):
        return np.zeros((*D.shape[:-1], 0))

    def grad_W_sum(self, G, Z, F):
        return np.zeros(0)
