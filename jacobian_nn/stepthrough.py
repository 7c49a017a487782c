"""Step through a trace one lecture formula at a time, checking your own answer at each step.

``Steps(trace)`` is the plain, testable object: the forward pass j = 1 … m, then the backward
pass j = m … 0, each step with lecture 000's formula filled in with this trace's numbers (e.g.
D^(1) = D^(2) · D_z f_{W_2}(z^(1)) with the three matrices and their shapes), ``next()`` /
``previous()`` / ``current``, and ``check(answer)`` delegating to ``handcheck.check``.
``step_through(trace)`` is a thin ipywidgets view on it (the ``[notebooks]`` extra); where
widgets cannot be shown (nbconvert, GitHub) it displays the whole walk-through as LaTeX/text.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass

import numpy as np

from .display import matrix_to_latex, matrix_to_text
from .handcheck import HandCheckReport, check
from .layers import Affine, Linear
from .quantities import formula


@dataclass(frozen=True, repr=False)
class Step:
    """One step: where it is, what can be checked there, and its formula with the numbers."""

    index: int  #: position in the walk-through, from 0
    kind: str  #: "forward" or "backward"
    j: int
    title: str
    quantities: tuple[str, ...]  #: what ``check`` accepts at this step, the main one first
    text: str
    latex: str  #: rows of a LaTeX ``aligned`` block (no ``$$``)

    def _repr_latex_(self) -> str:
        return "$$\\begin{aligned}\n" + self.latex + "\n\\end{aligned}$$"

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


def _shape(A: np.ndarray) -> str:
    return r" \times ".join(map(str, A.shape)) if A.ndim else "1"


def _tex(A, decimals: int, braced: bool = False) -> str:
    """A matrix as LaTeX; ``braced`` puts its shape under it, as the lecture's size checks do."""
    A = np.asarray(A, dtype=np.float64)
    body = matrix_to_latex(A, decimals)
    return rf"\underbrace{{{body}}}_{{{_shape(A)}}}" if braced else body


def _row(a: np.ndarray) -> np.ndarray:
    """∂L/∂z^(j) as the lecture writes it: a row."""
    return np.asarray(a)[None, :]


def _in(A) -> str:
    A = np.asarray(A)
    return r" \in \mathbb{R}^{" + _shape(A) + "}" if A.ndim else ""


def _line(name: str, A, decimals: int) -> list[str]:
    """``name ∈ R^{h×k} =`` and the matrix, for the text form."""
    A = np.asarray(A, dtype=np.float64)
    shape = "" if A.ndim == 0 else " ∈ R^{" + "×".join(map(str, A.shape)) + "}"
    body = matrix_to_text(A, decimals).split("\n")
    if len(body) == 1:
        return [f"  {name}{shape} = {body[0]}"]
    return [f"  {name}{shape} ="] + ["      " + b for b in body]


