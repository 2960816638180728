"""Layouts of strided memory, shared by the scheduler and the lowerings: dense or not, views as
affine maps, kernels' parameters and element types, and `Unsupported`."""
import math

from ..ir.registry import REGISTRY
from .kernel import Parameter, Var


class Unsupported(Exception):
    """The graph has something the C backend does not lower yet."""


def _constant(operand):
    """A number operand (an ir.graph.Constant) as a sympy number."""
    import sympy
    if not hasattr(operand, "value"):
        raise TypeError(f"operand {operand!r} is neither a value of the graph nor a Constant")
    value = operand.value
    if isinstance(value, bool):
        return sympy.true if value else sympy.false
    if isinstance(value, int):
        return sympy.Integer(value)
    return sympy.sympify(repr(value))  # a float as its shortest repr (0.1, inf, nan)


def _view_chain(graph, name, views):
    """The value a chain of views starts from, and the view nodes from it to `name`."""
    chain = []
    while name in views:
        node = graph.node(name)
        chain.append(node)
        name = node.inputs[0]
    return name, list(reversed(chain))


def _memory_map(root_shape, root_strides, chain):
    """(shape, strides, offset) of the last view of `chain` in the root's memory: the views'
    own numpy implementations applied to the array of the root's element offsets. None when
    the view is not an affine function of its index (a reshape across strides)."""
    import numpy as np
    offsets = np.zeros(root_shape, dtype=np.int64)
    for d, (size, stride) in enumerate(zip(root_shape, root_strides)):
        shape = [1] * len(root_shape)
        shape[d] = size
        offsets = offsets + (np.arange(size, dtype=np.int64) * stride).reshape(shape)
    for node in chain:
        offsets = REGISTRY[node.op].eager(offsets, **node.attrs)
    offsets = np.asarray(offsets)
    if offsets.size == 0:
        return offsets.shape, (0,) * offsets.ndim, 0
    base = int(offsets.flat[0])
    strides = []
    for d, size in enumerate(offsets.shape):
        index = [0] * offsets.ndim
        if size > 1:
            index[d] = 1
            strides.append(int(offsets[tuple(index)]) - base)
        else:
            strides.append(0)
    expected = np.full(offsets.shape, base, dtype=np.int64)
    for d, (size, stride) in enumerate(zip(offsets.shape, strides)):
        shape = [1] * offsets.ndim
        shape[d] = size
        expected = expected + (np.arange(size, dtype=np.int64) * stride).reshape(shape)
    if not np.array_equal(offsets, expected):
        return None
    return offsets.shape, tuple(strides), base


def _dense(shape, strides):
    expected = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


class _ElementTypes(dict):
    """The C element type of each data pointer (`in0_data` -> "float"); `compute` is the type
    of the graph's floating-point arithmetic, and of any pointer not listed."""

    def __init__(self, compute):
        super().__init__()
        self.compute = compute

    def of(self, pointer):
        return self.get(pointer, self.compute)


def _signature(reads, writes, types):
    """(a kernel's parameters (kernel.Parameter: what it reads is const), the arguments of its
    call: the same pointers)."""
    parameters = [Parameter(p, types.of(p)) for p in reads] + [
        Parameter(p, types.of(p), written=True) for p in writes]
    return parameters, [Var(p) for p in reads + writes]


def _numel(shape):
    return math.prod(shape)


def _row_major(shape):
    strides, running = [], 1
    for size in reversed(shape):
        strides.append(running)
        running *= max(size, 1)
    return tuple(reversed(strides))

