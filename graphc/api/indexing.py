"""Indexing: `Tensor.__getitem__` / `__setitem__` and the gather / scatter family of ops.

A subscript is run the way torch runs it (which is not always numpy's way):
1. The key is read left to right. Integers, slices, None and Ellipsis become one numpy *basic*
   key, applied through shape's `slice` view primitive, so the result shares storage.
2. Index tensors (integer tensors, lists, boolean masks, Python bools) are only recorded at the
   view dimension they apply to, and applied afterwards, all together, by the `index` primitive
   (a copy). Integers were already applied as selections, so `x[0, :, [1]]` has shape [n, 1] in
   torch where numpy gives [1, n].
3. Boolean masks become their nonzero() columns. The advanced dimensions of the result stay in
   place when the index tensors are adjacent, and go first otherwise (numpy's rule, applied to
   the view, where only full slices separate them).

Assignment reads the key the same way and ends in a copy into the view, or in `index_put_`.

Every out-of-place primitive here is "copy the input, then write into the copy"; the in-place
methods (`scatter_`, `index_add_`, ...) call the same writer on the tensor's own memory, so there
is one implementation of each write.
"""
import operator
import warnings

import numpy as np

from .. import dtypes as _dt
from ..autograd.node import rename_node as _rename_node
from .. import dispatch as _dispatch
from ..runtime import cpu as _cpu
from ..runtime.memory_overlap import (INTERNAL_OVERLAP_MESSAGE, check_no_overlap,
                                      has_internal_overlap)
from ..ir.registry import defvjp
from . import shape as _shape
from .elementwise import PUBLIC as _ELEMENTWISE
from ..ir.primitives.indexing import (_FULL, _broadcast_indices, _gather, _index, _index_add,
                                      _index_copy, _index_fill, _index_put, _index_select,
                                      _indexed_shape, _integer_indices, _masked_fill,
                                      _masked_select, _nonzero, _put, _scatter, _scatter_add,
                                      _scatter_reduce, _take, _write_index_add, _write_index_copy,
                                      _write_index_fill, _write_index_put, _write_masked_fill,
                                      _write_put, _write_scatter, _write_scatter_add,
                                      _write_scatter_reduce)

__all__ = ["index_select", "masked_select", "masked_fill", "nonzero", "argwhere", "gather",
           "scatter", "scatter_add", "scatter_reduce", "index_add", "index_fill", "index_copy",
           "take", "take_along_dim", "put", "index_put"]
_apply = _dispatch.apply
_apply_view = _dispatch.apply_view
_slice_view = _shape._slice
_wrap_dim = _shape.wrap_dim
_INDEX_DTYPES = (_dt.int64, _dt.int32)
_MASK_DTYPES = (_dt.bool, _dt.uint8)

# the C type names torch prints in some messages
_C_TYPE = {_dt.uint8: "uint8_t", _dt.int8: "int8_t", _dt.int16: "int16_t", _dt.int32: "int",
           _dt.int64: "int64_t", _dt.float16: "c10::Half", _dt.float32: "float",
           _dt.float64: "double", _dt.bool: "bool"}
_C_TYPE_LONG = {_dt.uint8: "unsigned char", _dt.int8: "signed char", _dt.int16: "short int",
                _dt.int32: "int", _dt.int64: "long int", _dt.float16: "c10::Half",
                _dt.float32: "float", _dt.float64: "double", _dt.bool: "bool"}

# the primitive that performs each in-place writer out of place (for autograd)
_WRITER_PRIMITIVES = {
    _write_index_put: _index_put, _write_masked_fill: _masked_fill, _write_scatter: _scatter,
    _write_scatter_add: _scatter_add, _write_scatter_reduce: _scatter_reduce,
    _write_index_add: _index_add, _write_index_fill: _index_fill,
    _write_index_copy: _index_copy, _write_put: _put,
}


def _type_name(value):
    kind = type(value)
    if kind.__module__ in ("builtins", None):
        return kind.__name__
    return f"{kind.__module__}.{kind.__name__}"


def _require_tensor(value, function, name, position):
    if not isinstance(value, _dispatch.Tensor):
        raise TypeError(f"{function}(): argument '{name}' (position {position}) must be Tensor, "
                        f"not {type(value).__name__}")


