"""The linalg primitives: their declarations and numpy rules (the checks of values
that must also hold in compiled code live here). The torch-facing functions and gradient
rules built on them are in graphc.api.linalg.
"""
import math

import numpy as np

from ..registry import primitive

_inf = math.inf


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a decomposition failed because of the input's values (a singular
    matrix, one that is not positive-definite)."""

    __module__ = "graphc.linalg"


def _matmul_eager(a, b):
    if a.dtype.char == "e":  # torch accumulates half products in float
        return np.matmul(a.astype(np.float32), b.astype(np.float32)).astype(np.float16)
    return np.matmul(a, b)


def _trace_eager(x):
    if x.dtype.kind in "biu":
        return np.trace(x, dtype=np.int64)
    if x.dtype.char == "e":
        return np.asarray(np.trace(x, dtype=np.float32), dtype=np.float16)
    return np.trace(x)


def _diag_embed_eager(x, offset, dim1, dim2):
    """Put the last dim of `x` on the `offset` diagonal of the new dims (dim1, dim2)."""
    length = x.shape[-1]
    size = length + abs(offset)
    out = np.zeros(x.shape[:-1] + (size, size), dtype=x.dtype)
    index = np.arange(length)
    out[..., index + max(-offset, 0), index + max(offset, 0)] = x
    if (dim1, dim2) != (out.ndim - 2, out.ndim - 1):
        out = np.ascontiguousarray(np.moveaxis(out, (-2, -1), (dim1, dim2)))
    return out


def _cross_eager(a, b, dim):
    return np.cross(a, b, axisa=dim, axisb=dim, axisc=dim)


def _inverse_eager(a):
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise _singular_inverse_error(a) from None


def _det_eager(a):
    return np.asarray(np.linalg.det(a))


def _solve_eager(a, b, left):
    try:
        if left:
            return np.linalg.solve(a, b)
        return np.ascontiguousarray(
            np.swapaxes(np.linalg.solve(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2)), -1, -2))
    except np.linalg.LinAlgError:
        prefix = _batch_prefix(a, _first_failing(a, np.linalg.inv))
        raise LinAlgError(f"torch.linalg.solve: {prefix}The solver failed because the input "
                          "matrix is singular.") from None


def _cholesky_eager(a, upper):
    try:
        return np.linalg.cholesky(a, upper=upper)
    except np.linalg.LinAlgError:
        raise _not_positive_definite_error(a) from None


def _svd_u_eager(a, full_matrices):
    return np.linalg.svd(a, full_matrices=full_matrices)[0]


def _svd_vh_eager(a, full_matrices):
    return np.linalg.svd(a, full_matrices=full_matrices)[2]


def _svd_v_eager(a, full_matrices):
    """torch.svd's V: the transpose of Vh, laid out contiguously as torch does."""
    return np.ascontiguousarray(np.swapaxes(_svd_vh_eager(a, full_matrices), -1, -2))


def _qr_eager(a, mode, part):
    if mode == "r":
        return np.zeros(0, dtype=a.dtype) if part == 0 else np.linalg.qr(a, mode="r")
    return np.linalg.qr(a, mode=mode)[part]


def _vector_norm_eager(x, ord, dims, keepdim, dtype):
    """sum(|x|^ord)^(1/ord) over `dims` (all dims when None), in `dtype` (half computes in
    float)."""
    work = x.astype(np.float32 if dtype.np.char == "e" else dtype.np, copy=False)
    if x.ndim == 0:
        dims = None
    magnitude = np.abs(work)
    if ord == 2:
        result = np.sqrt(np.sum(magnitude * magnitude, axis=dims, keepdims=keepdim))
    elif ord == 1:
        result = np.sum(magnitude, axis=dims, keepdims=keepdim)
    elif ord == _inf:
        result = np.max(magnitude, axis=dims, keepdims=keepdim)
    elif ord == -_inf:
        result = np.min(magnitude, axis=dims, keepdims=keepdim)
    elif ord == 0:
        result = np.sum(magnitude != 0, axis=dims, keepdims=keepdim, dtype=work.dtype)
    else:
        with np.errstate(divide="ignore"):  # 0 ** -p is inf, as in torch
            total = np.sum(np.power(magnitude, ord), axis=dims, keepdims=keepdim)
        result = np.power(total, 1.0 / ord)
    return np.asarray(result, dtype=dtype.np)


def _matrix_norm_eager(x, ord, dims, keepdim):
    """The ±1, ±inf (max/min of column or row sums), ±2 and nuclear (singular values) norms."""
    work = x.astype(np.float32, copy=False) if x.dtype.char == "e" else x
    if ord in ("nuc", 2, -2):
        singular = np.linalg.svd(np.moveaxis(work, dims, (-2, -1)), compute_uv=False)
        if ord == "nuc":
            result = singular.sum(-1)
        elif ord == 2:
            result = singular.max(-1, initial=0)
        else:
            result = singular.min(-1)
        if keepdim:
            result = np.expand_dims(result, tuple(sorted(dims)))
    else:
        summed, compared = dims if abs(ord) == 1 else dims[::-1]
        sums = np.sum(np.abs(work), axis=summed, keepdims=True)
        if ord > 0:
            result = np.max(sums, axis=compared, keepdims=True, initial=0)
        else:
            result = np.min(sums, axis=compared, keepdims=True)
        if not keepdim:
            result = np.squeeze(result, axis=dims)
    return np.asarray(result, dtype=x.dtype)


