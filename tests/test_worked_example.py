"""WorkedExample: every number a rendering shows, against backprop done by hand in numpy.

Two networks the lecture does not have, each computed here from its formulas alone:

* A: x ∈ R^3 → Affine(W_1, b_1) → σ → Affine(W_3, b_3) → softmax cross-entropy, y = (0, 1):
  z^(1) = W_1 x + b_1, z^(2) = σ(z^(1)), ŷ = W_3 z^(2) + b_3, L = −log softmax(ŷ)_2,
  ∇_ŷL = softmax(ŷ) − y, D^(2) = W_3, D^(1) = W_3 diag(σ'(z^(1))), D^(0) = D^(1) W_1,
  ∇_{W_3}L = ∇_ŷL z^(2)ᵀ, ∇_{b_3}L = ∇_ŷL, ∇_{W_1}L = (∂L/∂z^(1))ᵀ xᵀ, ∇_{b_1}L = ∂L/∂z^(1)ᵀ.
* B: x = (1, −2) → Linear(W_1) → Bias(b_2) → ReLU → Linear(W_4), squared error, y = 0.5:
  z^(1) = (−1.5, −2.5), z^(2) = (0.5, −1.5), z^(3) = (0.5, 0), ŷ = 1, L = 0.25, ∇_ŷL = 1,
  D^(3) = W_4 = (2, 1), D^(2) = D^(1) = (2, 0), D^(0) = (1, 2); ∇_{W_4}L = (0.5, 0),
  ∇_{b_2}L = (2, 0), ∇_{W_1}L = [[2, −4], [0, 0]].
"""

import re

import numpy as np
import pytest

import jacobian_nn as jnn

# -- network A ----------------------------------------------------------------------------------
XA = np.array([1.0, -0.5, 2.0])
YA = np.array([0.0, 1.0])
W1A, B1A = np.array([[0.5, -1.0, 0.0], [1.0, 0.5, -0.5]]), np.array([0.0, 0.5])
W3A, B3A = np.array([[1.0, -1.0], [-0.5, 1.0]]), np.array([0.5, -0.5])
LR_A = 0.5


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def example_a(**kw):
    net = jnn.Network([jnn.Affine(W1A, B1A), jnn.Sigmoid(), jnn.Affine(W3A, B3A)])
    return jnn.WorkedExample(net, XA, YA, jnn.SoftmaxCrossEntropy(), LR_A, **kw)


def hand_a(d=None):
    """Every quantity of A; with d, as a person carrying d places computes it (the rules of
    ByHand's docstring, written out again here)."""
    r = (lambda a: a) if d is None else (lambda a: np.round(a, d))
    I2 = np.eye(2)
    z1 = W1A @ XA + B1A
    z2 = sigmoid(r(z1))
    z3 = W3A @ r(z2) + B3A
    p = softmax(r(z3))
    g = p - YA
    s1 = sigmoid(r(z1)) * (1 - sigmoid(r(z1)))
    Dz2 = np.diag(s1)
    DW1 = np.kron(I2, XA)  # row i holds xᵀ in the block of row i of W_1
    DW3 = np.kron(I2, r(z2))
    D3 = I2
    D2, row3 = r(D3) @ r(W3A), g
    D1, row2 = r(D2) @ r(Dz2), r(row3) @ r(W3A)
    D0, row1 = r(D1) @ r(W1A), r(row2) @ r(Dz2)
    row0 = r(row1) @ r(W1A)
    gW1, gb1 = np.outer(r(row1), XA), r(row1)
    gW3, gb3 = np.outer(r(row3), r(z2)), r(row3)
    return {
        "z^{(1)}": z1, "z^{(2)}": z2, "z^{(3)}": z3, r"\hat y": z3,
        r"L(\hat y, y)": -np.log(p[1]), r"\nabla_{\hat y} L": g,
        "D_z f_{W_1}(z^{(0)})": W1A, "D_{W_{1}} f_{W_1}(z^{(0)})": DW1,
        "D_{b_{1}} f_{W_1}(z^{(0)})": I2, "D_z f_{W_2}(z^{(1)})": Dz2,
        "D_z f_{W_3}(z^{(2)})": W3A, "D_{W_{3}} f_{W_3}(z^{(2)})": DW3,
        "D_{b_{3}} f_{W_3}(z^{(2)})": I2,
        "D^{(3)}": D3, "D^{(2)}": D2, "D^{(1)}": D1, "D^{(0)}": D0,
        **{rf"\frac{{\partial L}}{{\partial z^{{({j})}}}}": row[None, :]
           for j, row in enumerate([row0, row1, row2, row3])},
        "D_{W_{1}} f_W(x)": r(D1) @ r(DW1), "D_{b_{1}} f_W(x)": r(D1),
        "D_{W_{3}} f_W(x)": r(D3) @ r(DW3), "D_{b_{3}} f_W(x)": r(D3),
        r"\nabla_{W_{1}} L": gW1, r"\nabla_{b_{1}} L": gb1,
        r"\nabla_{W_{3}} L": gW3, r"\nabla_{b_{3}} L": gb3,
        r"W_{1} - 0.5\,\nabla_{W_{1}} L": W1A - LR_A * r(gW1),
        r"b_{1} - 0.5\,\nabla_{b_{1}} L": B1A - LR_A * r(gb1),
        r"W_{3} - 0.5\,\nabla_{W_{3}} L": W3A - LR_A * r(gW3),
        r"b_{3} - 0.5\,\nabla_{b_{3}} L": B3A - LR_A * r(gb3),
        # given numbers (the network section)
        "W_{1}": W1A, "b_{1}": B1A, "W_{3}": W3A, "b_{3}": B3A, "x": XA, "y": YA,
    }


