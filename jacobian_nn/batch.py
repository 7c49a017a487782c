"""Lecture 000's backward pass for a whole batch: one loop j = m … 1, shared by the "jacobian"
and "reverse" modes and the per-example gradients and Jacobians.

For a batch X (n, k) the forward pass gives z_i^(j) for every example, and the backward loop
carries a stacked product D · D^(j) — entry [i] for example i — down the chain:

    D ← D · D_z f_{W_j}(z^(j-1))        (so it holds D · D^(j-1) next),

reading each layer's parameter block on the way, summed over the batch (``params="sum"``, as
BackPACK's ``sum_batch``) or per example (``params="per_example"``). What D starts as decides
what the loop computes:

* D = I (D^(m) for every example) with the rows G_i = ∇_ŷ L(z_i^(m), y_i)ᵀ applied before each
  block: lecture 000's D^(j) for all examples, then ∇_{W_j}Lᵀ = (∇_ŷLᵀ D^(j)) D_{W_j} f_{W_j}
  — the ``"jacobian"`` mode;
* D = the rows G: every product shrinks to the row ∇_ŷLᵀ D^(j) — the ``"reverse"`` mode
  (vector–Jacobian products, what autodiff frameworks do), and per-example gradients;
* D = I without G: the per-example Jacobians D_{W_j} f_W(x_i) and D_x f_W(x_i).

The ``"lecture"`` mode runs ``Network.backprop`` per example instead, every matrix materialised.
By associativity all three give the same numbers to rounding; what each costs:
docs/performance.md. Every stacked product goes through a layer's ``left_mul_D_z``,
``left_mul_D_W`` or ``grad_W_sum`` (layers.py) and the named kernels of _kernels.py.
"""

from __future__ import annotations

import math

import numpy as np

from . import _kernels, _memory, progress
from .losses import Loss

MODES = ("lecture", "jacobian", "reverse")


def require_mode(mode) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
    return mode


def backward(layers, zs: list[np.ndarray], D, *, G: np.ndarray | None = None,
             params: str | None = "sum", to_input: bool = False):
    """Carry D (n, ..., h_m) down the chain j = m … 1, collecting each layer's parameter block.

    Parameters
    ----------
    layers : sequence of Layer
        f_{W_1} … f_{W_m}.
    zs : list of ndarray
        The forward pass: zs[j] (n, h_j) holds z_i^(j) as rows.
    D : ndarray (n, h_m) or (n, r, h_m), or a ``_kernels.Diagonal``
        What the chain starts from (I, or the rows ∇_ŷLᵀ); below, D stands for D · D^(j).
    G : ndarray, shape (n, r), optional
        Rows applied to D before each parameter block: block j then uses G_i D_i.
    params : {"sum", "per_example", "rows", None}
        ``"sum"``: block j is Σ_i (G_i) D_i D_{W_j} f_{W_j}(z_i^(j-1)), shaped like W_j;
        ``"per_example"``: block j has shape (n, ..., d_j), one D_i D_{W_j} f_{W_j} per example;
        ``"rows"`` (with G): block j is the rows G_i D_i (n, h_j) that "sum" would multiply by
        D_{W_j} f_{W_j} (``sum_blocks`` does, later), None for a layer without parameters;
        None: no blocks (the chain only carries D).
    to_input : bool
        Also apply the first layer's D_z, so that the second result is D · D^(0).

    Returns
    -------
    blocks : list
        ``blocks[j-1]`` for layer j (None when ``params`` is None).
    D : ndarray or Diagonal
        D · D^(0) if ``to_input`` (or ``params`` is None), else D · D^(1).
    """
    blocks = [None] * len(layers)
    rows = seen = None  # G D, formed again only when D changes (a Bias hands D on as it is)
    for j in range(len(layers), 0, -1):
        layer, Z, F = layers[j - 1], zs[j - 1], zs[j]
        if params is not None and layer.n_params:
            if G is None:
                rows = D
            elif D is not seen:
                rows, seen = _kernels.rows_times(G, D), D
            blocks[j - 1] = rows if params == "rows" else _block(j, layer, rows, Z, F, params)
        elif params == "sum":  # d_j = 0: an empty block, without forming G D^(j)
            blocks[j - 1] = np.zeros(0)
        elif params == "per_example":
            lead = G.shape[:-1] if G is not None else D.shape[:-1]
            blocks[j - 1] = np.zeros(lead + (0,))
        if j > 1 or to_input or params is None:
            D = layer.left_mul_D_z(_kernels.stack_for(layer, D), Z, F)  # D ← D · D_z f_{W_j}
    return blocks, D


