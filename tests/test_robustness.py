"""Robustness (issue 5): bad input at every entry point, nothing mutated or aliased, divergence
and Ctrl-C during training, and a Jacobian checker that really fails on wrong Jacobians.

The table in docs/robustness.md summarises what these tests try.
"""

import copy
import re

import numpy as np
import pytest

import jacobian_nn as jnn
from jacobian_nn import trainer as trainer_module

RNG = np.random.default_rng(2024)
W23 = RNG.normal(size=(2, 3))
W13 = np.array([[1.0, -2.0, 0.5]])


def small_net() -> jnn.Network:
    """x ∈ R^2 → Linear(W ∈ R^{3×2}) → Tanh → Linear(W ∈ R^{1×3})."""
    return jnn.Network([jnn.Linear(np.arange(6.0).reshape(3, 2) / 6), jnn.Tanh(),
                        jnn.Linear(W13)])


def raises(exc, *fragments):
    """pytest.raises whose message must contain every fragment, literally."""
    return pytest.raises(exc, match="(?s)" + ".*".join(re.escape(f) for f in fragments))


# --------------------------------------------------------------------------------------------
# 1. Bad input: what is rejected, and what the message says
# --------------------------------------------------------------------------------------------
net = small_net()
sm_net = jnn.Network([jnn.Linear(W23.T), jnn.Softmax()])  # x ∈ R^2 → probabilities in R^3
sig_net = jnn.Network([jnn.Linear(W13), jnn.Sigmoid()])  # x ∈ R^3 → probability in R^1
lin = jnn.Linear(W13)
lin3 = jnn.Linear(RNG.normal(size=(3, 3)))
X2, Y1 = RNG.normal(size=(4, 2)), RNG.normal(size=(4, 1))
masked = np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])

