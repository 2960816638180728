"""Shape ops. Views (view, expand, permute, squeeze, select, slice, ...) return tensors sharing
storage; the rest (cat, stack, repeat, clone, ...) allocate.

The view primitives (graphc.ir.primitives.shape) return numpy *views*;
graphc.dispatch.apply_view gives the result the source's storage and version counter.
"""
import warnings

import numpy as np

from ..autograd.node import rename_node as _rename_node
from .. import dtypes as _dt
from .. import dispatch as _dispatch
from ..ir.registry import defvjp
from ..ir.primitives.shape import (preserve_format, _alias, _as_strided, _as_strided_backward, _as_strided_gather,
                                   _bitcast, _cat, _clone, _contiguous, _diagonal,
                                   _diagonal_backward, _expand, _flip, _permute, _repeat, _slice,
                                   _slice_backward, _squeeze, _unsqueeze, _view, memory_format)

__all__ = ["view", "reshape", "expand", "expand_as", "permute", "transpose", "t", "squeeze",
           "unsqueeze", "flatten", "unflatten", "select", "narrow", "contiguous", "clone",
           "cat", "stack", "split", "chunk", "unbind", "repeat", "resize_", "movedim",
           "view_as", "reshape_as", "as_strided", "flip", "swapaxes", "swapdims", "hstack",
           "vstack", "tensor_split", "concat", "concatenate", "diagonal", "moveaxis",
           "contiguous_format", "preserve_format", "channels_last"]
NOT_METHODS = ["cat", "stack", "hstack", "vstack", "concat", "concatenate", "contiguous_format",
               "preserve_format", "channels_last"]


def wrap_dim(dim, ndim):
    """Normalise a possibly negative dim, with torch's IndexError when it is out of range."""
    low, high = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if dim < low or dim > high:
        raise IndexError(f"Dimension out of range (expected to be in range of [{low}, {high}], "
                         f"but got {dim})")
    return int(dim) + max(ndim, 1) if dim < 0 else int(dim)


def _wrap_dims(dims, ndim):
    """Several dims, wrapped, with torch's error for repeats."""
    wrapped = [wrap_dim(d, ndim) for d in dims]
    for d in wrapped:
        if wrapped.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return tuple(wrapped)


