"""Creation ops: tensor, zeros/ones/full/empty (and *_like), eye, arange, linspace, from_numpy."""
import math
import numbers

import numpy as np

from ... import dtypes as _dt
from ...device import check_device
from ...runtime import cpu as _cpu

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "zeros_like",
           "ones_like", "empty_like", "full_like", "eye", "arange", "range", "linspace",
           "logspace", "scalar_tensor"]
NOT_METHODS = __all__

_builtin_range = range


def parse_size(size, function_name="size"):
    """Accept f(2, 3), f((2, 3)), f([2, 3]) and f(Size) alike; torch's errors for bad entries."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    result = []
    for s in size:
        if isinstance(s, _cpu.Tensor) and s.numel() == 1 and s._dtype.category == 1:
            s = s.item()
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"{function_name}(): argument 'size' must be tuple of ints, but found "
                            f"element of type {type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        result.append(int(s))
    return tuple(result)


def _finish(array, dtype, requires_grad=False):
    result = _cpu.wrap(array, dtype)
    if requires_grad:
        result.requires_grad_(True)
    return result


def _resolve_dtype(dtype):
    return _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)


# ------------------------------------------------------------------ from data


def _inferred_dtype(array, data):
    """torch.tensor's dtype inference: Python floats take the default dtype, arrays keep theirs."""
    if isinstance(data, np.ndarray):
        return _dt.from_numpy_dtype(array.dtype)
    if array.dtype.kind == "f" and not _contains_typed_floats(data):
        return _dt.get_default_dtype()
    if array.dtype.kind in "iu":
        return _dt.int64 if not _contains_typed_ints(data) else _dt.from_numpy_dtype(array.dtype)
    return _dt.from_numpy_dtype(array.dtype)


def _contains_typed_floats(data):
    """True when every leaf is a float tensor/array (whose dtype, not the default, decides)."""
    if isinstance(data, (_cpu.Tensor, np.ndarray, np.floating)):
        return True
    if isinstance(data, (list, tuple)) and data:
        return all(_contains_typed_floats(d) for d in data)
    return False


def _contains_typed_ints(data):
    if isinstance(data, (_cpu.Tensor, np.ndarray)):
        return True
    if isinstance(data, (list, tuple)) and data:
        return all(_contains_typed_ints(d) for d in data)
    return False


def _check_nested(data, depth=0, shape=None):
    """torch's error for ragged nested sequences."""
    if not isinstance(data, (list, tuple)):
        return
    if shape is None:
        shape = []
    if len(shape) <= depth:
        shape.append(len(data))
    elif shape[depth] != len(data):
        raise ValueError(f"expected sequence of length {shape[depth]} at dim {depth} (got {len(data)})")
    for item in data:
        _check_nested(item, depth + 1, shape)


def array_from_data(data, dtype=None, legacy=False):
    """A fresh numpy array holding `data` (scalar, nested sequence, ndarray or Tensor) in `dtype`."""
    if isinstance(data, _cpu.Tensor):
        array = data._data
    elif isinstance(data, np.ndarray):
        array = data
    else:
        if isinstance(data, (list, tuple)):
            _check_nested(data)
        elif not isinstance(data, (numbers.Number, np.generic)):
            if legacy:
                raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
            raise RuntimeError(f"Could not infer dtype of {type(data).__name__}")
        try:
            array = np.array(data)
        except (ValueError, TypeError) as error:
            raise TypeError(f"could not convert data to a tensor: {error}") from None
        if array.dtype == object:
            raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    if dtype is None:
        dtype = _inferred_dtype(array, data)
    if array.dtype.kind == "f" and dtype.category == 1 and not isinstance(data, (np.ndarray, _cpu.Tensor)):
        pass  # torch truncates floats given an integer dtype, as astype does
    return np.array(array, dtype=dtype.np, copy=True, order="C")


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    check_device(device)
    dtype = None if dtype is None else _dt.to_dtype(dtype)
    array = array_from_data(data, dtype)
    return _finish(array, _dt.from_numpy_dtype(array.dtype), requires_grad)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, _cpu.Tensor) and (dtype is None or dtype is data._dtype):
        return data
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
    return _cpu.wrap(array, dtype)


def scalar_tensor(value, *, dtype=None, device=None, requires_grad=False):
    return full((), value, dtype=_resolve_dtype(dtype), requires_grad=requires_grad)


