"""The size guard: the largest array of a batch computation is bounded before it is allocated.

The "jacobian" mode builds D · D^(j) (n, h_m, h_j) in row chunks that fit the limit (same mean,
never a refusal); ``Network.jacobians`` and per-example gradients, whose results are themselves
that large, refuse with the size, the limit and what to use instead; ``numerical_jacobian``
(and so ``check_jacobians``) differentiates in blocks of columns. Tests set the limit through
JACOBIAN_NN_MEMORY_LIMIT to a few KiB instead of allocating GiBs.
"""

import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose
from support import raises

import jacobian_nn as jnn
from jacobian_nn import _kernels, _memory

LIMIT = "JACOBIAN_NN_MEMORY_LIMIT"


def traced_peak(fn):
    """(fn(), the peak of memory traced while fn ran, in bytes)."""
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def spy_chunks(monkeypatch):
    """Record every plan of ``_memory.row_chunks``: (n, bytes_per_row, chunks)."""
    plans, real = [], _memory.row_chunks

    def recording(n, bytes_per_row):
        chunks = real(n, bytes_per_row)
        plans.append((n, bytes_per_row, chunks))
        return chunks

    monkeypatch.setattr(_memory, "row_chunks", recording)
    return plans


def mixed_net(rng):
    """Linear, Bias, Tanh, a nested Network with Softmax, Affine: D^(j) dense below the top."""
    inner = jnn.Network([jnn.Linear(rng.normal(size=(6, 5))), jnn.Softmax()])
    return jnn.Network([jnn.Linear(rng.normal(size=(5, 3))), jnn.Bias(rng.normal(size=5)),
                        jnn.Tanh(), inner, jnn.Affine(rng.normal(size=(4, 6)), rng.normal(size=4))])


@pytest.mark.parametrize("loss", [jnn.HalfSquaredError(), jnn.SoftmaxCrossEntropy()])
def test_jacobian_mode_in_row_chunks_gives_the_unchunked_mean(monkeypatch, loss):
    rng = np.random.default_rng(7)
    net = mixed_net(rng)
    X = rng.normal(size=(37, 3))
    Y = jnn.datasets.one_hot(rng.integers(0, 4, 37), 4)
    whole_value, whole = net.gradients(X, Y, loss, mode="jacobian")
    # one example's D · D^(j) is at most h_m · max h_j · 8 = 4 · 6 · 8 = 192 bytes: 1000 bytes
    # leave room for 5 examples per chunk, so 37 examples take 8 chunks (the last of 2)
    monkeypatch.setenv(LIMIT, "1000")
    plans = spy_chunks(monkeypatch)
    value, chunked = net.gradients(X, Y, loss, mode="jacobian")
    assert [(c.start, c.stop) for c in plans[-1][2]] == [(i, min(i + 5, 37))
                                                         for i in range(0, 37, 5)]
    assert value == whole_value
    for g, w in zip(chunked, whole, strict=True):
        assert_allclose(g, w, rtol=1e-12, atol=1e-15)
    reference = net.gradients(X, Y, loss, mode="lecture")[1]
    for g, r in zip(chunked, reference, strict=True):
        assert_allclose(g, r, rtol=1e-12, atol=1e-15)


def test_training_in_chunks_follows_the_same_path(monkeypatch):
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(20, 4))
    a, b = mixed_net(np.random.default_rng(1)), mixed_net(np.random.default_rng(1))
    ha = jnn.GradientDescent(0.05, max_iters=15).fit(a, X, Y, jnn.HalfSquaredError())
    monkeypatch.setenv(LIMIT, "500")
    hb = jnn.GradientDescent(0.05, max_iters=15).fit(b, X, Y, jnn.HalfSquaredError())
    assert_allclose(hb.losses, ha.losses, rtol=1e-12)
    assert_allclose(b.params, a.params, rtol=1e-12, atol=1e-15)


