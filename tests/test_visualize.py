"""Unit visualisation by backprop to the input, against a closed form and numerical
differentiation."""

import numpy as np
import pytest

import jacobian_nn as jnn

rng = np.random.default_rng(6006)


def test_linear_unit_with_l2_follows_the_closed_form_path():
    # z = wᵀx: x_{t+1} = x_t + η(w − 2λx_t), so x_t = x* + (1 − 2ηλ)^t (x_0 − x*), x* = w/(2λ)
    w, x0, eta, lam = rng.normal(size=4), rng.normal(size=4), 0.05, 0.8
    W = np.vstack([rng.normal(size=4), w])  # unit 1 of a two-unit linear layer
    vis = jnn.visualize.maximize_unit(jnn.Network([jnn.Linear(W)]), 1, x0, eta, 300, l2=lam)
    x_star = w / (2 * lam)
    t = np.arange(301)[:, None]
    np.testing.assert_allclose(vis.xs, x_star + (1 - 2 * eta * lam) ** t * (x0 - x_star),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(vis.x, x_star, rtol=1e-10)
    np.testing.assert_allclose(vis.activations, vis.xs @ w, rtol=1e-12)
    assert vis.objectives[-1] == pytest.approx(w @ w / (4 * lam), rel=1e-12)  # max of wᵀx−λ‖x‖²


def test_first_step_is_the_numerical_input_gradient():
    net = jnn.mlp([3, 5, 2], seed=9)
    x0 = rng.normal(size=3)
    vis = jnn.visualize.maximize_unit(net, 1, x0, lr=0.3, steps=1, l2=0.1)
    grad = jnn.numerical_jacobian(lambda x: net(x)[1], x0)[0]
    np.testing.assert_allclose(vis.xs[1], x0 + 0.3 * (grad - 0.2 * x0), rtol=1e-7)


def test_hidden_unit_and_ascent():
    net = jnn.mlp([3, 5, 2], seed=10)
    x0 = rng.normal(size=3)
    vis = jnn.visualize.maximize_unit(net, 4, x0, lr=0.2, steps=40, l2=0.05, layer=2)
    hidden = jnn.Network(list(net.layers[:2]))  # z^(2) = tanh(W_1 x + b_1)
    grad = jnn.numerical_jacobian(lambda x: hidden(x)[4], x0)[0]
    np.testing.assert_allclose(vis.xs[1], x0 + 0.2 * (grad - 0.1 * x0), rtol=1e-7)
    np.testing.assert_allclose(vis.activations, [hidden(x)[4] for x in vis.xs], rtol=1e-14)
    assert vis.objectives[-1] > vis.objectives[0]


def test_input_and_net_untouched_and_errors():
    net = jnn.mlp([2, 3, 1], seed=11)
    w = net.params
    x0 = np.array([0.5, -0.5])
    jnn.visualize.maximize_unit(net, 0, x0, 0.1, 5)
    np.testing.assert_array_equal(x0, [0.5, -0.5])
    np.testing.assert_array_equal(net.params, w)
    with pytest.raises(ValueError, match=r"unit must index the output ∈ R\^1"):
        jnn.visualize.maximize_unit(net, 1, x0, 0.1, 5)
    with pytest.raises(ValueError, match=r"layer must be j in 1 … 3"):
        jnn.visualize.maximize_unit(net, 0, x0, 0.1, 5, layer=4)
    with pytest.raises(ValueError, match=r"layer 1 \(Affine.*expects z\^\(0\) = x ∈ R\^2"):
        jnn.visualize.maximize_unit(net, 0, [1.0, 2.0, 3.0], 0.1, 5)


def test_a_diverging_ascent_says_so_instead_of_blaming_x0():
    # x_{t+1} = x_t + η (w − 2λ x_t) with η = 1e308: x_1 = x_0 + 1e308·w overflows.
    net = jnn.Network([jnn.Linear([[1.0, -2.0]])])
    with pytest.raises(ValueError, match=r"diverged at step 1 .*smaller lr than 1e\+308"):
        jnn.visualize.maximize_unit(net, 0, [1.0, 1.0], lr=1e308, steps=5, l2=0.5)
