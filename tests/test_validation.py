"""Bad input at every entry point gets a clear error naming the layer, the expected shape in
the lecture's symbols and what it got; good input of other types is accepted as float64.

The table in docs/robustness.md summarises what these tests try.
"""


import numpy as np
import pytest
from support import W13, raises, small_net

import jacobian_nn as jnn

RNG = np.random.default_rng(2024)
W23 = RNG.normal(size=(2, 3))

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
    "LeakyReLU a: vector": (lambda: jnn.LeakyReLU([0.1, 0.2]), TypeError,
                            ["LeakyReLU: a must be a real number"]),
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
        ValueError, ["ŷ is exactly 0 (a saturated Softmax) at example i = 0, output 1",
                     "SoftmaxCrossEntropy() on the raw scores"]),
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


def test_penalties_check_their_input():
    with raises(TypeError, "L2(lam=0.1): W must be a real-valued array"):
        jnn.L2(0.1)("1.0")
    for bad in (np.nan, [1.0, np.inf]):
        with raises(ValueError, "non-finite"):
            jnn.L1(0.1).grad(bad)
    with raises(TypeError, "complex"):
        jnn.ElasticNet(0.1, 0.5)(np.array([1j]))


def test_fractions_and_huge_integers_as_hyper_parameters():
    from fractions import Fraction

    assert jnn.LeakyReLU(Fraction(1, 10)).a == 0.1 and jnn.L2(Fraction(1, 4)).lam == 0.25
    for make in (lambda: jnn.L2(10**400), lambda: jnn.Swish(10**400),
                 lambda: jnn.LeakyReLU(-(10**400)), lambda: jnn.ElasticNet(0.1, 10**400)):
        with pytest.raises(ValueError, match="finite"):
            make()


def test_a_nan_written_into_params_is_named_where_the_weights_are_used():
    net = small_net()
    net.layers[2].params[0, 1] = np.nan  # params is writable
    for call in (lambda: net([1.0, 2.0]), lambda: net.D_z([1.0, 2.0]),
                 lambda: net.backprop([1.0, 2.0], [0.0], jnn.SquaredError()),
                 lambda: net.gradients(np.ones((2, 2)), np.ones((2, 1)), jnn.SquaredError()),
                 lambda: jnn.GradientDescent(0.1).fit(net, np.ones((2, 2)), np.ones((2, 1)),
                                                      jnn.SquaredError())):
        with raises(ValueError, "layer 3 (Linear, W ∈ R^{1×3}) holds a non-finite weight: "
                                "params[0, 1] = nan"):
            call()


def test_network_D_W_as_tensor_gives_each_layers_tensor():
    net = small_net()
    x = np.array([0.3, -0.7])
    tensors = net.D_W(x, as_tensor=True)
    assert [t.shape for t in tensors] == [(1, 3, 2), (1, 0), (1, 1, 3)]
    tr = net.backprop(x, [0.0], jnn.SquaredError())
    for j, t in zip((1, 3), (tensors[0], tensors[2]), strict=True):
        np.testing.assert_array_equal(t, tr.D_W(j, as_tensor=True))
        np.testing.assert_array_equal(t.reshape(1, -1), tr.D_W(j))
    # ∂ŷ/∂(W_3)_{0b} = tanh(z^(1))_b: the tensor's entry [0, 0, b], by hand
    np.testing.assert_allclose(tensors[2][0, 0], np.tanh(net.layers[0].W @ x), rtol=1e-15)


def test_mlp_and_the_trainer_name_a_bad_activation_or_seed():
    with raises(TypeError, "activation must be a layer class", "not an instance"):
        jnn.mlp([2, 2, 1], jnn.Sigmoid())
    with raises(TypeError, "activation must be a layer class", "'tanh'"):
        jnn.mlp([2, 2, 1], "tanh")
    for seed in (-1, 1.5, "0"):
        with raises(ValueError, "mlp: seed must be a whole number ≥ 0"):
            jnn.mlp([2, 2, 1], seed=seed)
    with raises(ValueError, "seed must be ≥ 0"):
        jnn.GradientDescent(0.1, batch_size=2, seed=-1)


def _strings(z, W):
    return np.array(["a"] * len(z))


