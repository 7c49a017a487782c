"""Notebook 07 and the offline HTML export in a real browser: headless chromium via Selenium.

``make test-browser`` runs these (and installs Debian's chromium and chromium-driver, and the
``[browser]`` extra, first); ``make test`` deselects them. JupyterLab runs on localhost on a
free port with a random token, on a temporary copy of notebooks/ (so the tree stays clean),
and is shut down, kernel included, when the tests end. Screenshots go to build/browser/.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from notebook_html import export

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parent.parent
NOTEBOOK = "07_check_your_hand_calculation.ipynb"
SCREENSHOTS = ROOT / "build" / "browser"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# As root chromium needs --no-sandbox; without the background-networking flags it tries
# services outside this machine and its own connections get refused.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1280,1600"]
RAW_MATRIX = r"\begin{bmatrix}"
TIMEOUT = 120  # seconds for any one wait: a broken page fails instead of hanging


def _wait(condition, what: str, driver=None, timeout: float = TIMEOUT):
    """Poll ``condition()`` until it returns something truthy; return that, or fail (with a
    screenshot of ``driver``'s page, and the text of any dialog on it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    message = f"timed out after {timeout} s waiting for {what} (last: {value!r:.300})"
    if driver is not None:
        shot = SCREENSHOTS / "timed_out.png"
        driver.save_screenshot(str(shot))
        dialog = driver.execute_script("return document.querySelector('.jp-Dialog')?.innerText")
        message += f"; dialog on the page: {dialog!r}; screenshot: {shot}"
    pytest.fail(message)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(TIMEOUT)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lab_settings(folder: Path) -> None:
    """JupyterLab settings for the test: every cell rendered (no windowing, so MathJax typesets
    the whole notebook), and no news or update checks (there is no internet)."""
    files = {
        "notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false", "checkForUpdates": False},
    }
    for name, settings in files.items():
        path = folder / "@jupyterlab" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(base URL, token) of a JupyterLab on localhost serving a copy of notebooks/, in which
    notebook 07 has no outputs: whatever the page then shows, the browser's run made."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    nb = nbformat.read(root / NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, root / NOTEBOOK)
    _lab_settings(tmp / "settings")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"))
    log = (tmp / "jupyter.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--allow-root",
         f"--port={port}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={token}",
         f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: server.poll() is not None or _get(f"{base}/api/status", token),
              "JupyterLab's /api/status")
        assert server.poll() is None, (tmp / "jupyter.log").read_text()
        yield base, token
    finally:
        _stop(server, base, token)
        log.close()


def _get(url: str, token: str):
    try:
        with urllib.request.urlopen(f"{url}?token={token}", timeout=5) as response:
            return json.load(response)
    except OSError:
        return None


def _post(url: str, token: str, body: dict | None = None) -> None:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Authorization": f"token {token}",
                                              "Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).close()


def _stop(server: subprocess.Popen, base: str, token: str) -> None:
    """Shut the server down through its API (it stops its kernels), then make sure: SIGTERM,
    then SIGKILL, to its whole process group."""
    try:
        _post(f"{base}/api/shutdown", token)
        server.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if server.poll() is not None:
            break
        os.killpg(server.pid, sig)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            continue


# Run in the page: the rendered outputs of every code cell, and what they show.
OUTPUTS_JS = """
const outs = Array.from(document.querySelectorAll('.jp-Notebook .jp-OutputArea-output'));
return {
  text: outs.map(o => o.innerText).join('\\n'),
  latex: Array.from(document.querySelectorAll('.jp-Notebook .jp-RenderedLatex')).map(
      o => o.querySelectorAll('mjx-container').length),
  errors: document.querySelectorAll(
      '.jp-Notebook [data-mime-type="application/vnd.jupyter.stderr"]').length,
};
"""
PROMPTS_JS = """
return Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt'))
            .map(p => p.innerText.trim());
"""


def _all_ran(driver) -> list[str] | None:
    """The input prompts once every code cell has run: [1] … [n] in order (no [*], no [ ])."""
    prompts = driver.execute_script(PROMPTS_JS)
    return prompts if prompts == [f"[{i}]:" for i in range(1, len(prompts) + 1)] else None


def _click_menu(driver, menu: str, command: str) -> None:
    from selenium.webdriver.common.by import By

    items = driver.find_elements(By.CSS_SELECTOR, "#jp-MainMenu .lm-MenuBar-item")
    (item,) = [i for i in items if i.text.strip() == menu]
    item.click()
    entry = _wait(lambda: driver.find_elements(
        By.CSS_SELECTOR, f'.lm-Menu-item[data-command="{command}"]'),
        f"menu entry {command}", driver)
    entry[0].click()


