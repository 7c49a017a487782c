"""Matrices under their lecture names, as plain text (terminal) and LaTeX (Jupyter).

Nothing here imports a notebook package: the LaTeX is a string that Jupyter typesets. Objects
that Jupyter should typeset return a ``Rendering``, which carries both forms: Jupyter calls its
``_repr_latex_``, a terminal prints its text.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

from ._validate import check_decimals, fmt_shape

#: Parameter arrays with at most this many entries are shown with their values; larger ones
#: by their shape only, so a 64×10 layer does not flood the notebook.
MAX_SHOWN_ENTRIES = 36


def _fmt(v: float, decimals: int) -> str:
    s = f"{v:.{decimals}f}"
    return f"{0.0:.{decimals}f}" if s.startswith("-") and float(s) == 0 else s  # no "-0.00"


def matrix_to_text(A, decimals: int = 4) -> str:
    """A vector as ``[a  b  c]``, a matrix as a bracketed block of right-aligned columns.

    Examples
    --------
    >>> print(matrix_to_text(np.array([[1.0, -3.0], [0.2, 1.0]]), 1))
    ⎡1.0  -3.0⎤
    ⎣0.2   1.0⎦
    """
    decimals = check_decimals(decimals)  # every rendering passes here: one check
    A = np.asarray(A, dtype=np.float64)
    if A.ndim == 0:
        return _fmt(float(A), decimals)
    if A.ndim == 1:
        return "[" + "  ".join(_fmt(v, decimals) for v in A) + "]"
    if A.size == 0:
        return f"(empty, shape {A.shape})"
    cells = [[_fmt(v, decimals) for v in row] for row in A]
    width = [max(len(r[c]) for r in cells) for c in range(A.shape[1])]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, width, strict=True)) for r in cells]
    if len(lines) == 1:
        return "[" + lines[0] + "]"
    left = ["⎡"] + ["⎢"] * (len(lines) - 2) + ["⎣"]
    right = ["⎤"] + ["⎥"] * (len(lines) - 2) + ["⎦"]
    return "\n".join(a + line + b for a, line, b in zip(left, lines, right, strict=True))


def matrix_to_latex(A, decimals: int = 4) -> str:
    r"""A as a LaTeX ``bmatrix`` (a vector as a column, as the lecture writes it).

    Examples
    --------
    >>> matrix_to_latex(np.array([0.7, 0.3]), 1)
    '\\begin{bmatrix} 0.7 \\\\ 0.3 \\end{bmatrix}'
    """
    decimals = check_decimals(decimals)  # every rendering passes here: one check
    A = np.asarray(A, dtype=np.float64)
    if A.ndim == 0:
        return _fmt(float(A), decimals)
    if A.ndim == 1:
        A = A[:, None]
    if A.size == 0:
        return r"\text{(empty, shape } " + f"{A.shape[0]}" + r" \times 0\text{)}"
    rows = [" & ".join(_fmt(v, decimals) for v in row) for row in A]
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"


def space_latex(shape: tuple[int, ...]) -> str:
    inner = r" \times ".join(map(str, shape))
    return r"\mathbb{R}^{" + inner + "}"


def _block(name: str, A: np.ndarray, decimals: int, indent: str = "  ") -> list[str]:
    """``name ∈ R^{h×k} =`` followed by the matrix, indented."""
    A = np.asarray(A)
    head = f"{indent}{name} ∈ {fmt_shape(*A.shape)}"
    body = matrix_to_text(A, decimals).split("\n")
    if len(body) == 1:
        return [f"{head} = {body[0]}"]
    return [head + " ="] + [indent + "    " + line for line in body]


def trace_to_text(tr, decimals: int = 4) -> str:
    """Plain-text rendering of a ``Trace``, quantity by quantity, in lecture 000's names."""
    m = tr.m
    out = [f"Backpropagation through m = {m} layers"]
    out += [f"  f_{j}: {layer!r}   f(z) = {layer.formula}"
            for j, layer in enumerate(tr.network.layers, 1)]
    out += ["", "Forward pass: z^(0) = x, z^(j) = f_{W_j}(z^(j-1))"]
    for j in range(m + 1):
        out += _block(f"z^({j})", tr.z(j), decimals)
    out += _block("y", tr.y, decimals)
    out += [f"  L(ŷ, y) = {tr.loss_fn.formula} = {_fmt(tr.loss, decimals)}"]
    out += _block("∇_ŷ L(z^(m), y)", tr.grad_yhat, decimals)
    out += ["", "Local Jacobians of each layer at its input"]
    for j in range(1, m + 1):
        out += _block(f"D_z f_{{W_{j}}}(z^({j - 1}))", tr.local_D_z(j), decimals)
        if tr.local_D_W(j).shape[1]:
            out += _block(f"D_{{W_{j}}} f_{{W_{j}}}(z^({j - 1}))", tr.local_D_W(j), decimals)
    out += ["", "Backward pass: D^(m) = I, D^(j) = D^(j+1) D_z f_{W_{j+1}}(z^(j))"]
    for j in range(m, -1, -1):
        out += _block(f"D^({j})", tr.D(j), decimals)
    out += ["", "D_{W_j} f_W(x) = D^(j) D_{W_j} f_{W_j}(z^(j-1))"]
    for j in range(1, m + 1):
        if tr.D_W(j).shape[1]:
            out += _block(f"D_{{W_{j}}} f_W(x)", tr.D_W(j), decimals)
    out += ["", "Gradients: ∇_{W_j} L ᵀ = ∇_ŷ Lᵀ D_{W_j} f_W(x), shaped like W_j"]
    for j in range(1, m + 1):
        if tr.grad(j).size:
            out += _block(f"∇_{{W_{j}}} L", tr.grad(j), decimals)
        else:
            out += [f"  ∇_{{W_{j}}} L: layer {j} has no parameters"]
    return "\n".join(out)


