"""ex.audit: exact, carried rounding or erratum, on numbers worked out here by hand.

Lecture 002's tanh example (x = (1, 0.1), y = 0.5, W0 = [[1, −3], [0.2, 1]], W1 = (1, −1)):
  z^(2) = (tanh 0.7, tanh 0.3) = (0.604368, 0.291313), ŷ = 0.313055, L = ½(ŷ − 0.5)² = 0.0174742.
Carrying 2 places: ŷ = 0.60 − 0.29 = 0.31, L = ½ · 0.19² = 0.01805, which prints as 0.018 —
not the exact 0.017, and not what carrying 3 (ŷ = 0.313, L = 0.0174845) or more places gives.
"""

import math

import pytest

import jacobian_nn as jnn
from jacobian_nn.audit import Audit


@pytest.fixture
def ex():
    return jnn.examples.tanh_worked_example()


def test_a_loss_from_two_carried_places_is_rounding_not_an_error(ex):
    assert 0.5 * (0.31 - 0.5) ** 2 == pytest.approx(0.01805)
    audit = ex.audit({"loss": "0.018"})
    assert audit == {"loss": ["carried_rounding"]}
    (entry,) = audit.entries
    assert [d for d, _ in entry.carried] == [2]
    assert entry.carried[0][1] == pytest.approx(0.01805, abs=1e-15)
    assert "carrying 2 places" in str(entry) and "rounding, not an error" in str(entry)
    assert ex.audit({"loss": "0.0175"}) == {"loss": ["exact"]}


def test_mistyped_numbers_are_errata(ex):
    # 0.605 and 0.0291 follow from nothing: tanh 0.7 = 0.60437, tanh 0.3 = 0.29131
    assert abs(math.tanh(0.7) - 0.605) > 5e-4 and abs(math.tanh(0.3) - 0.0291) > 5e-5
    audit = ex.audit({"z(2)": ["0.605", "0.0291"], "z(1)": ["0.7", "0.3"]})
    assert audit == {"z(2)": ["erratum", "erratum"], "z(1)": ["exact", "exact"]}
    assert not audit and len(audit.errata) == 2
    assert str(audit.errata[0]) == (
        "z(2)[0]: printed 0.605 — erratum: the exact value 0.6043678 is 0.604 to 3 places, and "
        "carrying 2 to 6 places does not give it either")
    assert "2 errata" in str(audit)


def test_the_layout_decides_how_a_gradient_is_read(ex):
    # ∇_{W_1} L = [[−0.11866, −0.011866], [0.17108, 0.017108]] (shaped like W); the slide's
    # block is its transpose
    slide_block = [["-0.1187", "0.1711"], ["-0.0119", "0.0171"]]
    assert ex.audit({"grad(1)": slide_block}, layout="slide") == {"grad(1)": ["exact"] * 4}
    lecture = ex.audit({"grad(1)": slide_block}, layout="lecture")
    assert lecture["grad(1)"] == ["exact", "erratum", "erratum", "exact"]


def test_minus_signs_and_dropped_unit_axes_are_accepted(ex):
    audit = ex.audit({"z(3)": "0.313", "dL_dz(3)": "\N{MINUS SIGN}0.1869",
                      "D(1)": ["0.6347", "-0.9151"]})
    assert audit == {"z(3)": ["exact"], "dL_dz(3)": ["exact"], "D(1)": ["exact", "exact"]}


def test_updated_weights_are_audited_as_w_new(ex):
    # W_3 − 0.2 ∇_{W_3} L = (1 + 0.2 · 0.18694 · 0.60437, −1 + 0.2 · 0.18694 · 0.29131)
    w = (1 + 0.2 * 0.1869448 * 0.6043678, -1 + 0.2 * 0.1869448 * 0.2913126)
    printed = [[f"{w[0]:.4f}", f"{w[1]:.4f}"]]
    assert ex.audit({"W_new(3)": printed}) == {"W_new(3)": ["exact", "exact"]}


def test_bad_printed_input_is_named(ex):
    with pytest.raises(ValueError, match=r"unknown quantity 'x\(1\)'"):
        ex.audit({"x(1)": ["1.0"]})
    with pytest.raises(ValueError, match=r"printed z\(2\) has shape \(3,\); the quantity has "
                                         r"shape \(2,\)"):
        ex.audit({"z(2)": ["0.6", "0.3", "0.1"]})
    with pytest.raises(ValueError, match="shaped like W_jᵀ"):
        ex.audit({"grad(1)": ["-0.1186", "0.171", "-0.01186", "0.0171"]}, layout="slide")
    with pytest.raises(ValueError, match="numbers written as strings"):
        ex.audit({"z(1)": [0.7, 0.3]})
    with pytest.raises(ValueError, match=r"j must be in 1\.\.3"):
        ex.audit({"grad(0)": ["1.0"]})
    with pytest.raises(ValueError, match="layout must be"):
        ex.audit({"loss": "0.017"}, layout="transposed")
    with pytest.raises(TypeError, match="printed must be a dict"):
        ex.audit([("loss", "0.017")])


def test_audit_is_a_dict_of_verdict_lists_with_a_table(ex):
    slide = jnn.examples.TANH_SLIDE
    audit = ex.audit(slide.printed, layout=slide.layout)
    assert isinstance(audit, Audit) and isinstance(audit, dict)
    assert list(audit) == list(slide.printed)
    table = audit.table(slide.symbols)
    assert "∂L/∂W0             grad(1)   [-0.1186, 0.171, -0.01186, 0.0171]" in table
    assert table.splitlines()[0].split() == ["slide", "ours", "prints", "exact,", "to", "the",
                                             "printed", "digits", "verdicts"]
    assert audit.table().splitlines()[1].split()[:2] == ["z(1)", "[0.7,"]
