"""graphc.compile: a function traced once per signature, then run as one native call.

A call computes the signature of its arguments (tensor shapes, strides, dtypes and
requires_grad; the values of other arguments; grad mode; and the numbers the function reads
from its closure and globals, which would otherwise be frozen into the code), looks up the
specialisation, and calls its entry point. A new signature traces the function on the real
arguments (graphc.ir.tracing), lowers the graph to C (graphc.codegen.c_backend) and builds it
through the on-disk cache (graphc.codegen.cache). What cannot be compiled yet (a graph break)
raises CompileError with fullgraph=True, and otherwise runs eagerly after one warning.

This first version compiles graphs of elementwise ops, sum/mean reductions and views (with
broadcasting and strided inputs) in float32 or float64; matmul, indexing, random ops, backward
and in-place updates are graph breaks for now.
"""
import functools
import logging
import os
import time
import warnings

import numpy as np

from . import dtypes as _dtypes
from . import autograd as _autograd
from .autograd import grad_mode as _grad_mode
from .autograd.function import Function
from .codegen import c_backend, cache
from .ir import tracing
from .runtime.threads import count as _num_threads
from .tensor import Tensor, wrap

__all__ = ["compile", "CompileError"]

log = logging.getLogger("graphc")
if os.environ.get("GRAPHC_LOG") and not log.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("[graphc] %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)


class CompileError(RuntimeError):
    """graphc.compile(fullgraph=True) met something it cannot compile (the message says where)."""


MAX_SPECIALISATIONS = 8


def compile(function=None, *, fullgraph=False, backend="c", dynamic=False, mode=None):
    """`graphc.compile(fn)`, `@graphc.compile` or `@graphc.compile(fullgraph=True)`."""
    if backend != "c":
        raise ValueError(f"graphc.compile: unknown backend {backend!r} (available: 'c')")
    if function is None:
        return functools.partial(compile, fullgraph=fullgraph, backend=backend)
    return CompiledFunction(function, fullgraph)


_NUMBERS = (bool, int, float, complex)


def _closure_numbers(function):
    """(name, getter) for the names of a function's closure and globals that hold numbers
    (only numbers can be baked into generated code; tensors are inputs read on every call)."""
    code = getattr(function, "__code__", None)
    if code is None:
        return ()
    readers = []
    for name, cell in zip(code.co_freevars, function.__closure__ or ()):
        readers.append((name, lambda cell=cell: cell.cell_contents))
    module_globals = function.__globals__
    for name in code.co_names:
        if name in module_globals:
            readers.append((name, lambda name=name: module_globals.get(name)))
    numbers = []
    for name, read in readers:
        try:
            if isinstance(read(), _NUMBERS):
                numbers.append((name, read))
        except ValueError:  # an empty closure cell
            continue
    return tuple(numbers)


def _number_snapshot(readers):
    """The current values of those names (a changed value, or a number that became something
    else, is a new signature)."""
    values = []
    for name, read in readers:
        try:
            values.append(read())
        except ValueError:  # the closure cell was emptied
            values.append(None)
    return tuple(values)


def _grad_states(args, captured):
    """Which tensors have a .grad (and which object it is): a traced backward creates or
    accumulates into them, so a change means another specialisation."""
    states = [None if t._grad is None else id(t._grad) for t in args if isinstance(t, Tensor)]
    states += [None if t._grad is None else id(t._grad) for t in captured]
    return tuple(states)


def _argument_signature(value):
    if isinstance(value, Tensor):
        data = value._data
        return ("tensor", data.shape, data.strides, value._dtype, value._requires_grad is True)
    if isinstance(value, (bool, int, float, str, type(None))):
        return ("value", type(value), value)
    if isinstance(value, (tuple, list)):
        return (type(value), tuple(_argument_signature(v) for v in value))
    return ("object", id(value))


class CompiledFunction:
    """What graphc.compile returns: call it like the function it wraps."""

    def __init__(self, function, fullgraph):
        functools.update_wrapper(self, function)
        self._function = function
        self._fullgraph = fullgraph
        self._specialisations = {}
        self._closure_readers = None  # found at the first call (cells may be filled late)
        self._latest = None
        self._warned = False
        self._captured_seen = []  # tensors earlier traces read from globals/closures

    # -------------------------------------------------------------- calling
    def __call__(self, *args, **kwargs):
        if self._closure_readers is None:
            self._closure_readers = _closure_numbers(self._function)
        key = (tuple(map(_argument_signature, args)) if args else (),
               tuple(sorted((k, _argument_signature(v)) for k, v in kwargs.items()))
               if kwargs else (),
               _grad_mode.state.enabled,
               _number_snapshot(self._closure_readers) if self._closure_readers else (),
               _grad_states(args, self._captured_seen))
        specialisation = self._specialisations.get(key)
        if specialisation is None:
            # tracing runs the function once (eagerly): that is this call's result
            specialisation, result = self._specialise(key, args, kwargs)
            return result
        return specialisation(args, kwargs)

    def _specialise(self, key, args, kwargs):
        """Trace (running the function once) and build; returns (specialisation, result)."""
        if self._specialisations:
            log.info("recompiling %s: %s", self.__name__, self._reason(key))
        if len(self._specialisations) >= MAX_SPECIALISATIONS:
            warnings.warn(f"graphc.compile: {self.__name__} was specialised for "
                          f"{MAX_SPECIALISATIONS} signatures; further ones run eagerly",
                          RuntimeWarning, stacklevel=3)
            return self._eager, self._function(*args, **kwargs)
        started = time.perf_counter()
        try:
            tracer, result = tracing.trace(self._function, args, kwargs,
                                           stop_at_break=self._fullgraph)
        except tracing.GraphBreak as reason:
            raise CompileError(f"graphc.compile(fullgraph=True) of {self.__name__}: "
                               f"{reason}") from None
        specialisation = self._eager
        if tracer.broken:
            self._fall_back(tracer.broken)
        else:
            try:
                specialisation = _Specialisation.build(self._function, args, tracer, result, key)
            except (tracing.GraphBreak, c_backend.Unsupported) as reason:
                if self._fullgraph:
                    raise CompileError(f"graphc.compile(fullgraph=True) of {self.__name__}: "
                                       f"{reason}") from None
                self._fall_back(reason)
            except cache.CompilerMissing as missing:
                if self._fullgraph:
                    raise CompileError(str(missing)) from None
                warnings.warn(f"{missing} Running {self.__name__} eagerly.", RuntimeWarning,
                              stacklevel=4)
            else:
                self._latest = specialisation
                if _grad_mode.state.enabled and not tracer.ran_backward \
                        and any(t.requires_grad for t in _tensors_in(result)):
                    try:
                        specialisation = _Differentiable(self, specialisation, args, kwargs,
                                                         result)
                    except c_backend.Unsupported as reason:
                        if self._fullgraph:
                            raise CompileError(f"graphc.compile(fullgraph=True) of "
                                               f"{self.__name__}: {reason}") from None
                        self._fall_back(reason)
                        specialisation = self._eager
                known = {id(t) for t in self._captured_seen}
                # parameters read from globals/closures: their .grad state is part of the key
                self._captured_seen += [t for t in specialisation.captured
                                        if id(t) not in known and t.requires_grad]
                log.info("%s specialised in %.1f ms (library from %s)", self.__name__,
                         (time.perf_counter() - started) * 1e3, specialisation.origin)
        self._specialisations[key] = specialisation
        return specialisation, result

    def _fall_back(self, reason):
        if not self._warned:
            warnings.warn(f"graphc.compile: {self.__name__} runs eagerly for this signature: "
                          f"{reason}", RuntimeWarning, stacklevel=5)
            self._warned = True

    def _eager(self, args, kwargs):
        return self._function(*args, **kwargs)

    def _reason(self, key):
        previous = next(reversed(self._specialisations))
        labels = ("arguments", "keyword arguments", "grad mode", "numbers read from closure "
                  "or globals", "which .grad tensors exist")
        changed = [label for label, old, new in zip(labels, previous, key) if old != new]
        return "changed " + ", ".join(changed)

    # -------------------------------------------------------------- inspection
    def graph(self):
        """The IR Graph of the latest compiled specialisation."""
        return self._require_latest().graph

    def source(self):
        """The C source of the latest compiled specialisation."""
        return self._require_latest().source

    def _require_latest(self):
        if self._latest is None:
            raise RuntimeError(f"{self.__name__} has no compiled specialisation yet: call it first")
        return self._latest


def _tensors_in(value):
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors_in(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors_in(item)]
    return []


class CompiledCall(Function):
    """The autograd node of a differentiable compiled call (`CompiledCallBackward`)."""

    @staticmethod
    def forward(ctx, call, *tensors):
        ctx.call = call
        # saved, so that an in-place change before backward raises as in eager mode
        ctx.save_for_backward(*[a for a in call.args if isinstance(a, Tensor)], *tensors)
        result = call.differentiable.forward(call.args, {})
        return result if isinstance(result, Tensor) else tuple(result)

    @staticmethod
    def backward(ctx, *grads):
        if _grad_mode.state.enabled:
            raise RuntimeError("graphc.compile: backward(create_graph=True) through a compiled "
                               "function is not supported yet; call the function uncompiled to "
                               "differentiate it twice")
        ctx.saved_tensors  # noqa: B018  (raises if an input changed in place since the call)
        call = ctx.call
        grads = [g if g is not None else _zeros(shape, dtype=dtype)
                 for g, (shape, dtype) in zip(grads, ctx._output_meta)]
        with _grad_mode.enable_grad():
            gradients = call.differentiable.backward(*call.args, *grads)
        return (None, *gradients)


def _zeros(shape, dtype):
    from . import zeros
    return zeros(shape, dtype=dtype)


class _Call:
    def __init__(self, differentiable, args):
        self.differentiable, self.args = differentiable, args


class _Differentiable:
    """A specialisation whose outputs require grad (the function did not run backward itself).
    The forward runs natively; the outputs' grad_fn runs a second compiled function, the
    forward again followed by autograd.grad, so backward is native too. It recomputes the
    forward rather than keeping its intermediates alive between the calls."""

    def __init__(self, owner, forward, args, kwargs, result):
        if kwargs:
            raise c_backend.Unsupported("keyword arguments to a compiled call whose outputs "
                                        "require grad (not compiled yet)")
        if not (isinstance(result, Tensor) or (isinstance(result, (tuple, list)) and result
                                               and all(isinstance(r, Tensor) for r in result))):
            raise c_backend.Unsupported("a compiled call whose outputs require grad must return "
                                        "a tensor or a tuple of tensors (not compiled yet)")
        self.forward, self.origin, self.captured = forward, forward.origin, forward.captured
        self.kind = type(result)
        self.positions = [i for i, a in enumerate(args)
                          if isinstance(a, Tensor) and a.requires_grad]
        self.differentiable_captured = [t for t in forward.captured if t.requires_grad]
        function, positions = owner._function, self.positions
        captured, count = self.differentiable_captured, len(args)

        def gradients(*values):
            call_args, grads = values[:count], values[count:]
            outputs = _tensors_in(function(*call_args))
            inputs = [call_args[i] for i in positions] + captured
            return _autograd.grad(outputs, inputs, list(grads), allow_unused=True)
        gradients.__name__ = gradients.__qualname__ = f"{owner.__name__}_backward"
        self.backward = CompiledFunction(gradients, owner._fullgraph)

    def __call__(self, args, kwargs):
        tensors = [args[i] for i in self.positions] + self.differentiable_captured
        outputs = CompiledCall.apply(_Call(self, args), *tensors)
        return outputs if self.kind is not list else list(outputs)


class _Specialisation:
    """One signature's native code and how to map arguments to it and results back."""

    @classmethod
    def build(cls, function, args, tracer, result, key):
        self = cls()
        self.graph = tracer.graph
        self.graph.locations = tracer.locations
        self.captured = [tensor for _, tensor in tracer.captured]
        self.argument_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        outputs = _flatten(result, tracer)
        self.structure = _structure(result, tracer)
        inputs = []
        for position in self.argument_positions:
            tensor = args[position]
            inputs.append((tracer.names[id(tensor)], tensor.shape, _element_strides(tensor),
                           tensor.dtype))
        for name, tensor in tracer.captured:
            inputs.append((name, tensor.shape, _element_strides(tensor), tensor.dtype))
        self.input_names = [spec[0] for spec in inputs]
        self.writes = dict(tracer.writes)          # input name -> value written into it
        self.grad_sets = list(tracer.grad_sets)    # (leaf input name, value): a new .grad
        wanted = list(outputs) + list(self.writes.values()) + [v for _, v in self.grad_sets]
        self.outputs = []
        for name in wanted:
            if name not in self.input_names and name not in self.outputs:
                self.outputs.append(name)
        location = getattr(function, "__code__", None)
        location = f"{location.co_filename}:{location.co_firstlineno}" if location else "?"
        name = getattr(function, "__qualname__", "function")
        # outputs read after the call; the other written values may be stored in place
        kept = sorted(set(_slot_names(self.structure)) | {v for _, v in self.grad_sets})
        description = repr((name, location, self.graph.listing(), inputs, self.outputs, kept,
                            sorted(tracer.locations.items())))
        graph_key = cache.graph_key_of(description)
        generated = cache.generated_for(graph_key)
        if generated is None:
            source, dtype, ctype, buffers, randoms = c_backend.render(
                self.graph, inputs, self.outputs, name, location, _short_signature(key),
                writes=list(self.writes.items()), kept=kept)
            cdef = ("int graphc_entry(void *const *slots, const uint64_t *draws, int threads);\n"
                    "int64_t graphc_error_detail(int which);")
            generated = {"source": source, "cdef": cdef, "dtype": dtype.name, "ctype": ctype,
                         "buffers": buffers, "randoms": randoms}
        self.source, cdef, ctype = generated["source"], generated["cdef"], generated["ctype"]
        self.buffers = generated["buffers"]
        # each draw claims its words from its generator on every call, as eager code does
        self.draws = [tracer.draws[name] for name in generated["randoms"]]
        self.dtype = _dtypes.to_dtype(generated["dtype"])
        self.graph.outputs = list(outputs)
        (self.ffi, self.lib), self.key, self.origin = cache.load(
            self.source, cdef, f"{getattr(function, '__name__', 'function')}_{self._short(key)}")
        cache.remember(graph_key, generated)
        self.pointer_type = f"{ctype} *"
        self.output_shapes = [tuple(self.graph.node(name).shape) for name in self.outputs]
        # the memory plan: a reduction's buffer is allocated once per specialisation and reused
        # on every call, unless the reduction is returned (then it is the fresh output array)
        self.scratch = {name: np.empty(tuple(self.graph.node(name).shape), dtype=self.dtype.np)
                        for name in self.buffers if name not in self.outputs}
        self.entry = self.lib.graphc_entry
        self._plan_call(_slot_names(self.structure))
        return self

    @staticmethod
    def _short(key):
        return format(abs(hash(key)) % (1 << 32), "08x")

    def _plan_call(self, structure_names):
        """Per-call bookkeeping decided once. Outputs returned to the user or becoming a .grad
        are fresh arrays on every call; values only written back into parameters, and the
        buffers, live in memory planned here. The entry point takes one array of data
        pointers (`slots`): the planned ones are set now, the others when they change."""
        ffi, np_dtype = self.ffi, self.dtype.np
        fresh = set(structure_names) | {value for _, value in self.grad_sets}
        self.fresh = [name in fresh for name in self.outputs]
        self.planned = {name: np.empty(shape, dtype=np_dtype)
                        for name, shape, keep in zip(self.outputs, self.output_shapes, self.fresh)
                        if not keep}
        count = len(self.input_names) + len(self.outputs) + len(self.buffers)
        self.slots = ffi.new("void *[]", max(count, 1))
        self.draw_words = ffi.new("uint64_t[]", max(2 * len(self.draws), 1))
        self.input_arrays = [None] * len(self.input_names)
        base = len(self.input_names)
        self.fresh_slots = []
        for position, (name, keep) in enumerate(zip(self.outputs, self.fresh)):
            if keep:
                self.fresh_slots.append((name, base + position,
                                         tuple(self.graph.node(name).shape)))
            else:
                self.slots[base + position] = _address(ffi, self.planned[name])
        base += len(self.outputs)
        by_output = {name: base - len(self.outputs) + i for i, name in enumerate(self.outputs)}
        for position, name in enumerate(self.buffers):
            if name in by_output:  # a returned reduction: its buffer is the output array
                self.buffer_aliases = getattr(self, "buffer_aliases", []) + [(base + position,
                                                                             by_output[name])]
            else:
                self.slots[base + position] = _address(ffi, self.scratch[name])
        self.buffer_aliases = getattr(self, "buffer_aliases", [])
        self.written = [self.input_names.index(name) for name in self.writes]
        self.returns_inputs = bool(set(structure_names) & set(self.input_names))

    def __call__(self, args, kwargs):
        ffi, slots = self.ffi, self.slots
        tensors = [args[i] for i in self.argument_positions] + self.captured
        for index, tensor in enumerate(tensors):
            data = tensor._data
            if self.input_arrays[index] is not data:  # changes only by set_/resize_/.data=
                self.input_arrays[index] = data
                slots[index] = _address(ffi, data)
        np_dtype = self.dtype.np
        values = {}
        for name, slot, shape in self.fresh_slots:
            array = np.empty(shape, dtype=np_dtype)
            slots[slot] = ffi.from_buffer(array)  # fresh, so contiguous; 6x cheaper than _address
            values[name] = wrap(array, self.dtype)
        for buffer_slot, output_slot in self.buffer_aliases:
            slots[buffer_slot] = slots[output_slot]
        words = self.draw_words
        for position, (generator, count) in enumerate(self.draws):
            words[2 * position], words[2 * position + 1] = generator.claim(count)
        if self.entry(slots, words, _num_threads[0]):
            # torch counts the dimension among the index tensors: compiled code takes just one
            detail = self.lib.graphc_error_detail
            raise IndexError(f"index {detail(0)} is out of bounds for dimension 0 with size "
                             f"{detail(1)}")
        for index in self.written:  # the native code wrote these tensors in place
            tensors[index]._bump_version()
        if self.grad_sets or self.returns_inputs:
            inputs = dict(zip(self.input_names, tensors))
            for leaf_name, value in self.grad_sets:
                inputs[leaf_name]._grad = values[value]
            values.update(inputs)
        return _rebuild(self.structure, values)


def _address(ffi, array):
    return ffi.cast("void *", array.__array_interface__["data"][0])


def _element_strides(tensor):
    itemsize = tensor._data.itemsize
    return tuple(s // itemsize for s in tensor._data.strides)


def _short_signature(key):
    tensors = [f"{list(a[1])}:{a[3].name}" for a in key[0] if a and a[0] == "tensor"]
    return ", ".join(tensors) or "(no tensors)"


def _flatten(result, tracer):
    """The value names of the tensors in a (nested) result, in order."""
    names = []

    def visit(value):
        if isinstance(value, Tensor):
            name = tracer.names.get(id(value))
            if name is None:
                raise tracing.GraphBreak("the function returns a tensor it did not compute")
            names.append(name)
        elif isinstance(value, (tuple, list)):
            for v in value:
                visit(v)
        elif isinstance(value, dict):
            for v in value.values():
                visit(v)
    visit(result)
    return names


def _structure(result, tracer):
    """The result with each tensor replaced by its value name (a marker)."""
    if isinstance(result, Tensor):
        return _Slot(tracer.names[id(result)])
    if isinstance(result, tuple):
        return tuple(_structure(v, tracer) for v in result)
    if isinstance(result, list):
        return [_structure(v, tracer) for v in result]
    if isinstance(result, dict):
        return {k: _structure(v, tracer) for k, v in result.items()}
    if isinstance(result, (bool, int, float, str, type(None))):
        return result
    raise tracing.GraphBreak(f"the function returns a {type(result).__name__}")


def _slot_names(structure):
    if isinstance(structure, _Slot):
        return [structure.name]
    if isinstance(structure, (tuple, list)):
        return [n for item in structure for n in _slot_names(item)]
    if isinstance(structure, dict):
        return [n for item in structure.values() for n in _slot_names(item)]
    return []


class _Slot:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


def _rebuild(structure, values):
    if isinstance(structure, _Slot):
        return values[structure.name]
    if isinstance(structure, tuple):
        return tuple(_rebuild(v, values) for v in structure)
    if isinstance(structure, list):
        return [_rebuild(v, values) for v in structure]
    if isinstance(structure, dict):
        return {k: _rebuild(v, values) for k, v in structure.items()}
    return structure

