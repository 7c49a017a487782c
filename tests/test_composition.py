"""Concat (lecture 000's ⊕) and Residual (z + g(z)): Jacobians against numerical
differentiation and closed forms, inside a Network in all three gradient modes."""

import numpy as np
import pytest
from oracle import flat, numerical_mean_loss_gradient

import jacobian_nn as jnn

rng = np.random.default_rng(6)


def affine(h, k):
    return jnn.Affine(rng.normal(size=(h, k)), rng.normal(size=h))


@pytest.mark.parametrize("make", [
    lambda: jnn.Concat(jnn.Linear(rng.normal(size=(2, 3))), jnn.Tanh()),
    lambda: jnn.Concat(jnn.Sigmoid(), affine(4, 3)),
    lambda: jnn.Concat(jnn.Network([affine(2, 3), jnn.Tanh()]), jnn.Softmax()),
    lambda: jnn.Concat(affine(1, 3), jnn.Concat(jnn.Linear(rng.normal(size=(2, 3))), jnn.Tanh())),
    lambda: jnn.Concat(jnn.custom_layer(lambda z, W: z[:2] ** 2, lambda z, W: np.diag(2 * z)[:2]),
                       jnn.Tanh()),  # f_a does not state its output size
    lambda: jnn.Residual(affine(3, 3)),
    lambda: jnn.Residual(jnn.Network([affine(3, 3), jnn.Tanh(), affine(3, 3)])),
    lambda: jnn.Residual(jnn.Concat(jnn.Linear(rng.normal(size=(1, 3))), affine(2, 3))),
])
def test_jacobians_match_numerical_differentiation(make):
    report = jnn.check_jacobians(make(), rng.normal(size=3))
    assert report.passed, report


def test_concat_closed_form_stacked_and_block_diagonal():
    Wa, Wb = rng.normal(size=(2, 3)), rng.normal(size=(4, 3))
    z = rng.normal(size=3)
    f = jnn.Concat(jnn.Linear(Wa), jnn.Linear(Wb))
    np.testing.assert_array_equal(f(z), np.concatenate([Wa @ z, Wb @ z]))
    np.testing.assert_array_equal(f.D_z(z), np.vstack([Wa, Wb]))
    expected = np.zeros((6, 6 + 12))  # I_2 ⊗ zᵀ top left, I_4 ⊗ zᵀ bottom right
    for i in range(2):
        expected[i, 3 * i:3 * i + 3] = z
    for i in range(4):
        expected[2 + i, 6 + 3 * i:6 + 3 * i + 3] = z
    np.testing.assert_array_equal(f.D_W(z), expected)
    np.testing.assert_array_equal(f.params, np.concatenate([Wa.ravel(), Wb.ravel()]))


def test_concat_params_setter_splits_and_rejects_wrong_length():
    f = jnn.Concat(jnn.Linear(np.zeros((2, 2))), jnn.Bias(np.zeros(2)))
    w = rng.normal(size=6)
    f.params = w
    np.testing.assert_array_equal(f.f_a.params, w[:4].reshape(2, 2))
    np.testing.assert_array_equal(f.f_b.params, w[4:])
    with pytest.raises(ValueError, match="d = 6 params"):
        f.params = np.zeros(5)


def test_residual_closed_form():
    W = rng.normal(size=(3, 3))
    z = rng.normal(size=3)
    f = jnn.Residual(jnn.Linear(W))
    np.testing.assert_allclose(f(z), z + W @ z, rtol=1e-15)
    np.testing.assert_array_equal(f.D_z(z), np.eye(3) + W)
    np.testing.assert_array_equal(f.D_W(z), np.kron(np.eye(3), z))
    assert f.params.shape == (3, 3)


@pytest.mark.parametrize("mode", ["lecture", "jacobian", "reverse"])
def test_network_with_concat_and_residual_gradients_match_numerical(mode):
    net = jnn.Network([
        affine(4, 3),
        jnn.Residual(jnn.Network([affine(4, 4), jnn.Tanh()])),
        jnn.Concat(jnn.Sigmoid(), affine(2, 4)),
        jnn.Concat(jnn.custom_layer(lambda z, W: z[:3] ** 2, lambda z, W: np.diag(2 * z)[:3]),
                   jnn.Identity()),
        affine(2, 9),
    ])
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    loss = jnn.HalfSquaredError()
    value, grads = net.gradients(X, Y, loss, mode=mode)
    assert [g.shape for g in grads] == [L.params.shape for L in net.layers]
    np.testing.assert_allclose(flat(grads), numerical_mean_loss_gradient(net, X, Y, loss),
                               rtol=1e-6, atol=1e-9)
    expected = np.mean([loss(net(x), y) for x, y in zip(X, Y, strict=True)])
    assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("how", ["step", "fit"])
def test_the_trainer_updates_the_weights_inside_concat_and_residual(how):
    # W_1 = W_0 − α ∇_W (mean loss), with the gradient from numerical differentiation.
    net = jnn.Network([
        jnn.Residual(jnn.Linear(rng.normal(size=(3, 3)))),
        jnn.Concat(affine(2, 3), jnn.Residual(jnn.Network([affine(3, 3), jnn.Tanh()]))),
        jnn.Linear(rng.normal(size=(1, 5))),
    ])
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=6)
    loss = jnn.SquaredError()
    w0 = net.params.copy()
    expected = w0 - 0.1 * numerical_mean_loss_gradient(net, X, Y, loss)
    gd = jnn.GradientDescent(0.1, max_iters=1)
    gd.step(net, X, Y, loss) if how == "step" else gd.fit(net, X, Y, loss)
    np.testing.assert_allclose(net.params, expected, rtol=1e-7, atol=1e-10)


