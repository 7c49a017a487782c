"""Each layer's second derivatives (its *rule*) and the second-order chain through a network.

For one layer at one input z and output weights g ∈ R^h, a rule gives the blocks of
∇²_{(z, W)} (gᵀ f_W)(z) (``LayerCurvature``), registered per class in ``RULES``. Through the
chain f_W = f_m ∘ … ∘ f_1 the curvature term of the Hessian splits into one such term per
layer j, with gⱼ = ∇_{z^(j)}L = D^(j)ᵀ ∇_ŷL (lecture 002's row ∂L/∂x_j, as a column):

    Σ_a (∇_ŷL)_a ∇²_w f_a = Σ_j Qⱼᵀ ∇²_{(z, W_j)} (gⱼᵀ f_{W_j})(z^(j-1)) Qⱼ,

where Qⱼ = [D_w z^(j-1); E_j] stacks the Jacobian of the layer's input by all the weights
(the forward recursion P_j = D_z f_{W_j} P_{j-1} + D_{W_j} f_{W_j} E_j, P_0 = 0, P_m = J)
and the selector E_j of the layer's own weights: ``second_order_chain``. curvature.py builds
the Gauss–Newton matrix and the Hessian on it; hessian_trace.py one example's blocks. Every
name here is also reached as ``jacobian_nn.curvature.<name>``.

Piecewise-linear layers (ReLU, LeakyReLU, MaxPool1D) have second derivative zero wherever they
are differentiable, i.e. everywhere except on their kinks (z = 0, ties in a pooling window),
a set of measure zero where no second derivative exists; their rules return that zero.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from . import _kernels
from ._validate import as_real_array, fmt_shape
from .activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Swish, Tanh
from .composition import Composite, Concat, Residual
from .conv import Conv1D, MaxPool1D
from .layers import Affine, Bias, Layer, Linear


class LayerCurvature(NamedTuple):
    """The second derivatives of the scalar gᵀ f_W(z) = Σ_a g_a f_a for one layer at one z.

    Attributes
    ----------
    zz : ndarray, shape (k, k)
        ∇²_z (gᵀf): entry [b, c] = Σ_a g_a ∂²f_a/∂z_b∂z_c.
    wz : ndarray, shape (d, k)
        The mixed block: entry [p, c] = Σ_a g_a ∂²f_a/∂w_p∂z_c (w = params.ravel()).
    ww : ndarray, shape (d, d)
        ∇²_w (gᵀf): entry [p, q] = Σ_a g_a ∂²f_a/∂w_p∂w_q.
    """

    zz: np.ndarray
    wz: np.ndarray
    ww: np.ndarray

    def matrix(self) -> np.ndarray:
        """The whole Hessian of gᵀf by (z, w), z first: shape (k + d, k + d)."""
        return np.block([[self.zz, self.wz.T], [self.wz, self.ww]])


#: class → rule(layer, z, g) → LayerCurvature; looked up by the layer's exact class, since a
#: subclass may compute a different f.
RULES: dict[type, Callable[[Layer, np.ndarray, np.ndarray], LayerCurvature]] = {}


class MissingRule(TypeError):
    """A layer has no second-derivative rule, so the exact Hessian cannot be formed."""


def register(cls: type) -> Callable:
    """Decorator: make ``rule(layer, z, g) -> LayerCurvature`` the second-order rule of ``cls``.

    ``z`` is one input (k,) and ``g`` ∈ R^h the weights of the outputs; the rule returns the
    blocks of ∇²_{(z, w)} (gᵀ f_W(z)). Check a new rule with a test like the library's: finite
    differences of z, w ↦ (D_z f(z)ᵀ g, D_W f(z)ᵀ g).
    """
    def decorate(rule):
        RULES[cls] = rule
        return rule
    return decorate


def _rule(layer: Layer) -> Callable:
    rule = RULES.get(type(layer))
    if rule is None:
        name = type(layer).__name__
        raise MissingRule(
            f"{layer.describe()} has no second-derivative rule, so ∇²_w L cannot be formed "
            f"exactly. Give it one with @jacobian_nn.curvature.register({name}); net.ggn and "
            "net.ntk need only first derivatives and work without it."
        )
    return rule


def _zero(k: int, d: int) -> LayerCurvature:
    return LayerCurvature(np.zeros((k, k)), np.zeros((d, k)), np.zeros((d, d)))


def _diagonal(v: np.ndarray) -> LayerCurvature:
    """An element-wise layer: ∇²_z (gᵀf) = diag(g ⊙ φ''(z)) = diag(v); no parameters."""
    return LayerCurvature(np.diag(v), np.zeros((0, v.shape[0])), np.zeros((0, 0)))


# -- element-wise layers: f(z)_a = φ(z_a), so ∂²f_a/∂z_b∂z_c = φ''(z_a) δ_ab δ_ac ------------------
@register(Identity)
@register(ReLU)
@register(LeakyReLU)
def _piecewise_linear(layer, z, g):
    """φ'' = 0: Identity everywhere, ReLU and LeakyReLU everywhere but the kink z_a = 0."""
    return _zero(z.shape[0], 0)


@register(Tanh)
def _tanh(layer, z, g):
    """φ''(z) = −2 tanh z (1 − tanh² z)."""
    t = layer(z)
    return _diagonal(g * (-2.0 * t * (1.0 - t * t)))


@register(Sigmoid)
def _sigmoid(layer, z, g):
    """φ''(z) = σ(z)(1 − σ(z))(1 − 2σ(z))."""
    s = layer(z)
    return _diagonal(g * (s * (1.0 - s) * (1.0 - 2.0 * s)))


@register(Swish)
def _swish(layer, z, g):
    """φ''(z) = β σ(1 − σ) (2 + βz (1 − 2σ)) with σ = σ(βz); written so βz = ±inf gives 0."""
    b = layer.beta
    with np.errstate(over="ignore"):
        s = _kernels.special().expit(b * z)
    q = s * (1.0 - s)
    return _diagonal(g * (b * (2.0 * q + b * (z * q) * (1.0 - 2.0 * s))))


@register(Softmax)
def _softmax(layer, z, g):
    """∂²s_a/∂z_b∂z_c = s_a[(δ_ab − s_b)(δ_ac − s_c) − s_b(δ_bc − s_c)] (a third-order tensor);
    weighted by g, with u = g ⊙ s and γ = gᵀs:
    Σ_a g_a ∇² s_a = diag(u − γ s) − u sᵀ − s uᵀ + 2γ s sᵀ."""
    s = layer(z)
    u, gamma = g * s, float(g @ s)
    zz = np.diag(u - gamma * s) - np.outer(u, s) - np.outer(s, u) + 2.0 * gamma * np.outer(s, s)
    return LayerCurvature(zz, np.zeros((0, z.shape[0])), np.zeros((0, 0)))


# -- layers with parameters: bilinear in (z, W), so only the mixed block is non-zero ---------------
@register(Linear)
def _linear(layer, z, g):
    """f = W z: ∂²f_a/∂W_bc∂z_e = δ_ab δ_ce, so wz = g ⊗ I_k, shape (h·k, k); zz = ww = 0."""
    k = z.shape[0]
    return LayerCurvature(np.zeros((k, k)), np.kron(g[:, None], np.eye(k)),
                          np.zeros((layer.n_params, layer.n_params)))


@register(Affine)
def _affine(layer, z, g):
    """f = [W | b] z̃ with z̃ = (z, 1): wz = g ⊗ [I_k; 0], shape (h·(k+1), k): b has no mixed
    term; zz = ww = 0."""
    k = z.shape[0]
    return LayerCurvature(np.zeros((k, k)), np.kron(g[:, None], np.eye(k + 1, k)),
                          np.zeros((layer.n_params, layer.n_params)))


@register(Bias)
def _bias(layer, z, g):
    """f = z + b is linear in (z, b): every second derivative is 0."""
    return _zero(z.shape[0], layer.n_params)


@register(Conv1D)
def _conv1d(layer, z, g):
    """f is bilinear in (x_in, w) and D_w f(x_in) is linear in x_in (its padded windows), so
    the mixed block's column c is D_w f(e_c)ᵀ g, the windows of the unit impulse e_c."""
    N = z.shape[0]
    wz = np.column_stack([layer.D_W(e).T @ g for e in np.eye(N)])
    return LayerCurvature(np.zeros((N, N)), wz, np.zeros((layer.M, layer.M)))