BAD = {
    # what goes in                          : (exception, fragments the message must contain)
    "layer z: wrong size": (
        lambda: lin(np.ones(5)), ValueError,
        ["Linear, W ∈ R^{1×3} expects z ∈ R^3 (or a batch ∈ R^{n×3}), got shape (5,)"]),
    "layer z: scalar": (lambda: lin(2.0), ValueError,
                        ["Linear, W ∈ R^{1×3}: z must be 1-D or 2-D"]),
    "layer z: 3-D": (lambda: lin(np.ones((2, 2, 3))), ValueError, ["got shape (2, 2, 3)"]),
    "layer D_z: batch": (lambda: lin.D_z(np.ones((2, 3))), ValueError,
                         ["z must be 1-D, got shape (2, 3). This takes one example"]),
    "layer D_W: wrong size": (lambda: lin.D_W(np.ones(2)), ValueError, ["expects z ∈ R^3"]),
    "layer z: complex": (lambda: lin([1j, 0, 0]), TypeError, ["must be real", "complex"]),
    "layer z: string": (lambda: lin("1 2 3"), TypeError, ["got the string '1 2 3'"]),
    "layer z: strings": (lambda: lin(["1", "2", "3"]), TypeError, ["real-valued", "<U1"]),
    "layer z: object": (lambda: lin([1.0, None, 2.0]), TypeError, ["object array"]),
    "layer z: ragged": (lambda: lin([[1.0, 2.0, 3.0], [1.0]]), ValueError,
                        ["rectangular", "every row has the same length"]),
    "layer z: NaN": (lambda: lin([1.0, np.nan, 2.0]), ValueError,
                     ["non-finite value (nan at index (1,))"]),
    "layer z: inf": (lambda: jnn.Tanh().D_z([np.inf]), ValueError, ["non-finite value (inf"]),
    "layer z: masked": (lambda: lin(masked), TypeError, ["masked array", "filled"]),
    "Linear W: 1-D": (lambda: jnn.Linear([1.0, 2.0]), ValueError,
                      ["Linear: W must be 2-D", "W ∈ R^{h×k} has a row per output",
                       "one output: [[w_1, …, w_k]]"]),
    "Affine W: 1-D": (lambda: jnn.Affine([1.0, 2.0], [0.0]), ValueError,
                      ["Affine: W must be 2-D", "W ∈ R^{h×k} has a row per output"]),
    "Bias b: 2-D": (lambda: jnn.Bias(np.ones((3, 1))), ValueError,
                    ["Bias: b must be 1-D, got shape (3, 1). b ∈ R^h has an entry per output."]),
    "loss ŷ: a batch": (lambda: jnn.SquaredError()(np.ones((2, 2)), np.ones((2, 2))), ValueError,
                        ["SquaredError(): ŷ must be 1-D, got shape (2, 2).",
                         "Network.gradients(X, Y, loss) takes a batch"]),
    "Linear W: empty": (lambda: jnn.Linear(np.zeros((0, 3))), ValueError,
                        ["Linear: W must have at least one entry on every axis, got shape (0, 3)"]),
    "Linear W: complex": (lambda: jnn.Linear([[1 + 1j]]), TypeError, ["Linear: W must be real"]),
    "Linear W: ragged": (lambda: jnn.Linear([[1.0], [1.0, 2.0]]), ValueError, ["Linear: W"]),
    "Linear W: NaN": (lambda: jnn.Linear([[np.nan]]), ValueError, ["Linear: W", "non-finite"]),
    "Bias b: empty": (lambda: jnn.Bias([]), ValueError, ["Bias: b must have at least one"]),
    "Affine b: wrong size": (lambda: jnn.Affine(W23, [1.0]), ValueError,
                             ["Affine: W ∈ R^{2×3} needs b ∈ R^2, got b of shape (1,)"]),
    "LeakyReLU a: string": (lambda: jnn.LeakyReLU("small"), TypeError, ["LeakyReLU: a"]),
    "LeakyReLU a: vector": (lambda: jnn.LeakyReLU([0.1, 0.2]), ValueError, ["must be 0-D"]),
    "Swish beta: inf": (lambda: jnn.Swish(np.inf), ValueError, ["Swish: beta", "non-finite"]),
    "params: wrong shape": (lambda: setattr(jnn.Linear(W13), "params", np.ones((3, 1))),
                            ValueError, ["has params of shape (1, 3); got shape (3, 1)"]),
    "params: NaN": (lambda: setattr(jnn.Linear(W13), "params", [[0, np.nan, 0]]), ValueError,
                    ["new params of Linear, W ∈ R^{1×3}", "non-finite"]),
    "Network params: wrong size": (lambda: setattr(small_net(), "params", np.ones(3)),
                                   ValueError,
                                   ["d = 9 params (d_1 = 6, d_2 = 0, d_3 = 3); got shape (3,)"]),
    "Network: empty": (lambda: jnn.Network([]), TypeError, ["non-empty list of layers"]),
    "Network: a layer": (lambda: jnn.Network(jnn.Tanh()), TypeError, ["list of layers"]),
    "Network: not a layer": (lambda: jnn.Network([jnn.Tanh(), np.tanh]), TypeError,
                             ["layer 2 must be a jacobian_nn layer", "ufunc"]),
    "Network: sizes do not compose": (
        lambda: jnn.Network([jnn.Linear(W23), jnn.Tanh(), jnn.Linear(np.ones((1, 4)))]),
        ValueError, ["layer 3 (Linear, W ∈ R^{1×4}) expects z^(2) ∈ R^4, but layer 2 (Tanh) "
                     "outputs z^(2) ∈ R^2. Make the sizes agree."]),
    "Network: nested sizes do not compose": (  # the inner Network alone fixes no input size
        lambda: jnn.Network([jnn.Linear(W23), jnn.Network([jnn.Tanh(), jnn.Linear(W13)])]),
        ValueError, ["in layer 2 (Network of m = 2 layers) of the outer network: layer 2 "
                     "(Linear, W ∈ R^{1×3}) expects z^(1) ∈ R^3, but layer 1 (Tanh) outputs "
                     "z^(1) ∈ R^2"]),
    "Network: nested max-pool halves the size": (  # N = 6 → ⌊(6 − 2)/2⌋ + 1 = 3, not 6
        lambda: jnn.Network([jnn.Linear(np.ones((6, 2))),
                             jnn.Network([jnn.Tanh(), jnn.MaxPool1D(2)]),
                             jnn.Linear(np.ones((1, 6)))]),
        ValueError, ["layer 3 (Linear, W ∈ R^{1×6}) expects z^(2) ∈ R^6, but layer 2 (Network "
                     "of m = 2 layers) outputs z^(2) ∈ R^3"]),
    "Network: same weights twice": (
        lambda: jnn.Network([lin, jnn.Linear(W23.T), lin]), ValueError,
        ["layer 3 (Linear, W ∈ R^{1×3}) is the same object as layer 1", "copy.deepcopy"]),
    "Network: same weights nested": (
        lambda: jnn.Network([jnn.Network([lin]), jnn.Linear(np.ones((3, 1))),
                             jnn.Network([jnn.Tanh(), lin])]), ValueError,
        ["layer 3.2 (Linear, W ∈ R^{1×3}) is the same object as layer 1.1"]),
    "Network: same weights inside a Residual": (
        lambda: jnn.Network([lin3, jnn.Residual(lin3)]), ValueError,
        ["layer 2.g (Linear, W ∈ R^{3×3}) is the same object as layer 1", "copy.deepcopy"]),
    "Concat: the same layer twice": (
        lambda: jnn.Concat(lin3, jnn.Network([jnn.Tanh(), lin3])), ValueError,
        ["Concat: f_b.2 (Linear, W ∈ R^{3×3}) is the same object as Concat: f_a"]),
    "SoftmaxCrossEntropy: one output": (
        lambda: jnn.Network([jnn.Linear([[1.0, 0.5]])]).gradients(
            np.ones((4, 2)), [1.0, 0.0, 1.0, 0.0], jnn.SoftmaxCrossEntropy()), ValueError,
        ["softmax of one score is always 1", "BinaryCrossEntropy()"]),
    "jacobians X: no rows": (lambda: net.jacobians(np.zeros((0, 2))), ValueError,
                             ["holds no examples (n = 0), got shape (0, 2)"]),
    "Softmax z: empty": (lambda: jnn.Softmax()(np.zeros(0)), ValueError,
                         ["Softmax: z holds no numbers, got shape (0,)"]),
    "custom layer: empty batch": (
        lambda: jnn.custom_layer(lambda z, W: z, lambda z, W: np.eye(len(z)))(np.zeros((0, 2))),
        ValueError, ["custom layer 'custom': z holds no examples (n = 0)"]),
    "Residual D_z: g changes the size": (
        lambda: jnn.Residual(jnn.MaxPool1D(2)).D_z(np.ones(4)), ValueError,
        ["z + g(z) needs g(z) shaped like z (4,), but g returned shape (2,)"]),
    "numerical_jacobian: zero step": (
        lambda: jnn.numerical_jacobian(np.sin, np.ones(2), initial_step=0), ValueError,
        ["numerical_jacobian: initial_step must be finite and > 0, got 0.0"]),
    "numerical_jacobian: empty z": (lambda: jnn.numerical_jacobian(np.sin, np.ones(0)),
                                    ValueError, ["z must have at least one entry"]),
    "History: no loss recorded": (lambda: jnn.History().final_loss, ValueError,
                                  ["No loss was recorded"]),
    "GradientDescent lr: a bool": (lambda: jnn.GradientDescent(lr=True), TypeError, ["lr"]),
    "GradientDescent tol: a bool": (  # a slip for tol = 1.0, which would stop at once
        lambda: jnn.GradientDescent(0.1, 1000, True), TypeError, ["tol"]),
    "check_jacobians rtol: a bool": (
        lambda: jnn.check_jacobians(jnn.Tanh(), [0.1], rtol=True), TypeError, ["rtol"]),
    "Network x: wrong size": (lambda: net(np.ones(5)), ValueError,
                              ["layer 1 (Linear, W ∈ R^{3×2}) expects z^(0) = x ∈ R^2",
                               "got shape (5,)"]),
    "Network x: size found at layer 3": (
        lambda: jnn.Network([jnn.Tanh(), jnn.Sigmoid(), jnn.Linear(W13)])(np.ones(5)), ValueError,
        ["layer 3 (Linear, W ∈ R^{1×3}) expects z^(2) ∈ R^3, got shape (5,). Check the input "
         "size and the layers before it."]),
    "nested Network x: wrong size": (
        lambda: jnn.Network([jnn.Network([jnn.Tanh(), jnn.Linear(W13)])])(np.ones(5)),
        ValueError, ["in layer 1 (Network of m = 2 layers) of the outer network: layer 2 "
                     "(Linear, W ∈ R^{1×3}) expects z^(1) ∈ R^3, got shape (5,)"]),
    "Network D_z: wrong size": (lambda: net.D_z(np.ones(3)), ValueError,
                                ["layer 1 (Linear, W ∈ R^{3×2}) expects z^(0) = x ∈ R^2"]),
    "backprop x: batch": (lambda: net.backprop(np.ones((1, 2)), [1.0], jnn.SquaredError()),
                          ValueError, ["layer 1 (Linear, W ∈ R^{3×2}): z^(0) = x must be 1-D"]),
    "backprop y: wrong size": (lambda: net.backprop([1.0, 2.0], [1.0, 2.0], jnn.SquaredError()),
                               ValueError,
                               ["outputs ŷ ∈ R^1, so it needs y ∈ R^1; got shape (2,)"]),
    "backprop y: NaN": (lambda: net.backprop([1.0, 2.0], [np.nan], jnn.SquaredError()),
                        ValueError, ["target y contains a non-finite value"]),
    "backprop loss: the class": (lambda: net.backprop([1.0, 2.0], [1.0], jnn.SquaredError),
                                 TypeError, ["loss must be a jacobian_nn loss such as"]),
    "gradients X: one example": (lambda: net.gradients(np.ones(2), [1.0], jnn.SquaredError()),
                                 ValueError, ["X (rows z^(0) = x_i)", "must be 2-D",
                                              "a single example x is the batch x[None, :]"]),
    "gradients X: no rows": (lambda: net.gradients(np.ones((0, 2)), np.ones((0, 1)),
                                                   jnn.SquaredError()), ValueError, ["n = 0"]),
    "gradients Y: rows differ": (lambda: net.gradients(X2, np.ones(5), jnn.SquaredError()),
                                 ValueError, ["X has n = 4 examples (rows) but Y has 5"]),
    "gradients Y: columns": (lambda: net.gradients(X2, np.ones((4, 2)), jnn.SquaredError()),
                             ValueError, ["needs Y of shape (4, 1); got shape (4, 2)"]),
    "gradients mode": (lambda: net.gradients(X2, Y1, jnn.SquaredError(), mode="fast"),
                       ValueError, ["mode must be one of"]),
    "jacobians X: 1-D": (lambda: net.jacobians(np.ones(2)), ValueError, ["must be 2-D"]),
    "Trace j: out of range": (lambda: net.backprop([1.0, 2.0], [1.0], jnn.SquaredError()).grad(0),
                              IndexError, ["j must be an integer in 1..3 (m = 3), got 0"]),
    "loss: labels for 3 classes": (lambda: sm_net.gradients(X2, [0, 2, 1, 1], jnn.CrossEntropy()),
                                   ValueError, ["needs Y of shape (4, 3); got shape (4,)",
                                                "jacobian_nn.datasets.one_hot"]),
    "loss: one-hot label out of range": (lambda: jnn.datasets.one_hot([0, 3], 3), ValueError,
                                         ["labels must lie in 0 … 2; got 3"]),
    "loss: fractional label": (lambda: jnn.datasets.one_hot([0.5], 3), ValueError,
                               ["whole numbers"]),
    "loss: negative probabilities": (
        lambda: sm_net.gradients(X2[:1], [[0.5, -0.5, 1.0]], jnn.CrossEntropy()), ValueError,
        ["targets y must be probabilities or one-hot rows (y_k ≥ 0); got y_k = -0.5"]),
    "loss: CrossEntropy on scores": (lambda: jnn.CrossEntropy()([2.0, -1.0], [1.0, 0.0]),
                                     ValueError, ["probabilities in [0, 1]",
                                                  "SoftmaxCrossEntropy"]),
    "loss: BCE target 2": (lambda: sig_net.gradients(np.ones((2, 3)), [0.0, 2.0],
                                                     jnn.BinaryCrossEntropy()),
                           ValueError, ["targets y must lie in [0, 1]"]),
    "loss: BCE on a linear output": (lambda: net.gradients(X2, (Y1 > 0) * 1.0,
                                                           jnn.BinaryCrossEntropy()),
                                     ValueError, ["ŷ must be a probability in [0, 1]",
                                                  "end the network with Sigmoid"]),
    "loss: ŷ batch": (lambda: jnn.SquaredError()(np.ones((2, 2)), np.ones((2, 2))), ValueError,
                      ["SquaredError(): ŷ must be 1-D"]),
    "GD lr 0": (lambda: jnn.GradientDescent(0), ValueError, ["lr (the learning rate α)", "> 0"]),
    "GD lr NaN": (lambda: jnn.GradientDescent(np.nan), ValueError, ["finite and > 0"]),
    "GD lr string": (lambda: jnn.GradientDescent("0.1"), TypeError, ["must be a real number"]),
    "GD max_iters 1.5": (lambda: jnn.GradientDescent(0.1, max_iters=1.5), TypeError,
                         ["max_iters must be a whole number"]),
    "GD tol string": (lambda: jnn.GradientDescent(0.1, tol="small"), TypeError,
                      ["GradientDescent: tol must be a real number, got 'small'"]),
    "GD tol negative": (lambda: jnn.GradientDescent(0.1, tol=-1), ValueError, ["finite and ≥ 0"]),
    "GD mode": (lambda: jnn.GradientDescent(0.1, mode="fast"), ValueError, ["mode must be"]),
    "fit: a layer": (lambda: jnn.GradientDescent(0.1).fit(lin, X2, Y1, jnn.SquaredError()),
                     TypeError, ["trains a jacobian_nn.Network, got Linear", "Network([layer])"]),
    "fit X: wrong size": (lambda: jnn.GradientDescent(0.1).fit(small_net(), np.ones((4, 3)), Y1,
                                                               jnn.SquaredError()),
                          ValueError, ["expects z^(0) = x ∈ R^2", "got shape (4, 3)"]),
    "fit: starting loss inf": (
        lambda: jnn.GradientDescent(0.1).fit(
            jnn.Network([jnn.Linear([[800.0], [-800.0]]), jnn.Softmax()]), [[1.0]], [[0.0, 1.0]],
            jnn.CrossEntropy()),
        ValueError, ["loss at the starting weights is not finite", "SoftmaxCrossEntropy"]),
    "check_jacobians: a function": (lambda: jnn.check_jacobians(np.tanh, [1.0]), TypeError,
                                    ["needs a jacobian_nn layer"]),
    "check_jacobians z: wrong size": (lambda: jnn.check_jacobians(lin, [1.0]), ValueError,
                                      ["expects z ∈ R^3, got shape (1,)"]),
    "check_jacobians z: ragged": (lambda: jnn.check_jacobians(lin, [[1.0], [1.0, 2.0]]),
                                  ValueError, ["rectangular"]),
    "check_jacobians rtol NaN": (lambda: jnn.check_jacobians(lin, [1.0, 2.0, 3.0], rtol=np.nan),
                                 ValueError, ["rtol must be finite and ≥ 0"]),
    "check_jacobians atol negative": (lambda: jnn.check_jacobians(lin, np.ones(3), atol=-1.0),
                                      ValueError, ["atol must be finite and ≥ 0"]),
    "check_jacobians step 0": (lambda: jnn.check_jacobians(lin, np.ones(3), initial_step=0),
                               ValueError, ["initial_step must be finite and > 0"]),
    "mlp sizes: string": (lambda: jnn.mlp([2, "3", 1]), ValueError,
                          ["mlp: sizes must be ≥ 2 positive whole numbers"]),
    "mlp sizes: infinite": (lambda: jnn.mlp([2, np.inf]), ValueError, ["mlp: sizes must be"]),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_gets_a_clear_error(case):
    call, exc, fragments = BAD[case]
    with raises(exc, *fragments):
        call()


def test_a_wrongly_shaped_weight_is_not_told_about_examples():
    # The hints for batches of inputs (stack rows, x[None, :]) would mislead for W and b.
    for make in (lambda: jnn.Linear([1.0, 2.0]), lambda: jnn.Affine([1.0, 2.0], [0.0]),
                 lambda: jnn.Bias(np.ones((3, 1)))):
        with pytest.raises(ValueError) as err:
            make()
        assert "example" not in str(err.value)


@pytest.mark.parametrize("Y", [np.ones(5), np.ones((5, 3))], ids=["(n,)", "(n, 3)"])
def test_every_mode_names_a_wrong_Y_by_its_whole_shape(Y):
    net = jnn.Network([jnn.Linear(np.ones((2, 3)))])  # ŷ ∈ R^2, so Y must be (5, 2)
    messages = set()
    for mode in ("lecture", "jacobian", "reverse"):
        with pytest.raises(ValueError) as err:
            net.gradients(np.ones((5, 3)), Y, jnn.SquaredError(), mode=mode)
        messages.add(str(err.value))
    assert len(messages) == 1
    assert f"needs Y of shape (5, 2); got shape {Y.shape}" in messages.pop()


GOOD_CASTS = {
    "Linear W": lambda v: jnn.Linear(v(W13)).params,
    "Bias b": lambda v: jnn.Bias(v(W13[0])).params,
    "Affine W, b": lambda v: jnn.Affine(v(W23), v(W23[:, 0])).params,
    "forward": lambda v: lin(v([1.0, 2.0, 3.0])),
    "forward batch": lambda v: lin(v([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]])),
    "D_z": lambda v: net.D_z(v([1.0, -2.0])),
    "D_W": lambda v: net.D_W(v([1.0, -2.0])),
    "backprop": lambda v: net.backprop(v([1.0, -2.0]), v([3.0]), jnn.SquaredError()).grad(1),
    "gradients": lambda v: net.gradients(v([[1.0, 2.0], [0.0, -3.0]]), v([1.0, 0.0]),
                                         jnn.SquaredError())[1][0],
    "jacobians": lambda v: net.jacobians(v([[1.0, 2.0], [0.0, -3.0]]))[1],
    "loss": lambda v: np.array(jnn.HalfSquaredError()(v([1.0, 2.0]), v([0.0, 4.0]))),
    "check_jacobians": lambda v: jnn.check_jacobians(net, v([1.0, -2.0])).checks["D_W"].analytic,
}


