"""Exercise sheets: easy numbers, the same sheet for the same seed, answers only in the solution."""

import re

import numpy as np
import pytest

import jacobian_nn as jnn
from jacobian_nn.exercises import EASY, generate

HALVES = {-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0}


def test_easy_numbers_are_the_halves_from_minus_two_to_two():
    assert set(EASY.tolist()) == HALVES


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("sizes,bias", [([2, 2, 1], False), ([3, 2, 2], True),
                                        ([2, 3, 2, 1], True)])
def test_weights_input_and_target_are_easy(sizes, bias, seed):
    ex = generate(sizes, seed=seed, bias=bias).example
    params = [L.params for L in ex.network.layers if L.n_params]
    assert len(params) == len(sizes) - 1
    for P, (k, h) in zip(params, zip(sizes[:-1], sizes[1:], strict=True), strict=True):
        assert P.shape == ((h, k + 1) if bias else (h, k))
        assert set(P.ravel().tolist()) <= HALVES
    assert set(ex.x.tolist()) <= HALVES and set(ex.y.tolist()) <= HALVES
    assert ex.x.shape == (sizes[0],) and ex.y.shape == (sizes[-1],)


def test_the_network_is_linear_layers_with_the_activation_between():
    ex = generate([3, 2, 2], activation="sigmoid", loss="cross_entropy", seed=1).example
    assert [type(L).__name__ for L in ex.network.layers] == [
        "Linear", "Sigmoid", "Linear", "Softmax"]  # cross-entropy needs probabilities
    assert sorted(ex.y.tolist()) == [0.0, 1.0]  # one-hot
    bce = generate([2, 2, 1], loss="binary_cross_entropy", seed=2).example
    assert type(bce.network.layers[-1]).__name__ == "Sigmoid" and bce.y[0] in (0.0, 1.0)
    assert isinstance(bce.loss, jnn.BinaryCrossEntropy)


@pytest.mark.parametrize("seed", range(20))
def test_draws_are_usable(seed):
    for activation in ("relu", "tanh"):
        ex = generate([3, 3, 1], activation=activation, seed=seed).example
        tr = ex.trace()
        z1 = ex.network.layers[0].W @ ex.x  # the activation's input, by hand
        if activation == "relu":
            assert np.all(z1 != 0)  # never at ReLU's kink
        else:
            assert np.all(np.abs(z1) <= 3)  # tanh' ≥ 0.0099: not saturated
        assert any(np.any(tr.grad(j) != 0) for j in (1, 3))


def test_the_same_seed_gives_the_same_sheet():
    a, b = generate([2, 2, 1], seed=7), generate([2, 2, 1], seed=7)
    assert a.problem() == b.problem() and a.solution("markdown") == b.solution("markdown")
    others = {generate([2, 2, 1], seed=s).problem() for s in range(8)}
    assert len(others) == 8


def test_the_problem_states_the_givens_and_tasks_but_no_answers():
    ex = generate([2, 2, 1], seed=7)
    problem = ex.problem("markdown", decimals=3)
    W1 = ex.example.network.layers[0].W
    row = " & ".join(f"{v:.1f}" for v in W1[0])  # easy numbers are shown with one decimal
    assert row in problem
    assert "## Tasks" in problem and "Carry 3 decimal places" in problem
    assert len(re.findall(r"^\d+\. ", problem, flags=re.M)) == 6  # 5 asked + carrying
    for heading in ("Forward pass", "Loss", "Gradients", "Update", "by hand"):
        assert heading not in problem
    z1 = np.tanh(W1 @ ex.example.x)
    assert f"{z1[0]:.3f}" not in problem


def test_the_solution_is_the_worked_example_with_by_hand_values():
    ex = generate([2, 2, 1], seed=7, lr=0.5)
    net, x, y = ex.example.network, ex.example.x, ex.example.y
    W1, W3 = net.layers[0].W, net.layers[2].W
    z1 = W1 @ x
    z2 = np.tanh(z1)
    z3 = W3 @ z2
    g = z3 - y  # half squared error
    grad3 = np.outer(g, z2)
    solution = ex.solution("latex", decimals=4)
    col = " \\\\ ".join(f"{v:.4f}" for v in z2)
    assert f"z^{{(2)}} &= \\tanh(z^{{(1)}}) = \\begin{{bmatrix}} {col} \\end{{bmatrix}}" in solution
    new3 = " & ".join(f"{v:.4f}" for v in (W3 - 0.5 * grad3).ravel())
    space = r"\in \mathbb{R}^{1 \times 2}"
    assert f"\\begin{{bmatrix}} {new3} \\end{{bmatrix}} {space}" in solution
    assert solution.count(r"\text{by hand: }") > 10
    assert "by hand" not in ex.solution("latex", by_hand=False)
    assert "Local Jacobians" not in solution  # not asked by default


def test_asked_quantities_choose_tasks_and_solution_sections():
    ex = generate([2, 1], seed=3, asked=("forward", "local"))
    assert "local Jacobians" in ex.problem() and "gradient step" not in ex.problem()
    solution = ex.solution("markdown")
    assert "## Forward pass" in solution and "## Local Jacobians" in solution
    assert "## Update" not in solution and "## Loss" not in solution


def test_documents_compile_ready_and_repr():
    ex = generate([2, 2, 1], seed=7)
    for doc in (ex.problem(document=True), ex.solution(document=True)):
        assert doc.startswith("\\documentclass{article}") and "\\end{document}" in doc
    assert repr(ex) == ("Exercise(sizes 2-2-1, Linear layers, tanh, half squared loss, seed 7; "
                        "asks forward, loss, backward, gradients, update)")


@pytest.mark.parametrize("kwargs,message", [
    ({"sizes": [2]}, "sizes must be at least two"),
    ({"sizes": [2, 0]}, "sizes must be at least two"),
    ({"sizes": [2, 1.5]}, "sizes must be at least two"),
    ({"sizes": [2, 1], "activation": "softplus"}, "unknown activation 'softplus'"),
    ({"sizes": [2, 1], "loss": "hinge"}, "unknown loss 'hinge'"),
    ({"sizes": [2, 1], "loss": "softmax_cross_entropy"}, "needs at least 2 outputs"),
    ({"sizes": [2, 1], "asked": ["everything"]}, "asked must be some of"),
    ({"sizes": [2, 1], "asked": "forward"}, "asked must be some of"),
    ({"sizes": [2, 1], "seed": -1}, "seed must be a whole number"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate(**kwargs)


def test_bad_formats_are_named():
    ex = generate([2, 1], seed=0)
    with pytest.raises(ValueError, match="format must be 'latex' or 'markdown'"):
        ex.problem("html")
    with pytest.raises(ValueError, match="document=True is for format='latex'"):
        ex.solution("markdown", document=True)
    with pytest.raises(ValueError, match="decimals must be a whole number"):
        ex.solution(decimals=-1)