MESSAGES = {
    # what goes in                          : (exception, fragments the message must contain)
    "Conv1D padding: an array": (lambda: jnn.Conv1D([1.0, 2.0], padding=np.array([1, 2])),
                                 TypeError, ["Conv1D: padding must be one of the names "
                                             "('zeros', 'circular', 'reflect')", "got array"]),
    "Conv1D padding: a list": (lambda: jnn.Conv1D([1.0, 2.0], padding=["zeros"]), TypeError,
                               ["Conv1D: padding must be one of the names", "['zeros']"]),
    "Conv1D padding: unknown name": (lambda: jnn.Conv1D([1.0, 2.0], padding="same"), ValueError,
                                     ["Conv1D: padding must be one of", "got 'same'"]),
    "custom forward: strings": (
        lambda: jnn.Network([jnn.Linear(np.eye(2)),
                             jnn.custom_layer(_strings, lambda z, W: np.eye(len(z)), name="f")]
                            )(np.ones(2)),
        TypeError, ["layer 2: custom layer 'f': what forward(z, W) returned must be a "
                    "real-valued array, got dtype <U1"]),
    "custom forward: complex": (
        lambda: jnn.custom_layer(lambda z, W: z * 1j, lambda z, W: np.eye(len(z)), name="f")(
            np.ones(2)),
        TypeError, ["custom layer 'f': what forward(z, W) returned must be real, got complex"]),
    "custom forward: None": (
        lambda: jnn.custom_layer(lambda z, W: None, lambda z, W: np.eye(len(z)), name="f")(
            np.ones(2)),
        TypeError, ["custom layer 'f': what forward(z, W) returned must be a rectangular "
                    "real-valued array, got an object array"]),
    "custom D_z: strings": (
        lambda: jnn.custom_layer(lambda z, W: z, _strings, name="f").D_z(np.ones(2)),
        TypeError, ["custom layer 'f': what D_z(z, W) returned must be a real-valued array"]),
    "custom in_size: an array": (
        lambda: jnn.custom_layer(lambda z, W: z, lambda z, W: np.eye(len(z)),
                                 in_size=np.array([2])),
        TypeError, ["custom_layer 'custom': in_size (k) must be a whole number, got array([2])"]),
    "custom out_size: 0": (
        lambda: jnn.custom_layer(lambda z, W: z, lambda z, W: np.eye(len(z)), out_size=0),
        ValueError, ["custom_layer 'custom': out_size (h) must be >= 1, got 0"]),
    "custom name: not a string": (
        lambda: jnn.custom_layer(lambda z, W: z, lambda z, W: np.eye(len(z)), name=3),
        TypeError, ["custom_layer: name must be a string, got 3"]),
    "network x: a number": (lambda: net(3.0), ValueError,
                            ["z^(0) = x must be 1-D or 2-D, got the single number 3.0: "
                             "write [3.0]"]),
    "backprop x: a number": (lambda: net.backprop(3.0, [1.0], jnn.SquaredError()), ValueError,
                             ["z^(0) = x must be 1-D, got the single number 3.0: write [3.0]"]),
    "layer D_z: a number": (lambda: jnn.Tanh().D_z(2), ValueError,
                            ["Tanh: z must be 1-D, got the single number 2: write [2]"]),
    "loss ŷ: a number": (lambda: jnn.SquaredError()(3.0, [2.0]), ValueError,
                         ["SquaredError(): ŷ must be 1-D, got the single number 3.0: "
                          "write [3.0]"]),
    "gradients X: a number": (lambda: net.gradients(3.0, [1.0], jnn.SquaredError()), ValueError,
                              ["must be 2-D, got the single number 3.0: write [[3.0]]"]),
    "check_jacobians z: a number": (lambda: jnn.check_jacobians(jnn.Tanh(), 0.5), ValueError,
                                    ["z for Tanh must be 1-D, got the single number 0.5: "
                                     "write [0.5]"]),
    "backprop y: a number, h_m = 1": (
        lambda: net.backprop([1.0, 2.0], 3.0, jnn.SquaredError()), ValueError,
        ["the network outputs ŷ ∈ R^1, so it needs y ∈ R^1; got the single number 3.0: "
         "write [3.0]"]),
    "loss y: a number, h = 1": (lambda: jnn.HalfSquaredError()([1.0], 0.5), ValueError,
                                ["needs y ∈ R^1; got the single number 0.5: write [0.5]"]),
    "backprop y: a number, h_m = 3": (
        lambda: sm_net.backprop([1.0, 2.0], 1, jnn.CrossEntropy()), ValueError,
        ["needs y ∈ R^3; got the single number 1", "Class labels must be one-hot rows"]),
    "SoftmaxCrossEntropy y: sums to 2": (
        lambda: jnn.SoftmaxCrossEntropy()([1.0, 2.0], [1.0, 1.0]), ValueError,
        ["SoftmaxCrossEntropy(): a target y must be a probability vector (Σ_k y_k = 1)",
         "example i = 0 has Σ_k y_k = 2"]),
    "CrossEntropy y: sums to 1.1": (
        lambda: sm_net.gradients(X2, [[0.0, 0.0, 1.0]] * 3 + [[0.5, 0.6, 0.0]],
                                 jnn.CrossEntropy()), ValueError,
        ["CrossEntropy(): a target y must be a probability vector (Σ_k y_k = 1)",
         "example i = 3 has Σ_k y_k = 1.1"]),
    "CrossEntropy y: all zero": (lambda: jnn.CrossEntropy()([0.5, 0.5], [0.0, 0.0]),
                                 ValueError, ["Σ_k y_k = 0"]),
    "show_matrix decimals: -1": (lambda: jnn.show_matrix(np.eye(2), decimals=-1), ValueError,
                                 ["decimals must be a whole number of digits after the point"]),
    "trace display decimals: an array": (
        lambda: net.backprop([1.0, 2.0], [0.0], jnn.SquaredError()).display(
            decimals=np.array([2])),
        ValueError, ["decimals must be a whole number of digits after the point"]),
    "matrix_to_latex decimals: 2.5": (lambda: jnn.matrix_to_latex(np.eye(2), 2.5), ValueError,
                                      ["decimals must be a whole number of digits"]),
}


assert not BAD.keys() & MESSAGES.keys()
CASES = {**BAD, **MESSAGES}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_gets_a_clear_error_not_a_raw_python_or_numpy_one(case):
    call, exc, fragments = CASES[case]
    with raises(exc, *fragments):
        call()


def test_probability_targets_that_sum_to_one_up_to_rounding_are_accepted():
    # 0.1 + 0.2 + 0.7 is 0.9999999999999999 in float64; a label-smoothed row as well
    yhat = np.array([0.2, 0.3, 0.5])
    for y in ([0.1, 0.2, 0.7], [0.9 + 0.1 / 3, 0.1 / 3, 0.1 / 3]):
        expected = -sum(a * np.log(b) for a, b in zip(y, yhat, strict=True))
        assert jnn.CrossEntropy()(yhat, y) == pytest.approx(expected, rel=1e-14)
    assert np.isfinite(jnn.SoftmaxCrossEntropy()(yhat, [0.1, 0.2, 0.7]))
