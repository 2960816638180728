"""Reduction and scan primitives (sum, prod, mean, amax/amin, argmax/argmin, all/any,
count_nonzero, cumsum/cumprod, median and mode indices, value_select) with their numpy rules.

The public functions, composites (std, var, norm, logsumexp, ...) and gradient rules are in
graphc.api.reductions.
"""
import numpy as np

from ... import dtypes as _dt
from ..registry import primitive


def _reduced_count(shape, dims):
    """How many elements each output element of a reduction over `dims` combines."""
    count = 1
    for axis in (range(len(shape)) if dims is None else dims):
        count *= shape[axis]
    return count


def _accumulate_in(dtype):
    """numpy dtype to accumulate in: float16 sums are accumulated in float32, like torch."""
    return np.float32 if dtype is _dt.float16 else dtype.np


def _sum_eager(x, dim, keepdim, dtype):
    out = np.add.reduce(x, dim, _accumulate_in(dtype), None, keepdim)
    return out if dtype is not _dt.float16 else out.astype(np.float16)


def _prod_eager(x, dim, keepdim, dtype):
    out = np.multiply.reduce(x, dim, _accumulate_in(dtype), None, keepdim)
    return out if dtype is not _dt.float16 else out.astype(np.float16)


def _mean_eager(x, dim, keepdim, dtype):
    total = np.add.reduce(x, dim, _accumulate_in(dtype), None, keepdim)
    count = _reduced_count(x.shape, dim)
    if count == 0:  # an empty reduction: 0/0 is nan, as in torch, without numpy's warning
        with np.errstate(invalid="ignore"):
            return np.true_divide(total, count).astype(dtype.np, copy=False)
    return np.true_divide(total, count).astype(dtype.np, copy=False)


def _amax_eager(x, dim, keepdim):
    return np.maximum.reduce(x, dim, None, None, keepdim)


def _amin_eager(x, dim, keepdim):
    return np.minimum.reduce(x, dim, None, None, keepdim)


def _index_result(indices):
    return np.asarray(indices).astype(np.int64, copy=False)


def _argmax_eager(x, dim, keepdim):
    # numpy, like torch, picks the first maximum and treats NaN as larger than everything
    return _index_result(np.argmax(x, axis=dim, keepdims=keepdim))


def _argmin_eager(x, dim, keepdim):
    return _index_result(np.argmin(x, axis=dim, keepdims=keepdim))


def _truth_result(out, x):
    # torch keeps uint8 for all/any of uint8 tensors (a legacy rule); everything else gives bool
    return out.astype(np.uint8) if x.dtype == np.uint8 else out


def _all_eager(x, dim, keepdim):
    return _truth_result(np.logical_and.reduce(x, dim, None, None, keepdim), x)


def _any_eager(x, dim, keepdim):
    return _truth_result(np.logical_or.reduce(x, dim, None, None, keepdim), x)


def _count_nonzero_eager(x, dim):
    return _index_result(np.count_nonzero(x, axis=dim))


def _scan(ufunc):
    def eager(x, dim, dtype):
        if x.ndim == 0:
            return x.astype(dtype.np)
        out = ufunc.accumulate(x, dim, _accumulate_in(dtype))
        return out if dtype is not _dt.float16 else out.astype(np.float16)
    return eager


def _value_select_eager(x, index, dim, keepdim):
    if x.ndim == 0:
        return x.copy()
    if x.ndim == 1:  # plain fancy indexing is several times faster than take_along_axis
        return x[index]
    if not keepdim:
        index = np.expand_dims(index, dim)
    values = np.take_along_axis(x, index, dim)
    return values if keepdim else values.squeeze(dim)


def _median_all_eager(x, ignore_nan):
    flat = x.reshape(-1)
    if x.dtype.kind == "f":
        missing = np.isnan(flat)
        if ignore_nan:
            flat = flat[~missing]
        elif missing.any():
            return np.full((), np.nan, dtype=x.dtype)
    if flat.size == 0:
        return np.full((), np.nan if x.dtype.kind == "f" else np.iinfo(x.dtype).min, x.dtype)
    middle = (flat.size - 1) // 2
    return np.asarray(np.partition(flat, middle)[middle])


def _keep_or_drop(indices, dim, keepdim):
    """Indices computed with the reduced dim kept, shaped as the op's result."""
    return indices if keepdim else indices.squeeze(dim)


