"""Shape primitives: views (view, expand, permute, squeeze, slice, as_strided, ...) and the
allocating ops (cat, repeat, clone, flip), with their numpy rules.

A view primitive's numpy implementation must return a *view* of its input; graphc.dispatch
gives the result the source's storage and version counter. Strides of views are numpy's, which
follow the same rules as torch's (a view is possible exactly when numpy can reshape without
copying). The public functions are in graphc.api.shape.
"""
import numpy as np

from ...runtime.memory_overlap import is_dense
from ..registry import primitive


def contiguous_strides(shape, itemsize):
    """Row-major strides in bytes, counting a size-0 dim as 1 (as torch does)."""
    strides, running = [], itemsize
    for s in reversed(shape):
        strides.append(running)
        running *= max(s, 1)
    return tuple(reversed(strides))


class memory_format:
    """torch.contiguous_format / torch.preserve_format (layouts other than strided rows are not
    supported; channels_last is accepted and gives row-major results)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"


preserve_format = memory_format("preserve_format")


def allocate_like(array, dtype, memory_format=None):
    """An uninitialised array shaped like `array`. With preserve_format (the default) a dense
    input's strides are kept (a transposed input gives a transposed result) and anything else is
    row-major, as torch does."""
    dtype = np.dtype(dtype)
    if array.flags.c_contiguous and 1 not in array.shape:  # the common case, decided quickly
        return np.empty(array.shape, dtype=dtype)
    if (memory_format is None or memory_format is preserve_format) and array.size and \
            array.strides != contiguous_strides(array.shape, array.itemsize) and is_dense(array):
        strides = tuple(s // array.itemsize * dtype.itemsize for s in array.strides)
        buffer = np.empty(array.size, dtype=dtype)
        return np.ndarray(array.shape, dtype=dtype, buffer=buffer, strides=strides)
    return np.empty(array.shape, dtype=dtype)


def _view_eager(x, shape):
    if x.size == 0:  # numpy gives empty arrays arbitrary strides; torch's are row-major
        return np.lib.stride_tricks.as_strided(x, shape, contiguous_strides(shape, x.itemsize),
                                               writeable=x.flags.writeable)
    try:
        return np.reshape(x, shape, copy=False)
    except ValueError:
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        ) from None


_view = primitive("view", "view", _view_eager, attrs=("shape",))


def _expand_eager(x, shape):
    """A read-only stride-0 view (as np.broadcast_to gives), built directly when x's memory is
    one block (numpy's broadcast_to costs several µs)."""
    lead = len(shape) - x.ndim
    strides = (0,) * lead + tuple(
        0 if size == 1 and target != 1 else stride
        for size, target, stride in zip(x.shape, shape[lead:], x.strides))
    try:
        out = np.ndarray(shape, x.dtype, x, 0, strides)
    except (TypeError, ValueError, BufferError):
        return np.broadcast_to(x, shape)
    out.flags.writeable = False
    return out


_expand = primitive("expand", "view", _expand_eager, attrs=("shape",))
_permute = primitive("permute", "view", lambda x, dims: np.transpose(x, dims), attrs=("dims",))
_squeeze = primitive("squeeze", "view", lambda x, dims: np.squeeze(x, dims), attrs=("dims",))
_unsqueeze = primitive("unsqueeze", "view",
                       lambda x, dim: x.reshape(x.shape[:dim] + (1,) + x.shape[dim:]),
                       attrs=("dim",))
_slice = primitive("slice", "view", lambda x, index: x[index], attrs=("index",),
                   doc="basic indexing: a tuple of ints, slices (step > 0), None and Ellipsis")
_diagonal = primitive("diagonal", "view",
                      lambda x, offset, dim1, dim2: np.diagonal(x, offset, dim1, dim2),
                      attrs=("offset", "dim1", "dim2"))
_alias = primitive("alias", "view", lambda x: x[...])
_bitcast = primitive("view_dtype", "view", lambda x, dtype: x.view(dtype.np), attrs=("dtype",),
                     differentiable=False)


def _as_strided_eager(x, size, stride, offset):
    raise AssertionError("as_strided is run through the storage")  # see as_strided below


_as_strided = primitive("as_strided", "view", _as_strided_eager, attrs=("size", "stride", "offset"))


def _clone_eager(x, memory_format=None):
    if x.flags.c_contiguous and 1 not in x.shape:  # the common case: row-major stays row-major
        return x.copy()
    out = allocate_like(x, x.dtype, memory_format)
    out[...] = x
    return out


_clone = primitive("clone", "shape", _clone_eager, attrs=("memory_format",))
_contiguous = primitive("contiguous", "shape", lambda x: np.array(x, order="C", copy=True))


def _cat_eager(*arrays, dim, dtype):
    return np.concatenate([a.astype(dtype.np, copy=False) for a in arrays], axis=dim)


_cat = primitive("cat", "shape", _cat_eager, attrs=("dim", "dtype"))


def _repeat_eager(x, repeats):
    return np.tile(x, repeats)


_repeat = primitive("repeat", "shape", _repeat_eager, attrs=("repeats",))


def _flip_eager(x, dims):
    return np.flip(x, dims).copy() if dims else x.copy()


_flip = primitive("flip", "shape", _flip_eager, attrs=("dims",))


def _positions(shape, strides, offset):
    """The storage position of every element of a strided layout, in row-major order."""
    positions = np.full(shape, offset, dtype=np.int64)
    for axis, (size, stride) in enumerate(zip(shape, strides)):
        index_shape = [1] * len(shape)
        index_shape[axis] = size
        positions = positions + np.arange(size, dtype=np.int64).reshape(index_shape) * stride
    return positions.reshape(-1)


def _input_slots(attrs):
    """For each element of an as_strided view: which element of the input it reads (-1 when it
    reads storage outside the input)."""
    input_shape = attrs["input_shape"]
    input_positions = _positions(input_shape, attrs["input_stride"], attrs["input_offset"])
    output_positions = _positions(attrs["size"], attrs["stride"], attrs["offset"])
    if not input_positions.size:
        return np.full(output_positions.shape, -1, dtype=np.int64)
    # a sorted lookup; where elements of the input alias, the last of them is the one read
    order = np.argsort(input_positions, kind="stable")
    ordered = input_positions[order]
    found = np.searchsorted(ordered, output_positions, side="right") - 1
    clipped = np.maximum(found, 0)
    inside = (found >= 0) & (ordered[clipped] == output_positions)
    return np.where(inside, order[clipped], -1).astype(np.int64)


def _slice_backward_eager(grad, shape, index):
    out = np.zeros(shape, dtype=grad.dtype)
    out[index] = grad
    return out


def _diagonal_backward_eager(grad, shape, offset, dim1, dim2):
    """Zeros with `grad` written on the diagonal (which np.diagonal and torch put last)."""
    out = np.zeros(shape, dtype=grad.dtype)
    planes = np.moveaxis(out, (dim1, dim2), (-2, -1))
    steps = np.arange(grad.shape[-1])
    planes[..., steps + max(-offset, 0), steps + max(offset, 0)] = grad
    return out


def _as_strided_backward_eager(grad, input_shape, input_stride, input_offset, size, stride,
                               offset):
    slots = _input_slots({"input_shape": input_shape, "input_stride": input_stride,
                          "input_offset": input_offset, "size": size, "stride": stride,
                          "offset": offset})
    inside = slots >= 0
    total = int(np.prod(input_shape, dtype=np.int64))
    flat = np.bincount(slots[inside], weights=grad.reshape(-1)[inside], minlength=total)
    return flat.astype(grad.dtype).reshape(input_shape)


def _as_strided_gather_eager(values, input_shape, input_stride, input_offset, size, stride,
                             offset):
    slots = _input_slots({"input_shape": input_shape, "input_stride": input_stride,
                          "input_offset": input_offset, "size": size, "stride": stride,
                          "offset": offset})
    flat = values.reshape(-1)
    return np.where(slots >= 0, flat[np.maximum(slots, 0)], 0).astype(values.dtype).reshape(size)


_STRIDED_ATTRS = ("input_shape", "input_stride", "input_offset", "size", "stride", "offset")
_slice_backward = primitive("slice_backward", "shape", _slice_backward_eager,
                            attrs=("shape", "index"))
_diagonal_backward = primitive("diagonal_backward", "shape", _diagonal_backward_eager,
                               attrs=("shape", "offset", "dim1", "dim2"))
_as_strided_backward = primitive("as_strided_backward", "shape", _as_strided_backward_eager,
                                 attrs=_STRIDED_ATTRS)
_as_strided_gather = primitive("as_strided_gather", "shape", _as_strided_gather_eager,
                               attrs=_STRIDED_ATTRS)
