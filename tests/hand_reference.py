"""Two small networks worked by hand with numpy, for the hand-check and step-through tests.

Lecture 002's tanh example (2-2-1, ½‖ŷ − y‖²) and a 3-2-2 Affine–sigmoid–Affine network with
softmax cross-entropy, whose square W_3 lets products be reversed and transposed. Every
reference number is an explicit numpy expression of the inputs (np.tanh, 1/(1 + e^{-z}),
products written out), independent of the library.
"""

import numpy as np

import jacobian_nn as jnn


def strings(a, places):
    """An array written out to ``places`` decimals, as a student would write it."""
    return np.vectorize(lambda v: f"{v:.{places}f}")(np.asarray(a, dtype=float)).tolist()


# -- network A: lecture 002's example, by hand -------------------------------------------------
X_A, Y_A = np.array([1.0, 0.1]), np.array([0.5])
W0 = np.array([[1.0, -3.0], [0.2, 1.0]])
W1 = np.array([[1.0, -1.0]])


def tanh_reference():
    z1 = W0 @ X_A
    z2 = np.tanh(z1)
    z3 = W1 @ z2
    g = z3 - Y_A  # ∇_ŷ ½‖ŷ − y‖²
    J2 = np.diag(1 - np.tanh(z1) ** 2)
    row2 = g @ W1
    row1 = row2 @ J2
    D1 = W1 @ J2
    return {
        "z(1)": z1, "z(2)": z2, "z(3)": z3, "loss": 0.5 * float((z3 - Y_A) @ (z3 - Y_A)),
        "local_D_z(1)": W0, "local_D_z(2)": J2, "local_D_z(3)": W1,
        "local_D_W(1)": np.kron(np.eye(2), X_A), "local_D_W(3)": z2[None, :],
        "D(3)": np.eye(1), "D(2)": W1, "D(1)": D1, "D(0)": D1 @ W0,
        "dL_dz(3)": g, "dL_dz(2)": row2, "dL_dz(1)": row1, "dL_dz(0)": row1 @ W0,
        "D_W(1)": D1 @ np.kron(np.eye(2), X_A), "D_W(3)": z2[None, :],
        "grad(1)": np.outer(row1, X_A), "grad(3)": np.outer(g, z2),
    }


def tanh_trace():
    net = jnn.Network([jnn.Linear(W0), jnn.Tanh(), jnn.Linear(W1)])
    return net.backprop(X_A, Y_A, jnn.HalfSquaredError())


# -- network B: 3-2-2, Affine, sigmoid, Affine, softmax cross-entropy, by hand ------------------
X_B, Y_B = np.array([1.0, -0.5, 0.25]), np.array([0.0, 1.0])
V1, c1 = np.array([[0.5, -1.0, 2.0], [1.5, 0.5, -0.5]]), np.array([0.1, -0.2])
V2, c2 = np.array([[1.0, -2.0], [0.5, 1.5]]), np.array([0.0, 0.3])


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_reference():
    a1 = V1 @ X_B + c1
    s = sigmoid(a1)
    a2 = V2 @ s + c2
    p = np.exp(a2) / np.exp(a2).sum()
    g = p - Y_B  # ∇ of softmax cross-entropy at the scores
    J2 = np.diag(s * (1 - s))
    row2 = g @ V2
    row1 = row2 @ J2
    D1 = V2 @ J2
    return {
        "z(1)": a1, "z(2)": s, "z(3)": a2, "loss": -np.log(p[1]),
        "local_D_z(1)": V1, "local_D_z(2)": J2, "local_D_z(3)": V2,
        "D(3)": np.eye(2), "D(2)": V2, "D(1)": D1, "D(0)": D1 @ V1,
        "dL_dz(3)": g, "dL_dz(2)": row2, "dL_dz(1)": row1, "dL_dz(0)": row1 @ V1,
        "grad(1)": np.outer(row1, np.append(X_B, 1.0)), "grad(3)": np.outer(g, np.append(s, 1.0)),
        "D_W(3)": np.kron(np.eye(2), np.append(s, 1.0)),
        "local_D_W(1)": np.kron(np.eye(2), np.append(X_B, 1.0)),
    }


def sigmoid_trace():
    net = jnn.Network([jnn.Affine(V1, c1), jnn.Sigmoid(), jnn.Affine(V2, c2)])
    return net.backprop(X_B, Y_B, jnn.SoftmaxCrossEntropy())


NETWORKS = {"tanh": (tanh_trace, tanh_reference), "sigmoid": (sigmoid_trace, sigmoid_reference)}
