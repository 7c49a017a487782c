"""Every notebooks/*.ipynb runs top to bottom in a fresh kernel, and its saved outputs are what
that run produces.

Each notebook checks its own claims with ``assert``; a failed assertion or any other error
fails the test with the cell and traceback. The glob picks up notebooks added later.
If the output comparison fails after an intended change, run ``make notebooks-run`` (it
re-executes the notebooks in place) and commit the result.
"""

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError
from notebook_runner import differences, execute

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    names = {p.stem for p in NOTEBOOKS}
    assert {"01_tanh_worked_example", "02_backprop_as_jacobian_products",
            "03_jacobians_of_layers", "04_training", "05_vanishing_gradients",
            "08_deriving_a_worked_example"} <= names


def test_kernel_is_this_interpreter(tmp_path):
    """The "python3" kernel nbclient starts is the interpreter running the tests (.venv's)."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import sys, jacobian_nn; print(sys.prefix)"))
    path = tmp_path / "which_python.ipynb"
    nbformat.write(nb, path)
    out = execute(path).cells[0].outputs[0]
    assert out["text"].strip() == sys.prefix


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_saved_outputs_match(path):
    fresh = execute(path)  # raises CellExecutionError on any error or failed assert
    saved = nbformat.read(path, as_version=4)
    diffs = differences(saved, fresh)
    assert not diffs, (
        f"{path.name}: saved outputs differ from a fresh run; run `make notebooks-run` and "
        "commit:\n" + "\n".join(diffs)
    )


def test_a_failed_assert_fails_the_run(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("assert 1 + 1 == 3, 'arithmetic'"))
    path = tmp_path / "fails.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(CellExecutionError, match="arithmetic"):
        execute(path)


def _notebook(*outputs):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = list(outputs)
    nb.cells.append(cell)
    return nb


def _result(text, png=None):
    data = {"text/plain": text}
    if png is not None:
        data["image/png"] = png
    return nbformat.v4.new_output("execute_result", data=data, execution_count=1)


def test_differences_reports_stale_output():
    diffs = differences(_notebook(_result("0.3131")), _notebook(_result("0.3132")))
    assert len(diffs) == 1 and "code cell 1" in diffs[0] and "0.3132" in diffs[0]


def test_differences_ignores_volatile_bits():
    saved = _notebook(
        _result("<Foo at 0x7f3a2b1c9d30>", png="aGVsbG8="),
        _result("max abs error 9.09e-11"),
        nbformat.v4.new_output("stream", name="stderr", text="Matplotlib is building the font"),
    )
    fresh = _notebook(
        _result("<Foo at 0x7f00deadbeef>", png="d29ybGQ="),
        _result("max abs error 1.2e-12"),
    )
    assert differences(saved, fresh) == []
    assert differences(saved, _notebook(_result("<Foo at 0x7f00deadbeef>"))) != []  # no image
