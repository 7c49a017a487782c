"""Benchmark: ``GradientDescent.fit`` against a hand-written numpy baseline, on the user's path.

Run with ``make bench`` (or ``python benchmarks/bench.py [--quick]``). In one run it times, on
float64 data,

* ``GradientDescent(lr, max_iters=10, mode=...).fit`` — 10 full-batch updates and the 11
  losses — in the modes "jacobian" and "reverse", for networks built both ways: lecture 002's
  (Linear, Bias, tanh, …) and with ``Affine`` layers, against ``baseline_fit``, a hand-written
  vectorised numpy backprop doing the same 10 updates and 11 losses, on tiny (2-2-1 tanh, XOR,
  n = 4, ½‖ŷ − y‖²), small (64-32-10 tanh + softmax cross-entropy, n = 1797) and medium
  (784-128-10, n = 10 000);
* minibatch ``fit`` (B = 128, one epoch of the medium case; the full-data loss recorded at
  the epoch's start and end) against ``baseline_minibatch_fit``, the same loop in numpy;
* ``Network.jacobians`` of the small net on n = 256 against ``baseline_jacobians``;
* "lecture" mode once on the small case (no speed target; it must finish in under a minute);
* how one "jacobian" gradient grows with the output size h_m = 1, 10, 100, 1000 for a Bias,
  an element-wise and a Linear output layer (it must grow linearly, not quadratically);
* ``import jacobian_nn`` in a fresh interpreter, against ``import numpy``;
* D^(0) = D_x f_W(x) bracketed from the output (``net.D_z(x)``) and from the input
  (``order="forward"``) on a tall (h_m ≫ k) and a wide (k ≫ h_m) network, beside
  ``jnn.costs``' multiply–add counts;
* the empirical NTK by the structured route against the naive contraction of materialised
  Jacobians on a fully connected net, and Levenberg–Marquardt against gradient descent:
  iterations and seconds to reach a target loss.

Ratios are medians of paired per-repeat ratios: within a repeat every contestant runs in turn,
so all see the same machine state, and each case runs in a fresh process. The whole table is
measured twice: with OpenBLAS's default threads and with one thread (on a 2-core machine under
load, small GEMMs on two threads can be many times slower); the fit cases a third time, with
one thread and glibc's heap thresholds fixed (``FIXED_HEAP``: a cross-check that the library's
own ``keep_temporaries_on_heap`` leaves no process page-faulting its temporaries back). The
floor is 6·n·P flops per update (forward, and two products per weight backward) at the best
measured numpy GEMM rate. Peak memory of one call is measured in a fresh process per case and
mode. The tables are printed and written to benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

import jacobian_nn as jnn

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"
LR = 0.1
ITERS = 10  # updates per timed fit
BATCH = 128  # minibatch size B of the minibatch case

# name: (layer widths, n, loss)
CASES = {
    "tiny": ([2, 2, 1], 4, "half_squared"),
    "small": ([64, 32, 10], 1797, "softmax_ce"),
    "medium": ([784, 128, 10], 10_000, "softmax_ce"),
}
STYLES = ("lecture", "affine")  # Linear + Bias + tanh (lecture 002), or Affine + tanh
JAC_CASE = ("small", 256)  # per-example Jacobians of the small net for n = 256
TARGETS = {  # (case, mode): the largest allowed ratio to the baseline, for both styles
    ("tiny", "reverse"): 2.0,
    ("tiny", "jacobian"): 2.0,
    ("small", "reverse"): 1.1,
    ("medium", "reverse"): 1.1,
    ("small", "jacobian"): 1.5,
    ("medium", "jacobian"): 1.5,
    ("minibatch", "reverse"): 1.3,
    ("minibatch", "jacobian"): 1.3,
    ("jacobians", "jacobians"): 1.2,
}
OUTPUT_SIZES = (1, 10, 100, 1000)  # h_m of the growth measurement
IMPORT_TARGET_S = 0.3


# ----------------------------------------------------------------------------------------------
# Data and networks
# ----------------------------------------------------------------------------------------------
def make_net(sizes: list[int], style: str) -> jnn.Network:
    """The network with widths ``sizes``, built as ``jnn.mlp`` (Affine) or the lecture's way
    (Linear then Bias), with the same weights either way."""
    net = jnn.mlp(sizes, seed=1)
    if style == "affine":
        return net
    layers = []
    for layer in net.layers:
        if isinstance(layer, jnn.Affine):
            layers += [jnn.Linear(layer.W), jnn.Bias(layer.b)]
        else:
            layers.append(layer)
    return jnn.Network(layers)


def make_case(name: str, n: int | None = None, style: str = "affine"):
    """(net, X, Y, loss) for a case; random data of the right shape (timing ignores values)."""
    sizes, n_default, _ = CASES[name]
    n = n_default if n is None else n
    net = make_net(sizes, style)
    if name == "tiny":
        X, Y = jnn.datasets.xor()
        return net, X, Y, jnn.HalfSquaredError()
    rng = np.random.default_rng(2)
    X = rng.uniform(0.0, 1.0, (n, sizes[0]))  # like pixel intensities scaled to [0, 1]
    Y = jnn.datasets.one_hot(rng.integers(0, sizes[-1], n), sizes[-1])
    return net, X, Y, jnn.SoftmaxCrossEntropy()


def packed(net: jnn.Network) -> list[np.ndarray]:
    """The baseline's parameters [W | b] per affine map, read from either style of network."""
    Ps, layers = [], list(net.layers)
    for i, layer in enumerate(layers):
        if isinstance(layer, jnn.Affine):
            Ps.append(layer.params.copy())
        elif isinstance(layer, jnn.Linear):
            Ps.append(np.column_stack([layer.W, layers[i + 1].b]))
    return Ps


