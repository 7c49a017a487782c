"""Your own layer, checked: the factory and the subclass route, and a check report that names
the wrong entries of a wrong derivation and says what kind of slip it looks like."""

import numpy as np
import pytest
from oracle import flat, numerical_mean_loss_gradient
from scipy.special import softmax

import jacobian_nn as jnn

rng = np.random.default_rng(60606)


class Scale(jnn.Layer):
    """f_a(z) = a ⊙ z, written the documented way: _f, _D_z, _D_W only."""

    def __init__(self, a):
        super().__init__(np.asarray(a, dtype=float))

    def _f(self, P, Z):
        return Z * P

    def _D_z(self, z):
        return np.diag(self.params)

    def _D_W(self, z):
        return np.diag(z)


class Outer(jnn.Layer):
    """f_W(z) = W z with deliberately mis-shaped Jacobians, for the shape hints."""

    def __init__(self, W, tensor=False):
        super().__init__(np.asarray(W, dtype=float))
        self.tensor = tensor

    def _f(self, P, Z):
        return Z @ P.T

    def _D_z(self, z):
        return self.params.T if not self.tensor else self.params

    def _D_W(self, z):
        h = self.params.shape[0]
        J = np.kron(np.eye(h), z)
        return J.reshape(h, *self.params.shape) if self.tensor else J


def linear_like(D_z, D_W, W):
    return jnn.custom_layer(lambda z, W: W @ z, D_z, D_W, params=W, name="my linear")


@pytest.mark.parametrize("mode", ["lecture", "jacobian", "reverse"])
def test_subclass_and_factory_work_in_a_network(mode):
    a = rng.normal(size=3)
    mine = jnn.custom_layer(lambda z, W: np.sin(W * z), lambda z, W: np.diag(W * np.cos(W * z)),
                            lambda z, W: np.diag(z * np.cos(W * z)), params=a, name="sin(a ⊙ z)")
    for layer in (Scale(a), mine):
        assert jnn.check_jacobians(layer, rng.normal(size=3)).passed
        net = jnn.Network([jnn.Affine(rng.normal(size=(3, 2)), rng.normal(size=3)), layer,
                           jnn.Linear(rng.normal(size=(1, 3)))])
        X, Y = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
        _, grads = net.gradients(X, Y, jnn.SquaredError(), mode=mode)
        np.testing.assert_allclose(
            flat(grads), numerical_mean_loss_gradient(net, X, Y, jnn.SquaredError()),
            rtol=1e-6, atol=1e-9)


def test_wrong_derivation_names_the_wrong_entries():
    z = np.array([0.5, -1.0, 0.2])
    # the slip: tanh'(z) written as 1 − z² instead of 1 − tanh²(z)
    bad = jnn.custom_layer(lambda z, W: np.tanh(z), lambda z, W: np.diag(1 - z ** 2),
                           name="my tanh")
    report = jnn.check_jacobians(bad, z)
    assert not report.passed and report["D_W"].passed
    assert report["D_z"].wrong == [(0, 0), (1, 1), (2, 2)]  # 1 − z² ≠ 1 − tanh² z on all three
    text = str(report)
    assert "my tanh" in text and "FAILED (3 wrong entries)" in text
    assert f"[1, 1] (∂f_1/∂z_1): numerical {1 - np.tanh(-1.0) ** 2:.6f}" in text
    assert "yours 0\n" in text  # 1 − (−1)² = 0


def test_more_than_ten_wrong_entries_are_counted():
    W = rng.normal(size=(4, 4)) + 5.0  # no zero entries
    report = jnn.check_jacobians(linear_like(lambda z, W: W + 1.0, lambda z, W: np.kron(
        np.eye(4), z), W), rng.normal(size=4))
    assert len(report["D_z"].wrong) == 16
    assert "… and 6 more wrong entries" in str(report)


@pytest.mark.parametrize("D_z, hint", [
    (lambda z, W: W.T, "yours is the transpose of the right matrix"),
    (lambda z, W: -W, "yours has the opposite sign everywhere"),
    (lambda z, W: 0.5 * W, "yours = 0.5 × the right Jacobian"),
    (lambda z, W: np.diag(np.diag(W)), "yours is diagonal, but f mixes its inputs"),
])
def test_hints_for_usual_slips_in_D_z(D_z, hint):
    W = rng.normal(size=(3, 3))
    layer = linear_like(D_z, lambda z, W: np.kron(np.eye(3), z), W)
    text = str(jnn.check_jacobians(layer, rng.normal(size=3)))
    assert f"hint: {hint}" in text
    assert "hint: wrong entries lie in rows" in text


def test_hint_for_fortran_ordered_D_W():
    layer = linear_like(lambda z, W: W, lambda z, W: np.kron(z, np.eye(2)),  # columns W[:, b]
                        rng.normal(size=(2, 3)))
    report = jnn.check_jacobians(layer, rng.normal(size=3))
    assert report["D_z"].passed and not report["D_W"].passed
    assert "your columns follow W.ravel(order='F')" in str(report)


def test_shape_hints():
    z = rng.normal(size=3)
    text = str(jnn.check_jacobians(Outer(rng.normal(size=(2, 3))), z))
    assert "D_z: FAILED — yours has shape (3, 2), expected (2, 3)" in text
    assert "hint: yours looks transposed" in text
    text = str(jnn.check_jacobians(Outer(rng.normal(size=(2, 3)), tensor=True), z))
    assert "hint: this is the tensor view" in text and "flattened to (2, 6)" in text


def test_correct_layer_has_no_hints():
    report = jnn.check_jacobians(jnn.Softmax(), rng.normal(size=4))
    assert report.passed and "hint" not in str(report)
    assert report["D_z"].diagnosis == []


def test_factory_errors_and_isolation():
    with pytest.raises(ValueError, match=r"needs D_W\(z, W\)"):
        jnn.custom_layer(lambda z, W: W * z, lambda z, W: np.diag(W), params=[1.0])
    wrong = jnn.custom_layer(lambda z, W: softmax(z[:2]), lambda z, W: np.ones((3, 2)),
                             name="sm")  # f: R^3 → R^2, so D_z f must be (2, 3)
    with pytest.raises(ValueError, match=r"'sm'.*shape \(3, 2\) \(transposed\?\).*\(2, 3\)"):
        wrong.D_z(np.zeros(3))
    with pytest.raises(ValueError, match="must return a vector"):
        jnn.custom_layer(lambda z, W: np.outer(z, z), lambda z, W: z)(np.ones(2))

    def doubling(z, W):
        z *= 2.0  # a careless in-place edit must not reach the caller
        return z

    layer = jnn.custom_layer(doubling, lambda z, W: 2.0 * np.eye(len(z)))
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(layer(x), [2.0, 4.0])
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_a_type_error_in_your_forward_names_the_layer():
    broken = jnn.custom_layer(lambda z, W: z + "1", lambda z, W: np.eye(len(z)))  # str + float
    net = jnn.Network([jnn.Linear(np.eye(2)), broken])
    with pytest.raises(TypeError, match=r"^layer 2 \(custom layer 'custom'\): "):
        net(np.ones(2))
    outer = jnn.Network([jnn.Tanh(), net])
    with pytest.raises(TypeError, match=r"^in layer 2 \(Network of m = 2 layers\) of the outer "
                                       r"network: layer 2 \(custom layer 'custom'\): "):
        outer(np.ones(2))
