"""Matrices under their lecture names, as plain text (terminal) and LaTeX (Jupyter).

Nothing here imports a notebook package: the LaTeX is a string that Jupyter typesets.
"""

from __future__ import annotations

import numpy as np


def _fmt(v: float, decimals: int) -> str:
    s = f"{v:.{decimals}f}"
    return "0." + "0" * decimals if s.startswith("-") and float(s) == 0 else s  # no "-0.00"


def matrix_to_text(A, decimals: int = 4) -> str:
    """A vector as ``[a  b  c]``, a matrix as a bracketed block of right-aligned columns.

    Examples
    --------
    >>> print(matrix_to_text(np.array([[1.0, -3.0], [0.2, 1.0]]), 1))
    ⎡1.0  -3.0⎤
    ⎣0.2   1.0⎦
    """
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
    A = np.asarray(A, dtype=np.float64)
    if A.ndim == 0:
        return _fmt(float(A), decimals)
    if A.ndim == 1:
        A = A[:, None]
    if A.size == 0:
        return r"\text{(empty, shape } " + f"{A.shape[0]}" + r" \times 0\text{)}"
    rows = [" & ".join(_fmt(v, decimals) for v in row) for row in A]
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"


def space(shape: tuple[int, ...]) -> str:
    """``R^2`` for shape (2,), ``R^{2×4}`` for shape (2, 4)."""
    return f"R^{shape[0]}" if len(shape) == 1 else "R^{" + "×".join(map(str, shape)) + "}"


def space_latex(shape: tuple[int, ...]) -> str:
    inner = r" \times ".join(map(str, shape))
    return r"\mathbb{R}^{" + inner + "}"


def _block(name: str, A: np.ndarray, decimals: int, indent: str = "  ") -> list[str]:
    """``name ∈ R^{h×k} =`` followed by the matrix, indented."""
    A = np.asarray(A)
    head = f"{indent}{name} ∈ {space(A.shape)}"
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
