"""Lecture 002's homework modules: 1-D convolution and 1-D max pooling, Jacobians explicit.

Layout, as everywhere: D_z f(z) has shape (h, k): entry [i, a] = ∂f_i/∂z_a, and D_W f(z) has
shape (h, d): entry [i, p] = ∂f_i/∂w_p with w = params.ravel(). Both layers take signals of
any length N (``in_size`` is None); the length is read from each call.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_real_array, fmt_shape, positive_int
from .layers import Layer

PADDINGS = ("zeros", "circular", "reflect")


class Conv1D(Layer):
    """Same-length 1-D convolution x_out = f_w(x_in) ∈ R^N with a kernel w ∈ R^M, M < N.

    Convention: cross-correlation, as in most frameworks (the kernel is not flipped),

        x_out[i] = Σ_{m=0}^{M−1} w_m x_in[i + m − c],   i = 0 … N−1,   c = (M − 1) // 2,

    so for odd M the window is centred on i (c taps before it, c after); for even M it has
    one more tap after i than before. True convolution is this with w reversed.

    Boundaries (``padding``) say what x_in[s] means for s outside 0 … N−1:

    * ``"zeros"``: x_in[s] = 0. D_z is the banded Toeplitz matrix D_z[i, a] = w_{a−i+c}
      (0 where a − i + c ∉ 0 … M−1);
    * ``"circular"``: x_in[s] = x_in[s mod N]. D_z is circulant: the band wraps around;
    * ``"reflect"``: mirrored about the end samples without repeating them,
      x_in[−s] = x_in[s] and x_in[N−1+s] = x_in[N−1−s] (numpy's ``"reflect"``). D_z is the
      Toeplitz band with the taps that fall off an end folded back into the first/last rows.

    Jacobians (D_z does not depend on x_in, D_W does not depend on w: f is bilinear):

        D_z f(x_in)[i, a] = Σ_m w_m [x_in[i+m−c] is sample a]      shape (N, N),
        D_w f(x_in)[i, m] = x_in[i + m − c] (padded)                  shape (N, M),

    i.e. row i of D_w is the input window that output i sees; with zero padding the entry
    depends only on i + m, so D_w is a Hankel matrix.

    Parameters
    ----------
    w : array_like, shape (M,)
        The kernel; ``params`` is w.
    padding : {"zeros", "circular", "reflect"}

    Examples
    --------
    >>> f = Conv1D([1.0, 2.0, 3.0])
    >>> f(np.array([1.0, 0.0, 0.0, 2.0]))
    array([2., 1., 6., 4.])
    >>> f.D_z(np.zeros(4))
    array([[2., 3., 0., 0.],
           [1., 2., 3., 0.],
           [0., 1., 2., 3.],
           [0., 0., 1., 2.]])
    """

    formula = "x_out[i] = Σ_m w_m x_in[i + m − c]"
    formula_latex = r"x_{\text{out}}[i] = \sum_m w_m\, x_{\text{in}}[i + m - c]"

    def __init__(self, w, padding: str = "zeros"):
        w = as_real_array(w, "Conv1D: kernel w", ndim=(1,))
        if w.shape[0] == 0:
            raise ValueError("Conv1D: the kernel w must have length M ≥ 1, got an empty array.")
        if not isinstance(padding, str):  # an array here would fail later, in `in` or in save
            raise TypeError(f"Conv1D: padding must be one of the names {PADDINGS}, got "
                            f"{padding!r}.")
        if padding not in PADDINGS:
            raise ValueError(f"Conv1D: padding must be one of {PADDINGS}, got {padding!r}.")
        super().__init__(w)
        self.padding = padding

    @property
    def w(self) -> np.ndarray:
        """The kernel w ∈ R^M (the same array as ``params``)."""
        return self._params

    @property
    def M(self) -> int:
        """The kernel length M."""
        return self._params.shape[0]

    @property
    def c(self) -> int:
        """The centring offset c = (M − 1) // 2."""
        return (self.M - 1) // 2

    def describe(self) -> str:
        return f"Conv1D, w ∈ {fmt_shape(self.M)}, {self.padding} padding"

    def __repr__(self) -> str:
        return f"Conv1D(w ∈ {fmt_shape(self.M)}, padding={self.padding!r})"

    def _taps(self, N: int) -> tuple[np.ndarray, np.ndarray]:
        """S[i, m] = the sample that tap m of output i reads, V[i, m] = 0 where it is a zero pad."""
        if N <= self.M:
            raise ValueError(f"{self.describe()} needs a signal x_in ∈ R^N with N > M = "
                             f"{self.M} (lecture 002: M < N); got N = {N}.")
        s = np.arange(N)[:, None] + np.arange(self.M)[None, :] - self.c  # i + m − c
        if self.padding == "zeros":
            return np.clip(s, 0, N - 1), ((s >= 0) & (s < N)).astype(np.float64)
        if self.padding == "circular":
            return s % N, np.ones(s.shape)
        s = np.abs(s)  # reflect about 0 …
        return np.where(s > N - 1, 2 * (N - 1) - s, s), np.ones(s.shape)  # … and about N − 1

    def _windows(self, Z: np.ndarray) -> np.ndarray:
        """(…, N, M): for each example (row of Z) the matrix D_w f(z) of padded input windows."""
        S, V = self._taps(Z.shape[-1])
        return Z[..., S] * V

    def _toeplitz(self, N: int) -> np.ndarray:
        """D_z f ∈ R^{N×N}: w_m added at [i, S[i, m]] (several taps can fold onto one sample)."""
        S, V = self._taps(N)
        K = np.zeros((N, N))
        np.add.at(K, (np.broadcast_to(np.arange(N)[:, None], S.shape), S), self._params * V)
        return K

    def _f(self, P, Z):
        return self._windows(Z) @ P

    def _D_z(self, z):
        return self._toeplitz(z.shape[0])

    def _D_W(self, z):
        return self._windows(z[None, :])[0]

    def left_mul_D_z(self, D, Z, F):
        return D @ self._toeplitz(Z.shape[-1])  # the same D_z for every example

    def left_mul_D_W(self, D, Z, F):
        return np.einsum("n...i,nim->n...m", D, self._windows(Z))

    def grad_W_sum(self, G, Z, F):
        return np.einsum("ni,nim->m", G, self._windows(Z))


class MaxPool1D(Layer):
    """x_out[o] = max(x_in[o·s], …, x_in[o·s + size − 1]) for o = 0 … N_out − 1, stride s.

    Output length N_out = ⌊(N − size) / s⌋ + 1 (no padding; samples after the last full
    window are not read); N ≥ size is required. Windows overlap when s < size.

    D_z f(x_in) ∈ R^{N_out×N} is the 0/1 selection matrix: row o has a single 1, in the column
    of the window's maximum. Ties: the first maximum (lowest index) wins, as ``numpy.argmax``
    does; there f is not differentiable and this row is one valid choice of (sub)gradient.
    The layer has no parameters, so D_W f ∈ R^{N_out×0}.

    Parameters
    ----------
    size : int
        Window length.
    stride : int, optional
        Step between windows; defaults to ``size`` (non-overlapping windows).

    Examples
    --------
    >>> f = MaxPool1D(2)
    >>> f(np.array([1.0, 3.0, 5.0, 4.0, 9.0]))
    array([3., 5.])
    >>> f.D_z(np.array([1.0, 3.0, 5.0, 4.0, 9.0]))
    array([[0., 1., 0., 0., 0.],
           [0., 0., 1., 0., 0.]])
    """

    formula = "x_out[o] = max_t x_in[o s + t]"
    formula_latex = r"x_{\text{out}}[o] = \max_t x_{\text{in}}[o s + t]"

    def __init__(self, size: int, stride: int | None = None):
        super().__init__()
        self.size = positive_int(size, "MaxPool1D: size")
        self.stride = self.size if stride is None else positive_int(stride, "MaxPool1D: stride")

    def describe(self) -> str:
        return f"MaxPool1D, size {self.size}, stride {self.stride}"

    def __repr__(self) -> str:
        return f"MaxPool1D(size={self.size}, stride={self.stride})"

    def out_size(self, k):
        if k is None:
            return None
        if k < self.size:
            raise ValueError(f"{self.describe()} needs x_in ∈ R^N with N ≥ {self.size}; "
                             f"got N = {k}.")
        return (k - self.size) // self.stride + 1  # N_out = ⌊(N − size)/s⌋ + 1

    def _index(self, N: int) -> np.ndarray:
        """idx[o, t] = o·s + t, the samples window o reads: shape (N_out, size)."""
        n_out = self.out_size(N)
        return np.arange(n_out)[:, None] * self.stride + np.arange(self.size)[None, :]

    def _selection(self, Z: np.ndarray) -> np.ndarray:
        """(n, N_out, N): each example's D_z f, a 1 at [o, argmax of window o]."""
        idx = self._index(Z.shape[-1])
        first = np.argmax(Z[:, idx], axis=-1)  # first maximum wins on ties
        winner = idx[np.arange(idx.shape[0]), first]  # (n, N_out) sample indices
        return (winner[..., None] == np.arange(Z.shape[-1])).astype(np.float64)

    def _f(self, P, Z):
        return Z[..., self._index(Z.shape[-1])].max(axis=-1)

    def _D_z(self, z):
        return self._selection(z[None, :])[0]

    def _D_W(self, z):
        return np.zeros((self.out_size(z.shape[0]), 0))

    def left_mul_D_z(self, D, Z, F):
        return np.einsum("n...o,nok->n...k", D, self._selection(Z))

    def left_mul_D_W(self, D, Z, F):
        return np.zeros((*D.shape[:-1], 0))

    def grad_W_sum(self, G, Z, F):
        return np.zeros(0)
