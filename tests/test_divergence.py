"""Divergence and Ctrl-C during training: never NaN weights, always one whole W_t."""


import signal

import numpy as np
import pytest
from support import InterruptingLoss, small_net

import jacobian_nn as jnn
from jacobian_nn import trainer as trainer_module

RNG = np.random.default_rng(2024)

def replay(net, X, Y, loss, lr, n):
    """W_n by n single steps, outside fit (so no divergence handling is involved)."""
    with np.errstate(all="ignore"):
        for _ in range(n):
            jnn.GradientDescent(lr).step(net, X, Y, loss)
    return net.params


def test_lr_50_diverges_and_keeps_the_last_finite_weights():
    X, Y = jnn.datasets.xor()
    f, start = jnn.mlp([2, 3, 1], seed=0), jnn.mlp([2, 3, 1], seed=0)
    with pytest.warns(RuntimeWarning) as record:
        hist = jnn.GradientDescent(lr=50, max_iters=5000).fit(f, X, Y, jnn.SquaredError())
    assert len(record) == 1  # ours only: numpy's overflow warnings are not let through
    s = hist.n_iters
    message = str(record[0].message)
    assert f"diverged at update {s + 1}" in message and "lr = 50" in message
    assert f"restored to the weights after update {s}" in message
    assert hist.stop_reason == "diverged" and hist.diverged and len(hist.losses) == s + 1
    assert np.all(np.isfinite(f.params)) and np.isfinite(hist.final_loss)
    # The returned weights are W_s, replayed step by step, and their loss is losses[-1] …
    np.testing.assert_array_equal(f.params, replay(start, X, Y, jnn.SquaredError(), 50, s))
    value = np.mean([jnn.SquaredError()(f(x), y) for x, y in zip(X, Y, strict=True)])
    assert np.isclose(value, hist.final_loss, rtol=1e-12)
    # … while one more step makes the loss non-finite or 10⁴ times the starting loss.
    with np.errstate(all="ignore"):
        jnn.GradientDescent(50).step(start, X, Y, jnn.SquaredError())
        after = np.mean([jnn.SquaredError()(start(x), y) for x, y in zip(X, Y, strict=True)])
    assert not np.isfinite(after) or after > 1e4 * hist.losses[0]


def test_a_loss_growing_by_orders_of_magnitude_is_divergence_before_overflow():
    # Lecture 003's perceptron y = w x with w ← w − ∇w (lr = 1) grows the loss without bound.
    net, X, Y = jnn.examples.perceptron()
    with pytest.warns(RuntimeWarning, match="more than 10000 times its start"):
        hist = jnn.GradientDescent(lr=1.0, max_iters=100).fit(net, X, Y, jnn.SquaredError())
    assert hist.stop_reason == "diverged" and all(v <= 1e4 * hist.losses[0] for v in hist.losses)
    w = float(net.layers[0].params.ravel()[0])
    by_hand = np.mean((w * X[:, 0] - Y[:, 0]) ** 2)  # the restored weight's loss, by hand
    assert by_hand == pytest.approx(hist.final_loss, rel=1e-12)


def test_outputs_leaving_the_loss_domain_stop_fit_like_divergence():
    # ŷ = w·x + b starts in [0, 1] with targets 1, then grows past 1, where CrossEntropy's
    # −y log ŷ is no longer a loss of probabilities: fit must stop and keep the last W_t whose
    # ŷ was in [0, 1], not raise and lose the history.
    X = np.array([[0.5, 0.2], [0.1, 0.9], [0.3, 0.3]])
    net = jnn.Network([jnn.Affine([[0.1, 0.1]], [0.5])])
    with pytest.warns(RuntimeWarning, match="ŷ left the loss's domain: CrossEntropy"):
        hist = jnn.GradientDescent(0.05, max_iters=200).fit(net, X, np.ones(3),
                                                            jnn.CrossEntropy())
    assert hist.stop_reason == "diverged" and 0 < hist.n_iters < 200
    yhat = net(X)[:, 0]
    assert np.all((yhat >= 0) & (yhat <= 1))
    assert hist.final_loss == pytest.approx(np.mean(-np.log(yhat)), rel=1e-12)


def test_a_restored_nested_network_keeps_writable_weights():
    # Restoring W_t after divergence must not leave the inner layers with read-only params
    # (a Network's params is a read-only copy; the layers must get arrays of their own).
    inner = jnn.Network([jnn.Linear(np.full((3, 2), 0.5)), jnn.Tanh()])
    net = jnn.Network([inner, jnn.Linear(np.full((1, 3), 0.5))])
    before = net.params.copy()
    with pytest.warns(RuntimeWarning, match="diverged at update 1"):
        jnn.GradientDescent(1e308, max_iters=5).fit(net, np.ones((4, 2)), np.ones(4),
                                                     jnn.SquaredError())
    np.testing.assert_array_equal(net.params, before)
    inner.layers[0].params[0, 0] = 2.0  # layer.params is writable, as API.md promises
    assert net.params[0] == 2.0


