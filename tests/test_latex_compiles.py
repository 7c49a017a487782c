"""The LaTeX the library writes compiles with a real pdflatex, and its warnings tell the truth.

Run by ``make test-latex`` (which installs Debian's TeX Live packages when pdflatex or beamer
is missing); ``make test`` deselects these tests (marker ``latex``) and says so in its summary.
A machine without pdflatex fails here rather than skipping.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import jacobian_nn as jnn
from jacobian_nn.cli import main
from jacobian_nn.slides import latex_document
from jacobian_nn.spec import load_spec

pytestmark = pytest.mark.latex
SPEC = Path(__file__).parent.parent / "examples" / "sigmoid_3_2_2.toml"


def pdflatex(tex: str, tmp_path: Path, name: str) -> str:
    """Compile ``tex``; return the log. Fails on any LaTeX error."""
    assert shutil.which("pdflatex"), "pdflatex is missing: run `make test-latex`, which installs it"
    src = tmp_path / f"{name}.tex"
    src.write_text(tex, encoding="utf-8")
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", src.name],
                       cwd=tmp_path, capture_output=True, text=True, errors="replace", timeout=120)
    log = (tmp_path / f"{name}.log").read_text(errors="replace")
    assert r.returncode == 0 and (tmp_path / f"{name}.pdf").exists(), log[-3000:]
    return log


def frames_that_overflow(tex: str, log: str) -> list[str]:
    """The source of each Beamer frame that TeX reports too wide or too tall."""
    lines = tex.split("\n")
    starts = [i + 1 for i, s in enumerate(lines) if s == "\\begin{frame}"]
    bad = []
    for m in re.finditer(r"Overfull \\[hv]box \([\d.]+pt too (?:wide|high)\) detected at line "
                         r"(\d+)", log):
        i = max(k for k, s in enumerate(starts) if s <= int(m.group(1)))
        end = lines.index("\\end{frame}", starts[i])
        bad.append("\n".join(lines[starts[i] - 1:end + 1]))
    return bad


def pages(log: str) -> int:
    return int(re.search(r"Output written on \S+ \((\d+) pages?", log).group(1))


def test_tanh_example_compiles(tmp_path):
    ex = jnn.examples.tanh_worked_example()
    pdflatex(ex.to_latex(4, document=True, layout="slide", by_hand=4), tmp_path, "tanh")
    tex = ex.to_latex(4, beamer=True, document=True)
    log = pdflatex(tex, tmp_path, "tanh_beamer")
    assert pages(log) == tex.count("\\begin{frame}") >= 7
    assert frames_that_overflow(tex, log) == []  # it fits, and no warning says otherwise
    assert "Too wide" not in tex


@pytest.mark.parametrize("decimals", [2, 4])
def test_new_example_and_its_beamer_frames_compile(tmp_path, decimals):
    ex = load_spec(SPEC)
    pdflatex(ex.to_latex(decimals, document=True, by_hand=decimals), tmp_path, "new")
    for by_hand in (None, decimals):
        tex = ex.to_latex(decimals, beamer=True, document=True, by_hand=by_hand)
        log = pdflatex(tex, tmp_path, "new_beamer")
        assert pages(log) == tex.count("\\begin{frame}")
        # a frame that does not fit holds a warning saying which matrix is too wide
        for frame in frames_that_overflow(tex, log):
            assert "Too wide for a slide" in frame, frame
        assert "Overfull \\vbox" not in log  # tall sections continue on the next frame


def test_wide_matrices_compile_beyond_ten_columns(tmp_path):
    net = jnn.Network([jnn.Linear([[0.5] * 12]), jnn.Tanh()])
    ex = jnn.WorkedExample(net, [0.1 * k for k in range(12)], [0.0], jnn.HalfSquaredError(), 0.1)
    tex = ex.to_latex(3, beamer=True, document=True)
    log = pdflatex(tex, tmp_path, "wide")
    overflowing = frames_that_overflow(tex, log)
    assert overflowing and all("Too wide for a slide" in f for f in overflowing)


def test_an_exercise_pair_compiles(tmp_path, capsys):
    assert main(["exercise", "--sizes", "3", "2", "2", "--seed", "7", "--activation", "sigmoid",
                 "--loss", "softmax_cross_entropy", "--bias", "--out-dir", str(tmp_path)]) == 0
    for part in ("problem", "solution"):
        path = tmp_path / f"exercise_3-2-2_seed7_{part}.tex"
        pdflatex(path.read_text(encoding="utf-8"), tmp_path, part)
    sheet = jnn.exercises.generate([2, 2, 1], seed=7)
    pdflatex(sheet.problem(document=True), tmp_path, "p221")
    pdflatex(sheet.solution(document=True, decimals=3), tmp_path, "s221")


def test_summarised_matrices_and_a_trace_compile(tmp_path):
    """A trace whose matrices are shown by their corners (\\cdots, \\vdots, \\ddots), with its
    rows ∂L/∂z^(j) and update, and a worked example of the same network as Beamer frames."""
    net = jnn.mlp([40, 20, 3], seed=1)  # W_1 ∈ R^{20×41}: summarised
    x, y = [0.05 * k for k in range(40)], [0.0, 1.0, 0.0]
    tr = net.backprop(x, y, jnn.SoftmaxCrossEntropy()).with_lr(0.1)
    latex = tr.display(3).latex
    assert r"\ddots" in latex and r"W_{1} - 0.1\," in latex
    body = latex + "\n\n" + jnn.show_matrix(tr.D_W(1), r"D_{W_1} f_W(x)", 2).latex
    pdflatex(latex_document([body], beamer=False), tmp_path, "trace")
    ex = jnn.WorkedExample(net, x, y, jnn.SoftmaxCrossEntropy(), 0.1)
    tex = ex.to_latex(3, beamer=True, document=True)
    assert r"\cdots" in tex
    log = pdflatex(tex, tmp_path, "summarised_beamer")
    assert pages(log) == tex.count("\\begin{frame}")
