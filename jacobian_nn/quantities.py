"""The quantities of a trace by name, and the lecture's formula for each.

A quantity is named as its accessor is called: ``"z(j)"``, ``"D(j)"``, ``"dL_dz(j)"``,
``"local_D_z(j)"``, ``"local_D_W(j)"``, ``"D_W(j)"``, ``"grad(j)"`` or ``"loss"``. ``check``
(handcheck.py) reads its question with ``parse_quantity``; the check reports and the
step-through (stepthrough.py) print ``formula``, the line of lecture 000 that defines it.
"""

from __future__ import annotations

import re

from .activations import Elementwise

_FIRST_J = {"z": 0, "D": 0, "dL_dz": 0, "local_D_z": 1, "local_D_W": 1, "D_W": 1, "grad": 1}
_QUANTITY = re.compile(r"^\s*(" + "|".join(_FIRST_J) + r")\s*\(\s*(-?\d+)\s*\)\s*$")


def parse_quantity(trace, quantity: str) -> tuple[str, int | None]:
    """``"D(1)"`` → ``("D", 1)``, ``"loss"`` → ``("loss", None)``; a clear error otherwise."""
    if not isinstance(quantity, str):
        raise TypeError(f"quantity must be a string such as \"D(1)\" or \"loss\", got "
                        f"{quantity!r}.")
    if quantity.strip() == "loss":
        return "loss", None
    mt = _QUANTITY.match(quantity)
    if mt is None:
        names = ", ".join(f'"{n}(j)"' for n in _FIRST_J)
        raise ValueError(f"quantity must be one of {names} (with a number for j) or \"loss\", "
                         f"got {quantity!r}.")
    name, j = mt.group(1), int(mt.group(2))
    if not _FIRST_J[name] <= j <= trace.m:
        raise ValueError(f"{name}(j) needs j in {_FIRST_J[name]}..{trace.m} (the network has "
                         f"m = {trace.m} layers), got j = {j}.")
    return name, j


_TEXT = {
    "z": "z^(#j) = f_{W_#j}(z^(#jm))",
    "local_D_z": "D_z f_{W_#j}(z^(#jm))",
    "local_D_W": "D_{W_#j} f_{W_#j}(z^(#jm))",
    "D": "D^(#j) = D^(#jp) D_z f_{W_#jp}(z^(#j))",
    "D_W": "D_{W_#j} f_W(x) = D^(#j) D_{W_#j} f_{W_#j}(z^(#jm))",
    "grad": "∇_{W_#j} L, with ∇_{W_#j} Lᵀ = ∇_ŷLᵀ D_{W_#j} f_W(x)",
    "dL_dz": "∂L/∂z^(#j) = ∂L/∂z^(#jp) D_z f_{W_#jp}(z^(#j)) = ∇_ŷLᵀ D^(#j)",
}
_LATEX = {
    "z": r"z^{(#j)} = f_{W_{#j}}(z^{(#jm)})",
    "local_D_z": r"D_z f_{W_{#j}}(z^{(#jm)})",
    "local_D_W": r"D_{W_{#j}} f_{W_{#j}}(z^{(#jm)})",
    "D": r"D^{(#j)} = D^{(#jp)} \, D_z f_{W_{#jp}}(z^{(#j)})",
    "D_W": r"D_{W_{#j}} f_W(x) = D^{(#j)} \, D_{W_{#j}} f_{W_{#j}}(z^{(#jm)})",
    "grad": r"\nabla_{W_{#j}} L, \quad \nabla_{W_{#j}} L^\top = \nabla_{\hat y} L^\top "
            r"D_{W_{#j}} f_W(x)",
    "dL_dz": r"\frac{\partial L}{\partial z^{(#j)}} = \frac{\partial L}{\partial z^{(#jp)}} "
             r"\, D_z f_{W_{#jp}}(z^{(#j)}) = \nabla_{\hat y} L^\top D^{(#j)}",
}
_EDGE = {  # the ends of the chain, (text, LaTeX)
    ("z", "first"): ("z^(0) = x", r"z^{(0)} = x"),
    ("D", "last"): ("D^(#j) = I", r"D^{(#j)} = I"),
    ("dL_dz", "last"): ("∂L/∂z^(#j) = ∇_ŷL(ŷ, y)ᵀ", r"\frac{\partial L}{\partial z^{(#j)}} = "
                        r"\nabla_{\hat y} L(\hat y, y)^\top"),
}


def formula(trace, quantity: str, layout: str = "lecture", latex: bool = False) -> str:
    """The lecture's formula for a quantity, e.g. ``D^(1) = D^(2) D_z f_{W_2}(z^(1))``.

    Examples
    --------
    >>> import jacobian_nn as jnn
    >>> formula(jnn.examples.tanh_worked_example().trace(), "local_D_z(2)")
    "D_z f_{W_2}(z^(1)) = diag(φ'(z^(1)))"
    """
    name, j = parse_quantity(trace, quantity)
    if name == "loss":
        return (r"L(\hat y, y) = " + trace.loss_fn.formula_latex if latex
                else "L(ŷ, y) = " + trace.loss_fn.formula)
    end = "first" if j == 0 else "last" if j == trace.m else None
    text, tex = _EDGE.get((name, end), (_TEXT[name], _LATEX[name]))
    out = tex if latex else text
    if name == "local_D_z" and isinstance(trace.network.layers[j - 1], Elementwise):
        out += (r" = \operatorname{diag}(\varphi'(z^{(#jm)}))" if latex else " = diag(φ'(z^(#jm)))")
    if name == "grad" and layout == "slide":
        out += (r" \text{, written as } (\nabla_{W_{#j}} L)^\top \text{ (the slide's layout)}"
                if latex else ", written as (∇_{W_#j} L)ᵀ (the slide's layout)")
    return out.replace("#jm", str(j - 1)).replace("#jp", str(j + 1)).replace("#j", str(j))
