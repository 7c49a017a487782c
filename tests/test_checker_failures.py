"""The Jacobian checker really fails on wrong Jacobians, and says which entries are wrong."""

import copy

import numpy as np
import pytest
from support import small_net

import jacobian_nn as jnn

RNG = np.random.default_rng(2024)

W_sq = np.array([[1.0, 2.0], [-0.5, 3.0]])  # not symmetric: a transposed D_z differs


class OneEntryOffD_z(jnn.Linear):
    def _D_z(self, z):
        D = super()._D_z(z)
        D[0, 1] += 1e-3
        return D


class TransposedD_z(jnn.Linear):
    def _D_z(self, z):
        return self.W.T.copy()


class NaND_z(jnn.Linear):
    def _D_z(self, z):
        D = super()._D_z(z)
        D[1, 0] = np.nan
        return D


class OneEntryOffD_W(jnn.Linear):
    def _D_W(self, z):
        D = super()._D_W(z)
        D[1, 3] += 1e-3
        return D


class FortranOrderD_W(jnn.Linear):
    """Columns in vec order with W raveled column by column (order="F"): z ⊗ I_h, not I_h ⊗ zᵀ."""

    def _D_W(self, z):
        return np.kron(z, np.eye(self.W.shape[0]))


class MissingColumnD_W(jnn.Linear):
    def _D_W(self, z):
        return super()._D_W(z)[:, :-1]


class Cube(jnn.Elementwise):
    """A correct user layer φ(z) = z³, φ'(z) = 3z²."""

    def phi(self, z):
        return z**3

    def dphi(self, z, fz):
        return 3 * z**2


Z_POINT = np.array([0.7, -1.3])


@pytest.mark.parametrize(("cls", "failing", "entry"), [
    (OneEntryOffD_z, "D_z", (0, 1)),
    (TransposedD_z, "D_z", (0, 1)),
    (NaND_z, "D_z", (1, 0)),
    (OneEntryOffD_W, "D_W", (1, 3)),
    (FortranOrderD_W, "D_W", (0, 1)),
    (MissingColumnD_W, "D_W", None),
])
def test_check_jacobians_fails_on_a_wrong_jacobian(cls, failing, entry):
    report = jnn.check_jacobians(cls(W_sq), Z_POINT)
    assert not report.passed
    assert not report[failing].passed
    other = "D_W" if failing == "D_z" else "D_z"
    assert report[other].passed
    assert "FAILED" in str(report)
    if entry is None:
        assert "shape" in str(report[failing])
    else:
        assert entry in report[failing].wrong


@pytest.mark.parametrize("layer", [
    jnn.Linear(W_sq), jnn.Affine(W_sq, [0.5, -1.0]), jnn.Bias([0.1, 0.2]), jnn.Tanh(),
    jnn.Sigmoid(), jnn.ReLU(), jnn.LeakyReLU(0.2), jnn.Swish(1.3), jnn.Identity(),
    jnn.Softmax(), Cube(), small_net().layers[0],
], ids=lambda layer: type(layer).__name__)
def test_check_jacobians_passes_correct_layers(layer):
    report = jnn.check_jacobians(layer, Z_POINT)
    assert report.passed, str(report)
    assert report.max_abs_error < 1e-8


def test_check_jacobians_passes_a_whole_network():
    assert jnn.check_jacobians(jnn.mlp([2, 4, 3], seed=1), Z_POINT).passed


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_check_jacobians_warns_on_low_precision_input(dtype):
    with pytest.warns(UserWarning, match=f"got {np.dtype(dtype).name} input.*float64"):
        report = jnn.check_jacobians(jnn.Tanh(), Z_POINT.astype(dtype))
    assert report.passed  # it still checks, in float64


def test_check_jacobians_does_not_warn_on_float64_or_lists():
    # pytest turns any warning into an error here (filterwarnings = error)
    assert jnn.check_jacobians(jnn.Tanh(), Z_POINT).passed
    assert jnn.check_jacobians(jnn.Tanh(), Z_POINT.tolist()).passed


def test_check_jacobians_leaves_the_layer_alone():
    layer = jnn.Affine(W_sq, [0.5, -1.0])
    before = layer.params
    jnn.check_jacobians(layer, Z_POINT)
    assert layer.params is before
    np.testing.assert_array_equal(before, np.column_stack([W_sq, [0.5, -1.0]]))


def test_the_suggested_deepcopy_gives_independently_trained_layers():
    a = jnn.Linear([[1.0, 0.5], [0.0, 1.0]])
    f = jnn.Network([a, jnn.Tanh(), copy.deepcopy(a)])
    X, Y = RNG.normal(size=(4, 2)), RNG.normal(size=(4, 2))
    jnn.GradientDescent(0.1, max_iters=2).fit(f, X, Y, jnn.SquaredError())
    assert not np.array_equal(f.layers[0].params, f.layers[2].params)


def test_a_history_interrupted_before_its_first_loss_still_prints():
    assert repr(jnn.History()) == "History(n_iters=0, stop_reason='', no loss recorded)"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's own overflow warnings
def test_finite_inputs_that_overflow_float64_name_the_layer_instead_of_returning_nan():
    net = jnn.Network([jnn.Linear([[1.0, 2.0], [3.0, -1.0]]), jnn.Softmax()])
    X = np.full((3, 2), 1e308)  # 1·1e308 + 2·1e308 = inf in z^(1) = W x
    message = r"overflowed float64: z\^\(1\), the output of layer 1 \(Linear.*example i = 0"
    for mode in ("lecture", "jacobian", "reverse"):
        with pytest.raises(ValueError, match=message):
            net.gradients(X, np.full((3, 2), 0.5), jnn.HalfSquaredError(), mode=mode)
    with pytest.raises(ValueError, match=r"z\^\(1\), the output of layer 1 \(Linear.*is not "
                       r"finite\. Scale"):  # one example: no index to name
        net.backprop(X[0], [0.5, 0.5], jnn.HalfSquaredError())


def test_a_loss_too_large_for_float64_is_inf_with_a_finite_gradient():
    # ½(ŷ − y)² with ŷ − y ≈ −1e300 overflows to +inf; ∇_ŷ L = ŷ − y does not.
    net = jnn.Network([jnn.Bias([0.0])])
    with np.errstate(over="ignore"):
        value, (g,) = net.gradients([[1.0]], [[1e300]], jnn.HalfSquaredError())
    assert value == np.inf
    np.testing.assert_allclose(g, [1.0 - 1e300], rtol=1e-15)


def test_a_nan_loss_from_finite_outputs_is_an_error():
    class Broken(jnn.HalfSquaredError):  # a user's loss with a bug
        def values(self, Yhat, Y):
            return np.full(Yhat.shape[0], np.nan)

    with pytest.raises(ValueError, match=r"Broken\(\) is NaN at these weights"):
        jnn.Network([jnn.Bias([0.0])]).gradients([[1.0]], [[1.0]], Broken())


def test_swish_derivative_stays_finite_at_the_ends_of_float64():
    # φ'(z) = s + β z s (1 − s) → 1 as z → +∞ and → 0 as z → −∞ (s = σ(βz)).
    np.testing.assert_array_equal(np.diag(jnn.Swish(2.0).D_z([1e308, -1e308])), [1.0, 0.0])
