"""Levenberg–Marquardt: each step against the formula built from numerical Jacobians, the
damping rule, speed against gradient descent, and the trainer's guarantees (clear errors, no
NaN weights, divergence, Ctrl-C, a refused dense solve)."""

import copy
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from oracle import num_D_w, numerical_mean_loss_gradient
from support import InterruptingLoss

import jacobian_nn as jnn
from jacobian_nn import levenberg_marquardt as lm_module

RNG = np.random.default_rng(4)


def mean_loss(net, X, Y, loss, w=None):
    trial = copy.deepcopy(net)
    if w is not None:
        trial.params = w
    return float(np.mean([loss(trial(x), y) for x, y in zip(X, Y, strict=True)]))


def first_iterations(losses, threshold):
    return next(t for t, value in enumerate(losses) if value < threshold)


# ----------------------------------------------------------------------------------------------
# One step is the damped Gauss–Newton step of the mean loss
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss, c", [(jnn.SquaredError(), 2), (jnn.HalfSquaredError(), 1)])
def test_a_squared_error_step_is_the_classical_marquardt_step(loss, c):
    # F = (1/n) Σ (c/2)‖r_i‖²: ∇F = (c/n) J̃ᵀr, GGN = (c/n) J̃ᵀJ̃, so (GGN + μI)⁻¹∇F is
    # (J̃ᵀJ̃ + (nμ/c) I)⁻¹ J̃ᵀ r, with J̃ and r stacked over the n examples.
    X, Y = jnn.datasets.xor()
    net, mu, n = jnn.mlp([2, 3, 1], seed=0), 0.1, 4
    w0 = net.params.copy()
    J = np.vstack([num_D_w(net, x, 1e-4) for x in X])
    r = (net(X) - Y).ravel()
    expected = w0 - np.linalg.solve(J.T @ J + n * mu / c * np.eye(len(w0)), J.T @ r)
    assert mean_loss(net, X, Y, loss, expected) < mean_loss(net, X, Y, loss)  # so it is accepted
    lm = jnn.LevenbergMarquardt(damping=mu, max_iters=1)
    hist = lm.fit(net, X, Y, loss)
    assert lm.dampings == [mu] and hist.n_iters == 1
    assert_allclose(net.params, expected, rtol=1e-7, atol=1e-9)
    assert hist.losses[1] == pytest.approx(mean_loss(net, X, Y, loss), rel=1e-12)


def test_the_factor_of_the_squared_error_changes_only_the_scale_of_mu():
    X, Y = jnn.datasets.xor()
    a, b = jnn.mlp([2, 3, 1], seed=1), jnn.mlp([2, 3, 1], seed=1)
    jnn.LevenbergMarquardt(damping=2e-2, max_iters=1).fit(a, X, Y, jnn.SquaredError())
    jnn.LevenbergMarquardt(damping=1e-2, max_iters=1).fit(b, X, Y, jnn.HalfSquaredError())
    assert_allclose(a.params, b.params, rtol=1e-12)


def test_a_cross_entropy_step_uses_the_gauss_newton_matrix_of_the_mean_loss():
    X = RNG.normal(size=(6, 2))
    Y = RNG.uniform(size=(6, 1))
    net = jnn.Network([jnn.Affine(RNG.normal(size=(3, 2)), RNG.normal(size=3)), jnn.Tanh(),
                       jnn.Affine(RNG.normal(size=(1, 3)), [0.0]), jnn.Sigmoid()])
    loss, mu = jnn.BinaryCrossEntropy(), 0.1
    w0 = net.params.copy()
    G = np.zeros((len(w0), len(w0)))
    for x, y in zip(X, Y, strict=True):
        J = num_D_w(net, x, 1e-4)
        H = jnn.numerical_jacobian(lambda v, y=y: loss.grad(v, y), net(x), initial_step=1e-4)
        G += J.T @ H @ J / len(X)
    grad = numerical_mean_loss_gradient(net, X, Y, loss)
    expected = w0 - np.linalg.solve(G + mu * np.eye(len(w0)), grad)
    assert mean_loss(net, X, Y, loss, expected) < mean_loss(net, X, Y, loss)
    lm = jnn.LevenbergMarquardt(damping=mu, max_iters=1)
    lm.fit(net, X, Y, loss)
    assert lm.dampings == [mu]
    assert_allclose(net.params, expected, rtol=1e-7, atol=1e-9)


