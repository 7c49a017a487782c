"""Exercise sheets: a small random network with easy numbers, and its worked solution.

``generate(sizes, activation, loss, seed)`` draws every weight and input entry from the
multiples of 0.5 in [−2, 2], so the forward pass of the first layer can be done in one's head;
the same seed gives the same exercise. ``problem()`` states the network, the training pair
and the tasks; ``solution()`` is the worked example (``WorkedExample.to_latex`` /
``to_markdown``) at a chosen precision, with the by-hand values beside the exact ones.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from ._validate import check_decimals
from .activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Swish, Tanh
from .layers import Affine, Linear
from .network import Network
from .slides import latex_document
from .spec import loss_by_name
from .worked import WorkedExample

ACTIVATIONS = {"tanh": Tanh, "sigmoid": Sigmoid, "relu": ReLU, "leaky_relu": LeakyReLU,
               "identity": Identity, "swish": Swish}
#: The easy numbers: multiples of 0.5 in [−2, 2].
EASY = np.arange(-4, 5) * 0.5
#: What a sheet can ask for: the sections of the worked example after "network".
TASKS = {  # key → (LaTeX, Markdown) task
    "forward": r"Compute the forward pass $z^{(1)}, \dots, z^{(m)}$.",
    "loss": r"Compute the loss $L(\hat y, y)$ and its gradient $\nabla_{\hat y} L$.",
    "local": r"Write down each layer's local Jacobians $D_z f_{W_j}(z^{(j-1)})$ and, for "
             r"layers with parameters, $D_{W_j} f_{W_j}(z^{(j-1)})$.",
    "backward": r"Compute $D^{(j)}$ and the rows "
                r"$\partial L / \partial z^{(j)} = \nabla_{\hat y} L^\top D^{(j)}$ for "
                r"$j = m, \dots, 0$.",
    "gradients": r"Compute the gradient of $L$ with respect to every weight matrix "
                 r"(and bias), shaped like it.",
    "update": r"Take one gradient step $W \leftarrow W - \alpha\, \nabla_W L$ for every weight.",
}
DEFAULT_ASKED = ("forward", "loss", "backward", "gradients", "update")
_OUTPUT_LAYER = {"cross_entropy": Softmax, "binary_cross_entropy": Sigmoid}
_TRIES = 1000
#: Beyond this input tanh' and σ' are below 0.01 and 0.05: a sheet of zeros teaches nothing.
_SATURATED = 3.0


class Exercise:
    """A generated worked example with its problem and solution sheets."""

    def __init__(self, example: WorkedExample, asked: Sequence[str], description: str):
        self.example = example
        self.asked = tuple(asked)
        self.description = description  #: e.g. "sizes 2-2-1, tanh, half_squared, seed 7"

    def __repr__(self) -> str:
        return f"Exercise({self.description}; asks {', '.join(self.asked)})"

    def problem(self, format: str = "latex", *, decimals: int = 4,
                document: bool = False) -> str:
        """The sheet: network, weights, x, y, loss and α, then the tasks (no answers)."""
        decimals = check_decimals(decimals)
        fmt = _format(format, document)
        given = (self.example.to_latex(decimals, sections=["network"]) if fmt == "latex"
                 else self.example.to_markdown(decimals, sections=["network"]))
        tasks = [TASKS[k] for k in self.asked] + [
            f"Carry {decimals} decimal places from step to step, as a calculator would."]
        heading = f"Exercise: one step of backpropagation ({self.description})"
        if fmt == "markdown":
            items = "\n".join(f"{i}. {t}" for i, t in enumerate(tasks, 1))
            return f"# {heading}\n\n{given}\n## Tasks\n\n{items}\n"
        items = "\n".join(rf"\item {t}" for t in tasks)
        body = [rf"\section*{{{heading}}}", given.strip(),
                "\\subsection*{Tasks}\n\\begin{enumerate}\n" + items + "\n\\end{enumerate}"]
        return latex_document(body, beamer=False) if document else "\n\n".join(body) + "\n"

    def solution(self, format: str = "latex", *, decimals: int = 4, by_hand: bool = True,
                 document: bool = False) -> str:
        """The worked solution of the asked sections at ``decimals`` places; with ``by_hand``
        each number also as a person carrying ``decimals`` places gets it."""
        decimals = check_decimals(decimals)
        fmt = _format(format, document)
        options = {"sections": ["network", *self.asked],
                   "by_hand": decimals if by_hand else None}
        heading = f"Solution ({self.description})"
        if fmt == "markdown":
            return f"# {heading}\n\n" + self.example.to_markdown(decimals, **options)
        body = self.example.to_latex(decimals, **options).strip()
        blocks = [rf"\section*{{{heading}}}", body]
        return latex_document(blocks, beamer=False) if document else "\n\n".join(blocks) + "\n"


def _format(format: str, document: bool) -> str:
    if format not in ("latex", "markdown"):
        raise ValueError(f"format must be 'latex' or 'markdown', got {format!r}.")
    if document and format != "latex":
        raise ValueError("document=True is for format='latex' only.")
    return format


def generate(sizes: Sequence[int], activation: str = "tanh", loss: str = "half_squared",
             seed: int = 0, *, bias: bool = False, lr: float = 0.5,
             asked: Sequence[str] = DEFAULT_ASKED) -> Exercise:
    """A random exercise on a network of widths ``sizes`` = [k, h_1, …, h_out].

    Parameters
    ----------
    sizes : sequence of int
        Layer widths; Linear (Affine with ``bias=True``) layers with ``activation`` between
        them. ``loss="cross_entropy"`` adds a Softmax output layer and
        ``"binary_cross_entropy"`` a Sigmoid one, so ŷ is a probability.
    activation : str
        A key of ACTIVATIONS.
    loss : str
        A key of ``spec.LOSSES``. The target is easy numbers for the squared errors, a one-hot
        row for the cross-entropies and 0/1 entries for the binary one.
    seed : int
        ``numpy.random.default_rng(seed)``: the same seed gives the same exercise.
    bias, lr : bool, float
        Affine layers instead of Linear; the step size α.
    asked : sequence of str
        Which of TASKS the sheet asks for.

    Draws whose gradients all vanish, that saturate a hidden tanh or sigmoid (an input beyond
    ±3), or that put a ReLU input exactly at its kink 0, are drawn again (from the same
    generator, so still deterministic).

    Examples
    --------
    >>> ex = generate([2, 2, 1], seed=7).example
    >>> bool(np.all(np.isin(ex.network.layers[0].W, EASY)))
    True
    """
    sizes = _sizes(sizes)
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; known: {', '.join(ACTIVATIONS)}.")
    loss_fn = loss_by_name(loss)
    if loss in ("cross_entropy", "softmax_cross_entropy") and sizes[-1] < 2:
        raise ValueError(f"{loss} needs at least 2 outputs (classes); sizes end in {sizes[-1]}.")
    bad = [a for a in asked if a not in TASKS]
    if bad or not asked or isinstance(asked, str):
        raise ValueError(f"asked must be some of {tuple(TASKS)}, got {asked!r}.")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a whole number ≥ 0, got {seed!r}.")
    rng = np.random.default_rng(int(seed))
    for _ in range(_TRIES):
        ex = _draw(rng, sizes, ACTIVATIONS[activation], loss, loss_fn, bias, lr)
        if _usable(ex):
            break
    else:
        raise RuntimeError(f"no usable exercise in {_TRIES} draws for sizes {sizes}.")
    kind = "Affine" if bias else "Linear"
    description = (f"sizes {'-'.join(map(str, sizes))}, {kind} layers, {activation}, "
                   f"{loss.replace('_', ' ')} loss, seed {seed}")
    return Exercise(ex, asked, description)


def _sizes(sizes) -> list[int]:
    try:
        out = [int(s) for s in sizes]
        ok = len(out) >= 2 and all(s >= 1 and s == t and not isinstance(t, bool)
                                   for s, t in zip(out, sizes, strict=True))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"sizes must be at least two whole numbers ≥ 1 (the layer widths "
                         f"k, h_1, …), got {sizes!r}.")
    return out


def _draw(rng, sizes, act, loss, loss_fn, bias, lr) -> WorkedExample:
    layers = []
    for i, (k, h) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        W = rng.choice(EASY, size=(h, k))
        layers.append(Affine(W, rng.choice(EASY, size=h)) if bias else Linear(W))
        if i < len(sizes) - 2:
            layers.append(act())
    if loss in _OUTPUT_LAYER:
        layers.append(_OUTPUT_LAYER[loss]())
    h = sizes[-1]
    x = rng.choice(EASY, size=sizes[0])
    if loss in ("squared", "half_squared"):
        y = rng.choice(EASY, size=h)
    elif loss == "binary_cross_entropy":
        y = rng.integers(0, 2, size=h).astype(float)
    else:
        y = np.eye(h)[rng.integers(h)]
    return WorkedExample(Network(layers), x, y, loss_fn, lr)


def _usable(ex: WorkedExample) -> bool:
    tr = ex.trace()
    inputs = list(enumerate(ex.network.layers, 1))
    kinks = any(isinstance(L, ReLU | LeakyReLU) and np.any(tr.z(j - 1) == 0) for j, L in inputs)
    flat = any(isinstance(L, Tanh | Sigmoid) and np.any(np.abs(tr.z(j - 1)) > _SATURATED)
               for j, L in inputs[:-1])  # an output Sigmoid feeds BCE, which undoes it
    moves = any(np.any(tr.grad(j) != 0) for j in range(1, tr.m + 1))
    return moves and not kinks and not flat and np.isfinite(tr.loss)
