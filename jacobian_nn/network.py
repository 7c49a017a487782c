"""The composer f_W = f_{W_m} ∘ … ∘ f_{W_1} and lecture 000's backpropagation, one example.

Forward pass (j = 0 … m):   z^(0) = x,  z^(j) = f_{W_j}(z^(j-1)).
Backward pass (j = m … 1):  D^(m) = I,  D^(j) = D^(j+1) D_z f_{W_{j+1}}(z^(j)),
                            D_{W_j} f_W(x) = D^(j) D_{W_j} f_{W_j}(z^(j-1)).
Output:                     ∇_{W_j} L(f_W(x), y)ᵀ = ∇_ŷ L(z^(m), y)ᵀ D_{W_j} f_W(x).

``Network.chain`` runs exactly these lines and ``Network.backprop`` adds the loss, keeping
every matrix in a ``Trace`` (trace.py). Batches — the mean gradient in three modes, per-example
gradients and Jacobians — go through the batch backward loop in batch.py.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from . import _kernels, _memory, batch, curvature, io, tangent_kernel
from ._validate import as_real_array, fmt_shape
from .activations import Elementwise
from .composition import Composite, reject_shared_params
from .layers import Layer
from .losses import Loss, require_loss
from .trace import Chain, Trace


class Network(Composite):
    """f_W = f_{W_m} ∘ … ∘ f_{W_1}; ``layers[j-1]`` is f_{W_j} (list order = order applied).

    A Network is itself a layer: ``net(x)``, ``net.D_z(x)`` = D_x f_W(x) ∈ R^{h_m×k} and
    ``net.D_W(x)`` = [D_{W_1} f_W(x) … D_{W_m} f_W(x)] ∈ R^{h_m×d}, so networks nest.
    Its ``params`` is w ∈ R^d, the layers' ``params.ravel()`` concatenated (a read-only copy;
    assign a new vector to change the layers).

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
    takes_diagonal = True  # its layers each get D as they accept it, in batch.backward

    def __init__(self, layers: Sequence[Layer]):
        if isinstance(layers, Layer) or not isinstance(layers, Sequence) or not layers:
            raise TypeError("Network takes a non-empty list of layers [f_1, …, f_m].")
        for j, layer in enumerate(layers, 1):
            if not isinstance(layer, Layer):
                hint = (f" Did you mean {layer.__name__}()?" if isinstance(layer, type)
                        and issubclass(layer, Layer) else "")
                raise TypeError(f"layer {j} must be a jacobian_nn layer (Linear, Tanh, …), got "
                                f"{type(layer).__name__}.{hint}")
        self.layers: tuple[Layer, ...] = tuple(layers)
        reject_shared_params(self._children())
        self._sizes = self._infer_sizes()
        # k_j of each layer (None where any size goes), read at every forward pass: a layer's
        # params never change shape, so neither does its input size.
        self._in_sizes = tuple(layer.in_size for layer in self.layers)

    @property
    def m(self) -> int:
        """The number of layers m."""
        return len(self.layers)

    def _children(self) -> tuple[tuple[str, Layer], ...]:
        return tuple((str(j), layer) for j, layer in enumerate(self.layers, 1))

    def describe(self) -> str:
        return f"Network of m = {self.m} layers"

    def __repr__(self) -> str:
        rows = [f"  f_{j}: {layer!r}" for j, layer in enumerate(self.layers, 1)]
        return "Network([\n" + ",\n".join(rows) + "\n])"

    # -- sizes, and where an error sits --
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
                raise ValueError(f"{self.locate(j)}: {err}") from None
        return sizes

    def locate(self, j: int, *, named: bool = False) -> str:
        """Where layer j sits, for an error raised inside it: a nested Network's own message
        names its inner layer, so say which layer of this network that Network is; ``named``
        adds the layer's description, for messages that do not give it themselves."""
        layer = self.layers[j - 1]
        if isinstance(layer, Network):
            return f"in layer {j} ({layer.describe()}) of the outer network"
        return f"layer {j} ({layer.describe()})" if named else f"layer {j}"

    @property
    def in_size(self) -> int | None:
        return self._sizes[0]

    def out_size(self, k):
        """h_m for z^(0) ∈ R^k, or None where a layer does not state its output size: then it is
        found from the data (running the network), never guessed."""
        if k is None or self._sizes[0] is not None:
            return self._sizes[-1]
        # The first layers accept any size: follow z^(0) ∈ R^k through them, so that a size
        # mismatch further in is reported now, and sizes that change (MaxPool1D) are known.
        return self._infer_sizes(k)[-1]

    def _where(self) -> tuple[str, str]:
        return f"layer 1 ({self.layers[0].describe()})", "z^(0) = x"

    @functools.cached_property
    def batch_name(self) -> tuple[str, str]:
        """How messages name a batch X; built once, as the layers' shapes never change."""
        who, symbol = self._where()
        return f"X (rows z^(0) = x_i): {who}", symbol

    def require_finite_weights(self) -> None:
        """Raise if a weight is NaN or ±inf: ``layer.params`` is writable, so a NaN written into
        it would otherwise come out as NaN outputs or be blamed on overflow."""
        if _kernels.all_finite(*(layer.params for layer in self.layers)):
            return
        for j, layer in enumerate(self.layers, 1):
            P = layer.params
            if P.size and not np.isfinite(P).all():
                idx = tuple(int(i) for i in np.argwhere(~np.isfinite(P))[0])
                raise ValueError(
                    f"layer {j} ({layer.describe()}) holds a non-finite weight: params{list(idx)} "
                    f"= {P[idx]}. Was NaN or inf written into layer.params? Assign finite "
                    "values (or jnn.load a saved network) before using it."
                )

    # -- the forward pass --
    def forward(self, z) -> np.ndarray:
        self.require_finite_weights()
        return self.forward_pass(self._check_input(z, self._where()))[-1]

    def forward_pass(self, X: np.ndarray, sizes_known: bool = False) -> list[np.ndarray]:
        """[z^(0), …, z^(m)] for x (k,) or the rows of X (n, k), already float64 and finite (as
        ``forward`` and ``check_batch`` leave them); each layer's input size is checked, unless
        ``sizes_known``: a pass with inputs of X's width went through these layers before (a
        ``Batch``'s second pass on), so each f_{W_j} is applied as it is."""
        zs = [X]
        if sizes_known:
            for layer in self.layers:
                zs.append(layer._f(layer.params, zs[-1]))
            return zs
        for j, layer in enumerate(self.layers, 1):
            zs.append(self._apply(j, layer.params, zs[-1]))
        return zs

    def _f(self, P, Z):
        for j, Pj in enumerate(self.split(P), 1):
            Z = self._apply(j, Pj, Z)
        return Z

    def _apply(self, j: int, P: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """z^(j) = f_{W_j}(z^(j-1)) with params P, after checking the size of z^(j-1) (a nested
        Network's first layers may not fix it); errors raised inside say where layer j sits."""
        layer, k = self.layers[j - 1], self._in_sizes[j - 1]
        if k is not None and Z.shape[-1] != k:
            raise ValueError(
                f"layer {j} ({layer.describe()}) expects z^({j - 1}) ∈ "
                f"{fmt_shape(layer.in_size)}, got shape {Z.shape}. Check the input size and the "
                "layers before it."
            )
        try:
            return layer._f(P, Z)
        except ValueError as err:  # a size rule of the layer's own (Conv1D: N > M)
            raise ValueError(f"{self.locate(j)}: {err}") from None
        except TypeError as err:  # from a user's own forward, whose message may name no layer
            named = not str(err).startswith(layer.describe())
            raise TypeError(f"{self.locate(j, named=named)}: {err}") from err

    # -- lecture 000's algorithm, one example, every matrix kept --
    def chain(self, x, params: bool = True) -> Chain:
        """The forward pass and lecture 000's backward pass for one example x ∈ R^k.

        Returns a ``Chain``: every z^(j), the local Jacobians, D^(j) (h_m, h_j) and
        D_{W_j} f_W(x) (h_m, d_j); with ``params=False`` only z^(j), D_z f and D^(j) (the
        D_W lists hold None), which is all D_x f_W(x) = D^(0) needs.
        """
        self.require_finite_weights()
        x = self._check_input(x, self._where(), ndim=(1,))
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is found, not warned of
            return self._chain(x, params)

    def _chain(self, x: np.ndarray, params: bool) -> Chain:
        z = self.forward_pass(x)
        batch.require_finite(self, float(np.sum(z[-1])), x[None, :], None, one_example=True)
        local_D_z = [None] + [layer._D_z(z[j - 1]) for j, layer in enumerate(self.layers, 1)]
        m = self.m
        local_D_W = [None] * (m + 1)
        if params:
            local_D_W[1:] = [layer._D_W(z[j - 1]) for j, layer in enumerate(self.layers, 1)]
        D = [None] * (m + 1)
        D[m] = np.eye(z[m].shape[0])  # D^(m) = I (the lecture's "1")
        for j in range(m - 1, -1, -1):
            D[j] = D[j + 1] @ local_D_z[j + 1]  # D^(j) = D^(j+1) D_z f_{W_{j+1}}(z^(j))
        D_W = [None] * (m + 1)
        if params:
            D_W[1:] = [D[j] @ local_D_W[j] for j in range(1, m + 1)]  # D^(j) D_{W_j} f_{W_j}
        batch.require_finite_chain(self, D, D_W)
        return Chain(z, local_D_z, local_D_W, D, D_W)

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
        require_loss(loss)
        c = self.chain(x)
        yhat = c.z[-1][None, :]
        Y = loss.targets(yhat, y, single=True)
        values, G = loss.values_and_grads(yhat, Y)
        grad_yhat = G[0]
        grads = [None] + [
            (grad_yhat @ c.D_W[j]).reshape(layer.params.shape)  # ∇_{W_j}Lᵀ = ∇_ŷLᵀ D_{W_j} f_W
            for j, layer in enumerate(self.layers, 1)
        ]
        value = float(values[0])
        batch.require_finite(self, value, c.z[0][None, :], loss, one_example=True)
        return Trace(self, c, Y[0], loss, grad_yhat, grads, value)

    def D_z(self, z, order: str = "output") -> np.ndarray:
        """D^(0) = D_x f_W(x) ∈ R^{h_m×k}: entry [i, a] = ∂f_i/∂x_a, for one example.

        ``order="output"`` brackets the product from the output side (lecture 000's D^(j));
        ``order="forward"`` from the input side (forward accumulation, ``costs.py``): the same
        matrix, at another cost (``jnn.costs``).
        """
        if order == "forward":
            self.require_finite_weights()
            z = self._check_input(z, self._where(), ndim=(1,))
            return self._D_z_forward(self.forward_pass(z))  # sizes checked layer by layer
        if order != "output":
            raise ValueError(f"order must be 'output' or 'forward', got {order!r}.")
        return super().D_z(z)

    def _D_z_forward(self, zs: list[np.ndarray]) -> np.ndarray:
        """F^(1) = D_z f_{W_1}(z^(0)), F^(j) = D_z f_{W_j}(z^(j-1)) F^(j-1), D^(0) = F^(m), from
        the forward pass zs; an element-wise layer's diag(φ'(z)) scales F's rows instead of
        being built."""
        F = None  # F^(1) = D_z f_{W_1}(z^(0)) itself: no product with an identity
        for j, layer in enumerate(self.layers, 1):
            if isinstance(layer, Elementwise):
                v = layer.dphi(zs[j - 1], zs[j])
                F = np.diag(v) if F is None else v[:, None] * F  # diag(φ'(z)) F
            else:
                J = (layer._D_z_forward(layer.forward_pass(zs[j - 1]))
                     if isinstance(layer, Network) else layer._D_z(zs[j - 1]))
                F = J if F is None else J @ F
        return np.array(F, dtype=np.float64)

    def _D_z(self, x):
        c = self.chain(x, params=False)
        batch.require_finite_chain(self, c.D, c.D_W, to_input=True)
        return c.D[0]

    def _D_W(self, x):
        return np.hstack(self.chain(x).D_W[1:])

    def D_W(self, x, as_tensor: bool = False):
        """[D_{W_1} f_W(x) … D_{W_m} f_W(x)] ∈ R^{h_m×d}, the blocks side by side.

        With ``as_tensor=True``, a list of lecture 004's tensors instead, one per layer:
        entry j-1 has shape (h_m, *W_j.shape), [i, a, b] = ∂f_i/∂(W_j)_ab.
        """
        if not as_tensor:
            return super().D_W(x)
        blocks = self.chain(x).D_W[1:]
        return [b.reshape(b.shape[0], *np.shape(layer.params))
                for b, layer in zip(blocks, self.layers, strict=True)]

    # -- batches: the batch backward loop of batch.py --
    def check_batch(self, X, Y, loss: Loss) -> batch.Batch:
        """X (n, k) and Y (n, h_m) checked once against this network and ``loss``: a
        ``batch.Batch`` whose ``gradients(mode)`` and ``mean_loss()`` the trainers call."""
        require_loss(loss)
        self.require_finite_weights()
        X = self._check_input(X, self.batch_name, ndim=(2,))
        Y = as_real_array(Y, "Y", ndim=(1, 2))
        if Y.shape[0] != X.shape[0]:
            raise ValueError(
                f"X has n = {X.shape[0]} examples (rows) but Y has {Y.shape[0]}; "
                "they must pair up row by row."
            )
        return batch.Batch(self, X, Y, loss)

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
            How to compute; all three agree to rounding (batch.py says how each works).

        Returns
        -------
        value : float
            (1/n) Σ_i L(f_W(x_i), y_i).
        grads : list of ndarray
            ``grads[j-1]`` = (1/n) Σ_i ∇_{W_j} L(f_W(x_i), y_i), shaped like layer j's params.
        """
        batch.require_mode(mode)
        return self.check_batch(X, Y, loss).checked_gradients(mode)

    def per_example_gradients(self, X, Y, loss: Loss) -> list[np.ndarray]:
        """∇_{W_j} L(f_W(x_i), y_i) for every example i and layer j, before averaging.

        Returns
        -------
        list of ndarray
            Entry j-1 has shape (n, *params.shape) of layer j: entry [i] is
            ∇_{W_j} L(f_W(x_i), y_i), shaped like W_j. Their mean over i is
            ``gradients(X, Y, loss)[1]``.
        """
        b = self.check_batch(X, Y, loss)
        _memory.require_per_example_gradients_fit(b.n, self.n_params)
        return b.per_example_gradients()

    def jacobians(self, X) -> tuple[list[np.ndarray], np.ndarray]:
        """Per-example Jacobians of the whole network for a batch X (n, k).

        Returns
        -------
        D_W : list of ndarray
            ``D_W[j-1]`` has shape (n, h_m, d_j): entry [i] is D_{W_j} f_W(x_i).
        D_x : ndarray, shape (n, h_m, k)
            Entry [i] is D_x f_W(x_i) = D^(0) for example i.
        """
        self.require_finite_weights()
        X = self._check_input(X, self.batch_name, ndim=(2,))
        h_m = self.out_size(X.shape[1])
        if h_m is None:  # a custom layer without out_size: one example's forward pass says
            h_m = self.forward_pass(X[:1])[-1].shape[1]
        _memory.require_jacobians_fit(*X.shape, h_m, self.n_params)
        return batch.jacobians(self, X)

    # -- a Network used as a layer inside another: the same loop, from the outer D --
    def left_mul_D_z(self, D, Z, F):
        return batch.backward(self.layers, self.forward_pass(Z), D, params=None)[1]

    def left_mul_D_W(self, D, Z, F):
        blocks, _ = batch.backward(self.layers, self.forward_pass(Z), D, params="per_example")
        return np.concatenate(blocks, axis=-1)

    def grad_W_sum(self, G, Z, F):
        blocks, _ = batch.backward(self.layers, self.forward_pass(Z), G, params="sum")
        return np.concatenate([b.ravel() for b in blocks])

    def save(self, path) -> None:
        """Write this network to ``path`` (.npz with its architecture, no pickle, atomic).

        Read it back with ``jacobian_nn.load(path)``; see ``jacobian_nn.io``.
        """
        io.save(self, path)

    # -- second order from the explicit Jacobians (curvature.py, tangent_kernel.py) --
    def ggn(self, X, Y, loss: Loss) -> np.ndarray:
        """(1/n) Σ_i J_iᵀ ∇²_ŷL J_i with J_i = D_W f_W(x_i), shape (d, d): ``curvature.ggn``."""
        return curvature.ggn(self, X, Y, loss)

    def hessian(self, X, Y, loss: Loss) -> np.ndarray:
        """The exact (1/n) Σ_i ∇²_w L(f_W(x_i), y_i), shape (d, d): ``curvature.hessian``."""
        return curvature.hessian(self, X, Y, loss)

    def ntk(self, X1, X2=None, *, route: str = "structured") -> np.ndarray:
        """The empirical NTK Σ_j D_{W_j} f_W(x_i) D_{W_j} f_W(x'_l)ᵀ, shape (n1, n2, h_m, h_m):
        ``tangent_kernel.ntk``."""
        return tangent_kernel.ntk(self, X1, X2, route=route)


curvature.register(Network)(curvature.network_rule)
io.register_layer(Network, build=lambda c, p, children: Network(children),
                  children=lambda net: net.layers, top_level=True)

