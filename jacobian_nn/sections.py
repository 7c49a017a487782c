r"""What each section of a worked example holds, as lines ``name = expr = value``.

Every value is read from ``ex.trace()``, which knows α (so ``W_new(j)`` is the update); a
by-hand value, when asked for, from ``ex.by_hand(d)``. ``jacobian_nn.slides`` lays the lines out
as text, LaTeX or Markdown.

========== ==================================================================================
network    f_W = f_{W_m} ∘ … ∘ f_{W_1}, each layer's formula and weights, x, y, L and α
forward    z^(j) = f_{W_j}(z^(j-1)), j = 1..m
loss       ŷ = z^(m), L(ŷ, y) and ∇_ŷL
local      D_z f_{W_j}(z^(j-1)) and D_{W_j} f_{W_j}(z^(j-1)) of every layer
backward   D^(m) = I, D^(j) = D^(j+1) D_z f_{W_{j+1}}(z^(j)) and the rows ∂L/∂z^(j) = ∇_ŷLᵀ D^(j)
gradients  D_{W_j} f_W(x) = D^(j) D_{W_j} f_{W_j}(z^(j-1)) and ∇_{W_j} L (or (∇_{W_j} L)ᵀ)
update     W_j − α ∇_{W_j} L
========== ==================================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .layers import Affine, Bias

if TYPE_CHECKING:
    from .worked import ByHand, WorkedExample

SECTIONS = ("network", "forward", "loss", "local", "backward", "gradients", "update")
LAYOUTS = ("lecture", "slide")
_SYMBOL = re.compile(r"(?<![A-Za-z\\])([Wbz])(?![A-Za-z])")
_LATEX_SPECIALS = {c: "\\" + c for c in "&%$#_{}"} | {"~": r"\textasciitilde{}",
                                                      "^": r"\textasciicircum{}",
                                                      "\\": r"\textbackslash{}"}


def latex_escape(s: str) -> str:
    """Plain text made safe for LaTeX's text mode."""
    return "".join(_LATEX_SPECIALS.get(c, c) for c in s)


@dataclass(frozen=True)
class Line:
    """One line of a section: ``name = expr = value`` (expr, value and by-hand value optional)."""

    name: str  #: LaTeX
    name_text: str
    expr: str = ""
    expr_text: str = ""
    value: np.ndarray | None = None
    by_hand: np.ndarray | None = None
    given: bool = False  #: given numbers: as few decimals as show them exactly
    row: bool = False  #: show a vector as a row (∂L/∂z^(j), the slide's ∂L/∂b)

    def shown(self, which: str = "value") -> np.ndarray:
        """The value (or ``"by_hand"`` value) as it is displayed: a row vector as (1, h)."""
        a = np.asarray(self.value if which == "value" else self.by_hand, dtype=np.float64)
        return a[None, :] if self.row and a.ndim == 1 else a


def parts(ex: WorkedExample, j: int,
          split_affine: bool = True) -> list[tuple[str, str, np.ndarray]]:
    """Layer j's parameter blocks as (LaTeX name, text name, indices into params.ravel()).

    An Affine layer's params pack [W | b]; split, W is ``idx[:, :-1]`` and b ``idx[:, -1]``.
    """
    layer = ex.network.layers[j - 1]
    if not layer.n_params:
        return []
    (w, wt), (b, bt) = ex.param_names(j)
    idx = np.arange(layer.n_params).reshape(layer.params.shape)
    if isinstance(layer, Affine):
        if split_affine:
            return [(w, wt, idx[:, :-1]), (b, bt, idx[:, -1])]
        return [(rf"[{w} \mid {b}]", f"[{wt} | {bt}]", idx)]
    if isinstance(layer, Bias):
        return [(b, bt, idx)]
    return [(w, wt, idx)]


def _f(ex: WorkedExample, j: int) -> tuple[str, str]:
    """Layer j's name: lecture 000's f_{W_j}, or f_j when the weights have other names."""
    if ex.weight_names is None:
        return f"f_{{W_{j}}}", f"f_{{W_{j}}}"
    return f"f_{{{j}}}", f"f_{j}"


