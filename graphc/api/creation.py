"""Creation ops: tensor, zeros/ones/full/empty (and *_like), eye, arange, linspace, from_numpy.

dtype inference follows torch.tensor: Python floats take the default dtype, Python ints int64,
bools bool; numpy scalars and arrays and 0-dim tensors keep their own dtype; a sequence promotes
the dtypes of its elements.
"""
import math
import warnings

import numpy as np

from .. import dtypes as _dt
from ..device import check_device
from .. import dispatch as _dispatch
from ..ir.primitives.shape import allocate_like, contiguous_strides

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "zeros_like",
           "ones_like", "empty_like", "full_like", "eye", "arange", "range", "linspace",
           "logspace", "scalar_tensor"]
NOT_METHODS = __all__

_builtin_range = range
_PYTHON_NUMBERS = {float, int, bool}


def parse_size(size, function_name="size"):
    """Accept f(2, 3), f((2, 3)), f([2, 3]) and f(Size) alike; torch's errors for bad entries."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    for s in size:
        if s.__class__ is not int or s < 0:
            return _parse_unusual_size(size, function_name)
    return tuple(size)


def _parse_unusual_size(size, function_name):
    """parse_size for entries that are not plain non-negative ints: numpy integers and integer
    tensors are accepted, the rest gets torch's message."""
    if len(size) == 1 and not _is_size_entry(size[0]):
        raise TypeError(f"{function_name}(): argument 'size' (position 1) must be tuple of ints, "
                        f"not {type(size[0]).__name__}")
    result = []
    for position, s in enumerate(size):
        if isinstance(s, _dispatch.Tensor) and s.numel() == 1 and s._dtype.category == 1:
            s = s.item()
        if not _is_size_entry(s):
            raise TypeError(f"{function_name}(): argument 'size' failed to unpack the object at "
                            f"pos {position + 1} with error \"type must be tuple of ints,but got "
                            f"{type(s).__name__}\"")
        result.append(int(s))
    for s in result:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {result}")
    return tuple(result)


def _is_size_entry(value):
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, _dispatch.Tensor):
        return value.numel() == 1 and value._dtype.category == 1
    return isinstance(value, (int, np.integer))


_CPP_TYPE_NAMES = {_dt.uint8: "uint8_t", _dt.int8: "int8_t", _dt.int16: "int16_t",
                   _dt.int32: "int", _dt.int64: "int64_t"}


def _integer_range(dtype, floating=False):
    """The values torch converts into an integer dtype: its range, and for unsigned types also
    integer negatives down to -max (which wrap, as in C; a negative float is refused)."""
    info = np.iinfo(dtype.np)
    return (int(info.min) if dtype.is_signed or floating else -int(info.max)), int(info.max)


def check_fill_value(dtype, value, type_name=None):
    """torch refuses a value outside an integer dtype's range (float16 overflows to inf without
    complaint). `type_name`: how the message names the type (fill_ and full say int8_t)."""
    if dtype.category != 1 or isinstance(value, (bool, np.bool_)):
        return
    low, high = _integer_range(dtype, isinstance(value, (float, np.floating)))
    if not low <= value <= high:  # also refuses nan
        raise RuntimeError(f"value cannot be converted to type "
                           f"{type_name or _CPP_TYPE_NAMES[dtype]} without overflow")


def cast_number(value, dtype):
    """A Python number as a numpy scalar of `dtype`, with torch's range check and C wrapping."""
    check_fill_value(dtype, value)
    if dtype.category == 1 and not isinstance(value, (bool, np.bool_)) and value < 0:
        return np.array(int(value)).astype(dtype.np)[()]
    return dtype.np.type(value)


def fill_array(shape, value, dtype):
    """np.full with torch's conversion of the fill value."""
    return np.full(shape, cast_number(value, dtype), dtype=dtype.np)