# ----------------------------------------------------------------------------------------------
# The hand-written baselines: plain vectorised numpy, no library code
# ----------------------------------------------------------------------------------------------
def baseline_loss(Ps: list[np.ndarray], X: np.ndarray, Y: np.ndarray, loss: str):
    """The forward pass of Affine → tanh → … → Affine; returns (mean loss, ∇_ŷL rows, acts)."""
    n = X.shape[0]
    acts = [X]
    for i, P in enumerate(Ps):
        A = acts[-1] @ P[:, :-1].T
        A += P[:, -1]
        if i < len(Ps) - 1:
            np.tanh(A, out=A)
        acts.append(A)
    S = acts[-1]  # scores ŷ
    if loss == "softmax_ce":  # Y one-hot: L = logsumexp(ŷ) − yᵀŷ, ∇ = softmax(ŷ) − y
        M = S.max(axis=1, keepdims=True)
        E = np.exp(S - M)
        T = E.sum(axis=1, keepdims=True)
        value = float(np.mean(np.log(T[:, 0]) + M[:, 0] - np.einsum("ij,ij->i", Y, S)))
        G = E / T - Y
    else:  # ½‖ŷ − y‖²
        G = S - Y
        value = 0.5 * float(np.einsum("ij,ij->", G, G)) / n
    return value, G, acts


def baseline_step(Ps: list[np.ndarray], X: np.ndarray, Y: np.ndarray, loss: str) -> float:
    """One full-batch gradient step, params P = [W | b] updated in place; returns the mean loss
    before the update, as ``GradientDescent.step`` does."""
    value, G, acts = baseline_loss(Ps, X, Y, loss)
    step = LR / X.shape[0]
    for i in range(len(Ps) - 1, -1, -1):
        P, Z = Ps[i], acts[i]
        gW = G.T @ Z
        gb = G.sum(axis=0)
        if i > 0:
            G = G @ P[:, :-1]
            G *= 1.0 - Z * Z  # tanh' = 1 − tanh²
        P[:, :-1] -= step * gW
        P[:, -1] -= step * gb
    return value