def _step_view(driver):
    """(the "step i of n" label, the formula's text, its typeset math count) of the widget."""
    return driver.execute_script("""
        const label = Array.from(document.querySelectorAll('.jp-Notebook .widget-label'))
                           .find(l => /^step \\d+ of \\d+$/.test(l.innerText.trim()));
        if (!label) return null;
        const box = label.closest('.widget-vbox');
        const math = box.querySelector('.widget-htmlmath');
        return [label.innerText.trim(), math.innerText,
                math.querySelectorAll('mjx-container').length];
    """)


def test_notebook_07_typesets_and_steps_in_jupyterlab(browser, lab):
    from selenium.webdriver.common.by import By

    base, token = lab
    # The notebook's kernel is started through the API first: JupyterLab then opens the
    # notebook on that session instead of asking for a kernel when its list of kernels is not
    # loaded yet (a dialog that otherwise comes up on some runs).
    _post(f"{base}/api/sessions", token, {"path": NOTEBOOK, "name": NOTEBOOK, "type": "notebook",
                                          "kernel": {"name": "python3"}})
    browser.get(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-CodeCell"),
          "the notebook's cells", browser)
    _wait(lambda: browser.execute_script(
        "return document.querySelector('.jp-Notebook-ExecutionIndicator')"
        "?.getAttribute('data-status') === 'idle'"), "the kernel to be idle", browser)
    _click_menu(browser, "Run", "runmenu:run-all")  # Run > Run All Cells
    _wait(lambda: _all_ran(browser), "every cell to have run", browser)
    _wait(lambda: _step_view(browser), "the step-through widget", browser)
    outputs = _wait(lambda: (lambda o: o if o["latex"] and all(o["latex"]) else None)(
        browser.execute_script(OUTPUTS_JS)), "MathJax to typeset every LaTeX output", browser)
    assert outputs["errors"] == 0, outputs["text"]
    assert RAW_MATRIX not in outputs["text"]
    assert "PASSED" in outputs["text"] and "FAILED" in outputs["text"]  # the checks rendered

    label, formula, typeset = _wait(lambda: (lambda v: v if v and v[2] else None)(
        _step_view(browser)), "the first step's formula to be typeset", browser)
    n = int(re.fullmatch(r"step 1 of (\d+)", label).group(1))
    assert n > 2 and RAW_MATRIX not in formula
    browser.save_screenshot(str(SCREENSHOTS / "07_step_1.png"))

    (next_button,) = [b for b in browser.find_elements(By.CSS_SELECTOR, ".jp-Notebook button")
                      if b.text.strip() == "Next"]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", next_button)
    next_button.click()
    label2, formula2, _ = _wait(lambda: (lambda v: v if v[0] != label and v[2] else None)(
        _step_view(browser)), "the step-through to show the next step", browser)
    assert label2 == f"step 2 of {n}"
    assert formula2 != formula and RAW_MATRIX not in formula2
    browser.save_screenshot(str(SCREENSHOTS / "07_step_2.png"))


def test_the_html_export_typesets_offline(browser, tmp_path):
    (page,) = export([ROOT / "notebooks" / NOTEBOOK], tmp_path)
    browser.get_log("browser")  # read (and so drop) what earlier pages logged
    browser.get(page.as_uri())
    _wait(lambda: browser.execute_script(
        "return window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0"
        " && MathJax.Hub.queue.running === 0 && document.querySelector('.MathJax') !== null"),
        "MathJax to finish typesetting", browser)
    shown = browser.execute_script("""
        return {
          math: document.querySelectorAll('script[type^="math/tex"]').length,
          typeset: document.querySelectorAll('.MathJax').length,
          errors: document.querySelectorAll('.MathJax_Error, merror').length,
          version: MathJax.version,
          text: document.body.innerText,
        };
    """)
    assert shown["math"] >= 3 and shown["typeset"] == shown["math"] and shown["errors"] == 0
    assert shown["version"].startswith("2.")
    assert RAW_MATRIX not in shown["text"]
    # A request the page made that failed is logged by its URL: none may be a web address.
    failed = [e["message"] for e in browser.get_log("browser") if e["source"] == "network"]
    assert not [m for m in failed if re.match(r"https?:", m)], failed
    browser.save_screenshot(str(SCREENSHOTS / "07_offline_html.png"))
