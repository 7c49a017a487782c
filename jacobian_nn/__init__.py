"""jacobian_nn — backpropagation as an explicit product of Jacobians (lecture 000's notation).

Conventions (stated once; every docstring quotes the shape line it needs):

* Letters: a layer f_{W_j}: R^k → R^h has d parameters; a network has m layers; a batch has
  n examples. z^(0) = x, z^(j) = f_{W_j}(z^(j-1)), ŷ = z^(m).
* Numerator layout: D_z f(z) has shape (h, k) with entry [i, a] = ∂f_i/∂z_a, and D_W f(z) has
  shape (h, d) with entry [i, p] = ∂f_i/∂w_p.
* vec of W: w = W.ravel() in C (row-major) order, so for a linear layer D_W f(z) = I_h ⊗ zᵀ.
  ``D_W(z, as_tensor=True)`` shows the same numbers shaped (h, *W.shape) (lecture 004).
* A layer with W ∈ R^{h×k} computes W z. Gradients ∇_W L are shaped like W.
* One example is a 1-D array (a scalar output has shape (1,)); a batch stacks examples as
  rows, batch axis first: X ∈ R^{n×k}, Y ∈ R^{n×h}.
* float64 throughout; batch losses and gradients are means over the n examples.
* User arrays are never modified.

Where lecture 000's algorithm is, in its order (docs/architecture.md draws the picture):

* layers.py — each layer's f_{W_j}(z), D_z f and D_W f, a few lines apart (activations.py:
  the element-wise ones, D_z f = diag(φ'(z)));
* network.py — ``Network.chain``: the forward pass and the recursion D^(m) = I,
  D^(j) = D^(j+1) D_z f_{W_{j+1}}(z^(j)), D_{W_j} f_W(x) = D^(j) D_{W_j} f_{W_j}(z^(j-1)) for one
  example; ``Network.backprop`` adds ∇_{W_j}Lᵀ = ∇_ŷLᵀ D_{W_j} f_W(x) and returns a ``Trace``;
* batch.py — ``backward``: the same loop j = m … 1 for a whole batch, behind the "jacobian"
  and "reverse" modes and the per-example gradients and Jacobians ("lecture" mode runs
  ``Network.backprop`` per example);
* trainer.py — ``GradientDescent.update``: W_{t+1,j} = W_{t,j} − (α/n) Σ_i ∇_{W_j} L.

See docs/conventions.md for how lectures 001–004's conventions map onto these.
"""

import importlib

from . import (
    curvature,
    datasets,
    examples,
    exercises,
    handcheck,
    io,
    progress,
    stepthrough,
    visualize,
)
from .activations import Elementwise, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Swish, Tanh
from .architectures import mlp
from .checks import JacobianReport, check_jacobians, numerical_jacobian
from .composition import Concat, Residual
from .conv import Conv1D, MaxPool1D
from .costs import costs
from .custom import custom_layer
from .display import Rendering, matrix_to_latex, matrix_to_text, show_matrix
from .history import History
from .io import load
from .layers import Affine, Bias, Layer, Linear
from .levenberg_marquardt import LevenbergMarquardt
from .losses import (
    BinaryCrossEntropy,
    CrossEntropy,
    HalfSquaredError,
    Loss,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
    SquaredError,
)
from .network import Network
from .regularization import L1, L2, ElasticNet, Penalty
from .trace import Trace
from .trainer import GradientDescent
from .worked import WorkedExample

__all__ = [
    "Affine", "Bias", "BinaryCrossEntropy", "Concat", "Conv1D", "CrossEntropy", "ElasticNet",
    "Elementwise", "GradientDescent", "HalfSquaredError", "History", "Identity",
    "JacobianReport", "L1", "L2", "Layer", "LeakyReLU", "LevenbergMarquardt", "Linear", "Loss",
    "MaxPool1D", "Network", "Penalty", "ReLU", "Rendering", "Residual", "Sigmoid",
    "SigmoidBinaryCrossEntropy", "Softmax", "SoftmaxCrossEntropy", "SquaredError", "Swish",
    "Tanh", "Trace", "WorkedExample", "check_jacobians", "costs", "curvature", "custom_layer",
    "datasets", "examples", "exercises", "handcheck", "io", "load", "matrix_to_latex",
    "matrix_to_text", "mlp", "numerical_jacobian", "progress", "show_matrix", "stepthrough",
    "visualize",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    """``jnn.symbolic`` is imported on first use, so ``import jacobian_nn`` never loads sympy."""
    if name == "symbolic":
        try:
            symbolic = importlib.import_module(f"{__name__}.symbolic")
        except ModuleNotFoundError as err:
            if err.name != "sympy":
                raise
            raise ImportError("jnn.symbolic needs sympy, the optional extra [symbolic]: "
                              "pip install -e \".[symbolic]\" (make test installs it).") from err
        return symbolic
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