# ------------------------------------------------------------------ filled


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    check_device(device)
    dtype = _resolve_dtype(dtype)
    return _finish(np.zeros(parse_size(size, "zeros"), dtype=dtype.np), dtype, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    check_device(device)
    dtype = _resolve_dtype(dtype)
    return _finish(np.ones(parse_size(size, "ones"), dtype=dtype.np), dtype, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None,
          memory_format=None, pin_memory=False):
    """Uninitialised in torch; zero-filled here, so no stale memory can leak into results."""
    check_device(device)
    dtype = _resolve_dtype(dtype)
    return _finish(np.zeros(parse_size(size, "empty"), dtype=dtype.np), dtype, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    check_device(device)
    if isinstance(fill_value, _cpu.Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = _dt.scalar_dtype(fill_value)
    else:
        dtype = _dt.to_dtype(dtype)
    shape = parse_size((size,) if isinstance(size, (tuple, list)) else (size,), "full")
    return _finish(np.full(shape, fill_value, dtype=dtype.np), dtype, requires_grad)


def _like(input, dtype):
    return input._dtype if dtype is None else _dt.to_dtype(dtype)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    return zeros(input.shape, dtype=_like(input, dtype), requires_grad=requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    return ones(input.shape, dtype=_like(input, dtype), requires_grad=requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    return empty(input.shape, dtype=_like(input, dtype), requires_grad=requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, memory_format=None,
              layout=None):
    return full(input.shape, fill_value, dtype=_like(input, dtype), requires_grad=requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    check_device(device)
    dtype = _resolve_dtype(dtype)
    if n < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    if m is not None and m < 0:
        raise RuntimeError(f"m must be greater or equal to 0, got {m}")
    return _finish(np.eye(n, n if m is None else m, dtype=dtype.np), dtype, requires_grad)


# ------------------------------------------------------------------ ranges


def _number(value):
    return value.item() if isinstance(value, _cpu.Tensor) else value


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False, out=None,
           layout=None):
    """Integers when start, end and step are all integers (int64), else the default float dtype."""
    check_device(device)
    if end is None:
        start, end = 0, start
    start, end, step = _number(start), _number(end), _number(step)
    if dtype is None:
        is_integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = _dt.int64 if is_integral else _dt.get_default_dtype()
    else:
        dtype = _dt.to_dtype(dtype)
    for v in (start, end):
        if not math.isfinite(v):
            raise RuntimeError(f"unsupported range: {start} -> {end}")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    count = math.ceil((end - start) / step)
    compute = np.float64 if dtype.category == 2 or not all(
        isinstance(v, (int, np.integer)) for v in (start, end, step)) else np.int64
    values = start + np.arange(count, dtype=compute) * step if compute is np.float64 \
        else np.arange(start, end, step, dtype=np.int64)
    return _finish(values.astype(dtype.np), dtype, requires_grad)


def range(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Deprecated torch.range: includes `end`."""
    if end is None:
        start, end = 0, start
    dtype = _resolve_dtype(dtype)
    count = int(math.floor((end - start) / step)) + 1
    values = start + np.arange(count, dtype=np.float64) * step
    return _finish(values.astype(dtype.np), dtype, requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False, out=None,
             layout=None):
    """torch's algorithm: the first half counts up from start, the second half down from end."""
    check_device(device)
    start, end = _number(start), _number(end)
    if not isinstance(steps, (int, np.integer)):
        raise TypeError(f"linspace(): argument 'steps' must be int, not {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dtype = _resolve_dtype(dtype)
    compute = dtype.np if dtype.category == 2 else np.float64
    if steps == 0:
        values = np.zeros(0, dtype=compute)
    elif steps == 1:
        values = np.full(1, start, dtype=compute)
    else:
        step = (end - start) / (steps - 1)
        index = np.arange(steps, dtype=compute)
        halfway = steps // 2
        values = np.where(index < halfway, compute(start) + compute(step) * index,
                          compute(end) - compute(step) * (steps - 1 - index))
    if dtype.category == 1:
        values = np.trunc(values)
    return _finish(values.astype(dtype.np), dtype, requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    exponent = linspace(start, end, steps, dtype=_dt.float64)
    dtype = _resolve_dtype(dtype)
    return _finish(np.power(base, exponent._data).astype(dtype.np), dtype, requires_grad)
