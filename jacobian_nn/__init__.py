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

See docs/conventions.md for how lectures 001–004's conventions map onto these.
"""

from . import curvature, datasets, examples, io, visualize
from .checks import JacobianReport, check_jacobians, numerical_jacobian
from .composition import Concat, Residual
from .conv import Conv1D, MaxPool1D
from .custom import custom_layer
from .display import Rendering, matrix_to_latex, matrix_to_text, show_matrix
from .io import load
from .layers import (
    Affine,
    Bias,
    Elementwise,
    Identity,
    Layer,
    LeakyReLU,
    Linear,
    ReLU,
    Sigmoid,
    Softmax,
    Swish,
    Tanh,
)
from .levenberg_marquardt import LevenbergMarquardt
from .losses import (
    BinaryCrossEntropy,
    CrossEntropy,
    HalfSquaredError,
    Loss,
    SoftmaxCrossEntropy,
    SquaredError,
)
from .network import Network, Trace, mlp
from .regularization import L1, L2, ElasticNet, Penalty
from .trainer import GradientDescent, History

__all__ = [
    "Affine", "Bias", "BinaryCrossEntropy", "Concat", "Conv1D", "CrossEntropy", "ElasticNet",
    "Elementwise", "GradientDescent", "HalfSquaredError", "History", "Identity",
    "JacobianReport", "L1", "L2", "Layer", "LeakyReLU", "Linear", "Loss", "MaxPool1D", "Network",
    "Penalty", "ReLU", "Rendering", "Residual", "Sigmoid", "Softmax", "SoftmaxCrossEntropy",
    "SquaredError", "Swish", "Tanh", "Trace", "check_jacobians", "custom_layer", "datasets",
    "examples", "io", "load", "matrix_to_latex", "matrix_to_text", "mlp", "numerical_jacobian",
    "show_matrix", "visualize",
    "LevenbergMarquardt", "curvature",  # second order (curvature.py, levenberg_marquardt.py)
]
__version__ = "0.1.0"
