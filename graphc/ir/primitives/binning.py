"""The binning primitives: their declarations and numpy rules (the checks of values
that must also hold in compiled code live here). The torch-facing functions and gradient
rules built on them are in graphc.api.binning.
"""
import numpy as np

from ..registry import primitive


def _histc_range(x, low, high):
    """torch's outer edges: the data's range when min == max (then widened by 1 if it is a
    single value); finite and increasing, or an error."""
    if low == high and x.size:
        low, high = float(np.min(x)), float(np.max(x))
    if low == high:
        low, high = low - 1, high + 1
    if not (np.isfinite(low) and np.isfinite(high)):
        raise RuntimeError(f"torch.histc: range of [{low:g}, {high:g}] is not finite")
    if not low < high:
        raise RuntimeError("torch.histc: max must be larger than min")
    return low, high


def _histc_eager(x, bins, low, high):
    low, high = _histc_range(x, low, high)
    kind = x.dtype.type
    left, right = kind(low), kind(high)  # the edges in the input's dtype, as torch's linspace
    flat = x.reshape(-1)
    inside = flat[(flat >= left) & (flat <= right)]  # NaN is outside
    # torch's linear interpolation (no search), in the input's dtype; the top edge joins the
    # last bin
    position = ((inside - left) * kind(bins) / (right - left)).astype(np.int64)
    position = np.minimum(position, bins - 1)
    return np.bincount(position, minlength=bins).astype(x.dtype)


def _bincount_eager(x, *weights, minlength):
    if x.size and x.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if not weights:
        return np.bincount(x, minlength=minlength).astype(np.int64)
    (w,) = weights
    dtype = w.dtype if w.dtype in (np.float32, np.float64) else np.float64
    return np.bincount(x, weights=w.astype(np.float64), minlength=minlength).astype(dtype)


def _bisect(boundaries, values, sorter, right):
    """For each row of `values`, the insertion points into the same row of `boundaries`, by
    torch's binary search: a value goes after every boundary b with not (b >= value) (left) or
    not (b > value) (right), so NaN values go to the end (numpy's searchsorted differs there)."""
    rows, length = boundaries.shape
    start = np.zeros(values.shape, dtype=np.int64)
    end = np.full(values.shape, length, dtype=np.int64)
    row_index = np.arange(rows)[:, None]
    while True:
        active = start < end
        if not active.any():
            return start
        middle = (start + end) // 2
        column = np.minimum(middle, length - 1)
        if sorter is not None:
            column = sorter[row_index, column]
        boundary = boundaries[row_index, column]
        after = ~(boundary > values) if right else ~(boundary >= values)
        start = np.where(active & after, middle + 1, start)
        end = np.where(active & ~after, middle, end)


def _searchsorted_eager(boundaries, values, *sorter, right, out_int32):
    sorter = sorter[0] if sorter else None
    length = boundaries.shape[-1]
    if sorter is not None and sorter.size and (sorter.min() < 0 or sorter.max() >= length):
        raise RuntimeError("torch.searchsorted(): sorter index out of range")
    shape = values.shape
    if boundaries.ndim == 1:
        rows_b, rows_v = boundaries.reshape(1, -1), values.reshape(1, -1)
        rows_s = None if sorter is None else sorter.reshape(1, -1)
    else:
        rows_b = boundaries.reshape(-1, length)
        rows_v = values.reshape(rows_b.shape[0], -1)
        rows_s = None if sorter is None else sorter.reshape(-1, length)
    result = _bisect(rows_b, rows_v, rows_s, right).reshape(shape)
    return result.astype(np.int32 if out_int32 else np.int64)


def _isin_eager(elements, test_elements, invert):
    return np.isin(elements, test_elements, invert=invert)


_histc = primitive("histc", "other", _histc_eager, attrs=("bins", "low", "high"),
                   differentiable=False, doc="counts of the values in `bins` equal-width bins")
_bincount = primitive("bincount", "other", _bincount_eager, attrs=("minlength",),
                      differentiable=False, doc="occurrences (or summed weights) of each integer")
_searchsorted = primitive("searchsorted", "sort", _searchsorted_eager,
                          attrs=("right", "out_int32"), differentiable=False,
                          doc="insertion points of values into sorted rows")
_isin = primitive("isin", "other", _isin_eager, attrs=("invert",), differentiable=False,
                  doc="whether each element occurs among the test elements")
