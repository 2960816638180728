"""The indexing primitives: their declarations and numpy rules (the checks of values
that must also hold in compiled code live here). The torch-facing functions and gradient
rules built on them are in graphc.api.indexing.
"""
import numpy as np

from ..registry import primitive

_FULL = slice(None)


def _full_key(ndim, indices, dims):
    """The numpy key applying index arrays at `dims` and full slices elsewhere; a boolean mask
    covers as many dims as it has, from its dim on."""
    key = []
    position = 0
    for dim, index in zip(dims, indices):
        key.extend([_FULL] * (dim - position))
        key.append(index)
        position = dim + (index.ndim if index.dtype == np.bool_ else 1)
    return tuple(key)


def _grid_key(index, dim):
    """Key for gather/scatter: position p of `index` addresses [p0, ..., index[p], ..., pn]."""
    ndim = index.ndim
    key = []
    for d, n in enumerate(index.shape):
        if d == dim:
            key.append(index)
        else:
            shape = [1] * ndim
            shape[d] = n
            key.append(np.arange(n).reshape(shape))
    return tuple(key)


def _as_vector(array):
    """0-d tensors take part in dim-wise ops as 1-element vectors (a view, so writes go through)."""
    return array.reshape(1) if array.ndim == 0 else array


def _scatter_operands(out, index, src):
    """A 0-d target is scattered into as a vector; so are its 0-d index and source."""
    if out.ndim == 0:
        return out.reshape(1), index.reshape(-1), np.asarray(src).reshape(-1)
    return out, index, src


def _leading_block(source, shape):
    """The part of `source` that a gather/scatter index of `shape` reads (it may be smaller)."""
    if not isinstance(source, np.ndarray) or source.ndim == 0:
        return source
    return source[tuple(slice(0, n) for n in shape)]


def _write_index_put(out, values, *indices, dims, accumulate):
    key = _full_key(out.ndim, indices, dims)
    try:
        if accumulate:
            np.add.at(out, key, values)
        else:
            out[key] = values
    except IndexError:
        _raise_index_error(out.shape, indices, dims)


def _write_masked_fill(out, mask, value):
    np.copyto(out, np.asarray(value).astype(out.dtype), where=mask)


def _write_scatter(out, index, src, dim, reduce):
    out, index, src = _scatter_operands(out, index, src)
    key = _grid_key(index, dim)
    values = _leading_block(src, index.shape)
    if reduce is None:
        out[key] = values
    elif reduce == "add":
        np.add.at(out, key, values)
    else:
        np.multiply.at(out, key, values)


def _write_scatter_add(out, index, src, dim):
    _write_scatter(out, index, src, dim, "add")


