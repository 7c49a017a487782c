"""One forward pass, one backward pass and one update of any network, as a worked example.

``WorkedExample(network, x, y, loss, lr)`` is what a lecturer writes on the board: the network
and one training pair, then z^(j), L, the local Jacobians, D^(j) and the rows ∂L/∂z^(j), the
gradients ∇_{W_j} L and the weights after W_j − lr ∇_{W_j} L. Every number it shows comes from
``network.backprop(x, y, loss)``; ``to_text``, ``to_latex`` (article or Beamer) and
``to_markdown`` lay them out in sections (see ``jacobian_nn.slides``).

``ex.by_hand(decimals)`` redoes the calculation as a person with a calculator does, carrying
``decimals`` places, and ``ex.audit(printed)`` says of each number a slide prints whether it is
exact, explained by that carried rounding, or an erratum (see ``jacobian_nn.audit``).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from . import audit as _audit
from . import slides
from ._validate import check_decimals
from .layers import Bias
from .losses import DomainError, Loss
from .network import Network
from .trace import Trace

if TYPE_CHECKING:
    from .audit import Audit

#: More places than float64 can hold are not a precision a person carries.


def _index(j, lo: int, m: int) -> int:
    if isinstance(j, bool) or not isinstance(j, numbers.Integral) or not lo <= j <= m:
        raise IndexError(f"j must be an integer in {lo}..{m} (m = {m}), got {j!r}.")
    return int(j)


def _frozen(a) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.flags.writeable = False
    return a


class ByHand:
    """Backpropagation as a person with a calculator does it, carrying ``decimals`` places.

    Each computed quantity is worked out from the earlier ones rounded (r) to ``decimals``
    digits after the point; the given numbers (x, y, the weights, lr) are used as given. The
    quantity itself is kept unrounded, so it can be compared at any precision:

    * z^(0) = x, z^(j) = f_{W_j}(r(z^(j-1))); L = L(r(ŷ), y) and ∇_ŷL = ∇_ŷL(r(ŷ), y);
    * the local Jacobians at the rounded input, D_z f_{W_j}(r(z^(j-1))) and D_{W_j} f_{W_j};
    * D^(m) = I, D^(j-1) = r(D^(j)) r(D_z f_{W_j}) (lecture 000's recursion);
    * ∂L/∂z^(m) = ∇_ŷLᵀ, ∂L/∂z^(j-1) = r(∂L/∂z^(j)) r(D_z f_{W_j}) (lecture 002's rows);
    * D_{W_j} f_W(x) = r(D^(j)) r(D_{W_j} f_{W_j}) and ∇_{W_j}Lᵀ = r(∂L/∂z^(j)) r(D_{W_j} f_{W_j});
    * the updated weights W_j − lr r(∇_{W_j} L).

    A linear layer's rounded Jacobian is W itself whenever W has at most ``decimals`` digits.
    When r(ŷ) leaves the loss's domain (a probability rounded to 1 under a cross-entropy), there
    is no by-hand value: a ValueError says so.
    The accessors are those of a ``Trace``; ``updated_weights()`` those of a ``WorkedExample``.
    """

    def __init__(self, example: WorkedExample, decimals: int):
        self.decimals = d = check_decimals(decimals)
        self.network, self.y, self.lr = example.network, example.y, example.lr
        self.m = m = example.network.m
        layers = example.network.layers

        def r(a):  # the docstring's r: round to d places
            return np.round(a, d)

        z = [np.array(example.x)]
        for j, layer in enumerate(layers, 1):
            z.append(layer.forward(z[0] if j == 1 else r(z[-1])))
        z_in = [z[0]] + [r(a) for a in z[1:m]]  # the rounded input of each layer
        self._z = z
        self._local_D_z = [None] + [L.D_z(zi) for L, zi in zip(layers, z_in, strict=True)]
        self._local_D_W = [None] + [L.D_W(zi) for L, zi in zip(layers, z_in, strict=True)]
        yhat = r(z[m])
        try:
            self.loss = float(example.loss(yhat, self.y))  #: L(r(ŷ), y)
            self.grad_yhat = _frozen(example.loss.grad(yhat, self.y))  #: ∇_ŷL(r(ŷ), y)
        except DomainError:  # a probability rounded to exactly 0 or 1
            self.loss = np.inf
        if not (np.isfinite(self.loss) and np.all(np.isfinite(self.grad_yhat))):
            raise ValueError(
                f"by hand with {d} decimals: ŷ rounds to {np.round(yhat, d).tolist()}, where "
                f"{example.loss!r} or its gradient is infinite; carry more decimals."
            )
        D, row = [None] * (m + 1), [None] * (m + 1)
        D[m], row[m] = np.eye(len(yhat)), np.array(self.grad_yhat)
        for j in range(m, 0, -1):
            D[j - 1] = r(D[j]) @ r(self._local_D_z[j])
            row[j - 1] = r(row[j]) @ r(self._local_D_z[j])
        self._D, self._row = D, row
        self._D_W = [None] + [r(D[j]) @ r(self._local_D_W[j]) for j in range(1, m + 1)]
        self._grad = [None] + [(r(row[j]) @ r(self._local_D_W[j])).reshape(L.params.shape)
                               for j, L in enumerate(layers, 1)]
        for name in ("_z", "_local_D_z", "_local_D_W", "_D", "_row", "_D_W", "_grad"):
            setattr(self, name, [None if a is None else _frozen(a) for a in getattr(self, name)])

    def z(self, j: int) -> np.ndarray:
        """z^(j) by hand, shape (h_j,)."""
        return self._z[_index(j, 0, self.m)]

    def D(self, j: int) -> np.ndarray:
        """D^(j) by hand, shape (h_m, h_j)."""
        return self._D[_index(j, 0, self.m)]

    def local_D_z(self, j: int) -> np.ndarray:
        """D_z f_{W_j}(r(z^(j-1))), shape (h_j, h_{j-1})."""
        return self._local_D_z[_index(j, 1, self.m)]

    def local_D_W(self, j: int) -> np.ndarray:
        """D_{W_j} f_{W_j}(r(z^(j-1))), shape (h_j, d_j)."""
        return self._local_D_W[_index(j, 1, self.m)]

    def D_W(self, j: int) -> np.ndarray:
        """D_{W_j} f_W(x) by hand, shape (h_m, d_j)."""
        return self._D_W[_index(j, 1, self.m)]

    def grad(self, j: int) -> np.ndarray:
        """∇_{W_j} L by hand, shaped like layer j's params."""
        return self._grad[_index(j, 1, self.m)]

    def dL_dz(self, j: int) -> np.ndarray:
        """The row ∂L/∂z^(j) by hand, shape (h_j,)."""
        return self._row[_index(j, 0, self.m)]

    def updated_weights(self) -> list[np.ndarray]:
        """Each layer's params after W_j − lr r(∇_{W_j} L)."""
        return [L.params - self.lr * np.round(self.grad(j), self.decimals)
                for j, L in enumerate(self.network.layers, 1)]

    def __repr__(self) -> str:
        return f"<By hand, carrying {self.decimals} decimals: L = {self.loss:.6g}>"


class WorkedExample:
    """One forward pass, backward pass and update of ``network`` on (x, y), for slides.

    Parameters
    ----------
    network : Network
        f_W = f_{W_m} ∘ … ∘ f_{W_1}; kept by reference, so later changes to its weights show.
    x, y : array_like, shapes (k,) and (h_m,)
        The training pair; copied.
    loss : Loss
        L(ŷ, y).
    lr : float
        The step size α of W_j ← W_j − α ∇_{W_j} L.
    title : str, optional
        A heading for the renderings (plain text; LaTeX specials are escaped).
    weight_names : None, "count" or dict, optional
        How the renderings name each layer's parameters. None: the lecture's layer index
        (W_j, b_j for layer j). ``"count"``: W^(1), W^(2), … numbered over the layers that
        have parameters. A dict {j: name} with LaTeX names, e.g. ``{1: "W_0", 3: "W_1"}``; an
        Affine layer's b is named by swapping the leading W for b, or give a pair
        ``(W name, b name)``. Plain text drops the braces.

    Examples
    --------
    >>> import jacobian_nn as jnn
    >>> ex = jnn.WorkedExample(jnn.Network([jnn.Linear([[2.0, -1.0]])]), [1.0, 0.5], [1.0],
    ...                        jnn.HalfSquaredError(), lr=0.5)
    >>> ex.trace().grad(1)      # (ŷ − y) xᵀ with ŷ = 1.5
    array([[0.5 , 0.25]])
    >>> ex.updated_weights()[0]
    array([[ 1.75 , -1.125]])
    """

    def __init__(self, network: Network, x, y, loss: Loss, lr: float, *, title: str = "",
                 weight_names: None | str | Mapping = None):
        if not isinstance(network, Network):
            raise TypeError(f"WorkedExample: network must be a jacobian_nn.Network, got "
                            f"{type(network).__name__}.")
        if not isinstance(loss, Loss):
            raise TypeError(f"WorkedExample: loss must be a jacobian_nn loss (e.g. "
                            f"HalfSquaredError()), got {type(loss).__name__}.")
        if (isinstance(lr, bool) or not isinstance(lr, numbers.Real)
                or not np.isfinite(float(lr))):
            raise ValueError(f"WorkedExample: lr must be a finite real number, got {lr!r}.")
        tr = network.backprop(x, y, loss)  # checks x, y and the sizes, naming the layer
        self.network, self.loss, self.lr = network, loss, float(lr)
        self.x, self.y = tr.z(0), tr.y
        self.title = str(title)
        self.weight_names = weight_names
        self.param_names(1)  # a bad weight_names is an error now, not at the first rendering

    # -- the numbers --
    def trace(self) -> Trace:
        """``network.backprop(x, y, loss)`` knowing α = lr (``Trace.with_lr``): every exact
        quantity of the example, and its renderings end with the update."""
        return self.network.backprop(self.x, self.y, self.loss).with_lr(self.lr)

    def updated_weights(self) -> list[np.ndarray]:
        """Each layer's params after one step W_j − lr ∇_{W_j} L (the network is untouched)."""
        tr = self.trace()
        return [np.array(tr.W_new(j)) for j in range(1, tr.m + 1)]  # writable copies

    def by_hand(self, decimals: int) -> ByHand:
        """The same quantities as a person computes them carrying ``decimals`` places."""
        return ByHand(self, decimals)

    def audit(self, printed: Mapping, layout: str = "lecture") -> Audit:
        """Classify each printed number as exact, carried rounding or erratum (``audit.audit``)."""
        return _audit.audit(self, printed, layout)

    # -- names --
    def param_names(self, j: int) -> tuple[tuple[str, str], tuple[str, str]]:
        """LaTeX and text names ((W, W_text), (b, b_text)) of layer j's parameters."""
        layers = self.network.layers
        names = self.weight_names
        if names is None:
            w, b = f"W_{{{j}}}", f"b_{{{j}}}"
        elif names == "count":
            c = sum(1 for L in layers[:j] if L.n_params)
            w, b = f"W^{{({c})}}", f"b^{{({c})}}"
        elif isinstance(names, Mapping):
            bad = [k for k in names if k not in range(1, len(layers) + 1)
                   or not layers[k - 1].n_params]
            if bad:
                raise ValueError(f"weight_names: layer(s) {bad} have no parameters to name "
                                 f"(layers with parameters: "
                                 f"{[i for i, L in enumerate(layers, 1) if L.n_params]}).")
            name = names.get(j, f"W_{{{j}}}")
            w, b = ((name, name) if isinstance(layers[j - 1], Bias) and isinstance(name, str)
                    else _pair(name, j))
        else:
            raise ValueError(f"weight_names must be None, 'count' or a dict {{j: name}}, "
                             f"got {names!r}.")
        return (w, _plain(w)), (b, _plain(b))

    def __repr__(self) -> str:
        return (f"WorkedExample(m = {self.network.m} layers, x ∈ R^{self.x.size}, "
                f"y ∈ R^{self.y.size}, {self.loss!r}, lr = {self.lr:g})")

    def to_text(self, decimals: int = 4, **options) -> str:
        """The example section by section as plain text (options: ``slides.render``)."""
        return slides.render(self, "text", decimals, **options)

    def to_latex(self, decimals: int = 4, **options) -> str:
        """LaTeX: ``align*`` blocks per section, or one Beamer frame each with ``beamer=True``."""
        return slides.render(self, "latex", decimals, **options)

    def to_markdown(self, decimals: int = 4, **options) -> str:
        """Markdown with ``$$`` math, for Jupyter and GitHub (options: ``slides.render``)."""
        return slides.render(self, "markdown", decimals, **options)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def _pair(name, j: int) -> tuple[str, str]:
    if isinstance(name, str):
        if not name.startswith("W"):
            raise ValueError(f"weight_names[{j}] = {name!r}: give a pair (W name, b name) "
                             "when the name does not start with W.")
        return name, "b" + name[1:]
    if (isinstance(name, tuple) and len(name) == 2
            and all(isinstance(s, str) for s in name)):
        return name
    raise ValueError(f"weight_names[{j}] must be a LaTeX name or a pair of them, got {name!r}.")


def _plain(latex: str) -> str:
    """The text form of a LaTeX name: W^{(1)} → W^(1), W_{0} → W_0."""
    return latex.replace("{", "").replace("}", "")