class Steps:
    """The lecture's steps of one backpropagation, with a cursor.

    Parameters
    ----------
    trace : Trace
        From ``network.backprop(x, y, loss)``.
    decimals : int
        Digits after the point in the rendered matrices.

    Examples
    --------
    >>> import jacobian_nn as jnn
    >>> steps = Steps(jnn.examples.tanh_worked_example().trace())
    >>> len(steps), steps.current.title
    (7, 'Forward pass, j = 1 of 3: layer 1 (Linear)')
    >>> steps.go(4).quantities
    ('D(2)', 'local_D_z(3)', 'dL_dz(2)')
    >>> bool(steps.check(["1", "-1"]))       # D^(2) = D_z f_{W_3}(z^(2)) = W_3
    True
    """

    def __init__(self, trace, decimals: int = 4):
        self.trace, self.decimals = trace, decimals
        m = trace.m
        self._plan = ([("forward", j) for j in range(1, m + 1)]
                      + [("backward", j) for j in range(m, -1, -1)])
        self.index = 0
        self._built: dict[int, Step] = {}

    def __len__(self) -> int:
        return len(self._plan)

    def __getitem__(self, i: int) -> Step:
        if isinstance(i, bool) or not isinstance(i, int | np.integer) or not 0 <= i < len(self):
            raise IndexError(f"a step index is 0..{len(self) - 1}, got {i!r}.")
        i = int(i)
        if i not in self._built:
            kind, j = self._plan[i]
            build = self._forward if kind == "forward" else self._backward
            self._built[i] = build(i, j)
        return self._built[i]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    @property
    def current(self) -> Step:
        return self[self.index]

    @property
    def at_start(self) -> bool:
        return self.index == 0

    @property
    def at_end(self) -> bool:
        return self.index == len(self) - 1

    def go(self, i: int) -> Step:
        """Move to step ``i`` (from 0) and return it."""
        step = self[i]
        self.index = step.index
        return step

    def next(self) -> Step:
        """Move one step on (the last step stays put) and return the current step."""
        return self.go(min(self.index + 1, len(self) - 1))

    def previous(self) -> Step:
        """Move one step back (the first step stays put) and return the current step."""
        return self.go(max(self.index - 1, 0))

    def check(self, answer, quantity: str | None = None, layout: str = "lecture",
              decimals: int | None = None) -> HandCheckReport:
        """``handcheck.check`` of ``answer`` against this step's main quantity (or ``quantity``).

        ``decimals`` here is the places kept in an answer given as numbers, as in ``check``.
        """
        q = self.current.quantities[0] if quantity is None else quantity
        return check(self.trace, q, answer, layout=layout, decimals=decimals)

    def to_text(self) -> str:
        """Every step, one after the other, as plain text."""
        return "\n\n".join(step.text for step in self)

    def to_latex(self) -> str:
        """Every step as one LaTeX ``aligned`` block, each headed by its title."""
        rows = []
        for step in self:
            rows.append(rf"&\textbf{{{step.kind.capitalize()} pass}}, \quad j = {step.j}")
            rows.append(step.latex)
        return "$$\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}$$"

    def __repr__(self) -> str:
        return f"<Steps: step {self.index + 1} of {len(self)}, {self.current.title}>"

    # -- building one step ---------------------------------------------------------------------
    def _forward(self, i: int, j: int) -> Step:
        tr, dec, m = self.trace, self.decimals, self.trace.m
        layer = tr.network.layers[j - 1]
        name = type(layer).__name__
        z_in, z_out = tr.z(j - 1), tr.z(j)
        head = formula(tr, f"z({j})", latex=True).replace(" = ", " &= ", 1)
        tex = [head + rf", \quad f_{{W_{{{j}}}}}(z) = {layer.formula_latex}"]
        text = [f"{formula(tr, f'z({j})')}, with f_{{W_{j}}}(z) = {layer.formula}"]
        if isinstance(layer, Linear | Affine):
            plus = rf" + {_tex(layer.b, dec, True)}" if isinstance(layer, Affine) else ""
            tex.append(rf"&= {_tex(layer.W, dec, True)} {_tex(z_in, dec, True)}{plus} = "
                       rf"{_tex(z_out, dec)}{_in(z_out)}")
            text += _line(f"W_{j}", layer.W, dec)
            if isinstance(layer, Affine):
                text += _line(f"b_{j}", layer.b, dec)
        else:
            tex.append(rf"&= f_{{W_{{{j}}}}}\left({_tex(z_in, dec)}\right) = "
                       rf"{_tex(z_out, dec)}{_in(z_out)}")
        text += _line(f"z^({j - 1})", z_in, dec) + _line(f"z^({j})", z_out, dec)
        quantities = (f"z({j})",)
        if j == m:
            loss = formula(tr, "loss", latex=True).replace(" = ", " &= ", 1)
            tex.append(rf"{loss} = {tr.loss:.{dec}f}, \quad y = {_tex(tr.y, dec)}")
            text += _line("y", tr.y, dec) + [f"  {formula(tr, 'loss')} = {tr.loss:.{dec}f}"]
            quantities += ("loss",)
        title = f"Forward pass, j = {j} of {m}: layer {j} ({name})"
        return Step(i, "forward", j, title, quantities, "\n".join([title] + text),
                    " \\\\\n".join(tex))

    def _backward(self, i: int, j: int) -> Step:
        tr, dec, m = self.trace, self.decimals, self.trace.m
        D, row = tr.D(j), tr.dL_dz(j)
        if j == m:
            tex = [rf"D^{{({m})}} &= I{_in(D)}",
                   formula(tr, f"dL_dz({m})", latex=True).replace(" = ", " &= ", 1)
                   + rf" = {_tex(_row(row), dec)}"]
            text = [f"{formula(tr, f'D({m})')} and {formula(tr, f'dL_dz({m})')}, "
                    f"for L(ŷ, y) = {tr.loss_fn.formula}"]
            text += _line(f"D^({m})", D, dec) + _line(f"∂L/∂z^({m})", _row(row), dec)
            quantities = (f"D({m})", f"dL_dz({m})")
        else:
            J = tr.local_D_z(j + 1)
            tex = [formula(tr, f"D({j})", latex=True).replace(" = ", " &= ", 1),
                   rf"&= {_tex(tr.D(j + 1), dec, True)} {_tex(J, dec, True)} = "
                   rf"{_tex(D, dec)}{_in(D)}",
                   formula(tr, f"dL_dz({j})", latex=True).replace(" = ", " &= ", 1),
                   rf"&= {_tex(_row(tr.dL_dz(j + 1)), dec, True)} {_tex(J, dec, True)} = "
                   rf"{_tex(_row(row), dec)}"]
            text = [formula(tr, f"D({j})"), formula(tr, f"dL_dz({j})")]
            text += (_line(f"D^({j + 1})", tr.D(j + 1), dec)
                     + _line(f"D_z f_{{W_{j + 1}}}(z^({j}))", J, dec)
                     + _line(f"D^({j})", D, dec)
                     + _line(f"∂L/∂z^({j})", _row(row), dec))
            quantities = (f"D({j})", f"local_D_z({j + 1})", f"dL_dz({j})")
        if j >= 1 and tr.network.layers[j - 1].n_params:
            JW, DW, grad = tr.local_D_W(j), tr.D_W(j), tr.grad(j)
            tex += [formula(tr, f"D_W({j})", latex=True).replace(" = ", " &= ", 1)
                    + rf" = {_tex(D, dec, True)} {_tex(JW, dec, True)} = {_tex(DW, dec)}",
                    rf"\nabla_{{W_{{{j}}}}} L^\top &= \nabla_{{\hat y}} L^\top D_{{W_{{{j}}}}} "
                    rf"f_W(x) = {_tex(_row(tr.grad_yhat), dec, True)} {_tex(DW, dec, True)}, "
                    rf"\quad \nabla_{{W_{{{j}}}}} L = {_tex(grad, dec)}{_in(grad)}"]
            text += [f"  {formula(tr, f'D_W({j})')}", f"  {formula(tr, f'grad({j})')}"]
            text += (_line(f"D_{{W_{j}}} f_{{W_{j}}}(z^({j - 1}))", JW, dec)
                     + _line(f"D_{{W_{j}}} f_W(x)", DW, dec)
                     + _line(f"∇_{{W_{j}}} L (shaped like W_{j})", grad, dec))
            quantities += (f"local_D_W({j})", f"D_W({j})", f"grad({j})")
        title = f"Backward pass, j = {j}: D^({j})" + (" and ∇_{W_" + str(j) + "} L"
                                                     if f"grad({j})" in quantities else "")
        return Step(i, "backward", j, title, quantities, "\n".join([title] + text),
                    " \\\\\n".join(tex))


