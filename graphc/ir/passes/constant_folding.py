"""Constant folding: a tensor the function created with one value everywhere (`ones_like`,
backward's seed of 1, `zeros`) is read by elementwise ops as that number, through the views
that only broadcast it, so the formula the kernel prints simplifies (`1*x` is `x`) and the
constant's memory is not read at all."""
import numpy as np

from ..registry import REGISTRY
from ..graph import Constant
from .rebuild import GraphNode, with_nodes

_BROADCASTING_VIEWS = {"expand", "alias", "view", "unsqueeze", "squeeze"}


def _uniform_number(array):
    """The Constant every element of `array` holds, or None: finite floats and ints
    that a C literal writes exactly (no bools, no NaN or inf, no int beyond 2**31)."""
    if array.size == 0 or array.dtype.kind not in "fiu":
        return None
    first = array.reshape(-1)[0]
    if not np.all(array == first) or not np.isfinite(first):
        return None
    if array.dtype.kind == "f":
        if first == 0 and np.signbit(first):
            return None  # -0.0 as a literal loses its sign in some C expressions
        return Constant(float(first))
    return Constant(int(first)) if abs(int(first)) < 2 ** 31 else None


def fold_constants(graph, roots, constants):
    numbers = {}
    for name, (array, _) in constants.items():
        number = _uniform_number(array)
        if number is not None:
            numbers[name] = number
    nodes = []
    for node in graph.nodes:
        if node.op in _BROADCASTING_VIEWS and node.inputs and node.inputs[0] in numbers \
                and node.name not in roots:
            numbers[node.name] = numbers[node.inputs[0]]
        op = REGISTRY.get(node.op)
        if op is not None and op.kind == "elementwise" \
                and any(operand in numbers for operand in node.inputs):
            inputs = [numbers.get(operand, operand) for operand in node.inputs]
            node = GraphNode(node.name, node.op, inputs, node.attrs, node.shape, node.dtype,
                             node.role)
        nodes.append(node)
    return with_nodes(graph, nodes)
