"""Per-example gradients and Jacobians: the batched chain against lecture 000's loop
(``backprop`` on one example at a time) and against numerical differentiation."""

import numpy as np
import pytest
from oracle import numerical_mean_loss_gradient

import jacobian_nn as jnn

rng = np.random.default_rng(606)


def networks():
    yield jnn.mlp([3, 4, 2], seed=7)
    yield jnn.Network([jnn.Linear(rng.normal(size=(4, 3))), jnn.Swish(),
                       jnn.Concat(jnn.Tanh(), jnn.Bias(rng.normal(size=4))),
                       jnn.Affine(rng.normal(size=(2, 8)), rng.normal(size=2))])
    yield jnn.Network([jnn.Residual(jnn.Affine(rng.normal(size=(3, 3)), rng.normal(size=3))),
                       jnn.Conv1D(rng.normal(size=2)), jnn.Linear(rng.normal(size=(2, 3)))])


@pytest.mark.parametrize("net", list(networks()))
def test_per_example_gradients_match_lecture_loop_and_mean(net):
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    loss = jnn.SquaredError()
    per = net.per_example_gradients(X, Y, loss)
    assert [p.shape for p in per] == [(5, *L.params.shape) for L in net.layers]
    for i in range(5):
        tr = net.backprop(X[i], Y[i], loss)
        for j in range(1, net.m + 1):
            np.testing.assert_allclose(per[j - 1][i], tr.grad(j), rtol=1e-12, atol=1e-14)
    _, grads = net.gradients(X, Y, loss)
    for p, g in zip(per, grads, strict=True):
        np.testing.assert_allclose(p.mean(axis=0), g, rtol=1e-12, atol=1e-14)


def test_per_example_gradient_of_one_example_is_numerical():
    net = jnn.mlp([2, 3, 1], activation=jnn.Sigmoid, seed=8)
    X, Y = rng.normal(size=(4, 2)), rng.uniform(size=(4, 1))
    loss = jnn.BinaryCrossEntropy()
    net2 = jnn.Network([*net.layers, jnn.Sigmoid()])
    per = net2.per_example_gradients(X, Y, loss)
    numeric = numerical_mean_loss_gradient(net2, X[2:3], Y[2:3], loss)  # example i = 2 alone
    np.testing.assert_allclose(np.concatenate([p[2].ravel() for p in per]), numeric,
                               rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("net", list(networks()))
def test_jacobians_match_lecture_loop(net):
    X = rng.normal(size=(4, 3))
    D_W, D_x = net.jacobians(X)
    for i in range(4):
        tr = net.backprop(X[i], np.zeros(2), jnn.SquaredError())
        np.testing.assert_allclose(D_x[i], tr.D(0), rtol=1e-12, atol=1e-14)
        for j in range(1, net.m + 1):
            np.testing.assert_allclose(D_W[j - 1][i], tr.D_W(j), rtol=1e-12, atol=1e-14)


def test_per_example_gradients_checks_input():
    net = jnn.mlp([3, 2], seed=0)
    with pytest.raises(ValueError, match="n = 2 examples"):
        net.per_example_gradients(np.zeros((2, 3)), np.zeros((3, 2)), jnn.SquaredError())
