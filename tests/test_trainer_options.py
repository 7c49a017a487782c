"""Trainer options: regularisation (lecture 001) and minibatch SGD.

Every expected number is computed here from the update formula, not read from the trainer: the
gradients in it come from numerical differentiation or, where a test's name says "agrees with",
from ``Network.gradients`` (itself checked numerically in test_batch_modes)."""

import copy

import numpy as np
import pytest
from oracle import numerical_mean_loss_gradient

import jacobian_nn as jnn
from jacobian_nn.regularization import L1, L2, ElasticNet

rng = np.random.default_rng(600)


def data(n=6, k=2, h=1):
    return rng.normal(size=(n, k)), rng.normal(size=(n, h))


# -- regularisation ---------------------------------------------------------------------------
@pytest.mark.parametrize("penalty, R, grad_R", [
    (L2(0.3), lambda W: np.sum(W ** 2), lambda W: 2 * W),
    (L1(0.3), lambda W: np.sum(np.abs(W)), np.sign),
    (ElasticNet(0.3, 0.7), lambda W: np.sum(0.7 * W ** 2 + np.abs(W)),
     lambda W: 1.4 * W + np.sign(W)),
])
def test_one_penalised_step_by_hand(penalty, R, grad_R):
    W0 = rng.normal(size=(1, 2))
    X, Y = data(3)
    net = jnn.Network([jnn.Linear(W0)])
    hist = jnn.GradientDescent(0.1, max_iters=1, penalty=penalty).fit(net, X, Y, jnn.SquaredError())
    # L_i = (W x_i − y_i)², ∇_W L_i = 2 (W x_i − y_i) x_iᵀ; λ = 0.3
    r = X @ W0.T - Y
    data_loss = np.mean(r[:, 0] ** 2)
    data_grad = np.mean([2 * r[i, 0] * X[i][None, :] for i in range(3)], axis=0)
    expected = W0 - 0.1 * (data_grad + 0.3 * grad_R(W0))
    # atol: W0 − 0.1·(…) can cancel to a small entry, where rtol alone would be too strict
    np.testing.assert_allclose(net.layers[0].W, expected, rtol=1e-14, atol=1e-15)
    assert hist.data_losses[0] == pytest.approx(data_loss, rel=1e-14)
    assert hist.penalties[0] == pytest.approx(0.3 * R(W0), rel=1e-14)
    assert hist.losses[0] == pytest.approx(data_loss + 0.3 * R(W0), rel=1e-14)
    assert hist.penalties[1] == pytest.approx(0.3 * R(expected), rel=1e-13)


@pytest.mark.parametrize("penalty, grad_R_at_W0", [
    (L1(0.3), [[0.0, 1.0]]),  # d|w|/dw taken as 0 at w = 0, sign(w) elsewhere
    (ElasticNet(0.3, 0.7), [[0.0, 2 * 0.7 * 0.7 + 1.0]]),
])
def test_l1_penalties_contribute_nothing_at_a_zero_weight(penalty, grad_R_at_W0):
    W0 = np.array([[0.0, 0.7]])  # a zero weight: where training from zeros starts
    X, Y = data(3)
    net = jnn.Network([jnn.Linear(W0)])
    jnn.GradientDescent(0.1, max_iters=1, penalty=penalty).fit(net, X, Y, jnn.SquaredError())
    r = X @ W0.T - Y
    data_grad = np.mean([2 * r[i, 0] * X[i][None, :] for i in range(3)], axis=0)
    expected = W0 - 0.1 * (data_grad + 0.3 * np.array(grad_R_at_W0))
    np.testing.assert_allclose(net.layers[0].W, expected, rtol=1e-14)


def test_penalised_gradient_matches_numerical_objective_gradient():
    net = jnn.mlp([3, 4, 2], seed=1)
    X, Y = data(5, 3, 2)
    loss, pen, lr = jnn.HalfSquaredError(), ElasticNet(0.05, 2.0), 1e-3
    w0 = net.params
    # R over both Affine layers = over all of w, so the objective's gradient is numerical
    # ∇(mean loss) + λ ∇R(w) with ∇R = 2βw + sign(w) (w has no zero entries here).
    expected = numerical_mean_loss_gradient(net, X, Y, loss) + 0.05 * (4.0 * w0 + np.sign(w0))
    jnn.GradientDescent(lr, max_iters=1, penalty=pen).fit(net, X, Y, loss)
    np.testing.assert_allclose((w0 - net.params) / lr, expected, rtol=1e-6, atol=1e-9)


