"""Shape ops. Views (view, expand, permute, squeeze, select, slice, ...) return tensors sharing
storage; the rest (cat, stack, repeat, clone, ...) allocate.

View primitives are declared with a numpy implementation that must return a *view* of its input;
graphc.runtime.cpu.apply_view gives the result the source's storage and version counter.
"""
import numpy as np

from ... import dtypes as _dt
from ...runtime import cpu as _cpu
from ..registry import primitive

__all__ = ["view", "reshape", "expand", "expand_as", "permute", "transpose", "t", "squeeze",
           "unsqueeze", "flatten", "unflatten", "select", "narrow", "contiguous", "clone",
           "cat", "stack", "split", "chunk", "unbind", "repeat", "resize_", "movedim",
           "view_as", "reshape_as", "as_strided", "flip", "swapaxes", "swapdims", "hstack",
           "vstack", "tensor_split", "concat", "concatenate", "diagonal", "moveaxis", "narrow"]
NOT_METHODS = ["cat", "stack", "hstack", "vstack", "concat", "concatenate"]


def wrap_dim(dim, ndim):
    low, high = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if dim < low or dim > high:
        raise IndexError(f"Dimension out of range (expected to be in range of [{low}, {high}], "
                         f"but got {dim})")
    return int(dim) + max(ndim, 1) if dim < 0 else int(dim)


def _sizes(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    result = []
    for s in args:
        if isinstance(s, _cpu.Tensor):
            s = s.item()
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"argument 'size' must be tuple of ints, but found element of type "
                            f"{type(s).__name__}")
        result.append(int(s))
    return tuple(result)


def infer_size(shape, numel):
    """Resolve one -1 in `shape` for a tensor of `numel` elements (torch's errors otherwise)."""
    inferred = None
    known = 1
    for i, s in enumerate(shape):
        if s == -1:
            if inferred is not None:
                raise RuntimeError("only one dimension can be inferred")
            inferred = i
        elif s < 0:
            raise RuntimeError(f"invalid shape dimension {s}")
        else:
            known *= s
    if inferred is not None:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = shape[:inferred] + (numel // known,) + shape[inferred + 1:]
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


# ------------------------------------------------------------------ view primitives


def _view_eager(x, shape):
    try:
        return np.reshape(x, shape, copy=False)
    except ValueError:
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead.") from None


_view = primitive("view", "view", _view_eager, attrs=("shape",))
_expand = primitive("expand", "view", lambda x, shape: np.broadcast_to(x, shape), attrs=("shape",))
_permute = primitive("permute", "view", lambda x, dims: np.transpose(x, dims), attrs=("dims",))
_squeeze = primitive("squeeze", "view", lambda x, dims: np.squeeze(x, dims), attrs=("dims",))
_unsqueeze = primitive("unsqueeze", "view", lambda x, dim: np.expand_dims(x, dim), attrs=("dim",))
_slice = primitive("slice", "view", lambda x, index: x[index], attrs=("index",),
                   doc="basic indexing: a tuple of ints, slices (step > 0), None and Ellipsis")
_diagonal = primitive("diagonal", "view",
                      lambda x, offset, dim1, dim2: np.diagonal(x, offset, dim1, dim2),
                      attrs=("offset", "dim1", "dim2"))
_alias = primitive("alias", "view", lambda x: x[...])


def _as_strided_eager(x, size, stride, offset):
    raise AssertionError("as_strided is run through the storage")  # see as_strided below


_as_strided = primitive("as_strided", "view", _as_strided_eager, attrs=("size", "stride", "offset"))


def view(input, *shape):
    if len(shape) == 1 and isinstance(shape[0], _dt.dtype):
        raise RuntimeError("view(dtype) is not supported by graphc")
    shape = infer_size(_sizes(shape), input._data.size)
    if shape == input._data.shape:
        return _cpu.apply_view(_alias, input, {})
    return _cpu.apply_view(_view, input, {"shape": shape})


def view_as(input, other):
    return view(input, other.shape)


def reshape(input, *shape):
    shape = infer_size(_sizes(shape), input._data.size)
    try:
        np.reshape(input._data, shape, copy=False)
    except ValueError:
        return view(contiguous(input), shape)
    return view(input, shape)


def reshape_as(input, other):
    return reshape(input, other.shape)


def expand(input, *sizes):
    sizes = _sizes(sizes)
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand({input.type()}{{{list(shape)}}}, size={list(sizes)}): the number of sizes "
            f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the "
            f"tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            target.append(s)
            continue
        current = shape[i - lead]
        if s == -1:
            s = current
        elif current != s and current != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({current}) "
                f"at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                f"{list(shape)}")
        target.append(s)
    target = tuple(target)
    if target == shape:
        return _cpu.apply_view(_alias, input, {})
    return _cpu.apply_view(_expand, input, {"shape": target})


def expand_as(input, other):
    return expand(input, other.shape)


def permute(input, *dims):
    dims = _sizes(dims)
    ndim = input._data.ndim
    if len(dims) != ndim:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {ndim} is not equal "
            f"to len(dims) = {len(dims)}")
    dims = tuple(wrap_dim(d, ndim) for d in dims)
    if len(set(dims)) != ndim:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return _cpu.apply_view(_permute, input, {"dims": dims})