def _sizes(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    result = []
    for s in args:
        if isinstance(s, _dispatch.Tensor):
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
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {list(shape)}")
        else:
            known *= s
    if inferred is not None:
        if known == 0:
            if numel == 0:
                raise RuntimeError(
                    f"cannot reshape tensor of 0 elements into shape {list(shape)} because the "
                    f"unspecified dimension size -1 can be any value and is ambiguous")
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        if numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = shape[:inferred] + (numel // known,) + shape[inferred + 1:]
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")


def view(input, *shape):
    if len(shape) == 1 and isinstance(shape[0], _dt.dtype):
        return _view_as_dtype(input, shape[0])
    shape = infer_size(_sizes(shape), input._data.size)
    if shape == input._data.shape:
        return _dispatch.apply_view(_alias, input, {})
    return _dispatch.apply_view(_view, input, {"shape": shape})


def _view_as_dtype(input, dtype):
    """view(dtype): the same bytes read as another dtype; with another element size the last
    dim must be contiguous and is rescaled."""
    source = input._dtype
    if dtype.itemsize != source.itemsize:
        if input._data.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 to view {source.scalar_name} as "
                               f"{dtype.scalar_name} (different element sizes)")
        if input.stride(-1) != 1:
            raise RuntimeError(f"self.stride(-1) must be 1 to view {source.scalar_name} as "
                               f"{dtype.scalar_name} (different element sizes), but got "
                               f"{input.stride(-1)}")
        if dtype.itemsize > source.itemsize and \
                input._data.shape[-1] % (dtype.itemsize // source.itemsize):
            raise RuntimeError(f"self.size(-1) must be divisible by "
                               f"{dtype.itemsize // source.itemsize} to view "
                               f"{source.scalar_name} as {dtype.scalar_name} (different element "
                               f"sizes), but got {input._data.shape[-1]}")
    result = _dispatch.apply_view(_bitcast, input, {"dtype": dtype})
    result._dtype = dtype
    return result


def view_as(input, other):
    return view(input, other.shape)


def reshape(input, *shape):
    """A view when the strides allow one, else a copy (which, as in torch, is not a view)."""
    shape = infer_size(_sizes(shape), input._data.size)
    if shape == input._data.shape:
        return _dispatch.apply_view(_alias, input, {})
    if input._data.flags.c_contiguous or _views_without_copy(input._data, shape):
        return _dispatch.apply_view(_view, input, {"shape": shape})
    result = _dispatch.apply_view(_view, _dispatch.apply(_contiguous, (input,)), {"shape": shape})
    result._base = None
    return result


def _views_without_copy(data, shape):
    if data.size == 0:
        return True
    try:
        np.reshape(data, shape, copy=False)
    except ValueError:
        return False
    return True


def reshape_as(input, other):
    return reshape(input, other.shape)


def expand(input, *sizes):
    return _expand_checked(input, expanded_shape(input, _sizes(sizes)))


def expanded_shape(input, sizes):
    """The shape `input.expand(*sizes)` has, or torch's error where it does not expand."""
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand({input.type()}{{{list(shape)}}}, size={list(sizes)}): the number of sizes "
            f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the "
            f"tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    target = list(sizes)
    # torch checks from the last dimension, so its message names the last mismatch
    for i in range(len(sizes) - 1, -1, -1):
        s = sizes[i]
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            continue
        current = shape[i - lead]
        if s == -1:
            target[i] = current
        elif current != s and current != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({current}) "
                f"at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                f"{list(shape)}")
    return tuple(target)


def _expand_checked(input, target):
    if target == input._data.shape:
        return _dispatch.apply_view(_alias, input, {})
    return _dispatch.apply_view(_expand, input, {"shape": target})


def expand_as(input, other):
    target, shape = other._data.shape, input._data.shape
    if len(target) == len(shape) and all(s == t or s == 1 for s, t in zip(shape, target)):
        return _expand_checked(input, target)  # the common case, already valid
    return expand(input, target)


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
    return _dispatch.apply_view(_permute, input, {"dims": dims})


def transpose(input, dim0, dim1):
    ndim = input._data.ndim
    if ndim == 0:
        wrap_dim(dim0, 0), wrap_dim(dim1, 0)
        return _dispatch.apply_view(_alias, input, {})
    dim0, dim1 = wrap_dim(dim0, ndim), wrap_dim(dim1, ndim)
    dims = list(range(ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return _rename_node(_dispatch.apply_view(_permute, input, {"dims": tuple(dims)}),
                        "TransposeBackward0")


swapaxes = swapdims = transpose


def t(input):
    ndim = input._data.ndim
    if ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {ndim}D")
    if ndim < 2:
        return _dispatch.apply_view(_alias, input, {})
    return _rename_node(_dispatch.apply_view(_permute, input, {"dims": (1, 0)}), "TBackward0")


def _reversed_dims(self):
    """Tensor.T: t() for matrices; other ranks reverse their dims, with torch's deprecation."""
    ndim = self._data.ndim
    if ndim == 2:
        return permute(self, (1, 0))  # torch: PermuteBackward0, not TBackward0
    if ndim == 0:
        warnings.warn("Tensor.T is deprecated on 0-D tensors. This function is the identity in "
                      "these cases.", UserWarning, stacklevel=2)
    else:
        warnings.warn("The use of `x.T` on tensors of dimension other than 2 to reverse their "
                      "shape is deprecated and it will throw an error in a future release. "
                      "Consider `x.mT` to transpose batches of matrices or `x.permute(*torch."
                      "arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a tensor.",
                      UserWarning, stacklevel=2)
    return permute(self, tuple(reversed(range(ndim))))


def _matrix_transpose(self):
    if self._data.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got "
                           f"{self._data.ndim}-D tensor.")
    return transpose(self, -2, -1)


def _as_sequence(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def movedim(input, source, destination):
    ndim = input._data.ndim
    source, destination = _as_sequence(source), _as_sequence(destination)
    if len(source) != len(destination):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source "
                           f"({list(source)} dims) should contain the same number of dims as "
                           f"destination ({list(destination)} dims)")
    source = [wrap_dim(d, ndim) for d in source]
    destination = [wrap_dim(d, ndim) for d in destination]
    for name, dims in (("source", source), ("destination", destination)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({dims})")
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
        dims = _wrap_dims(_as_sequence(dim), ndim)
        dims = tuple(d for d in dims if ndim and shape[d] == 1)
    if not dims:
        result = _dispatch.apply_view(_alias, input, {})
    else:
        result = _dispatch.apply_view(_squeeze, input, {"dims": dims})
    # torch's overloads: squeeze() SqueezeBackward0, squeeze(dim) 1, squeeze(dims) 2
    overload = 0 if dim is None else 2 if isinstance(dim, (tuple, list)) else 1
    return _rename_node(result, f"SqueezeBackward{overload}")


def unsqueeze(input, dim):
    dim = wrap_dim(dim, input._data.ndim + 1)
    return _dispatch.apply_view(_unsqueeze, input, {"dim": dim})


def flatten(input, start_dim=0, end_dim=-1):
    """One dim for start_dim..end_dim; the input itself when nothing merges (as torch)."""
    shape = input._data.shape
    ndim = len(shape)
    if ndim == 0:
        return reshape(input, 1)
    start, end = wrap_dim(start_dim, ndim), wrap_dim(end_dim, ndim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    merged = 1
    for s in shape[start:end + 1]:
        merged *= s
    return reshape(input, shape[:start] + (merged,) + shape[end + 1:])


def unflatten(input, dim, sizes):
    shape = input._data.shape
    dim = wrap_dim(dim, len(shape))
    sizes = _sizes((sizes,))
    known = 1
    for s in sizes:
        known *= s if s != -1 else 1
    inferred = -1 in sizes
    if known != shape[dim] if not inferred else (known == 0 or shape[dim] % known):
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size "
                           f"of dim {dim} ({shape[dim]}) in the input tensor")
    sizes = infer_size(sizes, shape[dim])
    return view(input, shape[:dim] + sizes + shape[dim + 1:])


def select(input, dim, index):
    shape = input._data.shape
    if not shape:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, len(shape))
    if isinstance(index, _dispatch.Tensor):
        index = index.item()
    size = shape[dim]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(shape)} "
                         f"at dimension {dim}")
    key = (slice(None),) * dim + (int(index) % size,)
    return _rename_node(_dispatch.apply_view(_slice, input, {"index": key}), "SelectBackward0")


def narrow(input, dim, start, length):
    shape = input._data.shape
    if not shape:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, len(shape))
    if isinstance(start, _dispatch.Tensor):
        start = start.item()
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    size = shape[dim]
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but "
                         f"got {start})")
    start = start + size if start < 0 else start
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    key = (slice(None),) * dim + (slice(start, start + length),)
    return _dispatch.apply_view(_slice, input, {"index": key})


