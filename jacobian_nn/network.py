"""The composer f_W = f_{W_m} ∘ … ∘ f_{W_1} and lecture 000's backpropagation.

Forward pass (j = 0 … m):   z^(0) = x,  z^(j) = f_{W_j}(z^(j-1)).
Backward pass (j = m … 1):  D^(m) = I,  D^(j) = D^(j+1) D_z f_{W_{j+1}}(z^(j)),
                            D_{W_j} f_W(x) = D^(j) D_{W_j} f_{W_j}(z^(j-1)).
Output:                     ∇_{W_j} L(f_W(x), y)ᵀ = ∇_ŷ L(z^(m), y)ᵀ D_{W_j} f_W(x).

``Network.backprop`` runs exactly these lines for one example and keeps every matrix in a
``Trace``. ``Network.gradients`` averages ∇_{W_j} L over a batch in one of three modes that
give the same numbers (why, and what each costs: ``docs/performance.md``):

* ``"lecture"``  – ``backprop`` per example, every Jacobian materialised;
* ``"jacobian"`` – all examples at once, D^(j) stacked as (n, h_m, h_j), each layer's
  Jacobian applied through its structure, ∇_ŷLᵀ applied last by associativity;
* ``"reverse"``  – ∇_ŷLᵀ applied first, so every D^(j) shrinks to the row ∇_ŷLᵀ D^(j)
  (vector–Jacobian products, what autodiff frameworks do).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ._validate import as_real_array, fmt_shape
from .layers import Layer, _reject_shared_params
from .losses import Loss

if TYPE_CHECKING:
    from .display import Rendering

MODES = ("lecture", "jacobian", "reverse")


class Network(Layer):
    """f_W = f_{W_m} ∘ … ∘ f_{W_1}; ``layers[j-1]`` is f_{W_j} (list order = order applied).

    A Network is itself a layer: ``net(x)``, ``net.D_z(x)`` = D_x f_W(x) ∈ R^{h_m×k} and
    ``net.D_W(x)`` = [D_{W_1} f_W(x) … D_{W_m} f_W(x)] ∈ R^{h_m×d}, so networks nest.
    Its ``params`` is the concatenation of the layers' ``params.ravel()`` (a fresh vector;
    assign to it to change the layers).

    Examples
    --------
    >>> from jacobian_nn import Linear, Tanh
    >>> net = Network([Linear([[1.0, -3.0], [0.2, 1.0]]), Tanh(), Linear([[1.0, -1.0]])])
    >>> net(np.array([1.0, 0.1])).round(4)
    array([0.3131])
    >>> net.D_z(np.array([1.0, 0.1])).round(4)   # D^(0) = D_x f_W(x) ∈ R^{1×2}
    array([[ 0.4517, -2.8194]])
    """

    formula = "f_{W_m} ∘ … ∘ f_{W_1}"
    formula_latex = r"f_{W_m} \circ \cdots \circ f_{W_1}"

    def __init__(self, layers: Sequence[Layer]):
        if isinstance(layers, Layer) or not isinstance(layers, Sequence) or not layers:
            raise TypeError("Network takes a non-empty list of layers [f_1, …, f_m].")
        for j, layer in enumerate(layers, 1):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"layer {j} must be a jacobian_nn layer (Linear, Tanh, …), got "
                    f"{type(layer).__name__}."
                )
        self.layers: tuple[Layer, ...] = tuple(layers)
        _reject_shared_params(self._children())
        self._sizes = self._infer_sizes()

    def _infer_sizes(self, k0: int | None = None) -> list[int | None]:
        """Sizes of z^(0) … z^(m) where known, from z^(0) ∈ R^k0 if given; reports layers that
        cannot compose."""
        sizes = [self.layers[0].in_size if k0 is None else k0]
        for j, layer in enumerate(self.layers, 1):
            k, need = sizes[-1], layer.in_size
            if k is not None and need is not None and k != need:
                source = (f"layer {j - 1} ({self.layers[j - 2].describe()}) outputs" if j > 1
                          else "the input is")
                raise ValueError(
                    f"layer {j} ({layer.describe()}) expects z^({j - 1}) ∈ {fmt_shape(need)}, "
                    f"but {source} z^({j - 1}) ∈ {fmt_shape(k)}. Make the sizes agree."
                )
            try:
                sizes.append(layer.out_size(k if k is not None else need))
            except ValueError as err:  # a size rule of the layer's own (MaxPool1D: N ≥ size)
                raise ValueError(f"{self._locate(j)}: {err}") from None
        return sizes

    def _locate(self, j: int, *, named: bool = False) -> str:
        """Where layer j sits, for an error raised inside it: a nested Network's own message
        names its inner layer, so say which layer of this network that Network is; ``named``
        adds the layer's description, for messages that do not give it themselves."""
        layer = self.layers[j - 1]
        if isinstance(layer, Network):
            return f"in layer {j} ({layer.describe()}) of the outer network"
        return f"layer {j} ({layer.describe()})" if named else f"layer {j}"

    # -- the Layer interface --
    @property
    def m(self) -> int:
        """The number of layers m."""
        return len(self.layers)

    @property
    def params(self) -> np.ndarray:
        """w ∈ R^d, every layer's params raveled in turn: a read-only copy, so that writing
        into it raises instead of changing nothing; assign a new vector to set them."""
        w = np.concatenate([layer.params.ravel() for layer in self.layers])
        w.flags.writeable = False
        return w

    @params.setter
    def params(self, value) -> None:
        w = as_real_array(value, "new params of the Network", ndim=(1,))
        if w.shape != (self.n_params,):
            raise ValueError(f"the Network has d = {self.n_params} params; got shape {w.shape}.")
        for layer, chunk in zip(self.layers, self._split(w), strict=True):
            layer.params = chunk

    def _assign_params(self, new: np.ndarray) -> None:
        for layer, chunk in zip(self.layers, self._split(new), strict=True):
            layer._assign_params(chunk)

    def _children(self) -> tuple[tuple[str, Layer], ...]:
        return tuple((str(j), layer) for j, layer in enumerate(self.layers, 1))

    @property
    def n_params(self) -> int:
        return sum(layer.n_params for layer in self.layers)

    def _split(self, w: np.ndarray) -> list[np.ndarray]:
        """Cut the vector w ∈ R^d into the layers' params arrays."""
        cuts = np.cumsum([layer.n_params for layer in self.layers])[:-1]
        chunks = np.split(w, cuts)
        return [c.reshape(L.params.shape) for L, c in zip(self.layers, chunks, strict=True)]

    @property
    def in_size(self) -> int | None:
        return self._sizes[0]

    def out_size(self, k):
        if k is None or self._sizes[0] is not None:
            return self._sizes[-1] if self._sizes[-1] is not None else k
        # The first layers accept any size: follow z^(0) ∈ R^k through them, so that a size
        # mismatch further in is reported now, and sizes that change (MaxPool1D) are known.
        return self._infer_sizes(k)[-1]

    def describe(self) -> str:
        return f"Network of m = {self.m} layers"

    def __repr__(self) -> str:
        rows = [f"  f_{j}: {layer!r}" for j, layer in enumerate(self.layers, 1)]
        return "Network([\n" + ",\n".join(rows) + "\n])"

    def _where(self) -> tuple[str, str]:
        return f"layer 1 ({self.layers[0].describe()})", "z^(0) = x"

    @functools.cached_property
    def _batch_name(self) -> tuple[str, str]:
        """How messages name a batch X; built once, as the layers' shapes never change."""
        who, symbol = self._where()
        return f"X (rows z^(0) = x_i): {who}", symbol

    def _f(self, P, Z):
        for j, Pj in enumerate(self._split(P), 1):
            Z = self._apply(j, Pj, Z)
        return Z

    def forward(self, z) -> np.ndarray:
        return self._forward_all(self._check_input(z, self._where()))[-1]

    # -- forward pass --
    def _forward_all(self, X: np.ndarray) -> list[np.ndarray]:
        """[z^(0), …, z^(m)] for x (k,) or rows of X (n, k); checks each layer's input size."""
        zs = [X]
        for j, layer in enumerate(self.layers, 1):
            zs.append(self._apply(j, layer.params, zs[-1]))
        return zs

    def _apply(self, j: int, P: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """z^(j) = f_{W_j}(z^(j-1)) with params P, after checking the size of z^(j-1) (a nested
        Network's first layers may not fix it); errors raised inside say where layer j sits."""
        self._check_size(j, Z)
        layer = self.layers[j - 1]
        try:
            return layer._f(P, Z)
        except ValueError as err:  # a size rule of the layer's own (Conv1D: N > M)
            raise ValueError(f"{self._locate(j)}: {err}") from None
        except TypeError as err:  # from a user's own forward, whose message names no layer
            raise TypeError(f"{self._locate(j, named=True)}: {err}") from err

    def _check_size(self, j: int, Z: np.ndarray) -> None:
        """Raise if z^(j-1) (the rows of Z) does not fit layer j."""
        layer, need = self.layers[j - 1], self.layers[j - 1].in_size
        if need is not None and Z.shape[-1] != need:
            raise ValueError(
                f"layer {j} ({layer.describe()}) expects z^({j - 1}) ∈ {fmt_shape(need)}, "
                f"got shape {Z.shape}. Check the input size and the layers before it."
            )

    # -- lecture 000's algorithm, one example, every matrix kept --
    def _chain(self, x: np.ndarray) -> dict:
        zs = self._forward_all(x)
        m = self.m
        local_D_z = [None] + [L._D_z(zs[j - 1]) for j, L in enumerate(self.layers, 1)]
        local_D_W = [None] + [L._D_W(zs[j - 1]) for j, L in enumerate(self.layers, 1)]
        D = [None] * (m + 1)
        D[m] = np.eye(zs[m].shape[0])  # D^(m) = I (the lecture's "1")
        for j in range(m - 1, -1, -1):
            D[j] = D[j + 1] @ local_D_z[j + 1]  # D^(j) = D^(j+1) D_z f_{W_{j+1}}(z^(j))
        D_W = [None] + [D[j] @ local_D_W[j] for j in range(1, m + 1)]
        return {"z": zs, "local_D_z": local_D_z, "local_D_W": local_D_W, "D": D, "D_W": D_W}

    def _D_z(self, x):
        return self._chain(x)["D"][0]

    def _D_W(self, x):
        return np.hstack(self._chain(x)["D_W"][1:])

    def backprop(self, x, y, loss: Loss) -> Trace:
        """Run lecture 000's backpropagation on one example (x, y) and keep every step.

        Parameters
        ----------
        x : array_like, shape (k,)
            The input z^(0).
        y : array_like, shape (h_m,)
            The target.
        loss : Loss
            L(ŷ, y) with its derivative ∇_ŷ L.

        Returns
        -------
        Trace
            z^(j), D^(j), the local Jacobians, D_{W_j} f_W(x), ∇_{W_j} L and L.
        """
        _require_loss(loss)
        x = self._check_input(x, self._where(), ndim=(1,)).copy()
        c = self._chain(x)
        yhat = c["z"][-1]
        y = loss._check(yhat[None, :], y, single=True)[0]
        grad_yhat = loss._grads(yhat[None, :], y[None, :])[0]
        grads = [None] + [
            (grad_yhat @ c["D_W"][j]).reshape(L.params.shape)  # ∇_{W_j}Lᵀ = ∇_ŷLᵀ D_{W_j} f_W(x)
            for j, L in enumerate(self.layers, 1)
        ]
        value = float(loss._values(yhat[None, :], y[None, :])[0])
        self._require_finite(value, x[None, :], loss)
        return Trace(self, c, y, loss, grad_yhat, grads, value)

    def _require_finite(self, value: float, X: np.ndarray, loss: Loss) -> None:
        """Raise, saying where, if finite inputs overflowed float64 on the way to the loss.

        A loss of +inf from a finite ŷ is only the value overflowing (½(ŷ − y)² at
        |ŷ − y| = 1e300), while its gradient is still finite, so that one is returned.
        """
        if math.isfinite(value):
            return
        with np.errstate(all="ignore"):
            zs = self._forward_all(X)
        for j, Z in enumerate(zs[1:], 1):
            bad = np.argwhere(~np.isfinite(Z))
            if bad.size:
                raise ValueError(
                    f"the forward pass overflowed float64: z^({j}), the output of layer {j} "
                    f"({self.layers[j - 1].describe()}), is not finite for example "
                    f"i = {bad[0][0]}. Scale the inputs or the weights down."
                )
        if math.isnan(value):
            raise ValueError(f"{loss!r} is NaN at these weights, although every z^(j) is "
                             "finite. Check the targets against the loss.")

    # -- batches --
    def _check_batch(self, X, Y, loss: Loss) -> tuple[np.ndarray, np.ndarray]:
        _require_loss(loss)
        X = self._check_input(X, self._batch_name, ndim=(2,))
        Y = as_real_array(Y, "Y", ndim=(1, 2))
        if Y.shape[0] != X.shape[0]:
            raise ValueError(
                f"X has n = {X.shape[0]} examples (rows) but Y has {Y.shape[0]}; "
                "they must pair up row by row."
            )
        return X, Y

    def gradients(self, X, Y, loss: Loss, mode: str = "jacobian"):
        """The mean loss and its gradient for every layer over a batch.

        Parameters
        ----------
        X : array_like, shape (n, k)
            Inputs x_i as rows.
        Y : array_like, shape (n, h_m)
            Targets y_i as rows (shape (n,) is accepted when h_m = 1).
        loss : Loss
        mode : {"jacobian", "lecture", "reverse"}
            How to compute; all three agree to rounding (see the module docstring).

        Returns
        -------
        value : float
            (1/n) Σ_i L(f_W(x_i), y_i).
        grads : list of ndarray
            ``grads[j-1]`` = (1/n) Σ_i ∇_{W_j} L(f_W(x_i), y_i), shaped like layer j's params.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
        X, Y = self._check_batch(X, Y, loss)
        value, grads = self._gradients(X, Y, loss, mode)
        self._require_finite(value, X, loss)
        return value, grads

    def _gradients(self, X: np.ndarray, Y: np.ndarray, loss: Loss, mode: str):
        """``gradients`` on arrays returned by ``_check_batch`` (the trainer checks once per fit).

        Costs (see docs/performance.md): "jacobian" builds every D^(j) as an (n, h_m, h_j)
        array, "reverse" only the rows ∇_ŷLᵀ D^(j) of shape (n, h_j); both then apply D_{W_j}
        through the layer's structure, never as an (n, h_j, d_j) array.
        """
        n = X.shape[0]
        if mode == "lecture":
            Y = loss._check(self._forward_all(X)[-1], Y)  # so a wrong Y is named whole, as below
            traces = [self.backprop(x, y, loss) for x, y in zip(X, Y, strict=True)]
            value = sum(tr.loss for tr in traces) / n
            grads = [sum(tr.grad(j) for tr in traces) / n for j in range(1, self.m + 1)]
            return value, grads
        zs = self._forward_all(X)
        if Y.shape == zs[-1].shape:  # Y is already finite float64: only its range is left
            loss._check_values(zs[-1], Y)
        else:  # (n,) targets for h_m = 1, or a clear error
            Y = loss._check(zs[-1], Y)
        values, G = loss._values_and_grads(zs[-1], Y)  # G: rows ∇_ŷ L(z_i^(m), y_i)ᵀ
        value = float(values.sum()) / n
        grads = [None] * self.m
        if mode == "reverse":
            for j in range(self.m, 0, -1):  # G holds the row ∇_ŷLᵀ D^(j) of every example
                L = self.layers[j - 1]
                grads[j - 1] = L.grad_W_sum(G, zs[j - 1], zs[j]) / n if L.n_params else np.zeros(0)
                if j > 1:
                    G = L.left_mul_D_z(G, zs[j - 1], zs[j])
            return value, grads
        h_m = zs[-1].shape[1]
        D = D_m = np.broadcast_to(np.eye(h_m), (n, h_m, h_m))  # D^(m) = I for every example
        for j in range(self.m, 0, -1):
            L = self.layers[j - 1]
            if L.n_params:  # ∇_{W_j}Lᵀ = (∇_ŷLᵀ D^(j)) D_{W_j} f_{W_j}, once D^(j) is built
                g = G if D is D_m else _rows_times(G, D)  # ∇_ŷLᵀ D^(m) = ∇_ŷLᵀ: no product
                grads[j - 1] = L.grad_W_sum(g, zs[j - 1], zs[j]) / n
            else:  # d_j = 0: the gradient is the empty vector
                grads[j - 1] = np.zeros(0)
            if j > 1:
                D = L.left_mul_D_z(D, zs[j - 1], zs[j])  # D^(j-1) = D^(j) D_z f_{W_j}(z^(j-1))
        return value, grads

    def jacobians(self, X) -> tuple[list[np.ndarray], np.ndarray]:
        """Per-example Jacobians of the whole network for a batch, by the batched chain.

        Parameters
        ----------
        X : array_like, shape (n, k)

        Returns
        -------
        D_W : list of ndarray
            ``D_W[j-1]`` has shape (n, h_m, d_j): entry [i] is D_{W_j} f_W(x_i).
        D_x : ndarray, shape (n, h_m, k)
            Entry [i] is D_x f_W(x_i) = D^(0) for example i.
        """
        zs = self._forward_all(self._check_input(X, self._batch_name, ndim=(2,)))
        n, h_m = zs[-1].shape
        D_W, D_x = self._chain_D_W(np.broadcast_to(np.eye(h_m), (n, h_m, h_m)), zs)  # D^(m) = I
        return D_W, np.array(D_x)

    def per_example_gradients(self, X, Y, loss: Loss) -> list[np.ndarray]:
        """∇_{W_j} L(f_W(x_i), y_i) for every example i and layer j, before averaging.

        The batched reverse chain: the rows g_i = ∇_ŷLᵀ D^(j) of all examples go through
        ``left_mul_D_W`` (one row per example) instead of being summed by ``grad_W_sum``.
        Their mean over i is ``gradients(X, Y, loss)[1]``.

        Parameters
        ----------
        X : array_like, shape (n, k)
        Y : array_like, shape (n, h_m)
        loss : Loss

        Returns
        -------
        list of ndarray
            Entry j-1 has shape (n, *params.shape) of layer j: entry [i] is
            ∇_{W_j} L(f_W(x_i), y_i), shaped like W_j.
        """
        X, Y = self._check_batch(X, Y, loss)
        zs = self._forward_all(X)
        G = loss._grads(zs[-1], loss._check(zs[-1], Y))  # rows ∇_ŷ L(z_i^(m), y_i)ᵀ
        blocks, _ = self._chain_D_W(G, zs)
        return [b.reshape(X.shape[0], *L.params.shape)
                for b, L in zip(blocks, self.layers, strict=True)]

    def _chain_D_W(self, D: np.ndarray, zs: list[np.ndarray]):
        """Carry D (n, ..., h_m) down the chain, collecting D · D_{W_j} f_W(x_i) per layer.

        For j = m … 1, with D standing for D · D^(j) (lecture 000's shared prefix):
        block j is D · D^(j) D_{W_j} f_{W_j}(z^(j-1)), then D ← D · D^(j) D_z f_{W_j}(z^(j-1)).
        D = I gives the per-example Jacobians; D = rows ∇_ŷLᵀ gives per-example gradients.

        Returns
        -------
        blocks : list of ndarray
            ``blocks[j-1]`` has shape (n, ..., d_j).
        D_0 : ndarray, shape (n, ..., k)
            D · D^(0), the product carried through every layer.
        """
        blocks = [None] * self.m
        for j in range(self.m, 0, -1):
            L = self.layers[j - 1]
            blocks[j - 1] = L.left_mul_D_W(D, zs[j - 1], zs[j])
            D = L.left_mul_D_z(D, zs[j - 1], zs[j])
        return blocks, D

    # -- nesting: a Network used as a layer inside another Network --
    def left_mul_D_z(self, D, Z, F):
        zs = self._forward_all(Z)
        for j in range(self.m, 0, -1):
            D = self.layers[j - 1].left_mul_D_z(D, zs[j - 1], zs[j])
        return D

    def left_mul_D_W(self, D, Z, F):
        return np.concatenate(self._chain_D_W(D, self._forward_all(Z))[0], axis=-1)

    def grad_W_sum(self, G, Z, F):
        zs = self._forward_all(Z)
        parts = [None] * self.m
        for j in range(self.m, 0, -1):
            L = self.layers[j - 1]
            parts[j - 1] = L.grad_W_sum(G, zs[j - 1], zs[j]).ravel()
            G = L.left_mul_D_z(G, zs[j - 1], zs[j])
        return np.concatenate(parts)

    # -- saving --
    def save(self, path) -> None:
        """Write this network to ``path`` (.npz with its architecture, no pickle, atomic).

        Read it back with ``jacobian_nn.load(path)``; see ``jacobian_nn.io``.
        """
        from .io import save  # io imports this module

        save(self, path)

    # -- second order (jacobian_nn.curvature, which imports this module) --
    def ggn(self, X, Y, loss: Loss) -> np.ndarray:
        """(1/n) Σ_i J_iᵀ ∇²_ŷL J_i with J_i = D_W f_W(x_i), shape (d, d): ``curvature.ggn``."""
        from .curvature import ggn

        return ggn(self, X, Y, loss)

    def hessian(self, X, Y, loss: Loss) -> np.ndarray:
        """The exact (1/n) Σ_i ∇²_w L(f_W(x_i), y_i), shape (d, d): ``curvature.hessian``."""
        from .curvature import hessian

        return hessian(self, X, Y, loss)

    def ntk(self, X1, X2=None, *, route: str = "structured") -> np.ndarray:
        """The empirical NTK Σ_j D_{W_j} f_W(x_i) D_{W_j} f_W(x'_l)ᵀ, shape (n1, n2, h_m, h_m):
        ``curvature.ntk``."""
        from .curvature import ntk

        return ntk(self, X1, X2, route=route)


def _require_loss(loss) -> None:
    if not isinstance(loss, Loss):
        raise TypeError(
            f"loss must be a jacobian_nn loss such as HalfSquaredError(), got {loss!r}."
        )


def _rows_times(G: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Rows G_i D_i for every example: G (n, r), D (n, r, h) → (n, h); here ∇_ŷLᵀ D^(j).

    The same numbers (to rounding) by the fastest of three routes, as measured by
    benchmarks/bench.py: one GEMM when D is one matrix broadcast over the batch (D^(m) = I);
    numpy's batched matmul (a small product per example) while D fits in cache; einsum's
    streaming loop for larger D.
    """
    if D.strides[0] == 0:
        return G @ D[0]
    if D.nbytes <= _IN_CACHE_BYTES:
        return np.matmul(G[:, None, :], D)[:, 0, :]
    return np.einsum("nr,nrh->nh", G, D)


_IN_CACHE_BYTES = 16 * 2**20  # where matmul stopped beating einsum on a 2-core EPYC


class Trace:
    """Every quantity of one backpropagation, under its lecture name.

    Indices follow lecture 000: ``z(j)`` and ``D(j)`` for j = 0 … m; ``D_W(j)``, ``grad(j)``,
    ``local_D_z(j)`` and ``local_D_W(j)`` for j = 1 … m. Returned arrays are read-only.
    """

    def __init__(self, network, chain, y, loss, grad_yhat, grads, value):
        self.network = network
        self.m = network.m
        self.y = _frozen(y)
        self.loss_fn = loss
        self.grad_yhat = _frozen(grad_yhat)  #: ∇_ŷ L(z^(m), y), shape (h_m,)
        self.loss = value  #: L(f_W(x), y)
        self._z = [_frozen(a) for a in chain["z"]]
        self._local_D_z = [None] + [_frozen(a) for a in chain["local_D_z"][1:]]
        self._local_D_W = [None] + [_frozen(a) for a in chain["local_D_W"][1:]]
        self._D = [_frozen(a) for a in chain["D"]]
        self._D_W = [None] + [_frozen(a) for a in chain["D_W"][1:]]
        self._grad = [None] + [_frozen(a) for a in grads[1:]]

    def _j(self, j: int, lo: int) -> int:
        if isinstance(j, bool) or not isinstance(j, int | np.integer) or not lo <= j <= self.m:
            raise IndexError(f"j must be an integer in {lo}..{self.m} (m = {self.m}), got {j!r}.")
        return int(j)

    def z(self, j: int) -> np.ndarray:
        """z^(j), shape (h_j,); z(0) = x and z(m) = ŷ."""
        return self._z[self._j(j, 0)]

    def D(self, j: int) -> np.ndarray:
        """D^(j) = D_z f_{W_m}(z^(m-1)) ⋯ D_z f_{W_{j+1}}(z^(j)), shape (h_m, h_j)."""
        return self._D[self._j(j, 0)]

    def local_D_z(self, j: int) -> np.ndarray:
        """D_z f_{W_j}(z^(j-1)), shape (h_j, h_{j-1})."""
        return self._local_D_z[self._j(j, 1)]

    def local_D_W(self, j: int) -> np.ndarray:
        """D_{W_j} f_{W_j}(z^(j-1)), shape (h_j, d_j)."""
        return self._local_D_W[self._j(j, 1)]

    def D_W(self, j: int) -> np.ndarray:
        """D_{W_j} f_W(x) = D^(j) D_{W_j} f_{W_j}(z^(j-1)), shape (h_m, d_j)."""
        return self._D_W[self._j(j, 1)]

    def grad(self, j: int) -> np.ndarray:
        """∇_{W_j} L(f_W(x), y), shaped like layer j's params."""
        return self._grad[self._j(j, 1)]

    def dL_dz(self, j: int) -> np.ndarray:
        """∇_ŷLᵀ D^(j), shape (h_j,): lecture 002's row ∂L/∂x_j, the loss's derivative by z^(j)."""
        return _frozen(self.grad_yhat @ self._D[self._j(j, 0)])

    @property
    def yhat(self) -> np.ndarray:
        """ŷ = z^(m)."""
        return self._z[-1]

    def to_text(self, decimals: int = 4) -> str:
        """The whole trace as plain text, each quantity with its lecture name and shape."""
        from .display import trace_to_text

        return trace_to_text(self, decimals)

    def display(self, decimals: int = 4) -> Rendering:
        """The whole trace as a ``display.Rendering``: LaTeX in Jupyter, text when printed."""
        from .display import trace_display

        return trace_display(self, decimals)

    def show(self, decimals: int = 4) -> None:
        """Print ``to_text(decimals)``."""
        print(self.to_text(decimals))

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"<Trace of backprop through m = {self.m} layers, L = {self.loss:.6g}>"

    def _repr_latex_(self) -> str:
        from .display import trace_to_latex

        return trace_to_latex(self, 4)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.flags.writeable = False
    return a


def mlp(sizes: Sequence[int], activation: type[Layer] | None = None, *, seed: int = 0) -> Network:
    """Affine → activation → … → Affine for layer widths ``sizes`` = [k, h_1, …, h_out].

    Weights are drawn N(0, 1/k_in) from ``numpy.random.default_rng(seed)`` (so the same seed
    gives the same network), biases start at 0; the last Affine has no activation after it.

    Examples
    --------
    >>> mlp([2, 2, 1])
    Network([
      f_1: Affine(W ∈ R^{2×2}, b ∈ R^2),
      f_2: Tanh(),
      f_3: Affine(W ∈ R^{1×2}, b ∈ R^1)
    ])
    """
    from .layers import Affine, Tanh

    activation = Tanh if activation is None else activation
    if len(sizes) < 2 or not all(
        isinstance(s, numbers.Real) and not isinstance(s, bool) and s >= 1 and float(s).is_integer()
        for s in sizes
    ):
        raise ValueError(f"mlp: sizes must be ≥ 2 positive whole numbers, got {sizes!r}.")
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    for j, (k, h) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Affine(rng.normal(0.0, 1.0 / np.sqrt(k), (int(h), int(k))), np.zeros(int(h))))
        if j < len(sizes) - 2:
            layers.append(activation())
    return Network(layers)
