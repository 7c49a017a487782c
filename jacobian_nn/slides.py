r"""A ``WorkedExample`` laid out for slides: plain text, LaTeX (article or Beamer) and Markdown.

The sections and what they hold are ``jacobian_nn.sections``. Two things a slide cannot
stretch are watched for, using pdflatex widths measured in a default Beamer frame (11 pt;
``SLIDE_WIDTH`` = 307 pt of text):

* a matrix too wide for a slide gets a warning line in every format (text, LaTeX, Markdown)
  rather than silently running off the page; a line whose name and expression push it too
  wide is broken after the expression instead (LaTeX);
* with ``beamer=True`` each section is its own frame, and a section too tall for one frame
  continues on the next, titled "… (continued)".

A large matrix is shown by its corners and largest entries (``jacobian_nn.summary``) unless
``full=True``; widths and heights are those of what is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import summary
from ._validate import check_decimals
from .display import cells, matrix_to_latex, matrix_to_text, space_latex, summary_text
from .sections import LAYOUTS, SECTIONS, Line, build_sections, latex_escape

if TYPE_CHECKING:
    from .worked import WorkedExample

#: The text width of a default Beamer frame, in pt.
SLIDE_WIDTH = 307.0
_TITLES = {  # (text, LaTeX)
    "network": ("The network and the example", "The network and the example"),
    "forward": ("Forward pass", "Forward pass"),
    "loss": ("Loss", "Loss"),
    "local": ("Local Jacobians", "Local Jacobians"),
    "backward": ("Backward pass: D^(j) and the rows ∂L/∂z^(j)",
                 r"Backward pass: $D^{(j)}$ and the rows $\partial L / \partial z^{(j)}$"),
    "gradients": ("Gradients", "Gradients"),
    "update": ("Update", "Update"),
}
#: amsmath's bmatrix takes at most this many columns unless MaxMatrixCols is raised.
_AMSMATH_COLUMNS = 10
#: Widths in pt measured with pdflatex in a Beamer frame: a digit, a minus sign, a decimal
#: point, the gap between matrix columns, "∈ R^{h×k}", "by hand:", and an upper bound per
#: character of a name's plain-text form. A matrix's width is within 4 pt of the estimate.
#: A summary's ⋯ / ⋮ / ⋱ is taken as wide as two digits (an estimate, not measured).
_PT = {"digit": 5.5, "minus": 8.7, "point": 2.9, "column": 10.0, "space": 38.0,
       "by_hand": 55.0, "char": 4.5, "equals": 12.0, "dots": 11.0}
#: A frame holds about 212 pt of aligned math below its title and subtitle (we fill 205); a
#: line with r matrix rows takes about 6 + 13 r pt (19 more when broken, 6 more for a fraction
#: ∂L/∂z), one without a matrix 17, a warning about 30 (pt, measured likewise).
_FRAME_PT, _LINE_PT, _ROW_PT, _TEXT_PT, _FRAC_PT, _WARNING_PT = 205, 6, 13, 17, 6, 30
_BY_HAND = "   by hand: "


def render(ex: WorkedExample, fmt: str, decimals: int = 4, *, sections=None,
           layout: str = "lecture", split_affine: bool = True, by_hand: int | None = None,
           slide_width: float = SLIDE_WIDTH, beamer: bool = False,
           document: bool = False, full: bool = False) -> str:
    """The worked example as ``fmt`` = "text", "latex" or "markdown".

    Parameters
    ----------
    decimals : int
        Digits after the point of every computed number (given numbers use as few as show
        them exactly, up to ``decimals``).
    sections : iterable of str, optional
        Which of ``SECTIONS`` to show (always in ``SECTIONS`` order); all by default.
    layout : {"lecture", "slide"}
        "lecture": ∇_{W_j} L shaped like W_j (lecture 000). "slide": ∂L/∂W_j = (∇_{W_j} L)ᵀ,
        shaped like W_jᵀ, as lecture 002 writes it.
    split_affine : bool
        Show an Affine layer's W and b separately (default), or as the packed [W | b].
    by_hand : int, optional
        Also show each computed number as ``ex.by_hand(by_hand)`` gives it, beside the exact one.
    slide_width : float
        The text width, in pt, that a matrix must fit (a default Beamer frame's by default).
    beamer, document : bool
        LaTeX only: one Beamer frame per section; a complete document that pdflatex compiles.
    full : bool
        Write every entry of a large matrix instead of its corners and largest entries.
    """
    decimals = check_decimals(decimals)
    keys = _sections(sections)
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}.")
    if fmt not in ("text", "latex", "markdown"):
        raise ValueError(f"format must be 'text', 'latex' or 'markdown', got {fmt!r}.")
    if fmt != "latex" and (beamer or document):
        raise ValueError("beamer= and document= are options of to_latex only.")
    if isinstance(slide_width, bool) or not isinstance(slide_width, int | float) or not (
            slide_width > 0):
        raise ValueError(f"slide_width must be a positive number of pt, got {slide_width!r}.")
    bh = None if by_hand is None else ex.by_hand(check_decimals(by_hand, "by_hand"))
    built = [(key, _Fit(lines, decimals, slide_width, bool(full)))
             for key, lines in build_sections(ex, keys, layout, split_affine, bh)]
    if fmt == "text":
        return _to_text(ex, built)
    if fmt == "markdown":
        return _to_markdown(ex, built)
    return _to_latex(ex, built, beamer, document)


def _sections(sections) -> list[str]:
    if sections is None:
        return list(SECTIONS)
    asked = [sections] if isinstance(sections, str) else list(sections)
    unknown = [s for s in asked if s not in SECTIONS]
    if unknown or not asked:
        raise ValueError(f"sections must be some of {SECTIONS}, got {sections!r}.")
    return [s for s in SECTIONS if s in asked]


# -- numbers and their widths -------------------------------------------------------------------
def _given_decimals(A: np.ndarray, decimals: int) -> int:
    """As few decimals as show the given numbers A exactly, at most ``decimals``."""
    for g in range(decimals + 1):
        if np.array_equal(np.round(A, g), A):
            return g
    return decimals


def _cell_pt(s: str) -> float:
    if s in (summary.HDOTS, summary.VDOTS, summary.DDOTS):
        return _PT["dots"]
    return (_PT["digit"] * sum(c.isdigit() for c in s) + _PT["minus"] * s.count("-")
            + _PT["point"] * s.count("."))


def _matrix_pt(A: np.ndarray, decimals: int, full: bool) -> float:
    """The width of ``matrix_to_latex(A, decimals, full)`` in a Beamer frame, estimated."""
    A = np.atleast_2d(A) if A.ndim != 1 else A[:, None]
    shown = cells(A, decimals, full)
    w = sum(max(_cell_pt(r[c]) for r in shown) for c in range(len(shown[0])))
    note = _PT["char"] * len(summary_text(A, decimals)) if summary.summarised(A, full) else 0.0
    return w + _PT["column"] * len(shown[0]) + note


def _name_pt(text: str) -> float:
    return _PT["char"] * len(text.replace("{", "").replace("}", "")) if text else 0.0


class _Fit:
    """A section's lines with their digits, and what does not fit on a slide."""

    def __init__(self, lines: list[Line], decimals: int, slide_width: float, full: bool):
        self.lines, self.decimals, self.slide_width, self.full = lines, decimals, slide_width, full
        # align* lines up the "=" signs: every value starts after the widest name.
        self.name_column = max([_name_pt(line.name_text) for line in lines] or [0.0])

    def digits(self, line: Line) -> int:
        return _given_decimals(line.shown(), self.decimals) if line.given else self.decimals

    def value_pt(self, line: Line) -> float:
        if line.value is None:
            return 0.0
        A = line.shown()
        w = _matrix_pt(A, self.digits(line), self.full) + (_PT["space"] if A.ndim else 0.0)
        if line.by_hand is not None:
            w += _PT["by_hand"] + _matrix_pt(line.shown("by_hand"), self.decimals, self.full)
        return w

    def breaks(self, line: Line) -> bool:
        """Whether LaTeX puts the value on a row of its own, under ``name = expr``."""
        return bool(line.expr and line.value is not None) and (
            self.name_column + _name_pt(line.expr_text) + 2 * _PT["equals"]
            + self.value_pt(line) > self.slide_width)

    def warning(self, line: Line, fmt: str) -> str | None:
        """The line's warning in ``fmt`` if its matrix is too wide for a slide, else None."""
        w = self.name_column + _PT["equals"] + self.value_pt(line)
        if line.value is None or w <= self.slide_width:
            return None
        h, k = (line.shown().shape + (1, 1))[:2]
        detail = (f"about {w:.0f} pt at {self.decimals} decimals; a slide has "
                  f"{self.slide_width:g} pt")
        if fmt == "text":
            return f"! too wide for a slide: {line.name_text} ({h}×{k}) is {detail}."
        if fmt == "markdown":
            return f"> **Too wide for a slide:** ${line.name}$ ({h}×{k}) is {detail}."
        return (f"\\par\\noindent\\textbf{{Too wide for a slide:}} ${line.name}$ "
                f"(${h} \\times {k}$) is {latex_escape(detail)}.")

    def columns(self) -> int:
        return max([self.written(line.shown())[1] for line in self.lines
                    if line.value is not None and line.shown().ndim == 2] or [1])

    def written(self, A: np.ndarray) -> tuple[int, int]:
        """(rows, columns) of A as written: its corners when it is summarised."""
        if A.ndim == 0:
            return 1, 1
        shown = cells(A[:, None] if A.ndim == 1 else A, 0, self.full)
        return len(shown), len(shown[0])


# -- plain text ---------------------------------------------------------------------------------
def _text_block(A: np.ndarray, decimals: int, full: bool) -> list[str]:
    return matrix_to_text(A, decimals, full).split("\n")


def _space_text(shape: tuple[int, ...]) -> str:
    return f"R^{shape[0]}" if len(shape) == 1 else "R^{" + "×".join(map(str, shape)) + "}"


def _text_line(line: Line, fit: _Fit) -> list[str]:
    head = line.name_text + (f" = {line.expr_text}" if line.expr_text else "")
    if line.value is None:
        return [head]
    A = line.shown()
    left = _text_block(A, fit.digits(line), fit.full)
    if A.ndim:
        head += f" ∈ {_space_text(A.shape)}"
    if line.by_hand is not None:
        right = _text_block(line.shown("by_hand"), fit.decimals, fit.full)
        w = max(map(len, left))
        left = [a.ljust(w) + (_BY_HAND if i == 0 else " " * len(_BY_HAND)) + b
                for i, (a, b) in enumerate(zip(left, right, strict=True))]
    if len(left) == 1:
        return [f"{head} = {left[0]}".rstrip()]
    return [head + " ="] + ["    " + s.rstrip() for s in left]


def _to_text(ex: WorkedExample, built) -> str:
    out = [ex.title, ""] if ex.title else []
    for key, fit in built:
        out.append(_TITLES[key][0])
        for line in fit.lines:
            if w := fit.warning(line, "text"):
                out.append(f"  {w}")
            out += ["  " + s for s in _text_line(line, fit)]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


# -- LaTeX and Markdown -------------------------------------------------------------------------
def _latex_line(line: Line, fit: _Fit) -> str:
    s = line.name + " &= " + line.expr
    if line.value is None:
        return s
    A = line.shown()
    if fit.breaks(line):
        s += " \\\\\n    &= "
    elif line.expr:
        s += " = "
    s += matrix_to_latex(A, fit.digits(line), fit.full)
    if A.ndim:
        s += r" \in " + space_latex(A.shape)
    if line.by_hand is not None:
        s += r" \quad \text{by hand: } " + matrix_to_latex(line.shown("by_hand"), fit.decimals,
                                                            fit.full)
    return s


def _aligned(lines: list[Line], fit: _Fit, env: str) -> str:
    body = " \\\\\n".join(_latex_line(line, fit) for line in lines)
    return f"\\begin{{{env}}}\n{body}\n\\end{{{env}}}"


def _latex_body(lines: list[Line], fit: _Fit) -> str:
    warnings = "".join("\n" + w for line in lines if (w := fit.warning(line, "latex")))
    return _aligned(lines, fit, "align*") + warnings


def _height(line: Line, fit: _Fit) -> float:
    A = None if line.value is None else line.shown()
    if A is None or not A.ndim:
        return _TEXT_PT
    return (_LINE_PT + _ROW_PT * fit.written(A)[0]
            + (_LINE_PT + _ROW_PT if fit.breaks(line) else 0)
            + (_FRAC_PT if r"\frac" in line.name else 0)
            + (_WARNING_PT if fit.warning(line, "latex") else 0))


def _frames(fit: _Fit) -> list[list[Line]]:
    """The section's lines in runs that each fit on one Beamer frame."""
    frames, used = [[]], 0.0
    for line in fit.lines:
        h = _height(line, fit)
        if frames[-1] and used + h > _FRAME_PT:
            frames.append([])
            used = 0.0
        frames[-1].append(line)
        used += h
    return frames


def _to_latex(ex: WorkedExample, built, beamer: bool, document: bool) -> str:
    cols = max(fit.columns() for _, fit in built)
    blocks = [] if document or cols <= _AMSMATH_COLUMNS else [
        f"\\setcounter{{MaxMatrixCols}}{{{cols}}}"]
    if ex.title and not beamer:
        blocks.append(f"\\section*{{{latex_escape(ex.title)}}}")
    sub = f"\n\\framesubtitle{{{latex_escape(ex.title)}}}" if ex.title else ""
    for key, fit in built:
        title = _TITLES[key][1]
        if not beamer:
            blocks.append(f"\\subsection*{{{title}}}\n{_latex_body(fit.lines, fit)}")
            continue
        for i, lines in enumerate(_frames(fit)):
            more = " (continued)" if i else ""
            blocks.append(f"\\begin{{frame}}\n\\frametitle{{{title}{more}}}{sub}\n"
                          f"{_latex_body(lines, fit)}\n\\end{{frame}}")
    if document:
        return latex_document(blocks, beamer, cols)
    return "\n\n".join(blocks) + "\n"


def latex_document(blocks: list[str], beamer: bool, columns: int = _AMSMATH_COLUMNS) -> str:
    """A complete pdflatex document around ``blocks`` (article, or Beamer frames)."""
    cls = "beamer" if beamer else "article"
    return "\n".join([
        f"\\documentclass{{{cls}}}",
        "\\usepackage{amsmath,amssymb}",
        f"\\setcounter{{MaxMatrixCols}}{{{max(columns, _AMSMATH_COLUMNS)}}}",
        "\\begin{document}",
        "",
        "\n\n".join(blocks),
        "",
        "\\end{document}",
        "",
    ])


def _to_markdown(ex: WorkedExample, built) -> str:
    out = [f"# {ex.title}", ""] if ex.title else []
    for key, fit in built:
        out += [f"## {_TITLES[key][1]}", "", "$$", _aligned(fit.lines, fit, "aligned"), "$$", ""]
        out += [w + "\n" for line in fit.lines if (w := fit.warning(line, "markdown"))]
    return "\n".join(out).rstrip() + "\n"
