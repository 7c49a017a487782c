"""``python -m jacobian_nn``: example SPEC, exercise, tanh, and a clear exit 2 on bad input.

The shipped spec examples/sigmoid_3_2_2.toml is network A of tests/test_worked_example.py
(x = (1, −0.5, 2), W_1 = [[0.5, −1, 0], [1, 0.5, −0.5]], b_1 = (0, 0.5)): z^(1) = W_1 x + b_1
= (0.5 + 0.5 + 0, 1 − 0.25 − 1 + 0.5) = (1, 0.25).
"""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import jacobian_nn as jnn
from jacobian_nn.cli import main

ROOT = Path(__file__).parent.parent
SPEC = ROOT / "examples" / "sigmoid_3_2_2.toml"


def run(capsys, *argv):
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def fails(capsys, *argv) -> str:
    """The command exits with status 2 and one clear message on stderr, no traceback."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip()
    return err


# -- example SPEC -------------------------------------------------------------------------------
def test_example_prints_the_spec_worked_out(capsys):
    out = run(capsys, "example", str(SPEC), "--decimals", "3")
    assert out.startswith("A 3-2-2 sigmoid network with softmax cross-entropy\n")
    assert "z^(1) = W^(1) z^(0) + b^(1) ∈ R^2 = [1.000  0.250]" in out
    assert "σ(z^(1))" in out and "Update" in out


def test_example_latex_markdown_beamer_and_out(capsys, tmp_path):
    assert run(capsys, "example", str(SPEC), "--latex").startswith(r"\section*{A 3-2-2")
    assert "$$\n\\begin{aligned}" in run(capsys, "example", str(SPEC), "--markdown")
    out = tmp_path / "slides.tex"
    assert run(capsys, "example", str(SPEC), "--beamer", "--document", "--out", str(out)) == (
        f"wrote {out}\n")
    tex = out.read_text(encoding="utf-8")
    assert tex.startswith("\\documentclass{beamer}") and tex.count("\\begin{frame}") >= 7
    text = run(capsys, "example", str(SPEC), "--sections", "forward", "--by-hand", "2",
               "--layout", "slide", "--packed-affine")
    # exact: ŷ = (σ(1) − σ(0.25) + 0.5, −σ(1)/2 + σ(0.25) − 0.5) = (0.66888, −0.30335);
    # by hand to 2 places: W_3 (0.73, 0.56) + b_3 = (0.73 − 0.56 + 0.5, −0.365 + 0.56 − 0.5)
    assert "z^(2) = σ(z^(1)) ∈ R^2 = [0.7311  0.5622]   by hand: [0.7311  0.5622]" in text
    assert "z^(3) = W^(2) z^(2) + b^(2) ∈ R^2 = [0.6689  -0.3034]   by hand: [0.6700  -0.3050]" in (
        text)
    assert "Loss" not in text


def test_json_spec_gives_the_same_example(capsys, tmp_path):
    spec = tomllib.loads(SPEC.read_text(encoding="utf-8"))
    path = tmp_path / "same.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    assert run(capsys, "example", str(path)) == run(capsys, "example", str(SPEC))


def test_the_shipped_spec_is_network_a():
    spec = tomllib.loads(SPEC.read_text(encoding="utf-8"))
    W, b = np.array(spec["layers"][0]["W"]), np.array(spec["layers"][0]["b"])
    assert (W @ np.array(spec["x"]) + b).tolist() == [1.0, 0.25]
    ex = jnn.spec.load_spec(SPEC)
    assert isinstance(ex, jnn.WorkedExample) and ex.lr == 0.5
    assert [type(L).__name__ for L in ex.network.layers] == ["Affine", "Sigmoid", "Affine"]


def write_spec(tmp_path, layers, **over):
    spec = {"x": [1.0, 2.0], "y": [0.5], "loss": "half_squared", "lr": 0.1, "layers": layers}
    spec.update(over)
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return str(path)


def test_bad_specs_exit_2_with_the_reason(capsys, tmp_path):
    good = [{"type": "linear", "W": [[1.0, -1.0]]}]
    err = fails(capsys, "example", write_spec(tmp_path, [{"type": "conv", "W": [[1.0]]}]))
    assert "layer 1: unknown type 'conv'" in err and "linear" in err
    err = fails(capsys, "example", write_spec(tmp_path, [{"type": "linear", "W": [[1.0, 2.0]]},
                                                         {"type": "linear", "W": [[1.0, 2.0]]}]))
    assert "layer 2" in err and "R^2" in err  # W_2 ∈ R^{1×2} cannot take z^(1) ∈ R^1
    err = fails(capsys, "example", write_spec(tmp_path, [{"type": "tanh", "W": [[1.0]]}]))
    assert "layer 1 (tanh): unknown ['W']" in err
    err = fails(capsys, "example", write_spec(tmp_path, [{"type": "affine", "W": [[1.0, 2.0]]}]))
    assert "missing ['b']" in err
    assert "unknown loss 'mse'" in fails(capsys, "example", write_spec(tmp_path, good, loss="mse"))
    assert "missing keys ['lr']" in fails(capsys, "example", _without(tmp_path, good, "lr"))
    err = fails(capsys, "example", write_spec(tmp_path, good, x=[1.0, 2.0, 3.0]))
    assert "expects z^(0) = x ∈ R^2" in err
    assert "cannot read the spec file" in fails(capsys, "example", str(tmp_path / "nope.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("x = [1, 2", encoding="utf-8")
    assert "not valid TOML" in fails(capsys, "example", str(bad))
    other = tmp_path / "spec.yaml"
    other.write_text("x: 1", encoding="utf-8")
    assert "ends in .toml or .json" in fails(capsys, "example", str(other))


def _without(tmp_path, layers, key):
    spec = {"x": [1.0, 2.0], "y": [0.5], "loss": "half_squared", "lr": 0.1, "layers": layers}
    del spec[key]
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return str(path)


def test_bad_arguments_exit_2(capsys, tmp_path):
    assert "--decimals" in fails(capsys, "example", str(SPEC), "--decimals", "-1")
    assert "--by-hand" in fails(capsys, "example", str(SPEC), "--by-hand", "x")
    assert "--layout" in fails(capsys, "example", str(SPEC), "--layout", "wide")
    assert "LaTeX options" in fails(capsys, "example", str(SPEC), "--markdown", "--beamer")
    assert "--decimals" in fails(capsys, "tanh", "--decimals", "-2")
    assert "cannot write" in fails(capsys, "example", str(SPEC), "--out",
                                   str(tmp_path / "no" / "such" / "dir" / "x.txt"))
    fails(capsys, "wiggle")


def test_a_bad_argument_is_not_a_traceback_from_the_shell():
    r = subprocess.run([sys.executable, "-m", "jacobian_nn", "exercise", "--sizes", "2"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "sizes must be at least two whole numbers" in r.stderr


# -- exercise -----------------------------------------------------------------------------------
def test_exercise_writes_a_problem_and_its_solution(capsys, tmp_path):
    out = run(capsys, "exercise", "--sizes", "2", "2", "1", "--seed", "7", "--out-dir",
              str(tmp_path / "sheets"))
    problem = tmp_path / "sheets" / "exercise_2-2-1_seed7_problem.tex"
    solution = tmp_path / "sheets" / "exercise_2-2-1_seed7_solution.tex"
    assert out == f"wrote {problem}\nwrote {solution}\n"
    ex = jnn.exercises.generate([2, 2, 1], seed=7)
    assert problem.read_text(encoding="utf-8") == ex.problem("latex", document=True)
    assert solution.read_text(encoding="utf-8") == ex.solution("latex", document=True)
    run(capsys, "exercise", "--sizes", "3", "2", "2", "--seed", "1", "--activation", "sigmoid",
        "--loss", "softmax_cross_entropy", "--bias", "--markdown", "--ask", "forward", "loss",
        "--decimals", "3", "--out-dir", str(tmp_path))
    md = (tmp_path / "exercise_3-2-2_seed1_solution.md").read_text(encoding="utf-8")
    assert md.startswith("# Solution (sizes 3-2-2, Affine layers, sigmoid")
    assert "Gradients" not in md


def test_bad_exercise_arguments_exit_2(capsys):
    assert "sizes must be at least two" in fails(capsys, "exercise", "--sizes", "3")
    assert "--sizes" in fails(capsys, "exercise", "--sizes", "2", "0")
    assert "--seed" in fails(capsys, "exercise", "--sizes", "2", "1", "--seed", "-3")
    assert "--activation" in fails(capsys, "exercise", "--sizes", "2", "1", "--activation", "x")
    assert "needs at least 2 outputs" in fails(capsys, "exercise", "--sizes", "2", "1",
                                               "--loss", "cross_entropy")
    assert "--lr" in fails(capsys, "exercise", "--sizes", "2", "1", "--lr", "inf")


# -- the lecture's examples keep working --------------------------------------------------------
def test_tanh_and_and_still_run(capsys):
    assert "Lecture 002: one step of backpropagation through tanh" in run(capsys, "tanh")
    assert "σ(−30 + 20 x₁ + 20 x₂)" in run(capsys, "and", "--decimals", "2")
