"""Every layer's D_z and D_W against numerical differentiation of its forward map."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from oracle import num_D_W, num_D_W_tensor, num_D_z

import jacobian_nn as jnn

SHAPES = [(1, 1), (1, 3), (3, 1), (2, 2), (4, 3), (7, 5)]
ELEMENTWISE = [jnn.Tanh(), jnn.Sigmoid(), jnn.ReLU(), jnn.LeakyReLU(0.1), jnn.Identity(),
               jnn.Swish(), jnn.Swish(beta=2.5)]


def away_from_kinks(rng, k):
    """Random z with |z_i| ≥ 0.3, so ReLU-type kinks are never inside a finite-difference step."""
    return rng.choice([-1.0, 1.0], k) * rng.uniform(0.3, 2.0, k)


def param_layers(h, k, rng):
    return [jnn.Linear(rng.normal(size=(h, k))),
            jnn.Affine(rng.normal(size=(h, k)), rng.normal(size=h)),
            jnn.Bias(rng.normal(size=k))]


@pytest.mark.parametrize("h,k", SHAPES)
def test_parametrised_layers_match_numerical_jacobians(h, k):
    rng = np.random.default_rng(100 * h + k)
    for layer in param_layers(h, k, rng):
        z = rng.normal(size=layer.in_size)
        assert_allclose(layer.D_z(z), num_D_z(layer.forward, z), rtol=1e-7, atol=1e-9)
        assert_allclose(layer.D_W(z), num_D_W(layer, z), rtol=1e-7, atol=1e-9)
        assert layer.D_W(z).shape == (layer.out_size(None), layer.n_params)


@pytest.mark.parametrize("h,k", [(1, 1), (3, 2), (7, 5)])
def test_layers_declaring_a_constant_D_z_have_one_at_every_z_and_keep_a_broadcast_D_one(h, k):
    rng = np.random.default_rng(10 * h + k)
    constant = [layer for layer in param_layers(h, k, rng) + ELEMENTWISE + [jnn.Softmax()]
                if layer.constant_D_z]
    assert {type(layer) for layer in constant} == {jnn.Linear, jnn.Affine, jnn.Bias}
    for layer in constant:
        k_in = layer.in_size
        z1, z2 = rng.normal(size=k_in), 5 * rng.normal(size=k_in)
        assert_allclose(num_D_z(layer.forward, z1), num_D_z(layer.forward, z2), atol=1e-8)
        n, D0 = 4, rng.normal(size=(2, layer.out_size(k_in)))
        Z = rng.normal(size=(n, k_in))
        out = layer.left_mul_D_z(np.broadcast_to(D0, (n, *D0.shape)), Z, layer(Z))
        assert out.strides[0] == 0  # still one matrix for the whole batch, not n copies
        assert_allclose(out[0], D0 @ num_D_z(layer.forward, z1), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("h,k", [(1, 1), (2, 3), (7, 5)])
def test_tensor_view_matches_entrywise_derivatives(h, k):
    rng = np.random.default_rng(7 * h + k)
    for layer in param_layers(h, k, rng):
        z = rng.normal(size=layer.in_size)
        T = layer.D_W(z, as_tensor=True)
        assert T.shape == (layer.out_size(None), *layer.params.shape)
        assert_allclose(T, num_D_W_tensor(layer, z), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("layer", ELEMENTWISE + [jnn.Softmax()], ids=repr)
@pytest.mark.parametrize("k", [1, 2, 5, 7])
def test_parameter_free_layers_match_numerical_jacobians(layer, k):
    z = away_from_kinks(np.random.default_rng(k), k)
    assert_allclose(layer.D_z(z), num_D_z(layer.forward, z), rtol=1e-7, atol=1e-9)
    assert layer.params.shape == (0,) and layer.n_params == 0
    assert layer.D_W(z).shape == (k, 0)
    assert layer.D_W(z, as_tensor=True).shape == (k, 0)


@pytest.mark.parametrize("layer", ELEMENTWISE, ids=repr)
def test_elementwise_jacobians_are_diagonal(layer):
    z = away_from_kinks(np.random.default_rng(3), 6)
    J = layer.D_z(z)
    assert np.all(J[~np.eye(6, dtype=bool)] == 0.0)


def test_closed_form_derivatives():
    z = np.array([-1.5, 0.4, 2.0])
    assert_allclose(np.diag(jnn.Tanh().D_z(z)), 1 - np.tanh(z) ** 2)
    s = 1 / (1 + np.exp(-z))
    assert_allclose(np.diag(jnn.Sigmoid().D_z(z)), s * (1 - s))
    s2 = 1 / (1 + np.exp(-2 * z))
    assert_allclose(np.diag(jnn.Swish(2.0).D_z(z)), s2 + 2 * z * s2 * (1 - s2))
    assert_allclose(np.diag(jnn.LeakyReLU(0.2).D_z(z)), [0.2, 1.0, 1.0])


def test_relu_derivative_at_the_kink_follows_lecture_002():
    # Lecture 002: h'(x) = 1(x ≥ 0), so the derivative at exactly 0 is 1.
    assert_allclose(np.diag(jnn.ReLU().D_z(np.array([-1.0, 0.0, 1.0]))), [0.0, 1.0, 1.0])


def test_leaky_relu_derivative_at_the_kink_is_one_like_relu():
    # φ'(0) = 1, as lecture 002's 1(x ≥ 0) for ReLU; the batched product must agree.
    f = jnn.LeakyReLU(0.2)
    assert_allclose(np.diag(f.D_z(np.array([-1.0, 0.0, 1.0]))), [0.2, 1.0, 1.0])
    Z = np.array([[0.0, -2.0, 3.0], [-0.5, 0.0, 0.0]])
    D = np.random.default_rng(4).normal(size=(2, 3))  # upstream rows
    assert_allclose(f.left_mul_D_z(D, Z, f(Z)), D * [[1.0, 0.2, 1.0], [0.2, 1.0, 1.0]])


def test_softmax_jacobian_is_full_and_closed_form():
    z = np.array([0.5, -1.0, 2.0, 0.0])
    s = np.exp(z) / np.exp(z).sum()
    J = jnn.Softmax().D_z(z)
    assert_allclose(J, np.diag(s) - np.outer(s, s), rtol=1e-13)
    assert np.all(J != 0.0)


def test_softmax_at_large_scores_is_stable():
    z = np.array([1000.0, 999.0, -1000.0])
    e = np.exp(np.array([0.0, -1.0, -2000.0]))  # softmax is shift-invariant: subtract 1000
    s = e / e.sum()
    layer = jnn.Softmax()
    assert_allclose(layer(z), s, rtol=1e-14)
    assert_allclose(layer.D_z(z), np.diag(s) - np.outer(s, s), rtol=1e-13, atol=1e-300)
    assert_allclose(layer.D_z(z), num_D_z(layer.forward, z), atol=1e-9)


def test_sigmoid_at_large_inputs_has_no_overflow():
    # pytest turns warnings into errors, so an overflow in exp would fail this test.
    z = np.array([-1000.0, 1000.0])
    assert_allclose(jnn.Sigmoid()(z), [0.0, 1.0])
    assert_allclose(jnn.Sigmoid().D_z(z), np.zeros((2, 2)))
    assert np.all(np.isfinite(jnn.Swish()(z)))


def test_batched_forward_is_row_by_row():
    rng = np.random.default_rng(11)
    Z = rng.normal(size=(5, 3))
    for layer in param_layers(2, 3, rng)[:2] + ELEMENTWISE + [jnn.Softmax()]:
        assert_allclose(layer(Z), np.stack([layer(z) for z in Z]), rtol=1e-15)


def test_linear_d_w_is_the_kronecker_form_by_hand():
    # ∂(Wz)_i/∂W_ab = δ_ia z_b: for h = 2, k = 3 row 0 holds zᵀ in columns 0..2, row 1 in 3..5.
    z = np.array([2.0, -1.0, 0.5])
    expected = np.array([[2.0, -1.0, 0.5, 0, 0, 0], [0, 0, 0, 2.0, -1.0, 0.5]])
    assert_allclose(jnn.Linear(np.ones((2, 3))).D_W(z), expected)


def test_affine_packs_w_and_b_into_one_params_array():
    layer = jnn.Affine([[1.0, 2.0], [3.0, 4.0]], [5.0, 6.0])
    assert_allclose(layer.params, [[1, 2, 5], [3, 4, 6]])
    assert_allclose(layer.W, [[1, 2], [3, 4]])
    assert_allclose(layer.b, [5, 6])
    assert_allclose(layer([1.0, -1.0]), [1 - 2 + 5, 3 - 4 + 6])


def test_constructors_copy_user_arrays():
    W = np.array([[1.0, 2.0]])
    layer = jnn.Linear(W)
    W[0, 0] = 99.0
    assert layer.W[0, 0] == 1.0
    layer.params[0, 1] = -5.0  # params is writable and is the layer's own array
    assert W[0, 1] == 2.0 and layer([1.0, 1.0])[0] == 1.0 - 5.0


def test_params_setter_checks_shape():
    layer = jnn.Linear(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*got shape \(3, 2\)"):
        layer.params = np.ones((3, 2))


def test_readable_reprs():
    assert repr(jnn.Linear(np.ones((2, 3)))) == "Linear(W ∈ R^{2×3})"
    assert repr(jnn.Affine(np.ones((2, 3)), np.ones(2))) == "Affine(W ∈ R^{2×3}, b ∈ R^2)"
    assert repr(jnn.LeakyReLU(0.2)) == "LeakyReLU(a=0.2)"
    assert repr(jnn.Tanh()) == "Tanh()"
