"""The renderers: every expected string is written out by hand for small hand-chosen matrices.

The two-layer network used for the trace is small enough to backpropagate on paper:
x = (1, 0.5), W_1 = [[1, 2], [0, 1]], W_2 = [[2, −1]], y = 3, L = ½(ŷ − y)².
  z^(1) = W_1 x = (2, 0.5),  z^(2) = W_2 z^(1) = 3.5,  L = ½·0.5² = 0.125,  ∇_ŷL = 0.5
  D^(2) = [1],  D^(1) = W_2 = [2, −1],  D^(0) = W_2 W_1 = [2, 3]
  D_{W_1} f_{W_1}(z^(0)) = I_2 ⊗ xᵀ = [[1, 0.5, 0, 0], [0, 0, 1, 0.5]]
  D_{W_1} f_W(x) = D^(1) D_{W_1} f_{W_1}(z^(0)) = [2, 1, −1, −0.5]
  ∇_{W_1} L = 0.5 · [[2, 1], [−1, −0.5]] = [[1, 0.5], [−0.5, −0.25]]
  ∇_{W_2} L = 0.5 · z^(1)ᵀ = [[1, 0.25]]
All of these are binary fractions, so every rounding below is exact.
"""

import subprocess
import sys

import numpy as np
import pytest

import jacobian_nn as jnn
from jacobian_nn.display import (
    layer_to_latex,
    layer_to_text,
    matrix_to_latex,
    report_to_html,
    trace_to_latex,
    trace_to_text,
)

A = np.array([[1.0, -0.5], [0.25, 2.0]])


@pytest.fixture
def trace():
    net = jnn.Network([jnn.Linear([[1.0, 2.0], [0.0, 1.0]]), jnn.Linear([[2.0, -1.0]])])
    return net.backprop(np.array([1.0, 0.5]), np.array([3.0]), jnn.HalfSquaredError())


# -- a single matrix ----------------------------------------------------------------------------
def test_matrix_to_latex_honours_decimals():
    assert matrix_to_latex(A, 2) == (
        r"\begin{bmatrix} 1.00 & -0.50 \\ 0.25 & 2.00 \end{bmatrix}"
    )
    # −0.5 rounds to −0 and is written without its sign; 0.25 rounds to 0
    assert matrix_to_latex(A, 0) == r"\begin{bmatrix} 1 & 0 \\ 0 & 2 \end{bmatrix}"


def test_show_matrix_latex_and_text():
    r = jnn.show_matrix(A, name=r"D^{(2)}", decimals=3)
    assert r._repr_latex_() == (
        r"$$D^{(2)} = \begin{bmatrix} 1.000 & -0.500 \\ 0.250 & 2.000 \end{bmatrix}"
        r" \in \mathbb{R}^{2 \times 2}$$"
    )
    assert str(r) == "D^{(2)} ∈ R^{2×2} =\n    ⎡1.000  -0.500⎤\n    ⎣0.250   2.000⎦"
    assert repr(r) == str(r)  # Jupyter's text/plain fallback reads the same


def test_show_matrix_vector_is_a_column_with_text_name():
    r = jnn.show_matrix([0.125, -2.0], name=r"z^{(1)}", decimals=1, text_name="z^(1)")
    assert r.latex == (
        r"$$z^{(1)} = \begin{bmatrix} 0.1 \\ -2.0 \end{bmatrix} \in \mathbb{R}^{2}$$"
    )
    assert r.text == "z^(1) ∈ R^2 = [0.1  -2.0]"


def test_show_matrix_does_not_modify_input():
    B = A.copy()
    jnn.show_matrix(B, decimals=1)
    assert np.array_equal(B, A)


