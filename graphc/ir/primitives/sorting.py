"""The sorting primitives: their declarations and numpy rules (the checks of values
that must also hold in compiled code live here). The torch-facing functions and gradient
rules built on them are in graphc.api.sorting.
"""
import numpy as np

from ..registry import primitive


def stable_order(x, dim, descending):
    """Indices that sort `x` along `dim`, stably (equal elements keep their order), NaN last when
    ascending and first when descending."""
    if not descending:
        return np.argsort(x, axis=dim, kind="stable")
    # a stable descending sort: sort the reversed array ascending and reverse back, so that
    # equal elements still come out in their original order
    size = x.shape[dim]
    reversed_order = np.argsort(np.flip(x, dim), axis=dim, kind="stable")
    return (size - 1) - np.flip(reversed_order, dim)


def _sort_indices_eager(x, dim, descending):
    if x.ndim == 0:
        return np.zeros((), dtype=np.int64)
    return stable_order(x, dim, descending).astype(np.int64, copy=False)


def _topk_indices_eager(x, k, dim, largest):
    if x.ndim == 0:
        return np.zeros((), dtype=np.int64)
    order = stable_order(x, dim, largest)
    return order.take(np.arange(k), axis=dim).astype(np.int64, copy=False)


def _kthvalue_indices_eager(x, k, dim, keepdim):
    order = np.argsort(x, axis=dim, kind="stable")
    indices = order.take(k - 1 if not keepdim else [k - 1], axis=dim)
    return indices.astype(np.int64, copy=False)


def _isclose_eager(a, b, rtol, atol, equal_nan):
    close = np.equal(a, b)
    floating = a.dtype.kind == "f"
    if equal_nan and floating:
        close |= np.isnan(a) & np.isnan(b)
    if rtol == 0 and atol == 0:
        return close
    if not floating:  # integers are compared exactly, without wrapping around (uint8)
        a, b = a.astype(np.float64), b.astype(np.float64)
    allowed = atol + rtol * np.abs(b)
    actual = np.abs(a - b)
    close |= np.isfinite(actual) & (actual <= allowed)
    return close


def _groups(rows):
    """Where each new group of equal consecutive rows starts: a bool per row. NaNs never equal
    each other, so each one is its own group (torch's rule)."""
    starts = np.ones(rows.shape[0], dtype=bool)
    if rows.shape[0] > 1:
        different = rows[1:] != rows[:-1]
        if rows.ndim > 1:  # slices differ when any of their elements does
            different = different.reshape(different.shape[0], -1).any(axis=1)
        starts[1:] = different
    return starts


def _unique_parts(x, dim, part, consecutive):
    """One output of unique/unique_consecutive: "values", "inverse" or "counts"."""
    if dim is None:
        rows, shape = x.reshape(-1), x.shape
    else:
        rows, shape = np.moveaxis(x, dim, 0), (x.shape[dim],)
    if consecutive:
        order = np.arange(rows.shape[0])
    elif dim is None:
        order = np.argsort(rows, kind="stable")
    elif rows[0].size == 0 if rows.shape[0] else True:
        order = np.arange(rows.shape[0])
    else:
        # slices in lexicographic order (stable): lexsort's last key is the primary one
        order = np.lexsort(rows.reshape(rows.shape[0], -1).T[::-1])
    ordered = rows[order]
    starts = _groups(ordered)
    if part == "values":
        values = ordered[starts]
        return values if dim is None else np.ascontiguousarray(np.moveaxis(values, 0, dim))
    if part == "inverse":
        inverse = np.empty(rows.shape[0], dtype=np.int64)
        inverse[order] = np.cumsum(starts) - 1
        return inverse.reshape(shape)
    boundaries = np.append(np.flatnonzero(starts), rows.shape[0])
    return np.diff(boundaries).astype(np.int64)


def _unique_eager(x, dim, part):
    return _unique_parts(x, dim, part, consecutive=False)


def _unique_consecutive_eager(x, dim, part):
    return _unique_parts(x, dim, part, consecutive=True)


_sort_indices = primitive("sort_indices", "sort", _sort_indices_eager,
                          attrs=("dim", "descending"), differentiable=False,
                          doc="stable argsort along `dim`; NaN is the largest value")
_topk_indices = primitive("topk_indices", "sort", _topk_indices_eager,
                          attrs=("k", "dim", "largest"), differentiable=False)
_kthvalue_indices = primitive("kthvalue_indices", "sort", _kthvalue_indices_eager,
                              attrs=("k", "dim", "keepdim"), differentiable=False,
                              doc="index of the k-th smallest element along `dim`")
_isclose = primitive("isclose", "other", _isclose_eager, attrs=("rtol", "atol", "equal_nan"),
                     differentiable=False)
_unique = primitive("unique", "sort", _unique_eager, attrs=("dim", "part"), differentiable=False,
                    doc="the sorted distinct values, the inverse indices or the counts (`part`)")
_unique_consecutive = primitive("unique_consecutive", "sort", _unique_consecutive_eager,
                                attrs=("dim", "part"), differentiable=False)
