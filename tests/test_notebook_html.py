"""`make notebooks-html` writes pages whose MathJax is a local copy beside them, not a CDN.

Whether that copy really typesets the matrices is checked in a browser by
tests/test_browser.py (``make test-browser``); here only the page and the files are read.
"""

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from notebook_html import export

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "07_check_your_hand_calculation.ipynb"


class _Links(HTMLParser):
    """Every URL a page loads by itself: script src, link href, img src."""

    def __init__(self):
        super().__init__()
        self.scripts: list[str] = []
        self.loaded: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        url = attrs.get("href") if tag == "link" else attrs.get("src")
        if tag in ("script", "link", "img", "iframe") and url:
            self.loaded.append(url)


def _exported(tmp_path):
    (page,) = export([NOTEBOOK], tmp_path)
    assert page == tmp_path / "07_check_your_hand_calculation.html"
    links = _Links()
    links.feed(page.read_text(encoding="utf-8"))
    return page, links


def test_the_page_loads_mathjax_from_a_copy_beside_it(tmp_path):
    page, links = _exported(tmp_path)
    (mathjax,) = [src for src in links.scripts if "MathJax.js" in src]
    url = urlsplit(mathjax)
    assert not url.scheme and not url.netloc and not url.path.startswith("/")  # relative
    assert (page.parent / url.path).is_file()
    configs = parse_qs(url.query)["config"][0].split(",")
    assert configs == ["TeX-AMS-MML_HTMLorMML-full", "Safe"]
    for name in configs:
        assert (page.parent / "mathjax" / "config" / f"{name}.js").is_file()
    # The page asks for STIX-Web, the one web font the package ships.
    assert "STIX-Web" in page.read_text(encoding="utf-8")
    assert (page.parent / "mathjax" / "fonts" / "HTML-CSS" / "STIX-Web" / "woff").is_dir()


def test_the_page_loads_nothing_from_the_network(tmp_path):
    page, links = _exported(tmp_path)
    assert links.loaded  # the parser saw the page's scripts
    remote = [u for u in links.loaded if urlsplit(u).scheme in ("http", "https")
              or u.startswith("//")]
    assert remote == []
    assert "cdnjs.cloudflare.com/ajax/libs/mathjax" not in page.read_text(encoding="utf-8")


def test_the_page_holds_the_matrices_for_mathjax(tmp_path):
    """The saved outputs' LaTeX (the step-through's static form too) is in the page, in the
    delimiters nbconvert's MathJax configuration typesets."""
    page, _ = _exported(tmp_path)
    text = page.read_text(encoding="utf-8")
    assert text.count(r"\begin{bmatrix}") >= 10
    assert "$$" in text or r"\[" in text
