"""Checking a hand calculation: right answers pass, planted slips are named.

Every expected number and every planted wrong answer is computed by hand with numpy from the
networks' inputs (tests/hand_reference.py, and the planted slips below: np.tanh, σ, explicit
products), never by the checker's own candidate code.
"""

import numpy as np
import pytest
from hand_reference import (
    NETWORKS,
    V1,
    V2,
    W0,
    W1,
    X_A,
    X_B,
    Y_A,
    Y_B,
    c1,
    c2,
    sigmoid,
    sigmoid_reference,
    sigmoid_trace,
    strings,
    tanh_reference,
    tanh_trace,
)

import jacobian_nn as jnn
from jacobian_nn.handcheck import SLIPS, check
from jacobian_nn.slips import Recomputed


@pytest.fixture(params=sorted(NETWORKS))
def network(request):
    make_trace, reference = NETWORKS[request.param]
    return make_trace(), reference()


# -- right answers pass and are never called a slip --------------------------------------------
def test_the_hand_references_are_the_lecture_quantities(network):
    tr, ref = network
    for q, value in ref.items():
        got = tr.loss if q == "loss" else getattr(tr, q.split("(")[0])(int(q[-2]))
        np.testing.assert_allclose(got, value, rtol=1e-12, atol=1e-15, err_msg=q)


def test_recomputed_without_slips_is_the_trace(network):
    tr, ref = network
    again = Recomputed(tr)
    for q, value in ref.items():
        name, j = ("loss", None) if q == "loss" else (q.split("(")[0], int(q[-2]))
        np.testing.assert_allclose(again.get(name, j), value, rtol=1e-12, atol=1e-15, err_msg=q)


def test_exact_numbers_pass(network):
    tr, ref = network
    for q, value in ref.items():
        report = check(tr, q, np.asarray(value).tolist())
        assert report and report.passed and report.slip is None and report.wrong == [], q


@pytest.mark.parametrize("places", [1, 2, 3, 4, 5, 6])
def test_strings_right_at_their_digits_pass(network, places):
    tr, ref = network
    for q, value in ref.items():
        report = check(tr, q, strings(value, places))
        assert report.passed and report.slip is None, (q, places, str(report))


def test_a_gradient_in_the_slide_layout_passes_with_layout_slide(network):
    tr, ref = network
    for q in ("grad(1)", "grad(3)"):
        assert check(tr, q, strings(ref[q].T, 4), layout="slide").slip is None
        assert check(tr, q, ref[q].T, layout="slide")


def test_numbers_rounded_by_the_student_pass_with_decimals(network):
    tr, ref = network
    assert check(tr, "dL_dz(1)", np.round(ref["dL_dz(1)"], 3), decimals=3)
    report = check(tr, "dL_dz(1)", np.round(ref["dL_dz(1)"], 3))
    assert not report and report.slip == "rounding" and "decimals=3" in report.detail


def test_typed_rounded_numbers_are_named_rounding():
    report = check(tanh_trace(), "dL_dz(1)", [-0.119, 0.171])  # exactly −0.11866, 0.17108
    assert report.slip == "rounding" and "decimals=3" in report.detail
    assert check(tanh_trace(), "dL_dz(1)", [-0.119, 0.171], decimals=3)


def test_flat_lists_for_rows_columns_and_a_single_number(network):
    tr, ref = network
    assert check(tr, "dL_dz(1)", ref["dL_dz(1)"][None, :])  # a row written as a 1×h matrix
    assert check(tr, "loss", [ref["loss"]]) and check(tr, "loss", ref["loss"])
    assert check(tr, "z(1)", " ".join(strings(ref["z(1)"], 5)))  # typed as one string


def test_a_flat_list_for_a_one_row_matrix():
    tr, ref = tanh_trace(), tanh_reference()
    assert check(tr, "D(0)", ref["D(0)"].ravel())  # D^(0) ∈ R^{1×2}
    assert check(tr, "grad(3)", ref["grad(3)"].ravel(), layout="slide")  # the slide's column
    with pytest.raises(ValueError, match="needs shape"):  # but a 2×3 matrix is not a list of 6
        check(sigmoid_trace(), "D(0)", sigmoid_reference()["D(0)"].ravel())


