"""Check a hand calculation against a trace, entry by entry, and name the slip.

A student doing lecture 000's backpropagation by hand writes down z^(j), the local Jacobians,
D^(j), the rows ∂L/∂z^(j) = ∇_ŷLᵀ D^(j), D_{W_j} f_W(x) and ∇_{W_j} L. ``check`` compares one
such answer with the trace at the precision it is written in. When it is wrong, the usual
slips are tried one by one in this order — each recomputed from the trace's own numbers by
``slips.py``, never guessed from the pattern — and the first that reproduces the answer is
named (docs/checking.md has the details):

* ``"transposed"`` – the matrix is the transpose of the right one (or Wᵀ z^(j-1) for W z^(j-1));
* ``"sign"`` – every entry has the opposite sign;
* ``"reversed_order"`` – a product of the chain taken in reverse, D_z f_{W_{i+1}}(z^(i)) · D^(i+1)
  instead of D^(i+1) · D_z f_{W_{i+1}}(z^(i)) (a row ∂L/∂z read as a column);
* ``"derivative_at_output"`` – φ' of an element-wise layer taken at its output z^(i) instead
  of its input z^(i-1), and carried through the products after it;
* ``"scaled"`` – a constant factor c ≠ 1 (2 from ‖ŷ − y‖² instead of ½‖ŷ − y‖², 1/n, …);
* ``"rounding"`` – what a person gets who keeps d = 1 … 6 decimals in every earlier step;
* ``"unknown"`` – none of these.

A slip made together with carried rounding is named by the slip. An answer that is right at
the digits it is written with is never called a slip.
"""

from __future__ import annotations

import html
import numbers
import re
from dataclasses import dataclass

import numpy as np

from .quantities import formula, parse_quantity
from .slips import Recomputed, candidates, safely

SLIPS = ("transposed", "sign", "scaled", "reversed_order", "derivative_at_output", "rounding",
         "unknown")
LAYOUTS = ("lecture", "slide")
RTOL = 1e-6  #: how close an answer given as plain numbers must be, relative to each entry
ROUNDING_DIGITS = (6, 5, 4, 3, 2, 1)  #: decimals a person may keep, tried from most to fewest

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_NICE_FACTORS = (2.0, 0.5, 4.0, 0.25)  #: the only factors a single number can be tested for

_TRANSPOSED_ADVICE = {  # the same slip, said for the quantity it was made in
    "z": "z^(j) = W_j z^(j-1) uses W_j as it is, with a row per output.",
    "grad": "∇_{W_j} L is shaped like W_j; the slide's ∂L/∂W = x_in ∂L/∂x_out is its "
            "transpose: transpose it, or pass layout=\"slide\".",
}
_ADVICE = {
    "transposed": "Rows are outputs: entry [i, a] of a Jacobian is ∂f_i/∂z_a (lecture 000's "
                  "numerator layout).",
    "sign": "Check the sign of ∇_ŷL (ŷ − y, not y − ŷ) and of every local derivative.",
    "scaled": "A constant factor is off: ½‖ŷ − y‖² has ∇_ŷL = ŷ − y, ‖ŷ − y‖² has 2(ŷ − y), "
              "and a mean over n examples divides by n.",
    "reversed_order": "The chain rule multiplies the local Jacobian on the right: "
                      "D^(j) = D^(j+1) D_z f_{W_{j+1}}(z^(j)), a row ∂L/∂z^(j+1) times the "
                      "matrix, not the matrix times a column.",
    "derivative_at_output": "φ' belongs at the layer's input: D_z f_{W_j}(z^(j-1)) = "
                            "diag(φ'(z^(j-1))). For tanh that is 1 − tanh²(z^(j-1)) = "
                            "1 − (z^(j))²: square the output, do not apply tanh to it again.",
    "rounding": "Keep more digits in the intermediate results and round only the answer.",
    "unknown": "None of the usual slips reproduces these numbers: check the earlier "
               "quantities of this step with check(...) one at a time.",
}


# -- reading the question and the answer -------------------------------------------------------
def parse_answer(text: str):
    """An answer typed as text, as nested lists of number strings (their digits kept).

    One number, a row (``"-0.1186 0.171"``, ``"[-0.1186, 0.171]"``) or a matrix with rows
    separated by ``;``, new lines or ``], [`` (``"1 -3; 0.2 1"``, ``"[[1, -3], [0.2, 1]]"``).

    Examples
    --------
    >>> parse_answer("[[1, -3], [0.2, 1]]")
    [['1', '-3'], ['0.2', '1']]
    >>> parse_answer("−0.1869  0.1869")
    ['-0.1869', '0.1869']
    """
    t = text.replace("\N{MINUS SIGN}", "-").strip()
    rows = [[c for c in re.split(r"[\s,]+", r.strip(" \t[]()")) if c]
            for r in re.split(r"\]\s*,?\s*\[|;|\n", t)]
    rows = [r for r in rows if r]
    if not rows:
        raise ValueError("the answer is empty: type its numbers, e.g. \"-0.1186 0.171\".")
    if len(rows) == 1:
        return rows[0][0] if len(rows[0]) == 1 else rows[0]
    if len({len(r) for r in rows}) != 1:
        raise ValueError(f"the rows of the answer have different lengths "
                         f"{[len(r) for r in rows]}; every row needs the same number of entries.")
    return rows