def _writable(tensor, allow_overlap=False):
    """The numpy array to write `tensor`'s elements through.

    Views made by numpy's broadcasting are read-only even where no two elements alias (e.g. a row
    of an expanded tensor); torch allows writing those, so rebuild them over the storage."""
    data = tensor._data
    if data.flags.writeable:
        return data
    if not allow_overlap and has_internal_overlap(data):
        raise RuntimeError(INTERNAL_OVERLAP_MESSAGE)
    flat = tensor.storage()._flat
    if not flat.flags.writeable:
        raise RuntimeError(INTERNAL_OVERLAP_MESSAGE)
    offset = (data.__array_interface__["data"][0] - flat.__array_interface__["data"][0])
    return np.lib.stride_tricks.as_strided(flat[offset // flat.itemsize:], data.shape,
                                           data.strides, writeable=True)


def _run_in_place(target, writer, operands, attrs, allow_overlap=False):
    """Call `writer` on `target`'s memory and count the write in its version.

    When autograd must see the write (grad mode, and the target or a tensor operand requires
    grad), the op runs out of place through its primitive and the target takes over its history.
    """
    if _dispatch.is_tracing():  # graphc.compile: the write must be part of the traced graph
        _writable(target, allow_overlap)
        return _dispatch.apply_inplace(_WRITER_PRIMITIVES[writer], target,
                                       (target,) + tuple(operands), attrs)
    if _dispatch.grad_state.enabled and (target._requires_grad is True or any(
            isinstance(o, _dispatch.Tensor) and o._requires_grad is True for o in operands)):
        primitive_op = _WRITER_PRIMITIVES[writer]
        return _dispatch.recorded_inplace(primitive_op, target, (target,) + tuple(operands), attrs)
    if target._base is not None and _dispatch.grad_state.enabled:
        _dispatch.check_view_write(target)
    arrays = [o._data if isinstance(o, _dispatch.Tensor) else o for o in operands]
    writer(_writable(target, allow_overlap), *arrays, **attrs)
    target._bump_version()
    return target


def _overflow(dtype):
    return RuntimeError(f"value cannot be converted to type {_C_TYPE[dtype]} without overflow")


_FLOAT32_MAX = float(np.finfo(np.float32).max)
_INF = float("inf")
_2_63 = 2 ** 63


def scalar_value(value, dtype):
    """A Python number as an element of `dtype`, refusing values that overflow it as torch does
    (unsigned targets accept negative integers down to -max, which wrap). Returns a number numpy
    assigns as torch would."""
    kind = type(value)
    if kind is float and dtype.category == 2:
        if dtype is _dt.float32 and _FLOAT32_MAX < abs(value) < _INF:
            raise _overflow(dtype)
        return value
    if kind is int and (dtype is _dt.int64 or dtype.category == 2) and -_2_63 <= value < _2_63:
        return value
    return _converted_scalar(value, dtype)


def _converted_scalar(value, dtype):
    if isinstance(value, (bool, np.bool_)):
        return np.asarray(value).astype(dtype.np)[()]
    if isinstance(value, (int, np.integer)):
        value = int(value)
        if not -_2_63 <= value < _2_63:
            raise ValueError("Overflow when unpacking long long")
        if dtype.category == 1:
            info = np.iinfo(dtype.np)
            low = -int(info.max) if info.min == 0 else int(info.min)
            if not low <= value <= info.max:
                raise _overflow(dtype)
        return np.asarray(value).astype(dtype.np)[()]
    value = float(value)
    if dtype is _dt.bool:
        return np.bool_(value != 0)
    if dtype.category == 1:
        info = np.iinfo(dtype.np)
        if not info.min <= value <= info.max:  # also refuses nan
            raise _overflow(dtype)
    elif dtype is _dt.float32 and _FLOAT32_MAX < abs(value) < _INF:
        raise _overflow(dtype)
    return np.asarray(value).astype(dtype.np)[()]


def _is_number(value):
    return isinstance(value, (bool, int, float, np.integer, np.floating, np.bool_))


def _fill_value(value, dtype, function):
    """The value of masked_fill_/index_fill_: a number or a 0-d tensor, as an element of dtype."""
    if isinstance(value, _dispatch.Tensor):
        if value._data.ndim:
            raise RuntimeError(f"{function} only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value._data.ndim} dimension(s).")
        value = value._data.item()
    elif not _is_number(value):
        raise TypeError(f"{function.rstrip('_')}() received an invalid combination of arguments "
                        f"- got (Tensor, {type(value).__name__})")
    return scalar_value(value, dtype)


_UNSIGNED = {np.dtype(np.int64): np.uint64, np.dtype(np.int32): np.uint32}


def _outside(index, size):
    """Whether any index lies outside [0, size) (negatives wrap to huge unsigned values)."""
    return bool(index.size) and bool((index.view(_UNSIGNED[index.dtype]) >= size).any())


def _first_bad(array, bad):
    """The first offending value of `array` in element order (for error messages)."""
    return int(array[bad].reshape(-1)[0])


def _check_nonnegative_bounds(index, size, dim):
    """gather/scatter indices must lie in [0, size)."""
    if _outside(index, size):
        bad = (index < 0) | (index >= size)
        if bad.any():
            raise RuntimeError(f"index {_first_bad(index, bad)} is out of bounds for dimension "
                               f"{dim} with size {size}")


def _write_out(result, out):
    if out is None:
        return result
    from .elementwise import write_out
    return write_out(result, out)


def _is_sequence(value):
    return isinstance(value, (list, tuple, range, np.ndarray, str, bytes))


def _sequence_is_tuple(key):
    """numpy's old heuristic, still used by torch: a short list holding slices, None, Ellipsis,
    sequences or tensors is read as a tuple of indices."""
    if not isinstance(key, (list, range)) or len(key) >= 32:
        return False
    for item in key:
        if item is None or item is Ellipsis or isinstance(item, (slice, _dispatch.Tensor)) \
                or _is_sequence(item):
            return True
    return False


def _entries(key):
    if type(key) is tuple:
        return key
    if _sequence_is_tuple(key):
        warnings.warn(
            "Using a non-tuple sequence for multidimensional indexing is deprecated and will be "
            "changed in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this "
            "will be interpreted as tensor index, x[torch.tensor(seq)], which will result either "
            "in an error or a different result", UserWarning, stacklevel=4)
        return tuple(key)
    return (key,)


def _count_specified(entries):
    """How many dims of the tensor the entries consume (a mask consumes its ndim)."""
    count = 0
    for entry in entries:
        if entry is None or entry is Ellipsis or type(entry) is bool:
            continue
        if isinstance(entry, _dispatch.Tensor) and entry._dtype in _MASK_DTYPES:
            count += entry._data.ndim
        else:
            count += 1
    return count


def _sequence_index(sequence):
    """A list (or numpy array) used as an index: bool or uint8 stays a mask, anything else
    becomes int64 (floats are truncated, as torch does)."""
    if isinstance(sequence, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(sequence).__name__}'")
    array = np.asarray(sequence)
    if array.dtype.kind in "USO":
        raise TypeError(f"new(): invalid data type '{type(sequence).__name__}'")
    if array.dtype.kind == "b":
        return _dispatch.wrap(np.array(array, copy=True), _dt.bool)
    if array.dtype == np.uint8 and isinstance(sequence, np.ndarray):
        return _dispatch.wrap(np.array(array, copy=True), _dt.uint8)
    return _dispatch.wrap(array.astype(np.int64, copy=False), _dt.int64)


def _bool_index(value):
    """A Python bool indexes a new dim of size 1: True keeps it, False empties it."""
    return _dispatch.wrap(np.zeros(1 if value else 0, dtype=np.int64), _dt.int64)


def _slice_entry(entry):
    step = entry.step
    if step is not None:
        step = _slice_bound(step)
        if step == 0:
            raise ValueError("slice step cannot be zero")
        if step < 0:
            raise ValueError("step must be greater than zero")
    start, stop = entry.start, entry.stop
    if (start is None or type(start) is int) and (stop is None or type(stop) is int):
        return entry if step is None or type(entry.step) is int else slice(start, stop, step)
    return slice(None if start is None else _slice_bound(start),
                 None if stop is None else _slice_bound(stop), step)


def _slice_bound(value):
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError("slice indices must be integers or None or have an __index__ method") \
            from None


def _check_select(value, shape, consumed, position):
    size = shape[consumed] if consumed < len(shape) else 0
    if not -size <= value < size:
        raise IndexError(f"index {value} is out of bounds for dimension {position} with size {size}")


class _BasicKey:
    """Reads a subscript left to right: the numpy basic key of the view, and the index tensors
    recorded at the view dims they apply to (torch's dim pointer; a mask covers its ndim dims)."""

    __slots__ = ("shape", "numpy_key", "advanced", "consumed", "dim", "produced", "plain")

    def __init__(self, shape):
        self.shape = shape
        self.numpy_key = []
        self.advanced = []      # (view dim, index Tensor)
        self.consumed = 0       # tensor dims used by the key so far
        self.dim = 0            # torch's dim pointer into the view
        self.produced = 0       # view dims produced by the numpy key so far
        self.plain = True       # the numpy key is only full slices: the view is the tensor itself

    def take_dim(self, entry, keeps_dim):
        if self.consumed >= len(self.shape):
            raise IndexError(f"too many indices for tensor of dimension {len(self.shape)}")
        self.numpy_key.append(entry)
        self.consumed += 1
        if keeps_dim:
            self.dim += 1
            self.produced += 1

    def new_dim(self):
        view_ndim = self.produced + len(self.shape) - self.consumed
        if self.dim > view_ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-view_ndim - 1}, {view_ndim}], but got {self.dim})")
        self.numpy_key.append(None)
        self.plain = False
        self.dim += 1
        self.produced += 1

    def select(self, value, position):
        _check_select(value, self.shape, self.consumed, position)
        self.plain = False
        self.take_dim(value, False)

    def record(self, index):
        self.advanced.append((self.dim, index))
        for _ in range(index._data.ndim if index._dtype in _MASK_DTYPES else 1):
            self.take_dim(_FULL, True)

    def record_bool(self, value):
        self.new_dim()
        self.advanced.append((self.dim - 1, _bool_index(value)))

    def ellipsis(self, specified):
        skip = len(self.shape) - specified
        available = max(0, min(skip, len(self.shape) - self.consumed))
        self.numpy_key.extend([_FULL] * available)
        self.consumed += skip
        self.dim += skip
        self.produced += available


