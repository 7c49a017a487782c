"""Layers f_{W_j}: R^k → R^h, each with its forward map and both Jacobians side by side.

Layout, stated once: D_z f(z) has shape (h, k) with entry [i, a] = ∂f_i/∂z_a, and D_W f(z)
has shape (h, d) with entry [i, p] = ∂f_i/∂w_p, where w = params.ravel() (C order) and
d = n_params. This module holds the layer interface and lecture 002's linear modules (Linear,
Bias, Affine); the element-wise ones and softmax are in activations.py.

Every layer offers two views of the same derivatives:

* the dense matrices ``D_z(z)`` and ``D_W(z)`` of lecture 000, for one example z ∈ R^k;
* structured products for a batch, used by the batch modes (batch.py) and always tested
  against the dense matrices: ``left_mul_D_z(D, Z, F)`` = D_i · D_z f(z_i) and
  ``left_mul_D_W(D, Z, F)`` = D_i · D_W f(z_i) for every example i, and
  ``grad_W_sum(G, Z, F)`` = Σ_i G_i · D_W f(z_i) shaped like ``params``. Here Z (n, k) holds the
  inputs z_i as rows, F (n, h) the outputs f(z_i) (so element-wise layers reuse them), and D
  has shape (n, h) or (n, r, h) — or is a diagonal stack (``_kernels.Diagonal``) for a layer
  that sets ``takes_diagonal``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import _kernels
from ._validate import as_real_array, fmt_shape

if TYPE_CHECKING:
    from .display import Rendering


_INPUT_HINTS = {  # what to do instead, when an input has the wrong number of dimensions
    (2,): " Stack the examples as rows; a single example x is the batch x[None, :].",
    (1,): " This takes one example (a vector); f(Z) and Network.gradients take a batch Z.",
}
_W_HINT = " W ∈ R^{h×k} has a row per output and a column per input; one output: [[w_1, …, w_k]]."
_B_HINT = " b ∈ R^h has an entry per output."

class Layer:
    """A parametric function f_W: R^k → R^h (lecture 000's layer f_{W_j}).

    Subclasses implement ``_f(P, Z)`` (rows of Z are inputs, P the parameters), ``_D_z(z)``,
    ``_D_W(z)`` and the structured products; this base class checks inputs and shapes.
    """

    #: The map in the lecture's symbols, for display.
    formula = "f(z)"
    #: The same, as LaTeX.
    formula_latex = "f(z)"
    #: Whether ``left_mul_D_z`` accepts a diagonal stack ``_kernels.Diagonal`` as D (and keeps
    #: it cheap); other layers are handed it written out (docs/performance.md, "The kernels").
    takes_diagonal = False
    #: Whether D_z f(z) is one matrix whatever z (f is affine in z) and ``left_mul_D_z`` keeps
    #: a D that is one matrix for every example (broadcast, or the identity) one matrix: the
    #: "jacobian" mode runs such layers at the top of the chain once for the whole batch.
    constant_D_z = False

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

    def replace_params(self, new: np.ndarray) -> None:
        """Install ``new`` as params with no check and no copy: the trainers' update, for a
        fresh, finite float64 array of the right shape that nobody else holds. Users assign
        to ``params`` instead, which checks and copies."""
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

    def display(self, decimals: int = 4, full: bool = False) -> Rendering:
        """Formula, parameter shapes and values (large ones by their corners unless
        ``full=True``) as a ``display.Rendering``."""
        from .display import layer_display

        return layer_display(self, decimals, full)

    def _repr_latex_(self) -> str:
        from .display import layer_to_latex

        return layer_to_latex(self)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """IPython's text/plain: the text form of what ``_repr_latex_`` typesets; ``repr``
        stays the one-line description. (A bundle, not ``_repr_pretty_``: IPython prefers a
        subclass's ``__repr__`` to a base class's ``_repr_pretty_``.)"""
        from .display import layer_to_text

        return {"text/plain": layer_to_text(self)}

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

    takes_diagonal = constant_D_z = True

    def left_mul_D_z(self, D, Z, F):
        return _kernels.times_matrix(D, self._params)  # D W

    def left_mul_D_W(self, D, Z, F):
        # D (I ⊗ zᵀ) puts D[..., a] * z_b at column a·k + b.
        out = D[..., :, None] * _kernels.expand_rows(Z, D)[..., None, :]
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

    takes_diagonal = constant_D_z = True

    def left_mul_D_z(self, D, Z, F):
        return D  # D I = D: no copy, so a broadcast or diagonal D stays one

    def left_mul_D_W(self, D, Z, F):
        return D.copy()

    def grad_W_sum(self, G, Z, F):
        return _kernels.column_sums(G)  # Σ_i g_i


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

    takes_diagonal = constant_D_z = True

    def left_mul_D_z(self, D, Z, F):
        return _kernels.times_matrix(D, self.W)  # D W

    def left_mul_D_W(self, D, Z, F):
        Zt = np.column_stack([Z, np.ones(len(Z))])
        out = D[..., :, None] * _kernels.expand_rows(Zt, D)[..., None, :]
        return out.reshape(*D.shape[:-1], self._params.size)

    def grad_W_sum(self, G, Z, F):
        out = np.empty(self._params.shape)  # [Σ_i g_i z_iᵀ | Σ_i g_i], written in place
        np.matmul(G.T, Z, out=out[:, :-1])
        np.matmul(_kernels.ones(G.shape[0]), G, out=out[:, -1])
        return out
