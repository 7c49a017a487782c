"""The README's quick start runs as written, and its errata table matches the example."""

import re
from pathlib import Path

import jacobian_nn as jnn

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_quick_start_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "README has no python block"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    assert "D^(0)" in capsys.readouterr().out


def _errata_rows() -> list[list[str]]:
    section = README.split("## Lecture 002's tanh example and its errata")[1].split("\n## ")[0]
    rows = [line.strip("|").split(" | ") for line in section.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in row] for row in rows[2:]]  # without the header and rule


def test_errata_table_says_what_the_audit_says():
    ex = jnn.examples.tanh_worked_example()
    slide = jnn.examples.TANH_SLIDE
    audit = ex.audit(slide.printed, layout=slide.layout)
    rows = _errata_rows()
    minus = "\N{MINUS SIGN}"
    rounding = [r for r in rows if r[3].startswith("rounding")]
    assert len(rounding) == len(audit.rounding) == 3
    for row, e in zip(rounding, audit.rounding, strict=True):
        exact = f"{e.exact:.{e.places}f} ({e.exact:.7g})".replace("-", minus)
        assert (row[1], row[2]) == (e.printed.replace("-", minus), exact)
    text = [r for r in rows if r[3].startswith("erratum in the text")]
    assert len(text) == len(slide.text_errata) + len(audit.errata) == 2
    assert [r[0] for r in text] == [note.split(":")[0] for note in slide.text_errata]
    assert len(rows) == len(rounding) + len(text)
    counts = f"{sum(v == 'exact' for vs in audit.values() for v in vs)} of its {len(audit.entries)}"
    assert counts in README and "None is an erratum" in README and audit


def test_worked_examples_page_runs_as_written(capsys):
    page = (Path(__file__).parent.parent / "docs" / "worked_examples.md").read_text("utf-8")
    namespace = {}
    for block in re.findall(r"```python\n(.*?)```", page, flags=re.S):
        exec(compile(block, "docs/worked_examples.md", "exec"), namespace)
    shown = re.search(r"^audit   # (\{.*\})$", page, flags=re.M).group(1)
    assert repr(dict(namespace["audit"])) == shown
    assert "z^(1) = W^(1) z^(0) + b^(1) ∈ R^2 = [1.000  0.250]" in capsys.readouterr().out