def _read_key(tensor, key):
    """(view of `tensor` under the basic part of `key`, [(view dim, index Tensor), ...])."""
    shape = tensor._data.shape
    entries = _entries(key)
    specified = _count_specified(entries)
    if specified > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    reader = _BasicKey(shape)
    for position, entry in enumerate(entries):
        _read_entry(reader, entry, position, specified)
    if reader.plain:
        return tensor, reader.advanced
    view = _apply_view(_slice_view, tensor, {"index": tuple(reader.numpy_key) + (Ellipsis,)})
    return view, reader.advanced


def _read_entry(reader, entry, position, specified):
    kind = type(entry)
    if kind is int:
        reader.select(entry, position)
    elif kind is slice:
        entry = _slice_entry(entry)
        if entry != _FULL:
            reader.plain = False
        reader.take_dim(entry, True)
    elif entry is None:
        reader.new_dim()
    elif entry is Ellipsis:
        reader.ellipsis(specified)
    elif kind is bool:
        reader.record_bool(entry)
    elif isinstance(entry, _dispatch.Tensor):
        _read_tensor_entry(reader, entry, position)
    elif isinstance(entry, (int, np.integer)) and not isinstance(entry, np.bool_):
        reader.select(int(entry), position)
    elif _is_sequence(entry):
        _read_tensor_entry(reader, _sequence_index(entry), position)
    else:
        raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                         f"Variables are valid indices (got {_type_name(entry)})")


def _read_tensor_entry(reader, tensor, position):
    dtype = tensor._dtype
    if tensor._data.ndim == 0 and dtype.category < 2:
        if dtype in _MASK_DTYPES:
            reader.record_bool(bool(tensor._data))
        else:
            reader.select(int(tensor._data), position)
        return
    reader.record(tensor)


def _pairs_of_list(indices):
    """index_put_'s list of index tensors (None for an unindexed dim) as (first dim, tensor)
    pairs; a mask in the list covers as many dims as it has."""
    pairs, position = [], 0
    for index in indices:
        if index is not None:
            pairs.append((position, index))
        position += index._data.ndim if index is not None and index._dtype in _MASK_DTYPES else 1
    return pairs


def _resolve_indices(target_shape, pairs):
    """Check (dim, index tensor) pairs against the indexed shape: dtypes, and masks' sizes.
    Returns (dims, index tensors) where masks are bool tensors (numpy applies a mask as its
    nonzero() columns, which is torch's rule too)."""
    dims, tensors = [], []
    for dim, index in pairs:
        dtype = index._dtype
        if dtype in _INDEX_DTYPES:
            dims.append(dim)
            tensors.append(index)
        elif dtype in _MASK_DTYPES:
            mask = _checked_mask(index, target_shape, dim)
            if mask is not None:
                dims.append(dim)
                tensors.append(mask)
        else:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return dims, tensors


def _checked_mask(mask, target_shape, dim):
    """The bool mask indexing target dims dim, dim+1, ...; None for a 0-d mask (indexes none)."""
    mask_shape = mask._data.shape
    for j, n in enumerate(mask_shape):
        if dim + j >= len(target_shape) or n != target_shape[dim + j]:
            raise IndexError(f"The shape of the mask {list(mask_shape)} at index {j} does not "
                             f"match the shape of the indexed tensor {list(target_shape)} at "
                             f"index {dim + j}")
    if not mask_shape:
        return None
    if mask._dtype is _dt.uint8:
        warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a dtype "
                      "torch.bool instead.", UserWarning, stacklevel=5)
        return _dispatch.wrap(mask._data != 0, _dt.bool)
    return mask


def _result_shape(shape, indices, dims):
    integer_dims, arrays = _integer_indices(indices, dims)
    return _indexed_shape(shape, integer_dims, _broadcast_indices(arrays))


def _advanced_index(view, advanced):
    dims, tensors = _resolve_indices(view._data.shape, advanced)
    return _apply(_index, (view,) + tuple(tensors), {"dims": tuple(dims)})


def _select_first(tensor, index):
    """`tensor[index]` for a plain int: a view of one row."""
    shape = tensor._data.shape
    if not shape:
        if index == 0:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"index {index} is out of bounds for dimension 0 with size 0")
    size = shape[0]
    if not -size <= index < size:
        raise IndexError(f"index {index} is out of bounds for dimension 0 with size {size}")
    return _rename_node(_apply_view(_slice_view, tensor, {"index": (index, Ellipsis)}),
                        "SelectBackward0")


def _slice_first(tensor, key):
    if not tensor._data.shape:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    return _apply_view(_slice_view, tensor, {"index": (_slice_entry(key), Ellipsis)})


def _plain_slice(entry):
    step, start, stop = entry.step, entry.start, entry.stop
    return ((step is None or (type(step) is int and step > 0))
            and (start is None or type(start) is int) and (stop is None or type(stop) is int))


def _basic_tuple_view(tensor, key):
    """Fast path for a tuple of ints and slices, optionally after a leading Ellipsis (x[:, 1],
    x[0, 2], x[..., 0]); None when the key needs the general reader."""
    shape = tensor._data.shape
    ndim = len(shape)
    shift = 0
    if key and key[0] is Ellipsis:
        shift = ndim - len(key)  # entry at position p indexes dim p + shift
        if shift < -1:
            return None
        numpy_key = key
    else:
        if len(key) > ndim:
            return None
        numpy_key = key + (Ellipsis,)
    for position in range(1 if numpy_key is key else 0, len(key)):
        entry = key[position]
        kind = type(entry)
        if kind is int:
            size = shape[position + shift]
            if not -size <= entry < size:
                raise IndexError(f"index {entry} is out of bounds for dimension {position} with "
                                 f"size {size}")
        elif kind is not slice or not _plain_slice(entry):
            return None
    return _apply_view(_slice_view, tensor, {"index": numpy_key})


_WHOLE_KEY_DTYPES = (_dt.int64, _dt.int32, _dt.bool)


def _tensor_key(tensor, index):
    """Fast path for `x[index_tensor]` (integer tensor or full-size mask over leading dims)."""
    covers = index._data.ndim if index._dtype is _dt.bool else 1
    if index._data.ndim == 0 or index._dtype not in _WHOLE_KEY_DTYPES \
            or covers > tensor._data.ndim:
        return None
    if index._dtype is _dt.bool:
        index = _checked_mask(index, tensor._data.shape, 0)
    return _apply(_index, (tensor, index), {"dims": (0,)})