def _median_indices_eager(x, dim, keepdim, ignore_nan):
    """Index of the lower median along `dim`: the element of rank (n-1)//2 in a stable sort, so
    ties resolve to the earlier position like torch. NaN: torch.median returns the first NaN;
    nanmedian takes the median of the other values."""
    order = np.argsort(x, axis=dim, kind="stable")  # NaN sorts last
    size = x.shape[dim]
    middle = order.take([(size - 1) // 2], axis=dim)
    if x.dtype.kind == "f":
        missing = np.isnan(x)
        if ignore_nan:
            present = size - np.count_nonzero(missing, axis=dim, keepdims=True)
            middle = np.take_along_axis(order, np.maximum(present - 1, 0) // 2, dim)
        else:
            first_nan = np.argmax(missing, axis=dim, keepdims=True)
            middle = np.where(missing.any(axis=dim, keepdims=True), first_nan, middle)
    return _keep_or_drop(middle, dim, keepdim)


def _mode_indices_eager(x, dim, keepdim):
    """Index of the mode along `dim`: the smallest of the most frequent values, at its last
    occurrence (what torch returns for rows of up to 16 elements; on longer rows torch's index
    among equal values depends on its unstable sort). NaNs never equal each other."""
    rows = np.moveaxis(x, dim, -1)
    order = np.argsort(rows, axis=-1, kind="stable")
    ordered = np.take_along_axis(rows, order, -1)
    positions = np.arange(ordered.shape[-1])
    starts_run = np.ones(ordered.shape, dtype=bool)
    starts_run[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    run_start = np.maximum.accumulate(np.where(starts_run, positions, 0), axis=-1)
    # the run length grows along a run, so the first maximum is the end of the first longest run
    last_of_best_run = np.argmax(positions - run_start, axis=-1)[..., None]
    indices = np.take_along_axis(order, last_of_best_run, -1)
    return _keep_or_drop(np.ascontiguousarray(np.moveaxis(indices, -1, dim)), dim, keepdim)


_sum = primitive("sum", "reduction", _sum_eager, attrs=("dim", "keepdim", "dtype"),
                 doc="sum over `dim` (tuple of dims, or None for all), accumulating in `dtype`")
_prod = primitive("prod", "reduction", _prod_eager, attrs=("dim", "keepdim", "dtype"))
_mean = primitive("mean", "reduction", _mean_eager, attrs=("dim", "keepdim", "dtype"))
_amax = primitive("amax", "reduction", _amax_eager, attrs=("dim", "keepdim"),
                  doc="maximum over `dim`; NaN propagates; ties share the gradient evenly")
_amin = primitive("amin", "reduction", _amin_eager, attrs=("dim", "keepdim"))
_argmax = primitive("argmax", "reduction", _argmax_eager, attrs=("dim", "keepdim"),
                    differentiable=False, doc="`dim` is one int, or None for the flat index")
_argmin = primitive("argmin", "reduction", _argmin_eager, attrs=("dim", "keepdim"),
                    differentiable=False)
_all = primitive("all", "reduction", _all_eager, attrs=("dim", "keepdim"), differentiable=False)
_any = primitive("any", "reduction", _any_eager, attrs=("dim", "keepdim"), differentiable=False)
_count_nonzero = primitive("count_nonzero", "reduction", _count_nonzero_eager, attrs=("dim",),
                           differentiable=False)
_cumsum = primitive("cumsum", "scan", _scan(np.add), attrs=("dim", "dtype"))
_cumprod = primitive("cumprod", "scan", _scan(np.multiply), attrs=("dim", "dtype"))
value_select = primitive(
    "value_select", "index", _value_select_eager, attrs=("dim", "keepdim"),
    doc="values of x at `index` along `dim` (keepdim=False: index lacks that dim); the values "
        "output of max(dim), median(dim), mode, sort, topk, kthvalue. VJP: scatter-add.")
_median_all = primitive("median_all", "sort", _median_all_eager, attrs=("ignore_nan",),
                        doc="lower median of all elements (nanmedian when ignore_nan)")
_median_indices = primitive("median_indices", "sort", _median_indices_eager,
                            attrs=("dim", "keepdim", "ignore_nan"), differentiable=False)
_mode_indices = primitive("mode_indices", "sort", _mode_indices_eager, attrs=("dim", "keepdim"),
                          differentiable=False)
