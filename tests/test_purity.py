"""No user array is ever modified, and nothing the library returns aliases one."""


import numpy as np
import pytest
from support import W13, small_net

import jacobian_nn as jnn

RNG = np.random.default_rng(2024)
W23 = RNG.normal(size=(2, 3))

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