def _latex_line(name: str, A: np.ndarray, decimals: int) -> str:
    A = np.asarray(A)
    return f"{name} &= {matrix_to_latex(A, decimals)} \\in {space_latex(A.shape)}"


def trace_to_latex(tr, decimals: int = 4) -> str:
    """The same content as ``trace_to_text``, as one LaTeX ``aligned`` block."""
    m = tr.m
    lines = [_latex_line(f"z^{{({j})}}", tr.z(j), decimals) for j in range(m + 1)]
    lines.append(r"L(\hat y, y) &= " + _fmt(tr.loss, decimals))
    lines.append(_latex_line(r"\nabla_{\hat y} L", tr.grad_yhat, decimals))
    for j in range(1, m + 1):
        lines.append(_latex_line(f"D_z f_{{W_{j}}}(z^{{({j - 1})}})", tr.local_D_z(j), decimals))
        if tr.local_D_W(j).shape[1]:
            lines.append(_latex_line(f"D_{{W_{j}}} f_{{W_{j}}}(z^{{({j - 1})}})",
                                     tr.local_D_W(j), decimals))
    for j in range(m, -1, -1):
        lines.append(_latex_line(f"D^{{({j})}}", tr.D(j), decimals))
    for j in range(1, m + 1):
        if tr.grad(j).size:
            lines.append(_latex_line(f"D_{{W_{j}}} f_W(x)", tr.D_W(j), decimals))
            lines.append(_latex_line(f"\\nabla_{{W_{j}}} L", tr.grad(j), decimals))
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


def show_matrix(A, name: str = "A", decimals: int = 4, text_name: str | None = None) -> Rendering:
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
    text = "\n".join(_block(text_name or name, A, decimals, indent=""))
    latex = f"$${name} = {matrix_to_latex(A, decimals)} \\in {space_latex(A.shape)}$$"
    return Rendering(text, latex)


def trace_display(tr, decimals: int = 4) -> Rendering:
    """A ``Trace`` as text and LaTeX, every number to ``decimals`` digits after the point."""
    return Rendering(trace_to_text(tr, decimals), trace_to_latex(tr, decimals))


# -- layers and networks ------------------------------------------------------------------------
def _named_params(layer) -> list[tuple[str, np.ndarray]]:
    """The layer's parameter arrays under their lecture letters (W, b), or W = params."""
    letters = [n for n in ("W", "b") if isinstance(getattr(type(layer), n, None), property)]
    if letters:
        return [(n, getattr(layer, n)) for n in letters]
    return [("W", layer.params)] if layer.n_params else []


