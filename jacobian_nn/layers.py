"""Layers f_{W_j}: R^k → R^h, each with its forward map and both Jacobians side by side.

Layout, stated once: D_z f(z) has shape (h, k) with entry [i, a] = ∂f_i/∂z_a, and D_W f(z)
has shape (h, d) with entry [i, p] = ∂f_i/∂w_p, where w = params.ravel() (C order) and
d = n_params.

Every layer offers two views of the same derivatives:

* the dense matrices ``D_z(z)`` and ``D_W(z)`` of lecture 000, for one example z ∈ R^k;
* structured products for a batch, used by the fast gradient modes and always tested against
  the dense matrices: ``left_mul_D_z(D, Z, F)`` = D_i · D_z f(z_i) and
  ``left_mul_D_W(D, Z, F)`` = D_i · D_W f(z_i) for every example i, and
  ``grad_W_sum(G, Z, F)`` = Σ_i G_i · D_W f(z_i) shaped like ``params``. Here Z (n, k) holds the
  inputs z_i as rows, F (n, h) the outputs f(z_i) (so element-wise layers reuse them), and D
  has shape (n, h) or (n, r, h).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from ._validate import as_real_array, fmt_shape

if TYPE_CHECKING:
    from .display import Rendering


def _expand_rows(v: np.ndarray, D: np.ndarray) -> np.ndarray:
    """View the per-example vectors v (n, h) so they broadcast against D (n, ..., h)."""
    if D.ndim == 2:
        return v
    return v.reshape(v.shape[0], *(1,) * (D.ndim - 2), v.shape[1])


@functools.lru_cache(maxsize=8)
def _ones(n: int) -> np.ndarray:
    """A read-only vector of n ones: sums over the batch or over short rows as matrix–vector
    products, several times faster than numpy's reductions along those axes."""
    v = np.ones(n)
    v.flags.writeable = False
    return v


def _times_matrix(D: np.ndarray, M: np.ndarray) -> np.ndarray:
    """D_i M for every example i: D (n, ..., h), M (h, k) → (n, ..., k), as one GEMM.

    When D is one matrix broadcast over the batch (stride 0, as D^(m) = I is), so is the
    product: it is computed once and broadcast (a read-only view) instead of copying D.
    """
    if D.ndim == 2:  # rows: already one GEMM
        return D @ M
    h, k = M.shape
    if D.strides[0] == 0:
        return np.broadcast_to(D[0] @ M, (*D.shape[:-1], k))
    return (D.reshape(-1, h) @ M).reshape(*D.shape[:-1], k)


_INPUT_HINTS = {  # what to do instead, when an input has the wrong number of dimensions
    (2,): " Stack the examples as rows; a single example x is the batch x[None, :].",
    (1,): " This takes one example (a vector); f(Z) and Network.gradients take a batch Z.",
}
_W_HINT = " W ∈ R^{h×k} has a row per output and a column per input; one output: [[w_1, …, w_k]]."
_B_HINT = " b ∈ R^h has an entry per output."

_BLOCK = 16  # examples per block in _multiply_in_place