def diagonal(input, offset=0, dim1=0, dim2=1):
    ndim = input._data.ndim
    dim1, dim2 = wrap_dim(dim1, ndim), wrap_dim(dim2, ndim)
    if dim1 == dim2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _dispatch.apply_view(_diagonal, input, {"offset": offset, "dim1": dim1, "dim2": dim2})


def as_strided(input, size, stride, storage_offset=None):
    """A view of input's storage with explicit sizes, strides and offset (in elements)."""
    from ..tensor import make_view_of_storage
    storage = input.storage()
    offset = input.storage_offset() if storage_offset is None else storage_offset
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    result = _dispatch.make_view(input, make_view_of_storage(storage, size, stride, offset)._data)
    if _dispatch.record is not None and _dispatch.grad_state.enabled and input._requires_grad:
        # the gradient needs where input's own elements lie in the storage
        attrs = {"size": size, "stride": stride, "offset": offset,
                 "input_stride": input.stride(), "input_offset": input.storage_offset()}
        _dispatch.record(_as_strided, (input,), result, attrs)
    return result


def unbind(input, dim=0):
    if input._data.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    dim = wrap_dim(dim, input._data.ndim)
    return tuple(select(input, dim, i) for i in range(input._data.shape[dim]))


def split(tensor, split_size_or_sections, dim=0):
    shape = tensor._data.shape
    dim = wrap_dim(dim, len(shape))
    size = shape[dim]
    if isinstance(split_size_or_sections, (list, tuple)):
        sections = [int(s) for s in split_size_or_sections]
        if sum(sections) != size or any(s < 0 for s in sections):
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                f"size at dimension {dim}), but got split_sizes={sections}")
    else:
        step = int(split_size_or_sections)
        if step < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got "
                               f"split_size={step}")
        if step == 0 and size:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {size}")
        sections = [min(step, size - start) for start in range(0, size, step)] if size else [0]
    name = "SplitWithSizesBackward0" if isinstance(split_size_or_sections, (list, tuple)) \
        else "SplitBackward0"
    result, start = [], 0
    for length in sections:
        result.append(_rename_node(narrow(tensor, dim, start, length), name))
        start += length
    return tuple(result)