def getitem(self, key):
    """`tensor[key]`: a view for basic keys, a copy when index tensors take part."""
    kind = type(key)
    if kind is int:
        return _select_first(self, key)
    if kind is slice:
        return _slice_first(self, key)
    if kind is tuple:
        view = _basic_tuple_view(self, key)
        if view is not None:
            return view
    elif key is None:
        return _apply_view(_slice_view, self, {"index": (None, Ellipsis)})
    elif isinstance(key, _dispatch.Tensor):
        result = _tensor_key(self, key)
        if result is not None:
            return result
    view, advanced = _read_key(self, key)
    if not advanced:
        return view if view is not self else _apply_view(_shape._alias, self, {})
    return _advanced_index(view, advanced)


def _assigned_value(target, value):
    """The assigned value: a Tensor, or a number checked and converted for the target's dtype."""
    if isinstance(value, _dispatch.Tensor):
        return value
    if isinstance(value, (bool, int, float, np.integer)) and not isinstance(value, np.bool_):
        return scalar_value(value, target._dtype)
    raise TypeError(f"can't assign a {_type_name(value)} to a {target.type()}")


def _as_tensor(value, dtype):
    if isinstance(value, _dispatch.Tensor):
        return value
    return _dispatch.wrap(np.asarray(value, dtype=dtype.np), dtype)


def _put_value(value, dtype):
    """The value of an index_put_ from `x[indices] = value`: a Tensor without leading 1s."""
    value = _as_tensor(value, dtype)
    stripped = _strip_leading_ones(value._data.shape)
    if stripped != value._data.shape:
        value = _shape.view(value, stripped)
    return value


def _strip_leading_ones(shape):
    start = 0
    while start < len(shape) and shape[start] == 1:
        start += 1
    return shape[start:]


def _copy_to(destination, value):
    """Write `value` (a number or a Tensor) into the view `destination` with copy_'s casting; a
    value with extra leading 1s is accepted (numpy's legacy rule), others broadcast as expand()."""
    if isinstance(value, _dispatch.Tensor):
        source = value._data
        target_shape = destination._data.shape
        if source.shape != target_shape and source.ndim:
            stripped = _strip_leading_ones(source.shape)
            if stripped != target_shape:
                reshaped = _shape.view(value, stripped) if stripped != source.shape else value
                source = _shape.expand(reshaped, target_shape)._data  # torch's errors if it fails
        check_no_overlap(destination._data, source, allow_identical=True)
        value = source
    if destination._no_grad_view and _dispatch.grad_state.enabled:
        _dispatch.check_view_write(destination)
    _writable(destination)[...] = value
    destination._bump_version()


def _copy_basic(target, key, view, value):
    """`target[key] = value` for a basic key (`view` is target[key]). When autograd must see the
    write, it is recorded as put_ into the view (every position of it), which autograd records
    on the view's base as torch does (CopySlices); a key covering the whole of a tensor that is
    no view is put_ into the tensor itself."""
    if not (_dispatch.grad_state.enabled and (target._requires_grad is True or (
            isinstance(value, _dispatch.Tensor) and value._requires_grad is True))):
        return _copy_to(view, value)
    if target._base is None and _same_elements(view, target):
        written = target
        positions = _dispatch.wrap(np.arange(target._data.size).reshape(target._data.shape),
                                   _dt.int64)
        positions = getitem(positions, key)
    else:
        written = view
        positions = _dispatch.wrap(np.arange(view._data.size).reshape(view._data.shape), _dt.int64)
    source = _as_tensor(value, target._dtype)
    if source._dtype is not target._dtype:
        source = source.to(target._dtype)
    shape = positions._data.shape
    if source._data.shape != shape:
        stripped = _strip_leading_ones(source._data.shape)
        if stripped != source._data.shape:
            source = _shape.view(source, stripped)
        source = _shape.expand(source, shape)  # torch's error when it does not broadcast
    put_(written, positions, source)


def _same_elements(view, tensor):
    a, b = view._data, tensor._data
    return a.shape == b.shape and a.strides == b.strides and \
        a.__array_interface__["data"][0] == b.__array_interface__["data"][0]


def setitem(self, key, value):
    """`tensor[key] = value`: a copy into the basic view, or index_put_ for index tensors."""
    value = _assigned_value(self, value)
    kind = type(key)
    if kind is int:
        _copy_basic(self, key, _select_first(self, key), value)
        return
    if kind is slice:
        _copy_basic(self, key, _slice_first(self, key), value)
        return
    if kind is tuple:
        view = _basic_tuple_view(self, key)
        if view is not None:
            _copy_basic(self, key, view, value)
            return
    elif key is False:
        return
    elif key is True:
        key = None
    elif isinstance(key, _dispatch.Tensor) and key._data.ndim and key._dtype in _WHOLE_KEY_DTYPES \
            and (key._data.ndim if key._dtype is _dt.bool else 1) <= self._data.ndim:
        _index_put_in_place(self, [(0, key)], _put_value(value, self._dtype), False)
        return
    view, advanced = _read_key(self, key)
    if not advanced:
        _copy_basic(self, key, view, value)
        return
    _index_put_in_place(view, advanced, _put_value(value, self._dtype), False)


def _single_mask(target, pairs, values):
    """torch writes a one-element value through masked_fill_ when the only index is a mask;
    returns that mask, shaped to broadcast against `target`, or None."""
    if values._data.size != 1 or len(pairs) != 1 or pairs[0][1]._dtype not in _MASK_DTYPES:
        return None
    dim, mask = pairs[0]
    shape, mask_shape = target._data.shape, mask._data.shape
    for j, n in enumerate(mask_shape):
        if dim + j >= len(shape) or n != shape[dim + j]:
            raise IndexError(f"The shape of the mask {list(mask_shape)} at index {j} does not "
                             f"match the shape of the indexed tensor {list(shape)} at index "
                             f"{dim + j}")
    trailing = len(shape) - dim - len(mask_shape)
    if trailing > 0:
        mask = _shape.view(mask, mask_shape + (1,) * trailing)
    return mask


def _prepare_put(target, pairs, values):
    """Checks of index_put_; returns (dims, index tensors) of the write."""
    shape = target._data.shape
    dims, tensors = _resolve_indices(shape, pairs)
    if not dims:
        raise IndexError("index_put_(): expected at least one index tensor")
    if values._data.ndim:
        result_shape = _result_shape(shape, [t._data for t in tensors], dims)
        if not _expandable(values._data.shape, result_shape):
            raise RuntimeError(
                f"shape mismatch: value tensor of shape {list(values._data.shape)} cannot be "
                f"broadcast to indexing result of shape {list(result_shape)}")
    if values._dtype is not target._dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{target._dtype.scalar_name} for the destination and "
                           f"{values._dtype.scalar_name} for the source.")
    return tuple(dims), tuple(tensors)


def _expandable(shape, target):
    if len(shape) > len(target):
        return False
    return all(n == 1 or n == t for n, t in zip(reversed(shape), reversed(target)))


def _index_put_in_place(target, pairs, values, accumulate):
    if has_internal_overlap(target._data):
        warnings.warn("Use of index_put_ on expanded tensors is deprecated. Please clone() the "
                      "tensor before performing this operation. This also applies to advanced "
                      "indexing e.g. tensor[indices] = tensor", UserWarning, stacklevel=4)
    if not accumulate:
        mask = _single_mask(target, pairs, values)
        if mask is not None:
            value = _fill_value(values._data.item(), target._dtype, "masked_fill_")
            return _masked_fill_in_place(target, mask, value)
    dims, tensors = _prepare_put(target, pairs, values)
    check_no_overlap(target._data, values._data, allow_identical=False)
    operands = (values,) + tuple(tensors)
    return _run_in_place(target, _write_index_put, operands,
                         {"dims": dims, "accumulate": bool(accumulate)}, allow_overlap=True)