def _read_number(s: str) -> tuple[float, float]:
    """A written number and its decimal places (``"-0.1186"`` → (−0.1186, 4); ``"2e-3"`` → 3)."""
    t = s.strip().replace("\N{MINUS SIGN}", "-")
    mt = _NUMBER.match(t)
    if mt is None:
        raise ValueError(f"cannot read {s!r} as a number; write it like \"-0.1186\".")
    mantissa, exponent = mt.group(1), mt.group(2)
    places = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return float(t), float(places - (int(exponent[1:]) if exponent else 0))


def _read_answer(answer, decimals: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The answer's values and, per entry, the decimal places it is written to (NaN: a plain
    number compared to relative ``RTOL``)."""
    if isinstance(answer, str):
        answer = parse_answer(answer)
    arr = np.array(answer, dtype=object)
    values, places = np.empty(arr.shape), np.full(arr.shape, np.nan)
    for idx, v in np.ndenumerate(arr):
        if isinstance(v, str):
            values[idx], places[idx] = _read_number(v)
        elif isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_):
            values[idx] = float(v)
            places[idx] = np.nan if decimals is None else decimals
        elif isinstance(v, list | tuple | np.ndarray):
            raise ValueError("the answer is ragged: every row needs the same number of entries.")
        else:
            raise TypeError(f"answer entry {list(idx)} is {type(v).__name__}; give numbers or "
                            "strings such as \"-0.1186\".")
    return values, places


def _close(a: np.ndarray, answer: np.ndarray, places: np.ndarray, atol: float) -> np.ndarray:
    """Entry-wise: does ``a`` equal the answer at the digits each entry is written with?

    An entry written to p decimals allows half a unit of its last digit (it is a rounding of
    the value); a plain number allows RTOL relative. Written as "within" so NaN never passes.
    """
    with np.errstate(invalid="ignore"):
        half_unit = 0.5 * 10.0 ** -places * (1 + 1e-9)
    tol = np.where(np.isnan(places), RTOL * np.abs(a) + atol, half_unit)
    return np.abs(a - answer) <= tol


# -- the check ---------------------------------------------------------------------------------
def check(trace, quantity: str, answer, layout: str = "lecture",
          decimals: int | None = None) -> HandCheckReport:
    """Compare a hand-computed ``answer`` with the trace's ``quantity`` and name the slip.

    Parameters
    ----------
    trace : Trace
        From ``network.backprop(x, y, loss)``.
    quantity : str
        ``"z(j)"``, ``"D(j)"``, ``"local_D_z(j)"``, ``"local_D_W(j)"``, ``"D_W(j)"``,
        ``"grad(j)"``, ``"dL_dz(j)"`` (a number for j) or ``"loss"``. Shapes: z^(j) ∈ R^{h_j},
        D^(j) ∈ R^{h_m×h_j}, D_z f_{W_j}(z^(j-1)) ∈ R^{h_j×h_{j-1}}, D_{W_j} f_{W_j}(z^(j-1))
        ∈ R^{h_j×d_j}, D_{W_j} f_W(x) ∈ R^{h_m×d_j}, ∇_{W_j} L shaped like W_j, ∂L/∂z^(j) ∈
        R^{h_j}. A flat list is accepted for a row or a column.
    answer : number, str or nested list of them
        A string's digits give its precision (``"-0.1186"``: 4 decimals); a whole answer may
        be one string (``"1 -3; 0.2 1"``, see ``parse_answer``).
    layout : {"lecture", "slide"}
        ``"slide"`` reads ∇_{W_j} L shaped like W_jᵀ (lecture 002's ∂L/∂W = x_in ∂L/∂x_out);
        the other quantities are laid out the same in both.
    decimals : int, optional
        The decimals kept in answers given as numbers; without it, numbers must agree to
        relative 1e-6.

    Returns
    -------
    HandCheckReport
        Truthy only when the answer is right; ``.wrong`` and ``.slip`` say what is not.

    Examples
    --------
    >>> import jacobian_nn as jnn
    >>> tr = jnn.examples.tanh_worked_example().trace()
    >>> bool(check(tr, "dL_dz(1)", ["-0.1187", "0.1711"]))
    True
    >>> check(tr, "dL_dz(1)", ["-0.1186", "0.171"]).slip   # the slide's numbers
    'rounding'
    """
    if not all(hasattr(trace, a) for a in ("network", "grad_yhat", "loss_fn", "m")):
        raise TypeError(f"check needs a trace from network.backprop(x, y, loss), got "
                        f"{type(trace).__name__}.")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}.")
    if decimals is not None and (isinstance(decimals, bool) or not isinstance(decimals, int)
                                 or not 0 <= decimals <= 15):
        raise ValueError(f"decimals must be a whole number of places from 0 to 15, got "
                         f"{decimals!r}.")
    name, j = parse_quantity(trace, quantity)
    q = "loss" if name == "loss" else f"{name}({j})"
    slide = layout == "slide" and name == "grad"
    expected = np.asarray(trace.loss if name == "loss" else getattr(trace, name)(j),
                          dtype=np.float64)
    target = expected.T if slide else expected
    values, places = _read_answer(answer, decimals)
    flipped = False
    if values.shape != target.shape:
        if values.ndim != target.ndim and values.size == target.size \
                and _squeezed(values.shape) == _squeezed(target.shape):
            target = target.reshape(values.shape)  # a flat list for a row or a column
        elif values.ndim == target.ndim == 2 and values.shape == target.shape[::-1]:
            flipped = True  # the shape itself is transposed: read the answer transposed
            values, places = values.T, places.T
        else:
            raise ValueError(
                f"{q} is {formula(trace, q, layout)} ∈ {_space(target.shape)}, so the answer "
                f"needs shape {target.shape}; got shape {values.shape}.")
    lay = _layout(target.shape, slide)
    atol = 1e-12 * max(1.0, float(np.max(np.abs(target), initial=0.0)))
    ok = _close(target, values, places, atol)
    wrong = [(idx, float(target[idx]), float(values[idx]))
             for idx in np.ndindex(ok.shape) if not ok[idx]]
    passed = not flipped and bool(ok.all())
    slip = detail = None
    if flipped:
        slip, detail = "transposed", (f"your answer has shape {target.shape[::-1]}, the "
                                      f"transpose of {target.shape}")
    elif not passed:
        slip, detail = _find_slip(trace, name, j, values, places, lay, target, atol)
    return HandCheckReport(q, formula(trace, q, layout), layout, target, values, places,
                           passed, wrong, slip, detail, flipped)


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(s for s in shape if s != 1)


def _layout(shape: tuple[int, ...], slide: bool):
    """Arrange a quantity (lecture layout) like the answer: the slide's Wᵀ, the answer's shape."""
    def lay(a: np.ndarray) -> np.ndarray:
        a = a.T if slide else a
        return a.reshape(shape) if a.size == np.prod(shape) else a
    return lay


def _find_slip(tr, name, j, values, places, lay, target, atol) -> tuple[str, str]:
    """The first slip whose numbers reproduce the answer, and what it is for these numbers."""
    def matches(value: np.ndarray) -> bool:
        a = lay(value)
        return a.shape == values.shape and bool(_close(a, values, places, atol).all())

    def explains(compute) -> bool:  # a "slip" that changes nothing explains nothing
        value = safely(compute)
        return value is not None and matches(value) \
            and not _close(lay(value), target, places, atol).all()

    shared: dict = {}

    if np.isnan(places).all():  # plain numbers: perhaps the right ones, rounded at the end
        for p in range(1, 11):
            if np.all(np.abs(values - np.round(target, p)) <= 1e-9 * 10.0 ** -p):
                return "rounding", (f"your numbers are the right ones rounded to {p} decimals; "
                                    f"say so with decimals={p}")
    for slip, what, compute in candidates(tr, name, j, None, shared):
        if explains(compute):
            return slip, what
    c = _factor(target, values, places, atol)
    if c is not None:
        return "scaled", f"your answer is {c:.4g} × the right one"
    for d in ROUNDING_DIGITS:
        value = safely(lambda d=d: Recomputed(tr, d, shared=shared).get(name, j))
        if value is not None and matches(value):
            return "rounding", (f"keeping {d} decimals of every earlier quantity gives your "
                                f"numbers; the exact values differ at the digits you wrote")
    for d in ROUNDING_DIGITS[:-1]:
        kept = f" (with {d} decimals kept in the earlier steps)"
        for slip, what, compute in candidates(tr, name, j, d, shared):
            if explains(compute):
                return slip, what + kept
        value = safely(lambda d=d: Recomputed(tr, d, shared=shared).get(name, j))
        c = None if value is None else _factor(lay(value), values, places, atol)
        if c is not None:
            return "scaled", f"your answer is {c:.4g} × the right one" + kept
    return "unknown", "no single usual slip gives these numbers"


def _factor(target, values, places, atol) -> float | None:
    """A constant c (not 1, not −1: that is the sign) with values = c · target at the answer's
    digits. A single number can only be tested for the factors 2, ½, 4, ¼ (any c fits it);
    two or more entries that carry at least two digits each may reveal any c."""
    half_unit = np.where(np.isnan(places), atol, 0.5 * 10.0 ** -np.nan_to_num(places))
    big = np.abs(target) > 20 * half_unit
    trial = list(_NICE_FACTORS)
    if big.sum() >= 2:
        trial.append(float(values[big] @ target[big] / (target[big] @ target[big])))
    for c in trial:
        if abs(c - 1) >= 0.05 and abs(c + 1) >= 0.05 and abs(c) >= 1e-3 \
                and _close(c * target, values, places, atol).all() \
                and not _close(target, values, places, atol).all():
            return c
    return None


def _space(shape: tuple[int, ...]) -> str:
    return "R" if not shape else "R^" + (str(shape[0]) if len(shape) == 1
                                         else "{" + "×".join(map(str, shape)) + "}")


# -- the report --------------------------------------------------------------------------------
@dataclass(eq=False)
class HandCheckReport:
    """The outcome of ``check``: truthy only when the answer is right.

    ``expected`` and ``answer`` are laid out like the answer (Wᵀ for layout="slide"; read
    transposed when the answer's shape was the transpose); ``wrong`` lists (index, expected,
    got) in that layout; ``slip`` is None when right, else one of ``SLIPS``.
    """

    quantity: str
    formula: str
    layout: str
    expected: np.ndarray
    answer: np.ndarray
    places: np.ndarray  #: decimals each entry is written to (NaN: compared to relative 1e-6)
    passed: bool
    wrong: list
    slip: str | None
    detail: str | None  #: what the slip is, for these numbers
    transposed_shape: bool = False  #: the answer's shape was the transpose of the right one

    def __bool__(self) -> bool:
        return self.passed

    @property
    def advice(self) -> str | None:
        """How to fix the slip, in the lecture's terms."""
        if self.slip == "transposed":
            return _TRANSPOSED_ADVICE.get(self.quantity.split("(")[0], _ADVICE["transposed"])
        return None if self.slip is None else _ADVICE[self.slip]

    def _at_places(self, idx) -> str:
        """The expected entry at the digits the answer's entry is written to, and exactly."""
        v, p = float(self.expected[idx]), float(self.places[idx])
        exact = f"{v:.7g}"
        if np.isnan(p) or p < 0:
            return exact
        shown = f"{v:.{int(p)}f}"
        return shown if shown == exact else f"{shown} (exactly {exact})"

    def _head(self) -> str:
        n = self.expected.size
        entries = f"{n} {'entry' if n == 1 else 'entries'}"
        if self.passed:
            return f"PASSED ({entries} at the digits you wrote)"
        if self.transposed_shape:
            more = f", and read transposed {len(self.wrong)} of {entries} are wrong" \
                if self.wrong else ", every entry right when read transposed"
            return f"FAILED (written transposed{more})"
        return f"FAILED ({len(self.wrong)} of {entries} wrong)"

    def _rows(self) -> list[tuple[str, str, str]]:
        return [(str(list(idx)) if idx else "", self._at_places(idx), f"{got:.10g}")
                for idx, _, got in self.wrong]

    def __str__(self) -> str:
        lines = [f"Check of {self.formula} ({self.quantity}): {self._head()}"]
        rows = self._rows()
        lines += [f"  {i + ': ' if i else ''}right {e}, yours {g}" for i, e, g in rows[:10]]
        if len(rows) > 10:
            lines.append(f"  … and {len(rows) - 10} more wrong entries (see .wrong)")
        if self.slip is not None:
            lines.append(f"  slip: {self.slip} — {self.detail}.")
            lines.append(f"  fix: {self.advice}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = "green" if self.passed else "red"
        out = [f"<p><b>Check of {html.escape(self.formula)} "
               f"(<code>{html.escape(self.quantity)}</code>): <span style=\"color:{colour}\">"
               f"{html.escape(self._head())}</span></b></p>"]
        rows = self._rows()
        if rows:
            out.append("<table><tr><th>entry</th><th>right</th><th>yours</th></tr>"
                       + "".join(f"<tr><td>{html.escape(i)}</td><td>{html.escape(e)}</td>"
                                 f"<td>{html.escape(g)}</td></tr>" for i, e, g in rows[:10])
                       + "</table>")
        if self.slip is not None:
            out.append(f"<p><b>Slip: <span style=\"color:{colour}\">{self.slip}</span></b> — "
                       f"{html.escape(self.detail)}.<br>Fix: {html.escape(self.advice)}</p>")
        return "".join(out)
