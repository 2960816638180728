"""Grids of coordinates: meshgrid, cartesian_prod (composed of reshape, expand and stack, so they
are differentiable and compile), and the index pairs of a triangle, tril_indices and
triu_indices (constants, made by numpy).
"""
import warnings

import numpy as np

from .. import dtypes as _dt
from ..device import check_device as _check_device
from .. import dispatch as _dispatch
from .creation import _finish
from .shape import expand as _expand, reshape as _reshape, stack as _stack

__all__ = ["meshgrid", "cartesian_prod", "tril_indices", "triu_indices"]
NOT_METHODS = __all__


def _tensor_list(tensors, accepts_a_list=True):
    if accepts_a_list and len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for position, tensor in enumerate(tensors):
        if not isinstance(tensor, _dispatch.Tensor):
            raise TypeError(f"expected Tensor as element {position} in argument 0, but got "
                            f"{type(tensor).__name__}")
    return tensors


def _grids(tensors, indexing):
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for tensor in tensors:
        if tensor._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {tensor}")
    if any(tensor._dtype is not tensors[0]._dtype for tensor in tensors):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    # 'xy' swaps the first two dims of the grid: the first tensor varies along the columns
    swap = indexing == "xy" and len(tensors) >= 2
    ordered = list(tensors)
    if swap:
        ordered[0], ordered[1] = ordered[1], ordered[0]
    shape = [tensor._data.size for tensor in ordered]
    grids = []
    for position, tensor in enumerate(ordered):
        along = [1] * len(shape)
        along[position] = shape[position]
        grids.append(_expand(_reshape(tensor, along), shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def meshgrid(*tensors, indexing=None):
    """For N 0-D or 1-D tensors, N grids of their sizes' shape: grid i repeats tensor i along
    every other dim (views, by expand). indexing='ij' gives tensor i dim i; 'xy' (Cartesian)
    swaps the first two dims."""
    tensors = _tensor_list(tensors)
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: '
                           f'{indexing}')
    return _grids(tensors, indexing)


def cartesian_prod(*tensors):
    """Every combination of one element of each 1-D tensor, in row-major order: shape (N, k)
    for k tensors (a single tensor is returned as a copy of itself)."""
    tensors = _tensor_list(tensors, accepts_a_list=False)
    for tensor in tensors:
        if tensor._data.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(tensor._data.shape)}")
    if len(tensors) == 1:
        return tensors[0].clone()
    return _stack([_reshape(grid, -1) for grid in _grids(tensors, "ij")], 1)


_INDEX_DTYPES = ("int32", "int64")


def _triangle_indices(name, row, col, offset, dtype, device, triangle):
    for argument, position, value in (("row", 1, row), ("col", 2, col), ("offset", 3, offset)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name}(): argument '{argument}' (position {position}) must be int, "
                            f"not {type(value).__name__}")
    _check_device(device)
    dtype = _dt.int64 if dtype is None else _dt.to_dtype(dtype)
    if dtype.name not in _INDEX_DTYPES:
        raise NotImplementedError(f"\"{name}\" not implemented for '{dtype.scalar_name}'")
    if row < 0:
        raise RuntimeError(f"row must be non-negative, got{row}")
    if col < 0:
        raise RuntimeError(f"col must be non-negative, got{col}")
    rows, columns = triangle(int(row), int(offset), int(col))
    return _finish(np.stack([rows, columns]).astype(dtype.np).reshape(2, -1), dtype)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None,
                 pin_memory=False):
    """The (row, column) index pairs of the lower triangle of a row x col matrix (on and below
    diagonal `offset`), as a 2 x N tensor in row-major order."""
    return _triangle_indices("tril_indices", row, col, offset, dtype, device, np.tril_indices)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None,
                 pin_memory=False):
    """The (row, column) index pairs of the upper triangle (on and above diagonal `offset`)."""
    return _triangle_indices("triu_indices", row, col, offset, dtype, device, np.triu_indices)