def _index_put_pairs(target, indices, values):
    """index_put_'s arguments checked, its index list as (dim, tensor) pairs."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put_(): argument 'indices' must be tuple of Tensors, not "
                        f"{type(indices).__name__}")
    for i, index in enumerate(indices):
        if not isinstance(index, _dispatch.Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(index).__name__}")
    _require_tensor(values, "index_put_", "values", 2)
    ndim = target._data.ndim
    if len(indices) > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim} (got {len(indices)})")
    return _pairs_of_list(indices)


def index_put_(self, indices, values, accumulate=False):
    """`self[indices] = values` with index tensors only; accumulate=True sums duplicates."""
    pairs = _index_put_pairs(self, indices, values)
    return _index_put_in_place(self, pairs, values, accumulate)


def index_put(input, indices, values, accumulate=False):
    pairs = _index_put_pairs(input, indices, values)
    if not accumulate:
        mask = _single_mask(input, pairs, values)
        if mask is not None:
            return masked_fill(input, mask, values._data.item())
    dims, tensors = _prepare_put(input, pairs, values)
    return _apply(_index_put, (input, values) + tensors,
                  {"dims": dims, "accumulate": bool(accumulate)})


def _check_bool_mask(mask, function):
    if mask._dtype is not _dt.bool:
        raise RuntimeError(f"{function} only supports boolean masks, but got mask with dtype "
                           f"{_C_TYPE_LONG[mask._dtype]}")


def _mask_argument(mask, value, function):
    if not isinstance(mask, _dispatch.Tensor):
        raise TypeError(f"{function}() received an invalid combination of arguments - got "
                        f"({type(mask).__name__}, {type(value).__name__}), but expected one of:\n"
                        f" * (Tensor mask, Tensor value)\n * (Tensor mask, Number value)\n")


def masked_fill_(self, mask, value):
    _mask_argument(mask, value, "masked_fill_")
    _check_bool_mask(mask, "masked_fill_")
    value = _fill_value(value, self._dtype, "masked_fill_")
    shape = self._data.shape
    if mask._data.shape != shape:
        error = _cpu.broadcast_error([shape, mask._data.shape])
        if error is not None:
            raise error
        broadcast = np.broadcast_shapes(shape, mask._data.shape)
        if broadcast != shape:
            raise RuntimeError(f"output with shape {list(shape)} doesn't match the broadcast "
                               f"shape {list(broadcast)}")
    return _masked_fill_in_place(self, mask, value)


def _masked_fill_in_place(target, mask, value):
    """masked_fill_ once checked; torch refuses uint8 masks here even where indexing takes them."""
    _check_bool_mask(mask, "masked_fill_")
    return _run_in_place(target, _write_masked_fill, (mask, value), {})


def masked_fill(input, mask, value):
    _mask_argument(mask, value, "masked_fill")
    _check_bool_mask(mask, "masked_fill_")
    checked = _fill_value(value, input._dtype, "masked_fill_")
    if mask._data.shape != input._data.shape:
        error = _cpu.broadcast_error([mask._data.shape, input._data.shape])
        if error is not None:
            raise error
    operand = value if isinstance(value, _dispatch.Tensor) else checked
    return _apply(_masked_fill, (input, mask, operand))


def masked_select(input, mask, *, out=None):
    _require_tensor(mask, "masked_select", "mask", 2)
    if mask._dtype is not _dt.bool:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    error = _cpu.broadcast_error([mask._data.shape, input._data.shape])
    if error is not None:
        raise error
    return _write_out(_apply(_masked_select, (input, mask)), out)


def nonzero(input, *, out=None, as_tuple=False):
    """Indices of the nonzero elements: an int64 (n, ndim) tensor, or one vector per dim."""
    if not as_tuple:
        return _write_out(_apply(_nonzero, (input,)), out)
    if input._data.ndim == 0:
        input = _shape.reshape(input, 1)
    return _shape.unbind(_apply(_nonzero, (input,)), 1)


def argwhere(input):
    return _apply(_nonzero, (input,))


def index_select(input, dim, index, *, out=None):
    _require_tensor(index, "index_select", "index", 2)
    shape = input._data.shape
    dim = _wrap_dim(dim, len(shape))
    indices = index._data
    if not shape and indices.size != 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got "
                           f"{indices.size} value(s)")
    if index._dtype not in _INDEX_DTYPES:
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    if indices.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if not shape:
        if int(indices.reshape(-1)[0]) != 0:
            raise IndexError("index out of range in self")
    else:
        _check_index_select_bounds(indices, shape, dim)
    if out is not None and out._dtype is not input._dtype:
        raise RuntimeError("index_select(): self and result must have the same scalar type")
    return _write_out(_apply(_index_select, (input, index), {"dim": dim}), out)


def _check_index_select_bounds(indices, shape, dim):
    size = shape[dim]
    if size == 0 and indices.size:
        raise RuntimeError("index_select(): self indexing axis dim should be positive")
    if _outside(indices, size):
        bad = (indices < 0) | (indices >= size)
        if len(shape) > 1 and dim == 1:  # torch's dedicated dim-1 kernel words it differently
            raise RuntimeError(f"INDICES element is out of DATA bounds, "
                               f"id={_first_bad(indices, bad)} axis_dim={size}")
        raise IndexError("index out of range in self")


def _check_gather_shapes(input, dim, index):
    shape, index_shape = input._data.shape, index._data.shape
    if max(len(index_shape), 1) != max(len(shape), 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    if not index._data.size:
        return
    for d, n in enumerate(index_shape):
        if d != dim and shape and n > shape[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index "
                               f"{list(index_shape)} to be no larger than self {list(shape)} "
                               f"apart from dimension {dim}")


def gather(input, dim, index, *, sparse_grad=False, out=None):
    """out[i][j] = input[index[i][j]][j] (dim=0); index may be smaller than input."""
    _require_tensor(index, "gather", "index", 2)
    dim = _wrap_dim(dim, input._data.ndim)
    if index._dtype not in _INDEX_DTYPES:
        raise RuntimeError("gather(): Expected dtype int32/int64 for index")
    _check_gather_shapes(input, dim, index)
    size = input._data.shape[dim] if input._data.ndim else 1
    _check_nonnegative_bounds(index._data, size, dim)
    return _write_out(_apply(_gather, (input, index), {"dim": dim}), out)


def take_along_dim(input, indices, dim=None, *, out=None):
    _require_tensor(indices, "take_along_dim", "indices", 2)
    if indices._dtype is not _dt.int64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{indices._dtype.scalar_name}")
    if dim is None:
        return _write_out(gather(_shape.reshape(input, -1), 0, _shape.reshape(indices, -1)), out)
    ndim = input._data.ndim
    if indices._data.ndim != ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {ndim} dimensions for input, and "
                           f"{indices._data.ndim} dimensions for indices")
    dim = _wrap_dim(dim, ndim)
    input, indices = _broadcast_except(input, indices, dim)
    size = input._data.shape[dim] if ndim else 1
    if indices._data.size:  # negative indices count from the end (traced ops: no value read)
        indices = _ELEMENTWISE["where"](indices < 0, indices + size, indices)
    return _write_out(gather(input, dim, indices), out)


def _broadcast_except(input, indices, dim):
    """Broadcast two tensors against each other in every dim but `dim`."""
    shape, index_shape = list(input._data.shape), list(indices._data.shape)
    if not shape:
        return input, indices
    sizes = shape[dim], index_shape[dim]
    shape[dim] = index_shape[dim] = 1
    error = _cpu.broadcast_error([shape, index_shape])
    if error is not None:
        raise error
    common = list(np.broadcast_shapes(tuple(shape), tuple(index_shape)))
    input_target, index_target = list(common), list(common)
    input_target[dim], index_target[dim] = sizes
    if tuple(input_target) != input._data.shape:
        input = _shape.expand(input, input_target)
    if tuple(index_target) != indices._data.shape:
        indices = _shape.expand(indices, index_target)
    return input, indices


def take(input, index):
    """input.flatten()[index], with the index's shape."""
    _require_tensor(index, "take", "index", 2)
    if index._dtype is not _dt.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got "
                           f"{index._dtype.scalar_name}")
    numel = input._data.size
    if numel == 0 and index._data.size:
        raise IndexError("take(): tried to take from an empty tensor")
    _check_flat_bounds(index._data, numel)
    return _apply(_take, (input, index))