# -- network B ----------------------------------------------------------------------------------
XB, YB = np.array([1.0, -2.0]), np.array([0.5])
W1B, B2B, W4B = np.array([[0.5, 1.0], [-1.5, 0.5]]), np.array([2.0, 1.0]), np.array([[2.0, 1.0]])


def example_b():
    net = jnn.Network([jnn.Linear(W1B), jnn.Bias(B2B), jnn.ReLU(), jnn.Linear(W4B)])
    return jnn.WorkedExample(net, XB, YB, jnn.SquaredError(), 0.1)


def hand_b():
    z1 = W1B @ XB
    z2 = z1 + B2B
    z3 = np.maximum(z2, 0)
    z4 = W4B @ z3
    g = 2 * (z4 - YB)
    relu_d = np.diag((z2 > 0).astype(float))
    D4, D3 = np.eye(1), W4B
    D2 = D3 @ relu_d
    D1 = D2  # D_z of z + b is I
    D0 = D1 @ W1B
    rows = [g @ D for D in (D0, D1, D2, D3, D4)]
    return {
        "z^{(1)}": z1, "z^{(2)}": z2, "z^{(3)}": z3, "z^{(4)}": z4, r"\hat y": z4,
        r"L(\hat y, y)": ((z4 - YB) ** 2).sum(), r"\nabla_{\hat y} L": g,
        "D_z f_{W_1}(z^{(0)})": W1B, "D_{W_{1}} f_{W_1}(z^{(0)})": np.kron(np.eye(2), XB),
        "D_z f_{W_2}(z^{(1)})": np.eye(2), "D_{b_{2}} f_{W_2}(z^{(1)})": np.eye(2),
        "D_z f_{W_3}(z^{(2)})": relu_d, "D_z f_{W_4}(z^{(3)})": W4B,
        "D_{W_{4}} f_{W_4}(z^{(3)})": z3[None, :],
        "D^{(4)}": D4, "D^{(3)}": D3, "D^{(2)}": D2, "D^{(1)}": D1, "D^{(0)}": D0,
        **{rf"\frac{{\partial L}}{{\partial z^{{({j})}}}}": row[None, :]
           for j, row in enumerate(rows)},
        "D_{W_{1}} f_W(x)": D1 @ np.kron(np.eye(2), XB), "D_{b_{2}} f_W(x)": D2,
        "D_{W_{4}} f_W(x)": z3[None, :],
        r"\nabla_{W_{1}} L": np.outer(rows[1], XB), r"\nabla_{b_{2}} L": rows[2],
        r"\nabla_{W_{4}} L": np.outer(g, z3),
        r"W_{1} - 0.1\,\nabla_{W_{1}} L": W1B - 0.1 * np.outer(rows[1], XB),
        r"b_{2} - 0.1\,\nabla_{b_{2}} L": B2B - 0.1 * rows[2],
        r"W_{4} - 0.1\,\nabla_{W_{4}} L": W4B - 0.1 * np.outer(g, z3),
        "W_{1}": W1B, "b_{2}": B2B, "W_{4}": W4B, "x": XB, "y": YB,
    }