@register(MaxPool1D)
def _maxpool1d(layer, z, g):
    """Piecewise linear (a selection): 0 wherever each window's maximum is unique."""
    return _zero(z.shape[0], 0)


# -- composite layers ----------------------------------------------------------------------------
@register(Concat)
def _concat(layer, z, g):
    """gᵀ(f_a ⊕ f_b) = g_aᵀ f_a + g_bᵀ f_b with w = (w_a, w_b): the zz blocks add, the wz
    blocks stack, the ww blocks sit on the diagonal."""
    h_a = layer.f_a(z).shape[0]
    a = _rule(layer.f_a)(layer.f_a, z, g[:h_a])
    b = _rule(layer.f_b)(layer.f_b, z, g[h_a:])
    d_a, d_b = layer.f_a.n_params, layer.f_b.n_params
    ww = np.block([[a.ww, np.zeros((d_a, d_b))], [np.zeros((d_b, d_a)), b.ww]])
    return LayerCurvature(a.zz + b.zz, np.vstack([a.wz, b.wz]), ww)


@register(Residual)
def _residual(layer, z, g):
    """gᵀ(z + g_W(z)): the skip path is linear, so the rule is that of the inner layer."""
    return _rule(layer.g)(layer.g, z, g)


def network_rule(layer, z, g):
    """A nested network: the second-order chain rule below, with its input as a variable."""
    k = z.shape[0]
    _, R = second_order_chain(layer, z, g, with_input=True)
    return LayerCurvature(R[:k, :k], R[k:, :k], R[k:, k:])


