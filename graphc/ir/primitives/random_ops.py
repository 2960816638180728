"""The random primitives: their declarations and numpy rules (the checks of values
that must also hold in compiled code live here). The torch-facing functions and gradient
rules built on them are in graphc.api.random_ops.
"""
import math

import numpy as np

from ... import random as _random
from ..registry import primitive


def _count(size):
    return math.prod(size)


def _uniform_eager(*, size, dtype, low, high, seed, offset):
    return _random.uniform_values(seed, offset, _count(size), dtype, low, high).reshape(size)


def _normal_eager(*, size, dtype, mean, std, seed, offset):
    return _random.normal_values(seed, offset, _count(size), dtype, mean, std).reshape(size)


def _exponential_eager(*, size, dtype, lambd, seed, offset):
    return _random.exponential_values(seed, offset, _count(size), dtype, lambd).reshape(size)


def _randint_eager(*, size, dtype, low, high, seed, offset):
    values = _random.integer_values(seed, offset, _count(size), low, high - low)
    return values.astype(dtype.np).reshape(size)


def _randperm_eager(*, n, dtype, seed, offset):
    return _random.permutation(seed, offset, n).astype(dtype.np)


def _bernoulli_eager(p, *, size, dtype, seed, offset):
    """`p` is a float or an array broadcastable to `size` (probabilities per element)."""
    if isinstance(p, np.ndarray):
        p = np.broadcast_to(p, size).astype(np.float64).reshape(-1)
    return _random.bernoulli_values(seed, offset, _count(size), p).astype(dtype.np).reshape(size)


def _multinomial_eager(probabilities, *, num_samples, replacement, seed, offset):
    rows = probabilities.reshape(-1, probabilities.shape[-1]).astype(np.float64)
    indices = _random.multinomial_indices(seed, offset, rows, num_samples, replacement)
    return indices.reshape(probabilities.shape[:-1] + (num_samples,))


_SIZED = ("size", "dtype")
_STREAM = ("seed", "offset")
_uniform = primitive("uniform", "random", _uniform_eager, attrs=_SIZED + ("low", "high") + _STREAM,
                     differentiable=False, torch_name="uniform_")
_normal = primitive("normal", "random", _normal_eager, attrs=_SIZED + ("mean", "std") + _STREAM,
                    differentiable=False)
_exponential = primitive("exponential", "random", _exponential_eager,
                         attrs=_SIZED + ("lambd",) + _STREAM, differentiable=False,
                         torch_name="exponential_")
_randint = primitive("randint", "random", _randint_eager, attrs=_SIZED + ("low", "high") + _STREAM,
                     differentiable=False, torch_name="random_")
_randperm = primitive("randperm", "random", _randperm_eager, attrs=("n", "dtype") + _STREAM,
                      differentiable=False)
# differentiable like torch's: the result of bernoulli(p) requires grad when p does (zero gradient)
_bernoulli = primitive("bernoulli", "random", _bernoulli_eager, attrs=_SIZED + _STREAM)
_multinomial = primitive("multinomial", "random", _multinomial_eager,
                         attrs=("num_samples", "replacement") + _STREAM, differentiable=False)
