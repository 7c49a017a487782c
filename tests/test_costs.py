"""The cost of each bracketing (jnn.costs) and D^(0) by forward accumulation.

References: counts written out by hand for a 3-layer network, and counts of the multiply–adds
actually performed when each bracketing is carried out here with an instrumented product on
the numeric trace's local Jacobians (whose results must be the trace's gradients, so the
bracketing counted is the one computed); D^(0) against ``net.D_z`` and against numerical
differentiation of ``net.forward`` alone.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import jacobian_nn as jnn
from jacobian_nn.costs import input_jacobian_forward


def networks():
    rng = np.random.default_rng(5)
    r = rng.normal
    return [
        ("mlp", jnn.mlp([3, 4, 2]), r(size=3)),
        ("softmax head", jnn.Network([jnn.Linear(r(size=(4, 3))), jnn.Sigmoid(),
                                      jnn.Affine(r(size=(3, 4)), r(size=3)), jnn.Softmax()]),
         r(size=3)),
        ("element-wise first", jnn.Network([jnn.Swish(1.2), jnn.Linear(r(size=(2, 3))),
                                            jnn.LeakyReLU(0.1), jnn.Bias(r(size=2))]), r(size=3)),
        ("conv and pool", jnn.Network([jnn.Conv1D(r(size=3), padding="reflect"), jnn.Tanh(),
                                       jnn.MaxPool1D(2, 1), jnn.Linear(r(size=(2, 5)))]),
         r(size=6)),
        ("nested, concat, residual",
         jnn.Network([jnn.Concat(jnn.Linear(r(size=(2, 3))), jnn.Tanh()),
                      jnn.Residual(jnn.Network([jnn.Linear(r(size=(5, 5))), jnn.Tanh()])),
                      jnn.Network([jnn.Linear(r(size=(2, 5))), jnn.Identity()])]), r(size=3)),
    ]


@pytest.mark.parametrize(("name", "net", "x"), networks(), ids=[n for n, _, _ in networks()])
def test_forward_accumulation_is_the_input_jacobian(name, net, x):
    x_before = x.copy()
    F = input_jacobian_forward(net, x)
    assert_allclose(F, net.D_z(x), rtol=1e-12, atol=1e-14)
    assert_allclose(F, jnn.numerical_jacobian(net.forward, x), rtol=1e-7, atol=1e-9)
    assert np.array_equal(x, x_before)


def test_forward_accumulation_names_bad_input():
    net = jnn.mlp([3, 2, 1])
    with pytest.raises(ValueError, match=r"layer 1 .*R\^3"):
        input_jacobian_forward(net, np.ones(4))
    with pytest.raises(TypeError, match="Network"):
        input_jacobian_forward(jnn.Tanh(), np.ones(2))


def three_layers():
    """Linear 4 → 3, Tanh, Linear 3 → 2: h = (4, 3, 3, 2), d = (12, 0, 6)."""
    return jnn.Network([jnn.Linear(np.ones((3, 4))), jnn.Tanh(), jnn.Linear(np.ones((2, 3)))])


def test_three_layer_counts_by_hand():
    net = three_layers()
    J = jnn.costs(net, target="input_jacobian")
    # output: D^(1) = W_3 J_2 (2·3·3 = 18), D^(0) = D^(1) W_1 (2·3·4 = 24)
    assert J.row("output").multiply_adds == 42 and J.row("output").largest == 2 * 4
    # forward: F^(2) = J_2 W_1 (3·3·4 = 36), F^(3) = W_3 F^(2) (2·3·4 = 24)
    assert J.row("forward").multiply_adds == 60 and J.row("forward").largest == 3 * 4
    G = jnn.costs(net)
    # lecture: D^(1) (18), D^(1) B_1 (2·3·12 = 72), gᵀ(D^(1) B_1) (2·12), gᵀ B_3 (2·6)
    assert G.row("lecture").multiply_adds == 18 + 72 + 24 + 12
    assert G.row("lecture").largest == 2 * 12  # D_{W_1} f_W ∈ R^{2×12}
    # jacobian: D^(1) (18), gᵀ D^(1) (2·3), (gᵀ D^(1)) B_1 (3·12), gᵀ B_3 (2·6)
    assert G.row("jacobian").multiply_adds == 18 + 6 + 36 + 12
    # reverse: gᵀ B_3 (2·6), gᵀ W_3 (2·3), r J_2 (3·3), r B_1 (3·12)
    assert G.row("reverse").multiply_adds == 12 + 6 + 9 + 36 and G.row("reverse").largest == 12
    # forward: T_2 = J_2 B_1 (3·3·12), T_3 = [W_3 T_2 | B_3] (2·3·12), gᵀ T_3 (2·18)
    assert G.row("forward").multiply_adds == 108 + 72 + 36 and G.row("forward").largest == 36
    assert G.cheapest == "reverse" and [r.order for r in G.rows][-1] == "forward"
    S = jnn.costs(net, target="input_jacobian", structured=True)
    # diag(φ') counts 2·3 after D^(1)'s W_3 and 3·4 before F^(2)'s W_1
    assert S.row("output").multiply_adds == 6 + 24 and S.row("forward").multiply_adds == 12 + 24


class Counter:
    """Dense products carried out entry by entry, counting every multiply–add performed and
    the size of every matrix held; a factor flagged diagonal is read on its diagonal only."""

    def __init__(self):
        self.count, self.largest = 0, 0

    def hold(self, M):
        self.largest = max(self.largest, np.asarray(M).size)
        return M

    def mm(self, A, B, diag_A=False, diag_B=False):
        A, B = np.atleast_2d(A), np.atleast_2d(B)
        out = np.zeros((A.shape[0], B.shape[1]))
        for i in range(A.shape[0]):
            for c in range(B.shape[1]):
                for t in range(A.shape[1]):
                    if (diag_A and t != i) or (diag_B and t != c):
                        continue
                    out[i, c] += A[i, t] * B[t, c]
                    self.count += 1
        return self.hold(out)


def diagonal_flags(net, structured):
    dz = [structured and isinstance(L, jnn.Elementwise | jnn.Bias) for L in net.layers]
    dw = [structured and isinstance(L, jnn.Bias) for L in net.layers]
    return [False, *dz], [False, *dw]


def carried_out(order, tr, structured):
    """Carry out one bracketing of the gradients; return (gradients, counter)."""
    net, m, cnt = tr.network, tr.m, Counter()
    J = [None] + [tr.local_D_z(j) for j in range(1, m + 1)]
    B = [None] + [tr.local_D_W(j) for j in range(1, m + 1)]
    dz, dw = diagonal_flags(net, structured)
    g = tr.grad_yhat[None, :]
    params = [j for j in range(1, m + 1) if B[j].shape[1]]
    grads = {}
    if order in ("lecture", "jacobian"):
        D = {m - 1: cnt.hold(J[m])} if m > 1 else {}
        for j in range(m - 2, params[0] - 1, -1):
            D[j] = cnt.mm(D[j + 1], J[j + 1], diag_B=dz[j + 1])
        for j in params:
            if order == "lecture":
                DW = B[j] if j == m else cnt.mm(D[j], B[j], diag_B=dw[j])
                grads[j] = cnt.mm(g, DW)
            else:
                row = g if j == m else cnt.mm(g, D[j])
                grads[j] = cnt.mm(row, B[j], diag_B=dw[j])
    elif order == "reverse":
        r = g
        for j in range(m, params[0] - 1, -1):
            if B[j].shape[1]:
                grads[j] = cnt.mm(r, B[j], diag_B=dw[j])
            if j > params[0]:
                r = cnt.mm(r, J[j], diag_B=dz[j])
    else:  # forward: T_j = [J_j T_{j-1} | B_j]
        T = cnt.hold(B[1])
        for j in range(2, m + 1):
            carried = cnt.mm(J[j], T, diag_A=dz[j]) if T.shape[1] else np.zeros((J[j].shape[0], 0))
            T = cnt.hold(np.hstack([carried, B[j]]))
        flat = cnt.mm(g, T)[0]
        cuts = np.cumsum([B[j].shape[1] for j in range(1, m + 1)])
        grads = {j: part for j, part in enumerate(np.split(flat, cuts[:-1]), 1) if part.size}
    return grads, cnt


COUNTED = [
    ("affine tanh", lambda r: jnn.Network([jnn.Affine(r(size=(4, 3)), r(size=4)), jnn.Tanh(),
                                           jnn.Affine(r(size=(2, 4)), r(size=2))]), 3),
    ("softmax head, no params at the end",
     lambda r: jnn.Network([jnn.Tanh(), jnn.Linear(r(size=(3, 2))), jnn.Sigmoid(),
                            jnn.Linear(r(size=(3, 3))), jnn.Softmax()]), 2),
    ("first params in layer 2", lambda r: jnn.Network([jnn.ReLU(), jnn.Linear(r(size=(2, 3))),
                                                       jnn.Bias(r(size=2)), jnn.Swish()]), 3),
]


@pytest.mark.parametrize("structured", [False, True])
@pytest.mark.parametrize(("name", "build", "k"), COUNTED, ids=[c[0] for c in COUNTED])
def test_counts_are_the_multiply_adds_performed(name, build, k, structured):
    rng = np.random.default_rng(2)
    net = build(rng.normal)
    x = rng.uniform(0.1, 1.0, k)  # ReLU's kink stays away
    tr = net.backprop(x, rng.normal(size=net(x).shape[0]), jnn.HalfSquaredError())
    table = jnn.costs(net, k=k, structured=structured)
    for order in ("lecture", "jacobian", "reverse", "forward"):
        grads, cnt = carried_out(order, tr, structured)
        for j, grad in grads.items():  # the bracketing counted computes the right numbers
            assert_allclose(np.ravel(grad), tr.grad(j).ravel(), rtol=1e-12, atol=1e-14)
        assert table.row(order).multiply_adds == cnt.count, order
        assert table.row(order).largest == cnt.largest, order
    three = jnn.costs(net, n=3, k=k, structured=structured)
    assert [r.multiply_adds for r in three.rows] == [3 * r.multiply_adds for r in table.rows]


@pytest.mark.parametrize("structured", [False, True])
def test_input_jacobian_counts_are_the_multiply_adds_performed(structured):
    rng = np.random.default_rng(4)
    net = jnn.Network([jnn.Linear(rng.normal(size=(4, 3))), jnn.Tanh(),
                       jnn.Bias(rng.normal(size=4)), jnn.Linear(rng.normal(size=(2, 4))),
                       jnn.Softmax()])
    x = rng.normal(size=3)
    tr = net.backprop(x, [0.5, 0.5], jnn.CrossEntropy())
    m, (dz, _) = tr.m, diagonal_flags(net, structured)
    out = Counter()
    D = out.hold(tr.local_D_z(m))
    for j in range(m - 1, 0, -1):
        D = out.mm(D, tr.local_D_z(j), diag_B=dz[j])
    fwd = Counter()
    F = fwd.hold(tr.local_D_z(1))
    for j in range(2, m + 1):
        F = fwd.mm(tr.local_D_z(j), F, diag_A=dz[j])
    assert_allclose(D, tr.D(0), rtol=1e-12, atol=1e-15)
    assert_allclose(F, tr.D(0), rtol=1e-12, atol=1e-15)
    table = jnn.costs(net, target="input_jacobian", structured=structured)
    assert (table.row("output").multiply_adds, table.row("output").largest) == \
        (out.count, out.largest)
    assert (table.row("forward").multiply_adds, table.row("forward").largest) == \
        (fwd.count, fwd.largest)


def test_wide_favours_the_output_side_and_tall_the_input_side():
    wide = jnn.mlp([64, 16, 1], seed=0)  # k ≫ h_m
    tall = jnn.mlp([1, 16, 64], seed=0)  # h_m ≫ k
    assert jnn.costs(wide, target="input_jacobian").cheapest == "output"
    assert jnn.costs(tall, target="input_jacobian").cheapest == "forward"
    assert jnn.costs(tall).cheapest == "reverse"
    wide_grad = jnn.costs(wide)  # h_m = 1: every D^(j) already is a row, so they tie
    assert wide_grad.row("jacobian").multiply_adds == wide_grad.row("reverse").multiply_adds
    assert wide_grad.row("reverse").multiply_adds < wide_grad.row("forward").multiply_adds


def test_table_prints_and_exports_its_rows():
    table = jnn.costs(three_layers(), n=2)
    text = repr(table)
    assert text.startswith("Cost of ∇_{W_j} L for every j, n = 2: widths h_0…h_m = [4, 3, 3, 2]")
    assert "reverse" in text and "252" in text  # lecture: 2 · 126
    rows = table.as_dicts()
    assert rows[0] == {"order": "reverse", "bracketing": table.rows[0].bracketing,
                       "multiply_adds": 2 * 63, "largest": 2 * 12,
                       "formula": "Σ_j h_j·h_{j−1} + Σ_j h_j·d_j"}
    md = table._repr_markdown_()
    assert "| order | bracketing | multiply–adds | largest (floats) | formula |" in md
    assert md.count("\n| ") == 6  # header, rule and four rows
    with pytest.raises(KeyError, match="no bracketing 'output'"):
        table.row("output")


@pytest.mark.parametrize(("args", "kwargs", "error", "match"), [
    ((jnn.Tanh(),), {}, TypeError, "Network"),
    ((None,), {"target": "hessian"}, ValueError, "target"),
    ((None,), {"n": 0}, ValueError, "positive integer"),
    ((None,), {"n": True}, ValueError, "positive integer"),
    ((jnn.Network([jnn.Tanh()]),), {"k": 2}, ValueError, "no parameters"),
    ((jnn.Network([jnn.Tanh(), jnn.Linear(np.ones((1, 2)))]),), {}, ValueError, "pass k"),
])
def test_bad_input_gets_a_clear_error(args, kwargs, error, match):
    net = args[0] if args[0] is not None else three_layers()
    with pytest.raises(error, match=match):
        jnn.costs(net, **kwargs)
