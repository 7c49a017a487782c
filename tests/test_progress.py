"""The progress bar of long "lecture"-mode runs: tqdm's when installed and the run is long,
nothing otherwise, and never a change in the numbers."""

import sys
import types

import numpy as np
import pytest
from numpy.testing import assert_allclose

import jacobian_nn as jnn
from jacobian_nn import progress


class FakeTqdm:
    """Stands in for tqdm.auto.tqdm: records how it was made and how many items went through."""

    made: list = []

    def __init__(self, iterable, **kwargs):
        self.iterable, self.kwargs, self.seen = iterable, kwargs, 0
        FakeTqdm.made.append(self)

    def __iter__(self):
        for item in self.iterable:
            self.seen += 1
            yield item


@pytest.fixture
def fake_tqdm(monkeypatch):
    FakeTqdm.made = []
    module = types.ModuleType("tqdm.auto")
    module.tqdm = FakeTqdm
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", module)
    monkeypatch.setattr(progress, "SHOW", None)
    return FakeTqdm.made


def batch(n, seed=0):
    rng = np.random.default_rng(seed)
    net = jnn.Network([jnn.Linear(rng.normal(size=(2, 3))), jnn.Tanh(),
                       jnn.Linear(rng.normal(size=(1, 2)))])
    return net, rng.normal(size=(n, 3)), rng.normal(size=(n, 1))


def test_a_long_lecture_run_shows_a_bar_over_every_example_and_agrees_with_reverse_mode(
        fake_tqdm):
    assert progress.MIN_EXAMPLES == 1000 and progress.DELAY_SECONDS == 2.0  # as documented
    net, X, Y = batch(1000)
    value, grads = net.gradients(X, Y, jnn.HalfSquaredError(), mode="lecture")
    assert len(fake_tqdm) == 1
    bar = fake_tqdm[0]
    assert bar.seen == 1000
    assert bar.kwargs == {"total": 1000, "desc": "lecture mode, examples", "delay": 2.0,
                          "leave": False}
    reference = net.gradients(X, Y, jnn.HalfSquaredError(), mode="reverse")
    assert value == pytest.approx(reference[0], rel=1e-12)
    for g, r in zip(grads, reference[1], strict=True):
        assert_allclose(g, r, rtol=1e-12, atol=1e-15)


def test_a_short_run_and_the_other_modes_show_none(fake_tqdm):
    net, X, Y = batch(999)
    net.gradients(X, Y, jnn.HalfSquaredError(), mode="lecture")
    net, X, Y = batch(1000)
    for mode in ("jacobian", "reverse"):
        net.gradients(X, Y, jnn.HalfSquaredError(), mode=mode)
    assert fake_tqdm == []


def test_the_switch_forces_or_silences_the_bar(fake_tqdm, monkeypatch):
    monkeypatch.setattr(progress, "SHOW", True)
    net, X, Y = batch(5)
    jnn.GradientDescent(0.1, max_iters=3, mode="lecture").fit(net, X, Y, jnn.HalfSquaredError())
    assert len(fake_tqdm) >= 3 and all(bar.seen == 5 for bar in fake_tqdm)
    monkeypatch.setattr(progress, "SHOW", False)
    fake_tqdm.clear()
    net, X, Y = batch(1000)
    net.gradients(X, Y, jnn.HalfSquaredError(), mode="lecture")
    assert fake_tqdm == []


def test_without_tqdm_a_long_run_is_silent_and_the_same(monkeypatch, capsys):
    net, X, Y = batch(1000)
    expected = net.gradients(X, Y, jnn.HalfSquaredError(), mode="reverse")
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError):
        import tqdm.auto  # noqa: F401
    value, grads = net.gradients(X, Y, jnn.HalfSquaredError(), mode="lecture")
    assert value == pytest.approx(expected[0], rel=1e-12)
    for g, r in zip(grads, expected[1], strict=True):
        assert_allclose(g, r, rtol=1e-12, atol=1e-15)
    assert capsys.readouterr() == ("", "")


def test_the_real_bar_stays_hidden_for_a_quick_run(monkeypatch, capsys):
    import tqdm.auto  # the [notebooks] extra, which make test installs

    monkeypatch.setattr(progress, "SHOW", True)
    net, X, Y = batch(50)
    net.gradients(X, Y, jnn.HalfSquaredError(), mode="lecture")  # well under DELAY_SECONDS
    assert capsys.readouterr() == ("", "")
    bar = progress.examples(range(3), 3)
    assert isinstance(bar, tqdm.auto.tqdm)
    bar.close()
