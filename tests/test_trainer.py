"""Full-batch gradient descent: by hand, the tanh example, XOR and lecture 003's data."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

import jacobian_nn as jnn


def test_one_step_by_hand_on_a_one_weight_model():
    # ŷ = w x, L = (ŷ − y)², mean over n: ∇_w = (2/n) Σ (w x_i − y_i) x_i.
    X, Y, w = np.array([[1.0], [2.0], [-1.0]]), np.array([[1.0], [3.0], [0.5]]), 0.5
    grad = 2 / 3 * ((w * 1 - 1) * 1 + (w * 2 - 3) * 2 + (w * -1 - 0.5) * -1)
    net = jnn.Network([jnn.Linear([[w]])])
    loss_before = jnn.GradientDescent(lr=0.1).step(net, X, Y, jnn.SquaredError())
    assert loss_before == pytest.approx(((0.5 - 1) ** 2 + (1 - 3) ** 2 + (-0.5 - 0.5) ** 2) / 3)
    assert net.layers[0].W[0, 0] == pytest.approx(w - 0.1 * grad, rel=1e-14)


def test_all_layers_step_from_the_same_weights():
    # f(x) = b · (a x): ∂L/∂a and ∂L/∂b are both taken at (a_t, b_t), then both updated.
    a, b, x, y, lr = 2.0, -1.5, 0.7, 1.0, 0.05
    r = b * a * x - y
    ga, gb = 2 * r * b * x, 2 * r * a * x
    net = jnn.Network([jnn.Linear([[a]]), jnn.Linear([[b]])])
    jnn.GradientDescent(lr=lr).step(net, [[x]], [[y]], jnn.SquaredError())
    assert net.layers[0].W[0, 0] == pytest.approx(a - lr * ga, rel=1e-14)
    assert net.layers[1].W[0, 0] == pytest.approx(b - lr * gb, rel=1e-14)


def test_the_tanh_example_update_through_the_trainer():
    ex = jnn.examples.tanh_worked_example()
    # By hand (lecture 002): δ1 = (x3 − y) · W1 ∘ (1 − tanh² x1); W0 ← W0 − 0.2 δ1 x0ᵀ.
    t1, t2 = math.tanh(0.7), math.tanh(0.3)
    r = t1 - t2 - 0.5
    d1 = (r * (1 - t1 ** 2), -r * (1 - t2 ** 2))
    W0_new = [[1 - 0.2 * d1[0] * 1.0, -3 - 0.2 * d1[0] * 0.1],
              [0.2 - 0.2 * d1[1] * 1.0, 1 - 0.2 * d1[1] * 0.1]]
    W1_new = [[1 - 0.2 * r * t1, -1 - 0.2 * r * t2]]
    hist = jnn.GradientDescent(lr=ex.lr, max_iters=1, mode="lecture").fit(
        ex.network, ex.x[None, :], ex.y[None, :], ex.loss)
    assert_allclose(ex.network.layers[0].W, W0_new, rtol=1e-14)
    assert_allclose(ex.network.layers[2].W, W1_new, rtol=1e-14)
    assert hist.losses[0] == pytest.approx(0.5 * r ** 2, rel=1e-14)
    assert_allclose(ex.network.layers[0].W, [[1.02, -3.0], [0.17, 1.0]], atol=0.005)


def test_xor_is_learned_by_a_2_2_1_tanh_network():
    X, Y = jnn.datasets.xor()
    net = jnn.mlp([2, 2, 1], seed=3)
    hist = jnn.GradientDescent(lr=0.5, max_iters=2000).fit(net, X, Y, jnn.SquaredError())
    # Threshold: a mean squared error below 0.01 forces every |ŷ_i − y_i| < 0.2 (the sum of
    # the four squares is < 0.04), so thresholding ŷ at 0.5 classifies all four inputs right.
    # The best any linear model can do on XOR is 0.25 (predict 0.5 everywhere).
    assert hist.final_loss < 0.01
    assert np.array_equal(net(X) > 0.5, Y > 0.5)
    assert hist.losses[0] > 0.25 and hist.stop_reason == "max_iters"


def test_lecture_003_perceptron_converges_to_least_squares():
    net, X, Y = jnn.examples.perceptron()
    w_star = float((X * Y).sum() / (X * X).sum())  # closed form of min Σ (w x_i − y_i)²
    # The error in w contracts by 1 − lr · mean(x²) = 1 − 0.005 · 29.3125 ≈ 0.85 per update.
    jnn.GradientDescent(lr=0.005, max_iters=300).fit(net, X, Y, jnn.HalfSquaredError())
    assert net.layers[0].W[0, 0] == pytest.approx(w_star, rel=1e-12)
    assert w_star == pytest.approx(117.8 / 117.25)


def test_history_records_the_loss_before_each_update():
    X, Y = np.array([[1.0], [2.0]]), np.array([[1.0], [1.0]])
    net = jnn.Network([jnn.Linear([[0.0]])])
    hist = jnn.GradientDescent(lr=0.1, max_iters=3).fit(net, X, Y, jnn.SquaredError())
    # w_0 = 0 and w_{t+1} = w_t − 0.1 · (2/2) Σ (w_t x_i − 1) x_i = w_t − 0.1 (5 w_t − 3).
    ws = [0.0]
    for _ in range(3):
        ws.append(ws[-1] - 0.1 * (5 * ws[-1] - 3))
    expected = [((w - 1) ** 2 + (2 * w - 1) ** 2) / 2 for w in ws]
    assert_allclose(hist.losses, expected, rtol=1e-14)
    assert hist.n_iters == 3 and len(hist.losses) == 4
    assert net.layers[0].W[0, 0] == pytest.approx(ws[-1])


def test_tolerance_stops_early():
    X, Y = np.array([[1.0]]), np.array([[2.0]])
    net = jnn.Network([jnn.Linear([[0.0]])])
    hist = jnn.GradientDescent(lr=0.25, max_iters=10_000, tol=1e-10).fit(
        net, X, Y, jnn.SquaredError())
    assert hist.converged and hist.n_iters < 100
    assert abs(hist.losses[-1] - hist.losses[-2]) < 1e-10


def test_divergence_restores_the_last_finite_weights():
    X, Y = np.array([[3.0], [-2.0]]), np.array([[1.0], [0.0]])
    net = jnn.Network([jnn.Linear([[1.0]]), jnn.Linear([[1.0]])])
    with pytest.warns(RuntimeWarning, match=r"diverged.*lr = 50"):
        hist = jnn.GradientDescent(lr=50.0, max_iters=100).fit(net, X, Y, jnn.SquaredError())
    assert hist.diverged
    assert np.all(np.isfinite(net.params))
    assert np.isfinite(hist.final_loss)


def test_step_refuses_a_non_finite_update_and_leaves_every_layer_unchanged():
    # ŷ = w x + b with x = 1e-300, y = 1e300: ∇_w = (ŷ − y) x ≈ −1 (update finite) but
    # ∇_b = ŷ − y ≈ −1e300, so b − 1e10 ∇_b overflows. Neither update may be applied.
    net = jnn.Network([jnn.Linear([[1.0]]), jnn.Bias([0.0])])
    before = [L.params.copy() for L in net.layers]
    with np.errstate(over="ignore"), pytest.raises(ValueError, match="non-finite.*unchanged"):
        jnn.GradientDescent(lr=1e10).step(net, [[1e-300]], [[1e300]], jnn.HalfSquaredError())
    for layer, W in zip(net.layers, before, strict=True):
        assert np.array_equal(layer.params, W)


def test_a_rising_loss_is_not_convergence():
    # ŷ = w, y = 1, L = (w − 1)²: w ← w − 1.05·2(w − 1), so e = w − 1 obeys e ← −1.1 e and
    # L_t = 1.21^t. The loss changes by more than tol every step but rises: never "converged".
    net = jnn.Network([jnn.Linear([[0.0]])])
    h = jnn.GradientDescent(lr=1.05, max_iters=10, tol=1e-6).fit(
        net, [[1.0]], [[1.0]], jnn.SquaredError())
    assert h.stop_reason == "max_iters"
    assert_allclose(h.losses, 1.21 ** np.arange(11), rtol=1e-12)


class CountingLoss(jnn.HalfSquaredError):
    """Counts how often the batch loss and its gradient are evaluated."""

    def __init__(self):
        self.value_calls = self.grad_calls = 0

    def values(self, Yhat, Y):
        self.value_calls += 1
        return super().values(Yhat, Y)

    def grads(self, Yhat, Y):
        self.grad_calls += 1
        return super().grads(Yhat, Y)


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("mode", ["jacobian", "reverse"])
def test_fit_for_k_updates_evaluates_k_gradients_and_k_plus_one_losses(k, mode):
    X, Y = jnn.datasets.xor()
    loss = CountingLoss()
    hist = jnn.GradientDescent(lr=0.1, max_iters=k, mode=mode).fit(jnn.mlp([2, 2, 1]), X, Y, loss)
    assert (loss.grad_calls, loss.value_calls) == (k, k + 1)
    assert len(hist.losses) == k + 1 and hist.iters == list(range(k + 1))
