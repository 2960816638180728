"""A real BLAS for compiled matrix products: OpenBLAS from the scipy-openblas32 wheel.

Generated code calls its row-major sgemm/dgemm (symbols prefixed `scipy_`) and is linked
against the wheel's shared library; without the wheel, products stay graphc's loop nests.
"""
import functools
import importlib.util
import os

__all__ = ["library_dir", "link_flags", "GEMM", "LAPACK_PREFIX"]

GEMM = {"float": "scipy_cblas_sgemm", "double": "scipy_cblas_dgemm"}
# LAPACKE's row-major drivers (inverse, det, solve, cholesky, svd, eigh, qr) by C type;
# templates/c/elementwise.c.j2 declares them
LAPACK_PREFIX = {"float": "scipy_LAPACKE_s", "double": "scipy_LAPACKE_d"}


@functools.lru_cache(maxsize=None)
def library_dir():
    """The folder holding libscipy_openblas, or None when the wheel is not installed. Found
    without importing the package (its import reads package metadata: ~40 ms of a warm start)."""
    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is None or spec.origin is None:
        return None
    folder = os.path.join(os.path.dirname(spec.origin), "lib")
    return folder if os.path.isdir(folder) else None


def link_flags(source):
    """The linker flags a generated source needs (BLAS only when it calls it)."""
    folder = library_dir()
    if folder is None or ("scipy_cblas_" not in source and "scipy_LAPACKE_" not in source):
        return []
    return [f"-L{folder}", "-lscipy_openblas", f"-Wl,-rpath,{folder}"]
