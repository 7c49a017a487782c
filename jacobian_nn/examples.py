"""The lectures' worked examples, with the numbers their slides print.

Lecture 002 writes its example as x0 → x1 = W0 x0 → x2 = tanh(x1) → x3 = W1 x2 with the
Euclidean loss ½(x3 − y)². In lecture 000's notation that is m = 3 layers: z^(0) = x0,
f_{W_1} = Linear(W0), f_{W_2} = Tanh, f_{W_3} = Linear(W1), so z^(j) = x_j and
∂L/∂x_j (a row) = ∇_ŷLᵀ D^(j).

Layout: lecture 002 writes ∂L/∂W = x_in · ∂L/∂x_out, shaped like Wᵀ, and updates
W ← W + η(∂L/∂W)ᵀ with η = −0.2. Our ∇_W L is shaped like W, so ∂L/∂W (slide) = (∇_W L)ᵀ and
the same update reads W ← W − 0.2 ∇_W L.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .activations import Sigmoid, Tanh
from .datasets import logic_gate, perceptron_lecture003
from .layers import Affine, Linear
from .losses import HalfSquaredError, Loss
from .network import Network
from .trace import Trace


@dataclass
class SlideValue:
    """A number block as a slide prints it, and where it lives in our trace."""

    name: str  #: the slide's symbol, e.g. "∂L/∂x1"
    ours: str  #: the same quantity in lecture 000's notation
    printed: list  #: the printed entries as strings, nested like the matrix
    computed: np.ndarray  #: our value, arranged like the slide (Wᵀ layout where it uses it)

    @property
    def printed_array(self) -> np.ndarray:
        return np.array(self.printed, dtype=float)

    @property
    def decimals(self) -> np.ndarray:
        """Digits after the decimal point of each printed entry."""
        dec = np.vectorize(lambda s: len(s.split(".")[1]) if "." in s else 0)
        return dec(np.array(self.printed))

    @property
    def matches(self) -> np.ndarray:
        """Entry-wise: does the printed value equal ours rounded to the printed digits?"""
        half_unit = 0.5 * 10.0 ** (-self.decimals.astype(float))
        return np.abs(self.computed - self.printed_array) <= half_unit * (1 + 1e-9)


@dataclass
class WorkedExample:
    """A network, one training pair, a loss and a learning rate, plus the slide's numbers."""

    title: str
    network: Network
    x: np.ndarray
    y: np.ndarray
    loss: Loss
    lr: float
    notes: list[str] = field(default_factory=list)  #: errata in the slide's expressions
    slide: Callable[[WorkedExample], list[SlideValue]] | None = field(default=None, repr=False)

    def trace(self) -> Trace:
        """``network.backprop(x, y, loss)``."""
        return self.network.backprop(self.x, self.y, self.loss)

    def updated_weights(self) -> list[np.ndarray]:
        """Each layer's params after one gradient step W − lr ∇_W L (the network is untouched)."""
        tr = self.trace()
        return [L.params - self.lr * tr.grad(j) for j, L in enumerate(self.network.layers, 1)]

    def slide_values(self) -> list[SlideValue]:
        """The slide's printed numbers beside ours (filled in by the example's constructor)."""
        return self.slide(self) if self.slide else []

    def errata(self) -> list[str]:
        """Every printed number that does not follow from the slide's inputs, then the notes."""
        out = []
        for sv in self.slide_values():
            for idx in zip(*np.nonzero(~sv.matches), strict=True):
                printed = np.array(sv.printed)[idx]
                d = int(sv.decimals[idx])
                where = f"[{', '.join(map(str, idx))}]" if sv.computed.size > 1 else ""
                out.append(
                    f"{sv.name}{where}: printed {printed}, correct {sv.computed[idx]:.{d}f} "
                    f"(exactly {sv.computed[idx]:.7g})"
                )
        return out + self.notes


