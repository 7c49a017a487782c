"""Run notebooks top to bottom in a fresh kernel, and compare their outputs with the saved ones.

Used by tests/test_notebooks.py and by ``make notebooks-run``, which calls it as a script:

    python tests/notebook_runner.py --inplace notebooks/*.ipynb

re-executes each notebook and saves it with its new outputs, so the committed outputs are
exactly what a fresh run produces. The kernel is the one named "python3"; ``make`` registers
it inside .venv (``ipykernel install --sys-prefix``) so it is .venv's own interpreter.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from widget_outputs import make_reproducible

KERNEL_NAME = "python3"
CELL_TIMEOUT = 120  # seconds per cell: a hung cell fails the run instead of hanging CI

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


def _normalise(text: str) -> str:
    for pattern, repl in VOLATILE:
        text = pattern.sub(repl, text)
    return text.rstrip()


def _as_text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def normalised_outputs(nb) -> list[list[tuple[str, str]]]:
    """Per code cell, its outputs as (kind, normalised text) pairs, in order."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outs = []
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                if out.get("name") == "stdout":
                    # The kernel flushes stdout in chunks whose boundaries vary from run to
                    # run; consecutive chunks are one printed stream, so compare them joined.
                    if outs and outs[-1][0] == "stdout-raw":
                        outs[-1] = ("stdout-raw", outs[-1][1] + _as_text(out.get("text", "")))
                    else:
                        outs.append(("stdout-raw", _as_text(out.get("text", ""))))
            elif kind in ("execute_result", "display_data"):
                data = out.get("data", {})
                for mime in COMPARED_MIME:
                    if mime in data:
                        outs.append((mime, _normalise(_as_text(data[mime]))))
                if any(m.startswith("image/") for m in data):
                    outs.append(("image", "<image>"))
            elif kind == "error":
                outs.append(("error", f"{out.get('ename')}: {out.get('evalue')}"))
        cells.append([("stdout", _normalise(t)) if k == "stdout-raw" else (k, t) for k, t in outs])
    return cells


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute notebooks in a fresh kernel.")
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--inplace", action="store_true", help="save the executed notebooks")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        nb = execute(path)
        if args.inplace:
            make_reproducible(nb)  # random widget ids would change the file on every run
            nbformat.write(nb, path)
        print(f"executed {path}" + (" (saved)" if args.inplace else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