@pytest.mark.parametrize("name", list(GOOD_CASTS))
def test_lists_and_integer_arrays_are_accepted_as_float64(name):
    reference = GOOD_CASTS[name](lambda a: np.array(a, dtype=np.float64))
    assert reference.dtype == np.float64
    as_list = GOOD_CASTS[name](lambda a: np.asarray(a).astype(int).tolist())
    as_int = GOOD_CASTS[name](lambda a: np.asarray(a).astype(np.int32))
    as_ref_int = GOOD_CASTS[name](lambda a: np.asarray(a).astype(int).astype(np.float64))
    for got in (as_list, as_int):
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, as_ref_int)
    assert np.isfinite(reference).all()


def test_fit_accepts_integer_data():
    X, Y = np.array([[0, 1], [1, 0], [1, 1]]), np.array([1, 1, 0])
    a, b = small_net(), small_net()
    ha = jnn.GradientDescent(0.1, max_iters=3).fit(a, X.tolist(), Y.tolist(), jnn.SquaredError())
    hb = jnn.GradientDescent(0.1, max_iters=3).fit(b, X * 1.0, Y * 1.0, jnn.SquaredError())
    assert ha.losses == hb.losses
    np.testing.assert_array_equal(a.params, b.params)


# --------------------------------------------------------------------------------------------
# 2. Nothing mutated, nothing shared
# --------------------------------------------------------------------------------------------
def frozen(a) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("make", [
    lambda W: jnn.Linear(W), lambda W: jnn.Bias(W[0]), lambda W: jnn.Affine(W[:, :-1], W[:, -1])])
