"""A trace's renderings show lecture 002's rows ∂L/∂z^(j) beside D^(j), and the update
W_j − α ∇_{W_j} L when the trace knows α.

Every expected number comes from tests/hand_reference.py (numpy written out by hand from the
lecture) or from the slide of lecture 002, which prints
  ∂L/∂x3 = −0.1869, ∂L/∂x2 = (−0.1869, 0.1869), ∂L/∂x1 = (−0.1186, 0.171),
  W0 − 0.2 (∂L/∂W0)ᵀ = [[1.02, −3.0], [0.17, 1.0]], W1 − 0.2 (∂L/∂W1)ᵀ = (1.02, −0.989).
(−0.1186 is carried rounding: the exact row rounds to −0.1187; see the README's errata table.)
"""

import re

import numpy as np
import pytest
from hand_reference import W0, W1, X_A, tanh_reference

import jacobian_nn as jnn

NUMBER = re.compile(r"-?\d+\.\d+")


def numbers(s: str) -> np.ndarray:
    return np.array([float(v) for v in NUMBER.findall(s)])


def block_after(text: str, head: str) -> tuple[list[str], str]:
    """The lines of the block whose first line starts with ``head`` (its matrix rows
    included), and the line just before it."""
    lines = text.split("\n")
    i = next(k for k, line in enumerate(lines) if line.strip().startswith(head))
    end = i + 1
    while end < len(lines) and lines[end].startswith("      "):
        end += 1
    return lines[i:end], lines[i - 1]


def hand_updates():
    """W − 0.2 ∇_W L with ∇_{W_1} L = (∂L/∂z^(1))ᵀ xᵀ and ∇_{W_3} L = (∂L/∂z^(3))ᵀ z^(2)ᵀ."""
    ref = tanh_reference()
    return W0 - 0.2 * np.outer(ref["dL_dz(1)"], X_A), W1 - 0.2 * np.outer(ref["dL_dz(3)"],
                                                                          ref["z(2)"])


@pytest.fixture
def example_trace():
    return jnn.examples.tanh_worked_example().trace()


def test_text_shows_each_row_right_after_its_D(example_trace):
    ref = tanh_reference()
    text = example_trace.to_text(decimals=6)
    for j, h in ((3, 1), (2, 2), (1, 2), (0, 2)):
        block, before = block_after(text, f"∂L/∂z^({j}) = ∇_ŷLᵀ D^({j}) ∈ R^{{1×{h}}} =")
        assert len(block) == 1  # a row, on one line
        got = numbers(block[0].split(" = ", 2)[2])
        np.testing.assert_allclose(got, ref[f"dL_dz({j})"], rtol=0, atol=0.5e-6)
        # beside D^(j): with h_m = 1, D^(j) is a row on the line just before
        assert before.strip().startswith(f"D^({j}) ∈ R^{{1×{h}}} = [")


def test_rows_at_the_slides_digits(example_trace):
    text = example_trace.to_text(decimals=4)
    assert "∂L/∂z^(3) = ∇_ŷLᵀ D^(3) ∈ R^{1×1} = [-0.1869]" in text          # ∂L/∂x3
    assert "∂L/∂z^(2) = ∇_ŷLᵀ D^(2) ∈ R^{1×2} = [-0.1869  0.1869]" in text  # ∂L/∂x2
    # the slide's 0.171 is the exact row at 3 places; its −0.1186 is carried rounding
    assert "∂L/∂z^(1) = ∇_ŷLᵀ D^(1) ∈ R^{1×2} = [-0.119  0.171]" in example_trace.to_text(3)


def test_latex_shows_the_rows(example_trace):
    ref = tanh_reference()
    latex = example_trace.display(decimals=4).latex
    for j in range(4):
        row = ref[f"dL_dz({j})"]
        cells = " & ".join(f"{v:.4f}" for v in row)
        line = (rf"\frac{{\partial L}}{{\partial z^{{({j})}}}} = \nabla_{{\hat y}} L^\top "
                rf"D^{{({j})}} &= \begin{{bmatrix}} {cells} \end{{bmatrix}} "
                rf"\in \mathbb{{R}}^{{1 \times {row.size}}}")
        assert line in latex, line
        assert latex.index(rf"D^{{({j})}} &=") < latex.index(line)


