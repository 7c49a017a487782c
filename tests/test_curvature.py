"""Second order: loss Hessians, each layer's second derivatives, the GGN, the exact Hessian, the
NTK and the per-example Hessian trace — every number against numerical differentiation in
float64 (Hessian–vector products by central differences of the gradient along random
directions) or a closed form worked out by hand."""

import copy
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from oracle import num_D_w

import jacobian_nn as jnn
from jacobian_nn import curvature
from jacobian_nn.custom import CustomLayer

RNG = np.random.default_rng(20)


def rand(*shape):
    return RNG.normal(size=shape)


# ----------------------------------------------------------------------------------------------
# Loss Hessians ∇²_ŷ L
# ----------------------------------------------------------------------------------------------
LOSS_POINTS = [
    (jnn.SquaredError(), rand(3), rand(3)),
    (jnn.HalfSquaredError(), rand(3), rand(3)),
    (jnn.CrossEntropy(), np.array([0.2, 0.5, 0.3]), np.array([0.1, 0.0, 0.9])),
    (jnn.SoftmaxCrossEntropy(), rand(4), np.array([0.0, 0.5, 0.3, 0.2])),
    (jnn.BinaryCrossEntropy(), np.array([0.2, 0.6, 0.9]), np.array([0.0, 0.3, 1.0])),
]


@pytest.mark.parametrize("loss, yhat, y", LOSS_POINTS, ids=lambda v: repr(v)[:22])
def test_loss_hessian_is_the_numerical_jacobian_of_the_gradient(loss, yhat, y):
    numeric = jnn.numerical_jacobian(lambda v: loss.grad(v, y), yhat, initial_step=1e-3)
    H = loss.hessian(yhat, y)
    assert H.shape == (len(yhat), len(yhat))
    assert_allclose(H, numeric, rtol=1e-8, atol=1e-9)


def test_loss_hessians_in_closed_form():
    yhat, y = np.array([0.3, -1.2]), np.array([1.0, 0.5])
    assert_allclose(jnn.SquaredError().hessian(yhat, y), 2 * np.eye(2), rtol=0, atol=0)
    assert_allclose(jnn.HalfSquaredError().hessian(yhat, y), np.eye(2), rtol=0, atol=0)
    # Softmax cross-entropy (a target with Σy = 1): diag(s) − s sᵀ, s = e^ŷ / Σ e^ŷ by hand.
    e = [math.exp(0.3), math.exp(-1.2)]
    s = np.array(e) / sum(e)
    assert_allclose(jnn.SoftmaxCrossEntropy().hessian(yhat, [0.25, 0.75]),
                    np.diag(s) - np.outer(s, s), rtol=1e-14)
    # Cross-entropy: diag(y/ŷ²); binary: diag(y/ŷ² + (1 − y)/(1 − ŷ)²).
    p = np.array([0.25, 0.5])
    assert_allclose(jnn.CrossEntropy().hessian(p, [1.0, 0.0]), np.diag([16.0, 0.0]), rtol=1e-14)
    assert_allclose(jnn.BinaryCrossEntropy().hessian(p, [1.0, 0.5]),
                    np.diag([16.0, 0.5 / 0.25 + 0.5 / 0.25]), rtol=1e-14)


