"""A real BLAS for compiled matrix products: OpenBLAS from the scipy-openblas32 wheel.

Generated code calls its row-major sgemm/dgemm (symbols prefixed `scipy_`) and is linked
against the wheel's shared library; without the wheel, products stay graphc's loop nests.
"""
import functools
import importlib.util
import os

__all__ = ["library_dir", "link_flags", "GEMM", "LAPACK_PREFIX", "lapack_declarations"]

GEMM = {"float": "scipy_cblas_sgemm", "double": "scipy_cblas_dgemm"}
# LAPACKE's row-major drivers (inverse, det, solve, cholesky, svd, eigh, qr) by C type
LAPACK_PREFIX = {"float": "scipy_LAPACKE_s", "double": "scipy_LAPACKE_d"}


def lapack_declarations(ctype):
    """C prototypes of the LAPACKE functions compiled linear algebra calls (32-bit ints)."""
    f = LAPACK_PREFIX[ctype]
    return [f"int {f}getrf(int layout, int m, int n, {ctype} *a, int lda, int *ipiv);",
            f"int {f}getri(int layout, int n, {ctype} *a, int lda, const int *ipiv);",
            f"int {f}gesv(int layout, int n, int nrhs, {ctype} *a, int lda, int *ipiv, "
            f"{ctype} *b, int ldb);",
            f"int {f}potrf(int layout, char uplo, int n, {ctype} *a, int lda);",
            f"int {f}gesdd(int layout, char jobz, int m, int n, {ctype} *a, int lda, "
            f"{ctype} *s, {ctype} *u, int ldu, {ctype} *vt, int ldvt);",
            f"int {f}syevd(int layout, char jobz, char uplo, int n, {ctype} *a, int lda, "
            f"{ctype} *w);",
            f"int {f}geqrf(int layout, int m, int n, {ctype} *a, int lda, {ctype} *tau);",
            f"int {f}orgqr(int layout, int m, int n, int k, {ctype} *a, int lda, "
            f"const {ctype} *tau);"]


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