def test_update_section_holds_W_minus_alpha_grad(example_trace):
    new1, new3 = hand_updates()
    assert example_trace.lr == 0.2
    text = example_trace.to_text(decimals=6)
    assert "Update with α = 0.2: W_j − α ∇_{W_j} L" in text
    block, _ = block_after(text, "W_1 − 0.2 ∇_{W_1} L ∈ R^{2×2} =")
    np.testing.assert_allclose(numbers("\n".join(block[1:])), new1.ravel(), rtol=0, atol=0.5e-6)
    block, _ = block_after(text, "W_3 − 0.2 ∇_{W_3} L ∈ R^{1×2} =")
    np.testing.assert_allclose(numbers(block[0].split(" = ", 1)[1]), new3.ravel(), rtol=0,
                               atol=0.5e-6)
    assert "W_2 −" not in text  # Tanh has no parameters to update
    np.testing.assert_allclose(example_trace.W_new(1), new1, rtol=1e-12)
    np.testing.assert_allclose(example_trace.W_new(3), new3, rtol=1e-12)


def test_update_at_the_slides_digits(example_trace):
    text = example_trace.to_text(decimals=2)
    assert "      ⎡1.02  -3.00⎤\n      ⎣0.17   1.00⎦" in text      # [[1.02, −3.0], [0.17, 1.0]]
    assert "W_3 − 0.2 ∇_{W_3} L ∈ R^{1×2} = [1.023  -0.989]" in example_trace.to_text(3)
    latex = example_trace.display(decimals=2).latex
    assert (r"\alpha &= 0.2 \\" "\n" r"W_{1} - 0.2\,\nabla_{W_1} L &= \begin{bmatrix} 1.02 & -3.00"
            r" \\ 0.17 & 1.00 \end{bmatrix} \in \mathbb{R}^{2 \times 2}") in latex


def test_a_trace_from_backprop_has_no_update():
    ex = jnn.examples.tanh_worked_example()
    tr = ex.network.backprop(ex.x, ex.y, ex.loss)
    assert tr.lr is None
    assert "Update" not in tr.to_text() and "W_1 −" not in tr.to_text()
    assert r"\alpha" not in tr.display().latex and r"- 0.2" not in tr.display().latex
    with pytest.raises(ValueError, match=r"with_lr"):
        tr.W_new(1)
    # the rows are there all the same
    assert "∂L/∂z^(0) = ∇_ŷLᵀ D^(0)" in tr.to_text()


def test_with_lr_gives_a_new_trace_and_checks_alpha():
    ex = jnn.examples.tanh_worked_example()
    tr = ex.network.backprop(ex.x, ex.y, ex.loss)
    stepped = tr.with_lr(0.5)
    assert tr.lr is None and stepped.lr == 0.5
    assert stepped.D(1) is tr.D(1)  # shared, not copied
    np.testing.assert_allclose(stepped.W_new(3), W1 - 0.5 * np.array(tr.grad(3)), rtol=1e-12)
    for bad in (float("nan"), float("inf"), True, "0.2", None):
        with pytest.raises(ValueError, match="lr"):
            tr.with_lr(bad)


def test_the_update_uses_the_weights_at_the_time_of_the_trace():
    ex = jnn.examples.tanh_worked_example()
    tr = ex.trace()
    ex.network.layers[0].params = np.zeros((2, 2))  # changed after the trace was taken
    np.testing.assert_array_equal(tr.params(1), W0)
    np.testing.assert_allclose(tr.W_new(1), hand_updates()[0], rtol=1e-12)
    assert not tr.params(1).flags.writeable and not tr.W_new(1).flags.writeable
