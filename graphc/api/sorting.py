"""Sorting and comparison utilities: sort, argsort, msort, topk, kthvalue, unique,
unique_consecutive, equal, allclose, isclose.

Ops with values and indices compute the indices with a non-differentiable primitive and gather
the values with `reductions.value_select` (one gradient rule for all of them). Sorting is stable
and treats NaN as larger than every number, like torch. Which of several tied elements topk and
kthvalue report is unspecified in torch; here it is always the earliest one.
"""
import numpy as np

from .. import dtypes as _dt
from .. import dispatch as _dispatch
from ..runtime import cpu as _cpu
from ..autograd.node import rename_node as _rename_node
from .elementwise import write_out as _write_out
from .reductions import check_keepdim, named_result, single_dim, _check_nonempty
from ..ir.primitives.reductions import value_select
from .shape import reshape as _reshape, wrap_dim as _wrap_dim
from ..ir.primitives.sorting import (_isclose, _kthvalue_indices, _sort_indices, _topk_indices,
                                     _unique, _unique_consecutive)

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "unique", "unique_consecutive",
           "equal", "allclose", "isclose"]

_apply = _dispatch.apply


def _sort_dim(input, dim, name):
    ndim = input._data.ndim
    if ndim == 0:
        _wrap_dim(dim, 0)
        return 0
    return single_dim(dim, ndim, name)


def sort(input, dim=-1, descending=False, stable=False, *, out=None):
    """torch.return_types.sort(values, indices) along `dim`. Always stable: equal elements keep
    their order (torch only promises that with stable=True)."""
    dim = _sort_dim(input, dim, "sort")
    indices = _apply(_sort_indices, (input,), {"dim": dim, "descending": bool(descending)})
    values = _rename_node(_apply(value_select, (input, indices), {"dim": dim, "keepdim": True}),
                          "SortBackward0")
    if out is not None:
        _write_out(values, out[0])
        _write_out(indices, out[1])
        return named_result("sort", out[0], out[1])
    return named_result("sort", values, indices)


def argsort(input, dim=-1, descending=False, stable=False):
    dim = _sort_dim(input, dim, "argsort")
    return _apply(_sort_indices, (input,), {"dim": dim, "descending": bool(descending)})


def msort(input):
    """Values sorted along the first dim."""
    return sort(input, 0)[0]


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):
    """The k largest (or smallest) elements along `dim`, in order: torch.return_types.topk."""
    if input._dtype is _dt.bool:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    dim = _sort_dim(input, dim, "topk")
    size = input._data.shape[dim] if input._data.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"topk(): argument 'k' must be int, not {type(k).__name__}")
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    indices = _apply(_topk_indices, (input,), {"k": int(k), "dim": dim, "largest": bool(largest)})
    values = _rename_node(_apply(value_select, (input, indices), {"dim": dim, "keepdim": True}),
                          "TopkBackward0")
    if out is not None:
        _write_out(values, out[0])
        _write_out(indices, out[1])
        return named_result("topk", out[0], out[1])
    return named_result("topk", values, indices)


def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    """The k-th smallest element along `dim` (k counts from 1): torch.return_types.kthvalue."""
    check_keepdim(keepdim, "kthvalue")
    if input._dtype is _dt.bool:
        raise NotImplementedError("\"kthvalue_cpu\" not implemented for 'Bool'")
    if input._data.ndim == 0:
        _wrap_dim(dim, 0)
        input, keepdim = _reshape(input, 1), False
    dim = single_dim(dim, input._data.ndim, "kthvalue")
    size = input._data.shape[dim]
    if size == 0:
        _check_nonempty("kthvalue", input, (dim,))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"kthvalue(): argument 'k' must be int, not {type(k).__name__}")
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}")
    indices = _apply(_kthvalue_indices, (input,), {"k": int(k), "dim": dim, "keepdim": keepdim})
    values = _apply(value_select, (input, indices), {"dim": dim, "keepdim": keepdim})
    if out is not None:
        _write_out(values, out[0])
        _write_out(indices, out[1])
        return named_result("kthvalue", out[0], out[1])
    return named_result("kthvalue", values, indices)


def _unique_results(op, input, dim, return_inverse, return_counts):
    shape = input._data.shape
    if dim is not None:
        dim = single_dim(dim, len(shape), op.name)
        if len(shape) and 0 in shape[:dim] + shape[dim + 1:]:
            raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so "
                               f"{op.name} cannot be applied")
    if input._data.ndim == 0:
        dim = None
    values = _apply(op, (input,), {"dim": dim, "part": "values"})
    if not return_inverse and not return_counts:
        return values
    results = [values]
    if return_inverse:
        results.append(_apply(op, (input,), {"dim": dim, "part": "inverse"}))
    if return_counts:
        results.append(_apply(op, (input,), {"dim": dim, "part": "counts"}))
    return tuple(results)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct elements (or slices along `dim`), sorted; optionally, for every element, the
    index of its value in the result (inverse) and how often each value occurs (counts)."""
    return _unique_results(_unique, input, dim, return_inverse, return_counts)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse each run of equal consecutive elements (or slices along `dim`) to one."""
    return _unique_results(_unique_consecutive, input, dim, return_inverse, return_counts)


def _check_other(name, other):
    if not isinstance(other, _dispatch.Tensor):
        raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(other).__name__}")


def equal(input, other):
    """True when both tensors have the same shape and the same values (NaN is never equal)."""
    _check_other("equal", other)
    a, b = input._data, other._data
    return a.shape == b.shape and bool(np.array_equal(a, b))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol * |other|, elementwise (a bool tensor). Both tensors must
    have the same dtype; infinities are close only to themselves."""
    _check_other("isclose", other)
    if input._dtype is not other._dtype:
        raise RuntimeError(f"{input._dtype.scalar_name} did not match {other._dtype.scalar_name}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    attrs = {"rtol": rtol, "atol": atol, "equal_nan": bool(equal_nan)}
    try:
        return _apply(_isclose, (input, other), attrs)
    except ValueError:
        mismatch = _cpu.broadcast_error([input._data.shape, other._data.shape])
        if mismatch is None:
            raise
        raise mismatch from None


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when every element of `input` is close to `other` (see isclose)."""
    _check_other("allclose", other)
    _dispatch.check_not_tracing("allclose")  # a Python bool of the values
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())
