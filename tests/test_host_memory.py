"""rl_aug.host_memory: glibc keeps freed tensor memory, so repeated large allocations stop faulting in pages."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from rl_aug.host_memory import keep_freed_memory

# Allocate and free a 64 MiB buffer (above glibc's largest mmap threshold) five times, touching every page;
# print the minor page faults of the last four rounds.
FAULTS = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from rl_aug.host_memory import keep_freed_memory
    if sys.argv[1] == "keep":
        assert keep_freed_memory()
    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for i in range(5):
        if i == 1:
            start = faults()
        a = np.empty(64 << 20, np.uint8)
        a.fill(1)
        del a
    print(faults() - start)
""")


def faults_of(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", FAULTS, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_freed_memory_is_reused_instead_of_faulted_in_again():
    kept = faults_of("keep")  # a fresh 64 MiB faults in 16384 4-KiB pages (32 huge pages with THP) each time
    assert kept < 100, f"{kept} faults for 4 reallocations of 64 MiB: freed memory was not kept"
    assert faults_of("default") > 4 * 32  # the default gives the buffer back to the kernel on every free


def test_trim_threshold_must_fit_mallopts_int():
    with pytest.raises(ValueError, match="got 4294967296"):
        keep_freed_memory(1 << 32)
    with pytest.raises(ValueError, match="got 0"):
        keep_freed_memory(0)
