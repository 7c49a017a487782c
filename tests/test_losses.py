"""Losses: closed-form values, gradients against numerical differentiation, saturation."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from oracle import num_grad

import jacobian_nn as jnn
from jacobian_nn.losses import DomainError


def test_values_by_hand():
    yhat, y = np.array([1.0, 2.0]), np.array([0.5, 2.0])
    assert jnn.SquaredError()(yhat, y) == pytest.approx(0.25)
    assert jnn.HalfSquaredError()(yhat, y) == pytest.approx(0.125)
    p, t = np.array([0.2, 0.5, 0.3]), np.array([0.0, 1.0, 0.0])
    assert jnn.CrossEntropy()(p, t) == pytest.approx(np.log(2.0))
    assert jnn.BinaryCrossEntropy()(np.array([0.8]), np.array([1.0])) == pytest.approx(
        -np.log(0.8))
    assert jnn.BinaryCrossEntropy()(np.array([0.8]), np.array([0.0])) == pytest.approx(
        -np.log(0.2))


def test_softmax_cross_entropy_reproduces_lecture_001():
    # Lecture 001: scores (3.2, 5.1, −1.7) → exp (24.5, 164.0, 0.18) → probabilities
    # (0.13, 0.87, 0.00); the loss of the first class is −log 0.13.
    scores = np.array([3.2, 5.1, -1.7])
    e = np.exp(scores)
    assert_allclose(e, [24.5, 164.0, 0.18], atol=0.05)
    p = e / e.sum()
    assert_allclose(p, [0.13, 0.87, 0.00], atol=0.005)
    loss = jnn.SoftmaxCrossEntropy()
    assert loss(scores, [1.0, 0.0, 0.0]) == pytest.approx(-np.log(p[0]), rel=1e-13)
    assert loss(scores, [1.0, 0.0, 0.0]) == pytest.approx(2.04, abs=0.005)
    assert_allclose(loss.grad(scores, [1.0, 0.0, 0.0]), p - [1.0, 0.0, 0.0], rtol=1e-12)


CASES = [
    (jnn.SquaredError(), lambda r: r.normal(size=4), lambda r: r.normal(size=4)),
    (jnn.HalfSquaredError(), lambda r: r.normal(size=4), lambda r: r.normal(size=4)),
    (jnn.CrossEntropy(), lambda r: r.uniform(0.1, 0.9, 4), lambda r: r.dirichlet(np.ones(4))),
    (jnn.SoftmaxCrossEntropy(), lambda r: 3 * r.normal(size=4), lambda r: np.eye(4)[1]),
    (jnn.SoftmaxCrossEntropy(), lambda r: 3 * r.normal(size=4), lambda r: r.dirichlet(np.ones(4))),
    (jnn.BinaryCrossEntropy(), lambda r: r.uniform(0.1, 0.9, 3), lambda r: r.uniform(0, 1, 3)),
]


@pytest.mark.parametrize("loss,make_yhat,make_y", CASES)
def test_gradients_match_numerical_differentiation(loss, make_yhat, make_y):
    rng = np.random.default_rng(0)
    for _ in range(3):
        yhat, y = make_yhat(rng), make_y(rng)
        g = loss.grad(yhat, y)
        assert g.shape == yhat.shape
        assert_allclose(g, num_grad(lambda v, y=y: loss(v, y), yhat), rtol=1e-7, atol=1e-9)


def test_softmax_cross_entropy_is_stable_for_saturated_scores():
    loss = jnn.SoftmaxCrossEntropy()
    scores = np.array([1000.0, -1000.0, 0.0])
    assert loss(scores, [1.0, 0.0, 0.0]) == pytest.approx(0.0, abs=1e-300)
    assert loss(scores, [0.0, 1.0, 0.0]) == pytest.approx(2000.0)
    assert_allclose(loss.grad(scores, [0.0, 1.0, 0.0]), [1.0, -1.0, 0.0], atol=1e-300)
    shifted = np.array([1.0, -2.0, 0.5])  # shift invariance checked numerically at + 1000
    assert_allclose(loss.grad(shifted + 1000, [0, 1.0, 0]), loss.grad(shifted, [0, 1.0, 0]),
                    rtol=1e-12)
    assert_allclose(loss.grad(shifted + 1000, [0, 1.0, 0]),
                    num_grad(lambda v: loss(v, [0, 1.0, 0]), shifted + 1000), atol=1e-8)


def test_binary_cross_entropy_at_saturation():
    loss = jnn.BinaryCrossEntropy()
    # Confident and right: loss 0 and the finite gradient −1/ŷ = −1 (y = 1), 1/(1 − ŷ) = 1
    # (y = 0) — the other term has coefficient 0 and must not produce 0/0.
    assert loss(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0
    assert_allclose(loss.grad(np.array([1.0, 0.0]), np.array([1.0, 0.0])), [-1.0, 1.0])
    # Nearly saturated: finite and equal to the closed form −y/ŷ + (1 − y)/(1 − ŷ).
    yhat, y = np.array([1 - 1e-12, 1e-12]), np.array([0.3, 0.6])
    assert_allclose(loss.grad(yhat, y), -y / yhat + (1 - y) / (1 - yhat), rtol=1e-6)


@pytest.mark.parametrize("score", [740.0, 745.0])
def test_a_probability_whose_gradient_overflows_is_a_saturated_head_too(score):
    # softmax([s, 0]) = [1, e^{−s}]: e^{−740} ≈ 4.2e-322 is subnormal, y/ŷ = 0.5 · 2.4e321 is
    # inf, and inf · D_z softmax would be NaN; e^{−745} rounds to 0 itself. Both are named.
    net = jnn.Network([jnn.Linear([[score], [0.0]]), jnn.Softmax()])
    assert 0.0 <= net([1.0])[1] < 1e-320
    for call in (lambda: net.backprop([1.0], [0.5, 0.5], jnn.CrossEntropy()),
                 lambda: net.gradients([[1.0]], [[0.5, 0.5]], jnn.CrossEntropy(), mode="reverse"),
                 lambda: jnn.CrossEntropy().grad(net([1.0]), [0.5, 0.5])):
        with pytest.raises(DomainError, match=r"output 1.*SoftmaxCrossEntropy\(\) on the raw"):
            call()
    # σ(−740) is subnormal too: against y = 1 the gradient −y/ŷ overflows
    sig = jnn.Network([jnn.Linear([[score]]), jnn.Sigmoid()])
    with pytest.raises(DomainError, match=r"SigmoidBinaryCrossEntropy\(\) on the raw"):
        sig.backprop([-1.0], [1.0], jnn.BinaryCrossEntropy())
    # far from overflow it is an ordinary, finite probability: y/ŷ = 0.5 · e^{700}
    small = jnn.Network([jnn.Linear([[700.0], [0.0]]), jnn.Softmax()])
    grad = small.backprop([1.0], [0.5, 0.5], jnn.CrossEntropy()).grad(1)
    assert_allclose(grad, [[0.5], [-0.5]], rtol=1e-12)  # softmax(ŷ) − y times x, by hand


def test_cross_entropy_ignores_zero_targets_even_at_zero_probability():
    loss = jnn.CrossEntropy()
    assert loss(np.array([0.0, 1.0]), np.array([0.0, 1.0])) == 0.0
    assert_allclose(loss.grad(np.array([0.0, 0.5]), np.array([0.0, 1.0])), [0.0, -2.0])


@pytest.mark.parametrize("loss,make_yhat,make_y", CASES)
def test_values_and_grads_of_a_batch_match_numerical_differentiation_row_by_row(loss, make_yhat,
                                                                               make_y):
    rng = np.random.default_rng(2)
    Yhat = np.stack([make_yhat(rng) for _ in range(3)])
    Y = np.stack([make_y(rng) for _ in range(3)])
    values, grads = loss.values_and_grads(Yhat, Y)
    for i in range(3):
        assert values[i] == pytest.approx(loss(Yhat[i], Y[i]), rel=1e-13)
        assert_allclose(grads[i], num_grad(lambda v, y=Y[i]: loss(v, y), Yhat[i]),
                        rtol=1e-7, atol=1e-9)


def test_batch_helpers_are_row_by_row():
    rng = np.random.default_rng(1)
    Yhat, Y = rng.normal(size=(5, 3)), rng.dirichlet(np.ones(3), 5)
    for loss in [jnn.SquaredError(), jnn.SoftmaxCrossEntropy()]:
        assert_allclose(loss.values(Yhat, Y), [loss(a, b) for a, b in zip(Yhat, Y, strict=True)])
        assert_allclose(loss.grads(Yhat, Y),
                        np.stack([loss.grad(a, b) for a, b in zip(Yhat, Y, strict=True)]))


def test_softmax_cross_entropy_batch_equals_scipy_special():
    # The loss computes logΣexp and softmax by hand, from one exponential (measured ~10× faster
    # than calling both scipy functions); scipy.special is the oracle, rows of any scale.
    from scipy import special

    rng = np.random.default_rng(7)
    for h in [1, 3, 10, 40]:
        S = rng.normal(size=(50, h)) * rng.choice([1.0, 30.0, 700.0], size=(50, 1))
        Y = rng.dirichlet(np.ones(h), 50) * rng.uniform(0.5, 2.0, (50, 1))  # Σ_k y_k ≠ 1 too
        values, grads = jnn.SoftmaxCrossEntropy().values_and_grads(S, Y)
        t = Y.sum(axis=1)
        assert_allclose(values, t * special.logsumexp(S, axis=1) - (Y * S).sum(axis=1),
                        rtol=1e-12, atol=1e-12)
        assert_allclose(grads, t[:, None] * special.softmax(S, axis=1) - Y, rtol=1e-12,
                        atol=1e-15)


@pytest.mark.parametrize("yhat", [[0.2, 1.2], [-0.1, 1.1]])
def test_cross_entropy_rejects_outputs_that_are_not_probabilities(yhat):
    # −log 1.2 < 0: without the check a network missing its Softmax gets a negative "loss".
    with pytest.raises(ValueError, match=r"ŷ must hold probabilities in \[0, 1\]"):
        jnn.CrossEntropy()(yhat, [0.0, 1.0])
    net = jnn.Network([jnn.Linear([[2.0]])])  # ŷ = 2
    for mode in ("lecture", "jacobian", "reverse"):
        with pytest.raises(ValueError, match=r"ŷ must hold probabilities in \[0, 1\]"):
            net.gradients([[1.0]], [[1.0]], jnn.CrossEntropy(), mode=mode)


def test_a_fit_checks_its_targets_once_and_the_outputs_at_every_evaluation():
    calls = {"targets": 0, "values": 0}

    class Counting(jnn.CrossEntropy):
        def check_targets(self, Y):
            calls["targets"] += 1
            super().check_targets(Y)

        def check_values(self, Yhat, Y):
            calls["values"] += 1
            super().check_values(Yhat, Y)

    rng = np.random.default_rng(4)
    net = jnn.Network([jnn.Affine(rng.normal(size=(3, 2)), np.zeros(3)), jnn.Softmax()])
    X, Y = rng.normal(size=(6, 2)), jnn.datasets.one_hot(rng.integers(0, 3, 6), 3)
    jnn.GradientDescent(0.1, max_iters=4).fit(net, X, Y, Counting())
    assert calls == {"targets": 1, "values": 5}  # Y once; ŷ at W_0 … W_4 (4 updates, last loss)
    with pytest.raises(ValueError, match="probability vector"):  # a bad Y is still refused whole
        jnn.GradientDescent(0.1, max_iters=4).fit(net, X, 2 * Y, Counting())
