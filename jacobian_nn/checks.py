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
from scipy import differentiate

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
    z = as_real_array(z, "numerical_jacobian: z", ndim=(1,))
    k = z.shape[0]

    def one_at_a_time(Zt: np.ndarray) -> np.ndarray:
        batch = Zt.shape[1:]
        rows = np.moveaxis(Zt, 0, -1).reshape(-1, k)
        out = np.stack([np.asarray(f(r.copy()), dtype=np.float64).ravel() for r in rows])
        return np.moveaxis(out.reshape(*batch, out.shape[-1]), -1, 0)

    res = differentiate.jacobian(one_at_a_time, z, initial_step=initial_step)
    return np.asarray(res.df, dtype=np.float64)


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
        # Written as "not within tolerance" so a NaN entry counts as wrong, never as a pass.
        ok = np.abs(self.analytic - self.numeric) <= self.atol + self.rtol * np.abs(self.numeric)
        bad = ~ok
        self.wrong = [tuple(map(int, ij)) for ij in np.argwhere(bad)]

    @property
    def shape_ok(self) -> bool:
        return self.analytic.shape == self.numeric.shape

    @property
    def passed(self) -> bool:
        return self.shape_ok and not self.wrong

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
            return (f"  {self.name}: FAILED — yours has shape {self.analytic.shape}, "
                    f"expected {self.numeric.shape}")
        status = "ok" if self.passed else f"FAILED ({len(self.wrong)} wrong entries)"
        head = (f"  {self.name} {self.analytic.shape}: max abs error {self.max_abs_error:.2e}, "
                f"max rel error {self.max_rel_error:.2e}  {status}")
        return "\n".join([head] + [self._entry(i, p) for i, p in self.wrong[:10]])


@dataclass
class JacobianReport:
    """The outcome of ``check_jacobians``: one ``JacobianCheck`` for D_z and one for D_W."""

    layer: str
    checks: dict[str, JacobianCheck]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks.values())

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
    z = as_real_array(z, f"check_jacobians: z for {layer.describe()}", ndim=(1,))
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
