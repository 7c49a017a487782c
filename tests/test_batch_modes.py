"""The three gradient modes, per-example Jacobians and the structured layer products.

References are independent of the code under test: the "lecture" mode runs lecture 000's
recursion with every dense matrix; the dense D_z/D_W are themselves checked against numerical
differentiation in the core tests; per-example Jacobians are also checked here against
scipy's numerical differentiation of the forward map alone.
"""

import inspect
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose
from oracle import flat, num_D_w, numerical_mean_loss_gradient

import jacobian_nn as jnn
from jacobian_nn import _kernels

MODES = ("lecture", "jacobian", "reverse")


def rel_err(a, b) -> float:
    """max |a − b| / max |b| (0 when both are empty)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    if b.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), np.finfo(float).tiny))


class Exp(jnn.Elementwise):
    """φ(z) = e^z, whose φ' returns the forward output itself (not a new array)."""

    def phi(self, z):
        return np.exp(z)

    def dphi(self, z, fz):
        return fz


def probabilities(rng, n, h):
    P = rng.uniform(0.1, 1.0, (n, h))
    return P / P.sum(axis=1, keepdims=True)


# Each builder returns (net, X, Y, loss) for a random architecture.
def mlp_half_squared(rng):
    net = jnn.Network([jnn.Affine(rng.normal(size=(4, 3)), rng.normal(size=4)), jnn.Tanh(),
                       jnn.Affine(rng.normal(size=(2, 4)), rng.normal(size=2))])
    return net, rng.normal(size=(7, 3)), rng.normal(size=(7, 2)), jnn.HalfSquaredError()


def softmax_layer_cross_entropy(rng):
    net = jnn.Network([jnn.Linear(rng.normal(size=(5, 3))), jnn.Bias(rng.normal(size=5)),
                       jnn.Swish(beta=1.3), jnn.Affine(rng.normal(size=(4, 5)), rng.normal(size=4)),
                       jnn.Softmax()])
    return net, rng.normal(size=(6, 3)), probabilities(rng, 6, 4), jnn.CrossEntropy()


def nested_softmax_cross_entropy(rng):
    inner = jnn.Network([jnn.Linear(rng.normal(size=(3, 3))), jnn.Tanh(),
                         jnn.Affine(rng.normal(size=(3, 3)), rng.normal(size=3))])
    net = jnn.Network([jnn.Affine(rng.normal(size=(3, 4)), rng.normal(size=3)), jnn.Sigmoid(),
                       inner, jnn.Swish(), jnn.Linear(rng.normal(size=(3, 3)))])
    Y = jnn.datasets.one_hot(rng.integers(0, 3, 8), 3)
    return net, rng.normal(size=(8, 4)), Y, jnn.SoftmaxCrossEntropy()


def sigmoid_binary_cross_entropy(rng):
    net = jnn.Network([jnn.Affine(rng.normal(size=(3, 2)), rng.normal(size=3)),
                       jnn.LeakyReLU(0.1), jnn.Bias(rng.normal(size=3)),
                       jnn.Linear(rng.normal(size=(2, 3))), jnn.Sigmoid()])
    return net, rng.normal(size=(5, 2)), rng.uniform(0, 1, (5, 2)), jnn.BinaryCrossEntropy()


def user_layer_reusing_its_output(rng):
    net = jnn.Network([jnn.Affine(rng.normal(size=(3, 2)) / 2, rng.normal(size=3) / 2), Exp(),
                       jnn.Affine(rng.normal(size=(2, 3)), rng.normal(size=2))])
    return net, rng.normal(size=(5, 2)), rng.normal(size=(5, 2)), jnn.HalfSquaredError()


def lecture_style_linear_bias(rng):
    # Lecture 002's way: Linear, then Bias, then the activation, and a Bias on top.
    net = jnn.Network([jnn.Linear(rng.normal(size=(4, 3))), jnn.Bias(rng.normal(size=4)),
                       jnn.Tanh(), jnn.Linear(rng.normal(size=(3, 4))),
                       jnn.Bias(rng.normal(size=3))])
    return net, rng.normal(size=(7, 3)), rng.normal(size=(7, 3)), jnn.HalfSquaredError()