def chunk(input, chunks, dim=0):
    """torch's chunk sizes: ceil(size / chunks) each (so possibly fewer chunks), and `chunks`
    empty pieces of an empty dim."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    size = input._data.shape[wrap_dim(dim, input._data.ndim)]
    if size == 0:
        return split(input, [0] * chunks, dim)
    return split(input, -(-size // chunks), dim)


def tensor_split(input, indices_or_sections, dim=0):
    dim = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[dim]
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        bounds = [i * (size // n) + min(i, size % n) for i in range(n + 1)]
    else:
        bounds = [0] + [min(max(i, 0), size) for i in indices_or_sections] + [size]
    return tuple(narrow(input, dim, a, max(b - a, 0)) for a, b in zip(bounds, bounds[1:]))


def clone(input, *, memory_format=None):
    """A copy; torch's preserve_format keeps a dense layout (a transposed input clones to a
    transposed result) and makes anything else row-major."""
    attrs = {"memory_format": memory_format} if memory_format is not None else {}
    return _dispatch.apply(_clone, (input,), attrs)


def contiguous(input, memory_format=None):
    if input.is_contiguous():
        return input
    return _dispatch.apply(_contiguous, (input,))


def _is_legacy_empty(t):
    return t._data.ndim == 1 and t._data.shape[0] == 0


def cat(tensors, dim=0, *, out=None):
    """Concatenate along `dim`, promoting dtypes; 1-D empty tensors are skipped (torch's legacy
    rule) but still take part in the promotion."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, _dispatch.Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    for i, t in enumerate(tensors):
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    dtype = tensors[0]._dtype
    for t in tensors[1:]:
        dtype = _dt.promote_types(dtype, t._dtype)
    kept = [(i, t) for i, t in enumerate(tensors) if not _is_legacy_empty(t)] or \
        list(enumerate(tensors))
    first, reference = kept[0]
    ndim = reference._data.ndim
    dim = wrap_dim(dim, ndim)
    for i, t in kept:
        if t._data.ndim != ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ndim} and "
                               f"{t._data.ndim}")
        for d in range(ndim):
            if d != dim and t._data.shape[d] != reference._data.shape[d]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {dim}. Expected size "
                    f"{reference._data.shape[d]} but got size {t._data.shape[d]} for tensor "
                    f"number {i} in the list.")
    result = _dispatch.apply(_cat, tuple(t for _, t in kept), {"dim": dim, "dtype": dtype})
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
    result = cat([unsqueeze(t, dim) for t in tensors], dim, out=out)
    return result if out is not None else _rename_node(result, "StackBackward0")


def hstack(tensors):
    tensors = [t if t.dim() else t.reshape(1) for t in tensors]
    return cat(tensors, 0 if tensors[0].dim() == 1 else 1)


def vstack(tensors):
    tensors = [t.reshape(1, -1) if t.dim() < 2 else t for t in tensors]
    return cat(tensors, 0)


def repeat(input, *sizes):
    sizes = _sizes(sizes)
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                           "dimensions of tensor")
    padded = (1,) * (len(sizes) - len(shape)) + shape
    target = [s * r for s, r in zip(padded, sizes)]
    for s in target:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {target}")
    return _dispatch.apply(_repeat, (input,), {"repeats": sizes})


