"""Check analytic Jacobians against numerical differentiation (``scipy.differentiate``).

scipy evaluates the function on arrays with extra *trailing* axes: it calls f with an array
of shape (k, *batch) and expects (h, *batch) back. A naive ``lambda z: W @ z`` then contracts
the wrong axes for some batch shapes and returns a wrong Jacobian while reporting success.
``numerical_jacobian`` hides this: it hands f one ordinary vector z ∈ R^k at a time.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import _memory
from ._validate import as_real_array, nonnegative_float, positive_float
from .layers import Layer


def numerical_jacobian(f: Callable[[np.ndarray], np.ndarray], z, initial_step: float = 1e-2):
    """D f(z) ∈ R^{h×k} by scipy's adaptive central differences: entry [i, a] = ∂f_i/∂z_a.

    Parameters
    ----------
    f : callable
        Maps one vector of shape (k,) to an array of h numbers (any shape; it is raveled).
    z : array_like, shape (k,)
    initial_step : float
        First finite-difference step; scipy then shrinks it. Small steps keep kinked
        functions (ReLU) from stepping across a kink near z.

    Examples
    --------
    >>> W = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    >>> numerical_jacobian(lambda z: W @ z, np.ones(3)).round(8)
    array([[1., 2., 3.],
           [4., 5., 6.]])
    """
    from scipy import differentiate  # here, not at the top: importing it is slow

    z = as_real_array(z, "numerical_jacobian: z", ndim=(1,), nonempty=True)
    initial_step = positive_float(initial_step, "numerical_jacobian: initial_step")
    h = np.asarray(f(z.copy())).size

    def block_columns(cols: slice) -> np.ndarray:
        """Columns ``cols`` of D f(z): f varied in z[cols] only, one vector at a time."""
        def one_at_a_time(Zt: np.ndarray) -> np.ndarray:
            batch = Zt.shape[1:]
            rows = np.moveaxis(Zt, 0, -1).reshape(-1, Zt.shape[0])
            out = np.stack([np.asarray(f(_with(z, cols, r)), dtype=np.float64).ravel()
                            for r in rows])
            return np.moveaxis(out.reshape(*batch, out.shape[-1]), -1, 0)

        res = differentiate.jacobian(one_at_a_time, z[cols], initial_step=initial_step)
        return np.asarray(res.df, dtype=np.float64).reshape(h, -1)

    # scipy differentiates all b columns at once on arrays of about (b, b, 12) and (h, b, 40)
    # numbers (measured): b = k = 10^4 parameters would take 9.6 GB. Columns are independent,
    # so they are taken in blocks that fit the memory limit, with the same result.
    per_column = 8 * (12 * z.shape[0] + 40 * h)
    return np.hstack([block_columns(c) for c in _memory.row_chunks(z.shape[0], per_column)])


def _with(z: np.ndarray, cols: slice, values: np.ndarray) -> np.ndarray:
    """A copy of z with z[cols] = values."""
    out = z.copy()
    out[cols] = values
    return out


@dataclass
class JacobianCheck:
    """One analytic Jacobian compared with its numerical estimate."""

    name: str
    analytic: np.ndarray
    numeric: np.ndarray
    rtol: float
    atol: float
    param_shape: tuple[int, ...] | None = None
    wrong: list[tuple[int, int]] = field(init=False)

    def __post_init__(self):
        if self.analytic.shape != self.numeric.shape:
            self.wrong = []
            return
        self.wrong = [tuple(map(int, ij)) for ij in np.argwhere(self._bad(self.analytic))]

    @property
    def shape_ok(self) -> bool:
        return self.analytic.shape == self.numeric.shape

    @property
    def passed(self) -> bool:
        return self.shape_ok and not self.wrong

    def __bool__(self) -> bool:
        return self.passed

    @property
    def max_abs_error(self) -> float:
        if not self.shape_ok:
            return float("inf")
        return float(np.max(np.abs(self.analytic - self.numeric), initial=0.0))

    @property
    def max_rel_error(self) -> float:
        if not self.shape_ok:
            return float("inf")
        # Relative to each entry, but entries that are zero up to rounding are measured
        # against the Jacobian's scale, so 1e-13 noise on a true 0 does not read as 100 %.
        scale = np.maximum(np.abs(self.numeric), 1e-6 * np.max(np.abs(self.numeric), initial=1.0))
        err = np.abs(self.analytic - self.numeric) / scale
        return float(np.max(err, initial=0.0))

    def _bad(self, A: np.ndarray) -> np.ndarray:
        """Entries of A outside |A − numerical| ≤ atol + rtol·|numerical|.

        Written as "not within tolerance" so a NaN entry counts as wrong, never as a pass.
        """
        return ~(np.abs(A - self.numeric) <= self.atol + self.rtol * np.abs(self.numeric))

    def _close(self, A: np.ndarray) -> bool:
        return not np.any(self._bad(A))

    @property
    def diagnosis(self) -> list[str]:
        """Hints at the usual slips in a hand derivation, read off the pattern of wrong entries."""
        A, N = self.analytic, self.numeric
        is_W = self.param_shape is not None
        layout = ("entry [i, p] = ∂f_i/∂w_p with w = params.ravel() in C order" if is_W
                  else "entry [i, a] = ∂f_i/∂z_a")
        if not self.shape_ok:
            if A.shape == N.shape[::-1]:
                return [f"yours looks transposed: {self.name} has shape {N.shape}, rows = outputs "
                        f"f_i ({layout})."]
            if is_W and A.shape == (N.shape[0], *self.param_shape):
                return [f"this is the tensor view (h, *params.shape); {self.name} wants it "
                        f"flattened to {N.shape} ({layout})."]
            return []
        if self.passed or A.size == 0:
            return []
        hints = []
        if A.shape[0] == A.shape[1] and self._close(A.T):
            hints.append(f"yours is the transpose of the right matrix: rows are outputs f_i "
                         f"({layout}).")
        if is_W and len(self.param_shape) > 1:
            f_order = np.arange(A.shape[1]).reshape(self.param_shape).ravel(order="F")
            if self._close(A[:, np.argsort(f_order)]):
                hints.append("your columns follow W.ravel(order='F'); they must follow "
                             "W.ravel() (C order: column a·k + b is W[a, b]).")
        if self._close(-A):
            hints.append("yours has the opposite sign everywhere.")
        big = np.abs(N) > 100 * self.atol
        if big.any() and not self._close(-A):
            c = float(np.median(A[big] / N[big]))
            if c != 0 and self._close(A / c):
                hints.append(f"yours = {c:.6g} × the right Jacobian: a constant factor is off.")
        if not is_W and A.shape[0] == A.shape[1] and not np.any(A - np.diag(np.diag(A))) \
                and not self._close(np.diag(np.diag(N))):
            hints.append("yours is diagonal, but f mixes its inputs: the off-diagonal "
                         "∂f_i/∂z_a (i ≠ a) are not zero.")
        rows = sorted({i for i, _ in self.wrong})
        cols = sorted({p for _, p in self.wrong})
        col_name = "parameters w_p" if is_W else "inputs z_a"
        hints.append(f"wrong entries lie in rows {_short(rows)} (outputs f_i) and columns "
                     f"{_short(cols)} ({col_name}).")
        return hints

    def _entry(self, i: int, p: int) -> str:
        if self.param_shape is not None and len(self.param_shape) > 1:
            idx = ", ".join(str(a) for a in np.unravel_index(p, self.param_shape))
            what = f"∂f_{i}/∂W[{idx}]"
        else:
            what = f"∂f_{i}/∂{'w' if self.param_shape is not None else 'z'}_{p}"
        return (f"    [{i}, {p}] ({what}): numerical {self.numeric[i, p]:.8g}, "
                f"yours {self.analytic[i, p]:.8g}")

    def __str__(self) -> str:
        if not self.shape_ok:
            return "\n".join([f"  {self.name}: FAILED — yours has shape {self.analytic.shape}, "
                              f"expected {self.numeric.shape}"]
                             + [f"    hint: {h}" for h in self.diagnosis])
        status = "ok" if self.passed else f"FAILED ({len(self.wrong)} wrong entries)"
        head = (f"  {self.name} {self.analytic.shape}: max abs error {self.max_abs_error:.2e}, "
                f"max rel error {self.max_rel_error:.2e}  {status}")
        lines = [head] + [self._entry(i, p) for i, p in self.wrong[:10]]
        if len(self.wrong) > 10:
            lines.append(f"    … and {len(self.wrong) - 10} more wrong entries (see .wrong)")
        return "\n".join(lines + [f"    hint: {h}" for h in self.diagnosis])


def _short(idx: list[int]) -> str:
    return ", ".join(map(str, idx[:8])) + (", …" if len(idx) > 8 else "")


@dataclass
class JacobianReport:
    """The outcome of ``check_jacobians``: one ``JacobianCheck`` for D_z and one for D_W."""

    layer: str
    checks: dict[str, JacobianCheck]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks.values())

    def __bool__(self) -> bool:  # so that `assert check_jacobians(layer, z)` fails when it fails
        return self.passed

    @property
    def max_abs_error(self) -> float:
        return max(c.max_abs_error for c in self.checks.values())

    def __getitem__(self, name: str) -> JacobianCheck:
        return self.checks[name]

    def __str__(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        return "\n".join([f"Jacobian check of {self.layer}: {verdict}"]
                         + [str(c) for c in self.checks.values()])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from .display import report_to_html

        return report_to_html(self)


def check_jacobians(layer: Layer, z, *, rtol: float = 1e-6, atol: float = 1e-8,
                    initial_step: float = 1e-2) -> JacobianReport:
    """Compare ``layer.D_z(z)`` and ``layer.D_W(z)`` with numerical differentiation.

    Works for any layer, a whole ``Network``, or your own ``Layer`` subclass. The layer is
    never modified: D_W is differentiated on a copy whose params are varied.

    Parameters
    ----------
    layer : Layer or Network
    z : array_like, shape (k,)
        Where to differentiate. Keep away from kinks (ReLU at 0).
    rtol, atol : float
        An entry passes when |analytic − numerical| ≤ atol + rtol·|numerical|.
    initial_step : float
        See ``numerical_jacobian``.

    Returns
    -------
    JacobianReport
        ``.passed``, ``.max_abs_error``, and per Jacobian the wrong entries, if any.

    Examples
    --------
    >>> import jacobian_nn as jnn
    >>> check_jacobians(jnn.Linear([[1.0, 2.0], [3.0, 4.0]]), [0.5, -1.0]).passed
    True
    """
    if not isinstance(layer, Layer):
        raise TypeError(f"check_jacobians needs a jacobian_nn layer, got {type(layer).__name__}.")
    dtype = getattr(z, "dtype", None)  # np.asarray here would fail on ragged input
    if dtype is not None and dtype.kind == "f" and dtype.itemsize < 8:
        warnings.warn(
            f"check_jacobians got {dtype} input: finite differences need float64 precision, "
            f"so z is cast to float64 (a {dtype} Jacobian would fail at these tolerances).",
            UserWarning,
            stacklevel=2,
        )
    z = as_real_array(z, f"check_jacobians: z for {layer.describe()}", ndim=(1,),
                      nonempty=True)
    rtol = nonnegative_float(rtol, "check_jacobians: rtol")
    atol = nonnegative_float(atol, "check_jacobians: atol")
    initial_step = positive_float(initial_step, "check_jacobians: initial_step")
    analytic_z = np.asarray(layer.D_z(z), dtype=np.float64)
    numeric_z = numerical_jacobian(layer.forward, z, initial_step)
    checks = {"D_z": JacobianCheck("D_z", analytic_z, numeric_z, rtol, atol)}

    shape = layer.params.shape
    analytic_W = np.asarray(layer.D_W(z), dtype=np.float64)
    if layer.n_params == 0:
        numeric_W = np.zeros((numeric_z.shape[0], 0))
    else:
        clone = copy.deepcopy(layer)

        def f_of_w(w: np.ndarray) -> np.ndarray:
            clone.params = w.reshape(shape)
            return clone.forward(z)

        numeric_W = numerical_jacobian(f_of_w, layer.params.ravel(), initial_step)
    checks["D_W"] = JacobianCheck("D_W", analytic_W, numeric_W, rtol, atol, param_shape=shape)
    return JacobianReport(layer.describe(), checks)
