"""Shared test configuration: hypothesis profiles.

* ``default`` – a bounded number of examples and no per-example deadline (numerical
  differentiation takes a variable few milliseconds), so ``make test`` stays fast.
* ``ci`` – the same bounds, derandomized (the same examples on every run, no example
  database), selected automatically when the environment variable CI is set.

Choose one explicitly with ``pytest --hypothesis-profile=ci``.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    parent=settings.get_profile("default"),
    derandomize=True,
    database=None,
    print_blob=True,
)
settings.load_profile("ci" if os.environ.get("CI") else "default")
