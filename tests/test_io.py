"""Save and load: exact round trip, resumable training, atomic writes, clear errors."""

import json
import os
import pickle
import stat

import numpy as np
import pytest

import jacobian_nn as jnn
from jacobian_nn import io as jio


def mixed_network() -> jnn.Network:
    """Every built-in kind once, a nested Network, and non-default hyper-parameters."""
    rng = np.random.default_rng(5)
    return jnn.Network([
        jnn.Affine(rng.normal(size=(4, 3)), rng.normal(size=4)),
        jnn.LeakyReLU(0.123456789),
        jnn.Network([jnn.Linear(rng.normal(size=(4, 4))), jnn.Swish(1.7), jnn.Tanh()]),
        jnn.Bias(rng.normal(size=4)),
        jnn.Sigmoid(),
        jnn.Identity(),
        jnn.ReLU(),
        jnn.Linear(rng.normal(size=(3, 4))),
        jnn.Softmax(),
    ])


def leaves(net):
    for layer in net.layers:
        yield from leaves(layer) if isinstance(layer, jnn.Network) else [layer]


def test_round_trip_is_exact(tmp_path):
    net = mixed_network()
    net.save(tmp_path / "net.npz")
    back = jnn.load(tmp_path / "net.npz")
    assert [type(a) for a in leaves(back)] == [type(b) for b in leaves(net)]
    assert isinstance(back.layers[2], jnn.Network) and back.layers[2].m == 3
    assert back.layers[1].a == 0.123456789 and back.layers[2].layers[1].beta == 1.7
    for a, b in zip(leaves(back), leaves(net), strict=True):
        assert a.params.dtype == np.float64
        np.testing.assert_array_equal(a.params, b.params)
        assert a.params is not b.params
    x = np.random.default_rng(0).normal(size=3)
    np.testing.assert_array_equal(back(x), net(x))


def test_the_file_is_plain_npz_without_pickle_and_uses_the_path_as_given(tmp_path):
    path = tmp_path / "weights.bin"  # no .npz suffix appended (np.savez would add one)
    mixed_network().save(str(path))
    assert os.listdir(tmp_path) == ["weights.bin"]
    with np.load(path, allow_pickle=False) as data:  # loads without pickle
        meta = json.loads(str(data["jacobian_nn"]))
        assert meta["format"] == "jacobian_nn.network" and meta["version"] == 1
        assert [spec["kind"] for spec in meta["network"]["layers"]][:3] == [
            "Affine", "LeakyReLU", "Network"]
        assert all(data[key].dtype == np.float64 for key in data.files if key != "jacobian_nn")


def test_training_resumes_bit_for_bit(tmp_path):
    X = np.random.default_rng(1).normal(size=(6, 2))
    Y = np.sin(X[:, :1] * X[:, 1:])
    loss, gd = jnn.HalfSquaredError(), jnn.GradientDescent(lr=0.3, max_iters=10)
    whole = jnn.mlp([2, 4, 1], seed=3)
    full = jnn.GradientDescent(lr=0.3, max_iters=20).fit(whole, X, Y, loss)

    first_half = jnn.mlp([2, 4, 1], seed=3)
    first = gd.fit(first_half, X, Y, loss)
    first_half.save(tmp_path / "half.npz")
    del first_half
    resumed = jnn.load(tmp_path / "half.npz")
    second = gd.fit(resumed, X, Y, loss)

    assert first.losses == full.losses[:11]
    assert second.losses == full.losses[10:]  # exact float equality, not approximate
    np.testing.assert_array_equal(resumed.params, whole.params)