def test_penalized_layers_selects_layers_agrees_with_gradients_plus_penalty():
    net = jnn.Network([jnn.Linear(rng.normal(size=(3, 2))), jnn.Tanh(),
                       jnn.Linear(rng.normal(size=(1, 3)))])
    plain = copy.deepcopy(net)
    X, Y = data()
    loss = jnn.SquaredError()
    _, grads = plain.gradients(X, Y, loss)
    W1, W3 = net.layers[0].W.copy(), net.layers[2].W.copy()
    gd = jnn.GradientDescent(0.1, max_iters=1, penalty=L2(0.5), penalized_layers=[3])
    hist = gd.fit(net, X, Y, loss)
    np.testing.assert_array_equal(net.layers[0].W, W1 - 0.1 * grads[0])
    np.testing.assert_allclose(net.layers[2].W, W3 - 0.1 * (grads[2] + 2 * 0.5 * W3), rtol=1e-14)
    assert hist.penalties[0] == pytest.approx(0.5 * np.sum(W3 ** 2), rel=1e-14)


def test_step_includes_penalty():
    W0 = rng.normal(size=(1, 2))
    X, Y = data(4)
    net = jnn.Network([jnn.Linear(W0)])
    value = jnn.GradientDescent(0.2, penalty=L2(0.1)).step(net, X, Y, jnn.HalfSquaredError())
    r = X @ W0.T - Y
    assert value == pytest.approx(np.mean(0.5 * r[:, 0] ** 2) + 0.1 * np.sum(W0 ** 2), rel=1e-14)
    expected = W0 - 0.2 * ((r.T @ X) / 4 + 0.2 * W0)
    np.testing.assert_allclose(net.layers[0].W, expected, rtol=1e-14)


def test_history_without_penalty_has_zero_penalties():
    net = jnn.mlp([2, 3, 1], seed=2)
    X, Y = data()
    hist = jnn.GradientDescent(0.1, max_iters=5).fit(net, X, Y, jnn.SquaredError())
    assert hist.penalties == [0.0] * 6 and hist.data_losses == hist.losses


def test_penalty_option_errors():
    net = jnn.Network([jnn.Linear(np.ones((2, 2))), jnn.Tanh()])
    X, Y = data(3, 2, 2)
    with pytest.raises(ValueError, match=r"layer 2 \(Tanh\), which has no parameters"):
        jnn.GradientDescent(0.1, penalty=L2(1.0), penalized_layers=[2]).fit(
            net, X, Y, jnn.SquaredError())
    with pytest.raises(ValueError, match=r"j = 1 … 2"):
        jnn.GradientDescent(0.1, penalty=L2(1.0), penalized_layers=[0]).fit(
            net, X, Y, jnn.SquaredError())
    with pytest.raises(TypeError, match=r"list of lecture indices j, e.g. \[1, 3\]; got 1"):
        jnn.GradientDescent(0.1, penalty=L2(1.0), penalized_layers=1)
    with pytest.raises(TypeError, match="penalty must be None or a jacobian_nn penalty"):
        jnn.GradientDescent(0.1, penalty=0.1)
    with pytest.raises(ValueError, match="lam"):
        L2(-1.0)


# -- minibatches ------------------------------------------------------------------------------
def loop_over_gradients(net, X, Y, loss, lr, iters):
    """The update formula, applied to ``Network.gradients`` in a plain loop."""
    losses = []
    for _ in range(iters):
        value, grads = net.gradients(X, Y, loss)
        losses.append(value)
        for L, g in zip(net.layers, grads, strict=True):
            L.params = L.params - lr * g
    losses.append(net.gradients(X, Y, loss)[0])
    return losses


def test_default_fit_agrees_bit_for_bit_with_a_loop_over_gradients():
    X, Y = data(8, 2, 1)
    net, ref = jnn.mlp([2, 3, 1], seed=3), jnn.mlp([2, 3, 1], seed=3)
    hist = jnn.GradientDescent(0.3, max_iters=20).fit(net, X, Y, jnn.SquaredError())
    losses = loop_over_gradients(ref, X, Y, jnn.SquaredError(), 0.3, 20)
    assert hist.losses == losses
    np.testing.assert_array_equal(net.params, ref.params)