def flip(input, *dims):
    """flip(input, dims) and Tensor.flip(*dims) alike."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = dims[0]
    ndim = input._data.ndim
    dims = _wrap_dims(dims, ndim)
    return _dispatch.apply(_flip, (input,), {"dims": dims if ndim else ()})


def resize_(self, *sizes):
    """Grow: the storage is reallocated (data kept); shrink: the storage keeps its data. The
    tensor becomes row-major at its storage offset."""
    shape = _sizes(sizes)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: "
                           f"{list(shape)}")
    numel = 1
    for s in shape:
        numel *= s
    storage = self.storage()
    offset = self.storage_offset() if storage.size() else 0
    if offset + numel > storage.size():
        storage.resize_(offset + numel)
    flat = storage._flat
    self._data = flat[offset:offset + numel].reshape(shape)
    self._bump_version()
    return self


def resize_as_(self, other):
    return resize_(self, other.shape)


def _resize(self, *sizes):
    """The deprecated out-of-place Tensor.resize: a row-major view of the same elements."""
    warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
    shape = _sizes(sizes)
    numel = 1
    for s in shape:
        numel *= s
    if numel != self._data.size:
        def sizes_text(dims):
            return "x".join(str(d) for d in dims)
        raise RuntimeError(
            f"requested resize to {sizes_text(shape)} ({numel} elements in total), but the given "
            f"tensor has a size of {sizes_text(self._data.shape)} ({self._data.size} elements). "
            f"autograd's resize can only change the shape of a given tensor, while preserving the "
            f"number of elements. ")
    return view(contiguous(self), shape)


EXTRA_METHODS = {
    "resize_as_": resize_as_,
    "resize": _resize,
    "T": property(_reversed_dims),
    "mT": property(_matrix_transpose),
}


def _input_shape(ctx, index=0):
    return tuple(ctx.meta[index][0])


def _strided_attrs(ctx):
    attrs = ctx.attrs
    return {"input_shape": _input_shape(ctx), "input_stride": attrs["input_stride"],
            "input_offset": attrs["input_offset"], "size": attrs["size"],
            "stride": attrs["stride"], "offset": attrs["offset"]}


def _inverse_permutation(dims):
    inverse = [0] * len(dims)
    for position, d in enumerate(dims):
        inverse[d] = position
    return tuple(inverse)


def _permuted_gradient(grad, dims):
    """grad.permute(dims); when nothing records, a tensor of its own over the permuted array
    (no view history to keep, and AccumulateGrad may then keep it as .grad without a copy)."""
    if _dispatch.records_nothing():
        return _dispatch.wrap(grad._data.transpose(dims), grad._dtype)
    return permute(grad, dims)


def _repeat_vjp(ctx, grad):
    """Sum the copies: view the gradient as (repeat, size) pairs and sum the repeat axes."""
    shape = _input_shape(ctx)
    repeats = ctx.attrs["repeats"]
    padded = (1,) * (len(repeats) - len(shape)) + shape
    paired = []
    for r, s in zip(repeats, padded):
        paired += [r, s]
    summed = reshape(grad, paired).sum(tuple(range(0, 2 * len(repeats), 2)))
    return (reshape(summed, shape),)


def _cat_vjp(ctx, grad):
    dim = ctx.attrs["dim"]
    grads, start = [], 0
    for (shape, _), needed in zip(ctx.meta, ctx.needs):
        length = shape[dim]
        grads.append(narrow(grad, dim, start, length) if needed else None)
        start += length
    return tuple(grads)


for _name, _rule in {
    "view": lambda ctx, grad: (reshape(grad, _input_shape(ctx)),),
    "alias": lambda ctx, grad: (grad,),
    "expand": lambda ctx, grad: (grad,),
    "permute": lambda ctx, grad: (_permuted_gradient(grad,
                                                     _inverse_permutation(ctx.attrs["dims"])),),
    "squeeze": lambda ctx, grad: (reshape(grad, _input_shape(ctx)),),
    "unsqueeze": lambda ctx, grad: (squeeze(grad, ctx.attrs["dim"]),),
    "slice": lambda ctx, grad: (_dispatch.apply(_slice_backward, (grad,), {
        "shape": _input_shape(ctx), "index": ctx.attrs["index"]}),),
    "slice_backward": lambda ctx, grad: (_dispatch.apply_view(_slice, grad, {
        "index": ctx.attrs["index"]}),),
    "diagonal": lambda ctx, grad: (_dispatch.apply(_diagonal_backward, (grad,), dict(
        ctx.attrs, shape=_input_shape(ctx))),),
    "diagonal_backward": lambda ctx, grad: (diagonal(grad, ctx.attrs["offset"],
                                                     ctx.attrs["dim1"], ctx.attrs["dim2"]),),
    "as_strided": lambda ctx, grad: (_dispatch.apply(_as_strided_backward, (grad,),
                                                     _strided_attrs(ctx)),),
    "as_strided_backward": lambda ctx, grad: (_dispatch.apply(_as_strided_gather, (grad,),
                                                              ctx.attrs),),
    "as_strided_gather": lambda ctx, grad: (_dispatch.apply(_as_strided_backward, (grad,),
                                                            ctx.attrs),),
    "clone": lambda ctx, grad: (grad,),
    "contiguous": lambda ctx, grad: (grad,),
    "flip": lambda ctx, grad: (flip(grad, ctx.attrs["dims"]),),
    "repeat": _repeat_vjp,
    "cat": _cat_vjp,
}.items():
    defvjp(_name, _rule, saves=())
