"""Bad input gets a clear error: which layer, what it expected (lecture notation), what came."""

import numpy as np
import pytest

import jacobian_nn as jnn


def tanh_net():
    return jnn.examples.tanh_worked_example().network


def test_wrong_input_size_names_the_layer_and_the_expected_space():
    net = jnn.Network([jnn.Tanh(), jnn.Linear(np.ones((1, 3)))])
    with pytest.raises(ValueError, match=r"layer 2 \(Linear, W ∈ R\^\{1×3\}\) expects "
                                         r"z\^\(1\) ∈ R\^3, got shape \(5,\)"):
        net(np.ones(5))
    with pytest.raises(ValueError, match=r"layer 1 \(Linear, W ∈ R\^\{2×2\}\) expects "
                                         r"z\^\(0\) = x ∈ R\^2.*got shape \(3,\)"):
        tanh_net().backprop(np.ones(3), [0.5], jnn.HalfSquaredError())
    with pytest.raises(ValueError, match=r"Linear, W ∈ R\^\{2×3\} expects z ∈ R\^3"):
        jnn.Linear(np.ones((2, 3))).D_z(np.ones(2))


def test_non_finite_values_are_rejected():
    for bad in [np.nan, np.inf, -np.inf]:
        with pytest.raises(ValueError, match="non-finite"):
            tanh_net()(np.array([1.0, bad]))
        with pytest.raises(ValueError, match="non-finite"):
            jnn.Linear([[1.0, bad]])


def test_strings_and_complex_are_rejected():
    with pytest.raises(TypeError, match="string"):
        tanh_net()("1.0, 0.1")
    with pytest.raises(TypeError, match="real"):
        tanh_net()(np.array(["1.0", "0.1"]))
    with pytest.raises(TypeError, match="complex"):
        tanh_net()(np.array([1.0 + 1j, 0.1]))
    with pytest.raises(ValueError, match="rectangular"):
        jnn.Linear([[1.0, 2.0], [3.0]])


def test_lists_and_integers_are_accepted_as_float64():
    out = tanh_net()([1, 0])
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [np.tanh(1.0) - np.tanh(0.2)])


def test_mismatched_batch_lengths():
    X, Y = np.ones((4, 2)), np.ones((3, 1))
    with pytest.raises(ValueError, match=r"n = 4 examples.*Y has 3"):
        tanh_net().gradients(X, Y, jnn.HalfSquaredError())
    with pytest.raises(ValueError, match=r"n = 4 examples.*Y has 3"):
        jnn.GradientDescent(lr=0.1).fit(tanh_net(), X, Y, jnn.HalfSquaredError())


def test_targets_that_do_not_fit_the_output():
    with pytest.raises(ValueError, match=r"outputs ŷ ∈ R\^1, so it needs y ∈ R\^1"):
        tanh_net().backprop([1.0, 0.1], [0.5, 0.5], jnn.HalfSquaredError())
    with pytest.raises(ValueError, match="one_hot"):
        jnn.SoftmaxCrossEntropy()(np.zeros(3), [2.0])
    with pytest.raises(ValueError, match="one_hot"):  # labels as a column
        jnn.mlp([2, 3]).gradients(np.ones((2, 2)), [[0.0], [2.0]], jnn.SoftmaxCrossEntropy())
    with pytest.raises(ValueError) as err:  # too long, not labels: no hint about labels
        jnn.SquaredError()(np.zeros(2), [1.0, 2.0, 3.0])
    assert "so it needs y ∈ R^2; got shape (3,)." in str(err.value)
    assert "one_hot" not in str(err.value)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        jnn.BinaryCrossEntropy()(np.array([0.5]), np.array([1.5]))
    with pytest.raises(ValueError, match=r"labels must lie in 0 … 2"):
        jnn.datasets.one_hot([0, 3], 3)


@pytest.mark.parametrize("lr", [0.0, -0.1, np.nan, np.inf])
def test_bad_learning_rates(lr):
    with pytest.raises(ValueError, match="lr"):
        jnn.GradientDescent(lr=lr)


def test_learning_rate_must_be_a_number():
    with pytest.raises(TypeError, match="lr"):
        jnn.GradientDescent(lr="0.1")


def test_bad_mode_and_loss():
    X, Y = np.ones((2, 2)), np.ones((2, 1))
    with pytest.raises(ValueError, match="mode must be one of"):
        tanh_net().gradients(X, Y, jnn.HalfSquaredError(), mode="fast")
    with pytest.raises(TypeError, match="loss must be a jacobian_nn loss"):
        tanh_net().gradients(X, Y, lambda a, b: 0.0)


def test_network_needs_layers():
    with pytest.raises(TypeError, match="non-empty list"):
        jnn.Network([])
    with pytest.raises(TypeError, match="layer 2 must be a jacobian_nn layer"):
        jnn.Network([jnn.Tanh(), np.tanh])