# -- the Jupyter view --------------------------------------------------------------------------
def step_through(trace, decimals: int = 4):
    """An ipywidgets view of ``Steps(trace, decimals)``: Previous/Next, the step's formula with
    its numbers, and a box to type your answer and check it.

    Where widgets are not shown (nbconvert, GitHub) the output falls back to the whole
    walk-through as LaTeX and text. Needs the ``[notebooks]`` extra (ipywidgets).
    """
    try:
        import ipywidgets
    except ImportError as err:
        raise ImportError("step_through needs ipywidgets, which comes with the notebooks extra: "
                          "pip install \"jacobian_nn[notebooks]\" (or pip install ipywidgets)."
                          ) from err
    return _view_class(ipywidgets)(Steps(trace, decimals))


@functools.cache
def _view_class(widgets):
    """The widget class, made once ipywidgets is imported (the package does not need it)."""

    class StepThrough(widgets.VBox):
        """Buttons and boxes around a ``Steps``; every action goes through ``self.steps``."""

        def __init__(self, steps: Steps):
            self.steps = steps
            self.formula_view = widgets.HTMLMath()
            self.where = widgets.Label()
            self.previous_button = widgets.Button(description="Previous", icon="arrow-left")
            self.next_button = widgets.Button(description="Next", icon="arrow-right")
            self.quantity_choice = widgets.Dropdown(description="check")
            self.answer_box = widgets.Text(placeholder="your answer, e.g. -0.1187 0.1711")
            self.check_button = widgets.Button(description="Check")
            self.verdict = widgets.HTML()
            self.previous_button.on_click(lambda _: self._show(steps.previous()))
            self.next_button.on_click(lambda _: self._show(steps.next()))
            self.check_button.on_click(lambda _: self.check())
            super().__init__([
                widgets.HBox([self.previous_button, self.next_button, self.where]),
                self.formula_view,
                widgets.HBox([self.quantity_choice, self.answer_box, self.check_button]),
                self.verdict,
            ])
            self._show(steps.current)

        def _show(self, step: Step) -> None:
            self.where.value = f"step {step.index + 1} of {len(self.steps)}"
            self.formula_view.value = (f"<b>{html.escape(step.title)}</b><br>"
                                       + step._repr_latex_())
            self.quantity_choice.options = step.quantities
            self.quantity_choice.value = step.quantities[0]
            self.previous_button.disabled = self.steps.at_start
            self.next_button.disabled = self.steps.at_end
            self.answer_box.value = ""
            self.verdict.value = ""

        def check(self) -> HandCheckReport | None:
            """Check what is typed in the box against the chosen quantity; show the verdict."""
            try:
                report = self.steps.check(self.answer_box.value, self.quantity_choice.value)
            except (ValueError, TypeError) as err:
                self.verdict.value = f"<span style=\"color:red\">{html.escape(str(err))}</span>"
                return None
            self.verdict.value = report._repr_html_()
            return report

        def _repr_mimebundle_(self, **kwargs):
            data = super()._repr_mimebundle_(**kwargs) or {}
            data["text/plain"] = self.steps.to_text()
            data["text/latex"] = self.steps.to_latex()
            return data

    return StepThrough