def linear_chain(rng):
    # No activation at all: every D^(j) is one matrix for the whole batch; raw scores into the
    # fused σ + binary cross-entropy.
    net = jnn.Network([jnn.Affine(rng.normal(size=(4, 3)), rng.normal(size=4)),
                       jnn.Linear(rng.normal(size=(2, 4))), jnn.Bias(rng.normal(size=2))])
    return net, rng.normal(size=(6, 3)), rng.uniform(0, 1, (6, 2)), jnn.SigmoidBinaryCrossEntropy()


def scalar_output_squared(rng):
    # Targets of shape (n,) for h_m = 1, and a Softmax in the middle of the network.
    net = jnn.Network([jnn.Affine(rng.normal(size=(3, 2)), rng.normal(size=3)), jnn.Softmax(),
                       jnn.Linear(rng.normal(size=(1, 3))), jnn.Identity()])
    return net, rng.normal(size=(6, 2)), rng.normal(size=6), jnn.SquaredError()


ARCHITECTURES = [mlp_half_squared, softmax_layer_cross_entropy, nested_softmax_cross_entropy,
                 sigmoid_binary_cross_entropy, user_layer_reusing_its_output,
                 lecture_style_linear_bias, linear_chain, scalar_output_squared]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("build", ARCHITECTURES)
def test_the_three_modes_give_the_same_loss_and_gradients(build, seed):
    net, X, Y, loss = build(np.random.default_rng(seed))
    X0, Y0 = X.copy(), Y.copy()
    ref_value, ref_grads = net.gradients(X, Y, loss, mode="lecture")
    assert any(g.size for g in ref_grads)
    for mode in ("jacobian", "reverse"):
        value, grads = net.gradients(X, Y, loss, mode=mode)
        assert value == pytest.approx(ref_value, rel=1e-12)
        assert len(grads) == net.m
        for layer, g, ref in zip(net.layers, grads, ref_grads, strict=True):
            assert g.shape == layer.params.shape
            assert rel_err(g, ref) <= 1e-12, (mode, layer)
    assert np.array_equal(X, X0) and np.array_equal(Y, Y0)  # user arrays untouched


@pytest.mark.parametrize("build", ARCHITECTURES)
def test_the_batch_gradient_is_the_mean_of_the_per_example_traces(build):
    # The lecture's formula ∇_{W_j}Lᵀ = ∇_ŷLᵀ D^(j) D_{W_j} f_{W_j}, one example at a time.
    net, X, Y, loss = build(np.random.default_rng(7))
    Y2 = Y.reshape(len(X), -1)
    traces = [net.backprop(x, y, loss) for x, y in zip(X, Y2, strict=True)]
    _, grads = net.gradients(X, Y, loss)
    for j in range(1, net.m + 1):
        by_hand = np.mean([tr.grad_yhat @ tr.D(j) @ tr.local_D_W(j) for tr in traces], axis=0)
        assert rel_err(grads[j - 1].ravel(), by_hand) <= 1e-12


def test_the_trainer_and_gradients_default_to_the_batched_jacobian_mode():
    assert jnn.GradientDescent(lr=0.1).mode == "jacobian"
    assert inspect.signature(jnn.Network.gradients).parameters["mode"].default == "jacobian"
    assert inspect.signature(jnn.GradientDescent).parameters["mode"].default == "jacobian"


def test_training_runs_agree_across_modes():
    # A nested Network as a layer: the trainer updates its layers through it.
    X, Y = jnn.datasets.xor()
    runs = {}
    for mode in MODES:
        net = jnn.Network([jnn.mlp([2, 3, 3], seed=4), jnn.Tanh(), jnn.mlp([3, 1], seed=5)])
        hist = jnn.GradientDescent(lr=0.5, max_iters=30, mode=mode).fit(
            net, X, Y, jnn.HalfSquaredError())
        runs[mode] = (np.array(hist.losses), net.params)
    for mode in ("jacobian", "reverse"):
        assert rel_err(runs[mode][0], runs["lecture"][0]) <= 1e-12
        assert rel_err(runs[mode][1], runs["lecture"][1]) <= 1e-12