_REDUCE_UFUNCS = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def _reduction_identity(reduce, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    if dtype.kind == "b":
        return reduce == "amin"
    info = np.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


def _write_scatter_reduce(out, index, src, dim, reduce, include_self):
    out, index, src = _scatter_operands(out, index, src)
    key = _grid_key(index, dim)
    values = _leading_block(src, index.shape)
    if not include_self:
        out[key] = _reduction_identity(reduce, out.dtype)
    if reduce != "mean":
        _REDUCE_UFUNCS[reduce].at(out, key, values)
        return
    counts = np.full(out.shape, 1 if include_self else 0, dtype=np.int64)
    np.add.at(out, key, values)
    np.add.at(counts, key, 1)
    touched = counts > 0
    if out.dtype.kind == "f":
        out[touched] = out[touched] / counts[touched].astype(out.dtype)
    else:  # torch rounds integer means down
        out[touched] = np.floor_divide(out[touched], counts[touched])


def _dim_key(dim, index):
    return (_FULL,) * dim + (index,)


def _write_index_add(out, index, source, dim, alpha):
    out, index, source = _as_vector(out), _as_vector(index), np.asarray(source)
    if source.ndim < out.ndim:
        source = source.reshape(out.shape[:dim] + (1,) + out.shape[dim + 1:])
    if alpha != 1:
        source = source * alpha
    np.add.at(out, _dim_key(dim, index), source)


def _write_index_fill(out, index, value, dim):
    out = _as_vector(out)
    out[_dim_key(dim, _as_vector(index))] = np.asarray(value).astype(out.dtype)


def _write_index_copy(out, index, source, dim):
    out, index, source = _as_vector(out), _as_vector(index), np.asarray(source)
    if source.ndim < out.ndim:
        source = source.reshape(out.shape[:dim] + (1,) + out.shape[dim + 1:])
    out[_dim_key(dim, index)] = source


def _write_put(out, index, source, accumulate):
    size = max(out.size, 1)
    flat = np.where(index < 0, index + size, index).reshape(-1)
    key = np.unravel_index(flat, out.shape) if out.ndim else (np.zeros_like(flat),)
    target = _as_vector(out)
    if accumulate:
        np.add.at(target, key, source.reshape(-1))
    else:
        target[key] = source.reshape(-1)


def _copy_then(writer):
    """The eager implementation of an out-of-place op: write into a copy of the input."""
    def eager(x, *operands, **attrs):
        out = np.array(x, copy=True)
        writer(out, *operands, **attrs)
        return out
    return eager


def _index_eager(x, *indices, dims):
    try:
        return x[_full_key(x.ndim, indices, dims)]
    except IndexError:
        _raise_index_error(x.shape, indices, dims)
    # torch reads nothing for an empty result, so an out-of-range index is no error there
    return x[_full_key(x.ndim, [_in_range(i) for i in indices], dims)]


def _masked_fill_eager(x, mask, value):
    if x.shape == mask.shape:
        out = x.copy()
    else:
        out = np.array(np.broadcast_to(x, np.broadcast_shapes(x.shape, mask.shape)), copy=True)
    _write_masked_fill(out, mask, value)
    return out


def _masked_select_eager(x, mask):
    x, mask = np.broadcast_arrays(x, mask)
    return x[mask]


def _nonzero_eager(x):
    return np.argwhere(x).astype(np.int64, copy=False)


def _index_select_eager(x, index, dim):
    if x.ndim == 0:
        return x.copy()
    return np.take(x, index.reshape(-1), axis=dim)


def _gather_eager(x, index, dim, class_targets=False):
    """`class_targets`: nll_loss's pick of each target's log-probability (whose bounds are
    checked as torch's IndexError, in eager and compiled code alike)."""
    if x.ndim == 0 or index.ndim == 0:
        return x.reshape(-1)[index.reshape(-1)].reshape(index.shape)
    return x[_grid_key(index, dim)]


def _take_eager(x, index):
    return np.asarray(x.reshape(-1)[index])


_index = primitive("index", "index", _index_eager, attrs=("dims",),
                   doc="advanced indexing: integer index arrays applied at `dims` together")
_index_put = primitive("index_put", "index", _copy_then(_write_index_put),
                       attrs=("dims", "accumulate"))
_masked_fill = primitive("masked_fill", "index", _masked_fill_eager)
_masked_select = primitive("masked_select", "index", _masked_select_eager)
_nonzero = primitive("nonzero", "index", _nonzero_eager, differentiable=False)
_index_select = primitive("index_select", "index", _index_select_eager, attrs=("dim",))
_gather = primitive("gather", "index", _gather_eager, attrs=("dim", "class_targets"))
_scatter = primitive("scatter", "index", _copy_then(_write_scatter), attrs=("dim", "reduce"))
_scatter_add = primitive("scatter_add", "index", _copy_then(_write_scatter_add), attrs=("dim",))
_scatter_reduce = primitive("scatter_reduce", "index", _copy_then(_write_scatter_reduce),
                            attrs=("dim", "reduce", "include_self"))
_index_add = primitive("index_add", "index", _copy_then(_write_index_add), attrs=("dim", "alpha"))
_index_fill = primitive("index_fill", "index", _copy_then(_write_index_fill), attrs=("dim",))
_index_copy = primitive("index_copy", "index", _copy_then(_write_index_copy), attrs=("dim",))
_take = primitive("take", "index", _take_eager)
_put = primitive("put", "index", _copy_then(_write_put), attrs=("accumulate",))


def _integer_indices(indices, dims):
    """Masks replaced by their nonzero() columns: (dims, integer arrays)."""
    integer_dims, arrays = [], []
    for dim, index in zip(dims, indices):
        if index.dtype == np.bool_:
            for j, column in enumerate(np.nonzero(index)):
                integer_dims.append(dim + j)
                arrays.append(column)
        else:
            integer_dims.append(dim)
            arrays.append(index)
    return integer_dims, arrays


def _broadcast_indices(arrays):
    if len(arrays) == 1:
        return arrays[0].shape
    try:
        return np.broadcast_shapes(*[a.shape for a in arrays])
    except ValueError:
        shapes = ", ".join(str(list(a.shape)) for a in arrays)
        raise IndexError(f"shape mismatch: indexing tensors could not be broadcast together with "
                         f"shapes {shapes}") from None


def _indexed_shape(shape, dims, broadcast):
    """Shape of `x[indices]` (integer indices at dims): the index dims in place when adjacent,
    else first."""
    if dims[-1] - dims[0] == len(dims) - 1:
        return shape[:dims[0]] + tuple(broadcast) + shape[dims[-1] + 1:]
    rest = tuple(n for d, n in enumerate(shape) if d not in dims)
    return tuple(broadcast) + rest


def _raise_index_error(shape, indices, dims):
    """numpy refused an index: raise torch's error for it. Returns when torch has nothing to
    report, which happens when the result is empty (torch reads nothing, numpy checks anyway)."""
    integer_dims, arrays = _integer_indices(indices, dims)
    result_shape = _indexed_shape(shape, integer_dims, _broadcast_indices(arrays))
    _check_index_bounds(shape, integer_dims, arrays, result_shape)


def _check_index_bounds(shape, dims, arrays, result_shape):
    """IndexError for an index outside [-size, size). Like torch's kernel, report the first bad
    element in iteration order and, within it, the first index (dimensions are counted among the
    index tensors). Nothing is read, so nothing is checked, when the result is empty."""
    if 0 in result_shape:
        return
    for dim, array in zip(dims, arrays):
        if shape[dim] == 0 and array.size:
            raise IndexError("index is out of bounds for dimension with size 0")
    bad = [(a < -shape[d]) | (a >= shape[d]) for d, a in zip(dims, arrays)]
    if not any(b.any() for b in bad):
        return
    broadcast = np.broadcast_arrays(*bad)
    first = int(np.argmax(np.logical_or.reduce(broadcast).reshape(-1)))
    for ordinal, (dim, array) in enumerate(zip(dims, arrays)):
        if broadcast[ordinal].reshape(-1)[first]:
            value = np.broadcast_to(array, broadcast[ordinal].shape).reshape(-1)[first]
            raise IndexError(f"index {int(value)} is out of bounds for dimension {ordinal} with "
                             f"size {shape[dim]}")


def _in_range(index):
    """An index array with the same shape and no out-of-range value (for an empty result)."""
    return index if index.dtype == np.bool_ else np.zeros_like(index)
