"""The heap: an update's freed temporaries stay with the process instead of being faulted in
again at the next update (glibc's malloc; ``_kernels.keep_temporaries_on_heap``)."""

import os
import platform
import subprocess
import sys

import pytest

UPDATES = """
import resource, sys
import numpy as np
from jacobian_nn import _kernels

if sys.argv[1] != "default":  # the bytes asked for; beyond 32 MiB the block is kept just under
    _kernels.keep_temporaries_on_heap(int(sys.argv[1]))


def update():  # six (1797, 32) temporaries alive at once, then all freed, as in the small net
    arrays = [np.ones((1797, 32)) for _ in range(6)]
    del arrays


update()
update()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    update()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(how: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", UPDATES, how], capture_output=True, text=True,
                         check=True, env=env)
    return int(out.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc thresholds")
@pytest.mark.parametrize("asked", [8 * 2**20, 2**40])
def test_kept_temporaries_are_not_faulted_in_again_at_every_update(asked):
    # 20 updates of 6 × 460 KB: with glibc's first thresholds the heap's top is trimmed after
    # each update and its ~675 pages faulted back in at the next; kept, they are reused.
    default, kept = page_faults("default"), page_faults(str(asked))
    assert default > 20 * 300
    assert kept < default / 20