def test_a_weight_overflowing_stops_before_it_is_assigned():
    # ∇_w mean (w x − y)² = mean 2(w x − y) x = (2(0.5 − 30) + 4(1 + 10)) / 2 = −7.5, so the
    # first step w − 1e308 · (−7.5) overflows while the loss at w = 0.5 is finite.
    X, Y = np.array([[1.0], [2.0]]), np.array([[30.0], [-10.0]])
    f = jnn.Network([jnn.Linear([[0.5]])])
    with pytest.warns(RuntimeWarning, match="update 1: a weight became non-finite.*lr = 1e"):
        hist = jnn.GradientDescent(lr=1e308, max_iters=10).fit(f, X, Y, jnn.SquaredError())
    assert hist.stop_reason == "diverged" and hist.n_iters == 0
    assert hist.losses == [(29.5**2 + 11.0**2) / 2]
    np.testing.assert_array_equal(f.params, [0.5])


@pytest.mark.parametrize("mode", ["jacobian", "lecture"])
def test_ctrl_c_keeps_the_last_completed_update_and_the_history(mode):
    X, Y = RNG.normal(size=(5, 2)), RNG.normal(size=(5, 1))
    f, reference = small_net(), small_net()
    t = 6 if mode == "jacobian" else 6 * len(X)  # "lecture" asks the loss once per example
    hist = jnn.GradientDescent(0.1, max_iters=50, mode=mode).fit(f, X, Y, InterruptingLoss(t))
    ref = jnn.GradientDescent(0.1, max_iters=6, mode=mode).fit(reference, X, Y,
                                                                jnn.HalfSquaredError())
    assert hist.stop_reason == "interrupted" and hist.n_iters == 6
    assert hist.losses == ref.losses[:6]  # the loss of W_6 was being computed when stopped
    np.testing.assert_array_equal(f.params, reference.params)


def fit_with_install(monkeypatch, during_install, loss=None):
    """Fit small_net for up to 50 updates with ``during_install(calls, net, params)`` run at
    each call of the trainer's weight install (before it); return the history, the network
    and a reference network trained for 3 updates without interruption."""
    X, Y = RNG.normal(size=(5, 2)), RNG.normal(size=(5, 1))
    f, reference = small_net(), small_net()
    real_install, calls = trainer_module._install, []

    def install(net_, params):
        calls.append(1)
        during_install(len(calls), net_, params)
        real_install(net_, params)

    monkeypatch.setattr(trainer_module, "_install", install)
    hist = jnn.GradientDescent(0.1, max_iters=50).fit(f, X, Y, loss or jnn.HalfSquaredError())
    monkeypatch.undo()
    jnn.GradientDescent(0.1, max_iters=3).fit(reference, X, Y, jnn.HalfSquaredError())
    return hist, f, reference


def test_ctrl_c_in_the_middle_of_an_update_leaves_no_mixed_weights(monkeypatch):
    def first_layer_then_interrupt(call, net_, params):
        if call == 4:  # during update 4: layer 1 gets W_4, then Ctrl-C
            net_.layers[0].params = params[0]
            raise KeyboardInterrupt

    hist, f, reference = fit_with_install(monkeypatch, first_layer_then_interrupt)
    assert hist.stop_reason == "interrupted" and hist.n_iters == 3 and len(hist.losses) == 4
    np.testing.assert_array_equal(f.params, reference.params)  # all layers at W_3


def test_a_second_ctrl_c_during_the_clean_up_does_not_escape_fit(monkeypatch):
    def interrupt_twice(call, net_, params):
        if call == 4:
            raise KeyboardInterrupt  # the first Ctrl-C, as update 4's weights go in
        if call == 5:  # the clean-up's install: Ctrl-C again, for real
            signal.raise_signal(signal.SIGINT)

    hist, f, reference = fit_with_install(monkeypatch, interrupt_twice)
    assert hist.stop_reason == "interrupted" and hist.n_iters == 3
    np.testing.assert_array_equal(f.params, reference.params)


def test_a_second_ctrl_c_after_one_during_the_gradient_does_not_escape_fit(monkeypatch):
    def interrupt_the_clean_up(call, net_, params):
        if call == 4:  # the clean-up's install, after Ctrl-C while computing ∇ at W_3
            signal.raise_signal(signal.SIGINT)

    hist, f, reference = fit_with_install(monkeypatch, interrupt_the_clean_up,
                                          InterruptingLoss(3))
    assert hist.stop_reason == "interrupted" and hist.n_iters == 3
    np.testing.assert_array_equal(f.params, reference.params)


def test_ctrl_c_while_new_weights_are_installed_is_held_until_they_are_whole(monkeypatch):
    def interrupt_midway(call, net_, params):
        if call == 3:  # Ctrl-C after layer 1 got W_3, before layer 3 does
            net_.layers[0].replace_params(params[0])
            signal.raise_signal(signal.SIGINT)

    hist, f, reference = fit_with_install(monkeypatch, interrupt_midway)
    assert hist.stop_reason == "interrupted" and hist.n_iters == 3
    np.testing.assert_array_equal(f.params, reference.params)  # every layer at W_3