def _finish(array, dtype, requires_grad=False):
    if array.size == 0 and array.ndim:
        # numpy gives empty arrays zero strides; torch's are row-major (size 0 counting as 1)
        array = np.lib.stride_tricks.as_strided(
            array, array.shape, contiguous_strides(array.shape, array.itemsize))
    result = _dispatch.wrap(array, dtype)
    if not requires_grad:
        _dispatch.note_created(result)
    if requires_grad:
        if dtype.category != 2:
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        result.requires_grad_(True)
    return result


def factory_dtype(dtype, function):
    """The `dtype=` of a factory function: a graphc dtype, or Python's float/int/bool (float64,
    int64, bool), as torch's parser accepts; a string or a numpy type is its TypeError."""
    if isinstance(dtype, _dt.dtype):
        return dtype
    if dtype is float or dtype is int or dtype is bool:
        return _dt.to_dtype(dtype)
    raise TypeError(f"{function}(): argument 'dtype' must be torch.dtype, not "
                    f"{type(dtype).__name__}")


def _resolve_dtype(dtype, function):
    return _dt.get_default_dtype() if dtype is None else factory_dtype(dtype, function)


def infer_dtype(data):
    """torch.tensor's dtype for `data` (a scalar, a nested sequence, an ndarray or a Tensor)."""
    if isinstance(data, (list, tuple)):
        kinds = set(map(type, data))
        if kinds <= _PYTHON_NUMBERS:  # the common case, decided without a per-element walk
            if float in kinds or not kinds:
                return _dt.get_default_dtype()
            return _dt.int64 if int in kinds else _dt.bool
        result = None
        for item in data:
            item_dtype = infer_dtype(item)
            result = item_dtype if result is None else _dt.promote_types(result, item_dtype)
        return result
    if isinstance(data, (np.ndarray, np.generic)):  # before float: np.float64 is a float
        return _dt.from_numpy_dtype(data.dtype)
    if isinstance(data, bool):
        return _dt.bool
    if isinstance(data, int):
        return _dt.int64
    if isinstance(data, float):
        return _dt.get_default_dtype()
    if isinstance(data, _dispatch.Tensor):
        return data._dtype
    if isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    raise RuntimeError(f"Could not infer dtype of {type(data).__name__}")


def _plain(data):
    """`data` with tensors inside sequences turned into Python scalars, as torch reads them."""
    if isinstance(data, (list, tuple)):
        return [_plain(item) for item in data]
    if isinstance(data, _dispatch.Tensor):
        if data._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return data._data.reshape(()).item()
    return data


def _check_nested(data, depth=0, shape=None):
    """torch's errors for ragged nested sequences."""
    if shape is None:
        shape = []
    is_sequence = isinstance(data, (list, tuple, np.ndarray))
    if len(shape) > depth and shape[depth] is not None and not is_sequence:
        raise TypeError("not a sequence")
    if not is_sequence:
        if len(shape) == depth:
            shape.append(None)
        elif shape[depth] is not None:
            raise TypeError("not a sequence")
        return
    if len(shape) == depth:
        shape.append(len(data))
    elif shape[depth] is None:
        raise TypeError(f"'{type(data).__name__}' object cannot be interpreted as an integer")
    elif shape[depth] != len(data):
        raise ValueError(f"expected sequence of length {shape[depth]} at dim {depth} "
                         f"(got {len(data)})")
    for item in data:
        _check_nested(item, depth + 1, shape)


def _array_of_sequence(data, dtype):
    plain = data if set(map(type, data)) <= _PYTHON_NUMBERS else _plain(data)
    try:
        array = np.array(plain)  # numpy's own dtype: int64, float64, bool, ... (object if huge)
    except (ValueError, TypeError):
        _check_nested(plain)
        raise
    if array.dtype == object:
        _check_nested(plain)
        raise ValueError("Overflow when unpacking long long")
    if dtype.category == 1 and array.size and array.dtype.kind in "iuf":
        low, high = _integer_range(dtype, array.dtype.kind == "f")
        if not (low <= array.min() and array.max() <= high):  # nan fails too
            raise RuntimeError(f"value cannot be converted to type {dtype.name} without "
                               f"overflow")
    return array.astype(dtype.np, copy=array.dtype != dtype.np)


