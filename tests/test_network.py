"""The composer: lecture 000's recursion, whole-network Jacobians, and gradients."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from oracle import num_D_z, num_grad, with_params

import jacobian_nn as jnn


def random_net(seed=0):
    rng = np.random.default_rng(seed)
    net = jnn.Network([
        jnn.Affine(rng.normal(size=(4, 3)), rng.normal(size=4)),
        jnn.Tanh(),
        jnn.Linear(rng.normal(size=(3, 4))),
        jnn.Sigmoid(),
        jnn.Bias(rng.normal(size=3)),
        jnn.Linear(rng.normal(size=(2, 3))),
    ])
    return net, rng.normal(size=3), rng.normal(size=2)


def rest_of_network(net, j):
    """The map z^(j) ↦ z^(m), i.e. f_{W_m} ∘ … ∘ f_{W_{j+1}}, built from forward maps."""
    def f(z):
        for layer in net.layers[j:]:
            z = layer(z)
        return z
    return f


def test_d_j_is_the_jacobian_of_the_rest_of_the_network():
    net, x, y = random_net()
    tr = net.backprop(x, y, jnn.SquaredError())
    for j in range(net.m + 1):
        assert_allclose(tr.D(j), num_D_z(rest_of_network(net, j), tr.z(j)), rtol=1e-7, atol=1e-9)
    assert_allclose(tr.D(net.m), np.eye(2))


def test_d_j_satisfies_the_backward_recursion():
    net, x, y = random_net(1)
    tr = net.backprop(x, y, jnn.SquaredError())
    for j in range(net.m - 1, -1, -1):
        assert_allclose(tr.D(j), tr.D(j + 1) @ tr.local_D_z(j + 1), rtol=1e-14)
        assert tr.D(j).shape == (2, tr.z(j).shape[0])


def test_local_jacobians_are_each_layers_own():
    net, x, y = random_net(2)
    tr = net.backprop(x, y, jnn.SquaredError())
    for j, layer in enumerate(net.layers, 1):
        assert_allclose(tr.local_D_z(j), num_D_z(layer.forward, tr.z(j - 1)), atol=1e-8)
        assert_allclose(tr.D_W(j), tr.D(j) @ tr.local_D_W(j), rtol=1e-14)


def test_network_jacobians_match_numerical_differentiation():
    net, x, _ = random_net(3)
    assert_allclose(net.D_z(x), num_D_z(net.forward, x), rtol=1e-7, atol=1e-9)
    w = net.params
    numeric_W = num_D_z(lambda v: with_params(net, v).forward(x), w)
    assert net.D_W(x).shape == (2, net.n_params)
    assert_allclose(net.D_W(x), numeric_W, rtol=1e-7, atol=1e-9)


def test_each_gradient_matches_the_numerical_gradient_of_the_loss():
    net, x, y = random_net(4)
    for loss in [jnn.SquaredError(), jnn.HalfSquaredError(), jnn.SoftmaxCrossEntropy()]:
        target = np.abs(y) / np.abs(y).sum() if isinstance(loss, jnn.SoftmaxCrossEntropy) else y
        tr = net.backprop(x, target, loss)
        for j, layer in enumerate(net.layers, 1):
            if not layer.n_params:
                continue

            def L_of_Wj(w, j=j, layer=layer, loss=loss, target=target):
                layers = list(net.layers)
                layers[j - 1] = with_params(layer, w.reshape(layer.params.shape))
                return loss(jnn.Network(layers)(x), target)

            assert_allclose(tr.grad(j).ravel(), num_grad(L_of_Wj, layer.params.ravel()),
                            rtol=1e-7, atol=1e-9)
            assert tr.grad(j).shape == layer.params.shape


def test_batch_gradient_is_the_mean_of_numerical_gradients():
    net, _, _ = random_net(5)
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    loss = jnn.HalfSquaredError()
    w0 = net.params

    def mean_loss(w):
        f = with_params(net, w)
        return np.mean([loss(f(x), y) for x, y in zip(X, Y, strict=True)])

    numeric = num_grad(mean_loss, w0)
    for mode in ["lecture", "jacobian", "reverse"]:
        value, grads = net.gradients(X, Y, loss, mode=mode)
        assert_allclose(value, mean_loss(w0), rtol=1e-13)
        assert_allclose(np.concatenate([g.ravel() for g in grads]), numeric, rtol=1e-7, atol=1e-9)


def test_a_network_nests_as_a_layer():
    net, x, y = random_net(6)
    inner = jnn.Network(list(net.layers[1:4]))
    nested = jnn.Network([net.layers[0], inner, *net.layers[4:]])
    assert_allclose(nested(x), net(x), rtol=1e-15)
    assert_allclose(nested.D_z(x), net.D_z(x), rtol=1e-13)
    assert_allclose(nested.D_W(x), net.D_W(x), rtol=1e-13)
    loss = jnn.SquaredError()
    flat_grads = [net.backprop(x, y, loss).grad(j) for j in range(1, net.m + 1)]
    tr = nested.backprop(x, y, loss)
    assert_allclose(tr.grad(2), np.concatenate([g.ravel() for g in flat_grads[1:4]]))


def test_trace_is_read_only_and_backprop_is_pure():
    net, x, y = random_net(7)
    x_before = x.copy()
    tr1 = net.backprop(x, y, jnn.SquaredError())
    tr2 = net.backprop(x, y, jnn.SquaredError())
    assert_allclose(x, x_before, rtol=0)
    for j in range(1, net.m + 1):
        assert np.array_equal(tr1.grad(j), tr2.grad(j))
    with pytest.raises(ValueError, match="read-only"):
        tr1.D(0)[0, 0] = 1.0
    x[0] = 100.0  # changing the user's x afterwards does not reach into the trace
    assert_allclose(tr1.z(0), x_before, rtol=0)


def test_trace_indices_follow_the_lecture():
    net, x, y = random_net(8)
    tr = net.backprop(x, y, jnn.SquaredError())
    assert_allclose(tr.z(0), x)
    assert_allclose(tr.z(net.m), net(x))
    with pytest.raises(IndexError, match=r"0\.\.6"):
        tr.z(7)
    with pytest.raises(IndexError, match=r"1\.\.6"):
        tr.grad(0)


def test_trace_text_names_every_quantity_with_its_shape():
    net, x, y = random_net(9)
    text = str(net.backprop(x, y, jnn.SquaredError()))
    for needle in ["z^(0) ∈ R^3", "z^(6) ∈ R^2", "D^(6) ∈ R^{2×2}", "D^(0) ∈ R^{2×3}",
                   "D_z f_{W_1}(z^(0)) ∈ R^{4×3}", "D_{W_1} f_{W_1}(z^(0)) ∈ R^{4×16}",
                   "D_{W_6} f_W(x) ∈ R^{2×6}", "∇_{W_1} L ∈ R^{4×4}", "L(ŷ, y) = ‖ŷ − y‖²"]:
        assert needle in text, needle


def test_show_respects_decimals(capsys):
    tr = jnn.Network([jnn.Linear([[1.0 / 3.0]])]).backprop([1.0], [0.0], jnn.SquaredError())
    tr.show(decimals=2)
    out = capsys.readouterr().out
    assert "z^(1) ∈ R^1 = [0.33]" in out and "0.333" not in out


def test_sizes_that_cannot_compose_are_reported_when_built():
    with pytest.raises(ValueError, match=r"layer 3 \(Linear, W ∈ R\^\{1×3\}\) expects "
                                         r"z\^\(2\) ∈ R\^3, but layer 2 \(Tanh\) outputs "
                                         r"z\^\(2\) ∈ R\^2"):
        jnn.Network([jnn.Linear(np.ones((2, 2))), jnn.Tanh(), jnn.Linear(np.ones((1, 3)))])


def test_mlp_is_reproducible_from_its_seed():
    a, b = jnn.mlp([3, 5, 2], seed=4), jnn.mlp([3, 5, 2], seed=4)
    assert np.array_equal(a.params, b.params)
    assert not np.array_equal(a.params, jnn.mlp([3, 5, 2], seed=5).params)
    assert [type(L).__name__ for L in a.layers] == ["Affine", "Tanh", "Affine"]


def test_mlp_draws_weights_with_variance_one_over_fan_in():
    # 120 000 draws of N(0, 1/400): the sample std is 1/20 to within ~1e-4 (one s.d.).
    net = jnn.mlp([400, 300, 1], seed=0)
    assert abs(net.layers[0].W.std() - 1 / np.sqrt(400)) < 1e-3
    assert abs(net.layers[0].W.mean()) < 1e-3