# -- every slip, planted on both networks ------------------------------------------------------
def planted_tanh():
    ref = tanh_reference()
    z2, g = ref["z(2)"], ref["dL_dz(3)"]
    row2 = ref["dL_dz(2)"]
    at_output = np.diag(1 - np.tanh(z2) ** 2)  # φ'(z^(2)) instead of φ'(z^(1))
    return [
        ("transposed", "local_D_z(1)", W0.T, "lecture"),
        ("transposed", "grad(1)", np.outer(X_A, ref["dL_dz(1)"]), "lecture"),  # the slide's
        ("transposed", "grad(1)", np.outer(ref["dL_dz(1)"], X_A), "slide"),
        ("transposed", "grad(3)", np.outer(z2, g), "lecture"),  # a column for a row
        ("sign", "dL_dz(2)", -row2, "lecture"),  # y − ŷ instead of ŷ − y
        ("sign", "grad(3)", -np.outer(g, z2), "lecture"),
        ("scaled", "dL_dz(1)", 2 * ref["dL_dz(1)"], "lecture"),  # ‖ŷ − y‖² instead of ½‖…‖²
        ("scaled", "loss", f"{float((ref['z(3)'] - Y_A) @ (ref['z(3)'] - Y_A)):.4f}", "lecture"),
        ("reversed_order", "dL_dz(0)", W0 @ ref["dL_dz(1)"], "lecture"),  # W0 · ∂L/∂z^(1)ᵀ
        ("reversed_order", "D(0)", (W0 @ ref["D(1)"][0])[None, :], "lecture"),
        ("derivative_at_output", "local_D_z(2)", at_output, "lecture"),
        ("derivative_at_output", "dL_dz(1)", row2 @ at_output, "lecture"),
        ("derivative_at_output", "D(1)", W1 @ at_output, "lecture"),
        ("derivative_at_output", "grad(1)", np.outer(row2 @ at_output, X_A), "lecture"),
        ("derivative_at_output", "dL_dz(0)", row2 @ at_output @ W0, "lecture"),
        ("rounding", "dL_dz(1)", ["-0.1186", "0.171"], "lecture"),  # the slide's numbers
        ("rounding", "grad(1)", [["-0.1186", "0.171"], ["-0.01186", "0.0171"]], "slide"),
    ]


def planted_sigmoid():
    ref = sigmoid_reference()
    s, g, J2 = ref["z(2)"], ref["dL_dz(3)"], ref["local_D_z(2)"]
    at_output = np.diag(sigmoid(s) * (1 - sigmoid(s)))  # σ'(z^(2)) instead of σ'(z^(1))
    reversed_row2 = V2 @ g  # ∂L/∂z^(2) as W_3 times a column
    return [
        ("transposed", "D(1)", ref["D(1)"].T, "lecture"),
        ("transposed", "local_D_z(3)", V2.T, "lecture"),
        ("transposed", "z(3)", V2.T @ s + c2, "lecture"),  # W_3ᵀ z^(2) + b_3
        ("transposed", "grad(1)", ref["grad(1)"].T, "lecture"),  # shape 4×2 for 2×4
        ("sign", "grad(3)", -ref["grad(3)"], "lecture"),
        ("sign", "dL_dz(0)", -ref["dL_dz(0)"], "lecture"),
        ("scaled", "grad(1)", 0.5 * ref["grad(1)"], "lecture"),
        ("scaled", "D_W(3)", 3 * ref["D_W(3)"], "lecture"),
        ("reversed_order", "D(1)", J2 @ V2, "lecture"),
        ("reversed_order", "dL_dz(2)", reversed_row2, "lecture"),
        ("reversed_order", "grad(1)", np.outer(reversed_row2 @ J2, np.append(X_B, 1.0)),
         "lecture"),
        ("derivative_at_output", "local_D_z(2)", at_output, "lecture"),
        ("derivative_at_output", "D(0)", V2 @ at_output @ V1, "lecture"),
        ("derivative_at_output", "grad(1)", np.outer(g @ V2 @ at_output, np.append(X_B, 1.0)),
         "lecture"),
        ("derivative_at_output", "dL_dz(1)", g @ V2 @ at_output, "lecture"),
    ]


PLANTED = [("tanh", *p) for p in planted_tanh()] + [("sigmoid", *p) for p in planted_sigmoid()]


@pytest.mark.parametrize(("net", "slip", "quantity", "answer", "layout"), PLANTED,
                         ids=[f"{p[0]}-{p[1]}-{p[2]}-{p[4]}" for p in PLANTED])
def test_planted_slip_is_named(net, slip, quantity, answer, layout):
    tr = NETWORKS[net][0]()
    for written in (np.asarray(answer).tolist(), _as_strings(answer, 5)):
        report = check(tr, quantity, written, layout=layout)
        assert not report and report.slip == slip, str(report)


def _as_strings(answer, places):
    a = np.asarray(answer)
    return a.tolist() if a.dtype.kind == "U" else strings(a, places)


