"""Small networks and an error matcher that several test files share."""

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
