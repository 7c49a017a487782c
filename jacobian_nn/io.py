"""Save a Network to one ``.npz`` file and load it back, exactly, without pickle.

The file holds the weights as plain float64 arrays ``p0``, ``p1``, … and one more entry,
``jacobian_nn``, a JSON text describing the architecture::

    {"format": "jacobian_nn.network", "version": 1,
     "network": {"kind": "Network", "layers": [
         {"kind": "Affine", "params": "p0"},
         {"kind": "LeakyReLU", "config": {"a": 0.01}},
         ...]}}

Layer kinds are looked up by class name in a registry. A new layer kind becomes saveable with
one ``register_layer`` call next to its class (see the calls at the bottom of this module).
Loading never unpickles (it never runs code from a file) and checks every size before it
allocates memory (``jacobian_nn._npz``); saving replaces the file atomically and removes what
killed saves left behind (``jacobian_nn._atomic``). docs/robustness.md lists the guarantees.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import _npz
from ._atomic import replace_atomically
from ._npz import NetworkFileError, NetworkFileNotFoundError, read_network_file
from .activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Swish, Tanh
from .composition import Concat, Residual
from .conv import Conv1D, MaxPool1D
from .layers import Affine, Bias, Layer, Linear

FORMAT = "jacobian_nn.network"
VERSION = 1
META_KEY = "jacobian_nn"
__all__ = ["LayerKind", "NetworkFileError", "NetworkFileNotFoundError", "load", "register_layer",
           "save"]


@dataclass(frozen=True)
class LayerKind:
    """How to write one layer class to a file and build it back.

    Attributes
    ----------
    cls : type
        The layer class; files name it by ``cls.__name__``.
    build : callable
        ``build(config, params, children) -> Layer``: ``config`` is the dict from ``config``,
        ``params`` the stored params array (None for layers with children), ``children`` the
        rebuilt sub-layers (empty for leaves).
    config : callable
        ``config(layer) -> dict`` of JSON hyper-parameters (e.g. LeakyReLU's a).
    children : callable or None
        For composite layers, ``children(layer) -> list of Layer``, saved recursively; their
        params are the composite's params, so none are stored for the composite itself.
    """

    cls: type
    build: Callable[[dict, np.ndarray | None, list[Layer]], Layer]
    config: Callable[[Layer], dict]
    children: Callable[[Layer], Sequence[Layer]] | None = None


_KINDS: dict[str, LayerKind] = {}
_TOP_LEVEL: list[type] = []  # the class a file holds at its top: Network, registered by network.py


def register_layer(
    cls: type,
    build: Callable[[dict, np.ndarray | None, list[Layer]], Layer],
    config: Callable[[Layer], dict] = lambda layer: {},
    children: Callable[[Layer], Sequence[Layer]] | None = None,
    *,
    top_level: bool = False,
) -> None:
    """Make layers of class ``cls`` saveable (see ``LayerKind`` for the arguments).

    For example, the built-in LeakyReLU is registered as
    ``register_layer(LeakyReLU, build=lambda c, p, ch: LeakyReLU(c["a"]),
    config=lambda L: {"a": L.a})``.
    """
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"register_layer: cls must be a Layer subclass, got {cls!r}.")
    _KINDS[cls.__name__] = LayerKind(cls, build, config, children)
    if top_level:  # network.py imports this module, so it names its Network here, not we it
        _TOP_LEVEL[:] = [cls]


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------
MAX_NESTING = 100  # JSON levels in a description; each nested Network, Concat, Residual takes 2


def save(net: Layer, path: str | os.PathLike) -> None:
    """Write ``net`` to ``path`` (used as given; ``.npz`` is the customary suffix).

    The write is atomic: the file is written under a temporary name in the same directory,
    flushed to disk and renamed over ``path``, so a crash or a kill mid-write leaves any
    earlier file intact. If ``path`` is a symbolic link, the file it points to is written
    and the link is kept. Temporary files that killed saves left next to ``path`` are removed
    (see ``docs/robustness.md``).

    Parameters
    ----------
    net : Network
    path : str or path-like

    Raises
    ------
    ValueError
        If the file could not be loaded back: a weight is NaN or ±inf, a hyper-parameter is
        not finite JSON, or the network is beyond a limit of ``load`` (nesting, size). The
        file at ``path`` is then left as it was.
    """
    if not isinstance(net, tuple(_TOP_LEVEL)):
        raise TypeError(f"save writes a jacobian_nn.Network, got {type(net).__name__}.")
    path = _as_path(path, "save")
    try:  # a file that load would refuse is never written
        net.require_finite_weights()
    except ValueError as err:
        raise ValueError(f"cannot save: {err} Nothing was written to {path}.") from None
    arrays: dict[str, np.ndarray] = {}
    meta = {"format": FORMAT, "version": VERSION, "network": _describe(net, arrays, "network")}
    text = json.dumps(meta, ensure_ascii=False)
    _require_within_load_limits(meta, text, arrays)
    arrays[META_KEY] = np.array(text)  # a unicode scalar
    replace_atomically(path, lambda fh: _write_npz(fh, arrays))


def _require_within_load_limits(meta: dict, text: str, arrays: dict[str, np.ndarray]) -> None:
    """The fixed limits of ``load``; its memory-dependent one depends on the reading machine."""
    n_bytes = sum(array.nbytes for array in arrays.values()) + 4 * len(text)
    problems = [
        (_nesting(meta) > MAX_NESTING, f"is nested more than {MAX_NESTING} JSON levels deep"),
        (len(text) > _npz.MAX_DESCRIPTION_CHARS, f"has a description of {len(text)} characters "
                                                 f"(at most {_npz.MAX_DESCRIPTION_CHARS})"),
        (n_bytes > _npz.MAX_BYTES, f"takes {n_bytes} bytes (at most {_npz.MAX_BYTES})"),
    ]
    for found, what in problems:
        if found:
            raise ValueError(f"cannot save: the network {what}, more than load reads. Nothing "
                             "was written.")


def _as_path(path, who: str) -> str:
    if not isinstance(path, str | bytes | os.PathLike):  # an int would be taken as a descriptor
        raise TypeError(f"{who} needs a file path (str or pathlib.Path), got "
                        f"{type(path).__name__}.")
    return os.fsdecode(path)


def _write_npz(fh, arrays: dict[str, np.ndarray]) -> None:
    np.savez(fh, **arrays)  # only float64 and str arrays: nothing that would need pickle


def _describe(layer: Layer, arrays: dict[str, np.ndarray], where: str) -> dict:
    """The JSON description of ``layer``; its params go into ``arrays``."""
    name = type(layer).__name__
    kind = _KINDS.get(name)
    if kind is None or kind.cls is not type(layer):
        raise TypeError(
            f"cannot save {where} ({layer.describe()}): the layer kind {name} is not "
            "registered. Register it with jacobian_nn.io.register_layer(cls, build, config)."
        )
    spec: dict = {"kind": name}
    config = kind.config(layer)
    if config:
        spec["config"] = _json_config(config, layer, where)
    if kind.children is not None:
        spec["layers"] = [
            _describe(child, arrays, f"layer {j} of {where}")
            for j, child in enumerate(kind.children(layer), 1)
        ]
    elif layer.n_params:
        key = f"p{len(arrays)}"
        arrays[key] = np.array(layer.params, dtype=np.float64)
        spec["params"] = key
    return spec


def _json_config(config: dict, layer: Layer, where: str) -> dict:
    """``config``, if it is finite JSON (a NaN hyper-parameter would make a file load refuses)."""
    try:
        json.dumps(config, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"cannot save {where} ({layer.describe()}): its hyper-parameters "
                         f"{config!r} are not finite JSON numbers or strings ({err}). Nothing "
                         "was written.") from None
    return config


def _nesting(obj) -> int:
    """How many JSON containers deep ``obj`` is (without recursion: files may be hostile)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------
def load(path: str | os.PathLike) -> Layer:
    """Read a Network written by ``Network.save``.

    Only a regular file is read (through symbolic links), and every size in it is checked
    before memory is allocated for it; the limits are in ``jacobian_nn._npz``.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    Network
        The same architecture with bit-for-bit the same params.

    Raises
    ------
    NetworkFileError (a ValueError)
        For every file that is not a readable network file: corrupted, truncated, not ours,
        from a newer format version, too large, a FIFO, a device or a directory. A missing
        file raises ``NetworkFileNotFoundError``, both a NetworkFileError and a
        FileNotFoundError.
    """
    path = _as_path(path, "load")
    text, arrays = read_network_file(path, META_KEY)
    fmt, version, spec = _parse_description(text, path)
    if fmt != FORMAT:
        raise NetworkFileError(f"{path}: format {fmt!r} is not {FORMAT!r}.")
    if version != VERSION:
        raise NetworkFileError(
            f"{path} uses file format version {version!r}; this jacobian_nn reads version "
            f"{VERSION}. Load it with the jacobian_nn that wrote it."
        )
    try:
        net = _build(spec, arrays, "the network")
    except NetworkFileError:
        raise
    except Exception as err:  # the builders see whatever the file holds
        raise NetworkFileError(
            f"{path}: the stored network cannot be rebuilt ({type(err).__name__}: {err})."
        ) from err
    if not isinstance(net, tuple(_TOP_LEVEL)):
        raise NetworkFileError(f"{path}: the stored top-level layer is not a Network.")
    return net


def _parse_description(text: str, path: str) -> tuple:
    """(format, version, network spec) from the JSON text, its nesting bounded."""
    try:
        meta = json.loads(text)
    except RecursionError:
        meta = None  # deeper than json can parse: reported below
    except ValueError as err:
        raise NetworkFileError(f"{path}: the architecture description is damaged ({err}).") from err
    if meta is None or _nesting(meta) > MAX_NESTING:
        raise NetworkFileError(f"{path}: the architecture description is nested more than "
                               f"{MAX_NESTING} levels deep; network files are not.")
    try:
        return meta["format"], meta["version"], meta["network"]
    except (TypeError, KeyError) as err:
        raise NetworkFileError(f"{path}: the architecture description is damaged "
                               f"({type(err).__name__}: {err}).") from err


def _build(spec, arrays: dict[str, np.ndarray], where: str) -> Layer:
    if not isinstance(spec, dict) or not isinstance(spec.get("kind"), str):
        raise NetworkFileError(f"{where}: damaged layer description {spec!r}.")
    kind = _KINDS.get(spec["kind"])
    if kind is None:
        raise NetworkFileError(
            f"{where} has layer kind {spec['kind']!r}, which this jacobian_nn does not know "
            f"(known: {sorted(_KINDS)}). It was probably written by a newer version."
        )
    config = spec.get("config", {})
    children = [
        _build(child, arrays, f"layer {j} of {where}")
        for j, child in enumerate(spec.get("layers", []), 1)
    ]
    params = None
    if "params" in spec:
        if spec["params"] not in arrays:
            raise NetworkFileError(f"{where}: the params array {spec['params']!r} is missing.")
        params = arrays[spec["params"]]
    return kind.build(config, params, children)


# ----------------------------------------------------------------------------------------------
# The built-in layer kinds
# ----------------------------------------------------------------------------------------------
register_layer(Linear, build=lambda c, p, ch: Linear(p))
register_layer(Bias, build=lambda c, p, ch: Bias(p))
register_layer(Affine, build=lambda c, p, ch: Affine(p[:, :-1], p[:, -1]))
register_layer(LeakyReLU, build=lambda c, p, ch: LeakyReLU(c["a"]), config=lambda L: {"a": L.a})
register_layer(Swish, build=lambda c, p, ch: Swish(c["beta"]), config=lambda L: {"beta": L.beta})
for _cls in (Identity, Tanh, Sigmoid, ReLU, Softmax):
    register_layer(_cls, build=lambda c, p, ch, _cls=_cls: _cls())
register_layer(Concat, build=lambda c, p, ch: Concat(*ch), children=lambda L: [L.f_a, L.f_b])
register_layer(Residual, build=lambda c, p, ch: Residual(ch[0]), children=lambda L: [L.g])
register_layer(Conv1D, build=lambda c, p, ch: Conv1D(p, padding=c["padding"]),
               config=lambda L: {"padding": L.padding})
register_layer(MaxPool1D, build=lambda c, p, ch: MaxPool1D(c["size"], c["stride"]),
               config=lambda L: {"size": L.size, "stride": L.stride})