# --------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------
def half_then_crash(fh, arrays):
    """A writer that dies mid-file, as a full disk or a kill would."""
    np.savez(fh, **arrays)
    fh.seek(0)
    fh.truncate(fh.tell() // 2 + 17)
    raise OSError("No space left on device")


@pytest.mark.parametrize("error", [OSError, KeyboardInterrupt])
def test_a_crash_mid_write_leaves_the_previous_file_intact(tmp_path, monkeypatch, error):
    path = tmp_path / "net.npz"
    old = jnn.mlp([2, 3, 1], seed=0)
    old.save(path)
    before = path.read_bytes()

    def crash(fh, arrays):
        fh.write(b"PK\x03\x04 partial")
        raise error("killed mid-write")

    monkeypatch.setattr(jio, "_write_npz", crash)
    with pytest.raises(error):
        jnn.mlp([2, 3, 1], seed=1).save(path)
    assert path.read_bytes() == before
    np.testing.assert_array_equal(jnn.load(path).params, old.params)
    assert os.listdir(tmp_path) == ["net.npz"]  # the temporary file was removed


def test_a_crash_on_a_new_file_leaves_nothing_under_the_target_name(tmp_path, monkeypatch):
    monkeypatch.setattr(jio, "_write_npz", half_then_crash)
    with pytest.raises(OSError, match="No space"):
        jnn.mlp([2, 3, 1]).save(tmp_path / "net.npz")
    assert os.listdir(tmp_path) == []


def test_file_modes(tmp_path):
    path = tmp_path / "net.npz"
    jnn.mlp([2, 1]).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's owner-only 0o600
    path.chmod(0o600)
    jnn.mlp([2, 1]).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # a replaced file keeps its mode


# --------------------------------------------------------------------------------------------
# Bad files
# --------------------------------------------------------------------------------------------
def saved_bytes(tmp_path) -> bytes:
    mixed_network().save(tmp_path / "good.npz")
    return (tmp_path / "good.npz").read_bytes()


def write_meta(path, meta, **arrays):
    np.savez(path, jacobian_nn=np.array(json.dumps(meta)), **arrays)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).bytes(3000))
    with pytest.raises(jio.NetworkFileError, match="not a readable .npz file"):
        jnn.load(path)


def test_empty_file(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ValueError, match="not a readable .npz file"):
        jnn.load(tmp_path / "empty.npz")


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_truncated_file(tmp_path, fraction):
    data = saved_bytes(tmp_path)
    (tmp_path / "cut.npz").write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(jio.NetworkFileError, match="truncated or corrupted"):
        jnn.load(tmp_path / "cut.npz")


def test_flipped_byte_in_the_weights_is_caught_by_the_zip_checksum(tmp_path):
    data = bytearray(saved_bytes(tmp_path))
    weights = mixed_network().layers[0].params.tobytes()
    at = bytes(data).find(weights)
    assert at > 0
    data[at + 5] ^= 0x01  # one bit of one weight
    (tmp_path / "flipped.npz").write_bytes(bytes(data))
    with pytest.raises(jio.NetworkFileError, match="(?s)truncated or corrupted.*CRC"):
        jnn.load(tmp_path / "flipped.npz")


def test_plain_npz_without_our_metadata(tmp_path):
    np.savez(tmp_path / "plain.npz", W=np.eye(2))
    with pytest.raises(jio.NetworkFileError, match=r"not a saved network.*\['W'\]"):
        jnn.load(tmp_path / "plain.npz")


def test_single_npy_array(tmp_path):
    np.save(tmp_path / "a.npy", np.eye(2))
    with pytest.raises(jio.NetworkFileError, match="single .npy array"):
        jnn.load(tmp_path / "a.npy")


