"""Symbolic backpropagation (jnn.symbolic) against independent references.

References: the numeric trace ``Network.backprop`` (itself tested against numerical
differentiation in the core tests) for every layer type and loss; sympy's own ``diff`` of
forward formulas written out here; and a small ReLU network computed by hand below.
"""

import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from numpy.testing import assert_allclose

import jacobian_nn as jnn

sym = jnn.symbolic
QUANTITIES_J0 = ("z", "D", "dL_dz")
QUANTITIES_J1 = ("local_D_z", "local_D_W", "D_W", "grad")


def probabilities(rng, h):
    p = rng.uniform(0.2, 1.0, h)
    return p / p.sum()


# Each builder: (network, x, y, loss) with small random weights, one per group of layer types.
def tanh_affine_half_squared(rng):
    net = jnn.Network([jnn.Affine(rng.normal(size=(3, 2)), rng.normal(size=3)), jnn.Tanh(),
                       jnn.Linear(rng.normal(size=(2, 3)))])
    return net, rng.normal(size=2), rng.normal(size=2), jnn.HalfSquaredError()


def softmax_layer_cross_entropy(rng):
    net = jnn.Network([jnn.Linear(rng.normal(size=(3, 2))), jnn.Bias(rng.normal(size=3)),
                       jnn.Sigmoid(), jnn.Affine(rng.normal(size=(3, 3)), rng.normal(size=3)),
                       jnn.Softmax()])
    return net, rng.normal(size=2), probabilities(rng, 3), jnn.CrossEntropy()


def leaky_swish_squared(rng):
    net = jnn.Network([jnn.Affine(rng.normal(size=(3, 2)), rng.normal(size=3)),
                       jnn.LeakyReLU(0.1), jnn.Swish(1.3), jnn.Linear(rng.normal(size=(2, 3)))])
    return net, rng.normal(size=2), rng.normal(size=2), jnn.SquaredError()


def relu_identity_binary_cross_entropy(rng):
    net = jnn.Network([jnn.Affine(rng.normal(size=(3, 2)), rng.normal(size=3)), jnn.ReLU(),
                       jnn.Identity(), jnn.Affine(rng.normal(size=(2, 3)), rng.normal(size=2)),
                       jnn.Sigmoid()])
    return net, rng.normal(size=2), rng.uniform(0, 1, 2), jnn.BinaryCrossEntropy()


def concat_residual_nested_softmax_cross_entropy(rng):
    inner = jnn.Network([jnn.Linear(rng.normal(size=(2, 2))), jnn.Tanh()])
    net = jnn.Network([jnn.Concat(jnn.Linear(rng.normal(size=(2, 2))), jnn.Sigmoid()),
                       jnn.Residual(jnn.Network([jnn.Linear(rng.normal(size=(4, 4)) / 2),
                                                 jnn.Tanh()])),
                       jnn.Linear(rng.normal(size=(2, 4))), inner])
    return net, rng.normal(size=2), np.array([0.0, 1.0]), jnn.SoftmaxCrossEntropy()


def custom_layer_with_symbolic_form(rng):
    scale = jnn.custom_layer(lambda z, a: a * np.sin(z), lambda z, a: np.diag(a * np.cos(z)),
                             lambda z, a: np.diag(np.sin(z)), params=rng.normal(size=2),
                             name="a ⊙ sin z",
                             symbolic=lambda z, a: [a[i] * sp.sin(z[i]) for i in range(2)])
    net = jnn.Network([jnn.Linear(rng.normal(size=(2, 2))), scale,
                       jnn.Linear(rng.normal(size=(1, 2)))])
    return net, rng.normal(size=2), rng.normal(size=1), jnn.HalfSquaredError()


SYMBOLIC_BUILDERS = [tanh_affine_half_squared, softmax_layer_cross_entropy, leaky_swish_squared,
                     relu_identity_binary_cross_entropy,
                     concat_residual_nested_softmax_cross_entropy,
                     custom_layer_with_symbolic_form]


