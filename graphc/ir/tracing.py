"""Tracing: run a function once on real tensors while every op it executes is recorded.

graphc.dispatch calls `Tracer.on_op` for each op while a tracer is active, and its other `on_*`
methods for what is not an op. Tensors are known by identity: the function's tensor arguments
are the graph's inputs, and a tensor that appears from elsewhere (a global or a closure, such as
a parameter) becomes a *captured* input, read afresh on every call, never frozen. Anything
whose result depends on tensor values in Python (`.item()`, `bool(t)`, `.tolist()`, `.numpy()`)
is a graph break, as are ops that the code generators cannot lower yet; the tracer raises
`GraphBreak` naming the user's file and line.
"""
import collections
import os
import traceback

from .. import dispatch as _dispatch
from .graph import Constant, Graph, GraphNode

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


# random ops the C backend draws (graphc.random's recipes); others are graph breaks
_COMPILED_DRAWS = ("uniform", "normal", "randperm", "bernoulli", "exponential", "randint",
                   "multinomial")


class Tracer:
    """Collects the ops run while active into a Graph of named values."""

    def __init__(self):
        self.graph = Graph()
        self.names = {}        # id(tensor) -> value name
        self.by_memory = {}    # (address, shape, strides, dtype) -> value name (aliases)
        self.keep_alive = []   # tensors whose ids are in `names` (ids must not be reused)
        self.captured = []     # (name, tensor) read from outside the arguments
        self.constants = []    # (name, array, dtype): tensors the function created (zeros, ...)
        self.locations = {}    # value name -> user source location
        self.input_of_memory = {}  # memory key of an input -> its input name
        self.input_tensors = {}    # input name -> the tensor traced as it
        # input name -> how many of eager's writes into it bumped its version counter
        self.versioned_writes = collections.Counter()
        self.writes = {}       # input name -> the value written into it by the end of the call
        # input name -> what the call leaves as the tensor's .grad / .data / requires_grad:
        # a value name (None: no .grad), a value name, a flag; replayed after a compiled call
        self.grad_sets = {}
        self.data_sets = {}    # input name -> the tensor whose .data was assigned
        self.flag_sets = {}
        self.initial = {}      # id(input tensor) -> its state before the call changed it
        self.ran_backward = False  # the function ran backward/autograd.grad itself
        # which part of a step new nodes belong to: "forward", "gradient" (while backward runs),
        # then "update" (what follows backward: optimizer steps, zeroing); shown in the graph
        self.phase = "forward"
        self.stale = set()     # memory keys of views made out of date by an in-place write
        self.broken = None     # why the function cannot become one graph (None: it can)
        self.draws = {}        # random value name -> (generator, words it draws)
        self.pending_draw = None
        self.born_generators = {}  # id -> a Generator created during the trace (kept alive)
        self.stop_at_break = False

    # -------------------------------------------------------------- values
    def add_input(self, name, tensor):
        # the signature is the state the call met (the function may rebind .grad, .data or
        # requires_grad later): read before anything of the trace changes it
        self.initial.setdefault(id(tensor), (tensor._data, tensor._dtype, tensor._requires_grad,
                                             tensor._grad))
        self._bind(tensor, name)
        self.input_tensors[name] = tensor
        self.input_of_memory[_memory_key(tensor)] = name
        self.graph.nodes.append(GraphNode(name, "input", [], {}, tensor.shape, tensor.dtype,
                                          "forward"))

    def on_created(self, tensor):
        """The function made a new tensor from Python values (zeros, full, tensor([...]), ...):
        a constant of the graph. Its value is kept as created, and writes into it stay inside
        the call (every call starts from a fresh one, as eager code does)."""
        name = f"const{len(self.constants)}"
        self.constants.append((name, tensor._data.copy(), tensor.dtype))
        self._bind(tensor, name)
        self.graph.nodes.append(GraphNode(name, "input", [], {}, tensor.shape, tensor.dtype,
                                          "forward"))

    def _bind(self, tensor, name):
        self.names[id(tensor)] = name
        self.by_memory[_memory_key(tensor)] = name
        self.keep_alive.append(tensor)

    def name_of(self, value):
        """The value name of an operand: a known tensor, a captured tensor, or a number."""
        if isinstance(value, _dispatch.Tensor):
            if self.stale and _memory_key(value) in self.stale:
                self.graph_break("a view read after an in-place write to the tensor it views "
                                 "(not compiled yet)")
            # by memory first: another tensor object over the same elements (.data, detach(),
            # a saved output) is the same value, and an in-place write rebinds the memory
            name = self.by_memory.get(_memory_key(value))
            if name is None:
                name = self.names.get(id(value))
            if name is None:
                name = f"captured{len(self.captured)}"
                self.captured.append((name, value))
                self.add_input(name, value)
            return name
        return Constant(value)

    # -------------------------------------------------------------- hooks from the executor
    def on_op(self, op, args, attrs, result):
        draw = None
        if op.kind == "random":
            if op.name not in _COMPILED_DRAWS or self.pending_draw is None:
                self.graph_break(f"{op.name} (this random op is not compiled yet)")
                return
            # the generator state is read at every call, never frozen: drop the trace's own
            draw, self.pending_draw = self.pending_draw, None
            if id(draw[0]) in self.born_generators:
                self.graph_break(f"{op.name} from a Generator created inside the compiled "
                                 f"function (not compiled yet)")
                return
            attrs = {k: v for k, v in attrs.items() if k not in ("seed", "offset")}
        inputs = [self.name_of(a) for a in args]
        name = f"v{len(self.graph.nodes)}"
        if draw is not None:
            self.draws[name] = draw
        self._bind(result, name)
        self.locations[name] = user_location()
        self.graph.nodes.append(GraphNode(name, op.name, inputs, dict(attrs), result.shape,
                                          result.dtype, self.phase))

    # -------------------------------------------------------------- in-place writes
    def after_write(self, target, result):
        """`target`'s elements now hold the traced value `result` (an in-place op ran)."""
        self.rebind(target, self.names[id(result)])

    def rebind(self, target, name):
        key = _memory_key(target)
        for other in self.keep_alive:
            other_key = _memory_key(other)
            if other_key != key and other_key not in self.stale and _overlaps(other, target):
                # views of the written memory through another layout now hold old values:
                # reading one later is a graph break (see name_of)
                self.stale.add(other_key)
        self.name_of(target)  # an untraced target becomes a (captured) input first
        self.names[id(target)] = name
        self.by_memory[key] = name
        written = self.input_of_memory.get(key)
        if written is not None:
            self.writes[written] = name
            # does eager's write give the input a new version? Only if the tensor written
            # shares its version counter (not through `.data`, which has a counter of its own)
            tensor = self.input_tensors[written]
            counter = target._version_counter
            if target is tensor or (counter is not None and counter is tensor._version_counter):
                self.versioned_writes[written] += 1

    def on_fill(self, target, value):
        """`target.fill_(value)` / `zero_()`: a constant node, then the write."""
        name = f"v{len(self.graph.nodes)}"
        self.graph.nodes.append(GraphNode(name, "fill", [], {"value": value}, target.shape,
                                          target.dtype, self.phase))
        self.locations[name] = user_location()
        self.rebind(target, name)

    def on_copy(self, target, source):
        """`target.copy_(source)`: the source broadcast (and cast) to the target, then the write."""
        name = f"v{len(self.graph.nodes)}"
        self.graph.nodes.append(GraphNode(name, "copy", [self.name_of(source)], {},
                                          target.shape, target.dtype, self.phase))
        self.locations[name] = user_location()
        self.rebind(target, name)

    def on_grad_created(self, leaf, grad):
        """The traced backward gave `leaf` its first .grad (`grad`, a traced value)."""
        self.grad_sets[self._input_name(leaf, "a .grad")] = self.names[id(grad)]

    # -------------------------------------------------------------- attribute writes
    def _input_name(self, tensor, what):
        """The input name of a tensor whose attribute the function sets (its state after the
        call is replayed onto the tensor); a tensor made inside the call is a graph break."""
        if id(tensor) not in self.initial:
            self.name_of(tensor)  # an untraced tensor becomes a (captured) input first
        # named as an input (a later view over the same memory, x.t().t(), may have taken
        # over its memory key)
        name = next((n for n, t in self.input_tensors.items() if t is tensor), None)
        if name is None:
            self.graph_break(f"{what} set on a tensor made inside the function (not compiled "
                             "yet)")
        return name

    def on_grad_assigned(self, tensor, value):
        """`tensor.grad = value` (or `del tensor.grad`, value None)."""
        name = self._input_name(tensor, "a .grad")
        if name is not None:
            self.grad_sets[name] = None if value is None else self.name_of(value)

    def on_requires_grad(self, tensor, flag):
        """`tensor.requires_grad_(flag)` on a leaf."""
        name = self._input_name(tensor, "requires_grad")
        if name is not None:
            self.flag_sets[name] = flag

    def on_data_assigned(self, tensor, value):
        """`tensor.data = value`: the tensor now reads `value`'s memory."""
        if id(tensor) in self.initial or id(tensor) not in self.names:
            name = self._input_name(tensor, ".data")
            if name is None:
                return
            self.data_sets[name] = tensor
        self.names[id(tensor)] = self.name_of(value)

    def final_value(self, tensor):
        """The value name a tensor holds at the end of the trace."""
        return self.by_memory.get(_memory_key(tensor)) or self.names[id(tensor)]

    def graph_break(self, reason):
        message = f"{reason} at {user_location()}"
        if self.stop_at_break:
            raise GraphBreak(message)
        self.broken = message
        _dispatch.set_tracer(None)  # the rest of the call runs eagerly, untraced


def _overlaps(a, b):
    import numpy as np
    return np.shares_memory(a._data, b._data)


def _memory_key(tensor):
    data = tensor._data
    return (data.__array_interface__["data"][0], data.shape, data.strides, tensor._dtype.name)


def trace(function, args, kwargs, stop_at_break=False):
    """Run `function(*args, **kwargs)` under a tracer: (tracer, result).

    The function runs exactly once, eagerly (its result and side effects are those of an eager
    call). At a graph break the tracer either raises GraphBreak (`stop_at_break`) or records
    the reason in `tracer.broken` and lets the function finish untraced."""
    if _dispatch.is_tracing():
        raise GraphBreak("graphc.compile functions cannot be traced inside one another yet")
    tracer = Tracer()
    tracer.stop_at_break = stop_at_break
    for index, value in enumerate(args):
        if isinstance(value, _dispatch.Tensor):
            tracer.add_input(f"arg{index}", value)
    _dispatch.set_tracer(tracer)
    try:
        result = function(*args, **kwargs)
    finally:
        _dispatch.set_tracer(None)
    return tracer, result
