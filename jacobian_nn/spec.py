"""Worked examples from small spec files (TOML or JSON), and the names they use.

A spec names the layers in order of application, their weights, the training pair, the loss
and the learning rate (``examples/sigmoid_3_2_2.toml`` is one)::

    title = "A 3-2-2 sigmoid network"     # optional
    x = [1.0, -0.5, 2.0]
    y = [0.0, 1.0]
    loss = "softmax_cross_entropy"          # a key of LOSSES
    lr = 0.5
    weight_names = "count"                  # optional: "index" (W_j, the default) or "count"

    [[layers]]
    type = "affine"                         # a key of LAYERS
    W = [[0.5, -1.0, 0.0], [1.0, 0.5, -0.5]]
    b = [0.0, 0.5]

    [[layers]]
    type = "sigmoid"

JSON holds the same keys (``{"x": [...], "layers": [{"type": "affine", "W": ...}], ...}``).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from .activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Swish, Tanh
from .layers import Affine, Bias, Layer, Linear
from .losses import (
    BinaryCrossEntropy,
    CrossEntropy,
    HalfSquaredError,
    Loss,
    SoftmaxCrossEntropy,
    SquaredError,
)
from .network import Network
from .worked import WorkedExample

#: Layer types by name: (class, required parameter keys, optional parameter keys).
LAYERS = {
    "linear": (Linear, ("W",), ()),
    "bias": (Bias, ("b",), ()),
    "affine": (Affine, ("W", "b"), ()),
    "tanh": (Tanh, (), ()),
    "sigmoid": (Sigmoid, (), ()),
    "relu": (ReLU, (), ()),
    "leaky_relu": (LeakyReLU, (), ("a",)),
    "identity": (Identity, (), ()),
    "swish": (Swish, (), ("beta",)),
    "softmax": (Softmax, (), ()),
}
LOSSES = {
    "squared": SquaredError,
    "half_squared": HalfSquaredError,
    "cross_entropy": CrossEntropy,
    "softmax_cross_entropy": SoftmaxCrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy,
}
_KEYS = {"title", "x", "y", "loss", "lr", "weight_names", "layers"}
_NAMES = {"index": None, "count": "count"}


class SpecError(ValueError):
    """A spec file that cannot be read or does not describe a worked example."""


def loss_by_name(name) -> Loss:
    """The loss called ``name`` in LOSSES, e.g. "half_squared" → HalfSquaredError()."""
    if name not in LOSSES:
        raise SpecError(f"unknown loss {name!r}; known: {', '.join(LOSSES)}.")
    return LOSSES[name]()


def layer_from_spec(j: int, entry) -> Layer:
    """Layer j of a spec, from its table {type = ..., W = ..., ...}."""
    if not isinstance(entry, dict) or "type" not in entry:
        raise SpecError(f"layer {j}: give a table with a 'type' (one of {', '.join(LAYERS)}), "
                        f"got {entry!r}.")
    kind = entry["type"]
    if kind not in LAYERS:
        raise SpecError(f"layer {j}: unknown type {kind!r}; known: {', '.join(LAYERS)}.")
    cls, required, optional = LAYERS[kind]
    given = {k: v for k, v in entry.items() if k != "type"}
    missing = [k for k in required if k not in given]
    extra = [k for k in given if k not in required + optional]
    if missing or extra:
        what = "; ".join(s for s in (missing and f"missing {missing}",
                                     extra and f"unknown {extra}") if s)
        raise SpecError(f"layer {j} ({kind}): {what}; a {kind} layer takes "
                        f"{list(required + optional) or 'no parameters'}.")
    try:
        return cls(*(given[k] for k in required), **{k: given[k] for k in optional if k in given})
    except (TypeError, ValueError) as err:
        raise SpecError(f"layer {j} ({kind}): {err}") from None


def example_from_spec(spec: dict) -> WorkedExample:
    """The ``WorkedExample`` a parsed spec (a dict, as TOML or JSON gives it) describes."""
    if not isinstance(spec, dict):
        raise SpecError(f"a spec is a table of keys {sorted(_KEYS)}, got {type(spec).__name__}.")
    missing = [k for k in ("x", "y", "loss", "lr", "layers") if k not in spec]
    extra = [k for k in spec if k not in _KEYS]
    if missing or extra:
        raise SpecError("; ".join(s for s in (missing and f"missing keys {missing}",
                                              extra and f"unknown keys {extra}") if s)
                        + f" (a spec has {sorted(_KEYS)}).")
    layers = spec["layers"]
    if not isinstance(layers, list) or not layers:
        raise SpecError("'layers' must be a non-empty list of layer tables.")
    names = spec.get("weight_names", "index")
    if names not in _NAMES:
        raise SpecError(f"weight_names must be 'index' or 'count', got {names!r}.")
    net_layers = [layer_from_spec(j, entry) for j, entry in enumerate(layers, 1)]
    try:
        net = Network(net_layers)
        return WorkedExample(net, spec["x"], spec["y"], loss_by_name(spec["loss"]), spec["lr"],
                             title=str(spec.get("title", "")), weight_names=_NAMES[names])
    except SpecError:
        raise
    except (TypeError, ValueError) as err:
        raise SpecError(str(err)) from None


def load_spec(path) -> WorkedExample:
    """Read a ``.toml`` or ``.json`` spec file; any problem is a ``SpecError`` naming the file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise SpecError(f"{path}: cannot read the spec file ({err.strerror}).") from None
    try:
        if path.suffix.lower() == ".json":
            spec = json.loads(raw.decode("utf-8"))
        elif path.suffix.lower() == ".toml":
            spec = tomllib.loads(raw.decode("utf-8"))
        else:
            raise SpecError(f"{path}: a spec file ends in .toml or .json.")
        return example_from_spec(spec)
    except SpecError as err:
        msg = str(err)
        raise SpecError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        raise SpecError(f"{path}: not valid {path.suffix[1:].upper()}: {err}") from None