def conv_pool_softmax_cross_entropy(rng):
    net = jnn.Network([jnn.Conv1D(rng.normal(size=3), padding="zeros"),
                       jnn.Conv1D(rng.normal(size=2), padding="circular"),
                       jnn.Conv1D(rng.normal(size=3), padding="reflect"),
                       jnn.MaxPool1D(2, stride=1), jnn.Tanh(), jnn.Linear(rng.normal(size=(2, 4)))])
    return net, rng.normal(size=5), np.array([1.0, 0.0]), jnn.SoftmaxCrossEntropy()


def assert_same_trace(nt, tr):
    """Every quantity of the numbers-in symbolic trace equals the numeric trace's."""
    m = tr.m
    for name in QUANTITIES_J0:
        for j in range(m + 1):
            assert_allclose(getattr(nt, name)(j), getattr(tr, name)(j), rtol=1e-12, atol=1e-12,
                            err_msg=f"{name}({j})")
    for name in QUANTITIES_J1:
        for j in range(1, m + 1):
            assert_allclose(getattr(nt, name)(j), getattr(tr, name)(j), rtol=1e-12, atol=1e-12,
                            err_msg=f"{name}({j})")
    assert_allclose(nt.grad_yhat, tr.grad_yhat, rtol=1e-12, atol=1e-12)
    assert nt.loss == pytest.approx(tr.loss, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("build", SYMBOLIC_BUILDERS, ids=lambda b: b.__name__)
def test_symbols_substituted_give_the_numeric_trace(build):
    net, x, y, loss = build(np.random.default_rng(7))
    st = sym.backprop(net, "symbols", "symbols", loss, weights="symbols")
    values = {f"x[{a}]": v for a, v in enumerate(x)} | {f"y[{a}]": v for a, v in enumerate(y)}
    assert_same_trace(st.numeric(values), net.backprop(x, y, loss))


@pytest.mark.parametrize("build", [*SYMBOLIC_BUILDERS, conv_pool_softmax_cross_entropy],
                         ids=lambda b: b.__name__)
def test_exact_values_give_the_numeric_trace(build):
    net, x, y, loss = build(np.random.default_rng(11))
    x_before = x.copy()
    st = sym.backprop(net, x, y, loss, weights="values")
    assert not st.free_symbols
    assert_same_trace(st.numeric(), net.backprop(x, y, loss))
    assert np.array_equal(x, x_before)  # the user's array is not modified


def test_symbol_names_follow_the_layer_paths():
    net, x, y, loss = concat_residual_nested_softmax_cross_entropy(np.random.default_rng(0))
    st = sym.backprop(net, x, y, loss)
    names = {str(s) for s in st.weight_values}
    assert {"W_1.a[0,0]", "W_2.1[3,3]", "W_3[1,3]", "W_4.1[0,1]"} <= names
    assert len(names) == net.n_params
    affine = jnn.Network([jnn.Affine([[1.0, 2.0]], [3.0])])
    st = sym.backprop(affine, [1, 1], [0], jnn.SquaredError())
    assert [str(s) for s in st.params(1)] == ["W_1[0,0]", "W_1[0,1]", "b_1[0]"]
    assert {str(s): v for s, v in st.weight_values.items()}["b_1[0]"] == 3.0
    assert sp.latex(st.params(1)[0, 1]) == "(W_{1})_{0,1}"
    assert sp.latex(sym.vector("x", 1)[0]) == "x_{0}"


# -- closed forms against sympy's own diff ---------------------------------------------------------
z0 = sp.Symbol("t", real=True)
ELEMENTWISE_FORWARD = [  # φ written here, independently of the package, with a point off the kink
    (jnn.Identity(), z0),
    (jnn.Tanh(), sp.tanh(z0)),
    (jnn.Sigmoid(), 1 / (1 + sp.exp(-z0))),
    (jnn.Swish(1.5), z0 / (1 + sp.exp(-sp.Rational(3, 2) * z0))),
]


@pytest.mark.parametrize(("layer", "phi"), ELEMENTWISE_FORWARD, ids=lambda v: repr(v))
def test_elementwise_local_jacobian_is_diag_of_phi_prime(layer, phi):
    x = sym.vector("x", 3)
    st = sym.backprop(jnn.Network([layer]), x, [0, 0, 0], jnn.HalfSquaredError())
    J = st.local_D_z(1)
    for a in range(3):
        at = {z0: x[a]}
        assert sp.simplify((st.z(1)[a] - phi.xreplace(at)).rewrite(sp.exp)) == 0
        assert sp.simplify((J[a, a] - sp.diff(phi, z0).xreplace(at)).rewrite(sp.exp)) == 0
        assert all(J[a, b] == 0 for b in range(3) if b != a)
    assert not J.atoms(sp.Derivative)  # a closed form, not a nested derivative


def test_lecturer_forms_of_tanh_and_sigmoid():
    x = sym.vector("x", 1)
    tanh = sym.backprop(jnn.Network([jnn.Tanh()]), x, [0], jnn.SquaredError()).local_D_z(1)
    assert tanh[0, 0] == 1 - sp.tanh(x[0]) ** 2
    sig = sym.backprop(jnn.Network([jnn.Sigmoid()]), x, [0], jnn.SquaredError())
    s = sig.z(1)[0]
    assert sig.local_D_z(1)[0, 0] == s * (1 - s)
    assert r"\sigma\left(x_{0}\right)" in sig.latex("local_D_z(1)")


@pytest.mark.parametrize(("layer", "phi"), [(jnn.ReLU(), sp.Max(0, z0)),
                                            (jnn.LeakyReLU(0.25),
                                             sp.Piecewise((z0, z0 >= 0), (z0 / 4, True)))],
                         ids=["ReLU", "LeakyReLU"])
def test_kinked_local_jacobian_is_phi_prime_with_one_at_zero(layer, phi):
    x = sym.vector("x", 2)
    st = sym.backprop(jnn.Network([layer]), x, [0, 0], jnn.HalfSquaredError())
    dphi = sp.diff(phi, z0)  # sympy's derivative, undefined at the kink itself
    for v in [sp.Rational(-3, 2), sp.Rational(-1, 7), sp.Rational(2, 9), sp.Integer(5)]:
        at = {x[0]: v, x[1]: -v}
        J = st.local_D_z(1).xreplace(at)
        assert J[0, 0] == dphi.xreplace({z0: v}) and J[1, 1] == dphi.xreplace({z0: -v})
        assert J[0, 1] == J[1, 0] == 0
        assert st.z(1).xreplace(at)[0] == phi.xreplace({z0: v})
    assert st.local_D_z(1).xreplace({x[0]: 0, x[1]: 0}) == sp.eye(2)  # φ'(0) = 1


def test_softmax_jacobian_is_diag_s_minus_s_s_transposed():
    x = sym.vector("x", 3)
    st = sym.backprop(jnn.Network([jnn.Softmax()]), x, [0, 0, 1], jnn.CrossEntropy())
    e = [sp.exp(v) for v in x]
    s = sp.Matrix([v / sum(e) for v in e])
    assert sp.simplify(st.z(1) - s) == sp.zeros(3, 1)
    assert sp.simplify(st.local_D_z(1) - s.jacobian(x)) == sp.zeros(3, 3)


LOSSES = [jnn.SquaredError(), jnn.HalfSquaredError(), jnn.CrossEntropy(),
          jnn.SoftmaxCrossEntropy(), jnn.BinaryCrossEntropy()]


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_loss_gradient_is_the_derivative_of_the_loss(loss):
    yhat = sp.Matrix(sp.symbols("p0 p1", positive=True))
    y = sp.Matrix([sp.Rational(1, 3), sp.Rational(2, 3)])
    st = sym.backprop(jnn.Network([jnn.Identity()]), yhat, y, loss)
    assert sp.simplify(st.grad_yhat - sp.Matrix([st.loss]).jacobian(yhat).T) == sp.zeros(2, 1)


def test_custom_layer_jacobians_are_sympys_derivatives_of_its_form():
    rng = np.random.default_rng(3)
    net, x, y, loss = custom_layer_with_symbolic_form(rng)
    st = sym.backprop(net, "symbols", y, loss)
    z1, a = st.z(1), st.params(2)
    assert st.local_D_z(2) == sp.diag(a[0] * sp.cos(z1[0]), a[1] * sp.cos(z1[1]))
    assert st.local_D_W(2) == sp.diag(sp.sin(z1[0]), sp.sin(z1[1]))


# -- exactness -------------------------------------------------------------------------------------
def test_rational_linear_relu_network_stays_exact():
    net = jnn.Network([jnn.Affine([[0.5, -1.25, 2.0], [3.0, 0.75, -0.5]], [0.25, -1.0]),
                       jnn.ReLU(), jnn.Linear([[1.5, -2.0], [0.5, 1.0], [-1.0, 0.25]]),
                       jnn.LeakyReLU(0.125), jnn.Bias([0.5, -0.5, 1.0]),
                       jnn.Conv1D([1.0, -0.5], padding="reflect"), jnn.MaxPool1D(2, 1),
                       jnn.Identity(), jnn.Linear([[2.0, -1.0]])])
    x = [Fraction(1, 3), 2, sp.Rational(-3, 7)]
    st = sym.backprop(net, x, [Fraction(1, 2)], jnn.HalfSquaredError(), weights="values")
    report = st.exactness()
    assert report and report.passed and not report.transcendental
    for j in range(1, net.m + 1):
        assert all(e.is_Rational for e in st.grad(j)) and st.is_exact(f"grad({j})")
    assert st.loss.is_Rational and st.z(0)[0] == sp.Rational(1, 3)
    xf = np.array([1 / 3, 2.0, -3 / 7])
    assert_same_trace(st.numeric(), net.backprop(xf, [0.5], jnn.HalfSquaredError()))


def test_tanh_entries_are_reported_transcendental():
    ex = jnn.examples.tanh_worked_example()
    st = sym.backprop(ex.network, [1, Fraction(1, 10)], [Fraction(1, 2)], ex.loss,
                      weights="values")
    assert st.z(1) == sp.Matrix([sp.Rational(7, 10), sp.Rational(3, 10)])  # 1 − 3/10, 1/5 + 1/10
    assert st.z(2) == sp.Matrix([sp.tanh(sp.Rational(7, 10)), sp.tanh(sp.Rational(3, 10))])
    report = st.exactness()
    assert not report and "z(1)" in report.exact and "local_D_z(1)" in report.exact
    assert {"z(2)", "loss", "grad(1)", "grad(3)"} <= set(report.transcendental)
    assert list(st.kinds("local_D_z(2)").ravel()) == ["transcendental", "exact", "exact",
                                                      "transcendental"]
    assert st.kinds("grad(1)").shape == (2, 2)
    assert sym.backprop(ex.network, "symbols", [0], ex.loss).kinds("z(1)")[0, 0] == "symbolic"


# -- the hand-computed example ------------------------------------------------------------------- -
def test_two_two_one_relu_network_by_hand():
    """W_1 = [[1, 2], [−3, 1]], ReLU, W_3 = [2, −1], x = (1, 1/2), y = 3, L = ½(ŷ − y)².

    z1 = (1 + 1, −3 + 1/2) = (2, −5/2); z2 = (2, 0); ŷ = 4; L = 1/2; ∇_ŷL = 1;
    D(2) = [2, −1], D(1) = D(2) diag(1, 0) = [2, 0], D(0) = [2, 0] W_1 = [2, 4];
    ∇_{W_3}L = 1 · z2ᵀ = [2, 0]; ∇_{W_1}L = (1 · D(1))ᵀ xᵀ = [[2, 1], [0, 0]].
    """
    net = jnn.Network([jnn.Linear([[1, 2], [-3, 1]]), jnn.ReLU(), jnn.Linear([[2, -1]])])
    st = sym.backprop(net, [1, Fraction(1, 2)], [3], jnn.HalfSquaredError(), weights="values")
    R = sp.Rational
    assert st.z(1) == sp.Matrix([2, R(-5, 2)]) and st.z(2) == sp.Matrix([2, 0])
    assert st.yhat == sp.Matrix([4]) and st.loss == R(1, 2) and st.grad_yhat == sp.Matrix([1])
    assert st.local_D_z(2) == sp.diag(1, 0)
    assert st.D(2) == sp.Matrix([[2, -1]]) and st.D(1) == sp.Matrix([[2, 0]])
    assert st.D(0) == sp.Matrix([[2, 4]]) and st.dL_dz(0) == sp.Matrix([[2, 4]])
    assert st.grad(3) == sp.Matrix([[2, 0]]) and st.grad(1) == sp.Matrix([[2, 1], [0, 0]])
    assert st.grad(2).shape == (0, 1)


def test_two_two_one_tanh_gradients_in_symbols_match_the_lecture_formulas():
    """∇_{W_3}L = (ŷ − y) z^(2)ᵀ and ∇_{W_1}L = diag(1 − tanh² z^(1)) W_3ᵀ (ŷ − y) xᵀ."""
    ex = jnn.examples.tanh_worked_example()
    st = sym.backprop(ex.network, "symbols", "symbols", ex.loss)
    x, y, W1, W3 = st.z(0), st.y, st.params(1), st.params(3)
    z1 = W1 * x
    z2 = z1.applyfunc(sp.tanh)
    r = (W3 * z2)[0] - y[0]
    assert sp.simplify(st.grad(3) - r * z2.T) == sp.zeros(1, 2)
    delta = sp.diag(*[1 - sp.tanh(v) ** 2 for v in z1]) * W3.T * r
    assert sp.simplify(st.grad(1) - delta * x.T) == sp.zeros(2, 2)


# -- MaxPool1D, custom layers, bad input -----------------------------------------------------------
def test_maxpool_picks_a_decidable_max_and_refuses_an_undecidable_one():
    s = sp.Symbol("s", real=True)
    st = sym.backprop(jnn.Network([jnn.MaxPool1D(2)]), [s, s + 1], [0], jnn.SquaredError())
    assert st.z(1) == sp.Matrix([s + 1]) and st.local_D_z(1) == sp.Matrix([[0, 1]])
    tie = sym.backprop(jnn.Network([jnn.MaxPool1D(2)]), [s, s], [0], jnn.SquaredError())
    assert tie.local_D_z(1) == sp.Matrix([[1, 0]])  # the first maximum wins, as numpy's argmax
    with pytest.raises(ValueError, match=r"layer 1 \(MaxPool1D.*depends on the symbols"):
        sym.backprop(jnn.Network([jnn.MaxPool1D(2)]), sym.vector("x", 2), [0], jnn.SquaredError())


def test_layers_without_a_symbolic_form_are_refused():
    plain = jnn.custom_layer(lambda z, W: z, lambda z, W: np.eye(len(z)), name="mine")

    class Exp(jnn.Elementwise):
        def phi(self, z):
            return np.exp(z)

        def dphi(self, z, fz):
            return fz

    for layer in (plain, Exp()):
        with pytest.raises(TypeError, match=r"layer 2 \(.*\) has no symbolic form.*symbolic="):
            sym.backprop(jnn.Network([jnn.Linear([[1.0]]), layer]), [1], [0], jnn.SquaredError())

    class ExpWithForm(Exp):
        def symbolic(self, z, W):
            return [sp.exp(v) for v in z]

    st = sym.backprop(jnn.Network([ExpWithForm()]), [0], [0], jnn.SquaredError())
    assert st.z(1) == sp.Matrix([1]) and st.local_D_z(1) == sp.Matrix([[1]])


@pytest.mark.parametrize(("args", "error", "match"), [
    ((jnn.Linear([[1.0]]), [1], [0], jnn.SquaredError()), TypeError, "Network"),
    ((None, [1], [0], "half"), TypeError, "loss"),
    ((None, [1, 2, 3], [0], jnn.SquaredError()), ValueError, "2 entries, got 3"),
    ((None, "x", [0], jnn.SquaredError()), TypeError, "number"),
    ((None, [True, 1], [0], jnn.SquaredError()), TypeError, "boolean"),
    ((None, [float("nan"), 1], [0], jnn.SquaredError()), ValueError, "finite"),
    ((None, [[1, 2]], [0], jnn.SquaredError()), ValueError, "flat vector"),
    ((None, [1, 2], [0, 1], jnn.SquaredError()), ValueError, "1 entries, got 2"),
    ((None, [1, 2], [-1], jnn.CrossEntropy()), ValueError, "y_k ≥ 0"),
    ((None, [1, 2], [1], jnn.SoftmaxCrossEntropy()), ValueError, "one score"),
    ((None, [1, 2], [2], jnn.BinaryCrossEntropy()), ValueError, r"\[0, 1\]"),
])
def test_bad_input_gets_a_clear_error(args, error, match):
    net = jnn.Network([jnn.Linear([[1.0, 2.0]])])
    first, *rest = args
    with pytest.raises(error, match=match):
        sym.backprop(net if first is None else first, *rest)
    with pytest.raises(ValueError, match="weights"):
        sym.backprop(net, [1, 2], [0], jnn.SquaredError(), weights="floats")


# -- display and numbers ---------------------------------------------------------------------------
def test_latex_names_each_quantity_as_the_lecture_does():
    ex = jnn.examples.tanh_worked_example()
    st = sym.backprop(ex.network, "symbols", "symbols", ex.loss)
    D1 = st.latex("D(1)")
    assert D1.startswith(r"D^{(1)} = \begin{bmatrix}") and r"(W_{3})_{0,0}" in D1
    assert r"\tanh" in D1 and D1._repr_latex_() == f"$${D1}$$"
    assert st.latex("grad(1)").startswith(r"\nabla_{W_{1}} L = ")
    assert st.latex("loss").startswith(r"L(\hat y, y) = ")
    assert st.latex("local_D_W(2)").endswith(r"\text{(empty: no parameters)}")
    full = st._repr_latex_()
    assert full.startswith("$$\\begin{aligned}") and r"D_z f_{W_{2}}(z^{(1)})" in full
    assert "D^(0) = Matrix(" in str(st) and "weights as symbols" in repr(st)
    from IPython.core.formatters import DisplayFormatter

    assert DisplayFormatter().format(st)[0]["text/plain"] == str(st)  # not the short repr
    with pytest.raises(ValueError, match="quantity"):
        st.latex("D1")
    with pytest.raises(IndexError, match=r"0\.\.3"):
        st.D(4)


def test_substitute_and_numeric_take_symbols_by_name():
    ex = jnn.examples.tanh_worked_example()
    st = sym.backprop(ex.network, "symbols", "symbols", ex.loss)
    partial = st.substitute({"x[0]": 1, "x[1]": Fraction(1, 10)})
    assert {str(s) for s in partial.free_symbols} >= {"y[0]", "W_1[0,0]"}
    assert "x[0]" not in {str(s) for s in partial.free_symbols}
    assert partial.z(1)[0] == partial.params(1)[0, 0] + partial.params(1)[0, 1] / 10
    with pytest.raises(ValueError, match="missing: y"):
        partial.numeric()
    nt = partial.numeric({"y[0]": 0.5})
    assert nt.loss == pytest.approx(ex.trace().loss, rel=1e-14)
    moved = partial.numeric({"y[0]": 0.5, "W_3[0,0]": 2.0})  # a weight set by hand
    assert moved.z(3)[0] == pytest.approx(2 * np.tanh(0.7) - np.tanh(0.3), rel=1e-14)
    with pytest.raises(KeyError, match="not a symbol"):
        st.substitute({"z[0]": 1})


def test_import_jacobian_nn_does_not_import_sympy():
    code = ("import sys, jacobian_nn as jnn\n"
            "print('sympy' in sys.modules)\n"
            "jnn.symbolic.backprop\n"
            "print('sympy' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_readme_shows_what_its_derivations_example_prints(capsys):
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Derivations"):readme.index("## Beyond the chain")]
    code = re.search(r"```python\n(.*?)```", section, re.S)[1]
    shown = re.search(r"```text\n(.*?)```", section, re.S)[1]
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out == shown
