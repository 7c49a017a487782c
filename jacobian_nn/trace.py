"""Every quantity of one backpropagation, under its lecture name.

``Network.chain(x)`` fills a ``Chain`` — the forward pass z^(0) … z^(m), the local Jacobians
and lecture 000's D^(j) and D_{W_j} f_W(x) — and ``Network.backprop(x, y, loss)`` adds the loss
to it in a ``Trace``:

    ∇_{W_j} L(f_W(x), y)ᵀ = ∇_ŷ L(z^(m), y)ᵀ D_{W_j} f_W(x),   ∂L/∂z^(j) = ∇_ŷLᵀ D^(j).

A trace knows the step size α of W_j − α ∇_{W_j} L only when it is given one
(``tr.with_lr(α)``; ``WorkedExample.trace()`` does): then ``tr.W_new(j)`` is the updated
layer and the renderings end with the update.

Shapes, with h_j the size of z^(j) and d_j the parameters of layer j: z^(j) (h_j,);
D^(j) (h_m, h_j); D_z f_{W_j}(z^(j-1)) (h_j, h_{j-1}); D_{W_j} f_{W_j}(z^(j-1)) (h_j, d_j);
D_{W_j} f_W(x) (h_m, d_j); ∇_{W_j} L shaped like layer j's params.
"""

from __future__ import annotations

import copy
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import handcheck, stepthrough

if TYPE_CHECKING:
    from .display import Rendering
    from .losses import Loss


@dataclass(frozen=True)
class Chain:
    """Lecture 000's forward and backward pass for one example, every matrix kept.

    Lists are indexed by the lecture's j; entries that do not exist (no layer 0) are None.

    Attributes
    ----------
    z : list of ndarray
        z[j] = z^(j), j = 0 … m.
    local_D_z, local_D_W : list of ndarray
        [j] = D_z f_{W_j}(z^(j-1)) and D_{W_j} f_{W_j}(z^(j-1)), j = 1 … m.
    D : list of ndarray
        D[j] = D^(j), j = 0 … m: D^(m) = I and D^(j) = D^(j+1) D_z f_{W_{j+1}}(z^(j)).
    D_W : list of ndarray
        [j] = D_{W_j} f_W(x) = D^(j) D_{W_j} f_{W_j}(z^(j-1)), j = 1 … m.
    """

    z: list
    local_D_z: list
    local_D_W: list
    D: list
    D_W: list