def array_from_data(data, dtype=None, legacy=False):
    """A fresh C-ordered numpy array holding `data` (scalar, nested sequence, ndarray or Tensor)
    in `dtype` (inferred like torch.tensor when None). `legacy`: the Tensor(...) constructor,
    which wants a sequence."""
    if isinstance(data, _dispatch.Tensor):
        array = data._data
    elif isinstance(data, np.ndarray):
        array = data
        if dtype is None:
            dtype = _dt.from_numpy_dtype(array.dtype)
    else:
        if legacy and not isinstance(data, (list, tuple)):
            raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
        if dtype is None:
            dtype = infer_dtype(data)
        if isinstance(data, (list, tuple)):
            return _array_of_sequence(data, dtype)
        return _array_of_sequence([data], dtype).reshape(())
    if dtype is None:
        dtype = data._dtype
    return np.array(array, dtype=dtype.np, copy=True, order="C")


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    check_device(device)
    if isinstance(data, _dispatch.Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or "
                      "sourceTensor.detach().clone().requires_grad_(True), rather than "
                      "torch.tensor(sourceTensor).", UserWarning, stacklevel=2)
    dtype = None if dtype is None else factory_dtype(dtype, "tensor")
    array = array_from_data(data, dtype)
    return _finish(array, _dt.from_numpy_dtype(array.dtype), requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like tensor(), but shares memory with a Tensor or ndarray already of `dtype`."""
    if isinstance(data, _dispatch.Tensor):
        return data if dtype is None or _dt.to_dtype(dtype) is data._dtype else \
            data.to(_dt.to_dtype(dtype))
    if isinstance(data, np.ndarray) and (dtype is None or _dt.to_dtype(dtype).np == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """A tensor sharing memory with `array` (writes show up on both sides)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtype = _dt.from_numpy_dtype(array.dtype)
    if any(s % array.itemsize for s in array.strides) or any(s < 0 for s in array.strides):
        raise ValueError("At least one stride in the given numpy array is negative, and tensors "
                         "with negative strides are not currently supported. (You can probably "
                         "work around this by making a copy of your array  with array.copy().) ")
    if not array.dtype.isnative:
        raise ValueError("given numpy array has byte order different from the native byte order. "
                         "Conversion between byte orders is currently not supported.")
    return _dispatch.wrap(array, dtype)


def scalar_tensor(value, *, dtype=None, device=None, requires_grad=False):
    return full((), value, dtype=_resolve_dtype(dtype, "scalar_tensor"),
                requires_grad=requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    check_device(device)
    dtype = _resolve_dtype(dtype, "zeros")
    return _finish(np.zeros(parse_size(size, "zeros"), dtype=dtype.np), dtype, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    check_device(device)
    dtype = _resolve_dtype(dtype, "ones")
    return _finish(np.ones(parse_size(size, "ones"), dtype=dtype.np), dtype, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None,
          memory_format=None, pin_memory=False):
    """Uninitialised in torch; zero-filled here, so no stale memory can leak into results."""
    check_device(device)
    dtype = _resolve_dtype(dtype, "empty")
    return _finish(np.zeros(parse_size(size, "empty"), dtype=dtype.np), dtype, requires_grad)


def _fill_number(value, function):
    """full's fill_value as torch's parser takes it: a number or a 0-dim tensor."""
    if isinstance(value, _dispatch.Tensor):
        if value._data.ndim == 0:
            return value._data.item()
    elif isinstance(value, (int, float, bool, np.number, np.bool_)):
        return value
    kind = type(value)
    name = kind.__name__ if kind.__module__ in ("builtins", "graphc") else \
        f"{kind.__module__}.{kind.__name__}"
    raise TypeError(f"{function}(): argument 'fill_value' (position 2) must be Number, not {name}")


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    check_device(device)
    fill_value = _fill_number(fill_value, "full")
    dtype = _dt.scalar_dtype(fill_value) if dtype is None else factory_dtype(dtype, "full")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type(size).__name__}")
    shape = parse_size((size,), "full")
    return _finish(fill_array(shape, fill_value, dtype), dtype, requires_grad)


def _like(function, input, dtype, memory_format, fill, device):
    """A new tensor shaped like `input`, filled with fill(dtype), on input's device unless
    `device` names one."""
    if device is not None:
        check_device(device)
    dtype = input._dtype if dtype is None else factory_dtype(dtype, function)
    array = allocate_like(input._data, dtype.np, memory_format)
    array[...] = fill(dtype)
    return dtype, array


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None,
               layout=None):
    dtype, array = _like("zeros_like", input, dtype, memory_format, lambda d: 0, device)
    return _finish(array, dtype, requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None,
              layout=None):
    dtype, array = _like("ones_like", input, dtype, memory_format, lambda d: 1, device)
    return _finish(array, dtype, requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None,
               layout=None):
    dtype, array = _like("empty_like", input, dtype, memory_format, lambda d: 0, device)
    return _finish(array, dtype, requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False,
              memory_format=None, layout=None):
    fill_value = _fill_number(fill_value, "full_like")

    def fill(d):
        return cast_number(fill_value, d)

    dtype, array = _like("full_like", input, dtype, memory_format, fill, device)
    return _finish(array, dtype, requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    check_device(device)
    dtype = _resolve_dtype(dtype, "eye")
    for name, position, value in (("n", 1, n), ("m", 2, m)):
        if value is None:
            continue
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"eye(): argument '{name}' (position {position}) must be int, not "
                            f"{type(value).__name__}")
        if value < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {value}")
    return _finish(np.eye(n, n if m is None else m, dtype=dtype.np), dtype, requires_grad)


def _number(value):
    return value._data.reshape(()).item() if isinstance(value, _dispatch.Tensor) else value


def _is_integral_number(value):
    return isinstance(value, (int, np.integer, bool, np.bool_))


def _range_dtype(dtype, values, function_name):
    if dtype is None:
        return _dt.int64 if all(_is_integral_number(v) for v in values) else \
            _dt.get_default_dtype()
    dtype = factory_dtype(dtype, function_name)
    if dtype is _dt.bool:
        raise NotImplementedError(f"\"{function_name}_cpu\" not implemented for 'Bool'")
    return dtype


def _check_range(start, end, step):
    for value in (start, end):
        if not math.isfinite(value):
            raise RuntimeError(f"unsupported range: {start} -> {end}")
    if not ((step > 0 and end >= start) or (step < 0 and end <= start)):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")


def _range_size(size):
    if not 0 <= size <= 2 ** 63 - 1:
        raise RuntimeError("invalid size, possible overflow?")
    return int(size)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False, out=None,
           layout=None):
    """[start, end) by step: int64 when all three are integers, else the default float dtype.

    As in torch, integer results count and step in integers (start, end and step truncated)
    and int64 sizes its result from those truncated bounds; other dtypes size it from the
    given values, ceil((end - start) / step), and compute start + i * step in double.
    """
    check_device(device)
    if end is None:
        start, end = 0, start
    start, end, step = _number(start), _number(end), _number(step)
    dtype = _range_dtype(dtype, (start, end, step), "arange")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dtype.category == 1:
        first, last, stride = int(start), int(end), int(step)
        if dtype is _dt.int64:
            if stride == 0:
                raise ValueError("step must be nonzero")
            _check_range(first, last, stride)
            sign = 1 if stride > 0 else -1
            span = last - first + stride - sign
            count = abs(span) // abs(stride) * (1 if (span >= 0) == (stride > 0) else -1)
        else:
            _check_range(start, end, step)
            count = math.ceil((end - start) / step)
        count = _range_size(count)
        values = first + np.arange(count, dtype=np.int64) * stride
    else:
        _check_range(start, end, step)
        count = _range_size(math.ceil((end - start) / step))
        values = fused_multiply_add(np.arange(count, dtype=np.float64), step, start)
    return _finish(values.astype(dtype.np), dtype, requires_grad)


