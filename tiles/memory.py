"""How much memory this machine, or the container the run is in, has.

``scheduler.tile_size_px: auto`` sizes the processing tiles from it (:mod:`pipelines.run_plan`).
Read from the system (``sysconf``) and from the cgroup limits Docker and Kubernetes set
(v2 ``memory.max``, v1 ``memory.limit_in_bytes``), the lower of them: a container sees the
host's RAM in ``/proc/meminfo`` but may use only its limit.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["CGROUP_LIMITS", "physical_memory"]

#: Files that hold a cgroup's memory limit (v2, then v1), in bytes or ``max``.
CGROUP_LIMITS = (
    Path("/sys/fs/cgroup/memory.max"),
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
)


def physical_memory(limits: Iterable[Path] = CGROUP_LIMITS) -> int | None:
    """Return the bytes of memory the process may use, or None when the system does not say.

    The machine's RAM, or a cgroup limit of ``limits`` when it is lower (an unset limit
    reads ``max``, or a huge number in v1).
    """
    try:
        total: int | None = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX, or no such variable
        total = None
    for path in limits:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) > 0:
            total = int(text) if total is None else min(total, int(text))
    return total