# -- a trace ------------------------------------------------------------------------------------
def test_trace_latex_names_and_values(trace):
    latex = trace.display(decimals=1)._repr_latex_()
    lines = [line.rstrip(" \\") for line in latex.split("\n")]
    expected = [
        r"z^{(0)} &= \begin{bmatrix} 1.0 \\ 0.5 \end{bmatrix} \in \mathbb{R}^{2}",
        r"z^{(1)} &= \begin{bmatrix} 2.0 \\ 0.5 \end{bmatrix} \in \mathbb{R}^{2}",
        r"z^{(2)} &= \begin{bmatrix} 3.5 \end{bmatrix} \in \mathbb{R}^{1}",
        r"L(\hat y, y) &= 0.1",
        r"\nabla_{\hat y} L &= \begin{bmatrix} 0.5 \end{bmatrix} \in \mathbb{R}^{1}",
        r"D_z f_{W_1}(z^{(0)}) &= \begin{bmatrix} 1.0 & 2.0 \\ 0.0 & 1.0 \end{bmatrix}"
        r" \in \mathbb{R}^{2 \times 2}",
        r"D_{W_1} f_{W_1}(z^{(0)}) &= \begin{bmatrix} 1.0 & 0.5 & 0.0 & 0.0 \\"
        r" 0.0 & 0.0 & 1.0 & 0.5 \end{bmatrix} \in \mathbb{R}^{2 \times 4}",
        r"D^{(2)} &= \begin{bmatrix} 1.0 \end{bmatrix} \in \mathbb{R}^{1 \times 1}",
        r"D^{(1)} &= \begin{bmatrix} 2.0 & -1.0 \end{bmatrix} \in \mathbb{R}^{1 \times 2}",
        r"D^{(0)} &= \begin{bmatrix} 2.0 & 3.0 \end{bmatrix} \in \mathbb{R}^{1 \times 2}",
        r"D_{W_1} f_W(x) &= \begin{bmatrix} 2.0 & 1.0 & -1.0 & -0.5 \end{bmatrix}"
        r" \in \mathbb{R}^{1 \times 4}",
        r"\nabla_{W_1} L &= \begin{bmatrix} 1.0 & 0.5 \\ -0.5 & -0.2 \end{bmatrix}"
        r" \in \mathbb{R}^{2 \times 2}",
        r"\nabla_{W_2} L &= \begin{bmatrix} 1.0 & 0.2 \end{bmatrix} \in \mathbb{R}^{1 \times 2}",
    ]
    for line in expected:
        assert line in lines, line
    assert latex.startswith("$$\\begin{aligned}\n") and latex.endswith("\n\\end{aligned}$$")


def test_trace_decimals_are_honoured(trace):
    latex3 = trace.display(decimals=3).latex
    assert r"\nabla_{W_1} L &= \begin{bmatrix} 1.000 & 0.500 \\ -0.500 & -0.250 \end{bmatrix}" \
        in latex3
    assert r"L(\hat y, y) &= 0.125" in latex3
    assert latex3 == trace_to_latex(trace, 3)
    assert trace._repr_latex_() == trace_to_latex(trace, 4)  # the notebook default
    text3 = str(trace.display(decimals=3))
    assert text3 == trace_to_text(trace, 3) == trace.to_text(3)
    assert "  ∇_{W_1} L ∈ R^{2×2} =\n      ⎡ 1.000   0.500⎤\n      ⎣-0.500  -0.250⎦" in text3
    assert "  D^(0) ∈ R^{1×2} = [2.000  3.000]" in text3


# -- layers and networks ------------------------------------------------------------------------
def test_linear_layer_text_and_latex():
    f = jnn.Linear([[1.0, -3.0], [0.2, 1.0]])
    assert layer_to_text(f, 1) == (
        "f(z) = W z   (Linear; W ∈ R^{2×2})\n"
        "  W ∈ R^{2×2} =\n"
        "      ⎡1.0  -3.0⎤\n"
        "      ⎣0.2   1.0⎦"
    )
    assert f._repr_latex_() == layer_to_latex(f, 4)
    assert layer_to_latex(f, 1) == (
        "$$\\begin{aligned}\n"
        r"f(z) &= W z \qquad \text{Linear},\; "
        r"W = \begin{bmatrix} 1.0 & -3.0 \\ 0.2 & 1.0 \end{bmatrix} \in \mathbb{R}^{2 \times 2}"
        "\n\\end{aligned}$$"
    )


def test_affine_layer_shows_W_and_b_separately():
    text = str(jnn.Affine([[1.0, 2.0]], [-0.5]).display(decimals=2))
    assert text == (
        "f(z) = W z + b   (Affine; W ∈ R^{1×2}, b ∈ R^1)\n"
        "  W ∈ R^{1×2} = [1.00  2.00]\n"
        "  b ∈ R^1 = [-0.50]"
    )