def test_trace_shows_outer_chain():
    inner = jnn.Concat(jnn.Linear(rng.normal(size=(2, 3))), jnn.Tanh())
    net = jnn.Network([inner, jnn.Linear(rng.normal(size=(1, 5)))])
    x, y = rng.normal(size=3), rng.normal(size=1)
    tr = net.backprop(x, y, jnn.SquaredError())
    assert tr.m == 2 and tr.z(1).shape == (5,)
    np.testing.assert_array_equal(tr.local_D_z(1), inner.D_z(x))
    np.testing.assert_allclose(tr.D(0), tr.D(1) @ inner.D_z(x), rtol=1e-14)
    np.testing.assert_allclose(tr.D(0), jnn.numerical_jacobian(net, x), rtol=1e-7)
    text = tr.to_text()
    assert "⊕" in text and "D^(1)" in text and "D^(0)" in text


def test_size_errors_name_the_layers():
    with pytest.raises(ValueError, match=r"f_a \(Linear, W ∈ R\^\{2×3\}\).*R\^4"):
        jnn.Concat(jnn.Linear(np.zeros((2, 3))), jnn.Linear(np.zeros((2, 4))))
    with pytest.raises(ValueError, match=r"R\^3 → R\^2"):
        jnn.Residual(jnn.Linear(np.zeros((2, 3))))
    with pytest.raises(TypeError, match="Residual: g must be a jacobian_nn layer"):
        jnn.Residual(np.eye(2))
    with pytest.raises(ValueError, match="expects z"):
        jnn.Concat(jnn.Linear(np.zeros((2, 3))), jnn.Tanh())(np.zeros(4))


def test_user_arrays_untouched():
    z = rng.normal(size=3)
    z0 = z.copy()
    f = jnn.Residual(jnn.Network([affine(3, 3), jnn.Tanh()]))
    f(z), f.D_z(z), f.D_W(z)
    np.testing.assert_array_equal(z, z0)


def test_repr_is_one_line_even_around_a_network():
    f = jnn.Residual(jnn.Network([jnn.Linear(np.eye(2)), jnn.Tanh()]))
    assert repr(f) == "Residual(Network([ f_1: Linear(W ∈ R^{2×2}), f_2: Tanh() ]))"
    assert repr(jnn.Concat(f, jnn.Tanh())).count("\n") == 0


@pytest.mark.parametrize("inner", [jnn.Tanh, jnn.Sigmoid, jnn.Softmax])
@pytest.mark.parametrize("mode", ["lecture", "jacobian", "reverse"])
def test_residual_around_a_layer_whose_derivative_reads_its_output(inner, mode):
    # φ' of Tanh, Sigmoid and Softmax uses g(z); the batched products must get g(z), not
    # the Residual's output z + g(z).
    net = jnn.Network([affine(3, 2), jnn.Residual(inner()), jnn.Linear(rng.normal(size=(1, 3)))])
    X, Y = rng.normal(size=(5, 2)), rng.normal(size=5)
    loss = jnn.HalfSquaredError()
    _, grads = net.gradients(X, Y, loss, mode=mode)
    np.testing.assert_allclose(flat(grads), numerical_mean_loss_gradient(net, X, Y, loss),
                               rtol=1e-6, atol=1e-9)


def _duplicate():
    """A custom layer z ↦ (z, z) that states neither its input nor its output size."""
    return jnn.custom_layer(lambda z, W: np.concatenate([z, z]),
                            lambda z, W: np.vstack([np.eye(len(z))] * 2))


@pytest.mark.parametrize("mode", ["lecture", "jacobian", "reverse"])
def test_a_layer_of_unstated_output_size_inside_concat_gets_gradients_shaped_like_its_weights(mode):
    net = jnn.Network([jnn.Linear([[1.3]]),
                       jnn.Concat(jnn.Network([jnn.Linear([[0.7]]), _duplicate()]), jnn.Tanh()),
                       jnn.Tanh()])
    X, Y = np.array([[0.5], [-1.0]]), np.array([[0.1, 0.2, 0.3], [0.0, -0.5, 1.0]])
    assert net.out_size(1) is None  # found from the data, never guessed
    _, grads = net.gradients(X, Y, jnn.SquaredError(), mode=mode)
    assert [g.shape for g in grads] == [(1, 1), (1,), (0,)]
    np.testing.assert_allclose(flat(grads),
                               numerical_mean_loss_gradient(net, X, Y, jnn.SquaredError()),
                               rtol=1e-7, atol=1e-9)


def test_a_residual_around_a_layer_of_unstated_size_is_accepted_and_checked_on_the_data():
    f = jnn.Residual(jnn.custom_layer(lambda z, W: np.sin(z), lambda z, W: np.diag(np.cos(z)),
                                      in_size=2))
    np.testing.assert_allclose(f([0.5, 1.0]), [0.5 + np.sin(0.5), 1.0 + np.sin(1.0)])
    g = jnn.Residual(jnn.custom_layer(lambda z, W: z[:1], lambda z, W: np.eye(1, len(z)),
                                      in_size=2))
    with pytest.raises(ValueError, match=r"g\(z\) shaped like z"):
        g([0.5, 1.0])