def sum_blocks(layers, zs: list[np.ndarray], rows: list) -> list[np.ndarray]:
    """Each layer's block Σ_i rows_i D_{W_j} f_{W_j}(z_i^(j-1)) from its rows (``params="rows"``),
    for a layer without parameters an empty one: what ``params="sum"`` gives in one go."""
    return [np.zeros(0) if R is None else _block(j, layer, R, zs[j - 1], zs[j], "sum")
            for j, (layer, R) in enumerate(zip(layers, rows, strict=True), 1)]


def _block(j: int, layer, rows, Z, F, params: str) -> np.ndarray:
    """Layer j's parameter block from ``rows`` = (G) D · D^(j): summed over the batch and shaped
    like W_j (checked here, the one place gradients are assembled), or per example."""
    if params == "per_example":
        return layer.left_mul_D_W(_kernels.dense(rows), Z, F)
    g = layer.grad_W_sum(rows, Z, F)
    shape = layer.params.shape
    if g.shape != shape:
        if g.size != layer.n_params:
            raise RuntimeError(
                f"layer {j} ({layer.describe()}) has {layer.n_params} params of shape {shape}, "
                f"but its gradient came out with shape {g.shape}; its batched products "
                "(grad_W_sum, left_mul_D_z) disagree with its params."
            )
        g = g.reshape(shape)
    return g


