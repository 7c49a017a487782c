"""Save and load: exact round trip, resumable training, atomic writes, clear errors.

Hostile files (bombs, lying headers, FIFOs, fuzzed bytes) are in test_hostile_files.py.
"""

import errno
import json
import os
import pickle
import signal
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from support import raises

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


def temporaries(path) -> list[str]:
    """Files next to ``path`` that look like save's temporaries: .NAME.<anything>.tmp."""
    return sorted(f for f in os.listdir(path.parent)
                  if f.startswith(f".{path.name}.") and f.endswith(".tmp"))


# --------------------------------------------------------------------------------------------
# What save refuses (the old file is kept)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_weight_is_refused_and_the_old_file_kept(tmp_path, bad):
    path = tmp_path / "net.npz"
    net = mixed_network()
    net.save(path)
    before = path.read_bytes()
    net.layers[2].layers[0].params[1, 2] = bad  # params is writable; inside the nested Network
    with raises(ValueError, "cannot save: layer 3 (Network", "non-finite weight",
                f"= {bad}", "Nothing was written"):
        net.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["net.npz"]  # no temporary file either


def test_a_non_finite_weight_creates_no_file(tmp_path):
    net = jnn.mlp([2, 3, 1], seed=0)
    net.layers[0].params[0, 0] = np.nan
    with raises(ValueError, "layer 1 (Affine", "params[0, 0] = nan"):
        net.save(tmp_path / "net.npz")
    assert os.listdir(tmp_path) == []


def test_a_non_finite_hyper_parameter_is_refused(tmp_path):
    """LeakyReLU(nan) cannot be built, so a file holding it could never be loaded."""
    net = jnn.Network([jnn.Linear([[1.0]]), jnn.LeakyReLU(0.1)])
    net.layers[1].a = float("nan")
    with raises(ValueError, "cannot save layer 2 of network (LeakyReLU", "not finite JSON"):
        net.save(tmp_path / "net.npz")
    assert os.listdir(tmp_path) == []


def nested(depth: int) -> jnn.Network:
    """``depth`` Networks inside each other around Linear([[2]]): x ↦ 2x."""
    net = jnn.Network([jnn.Linear([[2.0]])])
    for _ in range(depth - 1):
        net = jnn.Network([net])
    return net


def test_nesting_round_trips_up_to_the_limit_and_beyond_it_is_refused(tmp_path):
    nested(45).save(tmp_path / "deep.npz")
    assert jnn.load(tmp_path / "deep.npz")([1.5]) == [3.0]
    with raises(ValueError, "nested more than 100 JSON levels", "Nothing was written"):
        nested(60).save(tmp_path / "deeper.npz")
    assert os.listdir(tmp_path) == ["deep.npz"]


def test_a_network_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    from jacobian_nn import _npz
    net = jnn.mlp([10, 10, 1], seed=0)  # 121 weights: 968 bytes, and the description
    monkeypatch.setattr(_npz, "MAX_BYTES", 1000)
    with raises(ValueError, "cannot save: the network takes", "(at most 1000)"):
        net.save(tmp_path / "net.npz")
    monkeypatch.setattr(_npz, "MAX_DESCRIPTION_CHARS", 10)
    with raises(ValueError, "description of", "(at most 10)"):
        jnn.mlp([2, 1]).save(tmp_path / "net.npz")
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------------------------
# Symbolic links
# --------------------------------------------------------------------------------------------
def test_saving_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    (tmp_path / "store").mkdir()
    real = tmp_path / "store" / "model.npz"
    jnn.mlp([2, 1], seed=0).save(real)
    real.chmod(0o600)
    link = tmp_path / "current.npz"
    link.symlink_to("store/model.npz")  # relative, as `ln -s` makes them
    new = jnn.mlp([2, 1], seed=1)
    new.save(link)
    assert link.is_symlink() and os.readlink(link) == "store/model.npz"
    np.testing.assert_array_equal(jnn.load(real).params, new.params)
    np.testing.assert_array_equal(jnn.load(link).params, new.params)
    assert stat.S_IMODE(real.stat().st_mode) == 0o600  # the target keeps its mode
    assert sorted(os.listdir(tmp_path)) == ["current.npz", "store"]
    assert os.listdir(tmp_path / "store") == ["model.npz"]


def test_saving_through_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "current.npz"
    link.symlink_to(tmp_path / "model.npz")
    net = jnn.mlp([2, 1], seed=2)
    net.save(link)
    assert link.is_symlink()
    np.testing.assert_array_equal(jnn.load(tmp_path / "model.npz").params, net.params)


# --------------------------------------------------------------------------------------------
# Killed saves and concurrent writers
# --------------------------------------------------------------------------------------------
DIE_MID_WRITE = """
import os, sys
import jacobian_nn as jnn
from jacobian_nn import io as jio

def die(fh, arrays):
    fh.write(b"PK\\x03\\x04 half a file")
    fh.flush()
    os._exit(9)  # as kill -9: no except clause, no finally, no cleanup runs

jio._write_npz = die
jnn.mlp([2, 3, 1], seed=1).save(sys.argv[1])
"""

PAUSE_MID_WRITE = """
import sys
import jacobian_nn as jnn
from jacobian_nn import io as jio

write = jio._write_npz

def pause(fh, arrays):
    write(fh, arrays)
    print("written", flush=True)
    sys.stdin.readline()  # the test lets this writer finish

jio._write_npz = pause
jnn.Network([jnn.Linear([[7.0, 8.0]])]).save(sys.argv[1])
"""


