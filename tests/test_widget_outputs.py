"""Saved widget outputs are the same on every run and leave static viewers the math."""

import nbformat
from widget_outputs import VIEW_MIME, make_reproducible


def _run_with_ids(a: str, b: str):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("tr.step_through()", id="c1")
    cell.outputs = [nbformat.v4.new_output("execute_result", execution_count=1, data={
        VIEW_MIME: {"version_major": 2, "version_minor": 0, "model_id": a},
        "text/latex": "$$x$$", "text/plain": "x"})]
    nb.cells.append(cell)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {a: {"state": {"children": [f"IPY_MODEL_{b}"]}}, b: {"state": {}}},
        "version_major": 2, "version_minor": 0}}
    return nb


def test_two_runs_with_random_ids_save_the_same_file():
    first = _run_with_ids("0" * 32, "1" * 32)
    second = _run_with_ids("a" * 32, "b" * 32)
    make_reproducible(first)
    make_reproducible(second)
    assert nbformat.writes(first) == nbformat.writes(second)
    assert "widgets" not in first.metadata  # static viewers fall back to text/latex
    data = first.cells[0].outputs[0]["data"]
    assert data["text/latex"] == "$$x$$" and len(data[VIEW_MIME]["model_id"]) == 32