def test_parameter_matrices_are_shown_whole_or_by_their_corners():
    assert "W ∈ R^{7×6} =" in layer_to_text(jnn.Linear(np.ones((7, 6))))  # 42 entries: whole
    W = np.arange(200.0).reshape(20, 10)  # entry [i, j] = 10 i + j; 200 entries > 144
    assert layer_to_text(jnn.Linear(W), 0) == (
        "f(z) = W z   (Linear; W ∈ R^{20×10})\n"
        "  W ∈ R^{20×10} =\n"
        "      ⎡  0    1    2  ⋯    7    8    9⎤\n"
        "      ⎢ 10   11   12  ⋯   17   18   19⎥\n"
        "      ⎢ 20   21   22  ⋯   27   28   29⎥\n"
        "      ⎢  ⋮    ⋮    ⋮  ⋱    ⋮    ⋮    ⋮⎥\n"
        "      ⎢170  171  172  ⋯  177  178  179⎥\n"
        "      ⎢180  181  182  ⋯  187  188  189⎥\n"
        "      ⎣190  191  192  ⋯  197  198  199⎦\n"
        "      (R^{20×10} by its corners; largest |entries| [19, 9] = 199, [19, 8] = 198, "
        "[19, 7] = 197; full=True shows all)"
    )
    assert layer_to_text(jnn.Linear(W), 0, full=True).count("\n") == 1 + 20
    latex = layer_to_latex(jnn.Linear(W), 0)
    assert r"W = \begin{bmatrix} 0 & 1 & 2 & \cdots & 7 & 8 & 9 \\ 10 &" in latex
    assert r"\vdots & \vdots & \vdots & \ddots &" in latex
    assert jnn.Linear(W).display(0, full=True).latex.count(r" \\ ") == 19


def test_network_text_and_latex():
    net = jnn.Network([jnn.Linear([[1.0, -3.0]]), jnn.Sigmoid()])
    assert str(net.display(decimals=1)) == (
        "f_W = f_{W_2} ∘ f_{W_1}: R^2 → R^1, m = 2 layers, d = 2 parameters\n"
        "  f_{W_1}(z) = W z   (Linear; W_1 ∈ R^{1×2})\n"
        "    W_1 ∈ R^{1×2} = [1.0  -3.0]\n"
        "  f_{W_2}(z) = σ(z)   (Sigmoid; no parameters)"
    )
    assert net._repr_latex_() == (
        "$$\\begin{aligned}\n"
        r"f_W &= f_{W_2} \circ f_{W_1} : \mathbb{R}^{2} \to \mathbb{R}^{1}, \quad d = 2 \\" "\n"
        r"f_{W_1}(z) &= W z \qquad \text{Linear},\; "
        r"W_{1} = \begin{bmatrix} 1.0000 & -3.0000 \end{bmatrix} \in \mathbb{R}^{1 \times 2} \\"
        "\n"
        r"f_{W_2}(z) &= \sigma(z) \qquad \text{Sigmoid}"
        "\n\\end{aligned}$$"
    )


# -- Jacobian check reports ---------------------------------------------------------------------
class _WrongTanh(jnn.Tanh):
    """tanh with the derivative 1 − tanh z (the square forgotten): every D_z entry is wrong."""

    def dphi(self, z, fz):
        return 1.0 - fz


def test_report_html_passed():
    rep = jnn.check_jacobians(jnn.Linear([[1.0, 2.0], [3.0, 4.0]]), [0.5, -1.0])
    html = rep._repr_html_()
    assert html == report_to_html(rep)
    assert "Jacobian check of Linear, W ∈ R^{2×2}: " in html and ">PASSED<" in html
    assert "<td>D_z</td><td>(2, 2)</td>" in html and "<td>D_W</td><td>(2, 4)</td>" in html
    assert "<ul>" not in html  # nothing wrong to list


def test_report_html_lists_wrong_entries():
    rep = jnn.check_jacobians(_WrongTanh(), [0.3, -0.7])
    html = rep._repr_html_()
    assert ">FAILED<" in html and "<td>2 wrong entries</td>" in html
    # the diagonal entries, with the true derivative 1 − tanh²(0.3) = 0.91513... listed
    assert "[0, 0] (∂f_0/∂z_0): numerical 0.9151" in html
    assert "[1, 1] (∂f_1/∂z_1): numerical 0.6347" in html


def test_core_imports_no_notebook_package():
    code = (
        "import sys, jacobian_nn\n"
        "bad = {'IPython', 'matplotlib', 'nbclient', 'nbformat', 'ipykernel', 'sklearn'}\n"
        "print(sorted(bad & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
