"""Layers made of layers: the parameter vector w = [vec W_a, vec W_b, …] of a composite, lecture
000's concatenation f_a(z) ⊕ f_b(z), and lecture 001's residual connection z + g(z).

``Composite`` is what a ``Network`` and a ``Concat`` share: their params are their parts'
params raveled and concatenated, split back the same way. All of them are layers, so they
nest inside a ``Network`` and run in all three gradient modes; the outer network's trace shows
one D^(j) for the whole block, with the block's Jacobians below.

Layout, as everywhere: D_z f(z) has shape (h, k): entry [i, a] = ∂f_i/∂z_a, and D_W f(z) has
shape (h, d): entry [i, p] = ∂f_i/∂w_p with w = params.ravel().
"""

from __future__ import annotations

import numpy as np

from ._validate import as_real_array, fmt_shape
from .layers import Layer


def reject_shared_params(children, what: str = "layer ") -> None:
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


class Composite(Layer):
    """A layer whose parameters are its parts': w = [vec W_1, …, vec W_p] ∈ R^{d_1 + … + d_p}.

    Subclasses say what the parts are (``_children``); ``params`` is then a read-only copy of
    the concatenation (writing into it would change nothing, so it raises), and assigning a
    vector of length d splits it over the parts in order.
    """

    def _parts(self) -> list[Layer]:
        return [layer for _, layer in self._children()]

    @property
    def params(self) -> np.ndarray:
        """w ∈ R^d, every part's params raveled in turn: a read-only copy; assign a new vector
        to change them."""
        w = np.concatenate([layer.params.ravel() for layer in self._parts()])
        w.flags.writeable = False
        return w

    @params.setter
    def params(self, value) -> None:
        w = as_real_array(value, f"new params of {self.describe()}", ndim=(1,))
        if w.shape != (self.n_params,):
            sizes = ", ".join(f"d_{name} = {layer.n_params}" for name, layer in self._children())
            raise ValueError(f"{self.describe()} has d = {self.n_params} params ({sizes}); "
                             f"got shape {w.shape}.")
        for layer, chunk in zip(self._parts(), self.split(w), strict=True):
            layer.params = chunk

    def replace_params(self, new: np.ndarray) -> None:
        for layer, chunk in zip(self._parts(), self.split(new), strict=True):
            layer.replace_params(chunk)

    @property
    def n_params(self) -> int:
        return sum(layer.n_params for layer in self._parts())

    def split(self, w: np.ndarray) -> list[np.ndarray]:
        """Cut w ∈ R^d into the parts' params arrays (views of w, each shaped like its part's)."""
        parts = self._parts()
        chunks = np.split(w, np.cumsum([layer.n_params for layer in parts])[:-1])
        return [c.reshape(layer.params.shape) for layer, c in zip(parts, chunks, strict=True)]


def _inline(f: Layer) -> str:
    """repr on one line (a nested Network's repr spans several), for traces and messages."""
    return " ".join(line.strip() for line in repr(f).splitlines())


def _require_layer(f, who: str) -> Layer:
    if not isinstance(f, Layer):
        raise TypeError(f"{who} must be a jacobian_nn layer (Linear, Tanh, Network, …), "
                        f"got {type(f).__name__}.")
    return f