def _formula(ex: WorkedExample, j: int, z: tuple[str, str]) -> tuple[str, str]:
    """Layer j's formula with its weight names and input ``z`` = (LaTeX, text) put in."""
    layer = ex.network.layers[j - 1]
    (w, wt), (b, bt) = ex.param_names(j)
    out = []
    for src, sub in ((layer.formula_latex, {"W": w, "b": b, "z": z[0]}),
                     (layer.formula, {"W": wt, "b": bt, "z": z[1]})):
        out.append(_SYMBOL.sub(lambda mt, sub=sub: sub[mt.group(1)], src))
    return out[0], out[1]


def _z(j: int) -> tuple[str, str]:
    return f"z^{{({j})}}", f"z^({j})"


class _Source:
    """The exact trace and, when asked for, the by-hand one: what every section reads from."""

    def __init__(self, ex: WorkedExample, bh: ByHand | None):
        self.ex, self.tr, self.bh = ex, ex.trace(), bh

    def hand(self, get):
        """``get(by-hand trace)``, or None when no by-hand values are shown."""
        return None if self.bh is None else get(self.bh)


def _network(src: _Source, layout: str, split: bool) -> list[Line]:
    ex = src.ex
    fs = [_f(ex, j) for j in range(ex.network.m, 0, -1)]
    out = [Line("f_W", "f_W", r" \circ ".join(f for f, _ in fs), " ∘ ".join(t for _, t in fs))]
    for j, layer in enumerate(ex.network.layers, 1):
        (f, ft), (form, form_t) = _f(ex, j), _formula(ex, j, ("z", "z"))
        kind = type(layer).__name__
        out.append(Line(f"{f}(z)", f"{ft}(z)", rf"{form} \quad \text{{({latex_escape(kind)})}}",
                        f"{form_t}   ({kind})"))
        out += [Line(n, nt, value=layer.params.ravel()[idx], given=True)
                for n, nt, idx in parts(ex, j, split)]
    return out + [
        Line("x", "x", "z^{(0)}", "z^(0)", value=ex.x, given=True),
        Line("y", "y", value=ex.y, given=True),
        Line(r"L(\hat y, y)", "L(ŷ, y)", ex.loss.formula_latex, ex.loss.formula),
        Line(r"\alpha", "α", f"{ex.lr:g}", f"{ex.lr:g}"),
    ]


def _forward(src: _Source, layout: str, split: bool) -> list[Line]:
    return [Line(*_z(j), *_formula(src.ex, j, _z(j - 1)), src.tr.z(j),
                 src.hand(lambda b, j=j: b.z(j))) for j in range(1, src.tr.m + 1)]


def _loss(src: _Source, layout: str, split: bool) -> list[Line]:
    tr, m = src.tr, src.tr.m
    return [
        Line(r"\hat y", "ŷ", *_z(m), tr.z(m), src.hand(lambda b: b.z(m))),
        Line("y", "y", value=src.ex.y, given=True),
        Line(r"L(\hat y, y)", "L(ŷ, y)", src.ex.loss.formula_latex, src.ex.loss.formula,
             np.float64(tr.loss), src.hand(lambda b: np.float64(b.loss))),
        Line(r"\nabla_{\hat y} L", "∇_ŷ L", value=tr.grad_yhat,
             by_hand=src.hand(lambda b: b.grad_yhat)),
    ]


def _local(src: _Source, layout: str, split: bool) -> list[Line]:
    out = []
    for j in range(1, src.tr.m + 1):
        (f, ft), (z, zt) = _f(src.ex, j), _z(j - 1)
        out.append(Line(f"D_z {f}({z})", f"D_z {ft}({zt})", value=src.tr.local_D_z(j),
                        by_hand=src.hand(lambda b, j=j: b.local_D_z(j))))
        for n, nt, idx in parts(src.ex, j, split):
            c = idx.ravel()  # the columns of D_{W_j} f that belong to this block
            out.append(Line(f"D_{{{n}}} {f}({z})", f"D_{{{nt}}} {ft}({zt})",
                            value=src.tr.local_D_W(j)[:, c],
                            by_hand=src.hand(lambda b, j=j, c=c: b.local_D_W(j)[:, c])))
    return out