def test_a_pickle_is_never_unpickled(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo should-not-run",))

    (tmp_path / "evil.npz").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(jio.NetworkFileError, match="pickled"):
        jnn.load(tmp_path / "evil.npz")


def test_wrong_format_version(tmp_path):
    write_meta(tmp_path / "v2.npz", {"format": "jacobian_nn.network", "version": 2,
                                     "network": {"kind": "Network", "layers": []}})
    with pytest.raises(jio.NetworkFileError, match="version 2; this jacobian_nn reads version 1"):
        jnn.load(tmp_path / "v2.npz")


def test_foreign_format_name(tmp_path):
    write_meta(tmp_path / "other.npz", {"format": "something.else", "version": 1,
                                        "network": {}})
    with pytest.raises(jio.NetworkFileError, match="'something.else' is not"):
        jnn.load(tmp_path / "other.npz")


def test_damaged_description(tmp_path):
    np.savez(tmp_path / "bad.npz", jacobian_nn=np.array("{not json"))
    with pytest.raises(jio.NetworkFileError, match="architecture description is damaged"):
        jnn.load(tmp_path / "bad.npz")


@pytest.mark.parametrize(("spec", "arrays", "message"), [
    ({"kind": "Conv7D"}, {}, "layer kind 'Conv7D'"),
    ({"kind": "Linear", "params": "p0"}, {}, "'p0' is missing"),
    ({"kind": "Affine", "params": "p0"}, {"p0": np.ones(3)}, "cannot be rebuilt"),
    ({"kind": "Linear", "params": "p0"}, {"p0": np.array([[np.nan]])}, "cannot be rebuilt"),
    ({"kind": "LeakyReLU", "config": {}}, {}, "cannot be rebuilt"),
    ("Linear", {}, "damaged layer description"),
])
def test_damaged_layers(tmp_path, spec, arrays, message):
    meta = {"format": "jacobian_nn.network", "version": 1,
            "network": {"kind": "Network", "layers": [spec]}}
    write_meta(tmp_path / "bad.npz", meta, **arrays)
    with pytest.raises(jio.NetworkFileError, match=message):
        jnn.load(tmp_path / "bad.npz")


def test_top_level_must_be_a_network(tmp_path):
    write_meta(tmp_path / "tanh.npz", {"format": "jacobian_nn.network", "version": 1,
                                       "network": {"kind": "Tanh"}})
    with pytest.raises(jio.NetworkFileError, match="not a Network"):
        jnn.load(tmp_path / "tanh.npz")


def test_missing_file_is_a_plain_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        jnn.load(tmp_path / "nope.npz")


# --------------------------------------------------------------------------------------------
# New layer kinds
# --------------------------------------------------------------------------------------------
class Scale(jnn.Elementwise):
    """f(z) = c z with a scalar hyper-parameter c (a layer kind the library does not ship)."""

    def __init__(self, c):
        super().__init__()
        self.c = c

    def phi(self, z):
        return self.c * z

    def dphi(self, z, fz):
        return np.full_like(z, self.c)


class Block(jnn.Network):
    """A composite kind: a Network subclass saved through its children."""


def test_an_unregistered_layer_cannot_be_saved_and_nothing_is_written(tmp_path):
    net = jnn.Network([jnn.Linear(np.eye(2)), Scale(2.0)])
    with pytest.raises(TypeError, match=r"layer 2 of network \(Scale\).*register_layer"):
        net.save(tmp_path / "net.npz")
    assert os.listdir(tmp_path) == []


def test_registering_new_kinds_makes_them_saveable(tmp_path, monkeypatch):
    monkeypatch.setattr(jio, "_KINDS", dict(jio._KINDS))  # undo the registrations afterwards
    jio.register_layer(Scale, build=lambda c, p, ch: Scale(c["c"]), config=lambda L: {"c": L.c})
    jio.register_layer(Block, build=lambda c, p, ch: Block(ch), children=lambda b: b.layers)
    net = jnn.Network([Block([jnn.Linear([[1.0, 2.0]]), Scale(-0.5)]), jnn.Bias([0.25])])
    net.save(tmp_path / "net.npz")
    back = jnn.load(tmp_path / "net.npz")
    assert type(back.layers[0]) is Block and back.layers[0].layers[1].c == -0.5
    np.testing.assert_array_equal(back([3.0, 4.0]), net([3.0, 4.0]))


def test_register_layer_rejects_non_layers():
    with pytest.raises(TypeError, match="Layer subclass"):
        jio.register_layer(dict, build=lambda c, p, ch: None)


def test_save_rejects_a_single_layer(tmp_path):
    with pytest.raises(TypeError, match="save writes a jacobian_nn.Network"):
        jio.save(jnn.Tanh(), tmp_path / "t.npz")


def test_beyond_the_chain_layers_round_trip(tmp_path):
    rng = np.random.default_rng(42)
    net = jnn.Network([
        jnn.Conv1D(rng.normal(size=3), padding="reflect"),
        jnn.MaxPool1D(2, stride=1),
        jnn.Concat(jnn.Affine(rng.normal(size=(2, 5)), rng.normal(size=2)), jnn.Tanh()),
        jnn.Residual(jnn.Network([jnn.Linear(rng.normal(size=(7, 7))), jnn.Sigmoid()])),
    ])
    path = tmp_path / "beyond.npz"
    net.save(path)
    back = jnn.load(path)
    assert repr(back) == repr(net)
    assert np.array_equal(back.params, net.params)
    assert back.layers[0].padding == "reflect" and back.layers[1].stride == 1
    x = rng.normal(size=6)
    assert np.array_equal(back(x), net(x))
