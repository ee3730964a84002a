"""The memory this machine or its container has (``scheduler.tile_size_px: auto``)."""

from __future__ import annotations

import os

from tiles.memory import physical_memory


def test_the_machine_memory_is_its_ram_without_a_lower_limit(tmp_path):
    ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert physical_memory(limits=()) == ram
    unset = tmp_path / "memory.max"
    unset.write_text("max\n")  # cgroup v2 without a limit
    huge = tmp_path / "memory.limit_in_bytes"
    huge.write_text(f"{2**63 - 4096}\n")  # cgroup v1 without a limit
    assert physical_memory(limits=(unset, huge, tmp_path / "missing")) == ram


def test_a_container_limit_below_the_ram_is_the_memory(tmp_path):
    limit = tmp_path / "memory.max"
    limit.write_text("2147483648\n")  # docker run --memory 2g
    assert physical_memory(limits=(limit,)) == 2 * 2**30