def test_linear_least_squares_is_solved_in_one_undamped_step():
    X, Y = RNG.normal(size=(10, 3)), RNG.normal(size=(10, 2))
    net = jnn.Network([jnn.Affine(np.zeros((2, 3)), np.zeros(2))])
    solution = np.linalg.lstsq(np.column_stack([X, np.ones(10)]), Y, rcond=None)[0]  # [W | b]ᵀ
    jnn.LevenbergMarquardt(damping=1e-12, max_iters=1).fit(net, X, Y, jnn.SquaredError())
    assert_allclose(net.layers[0].params, solution.T, rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# The damping rule
# ----------------------------------------------------------------------------------------------
def test_every_accepted_step_divides_mu_by_ten():
    # A quadratic F: the damped step with the exact Hessian always lowers it, so nothing is
    # rejected and μ goes 1, 0.1, 0.01, …
    X, Y = RNG.normal(size=(8, 2)), RNG.normal(size=(8, 1))
    lm = jnn.LevenbergMarquardt(damping=1.0, max_iters=4)
    lm.fit(jnn.Network([jnn.Affine(np.zeros((1, 2)), [0.0])]), X, Y, jnn.HalfSquaredError())
    assert_allclose(lm.dampings, [1.0, 0.1, 0.01, 0.001], rtol=1e-12)


def test_a_rejected_step_multiplies_mu_by_ten_within_the_bounds():
    X, Y = jnn.datasets.xor()
    lm = jnn.LevenbergMarquardt(damping=1e-12, max_iters=30)
    hist = lm.fit(jnn.mlp([2, 3, 1], seed=0), X, Y, jnn.SquaredError())
    # μ of update t+1 = μ_t / 10 · 10^(rejections); the first starts from the given damping.
    powers = np.log10(np.array(lm.dampings) / np.array([1e-11] + lm.dampings[:-1])) + 1
    assert_allclose(powers, np.round(powers), atol=1e-9)
    assert powers.min() >= 0 and powers[0] >= 1  # the full Gauss–Newton step was rejected
    assert all(lm_module.MU_MIN <= mu <= lm_module.MU_MAX for mu in lm.dampings)
    assert np.all(np.diff(hist.losses) < 0)  # only steps that lower the loss are kept


def test_tolerance_stops_training():
    X, Y = jnn.datasets.xor()
    hist = jnn.LevenbergMarquardt(max_iters=100, tol=1e-8).fit(
        jnn.mlp([2, 3, 1], seed=3), X, Y, jnn.SquaredError())
    assert hist.stop_reason == "converged" and hist.converged
    assert 0 <= hist.losses[-2] - hist.losses[-1] < 1e-8


# ----------------------------------------------------------------------------------------------
# Far fewer iterations than gradient descent
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 3])
def test_xor_needs_far_fewer_iterations_than_gradient_descent(seed):
    X, Y = jnn.datasets.xor()
    lm = jnn.LevenbergMarquardt(max_iters=50).fit(jnn.mlp([2, 3, 1], seed=seed), X, Y,
                                                  jnn.SquaredError())
    gd = jnn.GradientDescent(lr=0.5, max_iters=2000).fit(jnn.mlp([2, 3, 1], seed=seed), X, Y,
                                                          jnn.SquaredError())
    lm_iters, gd_iters = first_iterations(lm.losses, 1e-6), first_iterations(gd.losses, 1e-6)
    assert lm_iters <= 10 and gd_iters >= 10 * lm_iters


