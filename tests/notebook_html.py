"""Export notebooks to HTML that typesets its math offline.

Used by ``make notebooks-html``, which calls it as a script:

    python tests/notebook_html.py --out build/notebooks-html notebooks/*.ipynb

nbconvert's HTML points MathJax at a CDN, so without internet every matrix shows as LaTeX
source. Here each page loads MathJax 2 (the version nbconvert's template configures) from a
``mathjax/`` folder beside it, copied from the ``jupyter-server-mathjax`` package of the
``[notebooks]`` extra, through a relative URL, so the pages typeset from ``file://`` with no
network. That package ships only the STIX-Web fonts, so the pages ask MathJax for those; and
they leave out nbconvert's require.js script (also from a CDN), which only widgets with saved
state use, and the notebooks are saved without it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import jinja2
import jupyter_server_mathjax
from nbconvert import HTMLExporter

MATHJAX_DIR = "mathjax"
#: The MathJax 2 configuration files jupyter-server-mathjax ships: TeX input, HTML-CSS output,
#: and the Safe extension nbconvert's own URL asks for.
MATHJAX_URL = f"{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}
{{ super() }}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web",
                                 imageFont: null}});
</script>
{%- endblock html_head_js_mathjax -%}
"""


def mathjax_source() -> Path:
    """The folder of MathJax's files inside the installed jupyter-server-mathjax package."""
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def exporter():
    """nbconvert's HTMLExporter with the lab template, pointed at the local MathJax."""
    return HTMLExporter(extra_loaders=[jinja2.DictLoader({"offline.html.j2": TEMPLATE})],
                        template_file="offline.html.j2", mathjax_url=MATHJAX_URL)


def export(notebooks: list[Path], out: Path) -> list[Path]:
    """Write ``out/<name>.html`` for each notebook, with MathJax copied to ``out/mathjax``;
    return the pages written. The notebooks are exported as saved (not executed)."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(mathjax_source(), out / MATHJAX_DIR, dirs_exist_ok=True)
    html = exporter()
    pages = []
    for path in notebooks:
        body, _ = html.from_filename(str(path))
        page = out / f"{Path(path).stem}.html"
        page.write_text(body, encoding="utf-8")
        pages.append(page)
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export notebooks to HTML that works offline.")
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("build/notebooks-html"))
    args = parser.parse_args(argv)
    for page in export(args.notebooks, args.out):
        print(f"wrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