def _backward(src: _Source, layout: str, split: bool) -> list[Line]:
    out, m = [], src.tr.m
    for j in range(m, -1, -1):
        if j == m:
            expr = ("I", "I")
        else:
            (f, ft), (z, zt) = _f(src.ex, j + 1), _z(j)
            expr = (f"D^{{({j + 1})}} D_z {f}({z})", f"D^({j + 1}) D_z {ft}({zt})")
        out.append(Line(f"D^{{({j})}}", f"D^({j})", *expr, src.tr.D(j),
                        src.hand(lambda b, j=j: b.D(j))))
        out.append(Line(rf"\frac{{\partial L}}{{\partial z^{{({j})}}}}", f"∂L/∂z^({j})",
                        rf"\nabla_{{\hat y}} L^\top D^{{({j})}}", f"∇_ŷLᵀ D^({j})",
                        src.tr.dL_dz(j), src.hand(lambda b, j=j: b.dL_dz(j)), row=True))
    return out


def _gradients(src: _Source, layout: str, split: bool) -> list[Line]:
    out = []
    for j in range(1, src.tr.m + 1):
        (f, ft), (z, zt) = _f(src.ex, j), _z(j - 1)
        for n, nt, idx in parts(src.ex, j, split):
            c = idx.ravel()
            out.append(Line(f"D_{{{n}}} f_W(x)", f"D_{{{nt}}} f_W(x)",
                            f"D^{{({j})}} D_{{{n}}} {f}({z})", f"D^({j}) D_{{{nt}}} {ft}({zt})",
                            src.tr.D_W(j)[:, c], src.hand(lambda b, j=j, c=c: b.D_W(j)[:, c])))
            g = src.tr.grad(j).ravel()[idx]
            gb = src.hand(lambda b, j=j, i=idx: b.grad(j).ravel()[i])
            if layout == "lecture":
                out.append(Line(rf"\nabla_{{{n}}} L", f"∇_{{{nt}}} L", value=g, by_hand=gb))
            else:  # lecture 002's ∂L/∂W = x_in ∂L/∂x_out, shaped like Wᵀ
                out.append(Line(rf"\frac{{\partial L}}{{\partial {n}}}", f"∂L/∂{nt}",
                                rf"(\nabla_{{{n}}} L)^\top", f"(∇_{{{nt}}} L)ᵀ", g.T,
                                None if gb is None else gb.T, row=g.ndim == 1))
    return out


def _update(src: _Source, layout: str, split: bool) -> list[Line]:
    lr, out = f"{src.ex.lr:g}", []
    new_bh = src.hand(lambda b: b.updated_weights())
    for j in range(1, src.tr.m + 1):
        for n, nt, idx in parts(src.ex, j, split):
            out.append(Line(rf"{n} - {lr}\,\nabla_{{{n}}} L", f"{nt} − {lr} ∇_{{{nt}}} L",
                            value=src.tr.W_new(j).ravel()[idx],
                            by_hand=None if new_bh is None else new_bh[j - 1].ravel()[idx]))
    return out


_BUILDERS = {"network": _network, "forward": _forward, "loss": _loss, "local": _local,
             "backward": _backward, "gradients": _gradients, "update": _update}


def build_sections(ex: WorkedExample, keys, layout: str, split_affine: bool,
                   bh: ByHand | None) -> list[tuple[str, list[Line]]]:
    """(key, lines) of each section in ``keys``: exact values from one ``ex.trace()``, by-hand
    ones from ``bh`` when it is given."""
    src = _Source(ex, bh)
    return [(key, _BUILDERS[key](src, layout, split_affine)) for key in keys]
