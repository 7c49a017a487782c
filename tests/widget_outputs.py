"""Widget outputs in a saved notebook: reproducible, and falling back to static math.

Executing a notebook gives every ipywidgets model a random id, which nbclient saves in each
widget output and, with the models' state, in the notebook's metadata; re-running an
unchanged notebook would change its file every time. And where a saved state is present,
nbconvert's HTML renders the widget from that state with a script fetched from a CDN (blank
offline) instead of the output's static text/latex form. ``make_reproducible`` therefore
drops the saved state and numbers the widget outputs in order: a kernel re-running the cell
makes a live widget again, and every static viewer shows the output's LaTeX and text.
"""

from __future__ import annotations

import uuid

VIEW_MIME = "application/vnd.jupyter.widget-view+json"


def make_reproducible(nb) -> None:
    """Drop the saved widget state of ``nb`` (read by nbformat) and renumber its widget outputs,
    in place."""
    nb.get("metadata", {}).pop("widgets", None)
    views = [out["data"][VIEW_MIME] for cell in nb.cells for out in cell.get("outputs", [])
             if VIEW_MIME in out.get("data", {})]
    for n, view in enumerate(views):
        view["model_id"] = uuid.uuid5(uuid.NAMESPACE_URL, f"jacobian_nn/widget/{n}").hex