def _param_text(name: str, A: np.ndarray, decimals: int, indent: str) -> list[str]:
    if A.size <= MAX_SHOWN_ENTRIES:
        return _block(name, A, decimals, indent)
    return [f"{indent}{name} ∈ {fmt_shape(*A.shape)} ({A.size} entries, values not shown)"]


def _param_latex(name: str, A: np.ndarray, decimals: int) -> str:
    if A.size <= MAX_SHOWN_ENTRIES:
        return f"{name} = {matrix_to_latex(A, decimals)} \\in {space_latex(A.shape)}"
    return f"{name} \\in {space_latex(A.shape)}"


def _sub(name: str, j: int | None, latex: bool = False) -> str:
    """W → W_j for layer j of a network; a layer on its own keeps the bare letter."""
    if j is None:
        return name
    return f"{name}_{{{j}}}" if latex else f"{name}_{j}"


def _layer_lines(layer, decimals: int, j: int | None, indent: str) -> list[str]:
    f = "f" if j is None else f"f_{{W_{j}}}"
    params = _named_params(layer)
    shapes = (", ".join(f"{_sub(n, j)} ∈ {fmt_shape(*A.shape)}" for n, A in params)
              or "no parameters")
    out = [f"{indent}{f}(z) = {layer.formula}   ({type(layer).__name__}; {shapes})"]
    for n, A in params:
        out += _param_text(_sub(n, j), A, decimals, indent + "  ")
    return out


def _layer_latex_row(layer, decimals: int, j: int | None) -> str:
    r"""``f(z) &= W z \qquad \text{Linear},\; W = [...] \in R^{h×k}``: one aligned row."""
    f = "f" if j is None else f"f_{{W_{j}}}"
    params = [_param_latex(_sub(n, j, latex=True), A, decimals) for n, A in _named_params(layer)]
    return (f"{f}(z) &= {layer.formula_latex} \\qquad \\text{{{type(layer).__name__}}}"
            + "".join(f",\\; {p}" for p in params))


def _sizes_text(net) -> str:
    k, h = net.in_size, net.out_size(None)
    return "" if k is None or h is None else f": R^{k} → R^{h}"


def layer_to_text(layer, decimals: int = 4) -> str:
    """A layer's formula and parameter shapes (values too when small); a Network layer by layer.

    Examples
    --------
    >>> from jacobian_nn import Linear
    >>> print(layer_to_text(Linear([[1.0, -3.0]]), 1))
    f(z) = W z   (Linear; W ∈ R^{1×2})
      W ∈ R^{1×2} = [1.0  -3.0]
    """
    if not hasattr(layer, "layers"):
        return "\n".join(_layer_lines(layer, decimals, None, ""))
    m = len(layer.layers)
    comp = " ∘ ".join(f"f_{{W_{j}}}" for j in range(m, 0, -1))
    out = [f"f_W = {comp}{_sizes_text(layer)}, m = {m} layers, d = {layer.n_params} parameters"]
    for j, sub in enumerate(layer.layers, 1):
        out += _layer_lines(sub, decimals, j, "  ")
    return "\n".join(out)


def layer_to_latex(layer, decimals: int = 4) -> str:
    r"""The content of ``layer_to_text`` as one LaTeX ``aligned`` block (``$$ … $$``)."""
    if not hasattr(layer, "layers"):
        rows = [_layer_latex_row(layer, decimals, None)]
    else:
        m = len(layer.layers)
        comp = r" \circ ".join(f"f_{{W_{j}}}" for j in range(m, 0, -1))
        k, h = layer.in_size, layer.out_size(None)
        dom = "" if k is None or h is None else (
            f" : \\mathbb{{R}}^{{{k}}} \\to \\mathbb{{R}}^{{{h}}}")
        rows = [f"f_W &= {comp}{dom}, \\quad d = {layer.n_params}"]
        rows += [_layer_latex_row(sub, decimals, j) for j, sub in enumerate(layer.layers, 1)]
    return "$$\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}$$"


def layer_display(layer, decimals: int = 4) -> Rendering:
    """A layer or Network as text and LaTeX (see ``layer_to_text``)."""
    return Rendering(layer_to_text(layer, decimals), layer_to_latex(layer, decimals))


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