def jacobians(net, X: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Per-example D_{W_j} f_W(x_i) (n, h_m, d_j) for every layer and D_x f_W(x_i) (n, h_m, k),
    from D^(m) = I."""
    with np.errstate(over="ignore", invalid="ignore"):
        zs = net.forward_pass(X)
        require_finite(net, float(np.sum(zs[-1])), X, None)
        n, h_m = zs[-1].shape
        blocks, D_x = backward(net.layers, zs, _kernels.identity_stack(n, h_m),
                               params="per_example", to_input=True)
        D_x = np.array(_kernels.dense(D_x))
    if not _kernels.all_finite(D_x):  # an overflow in the chain reaches D^(0) as inf or NaN
        raise_backward_overflow(net, X)
    return blocks, D_x


class Batch:
    """A batch X (n, k), Y (n, h_m) checked once against a network and a loss
    (``Network.check_batch`` makes one); the trainers call it at every update.

    Attributes
    ----------
    network : Network
    X : ndarray, shape (n, k)
    Y : ndarray, shape (n, h_m) (or (n,) for h_m = 1, until the first forward pass)
    loss : Loss
    """

    def __init__(self, network, X: np.ndarray, Y: np.ndarray, loss: Loss, *,
                 targets_checked: bool = False, sizes_known: bool = False):
        self.network, self.X, self.Y, self.loss = network, X, Y, loss
        self._targets_checked = targets_checked  # Y shaped and checked by loss.targets
        self._sizes_known = sizes_known  # z^(j)'s widths checked by a first forward pass (any n)
        self._chunks = self._rows = None  # the "jacobian" mode's chunks and rows, at first use

    @property
    def n(self) -> int:
        return self.X.shape[0]

    def __repr__(self) -> str:
        return f"Batch(n={self.n}, loss={self.loss!r})"

    def subset(self, rows: np.ndarray) -> Batch:
        """The examples ``rows`` (a minibatch), without checking them again."""
        return Batch(self.network, self.X[rows], self.Y[rows], self.loss,
                     targets_checked=self._targets_checked, sizes_known=self._sizes_known)

    def _targets(self, Yhat: np.ndarray) -> np.ndarray:
        """Y against the outputs Ŷ: shaped and checked in full at the first call
        (``loss.targets``), then only the checks that involve ŷ (a CrossEntropy ŷ must stay in
        [0, 1]) at every call: Y never changes, the weights do."""
        if self._targets_checked:
            self.loss.check_values(Yhat, self.Y)
        else:  # (n,) targets for h_m = 1 become (n, 1), or a clear error
            self.Y = self.loss.targets(Yhat, self.Y)
            self._targets_checked = True
        return self.Y

    def _forward_pass(self) -> list[np.ndarray]:
        """z^(0) … z^(m) for X. Only the first pass checks each layer's input size (the widths
        cannot change after it); it also lets the heap keep a few times its bytes for the
        temporaries of the passes and updates to come (docs/performance.md, "The heap")."""
        if self._sizes_known:
            return self.network.forward_pass(self.X, sizes_known=True)
        zs = self.network.forward_pass(self.X)
        _kernels.keep_temporaries_on_heap(4 * sum(Z.nbytes for Z in zs[1:]))
        self._sizes_known = True
        return zs

    def mean_loss(self) -> float:
        """(1/n) Σ_i L(f_W(x_i), y_i), by a forward pass alone."""
        Yhat = self._forward_pass()[-1]
        value = float(self.loss.values(Yhat, self._targets(Yhat)).sum()) / self.n
        require_finite(self.network, value, self.X, self.loss)
        return value

    def gradients(self, mode: str = "jacobian") -> tuple[float, list[np.ndarray]]:
        """The mean loss (1/n) Σ_i L_i and, for each layer j, (1/n) Σ_i ∇_{W_j} L_i.

        A non-finite z^(j) or loss raises ``NonFiniteError`` saying where; ``checked_gradients``
        also checks the gradients. Callers silence numpy's overflow warnings (the trainers
        around the whole fit, once).
        """
        net, n = self.network, self.n
        if mode == "lecture":  # lecture 000 per example, summed as it goes: memory stays O(1) in n
            Y = self._targets(net.forward_pass(self.X)[-1])  # a wrong Y is named whole
            value, sums = 0.0, [np.zeros(np.shape(layer.params)) for layer in net.layers]
            for i, (x, y) in enumerate(progress.examples(zip(self.X, Y, strict=True), n)):
                tr = _for_example(i, net.backprop, x, y, self.loss)
                value += tr.loss
                for j, s in enumerate(sums, 1):
                    s += tr.grad(j)
            return value / n, [s / n for s in sums]
        zs = self._forward_pass()
        values, G = self.loss.values_and_grads(zs[-1], self._targets(zs[-1]))
        value = float(values.sum()) / n
        require_finite(net, value, self.X, self.loss)
        G = G / n  # rows ∇_ŷL_iᵀ / n (a new array: a loss may hand back its own), so the sums
        # over the batch below are the means
        if mode == "reverse":  # start from the rows ∇_ŷLᵀ
            grads = backward(net.layers, zs, G)[0]
        else:  # start from D^(m) = I, apply ∇_ŷLᵀ to every D^(j)
            grads = self._jacobian_mode(G, zs)
        return value, grads

    def _jacobian_mode(self, G: np.ndarray, zs: list[np.ndarray]) -> list[np.ndarray]:
        """The blocks (1/n) Σ_i G_i D_i^(j) D_{W_j} f_{W_j}(z_i^(j-1)), from stacks D^(j) built
        from D^(m) = I — a chunk of examples at a time when the batch's stacks are large.

        The chunks (planned once per batch: the sizes never change) keep the largest stack
        D · D^(j), h_m · max_j h_j numbers per example, within the memory limit
        (``_memory.row_chunks``) and, for speed, within a core's cache
        (``_kernels.cache_chunks``). The top layers whose D_z is one matrix whatever z
        (``constant_D_z``: Linear, Bias, Affine) keep D^(j) one matrix for every example; they
        run once, on the whole batch, and the chain below them a chunk at a time. Each chunk
        writes its rows G_i D_i^(j) into place, and the blocks are then formed from the whole
        rows, one product each, as in "reverse" mode; a batch in one chunk forms each block as
        its rows come.
        """
        layers, (n, h_m) = self.network.layers, G.shape
        chunks = self._chunks
        if chunks is None:
            widths = [Z.shape[1] for Z in zs]
            chunks = self._chunks = _kernels.cache_chunks(
                _memory.row_chunks(n, 8 * h_m * max(widths[:-1])), 8 * h_m * max(widths[1:]))
        if len(chunks) == 1:
            return backward(layers, zs, _kernels.seed_identity(n, h_m), G=G)[0]
        top = len(layers)
        while top and layers[top - 1].constant_D_z:
            top -= 1
        rows, D = backward(layers[top:], zs[top:], _kernels.seed_identity(n, h_m), G=G,
                           params="rows", to_input=top > 0)
        rows = [None] * top + rows
        if top == 0:  # every D_z constant: no D^(j) differs between examples
            return sum_blocks(layers, zs, rows)
        if self._rows is None:  # each allocated once per batch, at its first use: fresh
            # large arrays at every update would cost their page faults again
            # (docs/performance.md); each block below is a new array, never a view of them
            self._rows = [None] * top
        for c in chunks:
            Gc = G[c]
            part = backward(layers[:top], [Z[c] for Z in zs[:top + 1]], D[c], G=Gc,
                            params="rows")[0]
            for j in range(top - 1, -1, -1):  # copied only where they are new:
                if part[j] is None:
                    continue
                if part[j] is Gc:  # ∇_ŷLᵀ D^(m) = ∇_ŷLᵀ (D^(m) = I)
                    rows[j] = G
                elif j + 1 < top and part[j] is part[j + 1]:  # a Bias handed D on
                    rows[j] = rows[j + 1]
                else:
                    if self._rows[j] is None:
                        self._rows[j] = np.empty((n, part[j].shape[1]))
                    rows[j] = self._rows[j]
                    rows[j][c] = part[j]
        return sum_blocks(layers, zs, rows)

    def checked_gradients(self, mode: str = "jacobian") -> tuple[float, list[np.ndarray]]:
        """``gradients``, and a ``NonFiniteError`` saying where if a gradient is not finite
        (``Network.gradients``; the trainers check the new weights instead)."""
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is found, not warned of
            value, grads = self.gradients(mode)
        if not all(np.isfinite(g).all() for g in grads):
            raise_backward_overflow(self.network, self.X)
        return value, grads

    def per_example_gradients(self) -> list[np.ndarray]:
        """∇_{W_j} L(f_W(x_i), y_i), entry j-1 of shape (n, *params.shape) of layer j."""
        with np.errstate(over="ignore", invalid="ignore"):
            zs = self.network.forward_pass(self.X)
            values, G = self.loss.values_and_grads(zs[-1], self._targets(zs[-1]))
            require_finite(self.network, float(values.sum()), self.X, self.loss)
            blocks, _ = backward(self.network.layers, zs, G, params="per_example")
        if not _kernels.all_finite(*blocks):
            raise_backward_overflow(self.network, self.X)
        return [b.reshape(self.n, *np.shape(layer.params))
                for b, layer in zip(blocks, self.network.layers, strict=True)]


class NonFiniteError(ValueError):
    """Finite inputs gave a non-finite z^(j), D^(j), gradient or loss: float64 overflowed on the
    way. During training this is how divergence shows itself, so the trainers catch exactly
    this error."""


def _for_example(i: int, fn, *args, **kwargs):
    """fn(*args) for example i of a batch; an overflow it reports is said to be in example i."""
    try:
        return fn(*args, **kwargs)
    except NonFiniteError as err:
        raise NonFiniteError(str(err).replace(" is not finite", f" is not finite for example "
                                              f"i = {i}", 1)) from None


def require_finite_chain(net, D: list, D_W: list, *, to_input: bool = False) -> None:
    """Raise, naming the first D^(j) (from j = m down to 1, and to 0 if ``to_input``) or
    D_{W_j} f_W(x) that is not finite although every z^(j) is: the backward pass overflowed
    float64. D^(0) = D_x f_W(x) is checked only where it is asked for (``D_z``, ``jacobians``):
    the gradients never use it, and every mode must give them alike."""
    for j in range(net.m - 1, -1 if to_input else 0, -1):
        if not np.isfinite(D[j]).all():
            raise NonFiniteError(
                f"the backward pass overflowed float64: D^({j}) = D^({j + 1}) D_z f_{{W_{j + 1}}}"
                f"(z^({j})) is not finite (layer {j + 1}, {net.layers[j].describe()}, multiplies "
                "it in). Scale the weights down."
            )
        if j and D_W[j] is not None and not np.isfinite(D_W[j]).all():
            raise NonFiniteError(
                f"the backward pass overflowed float64: D_{{W_{j}}} f_W(x) = D^({j}) "
                f"D_{{W_{j}}} f_{{W_{j}}}(z^({j - 1})) is not finite (layer {j}, "
                f"{net.layers[j - 1].describe()}). Scale the weights or inputs down."
            )


def raise_backward_overflow(net, X: np.ndarray) -> None:
    """A batch's gradients or Jacobians are not finite: name where, the same in every mode, by
    running lecture 000's chain example by example until one overflows."""
    with np.errstate(over="ignore", invalid="ignore"):
        for i, x in enumerate(X):
            c = _for_example(i, net.chain, x)
            _for_example(i, require_finite_chain, net, c.D, c.D_W, to_input=True)
    raise NonFiniteError(
        "the backward pass overflowed float64: every D^(j) is finite, but a product with "
        "∇_ŷL is not (ŷ − y too large?). Scale the inputs, the weights or the targets down."
    )


def require_finite(net, value: float, X: np.ndarray, loss: Loss, *,
                   one_example: bool = False) -> None:
    """Raise, saying where, if finite inputs overflowed float64 on the way to the loss.

    A loss of +inf from a finite ŷ is only the value overflowing (½(ŷ − y)² at
    |ŷ − y| = 1e300), while its gradient is still finite, so that one is returned.
    ``one_example``: X is the single example of ``backprop`` (no example index to name).
    """
    if math.isfinite(value):
        return
    with np.errstate(all="ignore"):
        zs = net.forward_pass(X)
    for j, Z in enumerate(zs[1:], 1):
        bad = np.argwhere(~np.isfinite(Z))
        if bad.size:
            raise NonFiniteError(
                f"the forward pass overflowed float64: z^({j}), the output of layer {j} "
                f"({net.layers[j - 1].describe()}), is not finite"
                f"{'' if one_example else f' for example i = {bad[0][0]}'}. Scale the inputs "
                "or the weights down."
            )
    if math.isnan(value):
        raise NonFiniteError(f"{loss!r} is NaN at these weights, although every z^(j) is "
                         "finite. Check the targets against the loss.")