def test_network_b_hand_values_are_the_docstrings():
    h = hand_b()
    assert h["z^{(2)}"].tolist() == [0.5, -1.5] and h[r"L(\hat y, y)"] == 0.25
    assert h["D^{(0)}"].tolist() == [[1.0, 2.0]]
    assert h[r"\nabla_{W_{1}} L"].tolist() == [[2.0, -4.0], [0.0, 0.0]]


# -- reading a rendering back -------------------------------------------------------------------
BMATRIX = re.compile(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", re.S)
BLOCK = re.compile(r"\\begin\{(align\*|aligned)\}\n(.*?)\n\\end\{\1\}", re.S)


def _matrix(body: str) -> np.ndarray:
    return np.array([[float(v) for v in row.split("&")] for row in body.split(r"\\")])


def read_latex(tex: str) -> dict[str, list[np.ndarray]]:
    """{LaTeX name: [value, by-hand value]} of every line of every align block."""
    out = {}
    for _, block in BLOCK.findall(tex):
        for line in re.split(r" \\\\\n(?!    &=)", block):
            name, _, rest = line.partition(" &= ")
            mats = [_matrix(m) for m in BMATRIX.findall(rest)]
            if not mats and re.search(r"= (-?\d+\.\d+)( |$)", rest):  # a scalar: the loss
                mats = [np.array(float(v)) for v in re.findall(r"(?:=|by hand: \}) (-?\d+\.\d+)",
                                                               rest)]
            if mats:
                assert out.setdefault(name, mats)[0].shape == mats[0].shape, name
    return out


def assert_shown(tex, expected, decimals, by_hand=False):
    shown = read_latex(tex)
    assert set(shown) == set(expected), set(shown) ^ set(expected)
    for name, mats in shown.items():
        want = np.asarray(expected[name], dtype=float)
        got = mats[1] if by_hand else mats[0]
        got = got.reshape(want.shape) if got.size == want.size else got
        assert got.shape == want.shape, (name, got.shape, want.shape)
        assert np.all(np.abs(got - want) <= 0.5 * 10.0 ** -decimals * (1 + 1e-9)), (name, got, want)


@pytest.mark.parametrize("decimals", [2, 4, 6])
def test_every_number_of_network_a_is_the_hand_value(decimals):
    assert_shown(example_a().to_latex(decimals), hand_a(), decimals)


@pytest.mark.parametrize("decimals", [3, 6])
def test_every_number_of_network_b_is_the_hand_value(decimals):
    assert_shown(example_b().to_latex(decimals), hand_b(), decimals)


def test_markdown_shows_the_same_numbers():
    assert_shown(example_a().to_markdown(5), hand_a(), 5)


@pytest.mark.parametrize("d", [2, 3, 4])
def test_by_hand_values_beside_the_exact_ones(d):
    tex = example_a().to_latex(6, by_hand=d)
    assert_shown(tex, hand_a(), 6)
    # the second matrix of each computed line is the by-hand value (given lines have none)
    given = {"W_{1}", "b_{1}", "W_{3}", "b_{3}", "x", "y"}
    shown = read_latex(tex)
    hand = hand_a(d)
    for name, mats in shown.items():
        if name in given:
            assert len(mats) == 1, name
            continue
        want = np.asarray(hand[name], float)
        assert np.all(np.abs(mats[1].reshape(want.shape) - want) <= 0.5e-6 * (1 + 1e-9)), name


def test_text_lines_read_as_written():
    text = example_b().to_text(2)
    for line in ["z^(2) = z^(1) + b_2 ∈ R^2 = [0.50  -1.50]",
                 "z^(3) = max(0, z^(2)) ∈ R^2 = [0.50  0.00]",
                 "L(ŷ, y) = ‖ŷ − y‖² = 0.25",
                 "∂L/∂z^(0) = ∇_ŷLᵀ D^(0) ∈ R^{1×2} = [1.00  2.00]",
                 "∇_{W_4} L ∈ R^{1×2} = [0.50  0.00]",
                 "x = z^(0) ∈ R^2 = [1  -2]",
                 "α = 0.1"]:
        assert f"  {line}\n" in text, line


# -- by hand ------------------------------------------------------------------------------------
def test_by_hand_follows_the_lecture_arithmetic():
    """Lecture 002's tanh example carried to 4 places, each step from the rounded last one."""
    import math

    bh = jnn.examples.tanh_worked_example().by_hand(4)
    t07, t03 = 0.6044, 0.2913  # tanh 0.7, tanh 0.3 to 4 places
    assert bh.z(3)[0] == pytest.approx(t07 - t03, abs=1e-15)
    assert bh.loss == pytest.approx(0.5 * 0.1869 ** 2, abs=1e-15)
    assert bh.dL_dz(3)[0] == pytest.approx(-0.1869, abs=1e-15)
    d07 = round(1 - math.tanh(0.7) ** 2, 4)  # 0.6347, from z^(1) = 0.7 (exact)
    d03 = round(1 - math.tanh(0.3) ** 2, 4)  # 0.9151
    assert (d07, d03) == (0.6347, 0.9151)
    np.testing.assert_allclose(bh.dL_dz(1), [-0.1869 * d07, 0.1869 * d03], rtol=1e-14)
    # unrounded: −0.1869 · 0.6347 = −0.11862543, not −0.1186
    assert bh.dL_dz(1)[0] == pytest.approx(-0.11862543, abs=1e-12)
    np.testing.assert_allclose(bh.grad(1), np.outer([-0.1186, 0.1710], [1.0, 0.1]), rtol=1e-14)
    np.testing.assert_allclose(bh.grad(3), [[-0.1869 * t07, -0.1869 * t03]], rtol=1e-14)
    W1_new, _, W3_new = bh.updated_weights()
    np.testing.assert_allclose(W3_new, [[1 - 0.2 * -0.1130, -1 - 0.2 * -0.0544]], rtol=1e-14)
    np.testing.assert_allclose(W1_new, [[1 - 0.2 * -0.1186, -3 - 0.2 * -0.0119],
                                        [0.2 - 0.2 * 0.1710, 1 - 0.2 * 0.0171]], rtol=1e-14)


def test_by_hand_with_many_places_is_the_exact_trace():
    ex = example_a()
    tr, bh = ex.trace(), ex.by_hand(15)
    for j in range(tr.m + 1):
        np.testing.assert_allclose(bh.z(j), tr.z(j), atol=1e-13)
        np.testing.assert_allclose(bh.D(j), tr.D(j), atol=1e-13)
        np.testing.assert_allclose(bh.dL_dz(j), tr.dL_dz(j), atol=1e-13)
    for j in range(1, tr.m + 1):
        np.testing.assert_allclose(bh.grad(j), tr.grad(j), atol=1e-13)
        np.testing.assert_allclose(bh.D_W(j), tr.D_W(j), atol=1e-13)
    assert bh.loss == pytest.approx(tr.loss, abs=1e-13)


def test_by_hand_index_and_decimals_are_checked():
    bh = example_a().by_hand(3)
    with pytest.raises(IndexError, match=r"0\.\.3"):
        bh.z(4)
    with pytest.raises(IndexError, match=r"1\.\.3"):
        bh.grad(0)
    for bad in (-1, 2.5, True, 16):
        with pytest.raises(ValueError, match="decimals must be a whole number"):
            example_a().by_hand(bad)


# -- options ------------------------------------------------------------------------------------
def test_sections_pick_what_is_shown():
    text = example_a().to_text(3, sections=["loss", "forward"])
    assert text.index("Forward pass") < text.index("Loss")
    assert "Local Jacobians" not in text and "Update" not in text and "The network" not in text
    with pytest.raises(ValueError, match="sections must be some of"):
        example_a().to_text(3, sections=["backprop"])


def test_weight_names_count_and_given():
    tex = example_a(weight_names="count").to_latex(3)
    assert r"\nabla_{W^{(2)}} L" in tex and r"\nabla_{b^{(1)}} L" in tex
    assert r"f_{3}(z) &= W^{(2)} z + b^{(2)}" in tex
    tanh = jnn.examples.tanh_worked_example()
    named = jnn.WorkedExample(tanh.network, tanh.x, tanh.y, tanh.loss, tanh.lr,
                              weight_names={1: "W_0", 3: "W_1"})
    text = named.to_text(4)
    assert "z^(1) = W_0 z^(0)" in text and "∇_{W_1} L ∈ R^{1×2} = [-0.1130  -0.0545]" in text
    with pytest.raises(ValueError, match=r"layer\(s\) \[2\] have no parameters"):
        jnn.WorkedExample(tanh.network, tanh.x, tanh.y, tanh.loss, 0.2, weight_names={2: "W"})
    with pytest.raises(ValueError, match="give a pair"):
        example_a(weight_names={1: "A"})
    with pytest.raises(ValueError, match="weight_names must be"):
        example_a(weight_names="greek")


def test_packed_affine_shows_w_and_b_as_one_matrix():
    h = hand_a()
    shown = read_latex(example_a().to_latex(6, split_affine=False))
    packed = np.column_stack([h[r"\nabla_{W_{1}} L"], h[r"\nabla_{b_{1}} L"]])
    np.testing.assert_allclose(shown[r"\nabla_{[W_{1} \mid b_{1}]} L"][0], packed, atol=5e-7)
    assert r"\nabla_{W_{1}} L" not in shown


def test_slide_layout_shows_gradients_shaped_like_w_transposed():
    h = hand_a()
    shown = read_latex(example_a().to_latex(6, layout="slide"))
    np.testing.assert_allclose(shown[r"\frac{\partial L}{\partial W_{1}}"][0],
                               h[r"\nabla_{W_{1}} L"].T, atol=5e-7)
    assert shown[r"\frac{\partial L}{\partial W_{1}}"][0].shape == (3, 2)
    # a bias gradient is the slide's row ∂L/∂b
    np.testing.assert_allclose(shown[r"\frac{\partial L}{\partial b_{3}}"][0],
                               h[r"\nabla_{b_{3}} L"][None, :], atol=5e-7)


def wide_example():
    """A 1×12 weight matrix: D_{W_1} f_{W_1} ∈ R^{1×12} cannot fit a slide at 4 decimals."""
    net = jnn.Network([jnn.Linear(np.full((1, 12), 0.5)), jnn.Tanh()])
    return jnn.WorkedExample(net, np.linspace(-1, 1, 12), [0.0], jnn.HalfSquaredError(), 0.1)


def test_too_wide_matrices_are_reported_in_every_format():
    ex = wide_example()
    text = ex.to_text(4)
    assert "! too wide for a slide: D_{W_1} f_{W_1}(z^(0)) (1×12)" in text
    assert "**Too wide for a slide:** $D_{W_{1}} f_{W_1}(z^{(0)})$ (1×12)" in ex.to_markdown(4)
    tex = ex.to_latex(4)
    assert r"\textbf{Too wide for a slide:} $D_{W_{1}} f_{W_1}(z^{(0)})$ ($1 \times 12$)" in tex
    assert tex.startswith(r"\setcounter{MaxMatrixCols}{12}")  # amsmath stops at 10 columns
    # the tanh example at 4 decimals fits: no warning
    assert "too wide" not in jnn.examples.tanh_worked_example().to_text(4)
    assert "Too wide" not in jnn.examples.tanh_worked_example().to_latex(4, beamer=True)


def test_beamer_one_frame_per_section_and_continued_when_tall():
    tanh = jnn.examples.tanh_worked_example()
    frames = re.findall(r"\\frametitle\{(.*?)\}\n", tanh.to_latex(4, beamer=True))
    assert [f.split(":")[0] for f in frames] == [
        "The network and the example", "Forward pass", "Loss", "Local Jacobians",
        "Backward pass", "Gradients", "Update"]
    deep = jnn.exercises.generate([3, 3, 3, 3, 2], seed=4, bias=True).example
    titles = re.findall(r"\\frametitle\{(.*?)\}\n", deep.to_latex(4, beamer=True))
    assert "Local Jacobians (continued)" in titles
    doc = example_a(title="A & B").to_latex(3, beamer=True, document=True)
    assert doc.startswith("\\documentclass{beamer}") and doc.rstrip().endswith("\\end{document}")
    assert r"\framesubtitle{A \& B}" in doc


def test_bad_options_are_named():
    ex = example_a()
    with pytest.raises(ValueError, match="layout must be one of"):
        ex.to_text(3, layout="wide")
    with pytest.raises(ValueError, match="decimals must be a whole number"):
        ex.to_latex(-1)
    with pytest.raises(ValueError, match="options of to_latex only"):
        ex.to_text(3, beamer=True)
    with pytest.raises(ValueError, match="slide_width"):
        ex.to_text(3, slide_width=0)


# -- the example itself ---------------------------------------------------------------------------
def test_inputs_are_checked_and_never_modified():
    x = XA.copy()
    ex = jnn.WorkedExample(example_a().network, x, YA, jnn.SoftmaxCrossEntropy(), 0.5)
    ex.to_text(3)
    ex.updated_weights()
    assert np.array_equal(x, XA) and ex.x is not x
    assert np.array_equal(ex.network.layers[0].W, W1A)  # the step is not applied to the network
    with pytest.raises(TypeError, match="must be a jacobian_nn.Network"):
        jnn.WorkedExample([jnn.Tanh()], x, YA, jnn.SoftmaxCrossEntropy(), 0.5)
    with pytest.raises(TypeError, match="loss must be a jacobian_nn loss"):
        jnn.WorkedExample(ex.network, x, YA, "mse", 0.5)
    with pytest.raises(ValueError, match="lr must be a finite"):
        jnn.WorkedExample(ex.network, x, YA, jnn.SoftmaxCrossEntropy(), float("nan"))
    with pytest.raises(ValueError, match=r"layer 1 .*expects z\^\(0\) = x ∈ R\^3"):
        jnn.WorkedExample(ex.network, [1.0, 2.0], YA, jnn.SoftmaxCrossEntropy(), 0.5)


def test_updated_weights_are_one_gradient_step():
    h = hand_a()
    W1_new, _, W3_new = example_a().updated_weights()
    np.testing.assert_allclose(W1_new, np.column_stack([
        h[r"W_{1} - 0.5\,\nabla_{W_{1}} L"], h[r"b_{1} - 0.5\,\nabla_{b_{1}} L"]]), rtol=1e-14)
    np.testing.assert_allclose(W3_new[:, :-1], h[r"W_{3} - 0.5\,\nabla_{W_{3}} L"], rtol=1e-14)


def test_repr_and_markdown_display():
    ex = example_a(title="A")
    assert repr(ex) == ("WorkedExample(m = 3 layers, x ∈ R^3, y ∈ R^2, SoftmaxCrossEntropy(), "
                        "lr = 0.5)")
    assert ex._repr_markdown_().startswith("# A\n\n## The network and the example")
    assert repr(ex.by_hand(2)).startswith("<By hand, carrying 2 decimals: L = ")


def test_by_hand_that_rounds_out_of_the_loss_domain_says_so():
    # σ(4 + 2) = 0.99753 rounds to 1.00 at 2 places, where −log(1 − ŷ) is infinite
    net = jnn.Network([jnn.Linear([[4.0, 2.0]]), jnn.Sigmoid()])
    ex = jnn.WorkedExample(net, [1.0, 1.0], [0.0], jnn.BinaryCrossEntropy(), 0.1)
    with pytest.raises(ValueError, match=r"ŷ rounds to \[1\.0\].*carry more decimals"):
        ex.by_hand(2)
    assert ex.by_hand(3).z(2)[0] == pytest.approx(sigmoid(6.0))
    # the audit uses only the precisions that give a by-hand value (3 to 6 here)
    assert ex.audit({"z(2)": ["0.998"]}) == {"z(2)": ["exact"]}
