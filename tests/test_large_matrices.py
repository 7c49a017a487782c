"""Large matrices are shown by their corners and largest entries; ``full=True`` shows them
whole; a trace of a 784-128-10 network renders to a bounded size; IPython's text/plain of a
trace, a layer or a network is its text rendering.

Every number checked is read from the array itself (indexing, np.argsort of |A|), never from
the library's summary code.
"""

import re

import numpy as np
import pytest
from hand_reference import W0

import jacobian_nn as jnn
from jacobian_nn.display import matrix_to_latex, matrix_to_text

NUMBER = re.compile(r"-?\d+\.\d+")
RNG = np.random.default_rng(11)
A = RNG.normal(size=(20, 30))  # 600 entries: summarised
EDGE = 3  # entries kept at each end of a summarised axis


def numbers(s: str) -> list[float]:
    return [float(v) for v in NUMBER.findall(s)]


def top3(M: np.ndarray) -> list[tuple[tuple[int, ...], float]]:
    """The three entries of largest |value|, by a full sort (stable: ties in C order)."""
    order = np.argsort(-np.abs(M).ravel(), kind="stable")[:3]
    return [(tuple(int(i) for i in np.unravel_index(p, M.shape)), float(M.ravel()[p]))
            for p in order]


# -- the summary of one matrix ------------------------------------------------------------------
def test_text_summary_shows_the_true_corners():
    lines = matrix_to_text(A, 6).split("\n")
    rows, note = lines[:-1], lines[-1]
    assert len(rows) == 2 * EDGE + 1
    for r, i in zip(rows[:EDGE] + rows[EDGE + 1:], [0, 1, 2, 17, 18, 19], strict=True):
        assert "⋯" in r
        want = np.concatenate([A[i, :EDGE], A[i, -EDGE:]])
        np.testing.assert_allclose(numbers(r), want, rtol=0, atol=0.5e-6)
    assert rows[EDGE] == "⎢" + rows[EDGE][1:-1] + "⎥" and set(rows[EDGE][1:-1]) == {" ", "⋮", "⋱"}
    assert rows[EDGE].count("⋮") == 2 * EDGE and rows[EDGE].count("⋱") == 1
    assert note.startswith("(R^{20×30} by its corners; largest |entries| ")
    assert note.endswith("; full=True shows all)")


def test_summary_names_the_largest_entries_with_their_indices():
    note = matrix_to_text(A, 6).split("\n")[-1]
    listed = re.findall(r"\[(\d+), (\d+)\] = (-?\d+\.\d+)", note)
    assert len(listed) == 3
    for (i, j, v), (idx, value) in zip(listed, top3(A), strict=True):
        assert (int(i), int(j)) == idx
        assert float(v) == pytest.approx(value, abs=0.5e-6)
        assert float(v) == pytest.approx(A[int(i), int(j)], abs=0.5e-6)


def test_latex_summary_has_the_corners_and_compiles_to_at_most_seven_columns():
    latex = matrix_to_latex(A, 4)
    body = latex[latex.index(r"\begin{bmatrix}") + 15:latex.index(r"\end{bmatrix}")]
    rows = body.split(r" \\ ")
    assert len(rows) == 7 and all(len(r.split("&")) == 7 for r in rows)
    assert [c.strip() for c in rows[EDGE].split("&")] == [r"\vdots"] * 3 + [r"\ddots"] + [
        r"\vdots"] * 3
    first = rows[0].split("&")
    assert first[3].strip() == r"\cdots"
    np.testing.assert_allclose(numbers(rows[0]), np.r_[A[0, :3], A[0, -3:]], atol=0.5e-4)
    (i, j), v = top3(A)[0]
    assert rf"\text{{ by its corners; largest }} |{{\cdot}}|\text{{: }} [{i}, {j}] = {v:.4f}" \
        in latex
    assert r"\mathbb{R}^{20 \times 30}" in latex


def test_a_long_vector_is_cut_along_its_length():
    v = RNG.normal(size=50)
    text = matrix_to_text(v, 5)
    first, note = text.split("\n")
    assert first.startswith("[") and first.endswith("]") and first.count("⋯") == 1
    np.testing.assert_allclose(numbers(first), np.r_[v[:3], v[-3:]], atol=0.5e-5)
    (p,), value = top3(v)[0]
    assert note.startswith(f"(R^50 by its corners; largest |entries| [{p}] = {value:.5f}")
    column = matrix_to_latex(v, 2)
    assert column.count(r"\vdots") == 1 and r"\cdots" not in column  # written as a column


def test_thresholds_small_matrices_are_whole():
    for shape in [(12, 12), (16, 9), (1, 16), (16,)]:  # at most 144 entries, sides ≤ 16
        M = np.ones(shape)
        assert "⋯" not in matrix_to_text(M) and "⋮" not in matrix_to_text(M), shape
    for shape in [(13, 12), (1, 17), (17,), (17, 1)]:
        assert "by its corners" in matrix_to_text(np.ones(shape)), shape


def test_full_true_writes_every_entry():
    text = matrix_to_text(A, 6, full=True)
    assert "⋯" not in text and "corners" not in text
    lines = text.split("\n")
    assert len(lines) == 20
    np.testing.assert_allclose([numbers(r) for r in lines], A, rtol=0, atol=0.5e-6)
    latex = matrix_to_latex(A, 3, full=True)
    assert latex.count("&") == 20 * 29 and r"\cdots" not in latex