def test_a_step_that_would_make_weights_non_finite_leaves_the_network_unchanged():
    # f(x) = b (a x), L = (b a x − y)², x = 1, y = −1, a = 1, b = 0.01: r = 1.01,
    # ∂L/∂a = 2 r b = 0.0202 (a finite update at lr = 1e308) but ∂L/∂b = 2 r a = 2.02 (b
    # overflows). Neither layer may change: no NaN/inf weights and no half-applied update.
    net = jnn.Network([jnn.Linear([[1.0]]), jnn.Linear([[0.01]])])
    before = net.params.copy()
    with np.errstate(over="ignore"), pytest.raises(ValueError, match="non-finite"):
        jnn.GradientDescent(lr=1e308).step(net, [[1.0]], [[-1.0]], jnn.SquaredError())
    assert np.array_equal(net.params, before)


# ----------------------------------------------------------------------------------------------
# Per-example Jacobians
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("build", ARCHITECTURES)
def test_per_example_jacobians_equal_the_lecture_loop(build):
    net, X, Y, loss = build(np.random.default_rng(3))
    X0 = X.copy()
    D_W, D_x = net.jacobians(X)
    n, h_m = X.shape[0], net(X).shape[1]
    assert D_x.shape == (n, h_m, X.shape[1])
    Y2 = Y.reshape(n, -1)
    for i, (x, y) in enumerate(zip(X, Y2, strict=True)):
        tr = net.backprop(x, y, loss)
        assert rel_err(D_x[i], tr.D(0)) <= 1e-12
        for j in range(1, net.m + 1):
            assert D_W[j - 1].shape == (n, h_m, net.layers[j - 1].n_params)
            assert rel_err(D_W[j - 1][i], tr.D_W(j)) <= 1e-12
    assert np.array_equal(X, X0)


