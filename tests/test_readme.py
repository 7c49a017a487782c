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


def test_errata_table_lists_what_the_example_finds():
    for line in jnn.examples.tanh_worked_example().errata()[:3]:
        printed, correct = re.search(r"printed (\S+), correct (\S+)", line).groups()
        minus = "\N{MINUS SIGN}"
        assert f"| {printed.replace('-', minus)} | {correct.replace('-', minus)} (" in README