class Trace:
    """Every quantity of one backpropagation, under its lecture name.

    Indices follow lecture 000: ``z(j)``, ``D(j)`` and ``dL_dz(j)`` for j = 0 … m; ``D_W(j)``,
    ``grad(j)``, ``local_D_z(j)``, ``local_D_W(j)``, ``params(j)`` and ``W_new(j)`` for
    j = 1 … m. Returned arrays are read-only.

    Attributes
    ----------
    network : Network
    m : int
    y : ndarray, shape (h_m,)
        The target.
    loss_fn : Loss
    loss : float
        L(f_W(x), y).
    grad_yhat : ndarray, shape (h_m,)
        ∇_ŷ L(z^(m), y).
    lr : float or None
        The step size α of the update W_j − α ∇_{W_j} L, when known (``with_lr``); None for
        a trace from ``Network.backprop``.
    """

    def __init__(self, network, chain: Chain, y: np.ndarray, loss: Loss, grad_yhat: np.ndarray,
                 grads: list, value: float):
        self.network = network
        self.m = network.m
        self.y = _frozen(y)
        self.loss_fn = loss
        self.grad_yhat = _frozen(grad_yhat)
        self.loss = value
        self._z = [_frozen(a) for a in chain.z]
        self._local_D_z = [None] + [_frozen(a) for a in chain.local_D_z[1:]]
        self._local_D_W = [None] + [_frozen(a) for a in chain.local_D_W[1:]]
        self._D = [_frozen(a) for a in chain.D]
        self._D_W = [None] + [_frozen(a) for a in chain.D_W[1:]]
        self._grad = [None] + [_frozen(a) for a in grads[1:]]
        self._params = [None] + [_frozen(layer.params) for layer in network.layers]
        self._lr = None

    @property
    def lr(self) -> float | None:
        """α of W_j − α ∇_{W_j} L, or None when this trace was not given one."""
        return self._lr

    def with_lr(self, lr: float) -> Trace:
        """This trace, knowing the step size α = ``lr``: ``W_new(j)`` and the renderings'
        update section become available. The arrays are shared, not copied."""
        if (isinstance(lr, bool) or not isinstance(lr, numbers.Real)
                or not np.isfinite(float(lr))):
            raise ValueError(f"Trace.with_lr: lr (α) must be a finite real number, got {lr!r}.")
        new = copy.copy(self)
        new._lr = float(lr)
        return new

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

    def D_W(self, j: int, as_tensor: bool = False) -> np.ndarray:
        """D_{W_j} f_W(x) = D^(j) D_{W_j} f_{W_j}(z^(j-1)), shape (h_m, d_j); with
        ``as_tensor=True`` shaped (h_m, *W_j.shape) (lecture 004's tensor view)."""
        J = self._D_W[self._j(j, 1)]
        return J.reshape(J.shape[0], *self._grad[j].shape) if as_tensor else J

    def grad(self, j: int) -> np.ndarray:
        """∇_{W_j} L(f_W(x), y), shaped like layer j's params."""
        return self._grad[self._j(j, 1)]

    def params(self, j: int) -> np.ndarray:
        """W_j, layer j's params as they were when this trace was taken."""
        return self._params[self._j(j, 1)]

    def W_new(self, j: int) -> np.ndarray:
        """W_j − α ∇_{W_j} L, layer j's params after one step (needs ``lr``: ``with_lr``)."""
        j = self._j(j, 1)
        if self._lr is None:
            raise ValueError("this trace does not know the step size α: use tr.with_lr(α) "
                             "(a WorkedExample's trace() knows it).")
        return _frozen(self._params[j] - self._lr * self._grad[j])

    def dL_dz(self, j: int) -> np.ndarray:
        """∇_ŷLᵀ D^(j), shape (h_j,): lecture 002's row ∂L/∂x_j, the loss's derivative by z^(j)."""
        return _frozen(self.grad_yhat @ self._D[self._j(j, 0)])

    def check(self, quantity: str, answer, layout: str = "lecture",
              decimals: int | None = None) -> handcheck.HandCheckReport:
        """Compare a hand-computed answer with this trace and name the likely slip
        (``handcheck.check``; docs/checking.md)."""
        return handcheck.check(self, quantity, answer, layout=layout, decimals=decimals)

    def step_through(self, decimals: int = 4):
        """Next/Previous through this trace in Jupyter, checking answers (``stepthrough``)."""
        return stepthrough.step_through(self, decimals)

    @property
    def yhat(self) -> np.ndarray:
        """ŷ = z^(m)."""
        return self._z[-1]

    def to_text(self, decimals: int = 4, full: bool = False) -> str:
        """The whole trace as plain text, each quantity with its lecture name and shape; a
        large matrix by its corners and largest entries unless ``full=True``."""
        from .display import trace_to_text

        return trace_to_text(self, decimals, full)

    def display(self, decimals: int = 4, full: bool = False) -> Rendering:
        """The whole trace as a ``display.Rendering``: LaTeX in Jupyter, text when printed."""
        from .display import trace_display

        return trace_display(self, decimals, full)

    def show(self, decimals: int = 4, full: bool = False) -> None:
        """Print ``to_text(decimals, full)``."""
        print(self.to_text(decimals, full))

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:  # short, for the REPL and debuggers
        return f"<Trace of backprop through m = {self.m} layers, L = {self.loss:.6g}>"

    def _repr_pretty_(self, p, cycle: bool) -> None:
        """IPython's text/plain (Jupyter without MathJax, the IPython shell): the text."""
        p.text(self.to_text())

    def _repr_latex_(self) -> str:
        from .display import trace_to_latex

        return trace_to_latex(self, 4)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.flags.writeable = False
    return a