def test_the_tanh_example_needs_far_fewer_iterations_than_gradient_descent():
    ex, ex_gd = jnn.examples.tanh_worked_example(), jnn.examples.tanh_worked_example()
    X, Y = ex.x[None, :], ex.y[None, :]
    lm = jnn.LevenbergMarquardt().fit(ex.network, X, Y, ex.loss)
    gd = jnn.GradientDescent(lr=ex_gd.lr, max_iters=200).fit(ex_gd.network, X, Y, ex_gd.loss)
    lm_iters, gd_iters = first_iterations(lm.losses, 1e-12), first_iterations(gd.losses, 1e-12)
    assert lm_iters <= 3 and gd_iters >= 5 * lm_iters
    assert abs(ex.network(ex.x)[0] - 0.5) < 1e-6  # the slide's target, reached


# ----------------------------------------------------------------------------------------------
# The trainer's guarantees
# ----------------------------------------------------------------------------------------------
def test_bad_input_gets_the_errors_of_gradients():
    net, loss = jnn.mlp([2, 3, 1]), jnn.SquaredError()
    X, Y = jnn.datasets.xor()
    before = net.params.copy()
    X_nan = X.copy()
    X_nan[1, 0] = np.nan
    for bad in [(X, np.ones((4, 2))), (X[:3], Y), (X_nan, Y), (np.ones((4, 3)), Y)]:
        with pytest.raises(ValueError) as expected:
            net.gradients(*bad, loss)
        with pytest.raises(ValueError) as got:
            jnn.LevenbergMarquardt().fit(net, *bad, loss)
        assert str(got.value) == str(expected.value)
    with pytest.raises(TypeError, match="fit trains a jacobian_nn.Network"):
        jnn.LevenbergMarquardt().fit(jnn.Linear([[1.0, 2.0]]), X, Y, loss)
    with pytest.raises(TypeError, match="loss must be a jacobian_nn loss"):
        jnn.LevenbergMarquardt().fit(net, X, Y, "mse")
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"damping": 0.0}, ValueError, "damping"), ({"damping": -1.0}, ValueError, "damping"),
    ({"damping": math.nan}, ValueError, "damping"), ({"damping": 1e11}, ValueError, r"\[1e-12"),
    ({"damping": "big"}, TypeError, "damping"), ({"max_iters": 0}, ValueError, "max_iters"),
    ({"max_iters": 2.5}, TypeError, "max_iters"), ({"tol": -1.0}, ValueError, "tol"),
])
def test_bad_settings_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        jnn.LevenbergMarquardt(**kwargs)


def test_inputs_are_never_modified():
    X, Y = jnn.datasets.xor()
    X.flags.writeable = Y.flags.writeable = False
    copies = X.copy(), Y.copy()
    jnn.LevenbergMarquardt(max_iters=3).fit(jnn.mlp([2, 3, 1]), X, Y, jnn.SquaredError())
    assert np.array_equal(X, copies[0]) and np.array_equal(Y, copies[1])


def test_a_non_finite_starting_loss_is_an_error():
    # ŷ = 0 · x = 0 with target 1: −log 0 = +inf.
    net = jnn.Network([jnn.Linear([[0.0]])])
    with pytest.raises(ValueError, match="ŷ is exactly 0.*SoftmaxCrossEntropy"):
        jnn.LevenbergMarquardt().fit(net, [[1.0]], [[1.0]], jnn.CrossEntropy())


def test_a_non_finite_gauss_newton_matrix_stops_like_divergence():
    # ŷ = w2 w1 x with x = 1e300, w1 = 1e-300, w2 = 10: ŷ ≈ 10 and the loss is finite, but
    # ∂ŷ/∂w1 = w2 x = 1e301, so J̃ᵀJ̃ overflows: no step can be computed.
    net = jnn.Network([jnn.Linear([[1e-300]]), jnn.Linear([[10.0]])])
    before = net.params.copy()
    with pytest.warns(RuntimeWarning, match="stopped at update 1.*not finite.*after update 0"):
        hist = jnn.LevenbergMarquardt().fit(net, [[1e300]], [[0.0]], jnn.SquaredError())
    assert hist.stop_reason == "diverged" and hist.diverged and hist.n_iters == 0
    assert hist.losses == [pytest.approx(100.0)]
    np.testing.assert_array_equal(net.params, before)


