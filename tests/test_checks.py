"""The numerical checker on known matrices (wrong Jacobians: tests/test_checker_failures.py)."""

import numpy as np
from numpy.testing import assert_allclose
from scipy import differentiate

import jacobian_nn as jnn
from jacobian_nn.checks import JacobianCheck


def test_numerical_jacobian_of_a_known_matrix():
    W = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert_allclose(jnn.numerical_jacobian(lambda z: W @ z, np.array([0.3, -0.2, 0.5])), W,
                    atol=1e-10)


def test_regression_scipy_trailing_axes_with_a_naive_lambda():
    # scipy calls f on arrays of shape (k, *batch); `W @ z` then multiplies the wrong axes.
    # For a square W raw scipy silently returns Wᵀ while reporting success everywhere —
    # the pitfall numerical_jacobian exists to avoid.
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    z = np.array([0.3, -0.2])
    raw = differentiate.jacobian(lambda v: W @ v, z)
    assert np.all(raw.success) and not np.allclose(raw.df, W)
    assert_allclose(jnn.numerical_jacobian(lambda v: W @ v, z), W, atol=1e-10)
    assert jnn.check_jacobians(jnn.Linear(W), z).passed


def test_checker_reports_wrong_shapes():
    class Square(jnn.Linear):
        def _D_z(self, z):
            return np.zeros((3, 3))

    report = jnn.check_jacobians(Square(np.ones((2, 3))), np.ones(3))
    assert not report.passed and "shape (3, 3), expected (2, 3)" in str(report)


def test_checker_does_not_modify_the_layer():
    layer = jnn.Affine(np.ones((2, 2)), np.zeros(2))
    before = layer.params.copy()
    jnn.check_jacobians(layer, np.array([0.5, -0.5]))
    assert np.array_equal(layer.params, before)


def test_numerical_jacobian_hands_f_a_vector_of_its_own():
    # f gets one ordinary vector: contiguous, owning its data (not a view into scipy's buffer).
    def f(z):
        assert z.flags.c_contiguous and z.flags.owndata
        return np.sin(z)

    z = np.array([0.3, -1.2, 2.0])
    assert_allclose(jnn.numerical_jacobian(f, z), np.diag(np.cos(z)), atol=1e-9)


def test_entries_that_agree_exactly_pass_at_zero_tolerance():
    # The rule is |yours − numerical| ≤ atol + rtol·|numerical|: equality passes at 0 and 0.
    A = np.array([[1.0, 0.0], [0.0, 2.0]])
    check = JacobianCheck("D_z", A, A.copy(), rtol=0.0, atol=0.0)
    assert check.passed and check.wrong == []
    B = A.copy()
    B[1, 0] = 1e-300  # the smallest miss is still a miss
    assert JacobianCheck("D_z", B, A, rtol=0.0, atol=0.0).wrong == [(1, 0)]


def test_a_report_is_truthy_only_when_it_passed():
    class WrongSign(jnn.Linear):
        def _D_z(self, z):
            return -self.W

    good = jnn.check_jacobians(jnn.Tanh(), np.array([0.3, -0.2]))
    bad = jnn.check_jacobians(WrongSign([[1.0, 2.0]]), np.array([0.3, -0.2]))
    assert good and good["D_z"] and good["D_W"]
    assert not bad and not bad["D_z"] and bad["D_W"]
    assert bool(bad) is bad.passed is False