class Concat(Composite):
    """f(z) = f_a(z) ⊕ f_b(z): both layers read the same z, their outputs are stacked.

    With f_a: R^k → R^{h_a} and f_b: R^k → R^{h_b}, f: R^k → R^{h_a + h_b} and

        D_z f(z) = [D_z f_a(z); D_z f_b(z)]              shape (h_a + h_b, k), stacked vertically,
        D_W f(z) = [[D_{W_a} f_a(z), 0], [0, D_{W_b} f_b(z)]]   shape (h_a + h_b, d_a + d_b),

    block-diagonal because f_a does not depend on W_b nor f_b on W_a. ``params`` is the vector
    [W_a.ravel(), W_b.ravel()] ∈ R^{d_a + d_b} (a fresh array; assign to it to change both).

    Parameters
    ----------
    f_a : Layer
        R^k → R^{h_a}; a Network works too.
    f_b : Layer
        R^k → R^{h_b}, reading the same z ∈ R^k.

    Examples
    --------
    >>> from jacobian_nn import Linear, Tanh
    >>> f = Concat(Linear([[1.0, 2.0]]), Tanh())
    >>> f(np.array([0.0, 1.0])).round(4)
    array([2.    , 0.    , 0.7616])
    >>> f.D_z(np.array([0.0, 1.0])).round(4)
    array([[1.  , 2.  ],
           [1.  , 0.  ],
           [0.  , 0.42]])
    """

    def __init__(self, f_a: Layer, f_b: Layer):
        self.f_a = _require_layer(f_a, "Concat: f_a")
        self.f_b = _require_layer(f_b, "Concat: f_b")
        reject_shared_params(self._children(), what="Concat: ")
        ka, kb = f_a.in_size, f_b.in_size
        if ka is not None and kb is not None and ka != kb:
            raise ValueError(
                f"Concat: both layers read the same z, but f_a ({f_a.describe()}) expects "
                f"z ∈ {fmt_shape(ka)} and f_b ({f_b.describe()}) expects z ∈ {fmt_shape(kb)}."
            )

    @property
    def formula(self) -> str:
        return f"f_a(z) ⊕ f_b(z), f_a(z) = {self.f_a.formula}, f_b(z) = {self.f_b.formula}"

    @property
    def formula_latex(self) -> str:
        return (rf"f_a(z) \oplus f_b(z),\ f_a(z) = {self.f_a.formula_latex},"
                rf"\ f_b(z) = {self.f_b.formula_latex}")

    def _children(self) -> tuple[tuple[str, Layer], ...]:
        return ("f_a", self.f_a), ("f_b", self.f_b)

    # -- sizes --
    @property
    def in_size(self) -> int | None:
        return self.f_a.in_size if self.f_a.in_size is not None else self.f_b.in_size

    def out_size(self, k):
        h_a, h_b = self.f_a.out_size(k), self.f_b.out_size(k)
        return None if h_a is None or h_b is None else h_a + h_b

    def describe(self) -> str:
        return f"Concat of {self.f_a.describe()} and {self.f_b.describe()}"

    def __repr__(self) -> str:
        return f"Concat({_inline(self.f_a)}, {_inline(self.f_b)})"

    # -- forward, D_z, D_W side by side --
    def _f(self, P, Z):
        P_a, P_b = self.split(P)
        return np.concatenate([self.f_a._f(P_a, Z), self.f_b._f(P_b, Z)], axis=-1)  # ⊕

    def _D_z(self, z):
        return np.vstack([self.f_a._D_z(z), self.f_b._D_z(z)])

    def _D_W(self, z):
        from scipy.linalg import block_diag  # where it is used: scipy.linalg is slow to import

        return block_diag(self.f_a._D_W(z), self.f_b._D_W(z))

    # -- batched products: D = [D_a | D_b] splits along the output axis --
    def _halves(self, D, Z, F):
        h_a = self.f_a.out_size(Z.shape[-1])
        if h_a is None:  # a layer that does not state its output size: run it on one row
            h_a = self.f_a._f(self.f_a.params, Z[:1]).shape[-1]
        return D[..., :h_a], D[..., h_a:], F[:, :h_a], F[:, h_a:]

    def left_mul_D_z(self, D, Z, F):
        D_a, D_b, F_a, F_b = self._halves(D, Z, F)
        return self.f_a.left_mul_D_z(D_a, Z, F_a) + self.f_b.left_mul_D_z(D_b, Z, F_b)

    def left_mul_D_W(self, D, Z, F):
        D_a, D_b, F_a, F_b = self._halves(D, Z, F)
        return np.concatenate([self.f_a.left_mul_D_W(D_a, Z, F_a),
                               self.f_b.left_mul_D_W(D_b, Z, F_b)], axis=-1)

    def grad_W_sum(self, G, Z, F):
        G_a, G_b, F_a, F_b = self._halves(G, Z, F)
        return np.concatenate([self.f_a.grad_W_sum(G_a, Z, F_a).ravel(),
                               self.f_b.grad_W_sum(G_b, Z, F_b).ravel()])


class Residual(Layer):
    """f(z) = z + g(z) for a layer g: R^k → R^k (a residual or skip connection).

        D_z f(z) = I_k + D_z g(z)    shape (k, k),
        D_W f(z) = D_W g(z)          shape (k, d): the skip path has no parameters.

    ``params`` is g's params (the same shape; assigning to it sets g's).

    Parameters
    ----------
    g : Layer
        R^k → R^k (output shaped like its input); a Network works too.

    Examples
    --------
    >>> from jacobian_nn import Linear
    >>> f = Residual(Linear([[0.0, 1.0], [2.0, 0.0]]))
    >>> f(np.array([1.0, 3.0]))
    array([4., 5.])
    >>> f.D_z(np.array([1.0, 3.0]))
    array([[1., 1.],
           [2., 1.]])
    """

    def __init__(self, g: Layer):
        self.g = _require_layer(g, "Residual: g")
        k = g.in_size
        h = None if k is None else g.out_size(k)
        if h is not None and h != k:  # an unstated size is checked on the data instead
            raise ValueError(
                f"Residual: z + g(z) needs g: R^k → R^k, but g ({g.describe()}) maps "
                f"{fmt_shape(k)} → {fmt_shape(h)}."
            )

    @property
    def formula(self) -> str:
        return f"z + g(z), g(z) = {self.g.formula}"

    @property
    def formula_latex(self) -> str:
        return rf"z + g(z),\ g(z) = {self.g.formula_latex}"

    @property
    def params(self) -> np.ndarray:
        return self.g.params

    @params.setter
    def params(self, value) -> None:
        self.g.params = value

    def replace_params(self, new: np.ndarray) -> None:
        self.g.replace_params(new)

    def _children(self) -> tuple[tuple[str, Layer], ...]:
        return (("g", self.g),)

    @property
    def n_params(self) -> int:
        return self.g.n_params

    @property
    def in_size(self) -> int | None:
        return self.g.in_size

    def describe(self) -> str:
        return f"Residual around {self.g.describe()}"

    def __repr__(self) -> str:
        return f"Residual({_inline(self.g)})"

    def _g(self, P, Z):
        G = self.g._f(P, Z)
        if G.shape != Z.shape:
            raise ValueError(f"{self.describe()}: z + g(z) needs g(z) shaped like z "
                             f"{Z.shape}, but g returned shape {G.shape}.")
        return G

    def _f(self, P, Z):
        return Z + self._g(P, Z)

    def _D_z(self, z):
        self._g(self.params, z)  # the same shape check as the forward pass
        return np.eye(z.shape[0]) + self.g._D_z(z)

    def _D_W(self, z):
        return self.g._D_W(z)

    # g's output is recomputed rather than taken as F − Z, which would differ by rounding.
    def left_mul_D_z(self, D, Z, F):
        return D + self.g.left_mul_D_z(D, Z, self._g(self.params, Z))  # D (I + D_z g)

    def left_mul_D_W(self, D, Z, F):
        return self.g.left_mul_D_W(D, Z, self._g(self.params, Z))

    def grad_W_sum(self, G, Z, F):
        return self.g.grad_W_sum(G, Z, self._g(self.params, Z))
