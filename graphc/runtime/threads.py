"""How many threads compiled code's parallel loops use (graphc.set_num_threads)."""
import os

__all__ = ["set_num_threads", "get_num_threads", "count"]

# one cell, read by every compiled call: the usable cores by default, as torch does
count = [len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)]


def set_num_threads(n):
    """Threads for intra-op work: compiled code's parallel loops (eager numpy is unaffected)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    count[0] = n


def get_num_threads():
    return count[0]
