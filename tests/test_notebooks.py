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
from notebook_runner import MEASURED_TAG, differences, execute, tidy

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
    cell = nbformat.v4.new_code_cell("x", id="x")  # a fixed id: two such notebooks can be equal
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


def _stream(text, name="stdout"):
    return nbformat.v4.new_output("stream", name=name, text=text)


def _display(text):
    return nbformat.v4.new_output("display_data", data={"text/plain": text})


def test_a_stream_split_at_different_points_is_saved_the_same():
    """The kernel flushes one printed stream in chunks; where it splits must not reach the file."""
    once = _notebook(_stream("a 1\nb 2\n"), _stream("c 3\n"))
    twice = _notebook(_stream("a 1\n"), _stream("b 2\nc 3\n"))
    assert differences(once, twice) == []
    assert nbformat.writes(tidy(once)) == nbformat.writes(tidy(twice))
    (out,) = tidy(once).cells[0].outputs
    assert (out.name, out.text) == ("stdout", "a 1\nb 2\nc 3\n")


def test_streams_are_merged_only_where_nothing_came_between():
    nb = tidy(_notebook(_stream("before\n"), _display("shown"), _stream("after\n"),
                        _stream("warned\n", name="stderr"), _stream("last\n")))
    kinds = [(o.output_type, o.get("name"), o.get("text")) for o in nb.cells[0].outputs]
    assert kinds == [("stream", "stdout", "before\n"), ("display_data", None, None),
                     ("stream", "stdout", "after\n"), ("stream", "stderr", "warned\n"),
                     ("stream", "stdout", "last\n")]


def test_tidy_keeps_saved_outputs_that_match_and_takes_fresh_ones_that_do_not():
    saved = _notebook(_result("<Foo at 0x7f3a2b1c9d30>"))
    saved.cells.append(nbformat.v4.new_code_cell("y", outputs=[_result("0.3131")]))
    fresh = _notebook(_result("<Foo at 0x7f00deadbeef>"))
    fresh.cells.append(nbformat.v4.new_code_cell("y", outputs=[_result("0.3132")]))
    before = nbformat.writes(fresh), nbformat.writes(saved)
    nb = tidy(fresh, saved)
    assert (nbformat.writes(fresh), nbformat.writes(saved)) == before  # neither modified
    assert nb.cells[0].outputs[0].data["text/plain"] == "<Foo at 0x7f3a2b1c9d30>"
    assert nb.cells[1].outputs[0].data["text/plain"] == "0.3132"


def test_tidy_takes_a_new_picture_unless_the_cell_shows_measured_times():
    saved = _notebook(_result("fig", png="aGVsbG8="))
    fresh = _notebook(_result("fig", png="d29ybGQ="))
    assert tidy(fresh, saved).cells[0].outputs[0].data["image/png"] == "d29ybGQ="
    for nb in (saved, fresh):
        nb.cells[0].metadata["tags"] = [MEASURED_TAG]
    assert tidy(fresh, saved).cells[0].outputs[0].data["image/png"] == "aGVsbG8="