def test_full_true_of_a_small_matrix_is_the_usual_rendering():
    assert matrix_to_text(W0, 2, full=True) == matrix_to_text(W0, 2) == (
        "⎡1.00  -3.00⎤\n⎣0.20   1.00⎦")
    assert matrix_to_latex(W0, 1, full=True) == matrix_to_latex(W0, 1) == (
        r"\begin{bmatrix} 1.0 & -3.0 \\ 0.2 & 1.0 \end{bmatrix}")
    tr = jnn.examples.tanh_worked_example().trace()
    assert tr.to_text(4, full=True) == tr.to_text(4)
    assert tr.display(4, full=True).latex == tr.display(4).latex


def test_show_matrix_summarises_unless_full():
    r = jnn.show_matrix(A, name="A", decimals=2)
    assert "by its corners" in r.text and r"\cdots" in r.latex
    whole = jnn.show_matrix(A, name="A", decimals=2, full=True)
    assert whole.text.count("\n") == 20 and r"\cdots" not in whole.latex


def test_summaries_do_not_modify_the_input():
    B = A.copy()
    B.flags.writeable = False
    matrix_to_text(B)
    matrix_to_latex(B)
    np.testing.assert_array_equal(B, A)


# -- a 784-128-10 network ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist_sized():
    net = jnn.mlp([784, 128, 10], seed=0)
    x = np.random.default_rng(0).normal(size=784)
    return net, net.backprop(x, np.eye(10)[3], jnn.SoftmaxCrossEntropy()).with_lr(0.1)


def test_a_784_128_10_trace_renders_to_a_bounded_size(mnist_sized):
    net, tr = mnist_sized
    text, latex = tr.to_text(), tr.display().latex
    assert len(text.encode()) < 200_000 and len(latex.encode()) < 200_000
    for space in ("R^{128×100480}", "R^{10×784}", "R^{10×1290}", "R^{128×128}", "R^784"):
        assert space in text, space
    for space in (r"\mathbb{R}^{128 \times 100480}", r"\mathbb{R}^{10 \times 784}"):
        assert space in latex, space
    assert "W_1 − 0.1 ∇_{W_1} L ∈ R^{128×785}" in text  # the update of [W | b], summarised
    # the corner of D_{W_1} f_{W_1}(z^(0)) = I ⊗ [xᵀ 1]: its first entries are x_0, x_1, x_2
    block = text[text.index("D_{W_1} f_{W_1}(z^(0)) ∈ R^{128×100480} ="):]
    np.testing.assert_allclose(numbers(block.split("\n")[1])[:3], tr.z(0)[:3], atol=0.5e-4)
    assert len(net.display().text.encode()) < 20_000
    assert len(net._repr_latex_().encode()) < 20_000


def test_a_784_128_10_worked_example_renders_to_a_bounded_size(mnist_sized):
    net, tr = mnist_sized
    ex = jnn.WorkedExample(net, tr.z(0), tr.y, jnn.SoftmaxCrossEntropy(), 0.1)
    markdown, beamer = ex._repr_markdown_(), ex.to_latex(beamer=True)  # what Jupyter shows
    assert len(markdown.encode()) < 200_000 and len(beamer.encode()) < 200_000
    assert r"\mathbb{R}^{128 \times 100352}" in markdown  # D_{W_1} f_{W_1}, W without b
    assert "Too wide for a slide" in beamer  # a summary does not fit a slide either


def test_a_784_128_10_step_through_renders_to_a_bounded_size(mnist_sized):
    steps = jnn.stepthrough.Steps(mnist_sized[1])
    assert len(steps.to_text().encode()) < 200_000 and len(steps.to_latex().encode()) < 200_000


# -- text/plain in IPython ----------------------------------------------------------------------
def plain(obj) -> str:
    """What IPython (Jupyter's kernel) sends as text/plain."""
    from IPython.core.formatters import DisplayFormatter

    return DisplayFormatter().format(obj)[0]["text/plain"]


def test_text_plain_of_a_trace_is_its_text_rendering(mnist_sized):
    tr = jnn.examples.tanh_worked_example().trace()
    assert plain(tr) == tr.to_text() == str(tr)
    assert "∂L/∂z^(1) = ∇_ŷLᵀ D^(1)" in plain(tr)
    assert repr(tr).startswith("<Trace of backprop through m = 3 layers, L = 0.0174")  # short
    big = mnist_sized[1]
    assert plain(big) == big.to_text() and len(plain(big).encode()) < 200_000


def test_text_plain_of_layers_networks_and_renderings():
    lin = jnn.Linear(W0)
    assert plain(lin) == jnn.display.layer_to_text(lin) == lin.display().text
    net = jnn.examples.tanh_worked_example().network
    assert plain(net) == net.display().text
    assert plain(net).startswith("f_W = f_{W_3} ∘ f_{W_2} ∘ f_{W_1}: R^2 → R^1")
    assert repr(lin) == "Linear(W ∈ R^{2×2})"  # repr stays the one-line description
    r = jnn.show_matrix(A, "A")
    assert plain(r) == r.text
    from IPython.core.formatters import DisplayFormatter

    assert DisplayFormatter().format(net)[0]["text/latex"] == net._repr_latex_()  # still typeset


def test_text_plain_of_a_hessian_trace():
    ex = jnn.examples.tanh_worked_example()
    ht = jnn.curvature.hessian_trace(ex.network, ex.x, ex.y, ex.loss)
    assert plain(ht) == ht.to_text() and repr(ht).startswith("<HessianTrace")
