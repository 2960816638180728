"""Rearranging a tensor's elements: roll, diff, tile and broadcast_to, composed of narrow, cat,
sub, repeat and expand, so that autograd and graphc.compile go through them unchanged.

torch's functions take a tuple of sizes where its methods also take the sizes one by one
(`x.tile(2, 2)`, `torch.tile(x, (2, 2))`): the methods are declared separately below.
"""
import numpy as np

from .. import dispatch as _dispatch
from .elementwise import PUBLIC as _ELEMENTWISE, check_tensor as _check_tensor, sub as _sub
from .shape import (_sizes, cat as _cat, clone as _clone, expand as _expand, narrow as _narrow,
                    repeat as _repeat, reshape as _reshape, wrap_dim as _wrap_dim)

__all__ = ["roll", "diff", "tile", "broadcast_to"]
NOT_METHODS = ["tile", "broadcast_to"]


def _int_tuple(value, function, argument, position):
    """An int or a sequence of ints (a one-element tensor counts as an int)."""
    if isinstance(value, _dispatch.Tensor) and value._data.size == 1:
        value = value.item()
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),)
    if isinstance(value, (tuple, list)) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        return tuple(int(v) for v in value)
    raise TypeError(f"{function}(): argument '{argument}' (position {position}) must be tuple of "
                    f"ints, not {type(value).__name__}")


def _roll_dim(input, shift, dim):
    size = input._data.shape[dim]
    shift = shift % size if size else 0
    if not shift:
        return input
    # the last `shift` elements move to the front
    return _cat([_narrow(input, dim, size - shift, shift), _narrow(input, dim, 0, size - shift)],
                dim)


def roll(input, shifts, dims=None):
    """Elements shifted cyclically by `shifts` along `dims` (an element pushed past the end comes
    back at the start); without dims, along the flattened tensor, whose shape is then restored."""
    _check_tensor("roll", input)
    shifts = _int_tuple(shifts, "roll", "shifts", 2)
    dims = () if dims is None else _int_tuple(dims, "roll", "dims", 3)
    if not shifts:
        raise RuntimeError("`shifts` required")
    shape = input._data.shape
    if not dims:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return _reshape(_roll_dim(_reshape(input, -1), shifts[0], 0), shape) \
            if shifts[0] % max(input._data.size, 1) else _clone(input)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    if not shape:
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
    result = input
    for shift, dim in zip(shifts, dims):
        result = _roll_dim(result, shift, _wrap_dim(dim, len(shape)))
    return _clone(result) if result is input else result


def _check_boundary(input, boundary, dim, argument):
    if not isinstance(boundary, _dispatch.Tensor):
        raise TypeError(f"diff(): argument '{argument}' must be Tensor, not "
                        f"{type(boundary).__name__}")
    shape, other = input._data.shape, boundary._data.shape
    if len(other) != len(shape):
        raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    for d, (size, given) in enumerate(zip(shape, other)):
        if d != dim and size != given:
            raise RuntimeError(
                f"diff expects the shape of tensor to prepend or append to match that of input "
                f"except along the differencing dimension; input.size({d}) = {size}, but got "
                f"tensor.size({d}) = {given}")


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along `dim`, out[i] = x[i + 1] - x[i] applied n times, after
    `prepend` and `append` are joined on; bool tensors differ by xor (torch's rule)."""
    _check_tensor("diff", input)
    shape = input._data.shape
    if not shape:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    dim = _wrap_dim(dim, len(shape))
    parts = []
    for argument, boundary in (("prepend", prepend), ("append", append)):
        if boundary is not None:
            _check_boundary(input, boundary, dim, argument)
    if prepend is not None:
        parts.append(prepend)
    parts.append(input)
    if append is not None:
        parts.append(append)
    result = _cat(parts, dim) if len(parts) > 1 else input
    if n == 0:
        return _clone(result) if result is input else result
    for _ in range(n):
        size = result._data.shape[dim]
        later = _narrow(result, dim, min(1, size), max(size - 1, 0))
        earlier = _narrow(result, dim, 0, max(size - 1, 0))
        result = _ELEMENTWISE["logical_xor"](later, earlier) if result._dtype.name == "bool" \
            else _sub(later, earlier)
    return result


def tile(input, dims):
    """The tensor repeated `dims[i]` times along each dim; missing leading dims count as 1 (for
    dims and for the tensor, which gains dims as needed), as numpy.tile."""
    _check_tensor("tile", input)
    dims = _tile_dims(dims)
    missing = input._data.ndim - len(dims)
    return _repeat(input, (1,) * missing + dims)


def _tile_dims(dims):
    if isinstance(dims, (tuple, list)):
        return _int_tuple(dims, "tile", "dims", 2)
    raise TypeError(f"tile(): argument 'dims' (position 2) must be tuple of ints, not "
                    f"{type(dims).__name__}")


def broadcast_to(input, size):
    """`input.expand(size)`: a view with size-1 dims broadcast to `size` (-1 keeps a size)."""
    _check_tensor("broadcast_to", input)
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"broadcast_to(): argument 'size' (position 2) must be tuple of ints, not "
                        f"{type(size).__name__}")
    return _expand(input, _sizes((size,)))


def _tile_method(self, *dims):
    return tile(self, _sizes(dims))


def _broadcast_to_method(self, *size):
    return broadcast_to(self, _sizes(size))


EXTRA_METHODS = {"tile": _tile_method, "broadcast_to": _broadcast_to_method}
