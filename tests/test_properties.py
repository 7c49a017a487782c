"""Property-based tests: random architectures against numerical differentiation.

An architecture is any mix of the layer kinds (including a nested Network, a Concat, and
custom layers that state no sizes, also inside those), sizes 1–8, depth 1–6; hypothesis draws
the kinds and sizes, and a seed from which numpy draws the weights and inputs. Every reference
value is computed independently: by ``numerical_jacobian`` (scipy's adaptive central
differences in float64), or by evaluating the network row by row. Saturating heads (Sigmoid +
BinaryCrossEntropy, Softmax + CrossEntropy on scores up to thousands) must give the fused loss's
gradient, itself checked against the numerical one, or a DomainError naming the fused loss.

ReLU and LeakyReLU are not differentiable at 0. Draws where any of their inputs lies within
``KINK_MARGIN`` of 0 are rejected with ``assume``, and finite differences start at
``STEP``, far smaller than the margin, so no stencil crosses a kink.
"""

import copy
import os

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from oracle import flat, numerical_mean_loss_gradient

import jacobian_nn as jnn
from jacobian_nn.losses import DomainError

KINK_MARGIN = 1e-2
STEP = 1e-4
# Finite differences of f carry rounding noise of about eps·|f|/STEP, so the absolute tolerance
# scales with the size of the function's values; the relative one is per entry.
RTOL, ATOL = 1e-6, 1e-7


def atol_for(values) -> float:
    return ATOL * (1.0 + float(np.max(np.abs(values), initial=0.0)))

LEAF_KINDS = ("Linear", "Affine", "Bias", "Tanh", "Sigmoid", "ReLU", "LeakyReLU", "Identity",
              "Swish", "Softmax")
# custom_layer without in_size/out_size: the network learns their sizes only by running them
CUSTOM_KINDS = ("custom a ⊙ z", "custom [sin z; z²/2]")
KINKED = (jnn.ReLU, jnn.LeakyReLU)
sizes = st.integers(1, 8)


def custom_scale(k: int, rng: np.random.Generator) -> jnn.Layer:
    """f(z) = a ⊙ z with params a ∈ R^k: D_z f = diag(a), D_a f = diag(z)."""
    return jnn.custom_layer(lambda z, a: a * z, lambda z, a: np.diag(a),
                            lambda z, a: np.diag(z), params=rng.normal(0.0, 1.0, k),
                            name="a ⊙ z")


def custom_stack() -> jnn.Layer:
    """f(z) = [sin z; z²/2] ∈ R^{2k}, no params: D_z f = [diag(cos z); diag(z)]."""
    return jnn.custom_layer(lambda z, W: np.concatenate([np.sin(z), 0.5 * z * z]),
                            lambda z, W: np.vstack([np.diag(np.cos(z)), np.diag(z)]),
                            name="[sin z; z²/2]")


@st.composite
def leaf_layer(draw, k: int, rng: np.random.Generator, custom: bool = True) -> jnn.Layer:
    """One layer taking z ∈ R^k, of a drawn kind, with weights from ``rng``; ``custom`` allows
    the custom layers (which cannot be saved)."""
    kind = draw(st.sampled_from(LEAF_KINDS + (CUSTOM_KINDS if custom else ())))
    if kind == "custom a ⊙ z":
        return custom_scale(k, rng)
    if kind == "custom [sin z; z²/2]":
        return custom_stack() if k <= 4 else custom_scale(k, rng)  # sizes stay ≤ 8
    if kind in ("Linear", "Affine"):
        h = draw(sizes)
        W = rng.normal(0.0, 1.5 / np.sqrt(k), (h, k))
        return jnn.Linear(W) if kind == "Linear" else jnn.Affine(W, rng.normal(0.0, 1.0, h))
    if kind == "Bias":
        return jnn.Bias(rng.normal(0.0, 1.0, k))
    if kind == "LeakyReLU":
        return jnn.LeakyReLU(draw(st.floats(0.01, 0.5)))
    if kind == "Swish":
        return jnn.Swish(draw(st.floats(0.25, 2.0)))
    return getattr(jnn, kind)()


