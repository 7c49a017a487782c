"""The step-through: the plain ``Steps`` object, and the thin ipywidgets view on it.

The numbers a step must show are computed here by hand with numpy (lecture 002's example and
a 3-2-2 sigmoid network: tests/hand_reference.py) and formatted with the library's own
``matrix_to_latex``/``matrix_to_text``, so the test checks which matrices a step shows, not
how a matrix is typeset.
"""

import subprocess
import sys

import numpy as np
import pytest
from hand_reference import (
    NETWORKS,
    W0,
    W1,
    X_A,
    sigmoid_trace,
    strings,
    tanh_reference,
    tanh_trace,
)

import jacobian_nn as jnn
from jacobian_nn.stepthrough import Steps, step_through


def test_forward_then_backward_in_lecture_order():
    for make_trace, _ in NETWORKS.values():
        steps = Steps(make_trace())
        assert [(s.kind, s.j) for s in steps] == [
            ("forward", 1), ("forward", 2), ("forward", 3),
            ("backward", 3), ("backward", 2), ("backward", 1), ("backward", 0)]
        assert [s.index for s in steps] == list(range(7))


def test_next_and_previous_move_and_stop_at_the_ends():
    steps = Steps(tanh_trace())
    assert steps.at_start and steps.previous().index == 0
    assert steps.next().index == 1 and steps.current.index == 1
    for _ in range(10):
        steps.next()
    assert steps.at_end and steps.current.index == 6 and steps.current.kind == "backward"
    assert steps.previous().index == 5
    assert steps.go(2).j == 3 and steps.index == 2
    with pytest.raises(IndexError, match="0..6"):
        steps.go(7)


def test_a_backward_step_shows_the_three_matrices_and_their_shapes():
    ref = tanh_reference()
    step = Steps(tanh_trace()).go(5)  # backward j = 1: D^(1) = D^(2) · D_z f_{W_2}(z^(1))
    assert (step.kind, step.j) == ("backward", 1)
    assert "D^(1) = D^(2) D_z f_{W_2}(z^(1))" in step.text
    for A in (ref["D(2)"], ref["local_D_z(2)"], ref["D(1)"]):
        assert jnn.matrix_to_latex(A, 4) in step.latex
        assert jnn.matrix_to_text(A, 4).split("\n")[0] in step.text
    assert r"_{1 \times 2}" in step.latex and r"_{2 \times 2}" in step.latex
    assert "D^{(1)} &= D^{(2)}" in step.latex
    # the row ∂L/∂z^(1) = ∂L/∂z^(2) D_z f_{W_2}(z^(1)) and the gradient of layer 1 too
    assert jnn.matrix_to_latex(ref["dL_dz(1)"][None, :], 4) in step.latex
    assert jnn.matrix_to_latex(ref["grad(1)"], 4) in step.latex
    assert step.quantities[0] == "D(1)" and "grad(1)" in step.quantities


def test_a_forward_step_shows_its_layer_and_numbers():
    ref = tanh_reference()
    steps = Steps(tanh_trace())
    first = steps[0]
    assert "z^(1) = f_{W_1}(z^(0))" in first.text and "W z" in first.text
    for A in (W0, X_A, ref["z(1)"]):
        assert jnn.matrix_to_latex(A, 4) in first.latex
    last = steps[2]  # forward j = m also gives the loss
    assert last.quantities == ("z(3)", "loss") and f"{ref['loss']:.4f}" in last.text
    assert jnn.matrix_to_latex(W1, 4) in last.latex


def test_every_quantity_a_step_offers_checks_against_its_value():
    for make_trace, reference in NETWORKS.values():
        ref = reference()
        steps = Steps(make_trace())
        for step in steps:
            steps.go(step.index)
            for q in step.quantities:
                if q in ref:
                    assert steps.check(strings(ref[q], 5), q), (step.title, q)
            assert steps.check(strings(ref[step.quantities[0]], 5))  # the main one by default


def test_check_at_a_step_names_the_slip():
    ref = tanh_reference()
    steps = Steps(tanh_trace())
    steps.go(6)  # backward j = 0
    report = steps.check(W0 @ ref["dL_dz(1)"], "dL_dz(0)")
    assert not report and report.slip == "reversed_order"
    assert steps.check(strings(np.outer(X_A, ref["dL_dz(1)"]), 4), "grad(1)",
                       layout="slide")


def test_whole_walk_through_as_text_and_latex():
    steps = Steps(sigmoid_trace(), decimals=3)
    text, latex = steps.to_text(), steps.to_latex()
    for step in steps:
        assert step.title in text and step.latex in latex
        assert rf"\textbf{{{step.kind.capitalize()} pass}}, \quad j = {step.j}" in latex
    assert latex.startswith("$$\\begin{aligned}") and latex.endswith("\\end{aligned}$$")
    assert "Softmax" not in text and "Sigmoid" in text
    assert repr(steps).startswith("<Steps: step 1 of 7")


# -- the widget --------------------------------------------------------------------------------
def test_widget_buttons_move_through_the_steps():
    view = step_through(tanh_trace())
    first = view.formula_view.value
    assert view.where.value == "step 1 of 7" and view.previous_button.disabled
    view.next_button.click()
    assert view.where.value == "step 2 of 7" and view.formula_view.value != first
    assert "Forward pass, j = 2" in view.formula_view.value
    view.previous_button.click()
    assert view.formula_view.value == first
    for _ in range(6):
        view.next_button.click()
    assert view.next_button.disabled and view.quantity_choice.options[0] == "D(0)"


def test_widget_checks_the_typed_answer():
    ref = tanh_reference()
    view = step_through(tanh_trace())
    view.answer_box.value = " ".join(strings(ref["z(1)"], 3))
    view.check_button.click()
    assert "PASSED" in view.verdict.value and "green" in view.verdict.value
    view.steps.go(5)
    view._show(view.steps.current)
    view.quantity_choice.value = "dL_dz(1)"
    view.answer_box.value = "-0.1186 0.171"
    report = view.check()
    assert report.slip == "rounding" and "rounding" in view.verdict.value
    view.answer_box.value = "1 2 3"
    assert view.check() is None and "needs shape" in view.verdict.value


def test_without_widgets_the_output_is_the_whole_static_rendering():
    view = step_through(tanh_trace())
    bundle = view._repr_mimebundle_()
    steps = Steps(tanh_trace())
    assert bundle["text/plain"] == steps.to_text()
    assert bundle["text/latex"] == steps.to_latex()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_trace_step_through_is_the_view():
    view = tanh_trace().step_through(decimals=2)
    assert view.steps.decimals == 2 and len(view.steps) == 7


def test_without_ipywidgets_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # makes `import ipywidgets` fail
    with pytest.raises(ImportError, match=r"jacobian_nn\[notebooks\]"):
        step_through(tanh_trace())


def test_importing_the_package_imports_no_widgets():
    code = ("import sys, jacobian_nn; jacobian_nn.examples.tanh_worked_example().trace()"
            ".check('loss', '0.017'); print('ipywidgets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