def test_a_saturated_start_never_leaves_nan_weights_and_never_raises_the_loss():
    X, Y = jnn.datasets.xor()
    net = jnn.mlp([2, 3, 1], seed=0)
    net.params = 40.0 * net.params  # tanh saturated: J nearly singular, the GN step is huge
    hist = jnn.LevenbergMarquardt(max_iters=40).fit(net, X, Y, jnn.SquaredError())
    assert np.all(np.isfinite(net.params)) and np.all(np.isfinite(hist.losses))
    assert np.all(np.diff(hist.losses) < 0)
    assert hist.final_loss == pytest.approx(mean_loss(net, X, Y, jnn.SquaredError()), rel=1e-12)


def test_trial_steps_that_leave_the_loss_domain_are_rejected_not_fatal():
    # ŷ = w·x + b fed to CrossEntropy with targets 1: steps that push ŷ past 1 leave the
    # loss's domain (gradient descent stops there as diverged); here they are rejected.
    X = np.array([[0.5, 0.2], [0.1, 0.9], [0.3, 0.3]])
    net = jnn.Network([jnn.Affine([[0.1, 0.1]], [0.5])])
    hist = jnn.LevenbergMarquardt(max_iters=50).fit(net, X, np.ones(3), jnn.CrossEntropy())
    assert hist.stop_reason in ("converged", "max_iters") and hist.n_iters > 0
    assert np.all((net(X) >= 0) & (net(X) <= 1)) and np.all(np.diff(hist.losses) < 0)


@pytest.mark.parametrize("at", [0, 1, 2, 3, 6, 9])
def test_ctrl_c_leaves_the_last_accepted_weights_and_their_history(at):
    # Call 0 evaluates W_0; then each update asks once for the GGN's checks and once per trial
    # step, whose weights the network holds while its loss is computed (call 2 is one).
    X, Y = RNG.normal(size=(5, 2)), RNG.normal(size=(5, 1))
    net, start = jnn.mlp([2, 3, 1], seed=2), jnn.mlp([2, 3, 1], seed=2)
    lm = jnn.LevenbergMarquardt(max_iters=50)
    hist = lm.fit(net, X, Y, InterruptingLoss(at))
    assert hist.stop_reason == "interrupted"
    assert len(hist.losses) == (hist.n_iters + 1 if at else 0) and len(lm.dampings) == hist.n_iters
    if hist.n_iters == 0:
        np.testing.assert_array_equal(net.params, start.params)
        return
    reference = jnn.LevenbergMarquardt(max_iters=hist.n_iters)
    ref = reference.fit(start, X, Y, jnn.HalfSquaredError())
    assert hist.losses == ref.losses and lm.dampings == reference.dampings
    np.testing.assert_array_equal(net.params, start.params)


def test_a_network_too_large_for_a_dense_solve_is_refused_with_the_memory_it_needs():
    net = jnn.mlp([100, 100, 10])  # d = 100·101 + 10·101 = 11110
    X, Y = np.zeros((2, 100)), np.zeros((2, 10))
    need = 8 * 11110**2 / 2**20
    with pytest.raises(ValueError, match=rf"d = 11110 .* {need:.1f} MiB .* d ≤ 4096 \(128.0 MiB"):
        jnn.LevenbergMarquardt().fit(net, X, Y, jnn.SquaredError())
    with pytest.raises(ValueError, match=r"d = 13 .* d ≤ 10 "):
        jnn.LevenbergMarquardt(max_params=10).fit(jnn.mlp([2, 3, 1]), *jnn.datasets.xor(),
                                                  jnn.SquaredError())
    with pytest.raises(ValueError, match=r"no parameters \(d = 0\)"):
        jnn.LevenbergMarquardt().fit(jnn.Network([jnn.Tanh()]), [[1.0]], [[0.0]],
                                     jnn.SquaredError())
