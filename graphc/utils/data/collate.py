"""Collation: how the DataLoader turns a list of samples into a batch, as torch's default_collate
(tensors stacked, numbers and numpy arrays made tensors, strings kept, tuples/lists/dicts/
namedtuples collated field by field) and default_convert (batch_size=None: no stacking)."""
import collections.abc
import copy
import re

import numpy as np

__all__ = ["default_collate", "default_convert"]

_COLLATE_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, "
                  "dicts or lists; found {}")
_NOT_NUMERIC = re.compile("[SaUO]")   # numpy dtype kinds of strings and objects


def _is_namedtuple(value):
    return isinstance(value, tuple) and hasattr(value, "_fields")


def default_convert(data):
    """numpy arrays and scalars become tensors, containers are converted element by element."""
    from ... import Tensor, as_tensor
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, (np.str_, np.bytes_)):
        if _NOT_NUMERIC.search(data.dtype.str) is not None:
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if _is_namedtuple(data):
        return type(data)(*(default_convert(item) for item in data))
    if isinstance(data, tuple):
        return [default_convert(item) for item in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(item) for item in data])
    return data


def default_collate(batch):
    """One batch from a list of samples of the same structure."""
    from ... import Tensor, as_tensor, float64, stack, tensor
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch, 0)
    if isinstance(elem, np.ndarray) and not isinstance(elem, np.generic):
        if _NOT_NUMERIC.search(elem.dtype.str) is not None:
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        return default_collate([as_tensor(item) for item in batch])
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        return as_tensor(np.array(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=float64)
    if isinstance(elem, int):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {key: default_collate([sample[key] for sample in batch])
                                       for key in elem})
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(samples) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return fields   # a list, as torch returns for tuples
        return _rebuild_sequence(elem, fields)
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def _rebuild_mapping(template, values):
    """A mapping of the template's type holding `values` (a plain dict when that fails)."""
    if isinstance(template, collections.abc.MutableMapping):
        clone = copy.copy(template)
        clone.update(values)
        return clone
    try:
        return type(template)(values)
    except TypeError:
        return values


def _rebuild_sequence(template, values):
    if isinstance(template, collections.abc.MutableSequence):
        clone = copy.copy(template)
        for index, value in enumerate(values):
            clone[index] = value
        return clone
    try:
        return type(template)(values)
    except TypeError:
        return values
