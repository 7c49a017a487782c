"""Matrices under their lecture names, as plain text (terminal) and LaTeX (Jupyter).

Nothing here imports a notebook package: the LaTeX is a string that Jupyter typesets. Objects
that Jupyter should typeset return a ``Rendering``, which carries both forms: Jupyter calls its
``_repr_latex_``, a terminal prints its text. A large matrix is written by its corners and
largest entries (``jacobian_nn.summary``); the matrix, trace and layer renderings take
``full=True`` to write it whole.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

from . import summary
from ._validate import check_decimals, fmt_shape


def _fmt(v: float, decimals: int) -> str:
    s = f"{v:.{decimals}f}"
    return f"{0.0:.{decimals}f}" if s.startswith("-") and float(s) == 0 else s  # no "-0.00"


def cells(A, decimals: int = 4, full: bool = False) -> list[list[str]]:
    """The written cells of a matrix (a vector as one row): every entry, or, when it is
    summarised, its corners with ⋯, ⋮ and ⋱ (at most 7 × 7)."""
    A = np.asarray(A, dtype=np.float64)
    if summary.summarised(A, full):
        return [[c if isinstance(c, str) else _fmt(c, decimals) for c in row]
                for row in summary.corners(A)]
    return [[_fmt(v, decimals) for v in row] for row in (A[None, :] if A.ndim == 1 else A)]


def _largest(A: np.ndarray, decimals: int) -> str:
    return ", ".join(f"{list(i)} = {_fmt(v, decimals)}" for i, v in summary.largest(A))


def summary_text(A, decimals: int = 4) -> str:
    """The line under a summarised matrix: its space, and its largest entries with indices."""
    A = np.asarray(A, dtype=np.float64)
    return (f"({fmt_shape(*A.shape)} by its corners; largest |entries| "
            f"{_largest(A, decimals)}; full=True shows all)")


def matrix_to_text(A, decimals: int = 4, full: bool = False) -> str:
    """A vector as ``[a  b  c]``, a matrix as a bracketed block of right-aligned columns.

    A large one (``summary.summarised``) is shown by its corners, with ⋯ and ⋮ for the
    entries left out and a line naming its space and largest entries; ``full=True`` writes
    every entry.

    Examples
    --------
    >>> print(matrix_to_text(np.array([[1.0, -3.0], [0.2, 1.0]]), 1))
    ⎡1.0  -3.0⎤
    ⎣0.2   1.0⎦
    >>> print(matrix_to_text(np.arange(20.0), 0))
    [0  1  2  ⋯  17  18  19]
    (R^20 by its corners; largest |entries| [19] = 19, [18] = 18, [17] = 17; full=True shows all)
    """
    decimals = check_decimals(decimals)  # every rendering passes here: one check
    A = np.asarray(A, dtype=np.float64)
    if A.ndim == 0:
        return _fmt(float(A), decimals)
    if A.size == 0:
        return "[]" if A.ndim == 1 else f"(empty, shape {A.shape})"
    shown = cells(A, decimals, full)
    note = [summary_text(A, decimals)] if summary.summarised(A, full) else []
    if A.ndim == 1:
        return "\n".join(["[" + "  ".join(shown[0]) + "]"] + note)
    width = [max(len(r[c]) for r in shown) for c in range(len(shown[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, width, strict=True)) for r in shown]
    if len(lines) == 1:
        return "\n".join(["[" + lines[0] + "]"] + note)
    left = ["⎡"] + ["⎢"] * (len(lines) - 2) + ["⎣"]
    right = ["⎤"] + ["⎥"] * (len(lines) - 2) + ["⎦"]
    return "\n".join([a + line + b for a, line, b in zip(left, lines, right, strict=True)]
                     + note)


_LATEX_DOTS = {summary.HDOTS: r"\cdots", summary.VDOTS: r"\vdots", summary.DDOTS: r"\ddots"}


def matrix_to_latex(A, decimals: int = 4, full: bool = False) -> str:
    r"""A as a LaTeX ``bmatrix`` (a vector as a column, as the lecture writes it).

    A large one is shown by its corners (``\cdots``, ``\vdots``, ``\ddots``: at most 7
    columns, so amsmath's limit of 10 holds), followed by its space and largest entries;
    ``full=True`` writes every entry.

    Examples
    --------
    >>> matrix_to_latex(np.array([0.7, 0.3]), 1)
    '\\begin{bmatrix} 0.7 \\\\ 0.3 \\end{bmatrix}'
    """
    decimals = check_decimals(decimals)  # every rendering passes here: one check
    A = np.asarray(A, dtype=np.float64)
    if A.ndim == 0:
        return _fmt(float(A), decimals)
    col = A[:, None] if A.ndim == 1 else A
    if A.size == 0:
        return r"\text{(empty, shape } " + f"{col.shape[0]}" + r" \times 0\text{)}"
    rows = [" & ".join(_LATEX_DOTS.get(c, c) for c in row) for row in cells(col, decimals, full)]
    body = r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"
    if not summary.summarised(A, full):
        return body
    return (body + r" \quad (" + space_latex(A.shape)
            + r"\text{ by its corners; largest } |{\cdot}|\text{: } "
            + _largest(A, decimals).replace(", [", r",\ [") + ")")


def space_latex(shape: tuple[int, ...]) -> str:
    inner = r" \times ".join(map(str, shape))
    return r"\mathbb{R}^{" + inner + "}"


def _block(name: str, A: np.ndarray, decimals: int, indent: str = "  ",
           full: bool = False) -> list[str]:
    """``name ∈ R^{h×k} =`` followed by the matrix, indented."""
    A = np.asarray(A)
    head = f"{indent}{name} ∈ {fmt_shape(*A.shape)}"
    body = matrix_to_text(A, decimals, full).split("\n")
    if len(body) == 1:
        return [f"{head} = {body[0]}"]
    return [head + " ="] + [indent + "    " + line for line in body]


def _row(a: np.ndarray) -> np.ndarray:
    """∂L/∂z^(j) as lecture 002 writes it: a row, shape (1, h_j)."""
    return a[None, :]


def trace_to_text(tr, decimals: int = 4, full: bool = False) -> str:
    """Plain-text rendering of a ``Trace``, quantity by quantity, in lecture 000's names.

    The backward pass shows each D^(j) with lecture 002's row ∂L/∂z^(j) = ∇_ŷLᵀ D^(j); a trace
    that knows its step size α (``tr.lr``) ends with the update W_j − α ∇_{W_j} L. Large
    matrices are shown by their corners unless ``full=True``.
    """
    m = tr.m

    def block(name, A):
        return _block(name, A, decimals, full=full)

    out = [f"Backpropagation through m = {m} layers"]
    out += [f"  f_{j}: {layer!r}   f(z) = {layer.formula}"
            for j, layer in enumerate(tr.network.layers, 1)]
    out += ["", "Forward pass: z^(0) = x, z^(j) = f_{W_j}(z^(j-1))"]
    for j in range(m + 1):
        out += block(f"z^({j})", tr.z(j))
    out += block("y", tr.y)
    out += [f"  L(ŷ, y) = {tr.loss_fn.formula} = {_fmt(tr.loss, decimals)}"]
    out += block("∇_ŷ L(z^(m), y)", tr.grad_yhat)
    out += ["", "Local Jacobians of each layer at its input"]
    for j in range(1, m + 1):
        out += block(f"D_z f_{{W_{j}}}(z^({j - 1}))", tr.local_D_z(j))
        if tr.local_D_W(j).shape[1]:
            out += block(f"D_{{W_{j}}} f_{{W_{j}}}(z^({j - 1}))", tr.local_D_W(j))
    out += ["", "Backward pass: D^(m) = I, D^(j) = D^(j+1) D_z f_{W_{j+1}}(z^(j)), and the rows",
            "∂L/∂z^(j) = ∇_ŷLᵀ D^(j) (lecture 002's ∂L/∂x_j)"]
    for j in range(m, -1, -1):
        out += block(f"D^({j})", tr.D(j))
        out += block(f"∂L/∂z^({j}) = ∇_ŷLᵀ D^({j})", _row(tr.dL_dz(j)))
    out += ["", "D_{W_j} f_W(x) = D^(j) D_{W_j} f_{W_j}(z^(j-1))"]
    for j in range(1, m + 1):
        if tr.D_W(j).shape[1]:
            out += block(f"D_{{W_{j}}} f_W(x)", tr.D_W(j))
    out += ["", "Gradients: ∇_{W_j} L ᵀ = ∇_ŷ Lᵀ D_{W_j} f_W(x), shaped like W_j"]
    for j in range(1, m + 1):
        if tr.grad(j).size:
            out += block(f"∇_{{W_{j}}} L", tr.grad(j))
        else:
            out += [f"  ∇_{{W_{j}}} L: layer {j} has no parameters"]
    if tr.lr is not None:
        a = f"{tr.lr:g}"
        out += ["", f"Update with α = {a}: W_j − α ∇_{{W_j}} L"]
        for j in range(1, m + 1):
            if tr.grad(j).size:
                out += block(f"W_{j} − {a} ∇_{{W_{j}}} L", tr.W_new(j))
    return "\n".join(out)


def _latex_line(name: str, A: np.ndarray, decimals: int, full: bool = False) -> str:
    A = np.asarray(A)
    return f"{name} &= {matrix_to_latex(A, decimals, full)} \\in {space_latex(A.shape)}"


def trace_to_latex(tr, decimals: int = 4, full: bool = False) -> str:
    """The same content as ``trace_to_text``, as one LaTeX ``aligned`` block."""
    m = tr.m

    def line(name, A):
        return _latex_line(name, A, decimals, full)

    lines = [line(f"z^{{({j})}}", tr.z(j)) for j in range(m + 1)]
    lines.append(r"L(\hat y, y) &= " + _fmt(tr.loss, decimals))
    lines.append(line(r"\nabla_{\hat y} L", tr.grad_yhat))
    for j in range(1, m + 1):
        lines.append(line(f"D_z f_{{W_{j}}}(z^{{({j - 1})}})", tr.local_D_z(j)))
        if tr.local_D_W(j).shape[1]:
            lines.append(line(f"D_{{W_{j}}} f_{{W_{j}}}(z^{{({j - 1})}})", tr.local_D_W(j)))
    for j in range(m, -1, -1):
        lines.append(line(f"D^{{({j})}}", tr.D(j)))
        lines.append(line(rf"\frac{{\partial L}}{{\partial z^{{({j})}}}} = "
                          rf"\nabla_{{\hat y}} L^\top D^{{({j})}}", _row(tr.dL_dz(j))))
    for j in range(1, m + 1):
        if tr.grad(j).size:
            lines.append(line(f"D_{{W_{j}}} f_W(x)", tr.D_W(j)))
            lines.append(line(f"\\nabla_{{W_{j}}} L", tr.grad(j)))
    if tr.lr is not None:
        a = f"{tr.lr:g}"
        lines.append(rf"\alpha &= {a}")  # heads the update section
        lines += [line(rf"W_{{{j}}} - {a}\,\nabla_{{W_{j}}} L", tr.W_new(j))
                  for j in range(1, m + 1) if tr.grad(j).size]
    return "$$\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}$$"


@dataclass(frozen=True)
class Rendering:
    """One piece of mathematics in two forms: ``text`` for a terminal, ``latex`` for Jupyter."""

    text: str
    latex: str

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def _repr_latex_(self) -> str:
        return self.latex


def show_matrix(A, name: str = "A", decimals: int = 4, text_name: str | None = None,
                full: bool = False) -> Rendering:
    r"""A named matrix (or vector) with its shape, e.g. ``D^{(2)} = [...] ∈ R^{1×2}``.

    Parameters
    ----------
    A : array_like, shape (h,) or (h, k)
        The matrix; a vector is written as a column.
    name : str
        Its lecture name in LaTeX, e.g. ``r"D^{(2)}"`` or ``r"\nabla_{W_1} L"``.
    decimals : int
        Digits after the decimal point.
    text_name : str, optional
        The name in the plain-text form; defaults to ``name``.
    full : bool
        Write every entry of a large matrix instead of its corners (``summary``).

    Returns
    -------
    Rendering
        Typeset by Jupyter (``_repr_latex_``); ``print`` shows the text form.

    Examples
    --------
    >>> r = show_matrix(np.array([[0.5, -1.0]]), name=r"D^{(1)}", decimals=2, text_name="D^(1)")
    >>> print(r)
    D^(1) ∈ R^{1×2} = [0.50  -1.00]
    >>> r._repr_latex_()
    '$$D^{(1)} = \\begin{bmatrix} 0.50 & -1.00 \\end{bmatrix} \\in \\mathbb{R}^{1 \\times 2}$$'
    """
    A = np.asarray(A, dtype=np.float64)
    text = "\n".join(_block(text_name or name, A, decimals, indent="", full=full))
    latex = f"$${name} = {matrix_to_latex(A, decimals, full)} \\in {space_latex(A.shape)}$$"
    return Rendering(text, latex)


def trace_display(tr, decimals: int = 4, full: bool = False) -> Rendering:
    """A ``Trace`` as text and LaTeX, every number to ``decimals`` digits after the point."""
    return Rendering(trace_to_text(tr, decimals, full), trace_to_latex(tr, decimals, full))


# -- layers and networks ------------------------------------------------------------------------
def _named_params(layer) -> list[tuple[str, np.ndarray]]:
    """The layer's parameter arrays under their lecture letters (W, b), or W = params."""
    letters = [n for n in ("W", "b") if isinstance(getattr(type(layer), n, None), property)]
    if letters:
        return [(n, getattr(layer, n)) for n in letters]
    return [("W", layer.params)] if layer.n_params else []


def _sub(name: str, j: int | None, latex: bool = False) -> str:
    """W → W_j for layer j of a network; a layer on its own keeps the bare letter."""
    if j is None:
        return name
    return f"{name}_{{{j}}}" if latex else f"{name}_{j}"


def _layer_lines(layer, decimals: int, j: int | None, indent: str, full: bool) -> list[str]:
    f = "f" if j is None else f"f_{{W_{j}}}"
    params = _named_params(layer)
    shapes = (", ".join(f"{_sub(n, j)} ∈ {fmt_shape(*A.shape)}" for n, A in params)
              or "no parameters")
    out = [f"{indent}{f}(z) = {layer.formula}   ({type(layer).__name__}; {shapes})"]
    for n, A in params:
        out += _block(_sub(n, j), A, decimals, indent + "  ", full)
    return out


def _layer_latex_row(layer, decimals: int, j: int | None, full: bool) -> str:
    r"""``f(z) &= W z \qquad \text{Linear},\; W = [...] \in R^{h×k}``: one aligned row."""
    f = "f" if j is None else f"f_{{W_{j}}}"
    params = [f"{_sub(n, j, latex=True)} = {matrix_to_latex(A, decimals, full)} "
              f"\\in {space_latex(A.shape)}" for n, A in _named_params(layer)]
    return (f"{f}(z) &= {layer.formula_latex} \\qquad \\text{{{type(layer).__name__}}}"
            + "".join(f",\\; {p}" for p in params))


def _sizes_text(net) -> str:
    k, h = net.in_size, net.out_size(None)
    return "" if k is None or h is None else f": R^{k} → R^{h}"


def layer_to_text(layer, decimals: int = 4, full: bool = False) -> str:
    """A layer's formula, parameter shapes and values (large ones by their corners unless
    ``full=True``); a Network layer by layer.

    Examples
    --------
    >>> from jacobian_nn import Linear
    >>> print(layer_to_text(Linear([[1.0, -3.0]]), 1))
    f(z) = W z   (Linear; W ∈ R^{1×2})
      W ∈ R^{1×2} = [1.0  -3.0]
    """
    if not hasattr(layer, "layers"):
        return "\n".join(_layer_lines(layer, decimals, None, "", full))
    m = len(layer.layers)
    comp = " ∘ ".join(f"f_{{W_{j}}}" for j in range(m, 0, -1))
    out = [f"f_W = {comp}{_sizes_text(layer)}, m = {m} layers, d = {layer.n_params} parameters"]
    for j, sub in enumerate(layer.layers, 1):
        out += _layer_lines(sub, decimals, j, "  ", full)
    return "\n".join(out)


def layer_to_latex(layer, decimals: int = 4, full: bool = False) -> str:
    r"""The content of ``layer_to_text`` as one LaTeX ``aligned`` block (``$$ … $$``)."""
    if not hasattr(layer, "layers"):
        rows = [_layer_latex_row(layer, decimals, None, full)]
    else:
        m = len(layer.layers)
        comp = r" \circ ".join(f"f_{{W_{j}}}" for j in range(m, 0, -1))
        k, h = layer.in_size, layer.out_size(None)
        dom = "" if k is None or h is None else (
            f" : \\mathbb{{R}}^{{{k}}} \\to \\mathbb{{R}}^{{{h}}}")
        rows = [f"f_W &= {comp}{dom}, \\quad d = {layer.n_params}"]
        rows += [_layer_latex_row(sub, decimals, j, full) for j, sub in enumerate(layer.layers, 1)]
    return "$$\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}$$"


def layer_display(layer, decimals: int = 4, full: bool = False) -> Rendering:
    """A layer or Network as text and LaTeX (see ``layer_to_text``)."""
    return Rendering(layer_to_text(layer, decimals, full), layer_to_latex(layer, decimals, full))


# -- Jacobian check reports ---------------------------------------------------------------------
def report_to_html(report) -> str:
    """A ``JacobianReport`` as an HTML table: one row per Jacobian, wrong entries listed."""
    verdict = "PASSED" if report.passed else "FAILED"
    colour = "green" if report.passed else "red"
    head = (f"<p><b>Jacobian check of {html.escape(report.layer)}: "
            f"<span style=\"color:{colour}\">{verdict}</span></b></p>")
    rows = ["<tr><th>Jacobian</th><th>shape</th><th>max abs error</th>"
            "<th>max rel error</th><th>result</th></tr>"]
    for c in report.checks.values():
        status = "ok" if c.passed else ("wrong shape" if not c.shape_ok
                                        else f"{len(c.wrong)} wrong entries")
        rows.append(f"<tr><td>{html.escape(c.name)}</td><td>{c.analytic.shape}</td>"
                    f"<td>{c.max_abs_error:.2e}</td><td>{c.max_rel_error:.2e}</td>"
                    f"<td>{status}</td></tr>")
    wrong = [html.escape(line.strip()) for c in report.checks.values()
             for line in str(c).split("\n")[1:]]
    listing = "<ul>" + "".join(f"<li>{w}</li>" for w in wrong) + "</ul>" if wrong else ""
    return head + "<table>" + "".join(rows) + "</table>" + listing
