"""Counting and locating values: histc, bincount, searchsorted, bucketize and isin.

Each is a non-differentiable primitive on numpy (their results are counts, indices or truth
values; torch has no gradient for them either). Checks that need only shapes and dtypes run
before the primitive, with torch's messages; checks of the values (negative counts, a sorter
out of range, a data range that is not finite) run in the numpy implementation, so that they
also hold when graphc.compile runs the primitive.
"""
import numpy as np

from .. import dtypes as _dt
from .. import dispatch as _dispatch
from ..runtime import cpu as _cpu
from .elementwise import check_tensor as _check_tensor, write_out as _write_out
from ..ir.primitives.binning import _bincount, _histc, _isin, _searchsorted

__all__ = ["histc", "bincount", "searchsorted", "bucketize", "isin"]
NOT_METHODS = ["searchsorted", "bucketize", "isin"]  # torch has no such Tensor methods

_apply = _dispatch.apply


def _is_number(value):
    return isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating))


def _as_tensor(value):
    """A Python number as the 0-d tensor torch makes of it (bool, int64 or float64)."""
    if isinstance(value, _dispatch.Tensor):
        return value
    dtype = _dt.bool if isinstance(value, (bool, np.bool_)) else \
        _dt.int64 if isinstance(value, (int, np.integer)) else _dt.float64
    return _dispatch.wrap(np.array(value, dtype=dtype.np), dtype)


def _common(a, b):
    """Both tensors in their promoted dtype (the comparisons run there)."""
    common = _dt.promote_types(a._dtype, b._dtype)
    if a._dtype is not common:
        a = a.to(common)
    if b._dtype is not common:
        b = b.to(common)
    return a, b, common


def histc(input, bins=100, min=0, max=0, *, out=None):
    """A histogram of the values in `bins` equal-width bins over [min, max] (the data's range
    when min == max); values outside are not counted. The counts have the input's dtype."""
    _check_tensor("histc", input)
    if input._dtype.category != 2:
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for "
                                  f"'{input._dtype.scalar_name}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    attrs = {"bins": int(bins), "low": float(min), "high": float(max)}
    return _write_out(_apply(_histc, (input,), attrs), out)


def bincount(input, weights=None, minlength=0):
    """How often each value 0..max(input) occurs in the 1-d non-negative integer `input` (at
    least `minlength` counts); with `weights`, the sum of the weights of each value's
    occurrences (float64 unless the weights are float32 or float64)."""
    _check_tensor("bincount", input)
    if input._dtype.category != 1:
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for "
                                  f"'{input._dtype.scalar_name}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if input._data.ndim != 1:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    operands = (input,)
    if weights is not None:
        _check_tensor("bincount", weights, "weights", 2)
        if weights._data.ndim != 1 or weights._data.shape[0] != input._data.shape[0]:
            raise RuntimeError("weights should be 1-d and have the same length as input")
        operands = (input, weights)
    return _apply(_bincount, operands, {"minlength": int(minlength)})


def _side(side, right):
    if side is None:
        return bool(right)
    if side not in ("left", "right"):
        raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got "
                           f"{side}")
    if right and side == "left":
        raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got "
                           "side of left while right was True")
    return side == "right"


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None, out=None):
    """Where each value would be inserted into the innermost rows of `sorted_sequence` to keep
    them sorted: the first such index (the last with right=True or side='right'). A 1-d sequence
    serves every value; otherwise its leading dims must equal the values'. `sorter` gives the
    order of an unsorted sequence (argsort's result)."""
    _check_tensor("searchsorted", sorted_sequence, "sorted_sequence")
    scalar = not isinstance(input, _dispatch.Tensor)
    if scalar and not _is_number(input):
        _check_tensor("searchsorted", input, "input", 2)
    values = _as_tensor(input)
    right = _side(side, right)
    shape, value_shape = sorted_sequence._data.shape, values._data.shape
    if not shape:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive "
                           "dimension, but got 0 dimension")
    if len(shape) != 1 and (len(shape) != len(value_shape) or shape[:-1] != value_shape[:-1]):
        raise RuntimeError(
            f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            f"dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {list(shape)} and input value tensor {list(value_shape)}")
    operands = [sorted_sequence, values]
    if sorter is not None:
        _check_tensor("searchsorted", sorter, "sorter")
        if sorter._dtype is not _dt.int64:
            raise RuntimeError(f"torch.searchsorted(): sorter must be a tensor of long dtype but "
                               f"got dtype {sorter._dtype.scalar_name}")
        if sorter._data.shape != shape:
            raise RuntimeError(f"torch.searchsorted(): boundary and sorter must have the same "
                               f"size, but got boundary tensor {list(shape)}and got sorter tensor "
                               f"{list(sorter._data.shape)}")
        operands.append(sorter)
    operands[0], operands[1], common = _common(sorted_sequence, values)
    if common is _dt.bool:
        raise NotImplementedError("\"searchsorted_out_cpu\" not implemented for 'Bool'")
    result = _apply(_searchsorted, tuple(operands),
                    {"right": right, "out_int32": bool(out_int32)})
    return _write_out(result, out)


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    """The index of the bucket of each value among the 1-d sorted `boundaries`:
    boundaries[i - 1] < x <= boundaries[i] (or boundaries[i - 1] <= x < boundaries[i] with
    right=True)."""
    _check_tensor("bucketize", boundaries, "boundaries", 2)
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got "
                           f"dim({boundaries._data.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right, out=out)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """For each of `elements`, whether it equals one of `test_elements` (compared in their
    promoted dtype; NaN equals nothing). Either may be a Python number; `invert` negates."""
    Tensor = _dispatch.Tensor
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError(f"isin() received an invalid combination of arguments - got "
                        f"({type(elements).__name__}, {type(test_elements).__name__}), but "
                        f"expected one of: (Tensor elements, Tensor test_elements), "
                        f"(Number element, Tensor test_elements), "
                        f"(Tensor elements, Number test_element)")
    for value, argument in ((elements, "elements"), (test_elements, "test_elements")):
        if not isinstance(value, Tensor) and not _is_number(value):
            raise TypeError(f"isin() received an invalid combination of arguments - got "
                            f"{argument} of type {type(value).__name__}")
    if any(_is_bool(v) for v in (elements, test_elements)):
        raise RuntimeError("Unsupported input type encountered for isin(): Bool")
    common = _cpu.operand_dtype((elements, test_elements))
    pair = [_as_tensor(v) if isinstance(v, Tensor) else
            _dispatch.wrap(np.array(v).astype(common.np), common)
            for v in (elements, test_elements)]
    pair[0], pair[1], _ = _common(pair[0], pair[1])
    return _apply(_isin, tuple(pair), {"invert": bool(invert)})


def _is_bool(value):
    if isinstance(value, _dispatch.Tensor):
        return value._dtype is _dt.bool
    return isinstance(value, (bool, np.bool_))
