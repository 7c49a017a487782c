"""Audit the numbers a slide prints for a worked example: exact, carried rounding or erratum.

``ex.audit(printed, layout)`` reads ``printed`` = {quantity: the printed entries as strings}
(quantities as ``Trace.check`` names them — ``"z(j)"``, ``"D(j)"``, ``"local_D_z(j)"``,
``"local_D_W(j)"``, ``"D_W(j)"``, ``"grad(j)"``, ``"dL_dz(j)"``, ``"loss"`` — plus
``"W_new(j)"``, the weights after the update). A printed string's digits after the point are
its precision p, and each entry gets one verdict:

* ``"exact"``: it equals the exact value rounded to p places;
* ``"carried_rounding"``: it does not, but it equals, at p places, what ``ex.by_hand(d)``
  gives for some d in 2..6 — the value a person gets who carried d places from the earlier
  steps. That is rounding, not a mistake;
* ``"erratum"``: neither.

"Equals at p places" means |value − printed| ≤ ½·10^−p (a printed tie passes either way).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .worked import WorkedExample

#: The precisions a person plausibly carries: ``by_hand(d)`` for these d explain a number.
CARRIED = range(2, 7)
VERDICTS = ("exact", "carried_rounding", "erratum")
_MARKS = {"exact": "✓", "carried_rounding": "≈", "erratum": "✗"}
_QUANTITY = re.compile(r"^(z|D|local_D_z|local_D_W|D_W|grad|dL_dz|W_new)\((\d+)\)$")
_NUMBER = re.compile(r"^[+-]?(\d+)(\.(\d*))?$")


@dataclass(frozen=True)
class Entry:
    """The verdict on one printed entry, with the numbers behind it."""

    quantity: str  #: e.g. "dL_dz(1)"
    index: tuple[int, ...]  #: where in the printed block (C order), () for a scalar
    printed: str
    exact: float  #: the exact value, from the trace
    verdict: str  #: one of VERDICTS
    carried: tuple[tuple[int, float], ...] = ()  #: (d, by_hand(d) value) that match it

    @property
    def places(self) -> int:
        """Digits after the point the slide prints."""
        return _places(self.printed)

    def __str__(self) -> str:
        where = self.quantity + (f"[{', '.join(map(str, self.index))}]" if self.index else "")
        exact = f"{self.exact:.7g} is {_fmt(self.exact, self.places)} to {self.places} places"
        if self.verdict == "exact":
            return f"{where}: printed {self.printed} — exact: {exact}"
        if self.verdict == "erratum":
            return (f"{where}: printed {self.printed} — erratum: the exact value {exact}, and "
                    f"carrying {CARRIED[0]} to {CARRIED[-1]} places does not give it either")
        d, v = self.carried[0]
        return (f"{where}: printed {self.printed} — rounding, not an error: the exact value "
                f"{exact}, but carrying {d} places from the earlier steps gives {v:.7g}, "
                f"which prints as {self.printed}")


class Audit(dict):
    """{quantity: [verdict per printed entry, C order]}; truthy only when there is no erratum.

    ``entries`` holds an ``Entry`` per printed number; ``errata`` and ``rounding`` pick the
    erratum and carried-rounding ones; ``str(audit)`` lists every entry in words.
    """

    def __init__(self, entries: list[Entry]):
        super().__init__()
        for e in entries:
            self.setdefault(e.quantity, []).append(e.verdict)
        self.entries = entries

    @property
    def errata(self) -> list[Entry]:
        return [e for e in self.entries if e.verdict == "erratum"]

    @property
    def rounding(self) -> list[Entry]:
        return [e for e in self.entries if e.verdict == "carried_rounding"]

    def __bool__(self) -> bool:
        return not self.errata

    def __str__(self) -> str:
        counts = ", ".join(f"{sum(e.verdict == v for e in self.entries)} {v}" for v in VERDICTS)
        verdict = "no errata" if self else f"{len(self.errata)} errata"
        return "\n".join([f"Audit of {len(self.entries)} printed numbers: {verdict} ({counts})"]
                         + [f"  {e}" for e in self.entries])

    def __repr__(self) -> str:
        return f"Audit({dict(self)!r})"

    def table(self, symbols: Mapping | None = None) -> str:
        """One row per printed quantity: the slide's own symbol (when ``symbols`` maps the
        quantity to one), ours, what it prints, the exact value at the printed digits, and a
        mark per entry (✓ exact, ≈ carried rounding, ✗ erratum)."""
        rows = [("slide", "ours", "prints", "exact, to the printed digits", "verdicts")]
        for quantity in self:
            es = [e for e in self.entries if e.quantity == quantity]
            rows.append(((symbols or {}).get(quantity, ""), quantity,
                         "[" + ", ".join(e.printed for e in es) + "]",
                         "[" + ", ".join(_fmt(e.exact, e.places) for e in es) + "]",
                         " ".join(_MARKS[e.verdict] for e in es)))
        if symbols is None:
            rows = [r[1:] for r in rows]
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        return "\n".join("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))
                         .rstrip() for r in rows)


def audit(ex: WorkedExample, printed: Mapping, layout: str = "lecture") -> Audit:
    """Classify every number in ``printed`` (see the module docstring); an ``Audit``.

    With ``layout="slide"`` a printed ``grad(j)`` is read shaped like W_jᵀ (lecture 002's
    ∂L/∂W = x_in ∂L/∂x_out); every other quantity is read as the trace shapes it. A printed
    block may drop axes of length 1 (``"0.313"`` for z(3) ∈ R^1).
    """
    if layout not in ("lecture", "slide"):
        raise ValueError(f"layout must be 'lecture' or 'slide', got {layout!r}.")
    if not isinstance(printed, Mapping):
        raise TypeError(f"printed must be a dict {{quantity: printed strings}}, got "
                        f"{type(printed).__name__}.")
    tr = ex.trace()
    exact = _Source(tr, [tr.W_new(j) for j in range(1, tr.m + 1)])  # tr knows α
    hands = {}
    for d in CARRIED:
        try:
            bh = ex.by_hand(d)
        except ValueError:  # carrying d places rounds ŷ out of the loss's domain: explains nothing
            continue
        hands[d] = _Source(bh, bh.updated_weights())
    entries = []
    for quantity, block in printed.items():
        strings = _strings(quantity, block)
        want = exact.value(quantity, layout)
        if np.squeeze(strings).shape != np.squeeze(want).shape:
            as_what = " (slide layout: shaped like W_jᵀ)" if (
                layout == "slide" and quantity.startswith("grad")) else ""
            raise ValueError(f"printed {quantity} has shape {strings.shape}; the quantity has "
                             f"shape {want.shape}{as_what}.")
        ours = np.asarray(want).reshape(strings.shape)
        theirs = {d: np.asarray(s.value(quantity, layout)).reshape(strings.shape)
                  for d, s in hands.items()}
        for idx in np.ndindex(strings.shape):
            s = str(strings[idx])
            carried = tuple((d, float(v[idx])) for d, v in theirs.items() if _agrees(v[idx], s))
            verdict = ("exact" if _agrees(ours[idx], s)
                       else "carried_rounding" if carried else "erratum")
            entries.append(Entry(quantity, idx, s, float(ours[idx]), verdict,
                                 carried if verdict == "carried_rounding" else ()))
    return Audit(entries)


class _Source:
    """A trace (or by-hand trace) and its updated weights, looked up by quantity string."""

    def __init__(self, tr, new_weights: list[np.ndarray]):
        self.tr, self.new = tr, new_weights

    def value(self, quantity: str, layout: str) -> np.ndarray:
        if quantity == "loss":
            return np.asarray(self.tr.loss)
        name, j = _QUANTITY.match(quantity).groups()
        j = int(j)
        lo = 0 if name in ("z", "D", "dL_dz") else 1
        if not lo <= j <= self.tr.m:
            raise ValueError(f"printed {quantity}: j must be in {lo}..{self.tr.m} "
                             f"(m = {self.tr.m}).")
        if name == "W_new":
            return self.new[j - 1]
        value = getattr(self.tr, name)(j)
        return value.T if name == "grad" and layout == "slide" else value


def _strings(quantity, block) -> np.ndarray:
    if not isinstance(quantity, str) or not (quantity == "loss" or _QUANTITY.match(quantity)):
        raise ValueError(
            f"unknown quantity {quantity!r}: use 'loss' or one of z(j), D(j), local_D_z(j), "
            "local_D_W(j), D_W(j), grad(j), dL_dz(j), W_new(j) with a number for j."
        )
    try:
        arr = np.array(block, dtype=object)
    except ValueError:
        raise ValueError(f"printed {quantity}: rows of different lengths.") from None
    bad = [s for s in arr.ravel() if not (isinstance(s, str) and _NUMBER.match(_ascii(s)))]
    if bad or not arr.size:
        raise ValueError(f"printed {quantity}: entries must be numbers written as strings "
                         f"with their printed digits, e.g. '-0.1869'; got {bad[:3] or block!r}.")
    return np.vectorize(_ascii, otypes=[object])(arr)


def _ascii(s: str) -> str:
    return s.strip().replace("\N{MINUS SIGN}", "-")


def _places(s: str) -> int:
    return len(_NUMBER.match(s).group(3) or "")


def _agrees(value: float, printed: str) -> bool:
    """|value − printed| ≤ ½ unit of the printed last place (with a hair for float error)."""
    return abs(float(value) - float(printed)) <= 0.5 * 10.0 ** -_places(printed) * (1 + 1e-9)


def _fmt(v: float, places: int) -> str:
    s = f"{v:.{places}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s
