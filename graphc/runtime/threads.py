"""How many threads compiled code uses (graphc.set_num_threads): its parallel loops and the
BLAS/LAPACK routines it calls."""
import ctypes
import os

__all__ = ["set_num_threads", "get_num_threads", "count", "apply_to_blas"]


def _default():
    """OMP_NUM_THREADS when it names a positive count, as torch reads it; else the usable
    cores."""
    try:
        requested = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        requested = 0
    if requested > 0:
        return requested
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# one cell, read by every compiled call
count = [_default()]
_blas = []  # the OpenBLAS library compiled code links, once a library that calls it is loaded


def set_num_threads(n):
    """Threads for intra-op work: compiled code's parallel loops and its BLAS calls (eager numpy
    is unaffected)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    count[0] = n
    if _blas:
        _blas[0].scipy_openblas_set_num_threads(n)


def get_num_threads():
    return count[0]


def apply_to_blas(library_dir):
    """Give OpenBLAS (in `library_dir`) graphc's thread count: it would otherwise start one
    thread per core whatever set_num_threads or OMP_NUM_THREADS asked for."""
    if _blas or library_dir is None:
        return
    try:
        library = ctypes.CDLL(os.path.join(library_dir, "libscipy_openblas.so"))
        library.scipy_openblas_set_num_threads(count[0])
    except (OSError, AttributeError):
        return  # another BLAS build: it keeps its own threads
    _blas.append(library)