_MATMUL = primitive("matmul", "linalg", _matmul_eager,
                    doc="numpy's matmul: batch dims broadcast, 1-D operands promoted and squeezed")
_TRACE = primitive("trace", "linalg", _trace_eager)
_DIAG_EMBED = primitive("diag_embed", "linalg", _diag_embed_eager,
                        attrs=("offset", "dim1", "dim2"))
_TRIU = primitive("triu", "linalg", lambda x, diagonal: np.triu(x, diagonal), attrs=("diagonal",))
_TRIL = primitive("tril", "linalg", lambda x, diagonal: np.tril(x, diagonal), attrs=("diagonal",))
_CROSS = primitive("cross", "linalg", _cross_eager, attrs=("dim",))
_INVERSE = primitive("inverse", "linalg", _inverse_eager)
_DET = primitive("det", "linalg", _det_eager)
_SLOGDET_SIGN = primitive("slogdet_sign", "linalg", lambda a: np.linalg.slogdet(a)[0],
                          differentiable=False)
_SLOGDET_LOGABSDET = primitive("slogdet_logabsdet", "linalg", lambda a: np.linalg.slogdet(a)[1])
_SVD_U = primitive("svd_u", "linalg", _svd_u_eager, attrs=("full_matrices",))
_SVD_S = primitive("svd_s", "linalg", lambda a: np.linalg.svd(a, compute_uv=False))
_SVD_VH = primitive("svd_vh", "linalg", _svd_vh_eager, attrs=("full_matrices",))
_SVD_V = primitive("svd_v", "linalg", _svd_v_eager, attrs=("full_matrices",))
_SOLVE = primitive("solve", "linalg", _solve_eager, attrs=("left",))
_CHOLESKY = primitive("cholesky", "linalg", _cholesky_eager, attrs=("upper",))
_EIGH_VALUES = primitive("eigh_values", "linalg",
                         lambda a, uplo: np.linalg.eigvalsh(a, UPLO=uplo), attrs=("uplo",))
_EIGH_VECTORS = primitive("eigh_vectors", "linalg",
                          lambda a, uplo: np.linalg.eigh(a, UPLO=uplo)[1], attrs=("uplo",))
_QR_Q = primitive("qr_q", "linalg", lambda a, mode: _qr_eager(a, mode, 0), attrs=("mode",))
_QR_R = primitive("qr_r", "linalg", lambda a, mode: _qr_eager(a, mode, 1), attrs=("mode",))
_VECTOR_NORM = primitive("vector_norm", "linalg", _vector_norm_eager,
                         attrs=("ord", "dims", "keepdim", "dtype"))
_MATRIX_NORM = primitive("matrix_norm", "linalg", _matrix_norm_eager,
                         attrs=("ord", "dims", "keepdim"))


def _batch_prefix(a, index):
    return f"(Batch element {index}): " if a.ndim > 2 else ""


def _first_failing(a, factorization):
    """Index (in the flattened batch) of the first matrix that `factorization` refuses."""
    for index, matrix in enumerate(a.reshape((-1,) + a.shape[-2:])):
        try:
            factorization(matrix)
        except np.linalg.LinAlgError:
            return index
    return 0


def _first_zero_pivot(matrix):
    """1-based position of the first exactly-zero pivot of LU with partial pivoting (LAPACK's
    getrf `info`), which torch reports for singular matrices."""
    work = np.array(matrix, copy=True)
    size = work.shape[0]
    for k in range(size):
        pivot = k + int(np.argmax(np.abs(work[k:, k])))
        if work[pivot, k] == 0:
            return k + 1
        work[[k, pivot]] = work[[pivot, k]]
        work[k + 1:, k:] -= np.outer(work[k + 1:, k] / work[k, k], work[k, k:])
    return size


def _singular_inverse_error(a):
    index = _first_failing(a, np.linalg.inv)
    matrix = a.reshape((-1,) + a.shape[-2:])[index]
    return LinAlgError(
        f"linalg.inv: {_batch_prefix(a, index)}The diagonal element {_first_zero_pivot(matrix)} "
        "is zero, the inversion could not be completed because the input matrix is singular.")


def _not_positive_definite_error(a):
    index = _first_failing(a, np.linalg.cholesky)
    matrix = a.reshape((-1,) + a.shape[-2:])[index]
    # LAPACK's potrf reports the first leading minor that has no Cholesky factor
    order = next((k for k in range(1, matrix.shape[0] + 1)
                  if not _is_positive_definite(matrix[:k, :k])), matrix.shape[0])
    return LinAlgError(
        f"linalg.cholesky: {_batch_prefix(a, index)}The factorization could not be completed "
        f"because the input is not positive-definite (the leading minor of order {order} is not "
        "positive-definite).")


def _is_positive_definite(matrix):
    try:
        np.linalg.cholesky(matrix)
        return True
    except np.linalg.LinAlgError:
        return False