def baseline_fit(Ps, X, Y, loss: str, iters: int = ITERS) -> list[float]:
    """``iters`` full-batch updates and the loss of every W_t, t = 0 … iters, the last by a
    forward pass alone: what ``GradientDescent(max_iters=iters).fit`` computes."""
    losses = [baseline_step(Ps, X, Y, loss) for _ in range(iters)]
    return losses + [baseline_loss(Ps, X, Y, loss)[0]]


def baseline_minibatch_fit(Ps, X, Y, loss: str, seed: int = 0) -> list[float]:
    """One epoch of minibatch updates (B = ``BATCH``, shuffled by ``default_rng(seed)``) and the
    full-data loss at its start and end: what ``GradientDescent(batch_size=B)`` records."""
    n = X.shape[0]
    order = np.random.default_rng(seed).permutation(n)
    losses = [baseline_loss(Ps, X, Y, loss)[0]]
    for start in range(0, n, BATCH):
        idx = order[start:start + BATCH]
        baseline_step(Ps, X[idx], Y[idx], loss)
    return losses + [baseline_loss(Ps, X, Y, loss)[0]]


def baseline_jacobians(Ps: list[np.ndarray], X: np.ndarray):
    """Per-example D_{W_j} f(x_i) (n, h_m, d_j) and D_x f(x_i) (n, h_m, k) of Affine-tanh-Affine."""
    P1, P2 = Ps
    n = X.shape[0]
    h1, k1 = P1.shape
    h2 = P2.shape[0]
    T = np.tanh(X @ P1[:, :-1].T + P1[:, -1])
    ones = np.ones((n, 1))
    T1 = np.hstack([T, ones])
    X1 = np.hstack([X, ones])
    eye = np.eye(h2)
    J2 = (eye[None, :, :, None] * T1[:, None, None, :]).reshape(n, h2, h2 * (h1 + 1))
    D1 = P2[None, :, :-1] * (1.0 - T * T)[:, None, :]  # W_2 diag(tanh')
    J1 = (D1[:, :, :, None] * X1[:, None, None, :]).reshape(n, h2, h1 * k1)
    Dx = (D1.reshape(-1, h1) @ P1[:, :-1]).reshape(n, h2, k1 - 1)
    return [J1, J2], Dx


