"""Small networks, an error matcher and a loss that plays Ctrl-C, shared by several test files."""

import re

import numpy as np
import pytest

import jacobian_nn as jnn

W13 = np.array([[1.0, -2.0, 0.5]])


def small_net() -> jnn.Network:
    """x ∈ R^2 → Linear(W ∈ R^{3×2}) → Tanh → Linear(W ∈ R^{1×3})."""
    return jnn.Network([jnn.Linear(np.arange(6.0).reshape(3, 2) / 6), jnn.Tanh(),
                        jnn.Linear(W13)])


def raises(exc, *fragments):
    """pytest.raises whose message must contain every fragment, literally."""
    return pytest.raises(exc, match="(?s)" + ".*".join(re.escape(f) for f in fragments))


class InterruptingLoss(jnn.HalfSquaredError):
    """Raises KeyboardInterrupt (what Ctrl-C does) on its call number ``at`` (0-based) of its
    batch gradients."""

    def __init__(self, at):
        self.at, self.calls = at, 0

    def grads(self, Yhat, Y):
        if self.calls == self.at:
            raise KeyboardInterrupt
        self.calls += 1
        return super().grads(Yhat, Y)