def _multiply_in_place(out: np.ndarray, D: np.ndarray) -> None:
    """out *= D for out (n, r, h), C-contiguous, and D of the same shape.

    When D is one matrix broadcast over the batch (stride 0, as D^(m−1) = W_m is), numpy would
    run one loop of r·h numbers per example; multiplying blocks of 16 examples by D_0 tiled 16
    times gives it loops 16 times longer. In an MLP that ends in a linear layer this builds
    D^(m−2) = W_m diag(φ'(z^(m−2))) measurably faster (docs/performance.md).
    """
    n = D.shape[0] - D.shape[0] % _BLOCK
    if D.strides[0] != 0 or n == 0:
        out *= D
        return
    blocks = out[:n].reshape(n // _BLOCK, -1)  # a view, since out is C-contiguous
    blocks *= np.tile(D[0].ravel(), _BLOCK)
    out[n:] *= D[n:]


def _reject_shared_params(children, what: str = "layer ") -> None:
    """One layer object with parameters at two places would get two gradients but keep one.

    ``children`` are (name, layer) pairs; composite layers are searched through, so layer
    "2.g" is the g of a Residual that is layer 2.
    """
    seen: dict[int, str] = {}

    def visit(children, path):
        for name, layer in children:
            where, inner = f"{path}{name}", layer._children()
            if inner:
                visit(inner, f"{where}.")
            elif layer.n_params and seen.setdefault(id(layer), where) != where:
                raise ValueError(
                    f"{what}{where} ({layer.describe()}) is the same object as {what}"
                    f"{seen[id(layer)]}; their weights would be trained as one array with only "
                    "one of the two gradients. Pass an independent copy (copy.deepcopy(layer)) "
                    "instead."
                )

    visit(children, "")


class Layer:
    """A parametric function f_W: R^k → R^h (lecture 000's layer f_{W_j}).

    Subclasses implement ``_f(P, Z)`` (rows of Z are inputs, P the parameters), ``_D_z(z)``,
    ``_D_W(z)`` and the structured products; this base class checks inputs and shapes.
    """

    #: The map in the lecture's symbols, for display.
    formula = "f(z)"
    #: The same, as LaTeX.
    formula_latex = "f(z)"

    def __init__(self, params=None):
        if params is None:
            self._params = np.zeros(0)
        else:
            # Own copy (never alias the user), in C order whatever the input's: Linear(A.T)
            # must compute exactly what Linear(A.T.copy()) does, to the last bit.
            self._params = np.array(params, dtype=np.float64, order="C")

    # -- parameters --
    @property
    def params(self) -> np.ndarray:
        """W_j, the layer's parameter array; its C-order ravel is the vector w ∈ R^d."""
        return self._params

    @params.setter
    def params(self, value) -> None:
        new = as_real_array(value, f"new params of {self.describe()}", ndim=(self._params.ndim,))
        if new.shape != self._params.shape:
            raise ValueError(
                f"{self.describe()} has params of shape {self._params.shape}; "
                f"got shape {new.shape}."
            )
        self._params = new.copy()

    def _assign_params(self, new: np.ndarray) -> None:
        """Install ``new`` as params with no check and no copy. Only for fresh, finite float64
        arrays of the right shape that the library made itself (the trainer's updates)."""
        self._params = new

    @property
    def n_params(self) -> int:
        """d, the number of scalar parameters."""
        return self._params.size

    def _children(self) -> tuple[tuple[str, Layer], ...]:
        """The layers a composite layer is made of, each with its name in messages."""
        return ()

    # -- sizes --
    @property
    def in_size(self) -> int | None:
        """k if the layer fixes it, else None (element-wise layers take any size)."""
        return None

    def out_size(self, k: int | None) -> int | None:
        """h for an input of size k (None when unknown)."""
        return k

    def describe(self) -> str:
        """Short description for messages, e.g. ``Linear, W ∈ R^{1×3}``."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def display(self, decimals: int = 4) -> Rendering:
        """Formula and parameter shapes (values when small) as a ``display.Rendering``."""
        from .display import layer_display

        return layer_display(self, decimals)

    def _repr_latex_(self) -> str:
        from .display import layer_to_latex

        return layer_to_latex(self)

    # -- the public, checked API --
    def _check_input(self, z, where: tuple[str, str], ndim=(1, 2)) -> np.ndarray:
        """z as float64, or an error naming ``where`` = (who, symbol), e.g. ("Tanh", "z")."""
        who, symbol = where
        Z = as_real_array(z, f"{who}: {symbol}", ndim=ndim, hint=_INPUT_HINTS.get(ndim, ""))
        if Z.size == 0:  # nothing to compute with, and softmax or a custom f would fail on it
            what = "no examples (n = 0)" if Z.ndim == 2 and Z.shape[0] == 0 else "no numbers"
            raise ValueError(f"{who}: {symbol} holds {what}, got shape {Z.shape}.")
        k = self.in_size
        if k is not None and Z.shape[-1] != k:
            batch = f" (or a batch ∈ {fmt_shape('n', k)})" if 2 in ndim else ""
            raise ValueError(
                f"{who} expects {symbol} ∈ {fmt_shape(k)}{batch}, got shape {Z.shape}."
            )
        return Z

    def _where(self) -> tuple[str, str]:
        """Who checks an input, and the input's symbol, for messages."""
        return self.describe(), "z"

    def __call__(self, z) -> np.ndarray:
        return self.forward(z)

    def forward(self, z) -> np.ndarray:
        """f(z) for z of shape (k,), or row by row for Z of shape (n, k) giving (n, h)."""
        Z = self._check_input(z, self._where())
        return self._f(self.params, Z)

    def D_z(self, z) -> np.ndarray:
        """D_z f(z) ∈ R^{h×k}: entry [i, a] = ∂f_i/∂z_a, for one example z of shape (k,)."""
        return self._D_z(self._check_input(z, self._where(), ndim=(1,)))

    def D_W(self, z, as_tensor: bool = False) -> np.ndarray:
        """D_W f(z) ∈ R^{h×d}: entry [i, p] = ∂f_i/∂w_p with w = params.ravel().

        With ``as_tensor=True`` the same numbers are shaped (h, *params.shape): entry
        [i, a, b] = ∂f_i/∂W_ab (lecture 004's tensor view).
        """
        J = self._D_W(self._check_input(z, self._where(), ndim=(1,)))
        return J.reshape(J.shape[0], *self.params.shape) if as_tensor else J

    # -- what subclasses provide --
    def _f(self, P: np.ndarray, Z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _D_z(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _D_W(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def left_mul_D_z(self, D: np.ndarray, Z: np.ndarray, F: np.ndarray) -> np.ndarray:
        """D_i · D_z f(z_i) for every example i: D (n, ..., h) → (n, ..., k).

        The default builds each dense D_z; structured layers override it. The result may be
        a read-only view (e.g. when D is broadcast over the batch); callers never write to it.
        """
        J = np.stack([self._D_z(z) for z in Z])
        return D @ J if D.ndim == 3 else np.einsum("nh,nhk->nk", D, J)

    def left_mul_D_W(self, D: np.ndarray, Z: np.ndarray, F: np.ndarray) -> np.ndarray:
        """D_i · D_W f(z_i) for every example i: D (n, ..., h) → (n, ..., d)."""
        J = np.stack([self._D_W(z) for z in Z])
        return D @ J if D.ndim == 3 else np.einsum("nh,nhd->nd", D, J)

    def grad_W_sum(self, G: np.ndarray, Z: np.ndarray, F: np.ndarray) -> np.ndarray:
        """Σ_i G_i · D_W f(z_i) for G (n, h), shaped like ``params``."""
        return self.left_mul_D_W(G, Z, F).sum(axis=0).reshape(self.params.shape)


# ----------------------------------------------------------------------------------------------
# Layers with parameters
# ----------------------------------------------------------------------------------------------
class Linear(Layer):
    """f_W(z) = W z with W ∈ R^{h×k}.

    D_z f(z) = W and D_W f(z) = I_h ⊗ zᵀ, shape (h, h·k): row i holds zᵀ in columns
    i·k … i·k + k − 1, because ∂(Wz)_i/∂W_ab = δ_ia z_b.

    Examples
    --------
    >>> f = Linear([[1.0, -3.0], [0.2, 1.0]])
    >>> f(np.array([1.0, 0.1]))
    array([0.7, 0.3])
    >>> f.D_W(np.array([1.0, 0.1]))
    array([[1. , 0.1, 0. , 0. ],
           [0. , 0. , 1. , 0.1]])
    """

    formula = "W z"
    formula_latex = "W z"

    def __init__(self, W):
        super().__init__(as_real_array(W, "Linear: W", ndim=(2,), nonempty=True, hint=_W_HINT))

    @property
    def W(self) -> np.ndarray:
        """The weight matrix W ∈ R^{h×k} (the same array as ``params``)."""
        return self._params

    @property
    def in_size(self) -> int:
        return self._params.shape[1]

    def out_size(self, k):
        return self._params.shape[0]

    def describe(self) -> str:
        return f"Linear, W ∈ {fmt_shape(*self._params.shape)}"

    def __repr__(self) -> str:
        return f"Linear(W ∈ {fmt_shape(*self._params.shape)})"

    def _f(self, P, Z):
        return Z @ P.T  # rows: (W z_i)ᵀ = z_iᵀ Wᵀ

    def _D_z(self, z):
        return self._params.copy()

    def _D_W(self, z):
        return np.kron(np.eye(self._params.shape[0]), z)  # I_h ⊗ zᵀ

    def left_mul_D_z(self, D, Z, F):
        return _times_matrix(D, self._params)  # D W

    def left_mul_D_W(self, D, Z, F):
        # D (I ⊗ zᵀ) puts D[..., a] * z_b at column a·k + b.
        out = D[..., :, None] * _expand_rows(Z, D)[..., None, :]
        return out.reshape(*D.shape[:-1], self._params.size)

    def grad_W_sum(self, G, Z, F):
        return G.T @ Z  # Σ_i G_iᵀ z_iᵀ: the (I ⊗ zᵀ) structure summed over the batch


class Bias(Layer):
    """f_b(z) = z + b with b ∈ R^h; D_z f = I_h and D_b f = I_h."""

    formula = "z + b"
    formula_latex = "z + b"

    def __init__(self, b):
        super().__init__(as_real_array(b, "Bias: b", ndim=(1,), nonempty=True, hint=_B_HINT))

    @property
    def b(self) -> np.ndarray:
        """The bias vector b ∈ R^h (the same array as ``params``)."""
        return self._params

    @property
    def in_size(self) -> int:
        return self._params.shape[0]

    def out_size(self, k):
        return self._params.shape[0]

    def describe(self) -> str:
        return f"Bias, b ∈ {fmt_shape(self._params.shape[0])}"

    def __repr__(self) -> str:
        return f"Bias(b ∈ {fmt_shape(self._params.shape[0])})"

    def _f(self, P, Z):
        return Z + P

    def _D_z(self, z):
        return np.eye(z.shape[0])

    def _D_W(self, z):
        return np.eye(z.shape[0])

    def left_mul_D_z(self, D, Z, F):
        return D.copy()

    def left_mul_D_W(self, D, Z, F):
        return D.copy()

    def grad_W_sum(self, G, Z, F):
        return G.sum(axis=0)


class Affine(Layer):
    """f(z) = W z + b as one layer; params packs [W | b] ∈ R^{h×(k+1)}.

    With z̃ = (z, 1): f(z) = [W | b] z̃, so D_z f = W and D_W f = I_h ⊗ z̃ᵀ, shape
    (h, h·(k+1)).
    """

    formula = "W z + b"
    formula_latex = "W z + b"

    def __init__(self, W, b):
        W = as_real_array(W, "Affine: W", ndim=(2,), nonempty=True, hint=_W_HINT)
        b = as_real_array(b, "Affine: b", ndim=(1,), hint=_B_HINT)
        if b.shape[0] != W.shape[0]:
            raise ValueError(
                f"Affine: W ∈ {fmt_shape(*W.shape)} needs b ∈ {fmt_shape(W.shape[0])}, "
                f"got b of shape {b.shape}."
            )
        super().__init__(np.column_stack([W, b]))

    @property
    def W(self) -> np.ndarray:
        """W ∈ R^{h×k}, a view into ``params``."""
        return self._params[:, :-1]

    @property
    def b(self) -> np.ndarray:
        """b ∈ R^h, a view into ``params``."""
        return self._params[:, -1]

    @property
    def in_size(self) -> int:
        return self._params.shape[1] - 1

    def out_size(self, k):
        return self._params.shape[0]

    def describe(self) -> str:
        h, k1 = self._params.shape
        return f"Affine, W ∈ {fmt_shape(h, k1 - 1)}, b ∈ {fmt_shape(h)}"

    def __repr__(self) -> str:
        h, k1 = self._params.shape
        return f"Affine(W ∈ {fmt_shape(h, k1 - 1)}, b ∈ {fmt_shape(h)})"

    def _f(self, P, Z):
        out = Z @ P[:, :-1].T
        out += P[:, -1]  # in place: one (n, h) array, not two
        return out

    def _D_z(self, z):
        return self.W.copy()

    def _D_W(self, z):
        return np.kron(np.eye(self._params.shape[0]), np.append(z, 1.0))  # I_h ⊗ z̃ᵀ

    def left_mul_D_z(self, D, Z, F):
        return _times_matrix(D, self.W)  # D W

    def left_mul_D_W(self, D, Z, F):
        Zt = np.column_stack([Z, np.ones(len(Z))])
        out = D[..., :, None] * _expand_rows(Zt, D)[..., None, :]
        return out.reshape(*D.shape[:-1], self._params.size)

    def grad_W_sum(self, G, Z, F):
        out = np.empty(self._params.shape)  # [Σ_i g_i z_iᵀ | Σ_i g_i], written in place
        np.matmul(G.T, Z, out=out[:, :-1])
        np.matmul(_ones(G.shape[0]), G, out=out[:, -1])
        return out


# ----------------------------------------------------------------------------------------------
# Element-wise layers: f(z)_i = φ(z_i), so D_z f(z) = diag(φ'(z)) and there are no parameters
# ----------------------------------------------------------------------------------------------
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

    def left_mul_D_z(self, D, Z, F):
        v = self.dphi(Z, F)  # D diag(φ'(z)) scales the columns of D
        if v.shape == D.shape and type(self).dphi.__module__ == __name__:
            # Rows (reverse mode): every φ' written in this module returns a new array, so it
            # can hold the product. One (n, h) temporary fewer saves page faults on big
            # batches; a subclass's own φ' may return z, φ(z) or a cached array, so not there.
            v *= D
            return v
        v = _expand_rows(v, D)
        if D.ndim == 3 and D.shape[-1] < 64:
            # Short rows: copy φ'(z_i) into each of D_i's r rows first; the in-place product
            # then runs over whole (r, h) blocks instead of numpy's many loops of length h.
            out = v.repeat(D.shape[1], axis=1)
            _multiply_in_place(out, D)
            return out
        return D * v

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
        return special.expit(z)

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
        self.a = float(as_real_array(a, "LeakyReLU: a", ndim=(0,)))

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
        self.beta = float(as_real_array(beta, "Swish: beta", ndim=(0,)))

    def __repr__(self) -> str:
        return f"Swish(beta={self.beta:g})"

    def _sigma(self, z):
        with np.errstate(over="ignore"):  # βz = ±inf is fine: σ(±inf) = 1, 0
            return special.expit(self.beta * z)

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
        return special.softmax(Z, axis=-1)  # shifts by the max: no overflow at |z| = 1000

    def _D_z(self, z):
        s = special.softmax(z)
        return np.diag(s) - np.outer(s, s)

    def _D_W(self, z):
        return np.zeros((z.shape[0], 0))

    def left_mul_D_z(self, D, Z, F):
        # D (diag(s) − s sᵀ) = D ∘ sᵀ − (D s) sᵀ, never forming the k×k matrix.
        s = _expand_rows(F, D)
        return D * s - (D * s).sum(axis=-1, keepdims=True) * s

    def left_mul_D_W(self, D, Z, F):
        return np.zeros((*D.shape[:-1], 0))

    def grad_W_sum(self, G, Z, F):
        return np.zeros(0)