def run_child(script: str, path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, str(path)], text=True, **kwargs)


def test_the_next_save_removes_what_a_killed_save_left(tmp_path):
    path = tmp_path / "net.npz"
    old = jnn.mlp([2, 3, 1], seed=0)
    old.save(path)
    with run_child(DIE_MID_WRITE, path) as child:
        assert child.wait(timeout=60) == 9
    assert len(temporaries(path)) == 1  # what a kill leaves: the old file and one temporary
    np.testing.assert_array_equal(jnn.load(path).params, old.params)
    jnn.mlp([2, 3, 1], seed=2).save(path)
    assert temporaries(path) == []


def test_a_live_writers_temporary_is_kept_and_its_save_completes(tmp_path):
    path = tmp_path / "net.npz"
    with run_child(PAUSE_MID_WRITE, path, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as child:
        assert child.stdout.readline() == "written\n"
        assert len(temporaries(path)) == 1
        jnn.Network([jnn.Linear([[1.0, 2.0]])]).save(path)  # a second writer meanwhile
        assert len(temporaries(path)) == 1  # the first writer's file survived the cleanup
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.wait(timeout=60) == 0
    np.testing.assert_array_equal(jnn.load(path).layers[0].W, [[7.0, 8.0]])  # the last rename
    assert temporaries(path) == []


def test_a_temporary_older_than_an_hour_is_stale_even_if_its_writer_lives(tmp_path):
    """Its writer then fails loudly (the rename finds nothing); the file is never torn."""
    path = tmp_path / "net.npz"
    with run_child(PAUSE_MID_WRITE, path, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE) as child:
        assert child.stdout.readline() == "written\n"
        (tmp,) = temporaries(path)
        two_hours_ago = time.time() - 7200
        os.utime(tmp_path / tmp, (two_hours_ago, two_hours_ago))
        jnn.Network([jnn.Linear([[1.0, 2.0]])]).save(path)
        assert temporaries(path) == []
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.wait(timeout=60) != 0
        assert "FileNotFoundError" in child.stderr.read()
    np.testing.assert_array_equal(jnn.load(path).layers[0].W, [[1.0, 2.0]])


def test_files_of_other_names_are_never_removed(tmp_path):
    path = tmp_path / "net.npz"
    others = [".net.npz.backup", ".net.npz.tmp", "net.npz.tmp", ".other.npz.host-1.abc.tmp",
              ".net.npz.host-notapid.abc.tmp", ".net.npz.host-1.abc.tmp.keep"]
    for name in others:
        (tmp_path / name).write_bytes(b"keep me")
    jnn.mlp([2, 1]).save(path)
    assert sorted(os.listdir(tmp_path)) == sorted([*others, "net.npz"])


SAVE_FOREVER = """
import sys
import numpy as np
import jacobian_nn as jnn

nets = [jnn.Network([jnn.Linear(np.full((600, 600), value))]) for value in (1.0, 2.0)]
nets[0].save(sys.argv[1])
print("saving", flush=True)
while True:
    for net in nets:
        net.save(sys.argv[1])
"""


def test_kill_9_at_random_moments_of_saving(tmp_path):
    """SIGKILL during a loop of 2.9 MB saves: the file is always one whole network, and what
    the kill left is gone after the next save."""
    path = tmp_path / "net.npz"
    rng = np.random.default_rng(9)
    left_behind = 0
    for _ in range(6):  # 17 of 20 such kills left a temporary: 6 without one is a 1e-5 chance
        with run_child(SAVE_FOREVER, path, stdout=subprocess.PIPE) as child:
            assert child.stdout.readline() == "saving\n"
            time.sleep(rng.uniform(0.0, 0.1))
            child.send_signal(signal.SIGKILL)
            assert child.wait(timeout=60) == -signal.SIGKILL
        W = jnn.load(path).layers[0].W
        assert W.shape == (600, 600) and (np.all(W == 1.0) or np.all(W == 2.0))
        left_behind += bool(temporaries(path))
    assert left_behind > 0  # the kills did land mid-write, so the cleanup below is tested
    jnn.mlp([2, 1]).save(path)
    assert temporaries(path) == []


def test_concurrent_saves_and_loads_in_threads_see_only_whole_files(tmp_path):
    path = tmp_path / "net.npz"
    nets = [jnn.Network([jnn.Linear(np.full((40, 40), float(v)))]) for v in range(4)]
    nets[0].save(path)
    failures = []

    def guarded(work):
        def run():
            try:
                work()
            except Exception as err:  # collected: a thread's exception would be lost
                failures.append(err)
        return threading.Thread(target=run)

    def reader():
        for _ in range(40):
            W = jnn.load(path).layers[0].W
            assert any(np.all(W == v) for v in range(4))

    threads = [guarded(lambda net=net: [net.save(path) for _ in range(10)]) for net in nets]
    threads.append(guarded(reader))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert temporaries(path) == []


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


def test_a_missing_file_is_both_file_not_found_and_network_file_error(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        jnn.load(tmp_path / "nope.npz")
    assert isinstance(info.value, jio.NetworkFileError) and info.value.errno == errno.ENOENT
    assert "nope.npz" in str(info.value)


def test_paths_that_are_not_paths():
    with pytest.raises(TypeError, match="load needs a file path"):
        jnn.load(3)  # os.stat(3) would read file descriptor 3
    with pytest.raises(TypeError, match="save needs a file path"):
        jnn.mlp([2, 1]).save(None)
    with pytest.raises(jio.NetworkFileError, match="null byte"):
        jnn.load("net\0.npz")


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
