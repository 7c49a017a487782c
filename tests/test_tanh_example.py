"""Lecture 002's tanh example, number by number, against arithmetic done by hand."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

import jacobian_nn as jnn
from jacobian_nn.cli import main

# The slide's arithmetic, written out with math.tanh (no jacobian_nn involved).
X0, Y = (1.0, 0.1), 0.5
X1 = (1 * X0[0] - 3 * X0[1], 0.2 * X0[0] + 1 * X0[1])  # W0 x0
X2 = (math.tanh(X1[0]), math.tanh(X1[1]))
X3 = X2[0] - X2[1]  # W1 x2 with W1 = (1, −1)
LOSS = 0.5 * (X3 - Y) ** 2
DX3 = X3 - Y
DX2 = (DX3 * 1, DX3 * -1)
DX1 = (DX2[0] * (1 - X2[0] ** 2), DX2[1] * (1 - X2[1] ** 2))
DW0_SLIDE = [[X0[0] * DX1[0], X0[0] * DX1[1]], [X0[1] * DX1[0], X0[1] * DX1[1]]]  # x0 ∂L/∂x1
DW1_SLIDE = [[X2[0] * DX3], [X2[1] * DX3]]  # x2 ∂L/∂x3
W0_NEW = np.array([[1, -3], [0.2, 1]]) - 0.2 * np.array(DW0_SLIDE).T  # W + η(∂L/∂W)ᵀ, η = −0.2
W1_NEW = np.array([[1, -1]]) - 0.2 * np.array(DW1_SLIDE).T


@pytest.fixture
def ex():
    return jnn.examples.tanh_worked_example()


def test_every_value_equals_the_hand_computation(ex):
    tr = ex.trace()
    assert_allclose(tr.z(1), X1, rtol=1e-15)
    assert_allclose(tr.z(2), X2, rtol=1e-15)
    assert_allclose(tr.z(3), [X3], rtol=1e-14)
    assert tr.loss == pytest.approx(LOSS, rel=1e-14)
    g = tr.grad_yhat
    assert_allclose(g @ tr.D(3), [DX3], rtol=1e-14)
    assert_allclose(g @ tr.D(2), DX2, rtol=1e-14)
    assert_allclose(g @ tr.D(1), DX1, rtol=1e-14)
    # Our ∇_W L is shaped like W; the slide's ∂L/∂W is its transpose.
    assert_allclose(tr.grad(1), np.array(DW0_SLIDE).T, rtol=1e-14)
    assert_allclose(tr.grad(3), np.array(DW1_SLIDE).T, rtol=1e-14)
    W0, _, W1 = ex.updated_weights()
    assert_allclose(W0, W0_NEW, rtol=1e-14)
    assert_allclose(W1, W1_NEW, rtol=1e-14)


def at_printed_precision(value, printed: str) -> bool:
    decimals = len(printed.split(".")[1])
    return abs(value - float(printed)) <= 0.5 * 10 ** -decimals * (1 + 1e-9)


# The hand-computed value of every number the slide prints, by the names of the library's copy
# of the slide (``jnn.examples.TANH_SLIDE.printed``); the slide's ∂L/∂W is shaped like Wᵀ.
HAND = {
    "z(1)": X1, "z(2)": X2, "z(3)": [X3], "loss": LOSS, "dL_dz(3)": [DX3], "dL_dz(2)": DX2,
    "dL_dz(1)": DX1, "grad(1)": DW0_SLIDE, "grad(3)": DW1_SLIDE, "W_new(1)": W0_NEW,
    "W_new(3)": W1_NEW,
}

# Printed values that are not the exact value rounded, with the rounded exact value, and what a
# person carrying 4 places gets: ∂L/∂x2 = (−0.1869, 0.1869) times 1 − tanh²(0.7) = 0.6347 (to
# 4 places) is −0.11862543, printed −0.1186; times x0 = (1.0, 0.1) that is −0.1186, −0.01186.
TANH_07 = round(1 - math.tanh(0.7) ** 2, 4)
CARRIED = {  # (name, C-order entry): (exact rounded, carried to 4 places)
    ("dL_dz(1)", 0): ("-0.1187", -0.1869 * TANH_07),
    ("grad(1)", 0): ("-0.1187", round(-0.1869 * TANH_07, 4) * 1.0),
    ("grad(1)", 2): ("-0.01187", round(-0.1869 * TANH_07, 4) * 0.1),
}


@pytest.mark.parametrize("name", sorted(HAND))
def test_the_library_copy_of_the_slide_is_the_hand_computation_at_printed_precision(name):
    assert sorted(jnn.examples.TANH_SLIDE.printed) == sorted(HAND)
    printed = np.ravel(jnn.examples.TANH_SLIDE.printed[name])
    values = np.ravel(HAND[name])
    assert printed.shape == values.shape
    for a, (text, value) in enumerate(zip(printed, values, strict=True)):
        if (name, a) in CARRIED:  # not the exact value rounded, but what carrying 4 places gives
            correct, carried = CARRIED[name, a]
            assert not at_printed_precision(value, text)
            assert at_printed_precision(value, correct)
            assert at_printed_precision(carried, text)
        else:
            assert at_printed_precision(value, text), (name, a, text, value)


# The audit of the slide, entry by entry (C order of each printed block), from the two lists
# above: every HAND entry is exact but the CARRIED ones, carried rounding; none an erratum.
EXPECTED_AUDIT = {
    "z(1)": ["exact", "exact"],
    "z(2)": ["exact", "exact"],
    "z(3)": ["exact"],
    "loss": ["exact"],
    "dL_dz(3)": ["exact"],
    "dL_dz(2)": ["exact", "exact"],
    "dL_dz(1)": ["carried_rounding", "exact"],  # −0.1186, 0.171
    # the slide's ∂L/∂W0 = x0 ∂L/∂x1, shaped like W0ᵀ: [[−0.1186, 0.171], [−0.01186, 0.0171]]
    "grad(1)": ["carried_rounding", "exact", "carried_rounding", "exact"],
    "grad(3)": ["exact", "exact"],
    "W_new(1)": ["exact", "exact", "exact", "exact"],
    "W_new(3)": ["exact", "exact"],
}


def test_the_slide_audit_entry_by_entry(ex):
    slide = jnn.examples.TANH_SLIDE
    audit = ex.audit(slide.printed, layout=slide.layout)
    assert dict(audit) == EXPECTED_AUDIT
    assert audit and not audit.errata  # truthy: no printed number is an erratum
    carried = [(e.printed, e.carried[0][0], e.carried[0][1]) for e in audit.rounding]
    texts = [np.ravel(slide.printed[name])[a] for name, a in CARRIED]
    assert [(text, 4) for text in texts] == [(p, d) for p, d, _ in carried]
    for (_, want), (_, _, got) in zip(CARRIED.values(), carried, strict=True):
        assert got == pytest.approx(want, abs=1e-15)
    # only carrying 4 places explains them: with 2, 3, 5 or 6 the digits differ
    assert all(len(e.carried) == 1 for e in audit.rounding)


def test_the_slide_text_errata_stay_listed():
    notes = jnn.examples.TANH_SLIDE.text_errata
    assert any("(−0.1186)" in note and "−0.1869" in note for note in notes)
    assert any("without the transpose" in note for note in notes)
    # the W1 line's factor: x2 · (−0.1869) prints the slide's result, x2 · (−0.1186) does not
    assert np.round(np.array([0.604, 0.291]) * -0.1869, 3).tolist() == [-0.113, -0.054]
    assert np.round(np.array([0.604, 0.291]) * -0.1186, 3).tolist() != [-0.113, -0.054]
    # the W0 line untransposed would print [[1.02, −3.03], [0.2, 1.0]], not the slide's result
    untransposed = np.array([[1.0, -3.0], [0.2, 1.0]]) - 0.2 * np.array(
        [[-0.1186, 0.171], [-0.01186, 0.0171]])
    assert np.round(untransposed, 2).tolist() == [[1.02, -3.03], [0.2, 1.0]]


def test_demo_prints_every_step_and_the_audit(capsys):
    assert main(["tanh"]) == 0
    out = capsys.readouterr().out
    for needle in ["z^(1) = W_1 z^(0) ∈ R^2 = [0.7000  0.3000]", "∇_ŷ L ∈ R^1 = [-0.1869]",
                   "D^(1) = D^(2) D_z f_{W_2}(z^(1)) ∈ R^{1×2}", "D_z f_{W_2}(z^(1)) ∈ R^{2×2}",
                   "∇_{W_1} L ∈ R^{2×2}", "W_1 − 0.2 ∇_{W_1} L", "∂L/∂W0 (slide) = (∇_{W_1} L)ᵀ",
                   "∂L/∂x1             dL_dz(1)  [-0.1186, 0.171]", "≈ ✓",
                   "Rounding, not errors",
                   "dL_dz(1)[0]: printed -0.1186 — rounding, not an error",
                   "Errata in the slide's numbers: none", "Errata in the slide's text",
                   "∂L/∂W1 line", "W0 update line"]:
        assert needle in out, needle
    assert "erratum:" not in out  # no number is called an erratum


def test_and_gate_outputs_follow_the_truth_table(capsys):
    net, X, Y = jnn.examples.and_gate()
    expected = 1 / (1 + np.exp(-(-30 + 20 * X[:, 0] + 20 * X[:, 1])))
    assert_allclose(net(X)[:, 0], expected, rtol=1e-12)
    assert np.array_equal(net(X) > 0.5, Y > 0.5)
    assert main(["and"]) == 0
    assert "σ(−30 + 20 x₁ + 20 x₂)" in capsys.readouterr().out