def test_batch_of_all_n_equals_full_batch():
    X, Y = data(8, 2, 1)
    a, b = jnn.mlp([2, 3, 1], seed=4), jnn.mlp([2, 3, 1], seed=4)
    ha = jnn.GradientDescent(0.3, max_iters=20).fit(a, X, Y, jnn.SquaredError())
    hb = jnn.GradientDescent(0.3, max_iters=20, batch_size=8, seed=0).fit(
        b, X, Y, jnn.SquaredError())
    np.testing.assert_allclose(b.params, a.params, rtol=1e-12)  # only the summation order differs
    np.testing.assert_allclose(hb.losses, ha.losses, rtol=1e-12)


def test_minibatch_fit_is_reproducible_and_agrees_with_a_loop_over_batch_gradients():
    X, Y = data(10, 2, 1)
    loss, lr, B, iters = jnn.HalfSquaredError(), 0.2, 3, 9
    nets = [jnn.mlp([2, 4, 1], seed=5) for _ in range(4)]
    h1 = jnn.GradientDescent(lr, max_iters=iters, batch_size=B, seed=42).fit(nets[0], X, Y, loss)
    h2 = jnn.GradientDescent(lr, max_iters=iters, batch_size=B, seed=42).fit(nets[1], X, Y, loss)
    assert h1.losses == h2.losses and h1.n_iters == iters
    np.testing.assert_array_equal(nets[0].params, nets[1].params)
    every = jnn.GradientDescent(lr, max_iters=iters, batch_size=B, seed=42,
                                record="update").fit(nets[3], X, Y, loss)

    ref, gen = nets[2], np.random.default_rng(42)
    losses, updates = [], 0
    while updates < iters:  # epochs of ⌈10/3⌉ = 4 batches: 3, 3, 3, 1 examples
        order = gen.permutation(10)
        for start in range(0, 10, B):
            if updates == iters:
                break
            idx = order[start:start + B]
            losses.append(np.mean([loss(ref(x), y) for x, y in zip(X, Y, strict=True)]))
            _, grads = ref.gradients(X[idx], Y[idx], loss)
            for L, g in zip(ref.layers, grads, strict=True):
                L.params = L.params - lr * g
            updates += 1
    losses.append(np.mean([loss(ref(x), y) for x, y in zip(X, Y, strict=True)]))
    np.testing.assert_array_equal(nets[0].params, ref.params)
    np.testing.assert_array_equal(nets[3].params, ref.params)
    # record="update": the full-data loss of every W_t; the default: at each epoch's start
    # (updates 0, 4, 8) and of the returned weights (update 9).
    np.testing.assert_allclose(every.losses, losses, rtol=1e-13)
    assert every.iters == list(range(iters + 1))
    assert h1.iters == [0, 4, 8, 9]
    np.testing.assert_allclose(h1.losses, [losses[t] for t in h1.iters], rtol=1e-13)
    assert h1.data_losses == h1.losses


def test_other_seed_other_path():
    X, Y = data(10, 2, 1)
    a, b = jnn.mlp([2, 4, 1], seed=5), jnn.mlp([2, 4, 1], seed=5)
    jnn.GradientDescent(0.2, max_iters=3, batch_size=2, seed=1).fit(a, X, Y, jnn.SquaredError())
    jnn.GradientDescent(0.2, max_iters=3, batch_size=2, seed=2).fit(b, X, Y, jnn.SquaredError())
    assert not np.array_equal(a.params, b.params)


def test_minibatch_with_penalty_uses_batch_mean_plus_penalty():
    W0 = rng.normal(size=(1, 2))
    X, Y = data(5)
    net = jnn.Network([jnn.Linear(W0)])
    jnn.GradientDescent(0.1, max_iters=1, batch_size=2, seed=7, penalty=L2(0.2)).fit(
        net, X, Y, jnn.SquaredError())
    idx = np.random.default_rng(7).permutation(5)[:2]
    r = X[idx] @ W0.T - Y[idx]
    expected = W0 - 0.1 * ((2 * r.T @ X[idx]) / 2 + 0.4 * W0)
    np.testing.assert_allclose(net.layers[0].W, expected, rtol=1e-14)


def test_batch_options_validated():
    with pytest.raises(ValueError, match="batch_size"):
        jnn.GradientDescent(0.1, batch_size=0)
    with pytest.raises(TypeError, match="seed"):
        jnn.GradientDescent(0.1, batch_size=2, seed=1.5)