def tanh_worked_example() -> WorkedExample:
    """Lecture 002's example: x0 = (1.0, 0.1), y = 0.5, W0 = [[1, −3], [0.2, 1]], W1 = [1, −1].

    Examples
    --------
    >>> ex = tanh_worked_example()
    >>> ex.network
    Network([
      f_1: Linear(W ∈ R^{2×2}),
      f_2: Tanh(),
      f_3: Linear(W ∈ R^{1×2})
    ])
    >>> round(ex.trace().loss, 4)
    0.0175
    """
    net = Network([Linear([[1.0, -3.0], [0.2, 1.0]]), Tanh(), Linear([[1.0, -1.0]])])
    ex = WorkedExample(
        title="Lecture 002: one step of backpropagation through tanh",
        network=net,
        x=np.array([1.0, 0.1]),
        y=np.array([0.5]),
        loss=HalfSquaredError(),
        lr=0.2,
        notes=[
            "∂L/∂W1 line: the slide multiplies x2 by (−0.1186); the factor is "
            "∂L/∂x3 = −0.1869. Its printed result (−0.113, −0.054) is right.",
            "W0 update line: the slide subtracts 0.2·∂L/∂W0 without the transpose its own "
            "formula W0 + η(∂L/∂W0)ᵀ asks for; its printed result [[1.02, −3.0], [0.17, 1.0]] "
            "is the transposed (correct) one — without the transpose it would be "
            "[[1.02, −3.03], [0.20, 1.00]].",
        ],
    )
    ex.slide = _tanh_slide
    return ex


def _tanh_slide(ex: WorkedExample) -> list[SlideValue]:
    tr = ex.trace()
    g = tr.grad_yhat
    W0_new, _, W1_new = ex.updated_weights()
    return [
        SlideValue("x1", "z^(1)", ["0.7", "0.3"], tr.z(1)),
        SlideValue("x2", "z^(2)", ["0.604", "0.291"], tr.z(2)),
        SlideValue("x3", "z^(3) = ŷ", ["0.313"], tr.z(3)),
        SlideValue("L", "L(ŷ, y)", ["0.017"], np.array([tr.loss])),
        SlideValue("∂L/∂x3", "∇_ŷLᵀ D^(3)", ["-0.1869"], g @ tr.D(3)),
        SlideValue("∂L/∂x2", "∇_ŷLᵀ D^(2)", ["-0.1869", "0.1869"], g @ tr.D(2)),
        SlideValue("∂L/∂x1", "∇_ŷLᵀ D^(1)", ["-0.1186", "0.171"], g @ tr.D(1)),
        SlideValue("∂L/∂W0", "(∇_{W_1} L)ᵀ", [["-0.1186", "0.171"], ["-0.01186", "0.0171"]],
                   tr.grad(1).T),
        SlideValue("∂L/∂W1", "(∇_{W_3} L)ᵀ", [["-0.113"], ["-0.054"]], tr.grad(3).T),
        SlideValue("W0 after one step", "W_1 − 0.2 ∇_{W_1} L", [["1.02", "-3.0"], ["0.17", "1.0"]],
                   W0_new),
        SlideValue("W1 after one step", "W_3 − 0.2 ∇_{W_3} L", [["1.02", "-0.989"]], W1_new),
    ]


def and_gate() -> tuple[Network, np.ndarray, np.ndarray]:
    """Lecture 000's AND unit f(x) = σ(−30 + 20 x₁ + 20 x₂) and its truth table X (4, 2), Y."""
    X, Y = logic_gate("and")
    return Network([Affine([[20.0, 20.0]], [-30.0]), Sigmoid()]), X, Y


def perceptron() -> tuple[Network, np.ndarray, np.ndarray]:
    """Lecture 003's one-weight perceptron ŷ = w x (w = 0 to start) and its four data points."""
    X, Y = perceptron_lecture003()
    return Network([Linear([[0.0]])]), X, Y
