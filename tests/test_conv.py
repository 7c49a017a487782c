"""Conv1D and MaxPool1D (lecture 002's homework modules): the forward map against a direct
sum written from the formula, the Jacobians against numerical differentiation and against the
Toeplitz / Hankel / selection structure built entry by entry."""

import numpy as np
import pytest
from oracle import flat, numerical_mean_loss_gradient

import jacobian_nn as jnn

rng = np.random.default_rng(66)


def padded(x, s, padding):
    """x_in[s] under each boundary rule, written out case by case."""
    N = len(x)
    if 0 <= s < N:
        return x[s]
    if padding == "zeros":
        return 0.0
    if padding == "circular":
        return x[s % N]
    return x[-s] if s < 0 else x[2 * (N - 1) - s]  # reflect, end samples not repeated


@pytest.mark.parametrize("padding", ["zeros", "circular", "reflect"])
@pytest.mark.parametrize("M", [1, 2, 3, 4, 5])
def test_conv_forward_is_the_stated_cross_correlation(padding, M):
    w, x = rng.normal(size=M), rng.normal(size=7)
    c = (M - 1) // 2
    expected = [sum(w[m] * padded(x, i + m - c, padding) for m in range(M)) for i in range(7)]
    np.testing.assert_allclose(jnn.Conv1D(w, padding)(x), expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("padding", ["zeros", "circular", "reflect"])
@pytest.mark.parametrize("M", [2, 3, 4])
def test_conv_jacobians_match_numerical(padding, M):
    report = jnn.check_jacobians(jnn.Conv1D(rng.normal(size=M), padding), rng.normal(size=6))
    assert report.passed, report


def test_conv_zero_padding_toeplitz_and_hankel():
    w, x = rng.normal(size=3), rng.normal(size=6)
    f = jnn.Conv1D(w)
    K = f.D_z(x)
    for i in range(6):
        for a in range(6):
            m = a - i + 1  # c = 1
            assert K[i, a] == (w[m] if 0 <= m < 3 else 0.0)
    xp = np.concatenate([[0.0], x, [0.0]])
    H = f.D_W(x)
    np.testing.assert_array_equal(H, [[xp[i + m] for m in range(3)] for i in range(6)])
    for s in range(8):  # constant along every anti-diagonal i + m = s
        assert len({H[i, s - i] for i in range(6) if 0 <= s - i < 3}) == 1


def test_conv_circular_is_circulant():
    K = jnn.Conv1D(rng.normal(size=3), "circular").D_z(np.zeros(5))
    for i in range(5):
        np.testing.assert_array_equal(K[i], np.roll(K[0], i))


def test_conv_needs_longer_signal_and_known_padding():
    with pytest.raises(ValueError, match=r"N > M = 3.*got N = 3"):
        jnn.Conv1D(np.ones(3))(np.ones(3))
    with pytest.raises(ValueError, match="padding must be one of"):
        jnn.Conv1D(np.ones(3), padding="same")


@pytest.mark.parametrize("size, stride, N", [(2, 2, 7), (3, 1, 6), (3, 2, 8), (4, 3, 4)])
def test_maxpool_output_length_and_selection(size, stride, N):
    x = rng.permutation(N).astype(float)  # distinct values: no ties
    f = jnn.MaxPool1D(size, stride)
    n_out = (N - size) // stride + 1
    windows = [x[o * stride:o * stride + size] for o in range(n_out)]
    np.testing.assert_array_equal(f(x), [w.max() for w in windows])
    S = np.zeros((n_out, N))
    for o, w in enumerate(windows):
        S[o, o * stride + int(np.argmax(w))] = 1.0
    np.testing.assert_array_equal(f.D_z(x), S)
    assert f.D_W(x).shape == (n_out, 0)
    report = jnn.check_jacobians(f, x + 0.1 * rng.normal(size=N))
    assert report.passed, report


def test_maxpool_ties_first_maximum_wins():
    D = jnn.MaxPool1D(3).D_z(np.array([1.0, 5.0, 5.0, 2.0, 2.0, 2.0]))
    np.testing.assert_array_equal(D, [[0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0]])


def test_maxpool_too_short():
    with pytest.raises(ValueError, match="N ≥ 3"):
        jnn.MaxPool1D(3)(np.ones(2))
    with pytest.raises(ValueError, match="stride"):
        jnn.MaxPool1D(2, stride=0)


@pytest.mark.parametrize("mode", ["lecture", "jacobian", "reverse"])
def test_conv_pool_network_gradients(mode):
    net = jnn.Network([
        jnn.Conv1D(rng.normal(size=3), "reflect"), jnn.Tanh(),
        jnn.Conv1D(rng.normal(size=2), "circular"), jnn.MaxPool1D(2, 1),
        jnn.Affine(rng.normal(size=(2, 7)), rng.normal(size=2)),
    ])
    X, Y = rng.normal(size=(4, 8)), rng.normal(size=(4, 2))
    loss = jnn.SquaredError()
    _, grads = net.gradients(X, Y, loss, mode=mode)
    np.testing.assert_allclose(flat(grads), numerical_mean_loss_gradient(net, X, Y, loss),
                               rtol=1e-6, atol=1e-9)


def test_size_errors_inside_a_network_name_the_layer_index():
    net = jnn.Network([jnn.Linear(np.ones((3, 2))), jnn.Conv1D(np.ones(3))])
    with pytest.raises(ValueError, match=r"^layer 2: Conv1D, w ∈ R\^3, zeros padding needs"):
        net(np.ones(2))
    with pytest.raises(ValueError, match=r"^layer 2: MaxPool1D, size 4, stride 4 needs .* N ≥ 4"):
        jnn.Network([jnn.Linear(np.ones((3, 2))), jnn.MaxPool1D(4)])


def test_a_nested_network_that_pools_reports_the_pooled_size():
    # Tanh fixes no size, so the inner Network learns N = 6 from layer 1: ⌊(6 − 2)/2⌋ + 1 = 3.
    W1 = rng.normal(size=(6, 2))
    inner = jnn.Network([jnn.Tanh(), jnn.MaxPool1D(2)])
    w3 = rng.normal(size=(1, 3))
    net = jnn.Network([jnn.Linear(W1), inner, jnn.Linear(w3)])
    assert inner.out_size(6) == 3
    x = rng.normal(size=2)
    pooled = np.tanh(W1 @ x).reshape(3, 2).max(axis=1)  # windows {0,1}, {2,3}, {4,5}
    np.testing.assert_allclose(net(x), w3 @ pooled, rtol=1e-15)
    both = jnn.Concat(inner, jnn.Identity())  # f_a(z) ⊕ z: 3 + 6 entries, split after 3
    np.testing.assert_allclose(both(W1 @ x), np.concatenate([pooled, W1 @ x]), rtol=1e-15)


@pytest.mark.parametrize("mode", ["lecture", "jacobian", "reverse"])
def test_concat_of_a_pooling_network_splits_its_gradient_where_the_pool_ends(mode):
    # The batched modes cut D = [D_a | D_b] after f_a's output size, 3 here (not the input's 6).
    net = jnn.Network([jnn.Affine(rng.normal(size=(6, 2)), rng.normal(size=6)),
                       jnn.Concat(jnn.Network([jnn.Tanh(), jnn.MaxPool1D(2)]),
                                  jnn.Affine(rng.normal(size=(2, 6)), rng.normal(size=2))),
                       jnn.Linear(rng.normal(size=(2, 5)))])
    X, Y = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    loss = jnn.SquaredError()
    _, grads = net.gradients(X, Y, loss, mode=mode)
    np.testing.assert_allclose(flat(grads), numerical_mean_loss_gradient(net, X, Y, loss),
                               rtol=1e-6, atol=1e-9)