def transpose(input, dim0, dim1):
    ndim = input._data.ndim
    if ndim == 0:
        wrap_dim(dim0, 0), wrap_dim(dim1, 0)
        return _cpu.apply_view(_alias, input, {})
    dim0, dim1 = wrap_dim(dim0, ndim), wrap_dim(dim1, ndim)
    dims = list(range(ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return _cpu.apply_view(_permute, input, {"dims": tuple(dims)})


swapaxes = swapdims = transpose


def t(input):
    ndim = input._data.ndim
    if ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {ndim}D")
    return transpose(input, 0, 1) if ndim == 2 else _cpu.apply_view(_alias, input, {})


def movedim(input, source, destination):
    ndim = input._data.ndim
    source = (source,) if isinstance(source, int) else tuple(source)
    destination = (destination,) if isinstance(destination, int) else tuple(destination)
    source = [wrap_dim(d, ndim) for d in source]
    destination = [wrap_dim(d, ndim) for d in destination]
    order = [d for d in range(ndim) if d not in source]
    for dst, src in sorted(zip(destination, source)):
        order.insert(dst, src)
    return permute(input, order)


moveaxis = movedim


def squeeze(input, dim=None):
    shape = input._data.shape
    ndim = len(shape)
    if dim is None:
        dims = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = tuple(d for d in (wrap_dim(d, ndim) for d in dims) if ndim and shape[d] == 1)
    if not dims:
        return _cpu.apply_view(_alias, input, {})
    return _cpu.apply_view(_squeeze, input, {"dims": dims})


def unsqueeze(input, dim):
    dim = wrap_dim(dim, input._data.ndim + 1)
    return _cpu.apply_view(_unsqueeze, input, {"dim": dim})


def flatten(input, start_dim=0, end_dim=-1):
    shape = input._data.shape
    ndim = len(shape)
    if ndim == 0:
        return reshape(input, 1)
    start, end = wrap_dim(start_dim, ndim), wrap_dim(end_dim, ndim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return _cpu.apply_view(_alias, input, {})
    merged = 1
    for s in shape[start:end + 1]:
        merged *= s
    return reshape(input, shape[:start] + (merged,) + shape[end + 1:])


def unflatten(input, dim, sizes):
    shape = input._data.shape
    dim = wrap_dim(dim, len(shape))
    sizes = infer_size(tuple(sizes), shape[dim])
    return view(input, shape[:dim] + sizes + shape[dim + 1:])


def select(input, dim, index):
    shape = input._data.shape
    if not shape:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, len(shape))
    size = shape[dim]
    if not -size <= index < size:
        raise IndexError(f"index {index} is out of bounds for dimension {dim} with size {size}")
    key = (slice(None),) * dim + (int(index) % size if size else int(index),)
    return _cpu.apply_view(_slice, input, {"index": key})


def narrow(input, dim, start, length):
    shape = input._data.shape
    dim = wrap_dim(dim, len(shape))
    if isinstance(start, _cpu.Tensor):
        start = start.item()
    size = shape[dim]
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
    start = start + size if start < 0 else start
    if length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    key = (slice(None),) * dim + (slice(start, start + length),)
    return _cpu.apply_view(_slice, input, {"index": key})


def diagonal(input, offset=0, dim1=0, dim2=1):
    ndim = input._data.ndim
    dim1, dim2 = wrap_dim(dim1, ndim), wrap_dim(dim2, ndim)
    if dim1 == dim2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _cpu.apply_view(_diagonal, input, {"offset": offset, "dim1": dim1, "dim2": dim2})


def as_strided(input, size, stride, storage_offset=None):
    from ...tensor import make_view_of_storage
    storage = input.storage()
    offset = input.storage_offset() if storage_offset is None else storage_offset
    result = make_view_of_storage(storage, tuple(size), tuple(stride), offset)
    return _cpu.make_view(input, result._data)


def unbind(input, dim=0):
    dim = wrap_dim(dim, input._data.ndim)
    return tuple(select(input, dim, i) for i in range(input._data.shape[dim]))


def split(tensor, split_size_or_sections, dim=0):
    shape = tensor._data.shape
    dim = wrap_dim(dim, len(shape))
    size = shape[dim]
    if isinstance(split_size_or_sections, (list, tuple)):
        sections = list(split_size_or_sections)
        if sum(sections) != size:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's size "
                f"at dimension {dim}), but got split_sizes={sections}")
    else:
        step = int(split_size_or_sections)
        if step <= 0 and not (step == 0 and size == 0):
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={step}")
        sections = [min(step, size - start) for start in range(0, size, step)] if size else [0]
    result, start = [], 0
    for length in sections:
        result.append(narrow(tensor, dim, start, length))
        start += length
    return tuple(result)


def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    size = input._data.shape[wrap_dim(dim, input._data.ndim)]
    step = -(-size // chunks) if size else 1
    return split(input, step, dim)


def tensor_split(input, indices_or_sections, dim=0):
    dim = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[dim]
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        bounds = [i * (size // n) + min(i, size % n) for i in range(n + 1)]
    else:
        bounds = [0] + [min(max(i, 0), size) for i in indices_or_sections] + [size]
    return tuple(narrow(input, dim, a, max(b - a, 0)) for a, b in zip(bounds, bounds[1:]))


# ------------------------------------------------------------------ allocating shape ops


def _clone_eager(x):
    return np.copy(x, order="K")


_clone = primitive("clone", "shape", _clone_eager)
_contiguous = primitive("contiguous", "shape", lambda x: np.array(x, order="C", copy=True))


def clone(input, *, memory_format=None):
    return _cpu.apply(_clone, (input,))


def contiguous(input, memory_format=None):
    if input.is_contiguous():
        return input
    return _cpu.apply(_contiguous, (input,))


def _cat_eager(*arrays, dim, dtype):
    return np.concatenate([a.astype(dtype.np, copy=False) for a in arrays], axis=dim)


_cat = primitive("cat", "shape", _cat_eager, attrs=("dim", "dtype"))


def cat(tensors, dim=0, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, _cpu.Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    # legacy behaviour: 1-D empty tensors are skipped
    kept = [t for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)]
    if not kept:
        return clone(tensors[0])
    reference = kept[0]
    ndim = reference._data.ndim
    if ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    dim = wrap_dim(dim, ndim)
    for i, t in enumerate(kept):
        if t._data.ndim != ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ndim} and "
                               f"{t._data.ndim}")
        for d in range(ndim):
            if d != dim and t._data.shape[d] != reference._data.shape[d]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {dim}. Expected size "
                    f"{reference._data.shape[d]} but got size {t._data.shape[d]} for tensor number "
                    f"{tensors.index(t)} in the list.")
    dtype = _cpu.operand_dtype([t for t in kept if t._data.ndim] or kept)
    result = _cpu.apply(_cat, tuple(kept), {"dim": dim, "dtype": dtype})
    if out is not None:
        from .elementwise import write_out
        return write_out(result, out)
    return result


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} "
                               f"at entry 0 and {list(t._data.shape)} at entry {i}")
    dim = wrap_dim(dim, len(shape) + 1)
    return cat([unsqueeze(t, dim) for t in tensors], dim, out=out)


