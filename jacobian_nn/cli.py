"""``python -m jacobian_nn``: the lectures' worked examples, printed step by step."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from .display import matrix_to_text
from .examples import WorkedExample, and_gate, tanh_worked_example


def _flat(values) -> str:
    return "[" + ", ".join(np.ravel(values).tolist()) + "]"


def slide_table(ex: WorkedExample) -> str:
    """Each printed slide value beside ours, rounded to the slide's digits, with a verdict."""
    rows = [("slide", "ours (lecture 000)", "shape", "slide prints", "we compute", "")]
    for sv in ex.slide_values():
        dec = np.ravel(sv.decimals)
        ours = [f"{v:.{d}f}" for v, d in zip(np.ravel(sv.computed), dec, strict=True)]
        verdict = "✓" if sv.matches.all() else "✗ erratum"
        rows.append((sv.name, sv.ours, str(sv.computed.shape), _flat(sv.printed),
                     "[" + ", ".join(ours) + "]", verdict))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return "\n".join(("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))).rstrip()
                     for r in rows)


def print_tanh(decimals: int = 4) -> None:
    ex = tanh_worked_example()
    print(f"{ex.title}\n")
    print("Lecture 002 writes x0 → x1 = W0 x0 → x2 = tanh(x1) → x3 = W1 x2, loss ½(x3 − y)².")
    print("In lecture 000's notation: z^(0) = x0, f_{W_1} = Linear(W0), f_{W_2} = Tanh,")
    print("f_{W_3} = Linear(W1); so z^(j) = x_j and the row ∂L/∂x_j = ∇_ŷLᵀ D^(j).\n")
    print(f"x = {matrix_to_text(ex.x, 1)},  y = {matrix_to_text(ex.y, 1)},  "
          f"loss = {ex.loss!r},  learning rate α = {ex.lr}\n")
    print(ex.trace().to_text(decimals))
    print("\nOne gradient step W_j ← W_j − α ∇_{W_j} L (n = 1):")
    for j, (layer, W) in enumerate(zip(ex.network.layers, ex.updated_weights(), strict=True), 1):
        if layer.n_params:
            print(f"  W_{j} after the step =")
            print("\n".join("      " + line for line in matrix_to_text(W, decimals).split("\n")))
    print("\nLayout: the slide's ∂L/∂W = x_in · ∂L/∂x_out is shaped like Wᵀ, so")
    print("  ∂L/∂W0 (slide) = (∇_{W_1} L)ᵀ and ∂L/∂W1 (slide) = (∇_{W_3} L)ᵀ;")
    print("  its update W + η(∂L/∂W)ᵀ with η = −0.2 is our W − 0.2 ∇_W L.\n")
    print("The slide's printed numbers beside ours (rounded to the slide's digits):")
    print(slide_table(ex))
    print("\nErrata in lecture 002's worked example:")
    for line in ex.errata():
        print(f"  - {line}")


def print_and(decimals: int = 4) -> None:
    net, X, Y = and_gate()
    print("Lecture 000's AND unit f(x) = σ(−30 + 20 x₁ + 20 x₂)\n")
    print(repr(net), "\n")
    for x, y, yhat in zip(X, Y, net(X), strict=True):
        print(f"  x = {matrix_to_text(x, 0)}   x₁ AND x₂ = {y[0]:.0f}   "
              f"f(x) = {yhat[0]:.{decimals}g}")


COMMANDS = {"tanh": print_tanh, "and": print_and}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jacobian_nn",
        description="Print a lecture's worked example step by step, in lecture 000's notation.",
    )
    parser.add_argument("example", choices=sorted(COMMANDS), help="which worked example")
    parser.add_argument("--decimals", type=int, default=4, help="digits after the point")
    args = parser.parse_args(argv)
    COMMANDS[args.example](args.decimals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
