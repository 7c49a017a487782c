"""The batched products of composite, convolution and custom layers (left_mul_D_z, left_mul_D_W,
grad_W_sum) against their own dense matrices, example by example, for 2-D and 3-D upstream D."""

import numpy as np
import pytest

import jacobian_nn as jnn

rng = np.random.default_rng(61)


def layers():
    yield jnn.Conv1D(rng.normal(size=3)), 7
    yield jnn.Conv1D(rng.normal(size=4), "circular"), 6
    yield jnn.Conv1D(rng.normal(size=2), "reflect"), 5
    yield jnn.MaxPool1D(3, 2), 8
    yield jnn.Concat(jnn.Affine(rng.normal(size=(2, 4)), rng.normal(size=2)), jnn.Softmax()), 4
    yield jnn.Residual(jnn.Network([jnn.Linear(rng.normal(size=(4, 4))), jnn.Swish()])), 4
    yield jnn.custom_layer(lambda z, W: W @ np.sin(z), lambda z, W: W * np.cos(z),
                           lambda z, W: np.kron(np.eye(2), np.sin(z)),
                           params=rng.normal(size=(2, 3))), 3


@pytest.mark.parametrize("layer, k", list(layers()))
def test_batched_products_equal_dense_products(layer, k):
    n = 4
    Z = rng.normal(size=(n, k))
    F = layer(Z)
    h = F.shape[1]
    D3, D2 = rng.normal(size=(n, 3, h)), rng.normal(size=(n, h))
    Jz = [layer.D_z(z) for z in Z]
    JW = [layer.D_W(z) for z in Z]
    np.testing.assert_allclose(layer.left_mul_D_z(D3, Z, F), [D3[i] @ Jz[i] for i in range(n)],
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.left_mul_D_z(D2, Z, F), [D2[i] @ Jz[i] for i in range(n)],
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.left_mul_D_W(D3, Z, F), [D3[i] @ JW[i] for i in range(n)],
                               rtol=1e-12, atol=1e-14)
    expected = sum(D2[i] @ JW[i] for i in range(n)).reshape(layer.params.shape)
    np.testing.assert_allclose(layer.grad_W_sum(D2, Z, F), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(F, [layer(z) for z in Z], rtol=1e-14)