def second_order_chain(net, x: np.ndarray, g: np.ndarray, *, with_input: bool = False):
    """J = D_w f_W(x) and the curvature term Σ_a g_a ∇²_w f_a(x) for one example.

    Forward, P_0 = D_w z^(0) and P_j = D_z f_{W_j}(z^(j-1)) P_{j-1} + D_{W_j} f_{W_j} E_j;
    backward, gⱼ₋₁ = D_z f_{W_j}(z^(j-1))ᵀ gⱼ from g_m = g; then
    R = Σ_j Qⱼᵀ ∇²_{(z, W_j)}(gⱼᵀ f_{W_j}) Qⱼ with Qⱼ = [P_{j-1}; E_j] (the module docstring).

    Parameters
    ----------
    net : Network
    x : ndarray, shape (k,)
    g : ndarray, shape (h_m,)
        The output weights, ∇_ŷL for the Hessian of a loss.
    with_input : bool
        Also differentiate by x: the variables are (x, w) instead of w.

    Returns
    -------
    J : ndarray, shape (h_m, v)
        D_w f_W(x) (with D_x f_W(x) in front when ``with_input``); v = d or k + d.
    R : ndarray, shape (v, v)
        Σ_a g_a ∇² f_a(x) by the same variables.
    """
    zs = [x]
    for layer in net.layers:
        zs.append(layer(zs[-1]))
    local = [layer.D_z(z) for layer, z in zip(net.layers, zs[:-1], strict=True)]
    gs = [g]  # gⱼ = ∇_{z^(j)}(gᵀ f_W), from j = m down
    for A in reversed(local):
        gs.insert(0, A.T @ gs[0])
    k = x.shape[0]
    start = k if with_input else 0
    v = start + net.n_params
    P = np.eye(k, v) if with_input else np.zeros((k, v))
    R = np.zeros((v, v))
    for j, layer in enumerate(net.layers, 1):
        cols = slice(start, start + layer.n_params)
        try:
            c = _rule(layer)(layer, zs[j - 1], gs[j])
        except MissingRule as err:
            raise MissingRule(f"layer {j}: {err}") from None
        R += P.T @ c.zz @ P
        C = c.wz @ P  # the mixed block, pulled back to all the variables
        R[cols] += C
        R[:, cols] += C.T
        R[cols, cols] += c.ww
        P = local[j - 1] @ P
        P[:, cols] += layer.D_W(zs[j - 1])
        start = cols.stop
    return P, R


def layer_curvature(layer: Layer, z, g) -> LayerCurvature:
    """The blocks of ∇²_{(z, w)} (gᵀ f_W(z)) for one layer at one input, by its rule.

    Parameters
    ----------
    layer : Layer
    z : array_like, shape (k,)
    g : array_like, shape (h,)
        Weights of the outputs (for a layer inside a network, gⱼ = ∇_{z^(j)} L).

    Examples
    --------
    >>> from jacobian_nn import Tanh
    >>> layer_curvature(Tanh(), [0.5, 1.0], [1.0, 2.0]).zz.round(4)   # diag(g ⊙ φ''(z))
    array([[-0.7269,  0.    ],
           [ 0.    , -1.2794]])
    """
    z = as_real_array(z, f"layer_curvature: z of {layer.describe()}", ndim=(1,), nonempty=True)
    h = layer(z).shape[0]
    g = as_real_array(g, "layer_curvature: g", ndim=(1,))
    if g.shape != (h,):
        raise ValueError(f"layer_curvature: {layer.describe()} outputs f(z) ∈ {fmt_shape(h)}, "
                         f"so g must have shape ({h},); got {g.shape}.")
    return _rule(layer)(layer, z, g)


def second_derivative(layer: Layer, z) -> np.ndarray:
    """∇² f_a by (z, w) for every output a: shape (h, k + d, k + d), z first.

    The third-order tensor of the layer's second derivatives; entry [a] is
    ``layer_curvature(layer, z, e_a).matrix()``. For Softmax its z-part is
    ∂²s_a/∂z_b∂z_c = s_a[(δ_ab − s_b)(δ_ac − s_c) − s_b(δ_bc − s_c)].
    """
    z = as_real_array(z, f"second_derivative: z of {layer.describe()}", ndim=(1,), nonempty=True)
    return np.stack([layer_curvature(layer, z, e).matrix() for e in np.eye(layer(z).shape[0])])


def require_network(net, who: str = "curvature") -> None:
    """Raise unless ``net`` is a Network (told by its layers: network.py imports this module)."""
    if not isinstance(net, Composite) or not hasattr(net, "layers"):
        raise TypeError(f"{who} needs a jacobian_nn.Network, got {type(net).__name__}.")
