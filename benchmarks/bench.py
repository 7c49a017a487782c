"""Benchmark: one full-batch gradient step per mode against a hand-written numpy baseline.

Run with ``make bench`` (or ``python benchmarks/bench.py [--quick]``). In one run it times, on
float64 data,

* one step of ``GradientDescent.step`` (forward + gradient + update) in the modes "jacobian"
  and "reverse", and a hand-written vectorised numpy backprop (``baseline_step``), on
  tiny (2-2-1 tanh, XOR, n = 4), small (64-32-10 tanh + softmax cross-entropy, n = 1797) and
  medium (784-128-10, n = 10 000);
* ``Network.jacobians`` for the small net on n = 256 against a hand-written batched chain;
* "lecture" mode once on the small case (it has no speed target, only "under a minute").

Times are medians over repeats, interleaved so every mode sees the same machine state. It also
prints the matmul floor 6·n·P / (measured GEMM rate) and the peak memory of one step (measured
in a fresh subprocess per case and mode: tracemalloc's peak over the step and the process's
ru_maxrss). The table is printed and written to benchmarks/results/latest.json.
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

# name: (layer widths, n, loss)
CASES = {
    "tiny": ([2, 2, 1], 4, "half_squared"),
    "small": ([64, 32, 10], 1797, "softmax_ce"),
    "medium": ([784, 128, 10], 10_000, "softmax_ce"),
}
JAC_CASE = ("small", 256)  # per-example Jacobians of the small net for n = 256
TARGETS = {  # (case, mode): largest allowed ratio to the baseline
    ("tiny", "reverse"): 2.0,
    ("small", "reverse"): 1.1,
    ("medium", "reverse"): 1.1,
    ("small", "jacobian"): 1.5,
    ("medium", "jacobian"): 1.5,
    ("jacobians", "jacobians"): 1.2,
}


# ----------------------------------------------------------------------------------------------
# Data and networks
# ----------------------------------------------------------------------------------------------
def make_case(name: str, n: int | None = None):
    """(net, X, Y, loss) for a case; random data of the right shape (timing ignores values)."""
    sizes, n_default, loss_name = CASES[name]
    n = n_default if n is None else n
    net = jnn.mlp(sizes, seed=1)
    if name == "tiny":
        X, Y = jnn.datasets.xor()
        return net, X, Y, jnn.HalfSquaredError()
    rng = np.random.default_rng(2)
    X = rng.uniform(0.0, 1.0, (n, sizes[0]))  # like pixel intensities scaled to [0, 1]
    Y = jnn.datasets.one_hot(rng.integers(0, sizes[-1], n), sizes[-1])
    return net, X, Y, jnn.SoftmaxCrossEntropy()


# ----------------------------------------------------------------------------------------------
# The hand-written baselines: plain vectorised numpy, no library code
# ----------------------------------------------------------------------------------------------
def baseline_step(Ps: list[np.ndarray], X: np.ndarray, Y: np.ndarray, loss: str) -> float:
    """One full-batch gradient step of Affine → tanh → … → Affine, params P = [W | b] in place.

    Returns the mean loss before the update, as ``GradientDescent.step`` does.
    """
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
    step = LR / n
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


def baseline_jacobians(Ps: list[np.ndarray], X: np.ndarray):
    """Per-example D_{W_j} f(x_i) (n, h_m, d_j) and D_x f(x_i) (n, h_m, k) of Affine-tanh-Affine."""
    (P1, P2) = Ps
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
# Timing
# ----------------------------------------------------------------------------------------------
def _time_calls(fn, number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def interleaved_medians(fns: dict, repeats: int, min_time: float) -> dict:
    """Median seconds per call of each fn; each repeat times every fn once, in turn."""
    for fn in fns.values():  # warm up (first-touch allocations, BLAS threads)
        fn()
    number = {}
    for name, fn in fns.items():  # calls per repeat so that one repeat lasts ≥ min_time
        t = _time_calls(fn, 1)
        number[name] = max(1, int(min_time / max(t, 1e-9)))
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            samples[name].append(_time_calls(fn, number[name]))
    return {name: statistics.median(s) for name, s in samples.items()}


def step_fns(case: str, modes=("jacobian", "reverse")):
    """Closures doing one training step each, all starting from the same weights."""
    net0, X, Y, loss = make_case(case)
    fns = {}
    loss_name = CASES[case][2]
    Ps = [L.params.copy() for L in net0.layers if L.n_params]
    fns["baseline"] = lambda: baseline_step(Ps, X, Y, loss_name)
    for mode in modes:
        net = jnn.mlp(CASES[case][0], seed=1)
        gd = jnn.GradientDescent(lr=LR, mode=mode)
        fns[mode] = (lambda gd=gd, net=net: gd.step(net, X, Y, loss))
    return fns


def check_baseline_agrees(case: str) -> float:
    """Largest relative difference between one library step and one baseline step."""
    net, X, Y, loss = make_case(case)
    Ps = [L.params.copy() for L in net.layers if L.n_params]
    v_base = baseline_step(Ps, X, Y, CASES[case][2])
    v_lib = jnn.GradientDescent(lr=LR).step(net, X, Y, loss)
    lib = [L.params for L in net.layers if L.n_params]
    err = max(np.max(np.abs(a - b)) / np.max(np.abs(b)) for a, b in zip(lib, Ps, strict=True))
    return max(err, abs(v_base - v_lib) / abs(v_lib))


def jacobian_fns():
    case, n = JAC_CASE
    net, X, _, _ = make_case(case, n)
    Ps = [L.params for L in net.layers if L.n_params]
    (J1, J2), Dx = baseline_jacobians(Ps, X)
    (K1, _, K3), Kx = net.jacobians(X)
    err = max(np.max(np.abs(a - b)) / np.max(np.abs(b)) for a, b in
              [(K1, J1), (K3, J2), (Kx, Dx)])
    fns = {"baseline": lambda: baseline_jacobians(Ps, X), "jacobians": lambda: net.jacobians(X)}
    return fns, err


def matmul_rate() -> float:
    """The machine's float64 GEMM rate in flop/s: best of several 2048³ products (the floor
    is what matmul alone could reach, so the fastest, least disturbed run is the one)."""
    A = np.random.default_rng(0).normal(size=(2048, 2048))
    B = A.T.copy()
    A @ B
    t = min(_time_calls(lambda: A @ B, 1) for _ in range(7))
    return 2 * 2048**3 / t


# ----------------------------------------------------------------------------------------------
# Peak memory: one step in a fresh process
# ----------------------------------------------------------------------------------------------
def peak_memory_child(case: str, mode: str) -> dict:
    if case == "jacobians":
        fns, _ = jacobian_fns()
        fn = fns[mode]
    else:
        fn = step_fns(case, modes=(mode,) if mode != "baseline" else ())[mode]
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
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


def peak_memory(case: str, mode: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--peak", case, mode], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


# ----------------------------------------------------------------------------------------------
# Machine description
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
    cfg = np.show_config(mode="dicts") if np.lib.NumpyVersion(np.__version__) >= "1.25.0" else {}
    blas = cfg.get("Build Dependencies", {}).get("blas", {})
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": f"{blas.get('name', '?')} {blas.get('version', '')}".strip(),
    }


# ----------------------------------------------------------------------------------------------
def run(repeats: int, min_time: float, lecture: bool) -> dict:
    rate = matmul_rate()
    rows = []
    for case, (sizes, n, _) in CASES.items():
        net = jnn.mlp(sizes, seed=1)
        P = net.n_params
        times = interleaved_medians(step_fns(case), repeats, min_time)
        for mode, t in times.items():
            rows.append({"case": case, "what": "step", "mode": mode, "n": n, "P": P,
                         "median_s": t, "ratio": t / times["baseline"],
                         "floor_s": 6 * n * P / rate,
                         "target": TARGETS.get((case, mode)),
                         "agree": check_baseline_agrees(case) if mode == "baseline" else None})
    fns, err = jacobian_fns()
    times = interleaved_medians(fns, repeats, min_time)
    case, n = JAC_CASE
    for mode, t in times.items():
        rows.append({"case": "jacobians", "what": f"per-example Jacobians ({case})", "mode": mode,
                     "n": n, "P": jnn.mlp(CASES[case][0]).n_params, "median_s": t,
                     "ratio": t / times["baseline"], "floor_s": None,
                     "target": TARGETS.get(("jacobians", mode)),
                     "agree": err if mode == "baseline" else None})
    if lecture:
        net, X, Y, loss = make_case("small")
        gd = jnn.GradientDescent(lr=LR, mode="lecture")
        t = _time_calls(lambda: gd.step(net, X, Y, loss), 1)
        base = next(r for r in rows if r["case"] == "small" and r["mode"] == "baseline")
        rows.append({"case": "small", "what": "step (measured once)", "mode": "lecture",
                     "n": CASES["small"][1], "P": base["P"], "median_s": t,
                     "ratio": t / base["median_s"], "floor_s": base["floor_s"],
                     "target": None, "agree": None})
    for r in rows:
        r["target_met"] = None if r["target"] is None else bool(r["ratio"] <= r["target"])
        if r["mode"] != "lecture":
            r.update(peak_memory(r["case"], r["mode"]))
    return {"machine": machine(), "matmul_gflops": rate / 1e9, "repeats": repeats,
            "unix_time": time.time(), "rows": rows}


def _fmt_t(t: float | None) -> str:
    if t is None:
        return "-"
    return f"{t * 1e6:.1f} µs" if t < 1e-3 else f"{t * 1e3:.2f} ms" if t < 1 else f"{t:.2f} s"


def table(res: dict) -> str:
    head = ("| case | mode | n | P | median | ratio to baseline | target | met | floor 6nP "
            "| peak traced | maxrss |")
    lines = [head, "|" + " --- |" * 11]
    for r in res["rows"]:
        tgt = "-" if r["target"] is None else f"≤ {r['target']:g}×"
        met = "-" if r["target_met"] is None else ("yes" if r["target_met"] else "NO")
        mem = (f"{r['traced_peak_MiB']:.1f} MiB", f"{r['maxrss_MiB']:.0f} MiB") \
            if "traced_peak_MiB" in r else ("-", "-")
        lines.append(f"| {r['case']} | {r['mode']} | {r['n']} | {r['P']} | "
                     f"{_fmt_t(r['median_s'])} | {r['ratio']:.2f}× | {tgt} | {met} | "
                     f"{_fmt_t(r['floor_s'])} | {mem[0]} | {mem[1]} |")
    m = res["machine"]
    lines.append("")
    lines.append(f"Machine: {m['nproc']} cores, {m['cpu']}, Python {m['python']}, numpy "
                 f"{m['numpy']} ({m['blas']}); measured GEMM rate "
                 f"{res['matmul_gflops']:.1f} GFlop/s; medians of {res['repeats']} repeats.")
    agree = [f"{r['case']}: {r['agree']:.1e}" for r in res["rows"] if r["agree"] is not None]
    lines.append("Baseline vs library, largest relative difference: " + ", ".join(agree) + ".")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--min-time", type=float, default=0.2, help="seconds per repeat per mode")
    ap.add_argument("--quick", action="store_true", help="3 repeats, short, no lecture mode")
    ap.add_argument("--no-save", action="store_true", help="do not write latest.json")
    ap.add_argument("--peak", nargs=2, metavar=("CASE", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.peak:
        print(json.dumps(peak_memory_child(*args.peak)))
        return
    if args.quick:
        args.repeats, args.min_time = 3, 0.05
    res = run(args.repeats, args.min_time, lecture=not args.quick)
    print(table(res))
    if not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(res, indent=2) + "\n")
        print(f"\nwrote {RESULTS.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