def test_every_slip_kind_is_planted_on_both_networks():
    kinds = {(net, slip) for net, slip, *_ in PLANTED}
    named = set(SLIPS) - {"rounding", "unknown"}
    assert {(n, s) for n in NETWORKS for s in named} <= kinds
    # rounding needs numbers a person gets by keeping d decimals: see the tests below
    assert ("tanh", "rounding") in kinds


def test_carried_rounding_on_the_tanh_example_at_two_decimals():
    # Keep 2 decimals of every quantity before the last: tanh(0.7) → 0.60, tanh(0.3) → 0.29,
    # ŷ = 0.31, ŷ − y = −0.19, 1 − tanh²(0.7) → 0.63, 1 − tanh²(0.3) → 0.92.
    z2 = np.round(np.tanh(W0 @ X_A), 2)
    g = np.round(W1 @ z2 - Y_A, 2)
    J2 = np.round(1 - np.tanh(W0 @ X_A) ** 2, 2)
    answer = strings(np.round(g @ W1, 2) * J2, 4)
    assert answer == ["-0.1197", "0.1748"]  # the exact ones are −0.1187, 0.1711
    report = check(tanh_trace(), "dL_dz(1)", answer)
    assert not report and report.slip == "rounding" and "2 decimals" in report.detail


def test_carried_rounding_on_the_sigmoid_network_at_two_decimals():
    ref = sigmoid_reference()
    s = np.round(sigmoid(np.round(V1 @ X_B + c1, 2)), 2)
    a2 = np.round(V2 @ s + c2, 2)
    g = np.round(np.exp(a2) / np.exp(a2).sum() - Y_B, 2)
    answer = strings(np.outer(g, np.append(s, 1.0)), 4)  # ∇_{W_3} L = g (s, 1)ᵀ
    assert answer != strings(ref["grad(3)"], 4)
    report = check(sigmoid_trace(), "grad(3)", answer)
    assert not report and report.slip == "rounding", str(report)


def test_a_slip_made_while_rounding_is_named_by_the_slip():
    # φ' at the output, with 2 decimals kept: 1 − tanh²(0.60), 1 − tanh²(0.29).
    z2 = np.round(np.tanh(W0 @ X_A), 2)
    row2 = np.round(W1 @ z2 - Y_A, 2) @ W1
    answer = strings(row2 * np.round(1 - np.tanh(z2) ** 2, 2), 4)
    report = check(tanh_trace(), "dL_dz(1)", answer)
    assert report.slip == "derivative_at_output" and "2 decimals" in report.detail


def test_an_unexplained_answer_is_unknown(network):
    tr, ref = network
    report = check(tr, "dL_dz(1)", [0.3, 0.9])
    assert not report and report.slip == "unknown"
    assert check(tr, "loss", f"{3.3 * ref['loss']:.4f}").slip == "unknown"  # 3.3: not a 2 or ½


def test_one_wrong_entry_is_listed_with_its_index(network):
    tr, ref = network
    answer = strings(ref["D(1)"], 4)
    answer[0][1] = "9.9999"
    report = check(tr, "D(1)", answer)
    assert [idx for idx, _, _ in report.wrong] == [(0, 1)]
    idx, expected, got = report.wrong[0]
    assert got == 9.9999 and expected == pytest.approx(ref["D(1)"][0, 1], rel=1e-12)


def test_the_slide_numbers_of_lecture_002():
    tr = tanh_trace()
    right = {"z(1)": ["0.7", "0.3"], "z(2)": ["0.604", "0.291"], "z(3)": ["0.313"],
             "loss": "0.017", "dL_dz(3)": ["-0.1869"], "dL_dz(2)": ["-0.1869", "0.1869"]}
    for q, printed in right.items():
        assert check(tr, q, printed), q
    assert check(tr, "grad(3)", [["-0.113"], ["-0.054"]], layout="slide")
    # −0.1186 is −0.1869 · 0.6347 from the already-rounded −0.1869: carried rounding
    assert check(tr, "dL_dz(1)", ["-0.1186", "0.171"]).slip == "rounding"
    # the ∂L/∂W1 line multiplies x2 by −0.1186 instead of ∂L/∂x3 = −0.1869: a wrong factor
    x2 = np.tanh(W0 @ X_A)
    assert check(tr, "grad(3)", strings(x2 * -0.1186, 4)).slip == "scaled"