# ----------------------------------------------------------------------------------------------
# What is timed
# ----------------------------------------------------------------------------------------------
def fit_fns(case: str, style: str, modes=("jacobian", "reverse")) -> dict:
    """Closures doing one timed fit each, all starting from the same weights."""
    if case == "minibatch":
        net0, X, Y, loss = make_case("medium", style=style)
        Ps = packed(net0)
        fns = {"baseline": lambda: baseline_minibatch_fit(Ps, X, Y, "softmax_ce")}
        for mode in modes:
            net = make_case("medium", style=style)[0]
            gd = jnn.GradientDescent(LR, max_iters=-(-X.shape[0] // BATCH), mode=mode,
                                     batch_size=BATCH, seed=0)
            fns[mode] = lambda gd=gd, net=net: gd.fit(net, X, Y, loss)
        return fns
    net0, X, Y, loss = make_case(case, style=style)
    Ps = packed(net0)
    fns = {"baseline": lambda: baseline_fit(Ps, X, Y, CASES[case][2])}
    for mode in modes:
        net = make_case(case, style=style)[0]
        gd = jnn.GradientDescent(LR, max_iters=ITERS, mode=mode)
        fns[mode] = lambda gd=gd, net=net: gd.fit(net, X, Y, loss)
    return fns


def check_baseline_agrees(case: str, style: str) -> float:
    """Largest relative difference between one library fit and one baseline fit."""
    data_case = "medium" if case == "minibatch" else case
    net, X, Y, loss = make_case(data_case, style=style)
    Ps = packed(net)
    if case == "minibatch":
        base = baseline_minibatch_fit(Ps, X, Y, "softmax_ce")
        gd = jnn.GradientDescent(LR, max_iters=-(-X.shape[0] // BATCH), batch_size=BATCH, seed=0)
    else:
        base = baseline_fit(Ps, X, Y, CASES[case][2])
        gd = jnn.GradientDescent(LR, max_iters=ITERS)
    lib = gd.fit(net, X, Y, loss).losses
    err = max(np.max(np.abs(a - b)) / np.max(np.abs(b))
              for a, b in zip(packed(net), Ps, strict=True))
    return float(max(err, max(abs(a - b) / abs(b) for a, b in zip(lib, base, strict=True))))


def jacobian_fns() -> tuple[dict, float]:
    """Closures for the per-example Jacobians, and the largest relative difference."""
    case, n = JAC_CASE
    net, X, _, _ = make_case(case, n)
    Ps = [L.params for L in net.layers if L.n_params]
    (J1, J2), Dx = baseline_jacobians(Ps, X)
    (K1, _, K3), Kx = net.jacobians(X)
    err = max(np.max(np.abs(a - b)) / np.max(np.abs(b))
              for a, b in [(K1, J1), (K3, J2), (Kx, Dx)])
    fns = {"baseline": lambda: baseline_jacobians(Ps, X), "jacobians": lambda: net.jacobians(X)}
    return fns, float(err)


def growth_net(output: str, h_m: int) -> tuple[jnn.Network, np.ndarray, np.ndarray]:
    """20 → 50 (tanh) → h_m, then the output layer: a Bias, a Sigmoid or nothing (Linear)."""
    rng = np.random.default_rng(3)
    layers = [jnn.Linear(rng.normal(size=(50, 20)) / 5), jnn.Tanh(),
              jnn.Linear(rng.normal(size=(h_m, 50)) / 7)]
    layers += {"Bias": [jnn.Bias(np.zeros(h_m))], "Sigmoid": [jnn.Sigmoid()], "Linear": []}[output]
    return jnn.Network(layers), rng.normal(size=(1000, 20)), rng.uniform(size=(1000, h_m))


# ----------------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------------
def _time_calls(fn, number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def interleaved_medians(fns: dict, repeats: int, min_time: float) -> dict:
    """Median and min seconds per call of each fn; each repeat times every fn once, in turn.

    ``ratio`` is the median over repeats of (fn's time / the baseline's time in the same
    repeat): the two ran back to back under the same load, so on a shared machine the paired
    ratio is steadier than a ratio of separately taken medians. ``ratio_q1``/``ratio_q3`` are
    the quartiles of those paired ratios: how far a verdict against a target can be trusted.
    """
    for fn in fns.values():  # warm up: first-touch allocations, BLAS threads
        fn()
    number = {name: max(1, int(min_time / max(_time_calls(fn, 1), 1e-9)))
              for name, fn in fns.items()}  # calls per repeat, so one repeat lasts ≥ min_time
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            samples[name].append(_time_calls(fn, number[name]))
    base = samples["baseline"]
    stats = {}
    for name, s in samples.items():
        ratios = [t / b for t, b in zip(s, base, strict=True)]
        q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        stats[name] = {"median_s": statistics.median(s), "min_s": min(s), "calls": number[name],
                       "ratio": statistics.median(ratios), "ratio_q1": q1, "ratio_q3": q3}
    return stats


def matmul_rate() -> float:
    """The machine's float64 GEMM rate in flop/s: best of several 2048³ products (the floor
    is what matmul alone could reach, so the least disturbed run is the one to use)."""
    A = np.random.default_rng(0).normal(size=(2048, 2048))
    B = A.T.copy()
    A @ B
    t = min(_time_calls(lambda: A @ B, 1) for _ in range(7))
    return 2 * 2048**3 / t


def time_case(case: str, style: str, repeats: int, min_time: float) -> list[dict]:
    """The table rows of one case and network style."""
    if case == "jacobians":
        fns, err = jacobian_fns()
        name, n = JAC_CASE
        P, flop, what = jnn.mlp(CASES[name][0]).n_params, None, f"D_W and D_x per example ({name})"
    else:
        fns, err = fit_fns(case, style), check_baseline_agrees(case, style)
        sizes, n, _ = CASES["medium" if case == "minibatch" else case]
        P = jnn.mlp(sizes).n_params
        what = (f"fit, one epoch of B = {BATCH}" if case == "minibatch"
                else f"fit, {ITERS} updates")
        flop = 6 * n * P * (1 if case == "minibatch" else ITERS)
    stats = interleaved_medians(fns, repeats, min_time)
    base = stats["baseline"]["median_s"]
    rows = [{"case": case, "style": style, "what": what, "mode": mode, "n": n, "P": P, **st,
             "floor_flop": flop, "target": TARGETS.get((case, mode)),
             "agree": err if mode == "baseline" else None} for mode, st in stats.items()]
    if case == "small" and style == "affine":  # lecture mode: no target, but under a minute
        net, X, Y, loss = make_case("small")
        gd = jnn.GradientDescent(lr=LR, mode="lecture")
        t = _time_calls(lambda: gd.step(net, X, Y, loss), 1)
        rows.append({"case": case, "style": style, "what": "one step, measured once",
                     "mode": "lecture", "n": n, "P": P, "median_s": t, "min_s": t, "calls": 1,
                     "ratio": t / (base / ITERS), "ratio_q1": None, "ratio_q3": None,
                     "floor_flop": flop / ITERS, "target": None, "agree": None})
    return rows


def time_growth(repeats: int) -> list[dict]:
    """Seconds and traced peak memory of one "jacobian" gradient, n = 1000, per h_m and output
    layer; ``per_h_m`` is the time over h_m, which stays flat when growth is linear."""
    rows = []
    for output in ("Bias", "Sigmoid", "Linear"):
        for h_m in OUTPUT_SIZES:
            net, X, Y = growth_net(output, h_m)
            loss = jnn.SquaredError()
            net.gradients(X, Y, loss)
            t = statistics.median(_time_calls(lambda: net.gradients(X, Y, loss), 1)  # noqa: B023
                                  for _ in range(repeats))
            tracemalloc.start()
            net.gradients(X, Y, loss)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            rows.append({"output": output, "h_m": h_m, "median_s": t,
                         "traced_peak_MiB": peak / 2**20})
    return rows


def time_import(repeats: int) -> dict:
    """Median wall seconds of ``import jacobian_nn`` and of ``import numpy``, each in a fresh
    interpreter (the interpreter's own start-up is subtracted: ``python -c pass``)."""
    def wall(code: str) -> float:
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples)

    empty = wall("pass")
    return {"jacobian_nn_s": wall("import jacobian_nn") - empty,
            "numpy_s": wall("import numpy") - empty, "target_s": IMPORT_TARGET_S}


def time_extras(repeats: int) -> dict:
    """The bracketing orders, the NTK routes and LM vs GD (see the module docstring)."""
    def median_time(fn) -> float:
        fn()
        return statistics.median(_time_calls(fn, 1) for _ in range(repeats))

    rng = np.random.default_rng(4)
    orders = []
    for name, sizes in (("tall", [4, 64, 64, 512]), ("wide", [512, 64, 64, 4])):
        net = jnn.mlp(sizes, seed=4)
        x = rng.normal(size=sizes[0])
        counts = {r["order"]: r["multiply_adds"]
                  for r in jnn.costs(net, target="input_jacobian").as_dicts()}
        for order in ("output", "forward"):
            orders.append({"network": name, "sizes": sizes, "order": order,
                           "multiply_adds": counts[order],
                           "median_s": median_time(lambda o=order, net=net, x=x:
                                                   net.D_z(x, order=o))})
    ntk_net = jnn.mlp([64, 128, 128, 10], seed=0)
    Xn = rng.normal(size=(100, 64))
    ntk = {route: median_time(lambda r=route: ntk_net.ntk(Xn, route=r))
           for route in ("structured", "naive")}
    ntk.update(d=ntk_net.n_params, n=100, ratio=ntk["naive"] / ntk["structured"])
    X, Y = jnn.datasets.xor()
    lm_gd = []
    for name, trainer in (("Levenberg–Marquardt", jnn.LevenbergMarquardt(max_iters=200)),
                          ("gradient descent", jnn.GradientDescent(lr=0.5, max_iters=5000))):
        net = jnn.mlp([2, 3, 1], seed=3)
        t0 = time.perf_counter()
        hist = trainer.fit(net, X, Y, jnn.HalfSquaredError())
        seconds = time.perf_counter() - t0
        reached = next((t for t, v in zip(hist.iters, hist.losses, strict=True) if v < 1e-3),
                       None)
        lm_gd.append({"trainer": name, "iterations_to_1e-3": reached, "n_iters": hist.n_iters,
                      "seconds": seconds, "final_loss": hist.losses[-1]})
    return {"orders": orders, "ntk": ntk, "lm_vs_gd": lm_gd}


def extras_text(ex: dict) -> str:
    lines = ["D^(0) by bracketing (one example): multiply–adds (jnn.costs) and time", "",
             "| network | widths | order | multiply–adds | median |", "|" + " --- |" * 5]
    lines += [f"| {r['network']} | {'-'.join(map(str, r['sizes']))} | {r['order']} | "
              f"{r['multiply_adds']:,} | {_fmt_t(r['median_s'])} |" for r in ex["orders"]]
    n = ex["ntk"]
    lines += ["", f"NTK of 64-128-128-10 (d = {n['d']}) on n = {n['n']}: structured "
              f"{_fmt_t(n['structured'])}, naive {_fmt_t(n['naive'])}, naive/structured "
              f"{n['ratio']:.1f}× (Novak et al. 2022 report about 70× for fully connected nets)",
              "", "XOR, 2-3-1 tanh, ½‖ŷ − y‖², to a loss below 1e-3:", "",
              "| trainer | iterations to 1e-3 | iterations run | seconds | final loss |",
              "|" + " --- |" * 5]
    lines += [f"| {r['trainer']} | {r['iterations_to_1e-3']} | {r['n_iters']} | "
              f"{r['seconds']:.3f} | {r['final_loss']:.2e} |" for r in ex["lm_vs_gd"]]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Peak memory of one call, in a fresh process
# ----------------------------------------------------------------------------------------------
def peak_memory(case: str, style: str, mode: str) -> dict:
    if case == "jacobians":
        fn = jacobian_fns()[0][mode]
    else:
        fn = fit_fns(case, style, modes=() if mode == "baseline" else (mode,))[mode]
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"traced_peak_MiB": peak / 2**20, "maxrss_MiB": _high_water_mark_MiB()}


def _high_water_mark_MiB() -> float:
    """Peak resident memory of this process. Linux keeps ru_maxrss across exec (it would
    report the parent's peak), so read VmHWM, which starts afresh with the new program."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------------------------
def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "numpy": np.__version__, "blas": f"{blas.get('name', '?')} {blas.get('version', '')}"}


def _child(env: dict, *args: str):
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True,
                         text=True, env=env)
    return json.loads(out.stdout)


# glibc's malloc returns the top of its heap to the kernel once more than a threshold is free
# there, and takes it back, page by page, at the next allocation; its thresholds adapt to the
# sizes freed so far. The library raises them at a batch's first forward pass (docs/performance.md,
# "The heap"); thresholds fixed from the start make every process alike, whatever it ran before.
FIXED_HEAP = {"MALLOC_MMAP_THRESHOLD_": str(64 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(64 * 2**20)}


def run(repeats: int, min_time: float, cases: list[str], blas_threads: int | None,
        memory: bool = True, fixed_heap: bool = False) -> dict:
    """Each case is timed in a fresh process, so none inherits another's allocator state."""
    env = dict(os.environ)
    if blas_threads is not None:  # read by OpenBLAS when numpy is imported in the child
        env.update(OPENBLAS_NUM_THREADS=str(blas_threads), OMP_NUM_THREADS=str(blas_threads))
    if fixed_heap:  # read by glibc when the child starts
        env.update(FIXED_HEAP)
    load_before = os.getloadavg()
    rate = _child(env, "--rate")
    rows = []
    for case in cases:
        for style in (("affine",) if case == "jacobians" else STYLES):
            print(f"timing {case} ({style}, BLAS threads {blas_threads or 'default'}) …",
                  file=sys.stderr, flush=True)
            rows += _child(env, "--time", case, style, str(repeats), str(min_time))
    for r in rows:
        flop = r.pop("floor_flop")
        r["floor_s"] = None if flop is None else flop / rate
        r["target_met"] = None if r["target"] is None else bool(r["ratio"] <= r["target"])
        if memory and r["mode"] != "lecture":
            r.update(_child(env, "--peak", r["case"], r["style"], r["mode"]))
    info = machine()
    info["blas_threads"] = blas_threads or "default"
    info["heap"] = "glibc thresholds fixed at 64 MiB" if fixed_heap else "glibc's defaults"
    return {"machine": info, "matmul_gflops": rate / 1e9, "repeats": repeats,
            "load_average_before": load_before, "load_average_after": os.getloadavg(),
            "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "rows": rows}


def _fmt_t(t: float | None) -> str:
    if t is None:
        return "-"
    if t < 1e-6:
        return f"{t * 1e9:.1f} ns"
    return f"{t * 1e6:.1f} µs" if t < 1e-3 else f"{t * 1e3:.2f} ms" if t < 1 else f"{t:.2f} s"


def table(res: dict) -> str:
    lines = ["| case | network | mode | n | P | median | ratio to baseline | ratio quartiles | "
             "target | met | matmul floor | peak traced | peak RSS |", "|" + " --- |" * 13]
    for r in res["rows"]:
        tgt = "-" if r["target"] is None else f"≤ {r['target']:g}×"
        met = "-" if r["target_met"] is None else ("yes" if r["target_met"] else "**no**")
        spread = ("-" if r["ratio_q1"] is None
                  else f"{r['ratio_q1']:.2f}–{r['ratio_q3']:.2f}×")
        mem = ((f"{r['traced_peak_MiB']:.1f} MiB", f"{r['maxrss_MiB']:.0f} MiB")
               if "traced_peak_MiB" in r else ("-", "-"))
        lines.append(f"| {r['case']} | {r['style']} | {r['mode']} | {r['n']} | {r['P']} | "
                     f"{_fmt_t(r['median_s'])} | {r['ratio']:.2f}× | {spread} | {tgt} | {met} | "
                     f"{_fmt_t(r['floor_s'])} | {mem[0]} | {mem[1]} |")
    m = res["machine"]
    load = ", ".join(f"{x:.1f}" for x in res["load_average_before"])
    agree = max(r["agree"] for r in res["rows"] if r["agree"] is not None)
    lines += ["", f"Machine: {m['nproc']} cores, {m['cpu']}; Python {m['python']}, numpy "
              f"{m['numpy']} ({m['blas']}, BLAS threads: {m['blas_threads']}; heap: "
              f"{m['heap']}); best GEMM rate "
              f"{res['matmul_gflops']:.1f} GFlop/s; medians of {res['repeats']} interleaved "
              "repeats, ratios the median of per-repeat ratios; "
              f"load average before the run {load}; {res['date_utc']} UTC.",
              f"Library vs baseline, largest relative difference after a fit: {agree:.1e}."]
    return "\n".join(lines)


def growth_table(rows: list[dict]) -> str:
    lines = ['"jacobian" mode, one gradient, n = 1000: time (and traced peak) by output size h_m',
             "", "| output layer | " + " | ".join(f"h_m = {h}" for h in OUTPUT_SIZES)
             + " | time(1000) / time(100) |", "|" + " --- |" * (len(OUTPUT_SIZES) + 2)]
    for output in ("Bias", "Sigmoid", "Linear"):
        rs = {r["h_m"]: r for r in rows if r["output"] == output}
        cells = [f"{_fmt_t(rs[h]['median_s'])} ({rs[h]['traced_peak_MiB']:.0f} MiB)"
                 for h in OUTPUT_SIZES]
        lines.append(f"| {output} | " + " | ".join(cells)
                     + f" | {rs[1000]['median_s'] / rs[100]['median_s']:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--min-time", type=float, default=0.05, help="seconds per repeat and mode")
    ap.add_argument("--quick", action="store_true", help="3 short repeats")
    ap.add_argument("--cases", nargs="+", default=[*CASES, "minibatch", "jacobians"])
    ap.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    ap.add_argument("--no-save", action="store_true", help="do not write the JSON")
    ap.add_argument("--rate", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--time", nargs=4, metavar=("CASE", "STYLE", "REPEATS", "MIN_TIME"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--peak", nargs=3, metavar=("CASE", "STYLE", "MODE"), help=argparse.SUPPRESS)
    ap.add_argument("--growth", type=int, metavar="REPEATS", help=argparse.SUPPRESS)
    ap.add_argument("--extras", type=int, metavar="REPEATS", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.time:
        case, style, repeats, min_time = args.time
        print(json.dumps(time_case(case, style, int(repeats), float(min_time))))
        return
    if args.peak:
        print(json.dumps(peak_memory(*args.peak)))
        return
    if args.rate:
        print(json.dumps(matmul_rate()))
        return
    if args.growth:
        print(json.dumps(time_growth(args.growth)))
        return
    if args.extras:
        print(json.dumps(time_extras(args.extras)))
        return
    if args.quick:
        args.repeats, args.min_time = 3, 0.03
    res = {"default_threads": run(args.repeats, args.min_time, args.cases, None),
           "one_thread": run(args.repeats, args.min_time, args.cases, 1, memory=False),
           "one_thread_fixed_heap": run(args.repeats, args.min_time,
                                        [c for c in args.cases if c != "jacobians"], 1,
                                        memory=False, fixed_heap=True),
           "growth": _child(dict(os.environ), "--growth", str(max(3, args.repeats // 3))),
           "import": time_import(max(5, args.repeats)),
           "extras": _child(dict(os.environ), "--extras", str(max(3, args.repeats // 3)))}
    print("BLAS threads: OpenBLAS's default\n")
    print(table(res["default_threads"]))
    print("\nBLAS threads: one (OPENBLAS_NUM_THREADS=1)\n")
    print(table(res["one_thread"]))
    print("\nBLAS threads: one; glibc's heap thresholds fixed (MALLOC_MMAP_THRESHOLD_ and "
          "MALLOC_TRIM_THRESHOLD_ = 64 MiB: no process page-faults its temporaries back)\n")
    print(table(res["one_thread_fixed_heap"]))
    print("\n" + growth_table(res["growth"]))
    imp = res["import"]
    print(f"\nimport jacobian_nn: {imp['jacobian_nn_s']:.3f} s (import numpy alone: "
          f"{imp['numpy_s']:.3f} s; target ≤ {imp['target_s']} s: "
          f"{'met' if imp['jacobian_nn_s'] <= imp['target_s'] else 'NOT met'})")
    print("\n" + extras_text(res["extras"]))
    if not args.no_save:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(res, indent=2) + "\n")
        print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
