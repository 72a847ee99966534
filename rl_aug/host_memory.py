"""Keep freed tensor memory inside the process on glibc Linux, so CPU updates stop paying for page faults.

glibc's malloc serves every allocation above its mmap threshold (at most 32 MiB on 64-bit) with a fresh `mmap`
and gives it back with `munmap` when freed. A SAC+DrQ update at batch 128 on 9x84x84 inputs allocates and frees
conv activations of tens of MB dozens of times, so the kernel zero-fills gigabytes of new pages per update, a large
share of a CPU update's time; the two settings below remove most of those page faults (measured with
benchmarks/update.py `--malloc default|keep`: see BENCHMARKS.md, "Host memory").

torch has no caching allocator on the CPU and jemalloc / tcmalloc are not part of the dependencies, so this is
written by hand: two `mallopt` calls through ctypes. The cost is that memory freed by the process stays mapped
to it (peak resident memory is the high-water mark; BENCHMARKS.md has the measured cost); the process's
results do not change (allocation placement never enters the arithmetic).
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # glibc malloc.h: free memory at the top of the heap above this is given back
M_MMAP_MAX = -4  # glibc malloc.h: how many allocations may be served by mmap (0: none, all from the heap)
TRIM_THRESHOLD_BYTES = 1 << 30  # above one update's transient peak, so the heap is not shrunk between updates


def keep_freed_memory(trim_threshold: int = TRIM_THRESHOLD_BYTES) -> bool:
    """Serve large allocations from the heap and keep up to `trim_threshold` bytes of freed memory mapped.

    Returns True when applied; False where it cannot be (not Linux, or a C library without glibc's `mallopt`,
    e.g. musl), which leaves the allocator as it was. Process-wide and idempotent."""
    if not 0 < trim_threshold < 2**31:
        raise ValueError(f"expected trim_threshold in bytes, 1 .. 2**31 - 1 (mallopt takes a C int), got {trim_threshold}")
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")  # glibc's soname on Linux; musl has none
        # gnu_get_libc_version: only glibc has it (and glibc's meaning of the mallopt parameters)
        mallopt, _ = libc.mallopt, libc.gnu_get_libc_version
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1
