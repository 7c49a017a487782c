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
Everything is read with ``allow_pickle=False``: loading a file never runs code.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Swish, Tanh
from .composition import Concat, Residual
from .conv import Conv1D, MaxPool1D
from .layers import Affine, Bias, Layer, Linear

FORMAT = "jacobian_nn.network"
VERSION = 1
META_KEY = "jacobian_nn"


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
def save(net: Layer, path: str | os.PathLike) -> None:
    """Write ``net`` to ``path`` (used as given; ``.npz`` is the customary suffix).

    The write is atomic: the file is written under a temporary name in the same directory and
    then renamed over ``path``, so a crash mid-write leaves any earlier file intact.

    Parameters
    ----------
    net : Network
    path : str or path-like
    """
    if not isinstance(net, tuple(_TOP_LEVEL)):
        raise TypeError(f"save writes a jacobian_nn.Network, got {type(net).__name__}.")
    arrays: dict[str, np.ndarray] = {}
    meta = {"format": FORMAT, "version": VERSION, "network": _describe(net, arrays, "network")}
    arrays[META_KEY] = np.array(json.dumps(meta, ensure_ascii=False))  # a unicode scalar
    path = Path(path)
    # mkstemp creates the file readable by its owner only; keep a replaced file's mode.
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_npz(fh, arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


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
        spec["config"] = config
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


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------
class NetworkFileError(ValueError):
    """The file is not a readable jacobian_nn network file."""


def load(path: str | os.PathLike) -> Layer:
    """Read a Network written by ``Network.save``.

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
        If the file is corrupted, truncated, not ours, or from a newer format version.
    """
    try:
        with open(path, "rb") as fh:  # ours to close: np.load leaks it when the zip is bad
            data = np.load(fh, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise NetworkFileError(f"{path} holds a single .npy array, not a saved network.")
            arrays = {key: data[key] for key in data.files}  # read all now: finds truncation
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as err:
        if isinstance(err, NetworkFileError | FileNotFoundError | IsADirectoryError):
            raise
        raise NetworkFileError(
            f"{path} is not a readable .npz file (truncated or corrupted?): {err}"
        ) from err
    if META_KEY not in arrays:
        raise NetworkFileError(
            f"{path} is a .npz file but not a saved network: it has no '{META_KEY}' entry "
            f"(entries: {sorted(arrays)}). Write networks with Network.save."
        )
    try:
        meta = json.loads(str(arrays.pop(META_KEY)))
        fmt, version, spec = meta["format"], meta["version"], meta["network"]
    except (ValueError, TypeError, KeyError) as err:
        raise NetworkFileError(f"{path}: the architecture description is damaged ({err}).") from err
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
    except (ValueError, TypeError, KeyError, IndexError) as err:
        raise NetworkFileError(f"{path}: the stored network cannot be rebuilt ({err}).") from err
    if not isinstance(net, tuple(_TOP_LEVEL)):
        raise NetworkFileError(f"{path}: the stored top-level layer is not a Network.")
    return net


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