@st.composite
def networks(draw, max_depth: int = 6, custom: bool = True):
    """(net, k, rng): a random Network (depth 1–max_depth, sizes 1–8) taking x ∈ R^k, and
    the rng for its inputs; ``custom`` allows custom layers."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = draw(sizes)
    layers = []
    for _ in range(draw(st.integers(1, max_depth))):
        size = out_size(layers, k)
        composite = draw(st.integers(0, 7))
        if composite == 0:  # now and then a nested Network of 1–3 layers
            inner = []
            for _ in range(draw(st.integers(1, 3))):
                inner.append(draw(leaf_layer(out_size(inner, size), rng, custom)))
            layers.append(jnn.Network(inner))
        elif composite == 1 and size <= 4:  # or a Concat of two layers reading the same z
            layers.append(jnn.Concat(draw(leaf_layer(size, rng, custom)),
                                     draw(leaf_layer(size, rng, custom))))
        else:
            layers.append(draw(leaf_layer(size, rng, custom)))
    return jnn.Network(layers), k, rng


def out_size(layers: list, k: int) -> int:
    """Size of the output of ``layers`` applied to z ∈ R^k, by running them (not by the code's
    own size bookkeeping)."""
    z = np.zeros(k)
    for layer in layers:
        z = layer(z)
    return z.shape[0]


def leaf_inputs(net: jnn.Network, x: np.ndarray):
    """(layer, its input) for every leaf layer, descending into nested Networks; a Concat is
    listed itself and with both of its layers, which read its input."""
    out = []
    for layer in net.layers:
        if isinstance(layer, jnn.Network):
            out += leaf_inputs(layer, x)
        elif isinstance(layer, jnn.Concat):
            out += [(layer, x), (layer.f_a, x), (layer.f_b, x)]
        else:
            out.append((layer, x))
        x = layer(x)
    return out


def away_from_kinks(net: jnn.Network, X: np.ndarray) -> bool:
    return all(
        np.min(np.abs(z)) > KINK_MARGIN
        for x in np.atleast_2d(X)
        for layer, z in leaf_inputs(net, x)
        if isinstance(layer, KINKED)
    )


@st.composite
def net_and_x(draw, max_depth: int = 6):
    net, k, rng = draw(networks(max_depth))
    x = rng.normal(0.0, 1.0, k)
    assume(away_from_kinks(net, x))
    return net, x, rng


# --------------------------------------------------------------------------------------------
# Jacobians
# --------------------------------------------------------------------------------------------
@given(net_and_x())
def test_every_layer_and_the_whole_network_match_numerical_jacobians(case):
    net, x, _ = case
    for layer, z in leaf_inputs(net, x):
        report = jnn.check_jacobians(layer, z, rtol=RTOL, atol=atol_for(layer(z)),
                                     initial_step=STEP)
        assert report.passed, str(report)
    report = jnn.check_jacobians(net, x, rtol=RTOL, atol=atol_for(net(x)), initial_step=STEP)
    assert report.passed, str(report)


@given(net_and_x(), st.sampled_from(["SquaredError", "HalfSquaredError", "SoftmaxCrossEntropy",
                                     "CrossEntropy", "BinaryCrossEntropy"]))
def test_grad_j_is_the_numerical_gradient_of_the_loss(case, loss_name):
    net, x, rng = case
    if loss_name == "CrossEntropy":  # needs probabilities: end with Softmax
        net = jnn.Network([*net.layers, jnn.Softmax()])
    if loss_name == "BinaryCrossEntropy":
        net = jnn.Network([*net.layers, jnn.Sigmoid()])
    yhat = net(x)
    h = yhat.shape[0]
    assume(loss_name != "SoftmaxCrossEntropy" or h > 1)  # one score: rejected, L is constant
    if loss_name in ("CrossEntropy", "BinaryCrossEntropy"):
        # log(1 − ŷ) of a saturated ŷ is dominated by rounding, which finite differences
        # amplify; the analytic gradient is accurate there, the numerical one is not.
        assume(np.all((yhat > 1e-3) & (yhat < 1 - 1e-3)))
    if loss_name in ("CrossEntropy", "SoftmaxCrossEntropy"):
        y = rng.dirichlet(np.ones(h))
    elif loss_name == "BinaryCrossEntropy":
        y = rng.uniform(0.0, 1.0, h)
    else:
        y = rng.normal(0.0, 1.0, h)
    loss = getattr(jnn, loss_name)()
    tr = net.backprop(x, y, loss)
    assert np.isclose(tr.loss, loss(net(x), y), rtol=1e-13)
    for j, layer in enumerate(net.layers, 1):
        assert tr.grad(j).shape == layer.params.shape
        if layer.n_params == 0:
            continue
        clone = copy.deepcopy(net)

        def L_of_w(w, clone=clone, j=j):
            clone.layers[j - 1].params = w.reshape(clone.layers[j - 1].params.shape)
            return np.array([loss(clone(x), y)])

        numeric = jnn.numerical_jacobian(L_of_w, layer.params.ravel(), initial_step=STEP)[0]
        # scipy's adaptive differences of a scalar loss occasionally end on a tiny step and
        # carry ~1e-6·|L| of rounding noise (measured); wrong gradients are off by far more.
        np.testing.assert_allclose(tr.grad(j).ravel(), numeric, rtol=1e-5,
                                   atol=100 * atol_for(tr.loss))


@given(net_and_x())
def test_D_j_is_the_jacobian_of_the_rest_of_the_network(case):
    """D^(j) = D_z f_{W_m} ⋯ D_z f_{W_{j+1}} is the Jacobian of z^(j) ↦ ŷ (the layers after j),
    and it satisfies the recursion D^(j) = D^(j+1) D_z f_{W_{j+1}}(z^(j)), D^(m) = I."""
    net, x, _ = case
    m = net.m
    tr = net.backprop(x, np.zeros(net(x).shape[0]), jnn.HalfSquaredError())
    np.testing.assert_array_equal(tr.D(m), np.eye(tr.z(m).shape[0]))
    for j in range(m - 1, -1, -1):
        tail = jnn.Network(net.layers[j:])
        numeric = jnn.numerical_jacobian(tail.forward, tr.z(j), initial_step=STEP)
        np.testing.assert_allclose(tr.D(j), numeric, rtol=RTOL, atol=atol_for(tr.z(m)))
        np.testing.assert_allclose(tr.D(j), tr.D(j + 1) @ tr.local_D_z(j + 1), rtol=1e-12,
                                   atol=1e-14)
        if j >= 1:
            np.testing.assert_allclose(tr.D_W(j), tr.D(j) @ tr.local_D_W(j), rtol=1e-12,
                                       atol=1e-14)
            np.testing.assert_allclose(tr.local_D_z(j), net.layers[j - 1].D_z(tr.z(j - 1)))


# --------------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------------
@given(networks(), st.integers(1, 5))
def test_batched_forward_equals_row_by_row(case, n):
    net, k, rng = case
    X = rng.normal(0.0, 1.0, (n, k))
    Y = net(X)
    assert Y.shape[0] == n
    for i in range(n):
        # A batch's GEMM and one example's GEMV sum in different orders: they agree to a few
        # ulps of the O(1) terms, not of an output that cancels to near 0 (4e-15 was seen).
        np.testing.assert_allclose(Y[i], net(X[i]), rtol=1e-13, atol=1e-13)


@given(net_and_x(max_depth=4), st.integers(1, 4))
def test_batched_jacobians_and_gradient_modes_equal_per_example_backprop(case, n):
    """``jacobians`` and the three ``gradients`` modes against one ``backprop`` per example."""
    net, x, rng = case
    X = np.vstack([x, rng.normal(0.0, 1.0, (n - 1, x.shape[0]))])
    assume(away_from_kinks(net, X))
    Y = rng.normal(0.0, 1.0, (n, net(x).shape[0]))
    loss = jnn.SquaredError()
    traces = [net.backprop(X[i], Y[i], loss) for i in range(n)]
    D_W, D_x = net.jacobians(X)
    for i, tr in enumerate(traces):
        np.testing.assert_allclose(D_x[i], tr.D(0), rtol=1e-12, atol=1e-14)
        for j in range(1, net.m + 1):
            np.testing.assert_allclose(D_W[j - 1][i], tr.D_W(j), rtol=1e-12, atol=1e-14)
    mean_loss = np.mean([tr.loss for tr in traces])
    for mode in ("lecture", "jacobian", "reverse"):
        value, grads = net.gradients(X, Y, loss, mode=mode)
        assert np.isclose(value, mean_loss, rtol=1e-12)
        for j in range(1, net.m + 1):
            expected = np.mean([tr.grad(j) for tr in traces], axis=0)
            np.testing.assert_allclose(grads[j - 1], expected, rtol=1e-10, atol=1e-13)


# --------------------------------------------------------------------------------------------
# Saturating heads
# --------------------------------------------------------------------------------------------
HEADS = {  # head layer, its loss, and the fused loss on the scores that computes the same
    "sigmoid": (jnn.Sigmoid, jnn.BinaryCrossEntropy, jnn.SigmoidBinaryCrossEntropy),
    "softmax": (jnn.Softmax, jnn.CrossEntropy, jnn.SoftmaxCrossEntropy),
}


@given(net_and_x(max_depth=4), st.sampled_from(sorted(HEADS)),
       st.sampled_from([1.0, 30.0, 300.0, 3000.0]), st.integers(1, 3))
@settings(max_examples=40)  # each example differentiates a mean loss numerically
def test_a_saturating_head_gives_the_fused_gradient_or_names_the_fused_loss(case, head, scale,
                                                                           n):
    net, x, rng = case
    X = np.vstack([x, rng.normal(0.0, 1.0, (n - 1, x.shape[0]))])
    assume(away_from_kinks(net, X))
    h = net(x).shape[0]
    assume(head == "sigmoid" or h > 1)  # softmax of one score is constant
    head_layer, loss, fused = (f() for f in HEADS[head])
    if head == "sigmoid":  # hard and soft targets: saturation is an error only against y
        Y = rng.choice([0.0, 1.0, 0.3], size=(n, h))
    else:
        Y = rng.dirichlet(np.ones(h), size=n) if rng.random() < 0.5 else \
            np.eye(h)[rng.integers(0, h, n)]
    scores = jnn.Network([*copy.deepcopy(net).layers, jnn.Linear(scale * np.eye(h))])
    # The fused loss is finite for any finite scores, and its gradient is the numerical one.
    value, grads = scores.gradients(X, Y, fused)
    assert np.isfinite(value) and all(np.isfinite(g).all() for g in grads)
    if scores.n_params:
        numeric = numerical_mean_loss_gradient(scores, X, Y, fused, STEP)
        np.testing.assert_allclose(flat(grads), numeric, rtol=1e-5, atol=100 * atol_for(value))
    # Head then loss: the same numbers, or an error that names the fused loss. Never NaN.
    probabilities = jnn.Network([*scores.layers, head_layer])
    for mode in ("lecture", "jacobian", "reverse"):
        try:
            value_p, grads_p = probabilities.gradients(X, Y, loss, mode=mode)
        except DomainError as err:
            assert f"use {fused!r} on the raw scores" in str(err)
            continue
        assert np.isfinite(value_p) and all(np.isfinite(g).all() for g in grads_p)
        rounding = 0.0
        if head == "sigmoid":  # 1 − ŷ loses digits as ŷ → 1: so does the log(1 − ŷ) of a term
            P = probabilities(X)
            with np.errstate(divide="ignore"):  # terms whose coefficient y or 1 − y is 0 drop
                inverse = np.where(Y > 0, 1 / P, 0) + np.where(Y < 1, 1 / (1 - P), 0)
            rounding = 1e-15 * float(np.sum(inverse)) / n
        assert abs(value_p - value) <= 1e-12 * (1 + abs(value)) + rounding
        big = max(1.0, max(float(np.max(np.abs(g), initial=0.0)) for g in grads))
        assert grads_p[-1].shape == (0,)  # the head has no params
        for g_p, g in zip(grads_p[:-1], grads, strict=True):
            np.testing.assert_allclose(g_p, g, rtol=1e-7, atol=1e-10 * big)


# --------------------------------------------------------------------------------------------
# Save and load
# --------------------------------------------------------------------------------------------
@given(networks(custom=False))
def test_save_load_round_trip_is_exact_for_any_architecture(tmp_path_factory, case):
    net, k, rng = case
    path = tmp_path_factory.mktemp("nets") / "net.npz"
    net.save(path)
    back = jnn.load(path)
    assert_same_network(back, net)
    x = rng.normal(0.0, 1.0, k)
    np.testing.assert_array_equal(back(x), net(x))


def assert_same_network(a: jnn.Layer, b: jnn.Layer) -> None:
    """Same kinds, nesting, hyper-parameters and bit-for-bit params, layer by layer."""
    assert type(a) is type(b)
    if isinstance(a, jnn.Network):
        assert len(a.layers) == len(b.layers)
        for la, lb in zip(a.layers, b.layers, strict=True):
            assert_same_network(la, lb)
        return
    if isinstance(a, jnn.Concat):
        assert_same_network(a.f_a, b.f_a)
        assert_same_network(a.f_b, b.f_b)
        return
    np.testing.assert_array_equal(a.params, b.params)
    assert a.params.shape == b.params.shape and a.params.dtype == b.params.dtype
    assert getattr(a, "a", None) == getattr(b, "a", None)
    assert getattr(a, "beta", None) == getattr(b, "beta", None)


def test_the_ci_profile_is_derandomized_and_chosen_by_the_CI_variable():
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.database is None and ci.max_examples <= 100
    expected = "ci" if os.environ.get("CI") else "default"
    assert settings.default == settings.get_profile(expected)