def test_chunked_jacobian_mode_keeps_its_largest_array_near_the_limit(monkeypatch):
    rng = np.random.default_rng(0)
    net = jnn.Network([jnn.Linear(rng.normal(size=(100, 20)) / 5), jnn.Tanh(),
                       jnn.Linear(rng.normal(size=(100, 100)) / 10)])
    X, Y = rng.normal(size=(200, 20)), rng.normal(size=(200, 100))
    loss = jnn.HalfSquaredError()
    per_example = 100 * 100 * 8  # D^(1) = W_2 diag(tanh') of one example: 80 kB
    dense = 200 * per_example  # … of every example: 16 MB
    # without a limit it is built in chunks that fit a cache (_kernels.cache_chunks): 80 kB
    # per example, so chunks of CACHE_BYTES // 80 kB examples, never all 200 at once
    whole, whole_peak = traced_peak(lambda: net.gradients(X, Y, loss)[1])
    assert (_kernels.CACHE_BYTES // per_example) * per_example < whole_peak < dense / 2
    monkeypatch.setenv(LIMIT, str(2**18))  # 256 KiB: 3 examples per chunk
    chunked, peak = traced_peak(lambda: net.gradients(X, Y, loss)[1])
    # chunks of 3 examples instead of 9: the peak drops by at least 4 examples' stacks
    assert peak < min(dense / 4, whole_peak - 4 * per_example)
    for g, w in zip(chunked, whole, strict=True):
        assert_allclose(g, w, rtol=1e-12, atol=1e-15)


def test_a_huge_jacobian_mode_batch_is_planned_in_chunks_that_fit(monkeypatch):
    # h_m = 2000, n = 5000: whole, D · D^(1) (n, h_m, h_1) would be 5000·2000·2000·8 B = 149 GiB.
    # Tanh above a 2000×1 Linear keeps the real work cheap (its D^(j) stay diagonal); the plan
    # must still keep each chunk's estimate within the limit.
    monkeypatch.setenv(LIMIT, str(2**30))
    plans = spy_chunks(monkeypatch)
    net = jnn.Network([jnn.Linear(np.full((2000, 1), 1e-3)), jnn.Tanh()])
    X, Y = np.linspace(-1, 1, 5000)[:, None], np.zeros((5000, 2000))
    (value, grads), peak = traced_peak(lambda: net.gradients(X, Y, jnn.HalfSquaredError()))
    n, per_row, chunks = plans[-1]
    assert (n, per_row) == (5000, 8 * 2000 * 2000)
    assert all((c.stop - c.start) * per_row <= 2**30 for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].stop == 5000
    assert all(a.stop == b.start for a, b in zip(chunks, chunks[1:], strict=False))
    assert peak < 2**30
    # ∂L/∂W_1[a] = (1/n) Σ_i (tanh(u_i) − 0) (1 − tanh²(u_i)) x_i with u_i = 1e-3 x_i, by hand
    u = 1e-3 * X[:, 0]
    expected = np.mean(np.tanh(u) * (1 - np.tanh(u) ** 2) * X[:, 0])
    assert_allclose(grads[0], np.full((2000, 1), expected), rtol=1e-10)
    assert value == pytest.approx(0.5 * 2000 * np.mean(np.tanh(u) ** 2), rel=1e-12)


def test_huge_per_example_jacobians_are_refused_before_anything_is_allocated(monkeypatch):
    monkeypatch.delenv(LIMIT, raising=False)
    monkeypatch.setattr(_memory, "available_memory", lambda: 16 * 2**30)  # a 16 GiB machine
    net = jnn.Network([jnn.Linear(np.ones((2000, 1)))])  # h_m = 2000, d = 2000, k = 1
    X = np.zeros((5000, 1))
    size = 5000 * 2000 * (2000 + 1) * 8  # D_W (n, h_m, d) and D_x (n, h_m, k)

    def attempt():
        with raises(_memory.MemoryLimitError, f"{size / 2**30:.3g} GiB ({size} bytes)",
                    "limit of 2 GiB (1/8 of the available memory", LIMIT,
                    'mode="reverse"'):
            net.jacobians(X)

    _, peak = traced_peak(attempt)
    assert peak < 2**20
    assert issubclass(_memory.MemoryLimitError, MemoryError)


def test_per_example_gradients_are_refused_above_the_limit(monkeypatch):
    net = jnn.Network([jnn.Linear(np.ones((1, 50)))])  # d = 50
    X, Y = np.zeros((30, 50)), np.zeros((30, 1))
    assert net.per_example_gradients(X, Y, jnn.SquaredError())[0].shape == (30, 1, 50)
    monkeypatch.setenv(LIMIT, str(30 * 50 * 8 - 1))  # one byte short of the (n, d) result
    with raises(_memory.MemoryLimitError, "per_example_gradients for n = 30 examples and "
                "d = 50 parameters", "(12000 bytes)", f"set by {LIMIT}", 'mode="reverse"'):
        net.per_example_gradients(X, Y, jnn.SquaredError())
    monkeypatch.setenv(LIMIT, str(30 * 50 * 8))
    assert net.per_example_gradients(X, Y, jnn.SquaredError())[0].shape == (30, 1, 50)


def test_check_jacobians_differentiates_in_blocks_of_columns_with_the_same_result(monkeypatch):
    rng = np.random.default_rng(5)
    layer = jnn.Network([jnn.Affine(rng.normal(size=(3, 8)), rng.normal(size=3)), jnn.Tanh()])
    z = rng.normal(size=8)
    whole = jnn.check_jacobians(layer, z)
    # one column costs 8 · (12 · k + 40 · h) bytes: 1728 for D_z (k = 8, h = 3) and 3552 for
    # D_W (k = d = 27), so 10 000 bytes give blocks of 5 and of 2 columns
    monkeypatch.setenv(LIMIT, "10000")
    plans = spy_chunks(monkeypatch)
    blocked = jnn.check_jacobians(layer, z)
    assert [len(p[2]) for p in plans] == [2, 14]
    assert blocked.passed and whole.passed
    for name in ("D_z", "D_W"):  # the same differences, to the precision of the differences
        assert_allclose(blocked[name].numeric, whole[name].numeric, rtol=1e-9, atol=1e-12)


def test_numerical_jacobian_in_blocks_keeps_memory_near_the_limit(monkeypatch):
    W = np.random.default_rng(2).normal(size=(2, 300))
    whole, whole_peak = traced_peak(lambda: jnn.numerical_jacobian(lambda v: W @ v, np.ones(300)))
    monkeypatch.setenv(LIMIT, str(2**20))
    blocked, peak = traced_peak(lambda: jnn.numerical_jacobian(lambda v: W @ v, np.ones(300)))
    assert whole_peak > 6 * 2**20  # scipy's (300, 300, …) arrays at once
    assert peak < 3 * 2**20
    assert_allclose(blocked, W, rtol=1e-9)
    assert_allclose(blocked, whole, rtol=1e-9)


@pytest.mark.parametrize("text", ["lots", "-5", "0", "1.5e9"])
def test_a_bad_memory_limit_setting_is_named(monkeypatch, text):
    monkeypatch.setenv(LIMIT, text)
    with raises(ValueError, f"{LIMIT} must be a whole number of bytes ≥ 1, got {text!r}"):
        jnn.mlp([2, 3, 1]).gradients(np.ones((2, 2)), np.ones((2, 1)), jnn.SquaredError())


def test_small_arrays_never_read_the_free_memory_and_the_limit_has_a_floor(monkeypatch):
    monkeypatch.delenv(LIMIT, raising=False)

    def unreadable():
        raise AssertionError("read the free memory for a small batch")

    monkeypatch.setattr(_memory, "available_memory", unreadable)
    net = jnn.mlp([3, 8, 2])
    X, Y = np.ones((50, 3)), np.zeros((50, 2))
    assert np.isfinite(net.gradients(X, Y, jnn.SquaredError())[0])
    net.jacobians(X)
    monkeypatch.setattr(_memory, "available_memory", lambda: 100 * 2**20)  # 100 MiB free
    assert _memory.array_limit() == 64 * 2**20  # not 12.5 MiB: 1/8, but at least 64 MiB
    monkeypatch.setattr(_memory, "available_memory", lambda: None)
    assert _memory.array_limit() == 2 * 2**30
