"""Tracing: run a function once on real tensors while every op it executes is recorded.

The CPU executor calls `Tracer.on_op` for each op while a tracer is active. Tensors are known by
identity: the function's tensor arguments are the graph's inputs, and a tensor that appears
from elsewhere (a global or a closure, such as a parameter) becomes a *captured* input, read
afresh on every call, never frozen. Anything whose result depends on tensor values in Python
(`.item()`, `bool(t)`, `.tolist()`, `.numpy()`) is a graph break, as are ops that the code
generators cannot lower yet; the tracer raises `GraphBreak` naming the user's file and line.
"""
import os
import traceback

from ..runtime import cpu as _cpu
from .graph import Graph, GraphNode

__all__ = ["Tracer", "GraphBreak", "trace"]


class GraphBreak(Exception):
    """The traced function cannot become one graph (the message says why and where)."""


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_location():
    """'file:line' of the innermost frame outside graphc (the user's code that ran the op)."""
    for frame in reversed(traceback.extract_stack()[:-1]):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE + os.sep):
            return f"{frame.filename}:{frame.lineno}"
    return "<unknown>"


class Tracer:
    """Collects the ops run while active into a Graph of named values."""

    def __init__(self):
        self.graph = Graph()
        self.names = {}        # id(tensor) -> value name
        self.by_memory = {}    # (address, shape, strides, dtype) -> value name (aliases)
        self.keep_alive = []   # tensors whose ids are in `names` (ids must not be reused)
        self.captured = []     # (name, tensor) read from outside the arguments
        self.locations = {}    # value name -> user source location

    # -------------------------------------------------------------- values
    def add_input(self, name, tensor):
        self._bind(tensor, name)
        self.graph.nodes.append(GraphNode(name, "input", [], {}, tensor.shape, tensor.dtype,
                                          "forward"))

    def _bind(self, tensor, name):
        self.names[id(tensor)] = name
        self.by_memory[_memory_key(tensor)] = name
        self.keep_alive.append(tensor)

    def name_of(self, value):
        """The value name of an operand: a known tensor, a captured tensor, or a number."""
        if isinstance(value, _cpu.Tensor):
            name = self.names.get(id(value))
            if name is None:
                # another tensor object over the same elements (.data, detach(), a saved output)
                name = self.by_memory.get(_memory_key(value))
            if name is None:
                name = f"captured{len(self.captured)}"
                self.captured.append((name, value))
                self.add_input(name, value)
            return name
        return repr(value)

    # -------------------------------------------------------------- hooks from the executor
    def on_op(self, op, args, attrs, result):
        if op.kind == "random":
            self.graph_break(f"{op.name} (random ops are not compiled yet)")
        inputs = [self.name_of(a) for a in args]
        name = f"v{len(self.graph.nodes)}"
        self._bind(result, name)
        self.locations[name] = user_location()
        self.graph.nodes.append(GraphNode(name, op.name, inputs, dict(attrs), result.shape,
                                          result.dtype, "forward"))

    def graph_break(self, reason):
        raise GraphBreak(f"{reason} at {user_location()}")


def _memory_key(tensor):
    data = tensor._data
    return (data.__array_interface__["data"][0], data.shape, data.strides, tensor._dtype.name)


def trace(function, args, kwargs):
    """Run `function(*args, **kwargs)` under a tracer: (tracer, result)."""
    if _cpu.tracer is not None:
        raise GraphBreak("graphc.compile functions cannot be traced inside one another yet")
    tracer = Tracer()
    for index, value in enumerate(args):
        if isinstance(value, _cpu.Tensor):
            tracer.add_input(f"arg{index}", value)
    _cpu.tracer = tracer
    try:
        result = function(*args, **kwargs)
    finally:
        _cpu.tracer = None
    return tracer, result


def check_not_tracing(what):
    """Called by Tensor methods that hand tensor values to Python."""
    if _cpu.tracer is not None:
        _cpu.tracer.graph_break(f"{what} reads a tensor's value in Python")