def hstack(tensors):
    tensors = [t if t.dim() else t.reshape(1) for t in tensors]
    return cat(tensors, 0 if tensors[0].dim() == 1 else 1)


def vstack(tensors):
    tensors = [t.reshape(1, -1) if t.dim() < 2 else t for t in tensors]
    return cat(tensors, 0)


def _repeat_eager(x, repeats):
    return np.tile(x, repeats)


_repeat = primitive("repeat", "shape", _repeat_eager, attrs=("repeats",))


def repeat(input, *sizes):
    sizes = _sizes(sizes)
    if len(sizes) < input._data.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                           "dimensions of tensor")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(sizes)}: {list(sizes)}")
    return _cpu.apply(_repeat, (input,), {"repeats": sizes})


def _flip_eager(x, dims):
    return np.flip(x, dims).copy()


_flip = primitive("flip", "shape", _flip_eager, attrs=("dims",))


def flip(input, dims):
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    dims = tuple(wrap_dim(d, input._data.ndim) for d in dims)
    return _cpu.apply(_flip, (input,), {"dims": dims})


def resize_(self, *sizes):
    """Grow: the storage is reallocated (data kept); shrink: the storage keeps its data."""
    shape = _sizes(sizes)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}")
    numel = 1
    for s in shape:
        numel *= s
    storage = self.storage()
    offset = self.storage_offset()
    if offset + numel > storage.size():
        storage.resize_(offset + numel)
    flat = storage._flat
    self._data = flat[offset:offset + numel].reshape(shape)
    self._bump_version()
    return self


def resize_as_(self, other):
    return resize_(self, other.shape)


EXTRA_METHODS = {
    "resize_as_": resize_as_,
    "T": property(t),
    "mT": property(lambda self: transpose(self, -2, -1)),
}