def _check_flat_bounds(index, numel):
    if index.size:
        bad = (index < -numel) | (index >= numel)
        if bad.any():
            raise IndexError(f"out of range: tried to access index {_first_bad(index, bad)} on a "
                             f"tensor of {numel} elements.")


def _check_scatter(input, dim, index, src):
    """Shared checks of scatter / scatter_add / scatter_reduce; returns the wrapped dim."""
    _require_tensor(index, "scatter", "index", 2)
    dim = _wrap_dim(dim, input._data.ndim)
    if index._dtype not in _INDEX_DTYPES:
        raise RuntimeError("scatter(): Expected dtype int32/int64 for index")
    if src is not None and src._dtype is not input._dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    shape, index_shape = input._data.shape, index._data.shape
    if max(len(index_shape), 1) != max(len(shape), 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if src is not None and max(src._data.ndim, 1) != max(len(index_shape), 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    if index._data.size:
        _check_scatter_sizes(shape, dim, index_shape, None if src is None else src._data.shape)
    _check_nonnegative_bounds(index._data, shape[dim] if shape else 1, dim)
    return dim


def _check_scatter_sizes(shape, dim, index_shape, src_shape):
    for d, n in enumerate(index_shape):
        too_big = shape and d != dim and n > shape[d]
        if src_shape is not None and src_shape and n > src_shape[d]:
            too_big = True
        if too_big:
            message = (f"Expected index {list(index_shape)} to be no larger than self "
                       f"{list(shape)} apart from dimension {dim}")
            if src_shape is not None:
                message += f" and to be no larger size than src {list(src_shape)}"
            raise RuntimeError(message)


def _scatter_source(input, src, value):
    """(src tensor or None, value number or None) from scatter's overloaded arguments."""
    if src is not None and value is not None:
        raise TypeError("scatter() received an invalid combination of arguments - got both "
                        "'src' and 'value'")
    if src is not None and not isinstance(src, _dispatch.Tensor):
        src, value = None, src
    if src is None and value is None:
        raise TypeError("scatter() received an invalid combination of arguments - expected a "
                        "Tensor src or a Number value")
    if value is not None:
        if not _is_number(value):
            raise TypeError(f"scatter(): argument 'value' must be Number, not "
                            f"{type(value).__name__}")
        value = scalar_value(value, input._dtype)
    return src, value


def _check_reduce(reduce, with_src):
    if reduce is None:
        return
    if reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    if with_src and not _warned_once["scatter_reduce"]:
        _warned_once["scatter_reduce"] = True  # torch warns once per process
        warnings.warn("The reduce argument of torch.scatter with Tensor src is deprecated and "
                      "will be removed in a future PyTorch release. Use torch.scatter_reduce "
                      "instead for more reduction options.", UserWarning, stacklevel=4)


_warned_once = {"scatter_reduce": False}


def _scatter_arguments(input, dim, index, src, value, reduce):
    src, value = _scatter_source(input, src, value)
    _check_reduce(reduce, src is not None)
    dim = _check_scatter(input, dim, index, src)
    return dim, (src if src is not None else value)


def scatter(input, dim, index, src=None, value=None, *, reduce=None, out=None):
    """Writes src (or a number) at the places index names along dim; the last write wins."""
    dim, source = _scatter_arguments(input, dim, index, src, value, reduce)
    result = _apply(_scatter, (input, index, source), {"dim": dim, "reduce": reduce})
    return _write_out(result, out)


def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
    dim, source = _scatter_arguments(self, dim, index, src, value, reduce)
    if isinstance(source, _dispatch.Tensor):
        check_no_overlap(self._data, source._data, allow_identical=False)
    return _run_in_place(self, _write_scatter, (index, source),
                         {"dim": dim, "reduce": reduce})


def _scatter_add_arguments(input, dim, index, src):
    _require_tensor(src, "scatter_add", "src", 3)
    return _check_scatter(input, dim, index, src)


def scatter_add(input, dim, index, src):
    """Like scatter, but duplicate indices sum."""
    dim = _scatter_add_arguments(input, dim, index, src)
    return _apply(_scatter_add, (input, index, src), {"dim": dim})


def scatter_add_(self, dim, index, src):
    dim = _scatter_add_arguments(self, dim, index, src)
    return _run_in_place(self, _write_scatter_add, (index, src), {"dim": dim})


# torch still accepts the old names "max" and "min"
_SCATTER_REDUCTIONS = {"sum": "sum", "prod": "prod", "mean": "mean", "amax": "amax",
                       "amin": "amin", "max": "amax", "min": "amin"}


def _scatter_reduce_arguments(input, dim, index, src, reduce):
    _require_tensor(src, "scatter_reduce", "src", 3)
    dim = _check_scatter(input, dim, index, src)
    if reduce not in _SCATTER_REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    return dim, _SCATTER_REDUCTIONS[reduce]


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True, out=None):
    """Reduce (sum, prod, mean, amax, amin) src into input at the places index names."""
    dim, reduce = _scatter_reduce_arguments(input, dim, index, src, reduce)
    result = _apply(_scatter_reduce, (input, index, src),
                    {"dim": dim, "reduce": reduce, "include_self": bool(include_self)})
    return _write_out(result, out)


def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    dim, reduce = _scatter_reduce_arguments(self, dim, index, src, reduce)
    return _run_in_place(self, _write_scatter_reduce, (index, src),
                         {"dim": dim, "reduce": reduce, "include_self": bool(include_self)})


def _check_index_add(input, dim, index, source, alpha):
    _require_tensor(index, "index_add", "index", 2)
    _require_tensor(source, "index_add", "source", 3)
    shape = input._data.shape
    dim = _wrap_dim(dim, len(shape))
    indices = index._data
    if indices.ndim > 1:
        raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: "
                         f"{indices.ndim} with type: {index._dtype.scalar_name} and size: "
                         f"{list(indices.shape)}")
    if index._dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: "
                           f"{index._dtype.scalar_name}")
    if source._dtype is not input._dtype:
        raise RuntimeError(f"index_add_(): self ({input._dtype.scalar_name}) and source "
                           f"({source._dtype.scalar_name}) must have the same scalar type")
    source_shape = source._data.shape
    along = source_shape[dim] if source_shape else 1
    if indices.size != along:
        if not source_shape:  # torch fails while formatting its message
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        raise RuntimeError(f"index_add_(): Number of indices ({indices.size}) should be equal to "
                           f"source.size(dim): ({along}), for dim: {dim}")
    if len(source_shape) != len(shape) or any(
            a != b for d, (a, b) in enumerate(zip(shape, source_shape)) if d != dim):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(shape)} source.shape = "
                           f"{list(source_shape)}")
    size = shape[dim] if shape else 1
    bad = (indices < 0) | (indices >= size)
    if indices.size and bad.any():
        # torch's scatter-based kernel (alpha 1, first or last dim) words it differently
        if alpha == 1 and len(shape) > 1 and dim in (0, len(shape) - 1):
            raise RuntimeError(f"index {_first_bad(indices, bad)} is out of bounds for dimension "
                               f"{dim} with size {size}")
        raise IndexError("index out of range in self")
    return dim


