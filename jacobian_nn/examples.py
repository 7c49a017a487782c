"""The lectures' worked examples, with the numbers their slides print.

Lecture 002 writes its example as x0 → x1 = W0 x0 → x2 = tanh(x1) → x3 = W1 x2 with the
Euclidean loss ½(x3 − y)². In lecture 000's notation that is m = 3 layers: z^(0) = x0,
f_{W_1} = Linear(W0), f_{W_2} = Tanh, f_{W_3} = Linear(W1), so z^(j) = x_j and
∂L/∂x_j (a row) = ∇_ŷLᵀ D^(j).

Layout: lecture 002 writes ∂L/∂W = x_in · ∂L/∂x_out, shaped like Wᵀ, and updates
W ← W + η(∂L/∂W)ᵀ with η = −0.2. Our ∇_W L is shaped like W, so ∂L/∂W (slide) = (∇_W L)ᵀ and
the same update reads W ← W − 0.2 ∇_W L.

``TANH_SLIDE`` holds what the slide prints; ``ex.audit(TANH_SLIDE.printed, layout="slide")``
finds every number exact except three, which are what carrying 4 places gives (rounding, not
errors). Two of its expressions are wrong although their printed results are right: those
are ``TANH_SLIDE.text_errata``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .activations import Sigmoid, Tanh
from .datasets import logic_gate, perceptron_lecture003
from .layers import Affine, Linear
from .losses import HalfSquaredError
from .network import Network
from .worked import WorkedExample


@dataclass(frozen=True)
class PrintedSlide:
    """What a slide prints for a worked example: ``ex.audit(slide.printed, slide.layout)``."""

    printed: MappingProxyType  #: quantity (as ``ex.audit`` names it) → the printed strings
    layout: str  #: "slide": the printed gradients are shaped like Wᵀ
    symbols: MappingProxyType  #: quantity → the slide's own symbol, e.g. "∂L/∂x1"
    text_errata: tuple[str, ...]  #: mistakes in the slide's expressions, which no number shows


def tanh_worked_example() -> WorkedExample:
    """Lecture 002's example: x0 = (1.0, 0.1), y = 0.5, W0 = [[1, −3], [0.2, 1]], W1 = [1, −1].

    Its slide's printed numbers are ``TANH_SLIDE``.

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
    return WorkedExample(net, np.array([1.0, 0.1]), np.array([0.5]), HalfSquaredError(), 0.2,
                         title="Lecture 002: one step of backpropagation through tanh")


#: Lecture 002's slide, as printed. ∂L/∂x_j is dL_dz(j); its W0 and W1 are our W_1 and W_3.
TANH_SLIDE = PrintedSlide(
    printed=MappingProxyType({
        "z(1)": ["0.7", "0.3"],
        "z(2)": ["0.604", "0.291"],
        "z(3)": ["0.313"],
        "loss": "0.017",
        "dL_dz(3)": ["-0.1869"],
        "dL_dz(2)": ["-0.1869", "0.1869"],
        "dL_dz(1)": ["-0.1186", "0.171"],
        "grad(1)": [["-0.1186", "0.171"], ["-0.01186", "0.0171"]],
        "grad(3)": [["-0.113"], ["-0.054"]],
        "W_new(1)": [["1.02", "-3.0"], ["0.17", "1.0"]],
        "W_new(3)": [["1.02", "-0.989"]],
    }),
    layout="slide",
    symbols=MappingProxyType({
        "z(1)": "x1", "z(2)": "x2", "z(3)": "x3", "loss": "L", "dL_dz(3)": "∂L/∂x3",
        "dL_dz(2)": "∂L/∂x2", "dL_dz(1)": "∂L/∂x1", "grad(1)": "∂L/∂W0", "grad(3)": "∂L/∂W1",
        "W_new(1)": "W0 after one step", "W_new(3)": "W1 after one step",
    }),
    text_errata=(
        "∂L/∂W1 line: the slide multiplies x2 by (−0.1186); the factor is "
        "∂L/∂x3 = −0.1869. Its printed result (−0.113, −0.054) is right.",
        "W0 update line: the slide subtracts 0.2·∂L/∂W0 without the transpose its own "
        "formula W0 + η(∂L/∂W0)ᵀ asks for; its printed result [[1.02, −3.0], [0.17, 1.0]] "
        "is the transposed (correct) one — without the transpose it would be "
        "[[1.02, −3.03], [0.20, 1.00]].",
    ),
)


def and_gate() -> tuple[Network, np.ndarray, np.ndarray]:
    """Lecture 000's AND unit f(x) = σ(−30 + 20 x₁ + 20 x₂) and its truth table X (4, 2), Y."""
    X, Y = logic_gate("and")
    return Network([Affine([[20.0, 20.0]], [-30.0]), Sigmoid()]), X, Y


def perceptron() -> tuple[Network, np.ndarray, np.ndarray]:
    """Lecture 003's one-weight perceptron ŷ = w x (w = 0 to start) and its four data points."""
    X, Y = perceptron_lecture003()
    return Network([Linear([[0.0]])]), X, Y
