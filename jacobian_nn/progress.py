"""A progress bar for long example-by-example runs (``mode="lecture"``), silent otherwise.

The "lecture" mode runs ``Network.backprop`` for one example after another, every matrix
materialised: on the digits (n = 1797) one gradient takes seconds. When tqdm is installed
(the ``[notebooks]`` extra) such a run shows tqdm's bar — a widget in Jupyter, via
``tqdm.auto`` — and without tqdm it runs silently, exactly as before.

When a bar is shown, set ``SHOW`` (a module-level switch, as the API has no keyword for it):

* ``None`` (the default): for a batch of at least ``MIN_EXAMPLES`` examples, and then only once
  it has run for ``DELAY_SECONDS`` (tqdm's ``delay``), so quick runs never flash a bar; the bar
  is removed when the run ends (``leave=False``), so a training loop leaves nothing behind;
* ``True``: for every "lecture"-mode batch (still after ``DELAY_SECONDS``);
* ``False``: never.

>>> import jacobian_nn as jnn
>>> jnn.progress.SHOW = False   # no bars in this session
>>> jnn.progress.SHOW = None    # back to the default
"""

from __future__ import annotations

from collections.abc import Iterable

SHOW: bool | None = None
MIN_EXAMPLES = 1000
DELAY_SECONDS = 2.0


def examples(items: Iterable, n: int, what: str = "lecture mode, examples") -> Iterable:
    """``items`` (n examples), wrapped in tqdm's bar when ``SHOW`` asks for one and tqdm is
    importable; ``items`` itself otherwise."""
    if SHOW is False or (SHOW is None and n < MIN_EXAMPLES):
        return items
    try:
        from tqdm.auto import tqdm  # an optional extra: imported only for a long run
    except ImportError:
        return items
    return tqdm(items, total=n, desc=what, delay=DELAY_SECONDS, leave=False)
