"""The benchmark compares like with like: its hand-written numpy baselines compute what the
library computes (timing itself is never part of the tests; see ``make bench``)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import jacobian_nn as jnn

_spec = importlib.util.spec_from_file_location(
    "bench", Path(__file__).parent.parent / "benchmarks" / "bench.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


@pytest.mark.parametrize(("case", "n", "loss_name"),
                         [("tiny", None, "half_squared"), ("small", 37, "softmax_ce")])
@pytest.mark.parametrize("mode", ["jacobian", "reverse"])
def test_baseline_step_is_the_library_step(case, n, loss_name, mode):
    net, X, Y, loss = bench.make_case(case, n)
    Ps = [L.params.copy() for L in net.layers if L.n_params]
    v_base = bench.baseline_step(Ps, X, Y, loss_name)
    v_lib = jnn.GradientDescent(lr=bench.LR, mode=mode).step(net, X, Y, loss)
    np.testing.assert_allclose(v_lib, v_base, rtol=1e-12)
    for lib, base in zip([L.params for L in net.layers if L.n_params], Ps, strict=True):
        np.testing.assert_allclose(lib, base, rtol=1e-12, atol=1e-15)


def test_baseline_jacobians_are_the_library_jacobians():
    net, X, _, _ = bench.make_case("small", 5)
    (J1, J2), Dx = bench.baseline_jacobians([L.params for L in net.layers if L.n_params], X)
    (K1, K2, K3), Kx = net.jacobians(X)
    assert K2.shape == (5, 10, 0)  # tanh has no parameters
    for lib, base in [(K1, J1), (K3, J2), (Kx, Dx)]:
        np.testing.assert_allclose(lib, base, rtol=1e-12, atol=1e-15)