def test_layers_copy_their_weights(make):
    W = RNG.normal(size=(2, 3))
    layer = make(W)
    before = layer.params.copy()
    assert not np.shares_memory(layer.params, W)
    W += 1.0
    np.testing.assert_array_equal(layer.params, before)
    new = RNG.normal(size=before.shape)
    layer.params = new
    new += 1.0
    np.testing.assert_array_equal(layer.params + 1.0, new)


def test_read_only_inputs_work_everywhere_and_are_left_untouched():
    x, y = frozen([0.3, -1.2]), frozen([0.7])
    X, Y = frozen(RNG.normal(size=(5, 2))), frozen(RNG.normal(size=(5, 1)))
    W = frozen(RNG.normal(size=(3, 2)))
    keep = [a.copy() for a in (x, y, X, Y, W)]
    f = jnn.Network([jnn.Linear(W), jnn.Tanh(), jnn.Affine(frozen(W13), frozen([0.1]))])
    loss = jnn.HalfSquaredError()
    f(x), f(X), f.D_z(x), f.D_W(x), f.jacobians(X), loss(f(x), y), loss.grad(f(x), y)
    f.backprop(x, y, loss)
    for mode in ("lecture", "jacobian", "reverse"):
        f.gradients(X, Y, loss, mode=mode)
    assert jnn.check_jacobians(f, x).passed
    jnn.GradientDescent(0.1, max_iters=3).fit(f, X, Y, loss)
    f.params = frozen(f.params)
    f.layers[0].params = W
    jnn.GradientDescent(0.1, max_iters=1).fit(f, X, Y, loss)  # training replaces, never writes
    for a, b in zip((x, y, X, Y, W), keep, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_fortran_ordered_weight_gives_bit_for_bit_the_same_layer():
    A = RNG.normal(size=(20, 3))  # Linear(A.T) is a common way to write W
    x, X = RNG.normal(size=20), RNG.normal(size=(7, 20))
    for make in (lambda W: jnn.Linear(W), lambda W: jnn.Affine(W, np.arange(3.0))):
        f, g = make(A.T), make(np.ascontiguousarray(A.T))
        assert f.params.flags.c_contiguous
        np.testing.assert_array_equal(f(x), g(x))
        np.testing.assert_array_equal(f(X), g(X))
        np.testing.assert_array_equal(f.D_W(x), g.D_W(x))


def test_outputs_never_alias_inputs_or_weights():
    x = np.array([0.5, -0.25])
    X = np.array([[0.5, -0.25], [1.0, 2.0]])
    ident = jnn.Network([jnn.Identity()])
    assert not np.shares_memory(ident(x), x) and not np.shares_memory(ident(X), X)
    f = small_net()
    D = f.layers[0].D_z(x)
    D += 100.0  # writing into a returned Jacobian …
    np.testing.assert_array_equal(f.layers[0].params, np.arange(6.0).reshape(3, 2) / 6)  # … is safe
    tr = f.backprop(x, [1.0], jnn.SquaredError())
    assert not np.shares_memory(tr.z(0), x)
    x[0] = 99.0
    assert tr.z(0)[0] == 0.5


def test_writing_into_a_composite_params_copy_raises_instead_of_doing_nothing():
    # A Network's (or Concat's) params is a concatenated copy: a write into it could not
    # reach the layers, so it must fail loudly; assigning a whole vector is the way.
    net = small_net()
    for composite in (net, jnn.Concat(jnn.Linear(W23), jnn.Tanh())):
        before = composite.params.copy()
        with pytest.raises(ValueError, match="read-only"):
            composite.params[0] = 5.0
        np.testing.assert_array_equal(composite.params, before)
        composite.params = before + 1.0
        np.testing.assert_array_equal(composite.params, before + 1.0)


def test_trace_arrays_are_read_only():
    tr = small_net().backprop([0.5, -0.25], [1.0], jnn.SquaredError())
    arrays = [tr.z(0), tr.z(3), tr.D(0), tr.D(3), tr.D_W(1), tr.grad(1), tr.local_D_z(2),
              tr.local_D_W(3), tr.grad_yhat, tr.y]
    for a in arrays:
        assert not a.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            a[...] = 0.0


def test_backprop_gradients_and_checks_are_pure():
    f = small_net()
    params = f.params.copy()
    x, y, loss = np.array([0.5, -0.25]), np.array([1.0]), jnn.SquaredError()
    a, b = f.backprop(x, y, loss), f.backprop(x, y, loss)
    for j in range(f.m + 1):
        np.testing.assert_array_equal(a.z(j), b.z(j))
        np.testing.assert_array_equal(a.D(j), b.D(j))
    for j in range(1, f.m + 1):
        np.testing.assert_array_equal(a.D_W(j), b.D_W(j))
        np.testing.assert_array_equal(a.grad(j), b.grad(j))
    assert a.loss == b.loss
    X, Y = RNG.normal(size=(4, 2)), RNG.normal(size=(4, 1))
    for mode in ("lecture", "jacobian", "reverse"):
        v1, g1 = f.gradients(X, Y, loss, mode=mode)
        v2, g2 = f.gradients(X, Y, loss, mode=mode)
        assert v1 == v2 and all(np.array_equal(p, q) for p, q in zip(g1, g2, strict=True))
    jnn.check_jacobians(f, x)
    f.jacobians(X)
    np.testing.assert_array_equal(f.params, params)


def test_a_parameter_free_layer_may_appear_twice():
    t = jnn.Tanh()
    f = jnn.Network([jnn.Linear(W23.T), t, jnn.Linear(np.eye(3)), t])
    x = np.array([0.2, -0.4])
    np.testing.assert_allclose(f(x), np.tanh(np.tanh(W23.T @ x)), rtol=1e-15)


# --------------------------------------------------------------------------------------------
# 3. Divergence and Ctrl-C
# --------------------------------------------------------------------------------------------
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
    # … while one more step makes the loss non-finite.
    with np.errstate(all="ignore"):
        jnn.GradientDescent(50).step(start, X, Y, jnn.SquaredError())
        assert not np.isfinite(start.gradients(X, Y, jnn.SquaredError())[0])


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


class InterruptingLoss(jnn.HalfSquaredError):
    """Raises KeyboardInterrupt (what Ctrl-C does) on its call number ``at`` (0-based)."""

    def __init__(self, at):
        self.at, self.calls = at, 0

    def grads(self, Yhat, Y):
        if self.calls == self.at:
            raise KeyboardInterrupt
        self.calls += 1
        return super().grads(Yhat, Y)


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


def test_ctrl_c_in_the_middle_of_an_update_leaves_no_mixed_weights(monkeypatch):
    X, Y = RNG.normal(size=(5, 2)), RNG.normal(size=(5, 1))
    f, reference = small_net(), small_net()
    real_assign, calls = trainer_module._install, []

    def assign_first_layer_then_interrupt(net_, params):
        calls.append(1)
        if len(calls) == 4:  # during update 4: layer 1 gets W_4, then Ctrl-C
            net_.layers[0].params = params[0]
            raise KeyboardInterrupt
        real_assign(net_, params)

    monkeypatch.setattr(trainer_module, "_install", assign_first_layer_then_interrupt)
    hist = jnn.GradientDescent(0.1, max_iters=50).fit(f, X, Y, jnn.HalfSquaredError())
    monkeypatch.undo()
    jnn.GradientDescent(0.1, max_iters=3).fit(reference, X, Y, jnn.HalfSquaredError())
    assert hist.stop_reason == "interrupted" and hist.n_iters == 3 and len(hist.losses) == 4
    np.testing.assert_array_equal(f.params, reference.params)  # all layers at W_3


# --------------------------------------------------------------------------------------------
# 4. The checker can fail
# --------------------------------------------------------------------------------------------
W_sq = np.array([[1.0, 2.0], [-0.5, 3.0]])  # not symmetric: a transposed D_z differs


class OneEntryOffD_z(jnn.Linear):
    def _D_z(self, z):
        D = super()._D_z(z)
        D[0, 1] += 1e-3
        return D


class TransposedD_z(jnn.Linear):
    def _D_z(self, z):
        return self.W.T.copy()


class NaND_z(jnn.Linear):
    def _D_z(self, z):
        D = super()._D_z(z)
        D[1, 0] = np.nan
        return D


class OneEntryOffD_W(jnn.Linear):
    def _D_W(self, z):
        D = super()._D_W(z)
        D[1, 3] += 1e-3
        return D


class FortranOrderD_W(jnn.Linear):
    """Columns in vec order with W raveled column by column (order="F"): z ⊗ I_h, not I_h ⊗ zᵀ."""

    def _D_W(self, z):
        return np.kron(z, np.eye(self.W.shape[0]))


class MissingColumnD_W(jnn.Linear):
    def _D_W(self, z):
        return super()._D_W(z)[:, :-1]


class Cube(jnn.Elementwise):
    """A correct user layer φ(z) = z³, φ'(z) = 3z²."""

    def phi(self, z):
        return z**3

    def dphi(self, z, fz):
        return 3 * z**2


Z_POINT = np.array([0.7, -1.3])


@pytest.mark.parametrize(("cls", "failing", "entry"), [
    (OneEntryOffD_z, "D_z", (0, 1)),
    (TransposedD_z, "D_z", (0, 1)),
    (NaND_z, "D_z", (1, 0)),
    (OneEntryOffD_W, "D_W", (1, 3)),
    (FortranOrderD_W, "D_W", (0, 1)),
    (MissingColumnD_W, "D_W", None),
])
def test_check_jacobians_fails_on_a_wrong_jacobian(cls, failing, entry):
    report = jnn.check_jacobians(cls(W_sq), Z_POINT)
    assert not report.passed
    assert not report[failing].passed
    other = "D_W" if failing == "D_z" else "D_z"
    assert report[other].passed
    assert "FAILED" in str(report)
    if entry is None:
        assert "shape" in str(report[failing])
    else:
        assert entry in report[failing].wrong


@pytest.mark.parametrize("layer", [
    jnn.Linear(W_sq), jnn.Affine(W_sq, [0.5, -1.0]), jnn.Bias([0.1, 0.2]), jnn.Tanh(),
    jnn.Sigmoid(), jnn.ReLU(), jnn.LeakyReLU(0.2), jnn.Swish(1.3), jnn.Identity(),
    jnn.Softmax(), Cube(), small_net().layers[0],
], ids=lambda layer: type(layer).__name__)
def test_check_jacobians_passes_correct_layers(layer):
    report = jnn.check_jacobians(layer, Z_POINT)
    assert report.passed, str(report)
    assert report.max_abs_error < 1e-8


def test_check_jacobians_passes_a_whole_network():
    assert jnn.check_jacobians(jnn.mlp([2, 4, 3], seed=1), Z_POINT).passed


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_check_jacobians_warns_on_low_precision_input(dtype):
    with pytest.warns(UserWarning, match=f"got {np.dtype(dtype).name} input.*float64"):
        report = jnn.check_jacobians(jnn.Tanh(), Z_POINT.astype(dtype))
    assert report.passed  # it still checks, in float64


def test_check_jacobians_does_not_warn_on_float64_or_lists():
    # pytest turns any warning into an error here (filterwarnings = error)
    assert jnn.check_jacobians(jnn.Tanh(), Z_POINT).passed
    assert jnn.check_jacobians(jnn.Tanh(), Z_POINT.tolist()).passed


def test_check_jacobians_leaves_the_layer_alone():
    layer = jnn.Affine(W_sq, [0.5, -1.0])
    before = layer.params
    jnn.check_jacobians(layer, Z_POINT)
    assert layer.params is before
    np.testing.assert_array_equal(before, np.column_stack([W_sq, [0.5, -1.0]]))


def test_the_suggested_deepcopy_gives_independently_trained_layers():
    a = jnn.Linear([[1.0, 0.5], [0.0, 1.0]])
    f = jnn.Network([a, jnn.Tanh(), copy.deepcopy(a)])
    X, Y = RNG.normal(size=(4, 2)), RNG.normal(size=(4, 2))
    jnn.GradientDescent(0.1, max_iters=2).fit(f, X, Y, jnn.SquaredError())
    assert not np.array_equal(f.layers[0].params, f.layers[2].params)


def test_a_history_interrupted_before_its_first_loss_still_prints():
    assert repr(jnn.History()) == "History(n_iters=0, stop_reason='', no loss recorded)"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's own overflow warnings
def test_finite_inputs_that_overflow_float64_name_the_layer_instead_of_returning_nan():
    net = jnn.Network([jnn.Linear([[1.0, 2.0], [3.0, -1.0]]), jnn.Softmax()])
    X = np.full((3, 2), 1e308)  # 1·1e308 + 2·1e308 = inf in z^(1) = W x
    message = r"overflowed float64: z\^\(1\), the output of layer 1 \(Linear.*example i = 0"
    for mode in ("lecture", "jacobian", "reverse"):
        with pytest.raises(ValueError, match=message):
            net.gradients(X, np.full((3, 2), 0.5), jnn.HalfSquaredError(), mode=mode)
    with pytest.raises(ValueError, match=message):
        net.backprop(X[0], [0.5, 0.5], jnn.HalfSquaredError())


def test_a_loss_too_large_for_float64_is_inf_with_a_finite_gradient():
    # ½(ŷ − y)² with ŷ − y ≈ −1e300 overflows to +inf; ∇_ŷ L = ŷ − y does not.
    net = jnn.Network([jnn.Bias([0.0])])
    with np.errstate(over="ignore"):
        value, (g,) = net.gradients([[1.0]], [[1e300]], jnn.HalfSquaredError())
    assert value == np.inf
    np.testing.assert_allclose(g, [1.0 - 1e300], rtol=1e-15)


def test_a_nan_loss_from_finite_outputs_is_an_error():
    class Broken(jnn.HalfSquaredError):  # a user's loss with a bug
        def values(self, Yhat, Y):
            return np.full(Yhat.shape[0], np.nan)

    with pytest.raises(ValueError, match=r"Broken\(\) is NaN at these weights"):
        jnn.Network([jnn.Bias([0.0])]).gradients([[1.0]], [[1.0]], Broken())


def test_swish_derivative_stays_finite_at_the_ends_of_float64():
    # φ'(z) = s + β z s (1 − s) → 1 as z → +∞ and → 0 as z → −∞ (s = σ(βz)).
    np.testing.assert_array_equal(np.diag(jnn.Swish(2.0).D_z([1e308, -1e308])), [1.0, 0.0])