# -- the report --------------------------------------------------------------------------------
def test_report_in_words_and_html():
    tr = tanh_trace()
    ref = tanh_reference()
    good = check(tr, "D(1)", strings(ref["D(1)"], 4))
    assert "PASSED" in str(good) and "D^(1) = D^(2) D_z f_{W_2}(z^(1))" in str(good)
    assert 'color:green' in good._repr_html_()
    bad = check(tr, "dL_dz(0)", W0 @ ref["dL_dz(1)"])
    text = str(bad)
    assert "FAILED" in text and "reversed_order" in text and "∂L/∂z^(0)" in text
    assert "fix:" in text and "D^(j) = D^(j+1) D_z f_{W_{j+1}}(z^(j))" in text
    assert 'color:red' in bad._repr_html_() and "reversed_order" in bad._repr_html_()
    assert bad.advice and good.advice is None


def test_a_transposed_shape_is_explained():
    tr = tanh_trace()
    ref = tanh_reference()
    report = check(tr, "grad(3)", ref["grad(3)"].T)
    assert not report and report.slip == "transposed" and report.wrong == []
    assert "written transposed" in str(report) and "(2, 1)" in str(report)
    assert 'layout="slide"' in report.advice  # said for a gradient
    assert "∂f_i/∂z_a" in check(tr, "local_D_z(1)", W0.T).advice  # said for a Jacobian


# -- bad input ---------------------------------------------------------------------------------
def test_wrong_shape_is_a_clear_error():
    tr = tanh_trace()
    with pytest.raises(ValueError, match=r"D\(1\) is D\^\(1\).*R\^\{1×2\}.*got shape \(3,\)"):
        check(tr, "D(1)", [1, 2, 3])


@pytest.mark.parametrize(("quantity", "message"), [
    ("W(1)", "quantity must be one of"), ("D(7)", r"j in 0..3"), ("grad(0)", r"j in 1..3"),
])
def test_bad_quantity_is_a_clear_error(quantity, message):
    with pytest.raises(ValueError, match=message):
        check(tanh_trace(), quantity, [0.0])


def test_bad_answers_and_options_are_clear_errors():
    tr = tanh_trace()
    with pytest.raises(ValueError, match="cannot read 'abc'"):
        check(tr, "z(1)", ["abc", "0.3"])
    with pytest.raises(ValueError, match="ragged"):
        check(tr, "D(0)", [[1.0, 2.0], [3.0]])
    with pytest.raises(TypeError, match="entry"):
        check(tr, "z(1)", [None, 0.3])
    with pytest.raises(ValueError, match="layout"):
        check(tr, "z(1)", [0.7, 0.3], layout="Wt")
    with pytest.raises(ValueError, match="decimals"):
        check(tr, "z(1)", [0.7, 0.3], decimals=-1)
    with pytest.raises(TypeError, match="trace"):
        check(object(), "z(1)", [0.7, 0.3])


def test_the_answer_is_not_modified():
    tr = tanh_trace()
    answer = np.array([0.7, 0.3])
    before = answer.copy()
    check(tr, "z(1)", answer)
    assert np.array_equal(answer, before)


def test_trace_check_is_handcheck_check():
    tr = tanh_trace()
    assert tr.check("dL_dz(1)", ["-0.1186", "0.171"]).slip == "rounding"
    assert tr.check("grad(1)", np.outer(tanh_reference()["dL_dz(1)"], X_A).T, layout="slide")


def test_text_answers_in_matrix_notation():
    tr = tanh_trace()
    assert check(tr, "local_D_z(1)", "[[1, -3], [0.2, 1]]")
    assert check(tr, "local_D_z(1)", "1 −3; 0.2 1")  # a typed minus sign
    assert check(tr, "local_D_z(1)", "1 0.2; -3 1").slip == "transposed"


def test_a_reversed_D_W_product_is_named():
    # f_{W_1}(z) = a ⊙ z (D_a f = diag(z)), then W_2 z: D_{W_1} f_W(x) = D^(1) diag(x) = W_2 diag(x)
    x, a, W = np.array([0.5, -2.0]), np.array([2.0, 3.0]), np.array([[1.0, -1.0], [0.5, 2.0]])
    scale = jnn.custom_layer(lambda z, w: w * z, lambda z, w: np.diag(w),
                             lambda z, w: np.diag(z), params=a, name="a ⊙ z")
    tr = jnn.Network([scale, jnn.Linear(W)]).backprop(x, [0.1, 0.2], jnn.HalfSquaredError())
    assert check(tr, "D_W(1)", W @ np.diag(x))
    report = check(tr, "D_W(1)", np.diag(x) @ W)
    assert report.slip == "reversed_order" and "D_{W_1} f_{W_1}(z^(0)) · D^(1)" in report.detail