def _alpha(alpha, dtype):
    value = scalar_value(alpha, dtype)
    return value.item() if isinstance(value, np.generic) else value


def index_add(input, dim, index, source, *, alpha=1, out=None):
    """input with alpha * source added at the indices along dim (duplicates accumulate)."""
    dim = _check_index_add(input, dim, index, source, alpha)
    result = _apply(_index_add, (input, index, source),
                    {"dim": dim, "alpha": _alpha(alpha, input._dtype)})
    return _write_out(result, out)


def index_add_(self, dim, index, source, *, alpha=1):
    dim = _check_index_add(self, dim, index, source, alpha)
    return _run_in_place(self, _write_index_add, (index, source),
                         {"dim": dim, "alpha": _alpha(alpha, self._dtype)})


def _check_index_fill(input, dim, index, value):
    _require_tensor(index, "index_fill", "index", 2)
    shape = input._data.shape
    dim = _wrap_dim(dim, len(shape))
    if index._dtype is not _dt.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    indices = index._data
    if indices.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    value = _fill_value(value, input._dtype, "index_fill_")
    size = shape[dim] if shape else 1
    bad = (indices < -size) | (indices >= size)
    if indices.size and bad.any():
        raise IndexError(f"index {_first_bad(indices, bad)} is out of bounds for dimension {dim} "
                         f"with size {size}")
    return dim, value


def index_fill(input, dim, index, value):
    """input with every slice along dim named by index set to value."""
    dim, checked = _check_index_fill(input, dim, index, value)
    operand = value if isinstance(value, _dispatch.Tensor) else checked
    return _apply(_index_fill, (input, index, operand), {"dim": dim})


def index_fill_(self, dim, index, value):
    dim, value = _check_index_fill(self, dim, index, value)
    return _run_in_place(self, _write_index_fill, (index, value), {"dim": dim})


def _check_index_copy(input, dim, index, source):
    _require_tensor(index, "index_copy", "index", 2)
    _require_tensor(source, "index_copy", "source", 3)
    shape, source_shape = input._data.shape, source._data.shape
    dim = _wrap_dim(dim, len(shape))
    indices = index._data
    if indices.ndim > 1:
        raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got {indices.ndim})")
    if not source_shape and indices.size != 1:
        raise IndexError(f"index_copy_(): When source is scalar, index should have one element "
                         f"(got {indices.size})")
    if index._dtype is not _dt.int64:
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got "
                           f"{index._dtype.scalar_name}")
    along = source_shape[dim] if source_shape else 1
    if indices.size != along:
        raise IndexError(f"index_copy_(): Number of indices ({indices.size}) should be equal to "
                         f"source.size(dim) ({along})")
    if source._dtype is not input._dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but "
                           f"got (self) {input._dtype.scalar_name} and (source) "
                           f"{source._dtype.scalar_name}")
    _check_slice_shapes(shape, source_shape, dim)
    size = shape[dim] if shape else 1
    bad = (indices < 0) | (indices >= size)
    if indices.size and bad.any():
        raise IndexError(f"index_copy_(): index {_first_bad(indices, bad)} is out of bounds for "
                         f"dimension {dim} with size {size}")
    return dim


def _check_slice_shapes(shape, source_shape, dim):
    destination = [n for d, n in enumerate(shape) if d != dim]
    source = [n for d, n in enumerate(source_shape) if d != dim]
    if destination != source:
        raise RuntimeError(
            f"index_copy_(): Source/destination tensor must have same slice shapes. Destination "
            f"slice shape: {' '.join(map(str, destination))} at dimension {dim} and source slice "
            f"shape: {' '.join(map(str, source))} at dimension 0.")


def index_copy(input, dim, index, source):
    """input with the slices along dim named by index replaced by source's slices."""
    dim = _check_index_copy(input, dim, index, source)
    return _apply(_index_copy, (input, index, source), {"dim": dim})


def index_copy_(self, dim, index, source):
    dim = _check_index_copy(self, dim, index, source)
    return _run_in_place(self, _write_index_copy, (index, source), {"dim": dim})


def _check_put(input, index, source):
    _require_tensor(index, "put_", "index", 1)
    _require_tensor(source, "put_", "source", 2)
    if index._dtype is not _dt.int64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got "
                           f"{index._dtype.scalar_name}")
    if source._dtype is not input._dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {input._dtype.scalar_name} and source.dtype = "
                           f"{source._dtype.scalar_name}")
    if source._data.size != index._data.size:
        raise IndexError(f"put_(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = {source._data.size}, "
                         f"index.numel() = {index._data.size}")
    numel = input._data.size
    if numel == 0 and index._data.size:
        raise IndexError("put_(): Tried to put elements into an empty tensor")
    _check_flat_bounds(index._data, numel)


def put(input, index, source, accumulate=False):
    """input with input.flatten()[index] = source (summed when accumulate)."""
    _check_put(input, index, source)
    return _apply(_put, (input, index, source), {"accumulate": bool(accumulate)})


def put_(self, index, source, accumulate=False):
    _check_put(self, index, source)
    return _run_in_place(self, _write_put, (index, source),
                         {"accumulate": bool(accumulate)})


EXTRA_METHODS = {
    "__getitem__": getitem,
    "__setitem__": setitem,
    "masked_fill_": masked_fill_,
    "scatter_": scatter_,
    "scatter_add_": scatter_add_,
    "scatter_reduce_": scatter_reduce_,
    "index_add_": index_add_,
    "index_fill_": index_fill_,
    "index_copy_": index_copy_,
    "index_put_": index_put_,
    "put_": put_,
}


def _zeros(shape, dtype):
    from .creation import zeros
    return zeros(shape, dtype=dtype)