def test_per_example_jacobians_match_numerical_differentiation():
    net, X, _, _ = nested_softmax_cross_entropy(np.random.default_rng(5))
    X = X[:3]
    D_W, D_x = net.jacobians(X)
    ends = np.cumsum([layer.n_params for layer in net.layers])  # w = [vec W_1, …, vec W_m]
    for i, x in enumerate(X):
        assert_allclose(D_x[i], jnn.numerical_jacobian(net, x), rtol=1e-7, atol=1e-9)
        numeric = num_D_w(net, x)
        for j in range(1, net.m + 1):
            if net.layers[j - 1].n_params:
                block = numeric[:, ends[j - 1] - net.layers[j - 1].n_params:ends[j - 1]]
                assert_allclose(D_W[j - 1][i], block, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("route", ["broadcast D: one GEMM", "in cache: matmul", "large: einsum"])
def test_rows_times_is_the_per_example_product_on_every_route(route, monkeypatch):
    rng = np.random.default_rng(11)
    G, D = rng.normal(size=(9, 4)), rng.normal(size=(9, 4, 6))
    if route == "broadcast D: one GEMM":
        D = np.broadcast_to(D[0], D.shape)
    if route == "large: einsum":  # as if D were larger than the cache threshold
        monkeypatch.setattr(_kernels, "IN_CACHE_BYTES", 0)
    expected = np.stack([G[i] @ D[i] for i in range(9)])  # ∇_ŷLᵀ D^(j), one example at a time
    assert_allclose(_kernels.rows_times(G, D), expected, rtol=1e-13)


@pytest.mark.parametrize("build", ARCHITECTURES)
def test_the_jacobian_mode_on_a_batch_beyond_the_cache_threshold_matches_numerical(build,
                                                                                   monkeypatch):
    # Stacked D^(j) above IN_CACHE_BYTES take the einsum route; pretend every D is that big.
    monkeypatch.setattr(_kernels, "IN_CACHE_BYTES", 0)
    net, X, Y, loss = build(np.random.default_rng(12))
    _, grads = net.gradients(X, Y, loss, mode="jacobian")
    expected = numerical_mean_loss_gradient(net, X, Y, loss)
    assert_allclose(flat(grads), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("build", ARCHITECTURES)
def test_the_jacobian_mode_in_cache_sized_chunks_matches_numerical(build, monkeypatch):
    # Pretend the cache holds next to nothing: one example a chunk.
    monkeypatch.setattr(_kernels, "CACHE_BYTES", 1)
    net, X, Y, loss = build(np.random.default_rng(13))
    batch = net.check_batch(X, Y, loss)
    _, grads = batch.gradients("jacobian")
    assert len(batch._chunks) == X.shape[0]
    expected = numerical_mean_loss_gradient(net, X, Y, loss)
    assert_allclose(flat(grads), expected, rtol=1e-6, atol=1e-8)
    _, again = batch.gradients("jacobian")  # the rows' arrays are reused: the same numbers
    assert_allclose(flat(again), flat(grads), rtol=0, atol=0)


def test_in_chunks_the_top_layers_with_a_constant_D_z_run_once_per_gradient(monkeypatch):
    monkeypatch.setattr(_kernels, "CACHE_BYTES", 1)  # one example a chunk: 7 chunks
    net, X, Y, loss = lecture_style_linear_bias(np.random.default_rng(15))
    calls = {j: 0 for j in range(1, net.m + 1)}
    for j, layer in enumerate(net.layers, 1):
        def counted(D, Z, F, j=j, real=layer.left_mul_D_z):
            calls[j] += 1
            return real(D, Z, F)
        monkeypatch.setattr(layer, "left_mul_D_z", counted)
    net.check_batch(X, Y, loss).gradients("jacobian")
    # Bias and Linear at the top: once, for all 7 examples; Tanh and the Bias below it: once a
    # chunk; layer 1's D_z is never needed for the gradients.
    assert calls == {5: 1, 4: 1, 3: 7, 2: 7, 1: 0}


def test_cache_chunks_cover_every_row_once_in_multiples_of_64_and_fold_a_short_tail():
    memory_plan = [slice(0, 700), slice(700, 1000)]
    per_row = _kernels.CACHE_BYTES // 200  # 200 examples fit: chunks of 192 = 3 · 64
    chunks = _kernels.cache_chunks(memory_plan, per_row)
    assert [(c.start, c.stop) for c in chunks] == [
        (0, 192), (192, 384), (384, 576), (576, 700), (700, 892), (892, 1000)]
    wide = _kernels.cache_chunks([slice(0, 100)], _kernels.CACHE_BYTES // 20)  # 20 fit: as is
    assert [(c.start, c.stop) for c in wide] == [(0, 20), (20, 40), (40, 60), (60, 80), (80, 100)]
    huge = _kernels.cache_chunks([slice(0, 3)], 10 * _kernels.CACHE_BYTES)  # one row at least
    assert [(c.start, c.stop) for c in huge] == [(0, 1), (1, 2), (2, 3)]
    # a tail of fewer than 192 // 4 = 48 rows joins the chunk before it
    tail = _kernels.cache_chunks([slice(0, 400), slice(400, 447)], per_row)
    assert [(c.start, c.stop) for c in tail] == [(0, 192), (192, 400), (400, 447)]


@pytest.mark.parametrize(("shape", "broadcast"), [
    ((32, 10, 32), True),   # a broadcast D, n a multiple of the block of examples
    ((37, 10, 32), True),   # … with a remainder
    ((3, 10, 32), True),    # … fewer examples than one block
    ((5, 3, 100), True),    # … long rows
    ((6, 4, 7), False),     # a dense D, short rows
    ((6, 4, 70), False),    # … long rows
    ((6, 1, 9), False),     # one row per example
])
def test_scale_columns_is_the_per_example_product_on_every_route(shape, broadcast):
    rng = np.random.default_rng(14)
    n, r, h = shape
    D = np.broadcast_to(rng.normal(size=(r, h)), shape) if broadcast else rng.normal(size=shape)
    v = rng.normal(size=(n, h))
    expected = np.stack([D[i] @ np.diag(v[i]) for i in range(n)])  # D_i diag(v_i), one by one
    assert_allclose(_kernels.scale_columns(D, v), expected, rtol=1e-15)


def test_the_default_path_never_builds_a_per_example_D_W_tensor():
    # An (n, h_m, d_1) tensor here would be 200·10·2040·8 B ≈ 31 MiB; every D^(j) of the
    # default mode is at most (n, h_m, 40), 0.6 MiB. The traced peak must stay far below.
    net = jnn.mlp([50, 40, 10], seed=0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 50))
    Y = jnn.datasets.one_hot(rng.integers(0, 10, 200), 10)
    dense_bytes = 200 * 10 * net.layers[0].n_params * 8
    tracemalloc.start()
    try:
        net.gradients(X, Y, jnn.SoftmaxCrossEntropy())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < dense_bytes / 8


def test_lecture_mode_memory_does_not_grow_with_the_number_of_examples():
    # Per example it materialises D_{W_j} f_W (h_m × d_j): 10 · 2120 · 8 B ≈ 170 KB, summed into
    # one gradient as it goes. Kept for all examples they would be n · h_m · d numbers; even
    # the per-example gradients alone, n · d · 8 B, are 6.8 MB at n = 400.
    rng = np.random.default_rng(1)
    net = jnn.Network([jnn.Affine(rng.normal(size=(10, 200)) / 15, np.zeros(10)), jnn.Tanh(),
                       jnn.Affine(rng.normal(size=(10, 10)) / 3, np.zeros(10))])
    peaks = {}
    for n in (50, 400):
        X, Y = rng.normal(size=(n, 200)), rng.normal(size=(n, 10))
        tracemalloc.start()
        try:
            net.gradients(X, Y, jnn.HalfSquaredError(), mode="lecture")
            peaks[n] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peaks[400] < 1.25 * peaks[50]
    assert peaks[400] < 400 * net.n_params * 8 / 4


# ----------------------------------------------------------------------------------------------
# Structured products against the dense matrices, one example at a time
# ----------------------------------------------------------------------------------------------
def layers_and_inputs(rng):
    inner = jnn.Network([jnn.Linear(rng.normal(size=(3, 4))), jnn.Tanh(),
                         jnn.Affine(rng.normal(size=(2, 3)), rng.normal(size=2))])
    return [
        (jnn.Linear(rng.normal(size=(3, 4))), 4),
        (jnn.Bias(rng.normal(size=4)), 4),
        (jnn.Affine(rng.normal(size=(3, 4)), rng.normal(size=3)), 4),
        (jnn.Tanh(), 4), (jnn.Sigmoid(), 4), (jnn.ReLU(), 4), (jnn.LeakyReLU(0.2), 4),
        (jnn.Identity(), 4), (jnn.Swish(beta=0.7), 4), (jnn.Softmax(), 4),
        (inner, 4), (Exp(), 4),
        (jnn.Tanh(), 70),  # rows of 64 or more take another route through left_mul_D_z
    ]


LAYER_IDS = ["Linear", "Bias", "Affine", "Tanh", "Sigmoid", "ReLU", "LeakyReLU", "Identity",
             "Swish", "Softmax", "Network", "user Exp", "Tanh, h = 70"]


@pytest.mark.parametrize("index", range(len(LAYER_IDS)), ids=LAYER_IDS)
@pytest.mark.parametrize("upstream", ["rows (n, h)", "stacked (n, r, h)", "broadcast (n, r, h)"])
@pytest.mark.parametrize("n", [5, 37])  # 37: two blocks of 16 examples and 5 left over
def test_structured_products_equal_the_dense_jacobians(index, upstream, n):
    rng = np.random.default_rng(11 + index)
    layer, k = layers_and_inputs(rng)[index]
    r = 3
    Z = rng.normal(size=(n, k))
    F = layer(Z)
    h = F.shape[1]
    if upstream == "rows (n, h)":
        D = rng.normal(size=(n, h))
    elif upstream == "stacked (n, r, h)":
        D = rng.normal(size=(n, r, h))
    else:  # one matrix for every example, as D^(m) = I is
        D = np.broadcast_to(rng.normal(size=(r, h)), (n, r, h))
    Z0, F0, D0 = Z.copy(), F.copy(), np.array(D)
    dense_z = np.stack([D[i] @ layer.D_z(Z[i]) for i in range(n)])
    dense_W = np.stack([D[i] @ layer.D_W(Z[i]) for i in range(n)])
    assert rel_err(layer.left_mul_D_z(D, Z, F), dense_z) <= 1e-13
    assert rel_err(layer.left_mul_D_W(D, Z, F), dense_W) <= 1e-13
    if upstream == "rows (n, h)":
        summed = sum(D[i] @ layer.D_W(Z[i]) for i in range(n)).reshape(layer.params.shape)
        g = layer.grad_W_sum(D, Z, F)
        assert g.shape == layer.params.shape
        assert rel_err(g, summed) <= 1e-13
    assert np.array_equal(Z, Z0) and np.array_equal(F, F0) and np.array_equal(D, D0)


@pytest.mark.parametrize("scale", [0.5, 1e306])
@pytest.mark.parametrize("layout", ["C", "F", "strided view"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_large_batches_are_still_checked_entry_by_entry_for_non_finite_values(bad, layout,
                                                                               scale):
    # Big inputs take a one-pass check (a finite x·x, or a finite sum for a strided view); it
    # must neither miss a bad entry nor reject finite values whose squares or sum overflow
    # (scale 1e306, where only the entry-wise fallback can answer).
    net = jnn.mlp([300, 2, 1])
    base = np.full((400, 600 if layout == "strided view" else 300), scale,
                   order="F" if layout == "F" else "C")
    X = base[:, ::2] if layout == "strided view" else base
    Y = np.zeros((400, 1))
    with np.errstate(over="ignore", invalid="ignore"):
        net.gradients(X, Y, jnn.HalfSquaredError())  # finite (at 1e306 x·x and the sum overflow)
    X[123, 45] = bad
    with pytest.raises(ValueError, match=r"X \(rows z\^\(0\) = x_i\).*non-finite.*123"):
        net.gradients(X, Y, jnn.HalfSquaredError())


@pytest.mark.parametrize("order", ["C", "F"])
def test_the_finiteness_check_of_a_large_batch_allocates_no_copy_of_it(order):
    # The one-pass check exists to avoid a temporary the size of X; np.vdot on a 2-d
    # Fortran-ordered array would copy it (twice), so the check must run over a flat view.
    from jacobian_nn._validate import as_real_array

    X = np.ones((2000, 500), order=order)  # 8 MB
    tracemalloc.start()
    as_real_array(X, "X", ndim=(2,))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < X.nbytes / 10


# ----------------------------------------------------------------------------------------------
# Identity and diagonal Jacobians keep a stacked D^(j) cheap
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("output", [jnn.Sigmoid(), jnn.Tanh(), jnn.Bias(np.zeros(300))])
def test_an_identity_or_diagonal_output_layer_never_builds_n_dense_h_m_by_h_m_matrices(output):
    # n dense (h_m, h_m) matrices would be 200·300·300·8 B ≈ 137 MiB; D^(j) below the output
    # is at most (n, h_m, 8), 3.7 MiB, so the traced peak must stay far below the dense size.
    rng = np.random.default_rng(4)
    net = jnn.Network([jnn.Linear(rng.normal(size=(8, 5))), jnn.Tanh(),
                       jnn.Linear(rng.normal(size=(300, 8)) / 3), output])
    X, Y = rng.normal(size=(200, 5)), rng.uniform(0.2, 0.8, size=(200, 300))
    tracemalloc.start()
    try:
        net.gradients(X, Y, jnn.SquaredError(), mode="jacobian")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 300 * 300 * 8 / 10


def test_diagonal_stacks_multiply_like_the_dense_matrices_they_stand_for():
    rng = np.random.default_rng(5)
    n, h, k = 4, 3, 2
    v, W = rng.normal(size=(n, h)), rng.normal(size=(h, k))
    u, G = rng.normal(size=(n, h)), rng.normal(size=(n, h))
    dense = np.stack([np.diag(vi) for vi in v])
    D = _kernels.Diagonal(n, h, v)
    assert_allclose(_kernels.dense(D), dense)
    assert_allclose(_kernels.times_matrix(D, W), dense @ W, rtol=1e-14)
    assert_allclose(_kernels.dense(_kernels.scale_columns(D, u)),
                    np.stack([np.diag(vi * ui) for vi, ui in zip(v, u, strict=True)]))
    assert_allclose(_kernels.rows_times(G, D), np.einsum("nh,nhk->nk", G, dense), rtol=1e-14)
    eye = _kernels.identity_stack(n, h)
    assert_allclose(_kernels.dense(eye), np.broadcast_to(np.eye(h), (n, h, h)))
    assert _kernels.times_matrix(eye, W).strides[0] == 0  # D^(m) W = W, once for all examples
    assert _kernels.rows_times(G, eye) is G


def test_a_bias_hands_the_stack_on_without_copying_it():
    D = np.broadcast_to(np.eye(3), (5, 3, 3))  # D^(m) = I for 5 examples, stored once
    assert jnn.Bias(np.ones(3)).left_mul_D_z(D, np.zeros((5, 3)), np.ones((5, 3))) is D


# ----------------------------------------------------------------------------------------------
# Overflow in the backward pass, and gradients of the wrong shape
# ----------------------------------------------------------------------------------------------
def test_an_overflowing_backward_pass_is_reported_the_same_way_everywhere():
    # D^(1) = W_3 W_2 = 1e400 overflows although the true D^(0) = W_3 W_2 W_1 = 0.
    net = jnn.Network([jnn.Linear([[0.0]]), jnn.Linear([[1e200]]), jnn.Linear([[1e200]])])
    X, Y = np.array([[1.0], [2.0]]), np.array([[0.0], [1.0]])
    expected = r"backward pass overflowed float64: D\^\(1\) = D\^\(2\) D_z f_\{W_2\}\(z\^\(1\)\)"
    for mode in ("lecture", "jacobian", "reverse"):
        with pytest.raises(ValueError, match=expected + " is not finite for example i = 0"):
            net.gradients(X, Y, jnn.SquaredError(), mode=mode)
    for call in (lambda: net.jacobians(X),
                 lambda: net.per_example_gradients(X, Y, jnn.SquaredError())):
        with pytest.raises(ValueError, match=expected + " is not finite for example i = 0"):
            call()
    with pytest.raises(ValueError, match=expected + " is not finite \\(layer 2"):
        net.D_z([1.0])


def test_an_overflow_only_in_D_0_spoils_no_gradient_but_is_named_where_D_0_is_asked_for():
    # D^(0) = W_2 W_1 = 1e400, but the gradients need only D^(1) = W_2 and z^(j).
    net = jnn.Network([jnn.Linear([[1e200]]), jnn.Linear([[1e200]])])
    X, Y = np.array([[0.0], [1e-300], [0.0]]), np.zeros((3, 1))
    # ŷ_1 = 1e100, so ∇_{W_1} L = (1/3)·2ŷ_1·W_2·x_1 = 2/3 and ∇_{W_2} L = (1/3)·2ŷ_1·z_1^(1)
    expected = [[[2.0 / 3.0]], [[2.0 / 3.0]]]
    for mode in ("lecture", "jacobian", "reverse"):
        _, grads = net.gradients(X, Y, jnn.SquaredError(), mode=mode)
        assert_allclose(grads, expected, rtol=1e-13)
    with pytest.raises(ValueError, match=r"D\^\(0\) = D\^\(1\) D_z f_\{W_1\}.*not finite"):
        net.D_z([0.0])
    with pytest.raises(ValueError, match=r"D\^\(0\).*not finite for example i = 0"):
        net.jacobians(X)


def test_a_forward_overflow_names_the_example_it_happened_in():
    big = jnn.Network([jnn.Linear([[1.0]]), jnn.Linear([[1e300]])])
    X = np.array([[1.0], [1e10], [1.0]])  # z^(2) = 1e310 in example 1 only
    for mode in ("lecture", "jacobian", "reverse"):
        with pytest.raises(ValueError, match=r"z\^\(2\).*not finite for example i = 1"):
            big.gradients(X, np.zeros((3, 1)), jnn.SquaredError(), mode=mode)


class WrongGradientShape(jnn.Linear):
    """A layer whose batched gradient forgets a row."""

    def grad_W_sum(self, G, Z, F):
        return super().grad_W_sum(G, Z, F)[:-1]


@pytest.mark.parametrize("mode", ["jacobian", "reverse"])
def test_a_gradient_of_the_wrong_size_is_refused_where_gradients_are_assembled(mode):
    net = jnn.Network([WrongGradientShape(np.ones((2, 3))), jnn.Tanh()])
    with pytest.raises(RuntimeError, match=r"layer 1 \(Linear, W ∈ R\^\{2×3\}\) has 6 params"):
        net.gradients(np.ones((4, 3)), np.zeros((4, 2)), jnn.SquaredError(), mode=mode)
