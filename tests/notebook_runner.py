"""Run notebooks top to bottom in a fresh kernel, and compare their outputs with the saved ones.

Used by tests/test_notebooks.py and by ``make notebooks-run``, which calls it as a script:

    python tests/notebook_runner.py --inplace notebooks/*.ipynb

re-executes each notebook and saves it with its new outputs, so the committed outputs are
what a fresh run produces. The kernel is the one named "python3"; ``make`` registers it
inside .venv (``ipykernel install --sys-prefix``) so it is .venv's own interpreter.

Re-running leaves the file as it was (``make notebooks`` leaves the tree clean), because what is
saved is ``tidy``: consecutive stream outputs merged (the kernel flushes one printed stream in
chunks whose boundaries vary from run to run), widget ids numbered, no timestamps; and a cell
whose fresh outputs equal the saved ones under the comparison the tests make keeps its saved
outputs, so what that comparison ignores (memory addresses, digits below 1e-6, the picture of a
cell tagged ``measured``) does not rewrite the file.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert.preprocessors import CoalesceStreamsPreprocessor
from widget_outputs import make_reproducible

KERNEL_NAME = "python3"
CELL_TIMEOUT = 120  # seconds per cell: a hung cell fails the run instead of hanging CI
#: The tag of a cell whose pictures show measured times (they differ on every run): its saved
#: pictures are kept while its text outputs stay the same.
MEASURED_TAG = "measured"

#: Output types compared between a saved and a fresh run. Images are compared only by their
#: presence (PNG bytes vary with library versions); stderr is left out (a first run may print
#: matplotlib's one-off font-cache notice).
COMPARED_MIME = ("text/plain", "text/latex", "text/html", "text/markdown")
VOLATILE = [
    (re.compile(r"0x[0-9a-fA-F]{6,}"), "0x…"),  # memory addresses in default reprs
    (re.compile(r"(Wall time|CPU times): .*"), r"\1: <timing>"),  # %time / %%time lines
    # Magnitudes below 1e-6 printed in e-notation are rounding noise (a finite-difference
    # error of 1e-11, say) whose digits change with numpy/scipy/BLAS builds.
    (re.compile(r"\b\d(\.\d+)?e-(0[7-9]|[1-9]\d)\b"), "<below 1e-6>"),
]


def execute(path: Path | str):
    """Execute the notebook at ``path`` in a fresh kernel (cwd = its folder); return it.

    Raises nbclient's ``CellExecutionError`` on the first cell that raises, including a failed
    ``assert``.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=KERNEL_NAME,
        timeout=CELL_TIMEOUT,
        record_timing=False,  # no timestamps in the saved file: reruns give identical files
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


def coalesced(nb):
    """A copy of ``nb`` with each run of consecutive stream outputs of one name (stdout,
    stderr) merged into one output, as nbconvert's ``CoalesceStreamsPreprocessor`` does."""
    nb = copy.deepcopy(nb)
    CoalesceStreamsPreprocessor().preprocess(nb, {})
    return nb


def _normalise(text: str) -> str:
    for pattern, repl in VOLATILE:
        text = pattern.sub(repl, text)
    return text.rstrip()


def _as_text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _cell_outputs(cell) -> list[tuple[str, str]]:
    """A code cell's (already coalesced) outputs as (kind, normalised text) pairs, in order."""
    outs = []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            if out.get("name") == "stdout":
                outs.append(("stdout", _normalise(_as_text(out.get("text", "")))))
        elif kind in ("execute_result", "display_data"):
            data = out.get("data", {})
            for mime in COMPARED_MIME:
                if mime in data:
                    outs.append((mime, _normalise(_as_text(data[mime]))))
            if any(m.startswith("image/") for m in data):
                outs.append(("image", "<image>"))
        elif kind == "error":
            outs.append(("error", f"{out.get('ename')}: {out.get('evalue')}"))
    return outs


def _code_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def normalised_outputs(nb) -> list[list[tuple[str, str]]]:
    """Per code cell, its outputs as (kind, normalised text) pairs, in order (streams
    coalesced first, so where the kernel split a printed stream does not matter)."""
    return [_cell_outputs(cell) for cell in _code_cells(coalesced(nb))]


def differences(saved, fresh) -> list[str]:
    """Human-readable differences between the normalised outputs of two runs (empty if none)."""
    a, b = normalised_outputs(saved), normalised_outputs(fresh)
    if len(a) != len(b):
        return [f"{len(a)} code cells saved, {len(b)} in the fresh run"]
    diffs = []
    for i, (x, y) in enumerate(zip(a, b, strict=True), 1):
        if x != y:
            diffs.append(f"code cell {i}: saved {x!r}\n      fresh {y!r}")
    return diffs


def _images(cell) -> list:
    return [value for out in cell.get("outputs", []) for mime, value in out.get("data", {}).items()
            if mime.startswith("image/")]


def _keeps_saved(saved_cell, fresh_cell) -> bool:
    """Whether the saved outputs of a cell stand for the fresh ones: the same under the
    comparison, and the same pictures unless the cell is tagged ``measured``."""
    if saved_cell.source != fresh_cell.source:
        return False
    if _cell_outputs(saved_cell) != _cell_outputs(fresh_cell):
        return False
    measured = MEASURED_TAG in fresh_cell.get("metadata", {}).get("tags", [])
    return measured or _images(saved_cell) == _images(fresh_cell)


def tidy(fresh, saved=None):
    """What ``--inplace`` saves for the fresh run ``fresh`` of a notebook saved as ``saved``:
    streams coalesced, widget outputs made reproducible, and every cell whose outputs are
    unchanged (``_keeps_saved``) with its saved outputs. Neither argument is modified."""
    nb = coalesced(fresh)
    if saved is not None:
        old = _code_cells(coalesced(saved))
        new = _code_cells(nb)
        if len(old) == len(new):
            for saved_cell, cell in zip(old, new, strict=True):
                if _keeps_saved(saved_cell, cell):
                    cell.outputs = saved_cell.outputs
    make_reproducible(nb)  # random widget ids would change the file on every run
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute notebooks in a fresh kernel.")
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--inplace", action="store_true", help="save the executed notebooks")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        saved = nbformat.read(path, as_version=4)
        nb = execute(path)
        if args.inplace:
            nbformat.write(tidy(nb, saved), path)
        print(f"executed {path}" + (" (saved)" if args.inplace else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