def _index_vjp(ctx, grad):
    """Repeated indices accumulate: index_put with accumulate=True into zeros."""
    shape = ctx.meta[0][0]
    indices = tuple(ctx.operands[1:])
    base = _zeros(shape, grad.dtype)
    return (_apply(_index_put, (base, grad) + indices,
                   {"dims": ctx.attrs["dims"], "accumulate": True}),) + (None,) * len(indices)


def _index_put_vjp(ctx, grad):
    indices = tuple(ctx.operands[2:])
    attrs = ctx.attrs
    grad_input = None
    if ctx.needs[0]:
        grad_input = grad if attrs["accumulate"] else _apply(
            _index_put, (grad, _zeros((), grad.dtype)) + indices,
            {"dims": attrs["dims"], "accumulate": False})
    grad_values = _apply(_index, (grad,) + indices, {"dims": attrs["dims"]}) if ctx.needs[1] else None
    return (grad_input, grad_values) + (None,) * len(indices)


def _masked_fill_vjp(ctx, grad):
    mask = ctx.operands[1]
    grad_input = _elementwise_where(mask, 0.0, grad) if ctx.needs[0] else None
    grad_value = None
    if len(ctx.needs) > 2 and ctx.needs[2]:
        grad_value = _elementwise_where(mask, grad, 0.0).sum()
    return grad_input, None, grad_value


def _masked_select_vjp(ctx, grad):
    x_shape = ctx.meta[0][0]
    mask = ctx.operands[1]
    shape = tuple(np.broadcast_shapes(x_shape, mask.shape))
    positions = _shape.unbind(_apply(_nonzero, (mask.expand(shape),)), 1)
    base = _zeros(shape, grad.dtype)
    return (_apply(_index_put, (base, grad) + tuple(positions),
                   {"dims": tuple(range(len(shape))), "accumulate": True}), None)


def _index_select_vjp(ctx, grad):
    shape = ctx.meta[0][0]
    index = ctx.operands[1]
    if not shape:
        return (grad.reshape(()), None)
    dim = ctx.attrs["dim"]
    base = _zeros(shape, grad.dtype)
    return (_apply(_index_add, (base, index.reshape(-1), grad), {"dim": dim, "alpha": 1}), None)


def _gather_vjp(ctx, grad):
    shape = ctx.meta[0][0]
    index = ctx.operands[1]
    if not shape or index.dim() == 0:
        base = _zeros((max(1, int(np.prod(shape))),), grad.dtype)
        return (_apply(_put, (base, index.reshape(-1), grad.reshape(-1)), {"accumulate": True})
                .reshape(shape), None)
    base = _zeros(shape, grad.dtype)
    return (_apply(_scatter_add, (base, index, grad), {"dim": ctx.attrs["dim"]}), None)


def _scatter_vjp(ctx, grad):
    if ctx.attrs.get("reduce") is not None:
        raise RuntimeError("the derivative of scatter with reduce= is not implemented")
    index = ctx.operands[1]
    dim = ctx.attrs["dim"]
    grad_input = _apply(_scatter, (grad, index, 0.0), {"dim": dim, "reduce": None}) \
        if ctx.needs[0] else None
    grad_source = _apply(_gather, (grad, index), {"dim": dim}) \
        if len(ctx.needs) > 2 and ctx.needs[2] else None
    return grad_input, None, grad_source


def _scatter_add_vjp(ctx, grad):
    index = ctx.operands[1]
    grad_source = _apply(_gather, (grad, index), {"dim": ctx.attrs["dim"]}) if ctx.needs[2] else None
    return grad, None, grad_source


def _index_add_vjp(ctx, grad):
    index = ctx.operands[1]
    attrs = ctx.attrs
    grad_source = None
    if ctx.needs[2]:
        grad_source = _apply(_index_select, (grad, index.reshape(-1)), {"dim": attrs["dim"]})
        if attrs["alpha"] != 1:
            grad_source = grad_source * attrs["alpha"]
    return grad, None, grad_source


def _index_fill_vjp(ctx, grad):
    index = ctx.operands[1]
    dim = ctx.attrs["dim"]
    grad_input = _apply(_index_fill, (grad, index, 0.0), {"dim": dim}) if ctx.needs[0] else None
    grad_value = None
    if len(ctx.needs) > 2 and ctx.needs[2]:
        grad_value = _apply(_index_select, (grad, index.reshape(-1)), {"dim": dim}).sum()
    return grad_input, None, grad_value


def _index_copy_vjp(ctx, grad):
    index = ctx.operands[1]
    dim = ctx.attrs["dim"]
    grad_input = _apply(_index_fill, (grad, index, 0.0), {"dim": dim}) if ctx.needs[0] else None
    grad_source = _apply(_index_select, (grad, index.reshape(-1)), {"dim": dim}) \
        if ctx.needs[2] else None
    return grad_input, None, grad_source


def _take_vjp(ctx, grad):
    shape = ctx.meta[0][0]
    index = ctx.operands[1]
    base = _zeros((int(np.prod(shape)),), grad.dtype)
    flat = _apply(_put, (base, index.reshape(-1), grad.reshape(-1)), {"accumulate": True})
    return (flat.reshape(shape), None)


def _put_vjp(ctx, grad):
    index = ctx.operands[1]
    grad_input = None
    if ctx.needs[0]:
        grad_input = grad if ctx.attrs["accumulate"] else _apply(
            _put, (grad, index, _zeros(index.shape, grad.dtype)), {"accumulate": False})
    grad_source = _apply(_take, (grad, index)) if ctx.needs[2] else None
    return grad_input, None, grad_source


def _scatter_reduce_vjp(ctx, grad):
    """Only reduce='sum' (what scatter_add is with include_self) is differentiated."""
    attrs = ctx.attrs
    if attrs["reduce"] != "sum":
        raise RuntimeError(f"the derivative of scatter_reduce with reduce='{attrs['reduce']}' is "
                           "not implemented")
    index = ctx.operands[1]
    grad_input = grad
    if not attrs["include_self"]:
        grad_input = _apply(_scatter, (grad, index, 0.0), {"dim": attrs["dim"], "reduce": None})
    grad_source = _apply(_gather, (grad, index), {"dim": attrs["dim"]}) if ctx.needs[2] else None
    return grad_input, None, grad_source


def _elementwise_where(condition, x, y):
    from .elementwise import where
    return where(condition, x, y)


for _name, _rule, _saves in (
        ("index", _index_vjp, None), ("index_put", _index_put_vjp, None),
        ("masked_fill", _masked_fill_vjp, (1,)), ("masked_select", _masked_select_vjp, (1,)),
        ("index_select", _index_select_vjp, (1,)), ("gather", _gather_vjp, (1,)),
        ("scatter", _scatter_vjp, (1,)), ("scatter_add", _scatter_add_vjp, (1,)),
        ("index_add", _index_add_vjp, (1,)), ("index_fill", _index_fill_vjp, (1,)),
        ("index_copy", _index_copy_vjp, (1,)), ("take", _take_vjp, (1,)),
        ("put", _put_vjp, (1,)), ("scatter_reduce", _scatter_reduce_vjp, (1,))):
    defvjp(_name, _rule, saves=_saves)