def test_loss_hessian_is_a_fresh_array_and_checks_its_input():
    H = jnn.HalfSquaredError().hessian([1.0, 2.0], [0.0, 0.0])
    H[0, 0] = 5.0  # writable and not shared with the next call
    assert jnn.HalfSquaredError().hessian([1.0, 2.0], [0.0, 0.0])[0, 0] == 1.0
    with pytest.raises(ValueError, match=r"needs y ∈ R\^2"):
        jnn.SquaredError().hessian([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        jnn.BinaryCrossEntropy().hessian([1.5], [1.0])


def test_a_loss_without_a_hessian_says_so():
    class Quartic(jnn.Loss):
        def values(self, Yhat, Y):
            return ((Yhat - Y) ** 4).sum(axis=1)

        def grads(self, Yhat, Y):
            return 4 * (Yhat - Y) ** 3

    with pytest.raises(NotImplementedError, match="Quartic.*no second derivative.*hessians"):
        jnn.mlp([2, 1]).ggn(np.ones((2, 2)), np.ones((2, 1)), Quartic())


# ----------------------------------------------------------------------------------------------
# Each layer's second derivatives: ∇²_{(z, w)} (gᵀ f_W(z))
# ----------------------------------------------------------------------------------------------
def inner_net():
    return jnn.Network([jnn.Linear(rand(3, 3)), jnn.Tanh(), jnn.Affine(rand(2, 3), rand(2))])


LAYERS = [
    (jnn.Linear(rand(2, 3)), 3),
    (jnn.Affine(rand(2, 3), rand(2)), 3),
    (jnn.Bias(rand(3)), 3),
    (jnn.Tanh(), 3),
    (jnn.Sigmoid(), 3),
    (jnn.ReLU(), 3),
    (jnn.LeakyReLU(0.1), 3),
    (jnn.Identity(), 3),
    (jnn.Swish(1.7), 3),
    (jnn.Softmax(), 4),
    (jnn.Conv1D(rand(3)), 6),
    (jnn.Conv1D(rand(2), padding="circular"), 6),
    (jnn.Conv1D(rand(4), padding="reflect"), 6),
    (jnn.MaxPool1D(2), 6),
    (jnn.MaxPool1D(3, stride=1), 6),
    (jnn.Concat(inner_net(), jnn.Affine(rand(2, 3), rand(2))), 3),
    (jnn.Residual(jnn.Network([jnn.Linear(rand(3, 3)), jnn.Sigmoid()])), 3),
    (inner_net(), 3),
]


def gradient_of_weighted_output(layer, g):
    """(z, w) ↦ (D_z f(z)ᵀ g, D_W f(z)ᵀ g), the gradient of gᵀ f by (z, w), on a copy."""
    trial, k = copy.deepcopy(layer), None

    def grad(v):
        trial.params = v[k:].reshape(layer.params.shape)
        z = v[:k]
        return np.concatenate([trial.D_z(z).T @ g, trial.D_W(z).T @ g])

    def at(z):
        nonlocal k
        k = len(z)
        return grad

    return at


@pytest.mark.parametrize("layer, k", LAYERS, ids=lambda v: repr(v)[:30].replace(" ", ""))
def test_each_layer_rule_is_the_numerical_hessian_of_the_weighted_output(layer, k):
    z = rand(k)
    g = rand(layer(z).shape[0])
    c = curvature.layer_curvature(layer, z, g)
    d = layer.n_params
    assert (c.zz.shape, c.wz.shape, c.ww.shape) == ((k, k), (d, k), (d, d))
    v0 = np.concatenate([z, layer.params.ravel()])
    numeric = jnn.numerical_jacobian(gradient_of_weighted_output(layer, g)(z), v0,
                                     initial_step=1e-4)
    assert_allclose(c.matrix(), numeric, rtol=1e-7, atol=1e-8)


def test_the_bilinear_cross_term_of_a_linear_layer_by_hand():
    # gᵀ W z = Σ_ab g_a W_ab z_b, so ∂²/∂W_ab∂z_c = g_a δ_bc: rows (a, b) in C order.
    c = curvature.layer_curvature(jnn.Linear(np.zeros((2, 2))), [5.0, 7.0], [2.0, -3.0])
    assert_allclose(c.wz, [[2, 0], [0, 2], [-3, 0], [0, -3]], rtol=0, atol=0)
    assert not c.zz.any() and not c.ww.any()


def test_softmax_third_order_tensor_in_closed_form_and_numerically():
    z = np.array([3.2, 5.1, -1.7])  # lecture 001's scores
    T = curvature.second_derivative(jnn.Softmax(), z)
    assert T.shape == (3, 3, 3)
    s = np.exp(z) / np.exp(z).sum()
    d = np.eye(3)
    by_hand = np.array([[[s[a] * ((d[a, b] - s[b]) * (d[a, c] - s[c]) - s[b] * (d[b, c] - s[c]))
                          for c in range(3)] for b in range(3)] for a in range(3)])
    assert_allclose(T, by_hand, rtol=1e-12, atol=1e-15)
    for a in range(3):  # row a of D_z s differentiated once more: ∂²s_a/∂z_b∂z_c
        numeric = jnn.numerical_jacobian(lambda v, a=a: jnn.Softmax().D_z(v)[a], z)
        assert_allclose(T[a], numeric, rtol=1e-7, atol=1e-9)


def test_layer_curvature_checks_g():
    with pytest.raises(ValueError, match=r"outputs f\(z\) ∈ R\^2, so g must have shape \(2,\)"):
        curvature.layer_curvature(jnn.Linear(rand(2, 3)), rand(3), rand(3))


# ----------------------------------------------------------------------------------------------
# The exact Hessian of a network: Hessian–vector products by central differences of ∇F
# ----------------------------------------------------------------------------------------------
def gradient_vector(net, X, Y, loss, w):
    net.params = w
    return np.concatenate([g.ravel() for g in net.gradients(X, Y, loss)[1]])


def conv_net(padding):
    return jnn.Network([jnn.Conv1D(rand(3), padding=padding), jnn.Tanh(), jnn.MaxPool1D(2),
                        jnn.Conv1D(rand(2), padding=padding), jnn.Linear(rand(2, 4))])


def composite_net():
    return jnn.Network([
        jnn.Concat(jnn.Network([jnn.Linear(rand(2, 3)), jnn.Tanh()]),
                   jnn.Affine(rand(2, 3), rand(2))),
        jnn.Residual(jnn.Network([jnn.Linear(rand(4, 4)), jnn.Sigmoid()])),
        jnn.Linear(rand(1, 4)), jnn.Sigmoid()])


def labels(n, h):
    return jnn.datasets.one_hot(RNG.integers(0, h, n), h)


CASES = {
    "tanh MLP, squared error": (jnn.mlp([3, 4, 2], seed=1), rand(5, 3), rand(5, 2),
                                jnn.SquaredError()),
    "sigmoid + softmax layer, cross-entropy": (
        jnn.Network([jnn.Affine(rand(4, 3), rand(4)), jnn.Sigmoid(), jnn.Linear(rand(3, 4)),
                     jnn.Softmax()]), rand(5, 3), labels(5, 3), jnn.CrossEntropy()),
    "swish and bias, softmax cross-entropy": (
        jnn.Network([jnn.Affine(rand(4, 3), rand(4)), jnn.Swish(1.3), jnn.Bias(rand(4)),
                     jnn.Linear(rand(3, 4))]), rand(5, 3), labels(5, 3), jnn.SoftmaxCrossEntropy()),
    "leaky ReLU, half squared error": (
        jnn.Network([jnn.Affine(rand(4, 3), rand(4)), jnn.LeakyReLU(0.2),
                     jnn.Affine(rand(2, 4), rand(2)), jnn.ReLU(), jnn.Identity()]),
        rand(5, 3), rand(5, 2), jnn.HalfSquaredError()),
    "concat, residual, nested networks, binary cross-entropy": (
        composite_net(), rand(5, 3), RNG.uniform(size=(5, 1)), jnn.BinaryCrossEntropy()),
    "conv, max-pool (zeros)": (conv_net("zeros"), rand(4, 8), rand(4, 2), jnn.HalfSquaredError()),
    "conv, max-pool (circular)": (conv_net("circular"), rand(4, 8), rand(4, 2), jnn.SquaredError()),
    "conv, max-pool (reflect)": (conv_net("reflect"), rand(4, 8), rand(4, 2), jnn.SquaredError()),
}


@pytest.mark.parametrize("case", CASES)
def test_hessian_times_random_directions_is_the_derivative_of_the_gradient(case):
    net, X, Y, loss = CASES[case]
    w0 = net.params.copy()
    H = net.hessian(X, Y, loss)
    assert H.shape == (net.n_params, net.n_params)
    for _ in range(3):
        v = RNG.normal(size=w0.size)
        # ReLU, LeakyReLU and max-pooling are piecewise linear: a step of 1e-5 along v does not
        # reach a kink here (checked by the agreement itself, which a kink would break).
        Hv = jnn.numerical_jacobian(lambda t, v=v: gradient_vector(net, X, Y, loss, w0 + t[0] * v),
                                    [0.0], initial_step=1e-5)[:, 0]
        assert_allclose(H @ v, Hv, rtol=1e-6, atol=1e-7 * np.abs(Hv).max())
    net.params = w0
    assert_allclose(H, H.T, rtol=0, atol=1e-12 * np.abs(H).max())


def test_the_curvature_term_vanishes_for_a_model_linear_in_its_weights():
    # ŷ = W x + b is linear in w, so ∇²_w f_a = 0 and the Hessian is exactly the GGN.
    net = jnn.Network([jnn.Affine(rand(3, 2), rand(3))])
    X, Y = rand(6, 2), labels(6, 3)
    assert_allclose(net.hessian(X, Y, jnn.SoftmaxCrossEntropy()),
                    net.ggn(X, Y, jnn.SoftmaxCrossEntropy()), rtol=1e-13, atol=1e-15)


def test_at_zero_residual_the_hessian_of_a_squared_error_is_the_gauss_newton_matrix():
    net, X = jnn.mlp([2, 3, 2], seed=5), rand(4, 2)
    Y = net(X)  # ∇_ŷL = 2(ŷ − y) = 0: the curvature term is weighted by zero
    H, G = net.hessian(X, Y, jnn.SquaredError()), net.ggn(X, Y, jnn.SquaredError())
    assert_allclose(H, G, rtol=0, atol=1e-15)
    assert np.abs(net.hessian(X, Y + 0.5, jnn.SquaredError()) - G).max() > 1e-3  # else: it does not


# ----------------------------------------------------------------------------------------------
# The Gauss–Newton matrix against an independent construction
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["tanh MLP, squared error",
                                  "sigmoid + softmax layer, cross-entropy",
                                  "swish and bias, softmax cross-entropy",
                                  "concat, residual, nested networks, binary cross-entropy",
                                  "conv, max-pool (reflect)"])
def test_ggn_is_the_mean_of_numerical_JT_H_J(case):
    net, X, Y, loss = CASES[case]
    expected = np.zeros((net.n_params, net.n_params))
    for x, y in zip(X, Y, strict=True):
        J = num_D_w(net, x, 1e-4)
        yhat = net(x)
        H = jnn.numerical_jacobian(lambda v, y=y: loss.grad(v, y), yhat, initial_step=1e-4)
        expected += J.T @ H @ J / len(X)
    G = net.ggn(X, Y, loss)
    assert_allclose(G, expected, rtol=1e-6, atol=1e-8 * np.abs(expected).max())
    assert_allclose(G, G.T, rtol=0, atol=1e-13 * np.abs(G).max())
    assert np.linalg.eigvalsh(G).min() > -1e-12 * np.abs(G).max()  # positive semi-definite


def test_ggn_needs_only_first_derivatives_while_hessian_names_a_layer_without_a_rule():
    scale = jnn.custom_layer(lambda z, a: a * z, lambda z, a: np.diag(a), lambda z, a: np.diag(z),
                             params=[2.0, 3.0], name="a ⊙ z")
    net = jnn.Network([jnn.Linear(rand(2, 2)), scale, jnn.Tanh(), jnn.Linear(rand(1, 2))])
    X, Y = rand(3, 2), rand(3, 1)
    assert net.ggn(X, Y, jnn.SquaredError()).shape == (8, 8)
    with pytest.raises(curvature.MissingRule, match=r"layer 2: custom layer 'a ⊙ z' has no "
                       r"second-derivative rule.*register\(CustomLayer\)"):
        net.hessian(X, Y, jnn.SquaredError())
    nested = jnn.Network([jnn.Concat(jnn.Network([jnn.Tanh(), copy.deepcopy(scale)]),
                                     jnn.Identity())])
    with pytest.raises(TypeError, match=r"layer 1: layer 2: custom layer"):
        nested.hessian(X, rand(3, 4), jnn.SquaredError())


def test_a_registered_rule_makes_the_hessian_exact(monkeypatch):
    # f = a ⊙ z is bilinear: ∂²(gᵀf)/∂a_p∂z_c = g_p δ_pc, so wz = diag(g), zz = ww = 0.
    def scale_rule(layer, z, g):
        return curvature.LayerCurvature(np.zeros((2, 2)), np.diag(g), np.zeros((2, 2)))

    monkeypatch.setitem(curvature.RULES, CustomLayer, scale_rule)
    scale = jnn.custom_layer(lambda z, a: a * z, lambda z, a: np.diag(a), lambda z, a: np.diag(z),
                             params=[2.0, 3.0], name="a ⊙ z")
    net = jnn.Network([jnn.Linear(rand(2, 2)), scale, jnn.Tanh(), jnn.Linear(rand(1, 2))])
    X, Y = rand(3, 2), rand(3, 1)
    w0, H, v = net.params.copy(), net.hessian(X, Y, jnn.SquaredError()), rand(8)
    Hv = jnn.numerical_jacobian(lambda t: gradient_vector(net, X, Y, jnn.SquaredError(),
                                                          w0 + t[0] * v), [0.0])[:, 0]
    assert_allclose(H @ v, Hv, rtol=1e-7, atol=1e-9)


def test_bad_batches_get_the_errors_of_gradients_and_inputs_stay_untouched():
    net, loss = jnn.mlp([2, 3, 2]), jnn.SquaredError()
    X, Y = rand(4, 2), rand(4, 2)
    X.flags.writeable = Y.flags.writeable = False
    before = X.copy(), Y.copy()
    net.ggn(X, Y, loss), net.hessian(X, Y, loss), net.ntk(X)
    assert np.array_equal(X, before[0]) and np.array_equal(Y, before[1])
    for bad_Y in (rand(4, 3), rand(3, 2)):
        with pytest.raises(ValueError) as expected:
            net.gradients(X, bad_Y, loss)
        for f in (net.ggn, net.hessian):
            with pytest.raises(ValueError) as got:
                f(X, bad_Y, loss)
            assert str(got.value) == str(expected.value)
    with pytest.raises(TypeError, match="needs a jacobian_nn.Network"):
        curvature.ggn(jnn.Linear(rand(2, 2)), X, Y, loss)
    with pytest.raises(TypeError, match="loss must be a jacobian_nn loss"):
        net.hessian(X, Y, "mse")


# ----------------------------------------------------------------------------------------------
# The empirical neural tangent kernel
# ----------------------------------------------------------------------------------------------
NTK_NETS = {
    "affine tanh MLP": lambda: jnn.mlp([3, 5, 4, 2], seed=2),
    "linear, bias, sigmoid, softmax": lambda: jnn.Network([
        jnn.Linear(rand(4, 3)), jnn.Bias(rand(4)), jnn.Sigmoid(), jnn.Linear(rand(3, 4)),
        jnn.Softmax()]),
    "concat, residual, nested": lambda: jnn.Network([
        jnn.Affine(rand(3, 3), rand(3)),
        jnn.Concat(jnn.Network([jnn.Linear(rand(2, 3)), jnn.Tanh()]),
                   jnn.Affine(rand(2, 3), rand(2))),
        jnn.Residual(jnn.Linear(rand(4, 4))), jnn.Affine(rand(2, 4), rand(2))]),
}


@pytest.mark.parametrize("name", NTK_NETS)
def test_ntk_routes_agree_with_numerical_jacobians(name):
    net = NTK_NETS[name]()
    X1, X2 = rand(4, 3), rand(3, 3)
    K = net.ntk(X1, X2)
    assert K.shape == (4, 3, net.out_size(3), net.out_size(3))
    assert_allclose(K, net.ntk(X1, X2, route="naive"), rtol=1e-12, atol=1e-13)
    J1 = [num_D_w(net, x, 1e-4) for x in X1]
    J2 = [num_D_w(net, x, 1e-4) for x in X2]
    independent = np.array([[a @ b.T for b in J2] for a in J1])
    assert_allclose(K, independent, rtol=1e-6, atol=1e-8 * np.abs(independent).max())


def test_ntk_of_conv_and_pooling_layers_agrees_between_routes():
    net = conv_net("zeros")
    X = rand(5, 8)
    assert_allclose(net.ntk(X), net.ntk(X, route="naive"), rtol=1e-12, atol=1e-13)


def test_ntk_of_one_set_is_symmetric_and_positive_semi_definite():
    net, X = jnn.mlp([3, 6, 2], seed=4), rand(5, 3)
    K = net.ntk(X)
    assert K.shape == (5, 5, 2, 2)
    assert_allclose(K, K.transpose(1, 0, 3, 2), rtol=0, atol=1e-13 * np.abs(K).max())
    gram = K.transpose(0, 2, 1, 3).reshape(10, 10)  # J̃ J̃ᵀ for the stacked Jacobian J̃
    assert np.linalg.eigvalsh(gram).min() > -1e-12 * np.abs(gram).max()
    assert_allclose(net.ntk(X, X), K, rtol=1e-14)


def test_structured_ntk_never_forms_the_jacobian_of_affine_layers(monkeypatch):
    net, X = jnn.mlp([4, 6, 3], seed=1), rand(5, 4)
    expected = net.ntk(X, route="naive")

    def refuse(*args, **kwargs):
        raise AssertionError("a Jacobian D_W was formed")

    monkeypatch.setattr(jnn.Affine, "D_W", refuse)
    monkeypatch.setattr(jnn.Network, "jacobians", refuse)
    assert_allclose(net.ntk(X), expected, rtol=1e-12, atol=1e-13)


def test_ntk_linear_layer_term_by_hand():
    # f(x) = W x, one layer: J J'ᵀ = (I ⊗ xᵀ)(I ⊗ x') = (x · x') I.
    net = jnn.Network([jnn.Linear(rand(2, 3))])
    x, xp = np.array([1.0, 2.0, -1.0]), np.array([0.5, 0.0, 3.0])
    assert_allclose(net.ntk(x[None], xp[None])[0, 0], (0.5 - 3.0) * np.eye(2), rtol=1e-15)


def test_ntk_rejects_bad_input():
    net = jnn.mlp([3, 2, 1])
    with pytest.raises(ValueError, match="route must be one of"):
        net.ntk(rand(2, 3), route="fast")
    with pytest.raises(ValueError, match=r"ntk: X1.*must be 2-D.*x\[None, :\]"):
        net.ntk(rand(3))
    with pytest.raises(ValueError, match=r"expects z\^\(0\) = x ∈ R\^3"):
        net.ntk(rand(2, 3), rand(2, 4))


# ----------------------------------------------------------------------------------------------
# The Hessian trace of one example
# ----------------------------------------------------------------------------------------------
def test_hessian_trace_blocks_of_the_tanh_example_by_hand():
    ex = jnn.examples.tanh_worked_example()
    tr = curvature.hessian_trace(ex.network, ex.x, ex.y, ex.loss)
    W1, W3 = ex.network.layers[0].W, ex.network.layers[2].W[0]
    x, u = ex.x, ex.network.layers[0].W @ ex.x
    t = np.tanh(u)
    r = W3 @ t - ex.y[0]  # ∇_ŷL for L = ½(ŷ − y)²
    dphi, ddphi = 1 - t ** 2, -2 * t * (1 - t ** 2)
    # ŷ = Σ_c W3_c tanh(u_c), u = W1 x:  ∂ŷ/∂W1_ab = W3_a φ'(u_a) x_b,  ∂ŷ/∂W3_c = tanh(u_c).
    dW1 = np.array([W3[a] * dphi[a] * x[b] for a in range(2) for b in range(2)])
    assert_allclose(tr.ggn(1, 1), np.outer(dW1, dW1), rtol=1e-13)
    assert_allclose(tr.ggn(1, 3), np.outer(dW1, t), rtol=1e-13)
    assert_allclose(tr.hessian(3, 3), np.outer(t, t), rtol=1e-13)  # f_3 is linear in W3
    # ∂²ŷ/∂W1_ab∂W1_a'b' = δ_aa' W3_a φ''(u_a) x_b x_b';  ∂²ŷ/∂W1_ab∂W3_c = δ_ac φ'(u_a) x_b.
    curv11 = np.zeros((4, 4))
    curv13 = np.zeros((4, 2))
    for a in range(2):
        for b in range(2):
            curv13[2 * a + b, a] = r * dphi[a] * x[b]
            for bp in range(2):
                curv11[2 * a + b, 2 * a + bp] = r * W3[a] * ddphi[a] * x[b] * x[bp]
    assert_allclose(tr.curvature(1, 1), curv11, rtol=1e-13, atol=1e-16)
    assert_allclose(tr.curvature(1, 3), curv13, rtol=1e-13, atol=1e-16)
    assert_allclose(tr.hessian(3, 1), (tr.ggn(1, 3) + curv13).T, rtol=1e-13)
    assert tr.hessian(2, 2).shape == (0, 0) and tr.hessian(1, 2).shape == (4, 0)
    assert np.array_equal(W1, [[1, -3], [0.2, 1]])  # the example is untouched


def test_hessian_trace_matches_the_batch_hessian_of_one_example():
    net, X, Y, loss = CASES["concat, residual, nested networks, binary cross-entropy"]
    tr = curvature.hessian_trace(net, X[0], Y[0], loss)
    assert_allclose(tr.hessian(), net.hessian(X[:1], Y[:1], loss), rtol=1e-13, atol=1e-15)
    assert_allclose(tr.ggn(), net.ggn(X[:1], Y[:1], loss), rtol=1e-12, atol=1e-15)
    assert_allclose(tr.ggn() + tr.curvature(), tr.hessian(), rtol=1e-15, atol=1e-16)
    assert_allclose(tr.D_W(1), net.backprop(X[0], Y[0], loss).D_W(1), rtol=1e-15)


def test_hessian_trace_renders_its_blocks_under_lecture_names():
    ex = jnn.examples.tanh_worked_example()
    tr = curvature.hessian_trace(ex.network, ex.x, ex.y, ex.loss)
    text = tr.to_text(decimals=3)
    for name in ("∇²_ŷ L ∈ R^{1×1}", "D_{W_1} f_Wᵀ ∇²_ŷL D_{W_3} f_W ∈ R^{4×2}",
                 "Σ_a (∇_ŷL)_a ∇²_{W_1 W_1} f_a ∈ R^{4×4}", "∇²_{W_3 W_3} L ∈ R^{2×2}",
                 "∇_{z^(1)} L ∈ R^2", "Block (1, 3)"):
        assert name in text
    assert "Block (2," not in text  # Tanh has no parameters
    latex = tr.display(decimals=2)._repr_latex_()
    assert r"\nabla^2_{W_1 W_3} L &= \begin{bmatrix}" in latex
    assert repr(tr).startswith("<HessianTrace of one example through m = 3 layers, d = 6")
    with pytest.raises(IndexError, match=r"1\.\.3"):
        tr.hessian(0, 1)
    with pytest.raises(TypeError, match="both layer indices"):
        tr.ggn(1)