def _split(a):
    """Veltkamp's split of doubles into halves whose products are exact."""
    c = 134217729.0 * a  # 2**27 + 1
    high = c - (c - a)
    return high, a - high


def fused_multiply_add(a, b, c):
    """a * b + c with a single rounding, as torch's kernels compute start + i * step (an exact
    product and sum, by Dekker's two-product and Knuth's two-sum)."""
    product = a * b
    a_high, a_low = _split(a)
    b_high, b_low = _split(np.float64(b))
    product_error = ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low
    total = product + c
    virtual = total - product
    sum_error = (product - (total - virtual)) + (c - virtual)
    return total + (sum_error + product_error)


def range(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Deprecated torch.range: includes `end`; the default float dtype unless one is given."""
    check_device(device)
    if end is None:
        start, end = 0, start
    start, end, step = _number(start), _number(end), _number(step)
    warnings.warn("torch.range is deprecated and will be removed in a future release because its "
                  "behavior is inconsistent with Python's range builtin. Instead, use "
                  "torch.arange, which produces values in [start, end).", UserWarning,
                  stacklevel=2)
    dtype = _resolve_dtype(dtype, "range")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    _check_range(start, end, step)
    count = _range_size(math.floor((end - start) / step) + 1)
    values = start + np.arange(count, dtype=np.float64) * step
    return _finish(values.astype(dtype.np), dtype, requires_grad)


def _check_steps(steps, function_name):
    if isinstance(steps, _dispatch.Tensor):
        steps = steps.item()
    if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"{function_name}() received an invalid combination of arguments - got "
                        f"steps of type {type(steps).__name__}, but expected int steps")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    return int(steps)


def _spaced(start, end, steps, dtype):
    """torch's linspace: the first half counts up from start, the second half down from end (so
    both ends are exact). The bounds and the step are rounded to `dtype` (float64 for integer
    results); like torch, other values are then computed in double with fused multiply-adds (a
    float32 result rounds once more), float16 ones in float16."""
    step_type = dtype.np.type if dtype.category == 2 else np.float64
    compute = np.float16 if dtype is _dt.float16 else np.float64
    if steps == 0:
        return np.zeros(0, dtype=compute)
    if steps == 1:
        return np.full(1, step_type(start), dtype=compute)
    first, last = step_type(start), step_type(end)
    step = compute((last - first) / step_type(steps - 1))
    first, last = compute(first), compute(last)
    index = np.arange(steps, dtype=compute)
    halfway = steps // 2
    if compute is np.float16:
        return np.where(index < halfway, first + step * index, last - step * (steps - 1 - index))
    return np.where(index < halfway, fused_multiply_add(index, step, first),
                    fused_multiply_add(index - (steps - 1), step, last))


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False, out=None,
             layout=None):
    check_device(device)
    start, end = _number(start), _number(end)
    steps = _check_steps(steps, "linspace")
    dtype = _resolve_dtype(dtype, "linspace")
    if dtype is _dt.bool:
        raise NotImplementedError("\"linspace_cpu\" not implemented for 'Bool'")
    if dtype.category == 1:
        # the bounds are converted into the dtype first (wrapping, as in C); the step is double
        first, last = int(cast_number(start, dtype)), int(cast_number(end, dtype))
        values = np.trunc(_spaced(first, last, steps, dtype))
    else:
        values = _spaced(start, end, steps, dtype)
    return _finish(values.astype(dtype.np), dtype, requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False,
             out=None, layout=None):
    check_device(device)
    start, end = _number(start), _number(end)
    steps = _check_steps(steps, "logspace")
    dtype = _resolve_dtype(dtype, "logspace")
    if dtype is _dt.bool:
        raise NotImplementedError("\"logspace_cpu\" not implemented for 'Bool'")
    exponents = _spaced(start, end, steps, dtype if dtype.category == 2 else _dt.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        values = np.power(float(base), exponents.astype(np.float64))
    return _finish(values.astype(dtype.np), dtype, requires_grad)
