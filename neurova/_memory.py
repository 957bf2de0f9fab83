"""Keep freed memory in the process for reuse: glibc's ``mallopt`` thresholds, raised.

glibc's malloc hands large blocks straight to the kernel (``mmap``, from 128 kB up, a threshold it raises as such
blocks are freed, to 32 MB at most) and gives the top of its heap back whenever more than twice that is free. Each
reuse of such memory then costs a page fault per 4 kB page, and the kernel zeroes every page. A training step of
``tiny_cnn_fusion`` (batch 32, 4 frames of 64x64) frees and allocates activations of 33.5 MB, above the largest
threshold: on a 2-core AMD EPYC (Zen 3) VM, 52-80 k page faults and 150-260 ms of kernel time per step of 320-410 ms
(2 threads); with the thresholds below, under 700 faults, under 10 ms and 227-254 ms (docs/benchmarks.md, "Training
throughput").
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "retain_freed_memory"]

MMAP_THRESHOLD = 256 << 20
"""Bytes from which a block still comes straight from the kernel and goes straight back (a recording-sized array)."""

TRIM_THRESHOLD = 1 << 30
"""Free bytes at the top of the heap kept for reuse before any go back to the kernel."""

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
_GLIBC_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


def retain_freed_memory(mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Let this process reuse the memory it frees, up to ``trim_threshold`` bytes, instead of returning it to the
    kernel at once; blocks of ``mmap_threshold`` bytes and more still come from and go back to the kernel.

    For the whole process, from the call on: call it first thing in a training or inference script. The
    process then holds on to the memory of its largest step (about what that step needs anyway) until it exits.
    Does nothing, and returns False, where the C library is not glibc (macOS, Windows, musl) or where the
    environment already sets glibc's malloc (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``,
    ``MALLOC_TOP_PAD_``, ``MALLOC_MMAP_MAX_`` or a ``glibc.malloc`` entry of ``GLIBC_TUNABLES``): those are the way
    to choose other values or none. Returns whether both thresholds were set.

    The ``neurova`` command calls it for every command.

    Raises:
        ValueError: a threshold outside ``0 .. 2**31 - 1`` bytes (``mallopt`` takes a C ``int``).
    """
    for name, value in (("mmap_threshold", mmap_threshold), ("trim_threshold", trim_threshold)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
            raise ValueError(f"{name} must be an integer number of bytes in 0 .. 2**31 - 1, got {value!r}")
    if any(name in os.environ for name in _GLIBC_SETTINGS) or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return False
        mallopt = ctypes.CDLL(None).mallopt
    except (ValueError, OSError, AttributeError):  # no such confstr name, no C library handle, no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))
