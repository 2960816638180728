"""graphc.compile: a function traced once per signature, then run as one native call.

A call computes the signature of its arguments (tensor shapes, strides, dtypes and
requires_grad; the values of other arguments; grad mode; the numbers the function reads from
its closure and globals, which would otherwise be frozen into the code; the tensors it reads
from there and which .grad tensors exist), looks up the specialisation, and calls its entry
point. A new signature traces the function on the real arguments (graphc.ir.tracing), lowers
the graph to C (graphc.codegen.c_backend) and builds it through the on-disk cache
(graphc.codegen.cache). The signature met last also gets its call path rendered as
straight-line Python (graphc.codegen.call_path), tried before anything else. What cannot be
compiled yet (a graph break) raises CompileError with fullgraph=True, and otherwise runs
eagerly after one warning.
"""
import functools
import logging
import math
import os
import sys
import time
import types
import warnings

import numpy as np

from . import dtypes as _dtypes
from . import random as _random
from . import autograd as _autograd
from .autograd import grad_mode as _grad_mode
from .autograd.function import Function
from .codegen import backend as _backends, blas, c_backend, cache, call_path, native_call
from .codegen.call_path import NativeFailure
from .codegen.errors import eager_exception
from .ir import tracing
from .ir.passes import run_passes
from .runtime import threads as _threads
from .runtime.threads import count as _num_threads
from .tensor import Tensor, wrap

__all__ = ["compile", "CompileError", "RecompileWarning"]

log = logging.getLogger("graphc")
if os.environ.get("GRAPHC_LOG") and not log.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("[graphc] %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)


class RecompileWarning(UserWarning):
    """A compiled function met more signatures than it specialises for (further ones run
    eagerly). A category of its own, so that it can be filtered and is not one of the
    RuntimeWarnings graphc hides."""


class CompileError(RuntimeError):
    """graphc.compile(fullgraph=True) met something it cannot compile (the message says where)."""


MAX_SPECIALISATIONS = 8


_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")


def compile(function=None, *, fullgraph=False, dynamic=None, backend="c", mode=None,
            options=None, disable=False, recompile_limit=None):
    """`graphc.compile(fn)`, `@graphc.compile` or `@graphc.compile(fullgraph=True)`; also a
    callable object (its `__call__` is compiled, bound to it) or a bound method. torch's other
    options are refused or warned about, never ignored: graphc has one mode and no tuning
    options, and it specialises on every shape (`dynamic=True` is warned about: each new
    shape is a new specialisation). `disable=True` returns the function itself;
    `recompile_limit` replaces the 8 specialisations a function may have."""
    target = _backends.get(backend)
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if mode is not None and mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_MODES)}")
    if mode not in (None, "default"):
        warnings.warn(f"graphc.compile has one mode: mode={mode!r} compiles as the default "
                      "one", UserWarning, stacklevel=2)
    if options:
        raise RuntimeError(f"Unexpected optimization option {next(iter(options))}: "
                           "graphc.compile has no optimization options")
    if dynamic:
        warnings.warn("graphc.compile(dynamic=True) is not implemented: graphc specialises "
                      "on every shape (each new one is traced and built again)", UserWarning,
                      stacklevel=2)
    if recompile_limit is not None and (not isinstance(recompile_limit, int)
                                        or recompile_limit < 1):
        raise ValueError(f"graphc.compile: recompile_limit must be a positive int, got "
                         f"{recompile_limit!r}")
    if function is None:
        return functools.partial(_decorate, fullgraph=fullgraph, disable=disable,
                                 limit=recompile_limit, target=target)
    return _decorate(function, fullgraph, disable, recompile_limit, target)


def _decorate(function, fullgraph=False, disable=False, limit=None, target=None):
    if disable:
        return function
    if not callable(function):
        raise TypeError(f"graphc.compile: expected a callable, got {type(function).__name__}")
    if isinstance(function, types.MethodType) or (
            not isinstance(function, (types.FunctionType, CompiledFunction, type))
            and isinstance(getattr(type(function), "__call__", None),
                           (types.FunctionType, CompiledFunction))):
        # a bound method, or an object with __call__: the function compiled with the object
        # as its first argument (its tensors are read from it on every call, as a compiled
        # method's are)
        owner = function.__self__ if isinstance(function, types.MethodType) else function
        method = function.__func__ if isinstance(function, types.MethodType) \
            else type(function).__call__
        if isinstance(method, CompiledFunction):  # already compiled (@graphc.compile inside)
            return types.MethodType(method, owner)
        return types.MethodType(_compiled(method, fullgraph, limit, target), owner)
    return _compiled(function, fullgraph, limit, target)


def _compiled(function, fullgraph, limit=None, target=None):
    """A CompiledFunction of a class of its own, so that the call path rendered for it can be
    its __call__ (a call then enters the rendered code directly: no frame of ours between)."""
    own_class = type("CompiledFunction", (CompiledFunction,), {"__module__": __name__})
    compiled = own_class(function, fullgraph)
    if limit is not None:
        compiled._limit = limit
    if target is not None:
        compiled._backend = target
    return compiled


_NUMBERS = (bool, int, float, complex)
# the values a function may read in Python from what it reaches and bake into its code: guarded
_GUARDED = (*_NUMBERS, str)


def _number_snapshot(sources):
    """The current values of those names (a changed value, or a number that became something
    else, is a new signature)."""
    return tuple(source.value() for source in sources)


def _signature_of(value, before=None):
    """What a specialisation depends on of one argument or captured value. `before`: the
    states traced tensors had when the call began (tracing.Tracer.initial), which the
    function may have changed since."""
    if isinstance(value, Tensor):
        data, dtype, requires_grad, _ = _state_of(value, before)
        return ("tensor", data.shape, data.strides, dtype, requires_grad is True)
    if isinstance(value, (bool, int, float, str, type(None))):
        return ("value", type(value), value)
    if isinstance(value, (tuple, list)):
        return (type(value), tuple(_signature_of(v, before) for v in value))
    return ("object", id(value))


def _state_of(tensor, before):
    """(data, dtype, requires_grad, grad) of a tensor, as the call met it."""
    if before:
        state = before.get(id(tensor))
        if state is not None:
            return state
    return tensor._data, tensor._dtype, tensor._requires_grad, tensor._grad


def alias_pattern(tensors, before=None):
    """None when no two of these tensors share their array; otherwise, for each, the position
    of the first one sharing it (`f(x, x)`, an argument that is also a captured tensor): the
    traced graph reads such tensors as one value, so aliasing is part of the signature."""
    ids = [id(_state_of(tensor, before)[0]) for tensor in tensors]
    if len(set(ids)) == len(ids):
        return None
    first = {}
    return tuple(first.setdefault(array, position) for position, array in enumerate(ids))


class _Source:
    """Where a captured tensor or a guarded value is found again on every call: a closure cell,
    a global the function names, a default argument or a positional argument, followed by up
    to _MAX_DEPTH attributes and items (`model._modules['0']._parameters['weight']`,
    `opt.state[<param>]['exp_avg']`, `opt.param_groups[0]['lr']`) and maybe `.grad`. Rebinding
    any step (`w = new_tensor`, a new optimizer state) is seen by the next call, as in eager
    mode."""

    def __init__(self, root, expression, label, keys=()):
        # expression over ROOT, or over ARGS (the call's positional arguments: `self.weight`
        # of a compiled method); KEY0, KEY1... are the tensors `keys` that index dicts by
        # identity (call_path.item_of)
        self.root, self.expression, self.label, self.keys = root, expression, label, keys
        self.names = {"ROOT": root, "ITEM": call_path.item_of,
                      **{f"KEY{i}": key for i, key in enumerate(keys)}}
        self.read = eval(f"lambda ARGS: {expression}", dict(self.names))  # noqa: S307 (ours)

    def value(self, args=()):
        try:
            return self.read(args)
        except call_path.GUARD_FAILURES:  # rebound, emptied or of another type: no value
            return None

    def same_place(self, root, expression, keys):
        return self.root is root and self.expression == expression and len(keys) == len(
            self.keys) and all(a is b for a, b in zip(keys, self.keys))


_MAX_DEPTH = 8      # attribute and item steps below a root the search goes
_MAX_ITEMS = 256    # items of one container it looks at
_MAX_OBJECTS = 4096  # objects one search looks into (a bound on the cost of a trace)


def _roots(function):
    """(root object, expression over ROOT, label) for each place a function reads afresh."""
    code = getattr(function, "__code__", None)
    if code is None:
        return
    for name, cell in zip(code.co_freevars, function.__closure__ or ()):
        yield cell, "ROOT.cell_contents", name
    for name in code.co_names:
        if name in function.__globals__:
            yield function.__globals__, f"ROOT[{name!r}]", name
    for index, _ in enumerate(function.__defaults__ or ()):
        yield function, f"ROOT.__defaults__[{index}]", f"default {index}"
    for name in function.__kwdefaults__ or {}:
        yield function, f"ROOT.__kwdefaults__[{name!r}]", name


def _reachable(function, args):
    """(root, expression, label, keys, value) for each tensor (and its .grad) and each guarded
    value (_GUARDED) a function can reach from its roots and from the objects among its
    positional arguments (`self` of a method), walking attributes, list and tuple items and
    dict items (string and int keys, and tensor keys by identity: an optimizer's state) to
    _MAX_DEPTH steps. Found at each trace; a call reads only the places found."""
    names = getattr(getattr(function, "__code__", None), "co_varnames", ())
    seen, budget = set(), [_MAX_OBJECTS]
    for index, value in enumerate(args):  # an argument's .grad is read through it
        if isinstance(value, Tensor) and isinstance(value._grad, Tensor):
            label = names[index] if index < len(names) else f"argument {index}"
            yield None, f"ARGS[{index}]._grad", f"{label}.grad", (), value._grad
    arguments = [(None, f"ARGS[{i}]", names[i] if i < len(names) else f"argument {i}")
                 for i, value in enumerate(args) if not isinstance(value, (Tensor, *_GUARDED))]
    for root, expression, label in [*_roots(function), *arguments]:
        value = _Source(root, expression, label).value(args)
        for found in _walk(value, expression, label, (), 0, seen, budget):
            yield (root, *found)


def _walk(value, expression, label, keys, depth, seen, budget):
    if isinstance(value, Tensor):
        yield expression, label, keys, value
        if isinstance(value._grad, Tensor):
            yield f"{expression}._grad", f"{label}.grad", keys, value._grad
        return
    if isinstance(value, _GUARDED):
        yield expression, label, keys, value
        return
    if depth == _MAX_DEPTH or id(value) in seen or budget[0] <= 0:
        return
    seen.add(id(value))
    budget[0] -= 1
    if isinstance(value, (list, tuple)):
        steps = [(f"{expression}[{i}]", f"{label}[{i}]", keys, item)
                 for i, item in enumerate(value[:_MAX_ITEMS])]
    elif isinstance(value, dict):
        steps = []
        for key, item in list(value.items())[:_MAX_ITEMS]:
            if isinstance(key, (str, int)):
                steps.append((f"{expression}[{key!r}]", f"{label}[{key!r}]", keys, item))
            elif isinstance(key, Tensor):  # looked up by identity, never inserted
                steps.append((f"ITEM({expression}, KEY{len(keys)})", f"{label}[<tensor {tuple(key.shape)}>]",
                              (*keys, key), item))
    elif _searchable(value):
        steps = [(f"{expression}.{attribute}", f"{label}.{attribute}", keys, item)
                 for attribute, item in list(vars(value).items())[:_MAX_ITEMS]
                 if attribute.isidentifier()]
    else:
        return
    for step_expression, step_label, step_keys, item in steps:
        yield from _walk(item, step_expression, step_label, step_keys, depth + 1, seen, budget)


def _searchable(value):
    """An object whose attributes may hold what the function reads (not code, modules,
    classes, arrays, random generators whose counters change on every draw, compiled
    functions)."""
    return hasattr(value, "__dict__") and not isinstance(value, (
        types.ModuleType, type, types.FunctionType, types.MethodType, types.BuiltinFunctionType,
        functools.partial, np.ndarray, _random.Generator, CompiledFunction))


def _candidates(function, args):
    """(root, expression, label, keys, tensor) for the tensors a function can reach."""
    for root, expression, label, keys, value in _reachable(function, args):
        if isinstance(value, Tensor):
            yield root, expression, label, keys, value


def _guarded_values(function, args):
    """A _Source for each guarded value a function can reach: only numbers and strings can be
    baked into generated code (a module's `training`, an optimizer's `lr`), so they are
    guarded, never frozen (tensors are inputs read on every call)."""
    return [_Source(root, expression, label, keys)
            for root, expression, label, keys, value in _reachable(function, args)
            if isinstance(value, _GUARDED) and not isinstance(value, Tensor)]


def _find_sources(function, captured, args):
    """For each captured tensor, a (root, expression, label, keys) it is read from on every
    call, or None when the function reaches it some other way (it is then held by identity).
    A tensor found only by its memory (the function read `w.data`, which is a new object each
    time) is read through the tensor that owns that memory."""
    candidates = list(_candidates(function, args))
    found = []
    for tensor in captured:
        match = next((c for c in candidates if c[4] is tensor), None)
        if match is None:
            key = tracing._memory_key(tensor)
            match = next((c for c in candidates if tracing._memory_key(c[4]) == key), None)
        found.append(None if match is None else (match[:4], match[4] is tensor))
    return found


class CompiledFunction:
    """What graphc.compile returns: call it like the function it wraps."""

    _limit = None  # graphc.compile(recompile_limit=); None: MAX_SPECIALISATIONS
    _backend = _backends.BACKENDS["c"]  # graphc.compile(backend=): codegen/backend.py

    def __init__(self, function, fullgraph):
        functools.update_wrapper(self, function)
        if not hasattr(self, "__name__"):  # a callable that is no function (a partial)
            self.__name__ = type(function).__name__
        self._function = function
        self._fullgraph = fullgraph
        self._specialisations = {}
        # _Source of each guarded value (numbers, strings) the function reaches: found at the
        # first call (cells may be filled late) and at each trace
        self._closure_readers = None
        self._latest = None
        self._warned = False
        self._limit_warned = False
        self._sources = []      # _Source: where captured tensors are read on every call
        self._fixed = []        # captured tensors found no other way: held by identity
        self._fast_calls = {}   # key -> the call path rendered for it (call_path.py)

    # -------------------------------------------------------------- calling
    def __call__(self, *args, **kwargs):
        return self._call(args, kwargs)

    def repeat(self, n, *args, **kwargs):
        """Call the function n times with the same arguments, in one native call when its
        specialisation allows (see graphc/compiled_repeat.py), and return the n results stacked along
        a new first dim (`losses = step.repeat(8000)`)."""
        from .compiled_repeat import repeat
        return repeat(self, n, args, kwargs)

    def __get__(self, instance, owner=None):
        """A compiled method: bound, the instance is its first argument (its tensors are read
        from it on every call, as a closure's are)."""
        return self if instance is None else types.MethodType(self, instance)

    @property
    def _fast(self):
        """The call path rendered for the signature met last (None: the generic path)."""
        call = type(self).__dict__.get("__call__")
        return None if call is None or call is CompiledFunction.__call__ else call

    @_fast.setter
    def _fast(self, call):
        if type(self) is CompiledFunction:  # constructed directly: no class of its own
            return
        if call is None:
            type(self).__call__ = CompiledFunction.__call__
        else:
            type(self).__call__ = call

    def _call(self, args, kwargs):
        """The generic path: the signature computed and looked up (also where the rendered
        call path sends a call its guard refuses)."""
        if self._backend.cannot_run:  # before the trace: nothing of the caller's runs
            raise RuntimeError(f"graphc.compile(backend={self._backend.name!r}): "
                               f"{self.__name__} cannot be called: {self._backend.cannot_run}")
        if self._closure_readers is None:
            self._closure_readers = _guarded_values(self._function, args)
        sourced = [source.value(args) for source in self._sources]
        key = self._key(args, kwargs, sourced)
        specialisation = self._specialisations.get(key)
        if specialisation is None:
            # tracing runs the function once (eagerly): that is this call's result
            specialisation, result = self._specialise(key, args, kwargs)
            return result
        self._fast = self._fast_calls.get(key) or self._render_call(key, args, kwargs, sourced,
                                                                  specialisation)
        try:
            return specialisation(args, kwargs, sourced)
        except NativeFailure:
            # the native call failed part-way having changed nothing: eager code would have
            # applied the function's effects up to the failing op, so run it eagerly
            return self._function(*args, **kwargs)

    def _key(self, args, kwargs, sourced, before=None, numbers=None):
        """The signature of a call: what a specialisation was built for. `before`: the states
        a traced call met (tracing.Tracer.initial), which its own writes may have changed.
        Whether an argument's or a source's tensor has a .grad is part of it (the .grad itself
        is read through a source of its own); a fixed tensor's .grad is held by identity."""
        def state(value):
            signature = _signature_of(value, before)
            if signature[0] != "tensor":
                return (signature,)
            return (signature, _state_of(value, before)[3] is not None)

        def fixed_state(tensor):
            grad = _state_of(tensor, before)[3]
            return (_signature_of(tensor, before), None if grad is None else id(grad))
        tensors = [a for a in args if isinstance(a, Tensor)]
        return (tuple(_signature_of(a, before) for a in args) if args else (),
                tuple(sorted((k, _signature_of(v, before)) for k, v in kwargs.items()))
                if kwargs else (),
                _grad_mode.state.enabled,
                numbers if numbers is not None else _number_snapshot(self._closure_readers)
                if self._closure_readers else (),
                tuple(map(state, sourced)),
                tuple(map(fixed_state, self._fixed)),
                tuple(_state_of(a, before)[3] is not None for a in tensors),
                alias_pattern(tensors + [v for v in sourced if isinstance(v, Tensor)]
                              + self._fixed, before))

    def _render_call(self, key, args, kwargs, sourced, specialisation):
        """The call path of this key's specialisation as straight-line Python (or None)."""
        if kwargs or not all(isinstance(v, Tensor) for v in sourced) \
                or getattr(specialisation, "returned_constants", None):
            return None
        source, namespace = call_path.render(
            self.__name__, key, args, list(zip(self._closure_readers, key[3])), self._sources,
            sourced, self._fixed, _grad_mode.state, specialisation, _signature_of, alias_pattern)
        fast = call_path.build(source, namespace)
        fast.source = source
        self._fast_calls[key] = fast
        return fast

    def _capture_plan(self, tracer, args):
        """Where each captured tensor of a trace comes from on later calls: (index into
        self._sources or None for a fixed tensor, the tensor, whether writes bump its version)."""
        self._watch_aliases(tracer, args)
        plan = []
        captured = [tensor for _, tensor in tracer.captured]
        for tensor, found in zip(captured, _find_sources(self._function, captured, args)):
            if found is None:
                if not any(t is tensor for t in self._fixed):
                    self._fixed.append(tensor)
                plan.append((None, tensor, True))
                continue
            (root, expression, label, keys), identical = found
            index = self._source_index(root, expression, label, keys)
            # read through another tensor over the same memory (`w.data`): eager bumped a
            # version counter nobody else holds, so compiled code bumps none
            plan.append((index, None, identical))
        return plan

    def _watch_aliases(self, tracer, args):
        """A tensor the function can reach (a global, `self.w`) that is also one of this call's
        arguments is read through the argument by the trace, which cannot tell the two apart:
        it becomes a source, so that the signature records the alias (alias_pattern) and a call
        with another argument is traced again."""
        arrays = {id(tracer.initial[id(a)][0]) for a in args if isinstance(a, Tensor)}
        for root, expression, label, keys, tensor in _candidates(self._function, args):
            if id(tensor._data) in arrays:
                self._source_index(root, expression, label, keys)

    def _source_index(self, root, expression, label, keys):
        """The index of the source reading that place (added when new)."""
        index = next((i for i, s in enumerate(self._sources)
                      if s.same_place(root, expression, keys)), None)
        if index is None:
            index = len(self._sources)
            self._sources.append(_Source(root, expression, label, keys))
        return index

    def _escaped(self, tracer, args):
        """Indices of the sources (added when new) that hold a tensor the traced call created
        and left reachable: an optimizer's state made at its first step. Compiled code would
        replay its creation, not store it there: that call's key has those places empty, and
        runs eagerly; the next call finds the state and is compiled reading it."""
        inputs = {id(tensor) for tensor in tracer.input_tensors.values()}
        escaped = []
        for root, expression, label, keys, tensor in _candidates(self._function, args):
            if id(tensor) in tracer.names and id(tensor) not in inputs \
                    and not expression.endswith("._grad"):  # a new .grad is replayed
                escaped.append(self._source_index(root, expression, label, keys))
        return escaped

    def _specialise(self, key, args, kwargs):
        """Trace (running the function once) and build; returns (specialisation, result)."""
        limit = self._limit or MAX_SPECIALISATIONS
        if len(self._specialisations) >= limit:
            if not self._limit_warned:
                log.info("%s: not recompiling (%s); the limit of %d signatures is reached",
                         self.__name__, self._reason(key), limit)
                _warn_at_user(f"graphc.compile: {self.__name__} was specialised for {limit} "
                              "signatures; further ones run eagerly (graphc.compile("
                              "recompile_limit=) raises the limit)", RecompileWarning)
                self._limit_warned = True
            return self._eager, self._function(*args, **kwargs)
        if self._specialisations:
            log.info("recompiling %s: %s", self.__name__, self._reason(key))
        # values reached through objects the last trace had not seen (a new optimizer group):
        # guarded from now on, as the call met them
        for source in _guarded_values(self._function, args):
            if not any(known.same_place(source.root, source.expression, source.keys)
                       for known in self._closure_readers):
                self._closure_readers.append(source)
        numbers = _number_snapshot(self._closure_readers)
        started = time.perf_counter()
        try:
            tracer, result = tracing.trace(self._function, args, kwargs,
                                           stop_at_break=self._fullgraph)
        except tracing.GraphBreak as reason:
            raise CompileError(f"graphc.compile(fullgraph=True) of {self.__name__}: "
                               f"{reason}") from None
        specialisation = self._eager
        escaped = [] if tracer.broken else self._escaped(tracer, args)
        if tracer.broken:
            self._fall_back(tracer.broken)
        elif escaped:
            log.info("%s runs eagerly for this call: it creates tensors it keeps (%s)",
                     self.__name__, ", ".join(self._sources[i].label for i in escaped))
        else:
            plan = self._capture_plan(tracer, args)
            try:
                specialisation = _Specialisation.build(self._function, args, tracer, result, key,
                                                       plan, self._backend)
            except (cache.CompilerMissing, cache.BuildFailed) as missing:
                if self._fullgraph:
                    raise CompileError(str(missing)) from None
                _warn_at_user(f"{missing} Running {self.__name__} eagerly.", RuntimeWarning)
            except Exception as failure:  # noqa: BLE001
                # the user's code ran (and raised) in the trace above: whatever fails from here
                # on is graphc's lowering or build (an op not lowered, a printer or compiler
                # error), a graph break, never the user's exception
                reason = _located(failure, tracer, self._function)
                if self._fullgraph:
                    raise CompileError(f"graphc.compile(fullgraph=True) of {self.__name__}: "
                                       f"{reason}") from failure
                self._fall_back(reason)
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
                log.info("%s specialised in %.1f ms (library from %s)", self.__name__,
                         (time.perf_counter() - started) * 1e3, specialisation.origin)
        if not tracer.broken:
            # the trace may have found new places captured tensors live: the key grows with
            # them. It is the call's signature as it was before the trace ran (a .grad the
            # traced call created or dropped, a requires_grad it set, a state it created,
            # count as they were).
            sourced = [None if index in escaped else source.value(args)
                       for index, source in enumerate(self._sources)]
            key = self._key(args, kwargs, sourced, tracer.initial, numbers)
            self._fast_calls.clear()
            self._fast = None
        self._specialisations[key] = specialisation
        return specialisation, result

    def _fall_back(self, reason):
        if not self._warned:
            _warn_at_user(f"graphc.compile: {self.__name__} runs eagerly for this signature: "
                          f"{reason}", RuntimeWarning)
            self._warned = True

    def _eager(self, args, kwargs, sourced=None):
        return self._function(*args, **kwargs)

    def _reason(self, key):
        """Which guard of the latest specialisation this key fails, with both values, as
        TORCH_LOGS=recompiles says it (`x: shape (64, 3) -> (40, 3)`)."""
        previous = next(reversed(self._specialisations))
        code = getattr(self._function, "__code__", None)
        names = code.co_varnames[:code.co_argcount] if code is not None else ()
        changes = []
        for index, (old, new) in enumerate(zip(previous[0], key[0])):
            label = names[index] if index < len(names) else f"argument {index}"
            changes += _signature_changes(label, old, new)
        if previous[1] != key[1]:
            changes.append(f"keyword arguments: {_short(previous[1])} -> {_short(key[1])}")
        if len(previous[0]) != len(key[0]):
            changes.append(f"number of arguments: {len(previous[0])} -> {len(key[0])}")
        if previous[2] != key[2]:
            changes.append(f"grad mode: {'enabled' if previous[2] else 'disabled'} -> "
                           f"{'enabled' if key[2] else 'disabled'}")
        for source, old, new in zip(self._closure_readers or (), previous[3], key[3]):
            if type(old) is not type(new) or old != new:
                changes.append(f"{source.label} ({_kind_of(source)}): {old!r} -> {new!r}")
        for source, old, new in zip(self._sources, previous[4], key[4]):
            changes += _state_changes(f"{source.label}", old, new)
        for index, (old, new) in enumerate(zip(previous[5], key[5])):
            changes += _state_changes(f"captured tensor {index}", old, new)
        tensor_names = [names[i] if i < len(names) else f"argument {i}"
                        for i, signature in enumerate(key[0]) if signature[0] == "tensor"]
        for label, old, new in zip(tensor_names, previous[6], key[6]):
            if old != new:
                changes.append(f"{label}.grad: {'tensor' if old else 'None'} -> "
                               f"{'tensor' if new else 'None'}")
        if previous[7] != key[7]:
            changes.append(f"tensors sharing memory (arguments, then captured): "
                           f"{previous[7] or 'none'} -> {key[7] or 'none'}")
        if len(previous[4]) != len(key[4]) or len(previous[5]) != len(key[5]):
            changes.append("new captured tensors found")
        return "; ".join(changes) or "no guard changed"

    # -------------------------------------------------------------- inspection
    def graph(self):
        """The IR Graph of the latest compiled specialisation."""
        return self._require_latest().graph

    def source(self, *args, **kwargs):
        """The C source of the latest compiled specialisation; given example arguments, the
        source of the specialisation they select, rendered without building a library or
        running compiled code (the function runs eagerly once, as the trace). With a backend
        that cannot run (CUDA), no call builds one: the latest is the latest rendered here."""
        if not args and not kwargs:
            return self._require_latest().source
        specialisation = self._generate(args, kwargs)
        if self._backend.cannot_run:
            self._latest = specialisation
        return specialisation.source

    def _generate(self, args, kwargs):
        """The specialisation these arguments select, traced and rendered, not built: the
        same key, graph and source a call with them builds. Nothing is recorded (no new
        sources, no specialisation, no cache entry)."""
        readers = self._closure_readers
        if readers is None:
            readers = _guarded_values(self._function, args)
        sourced = [source.value(args) for source in self._sources]
        key = self._key(args, kwargs, sourced, numbers=_number_snapshot(readers))
        failed = f"graphc.compile: no compiled source of {self.__name__} for these arguments"
        try:
            tracer, result = tracing.trace(self._function, args, kwargs,
                                           stop_at_break=self._fullgraph)
        except tracing.GraphBreak as reason:
            raise CompileError(f"{failed}: {reason}") from None
        if tracer.broken:
            raise CompileError(f"{failed}: it runs eagerly ({tracer.broken})")
        try:
            return _Specialisation.generate(self._function, args, tracer, result, key,
                                            self._backend)
        except Exception as failure:  # noqa: BLE001 (as _specialise: a lowering failed)
            raise CompileError(f"{failed}: {_located(failure, tracer, self._function)}") \
                from failure

    def call_source(self):
        """The Python call path last rendered (guard, then the native call): see
        graphc/codegen/call_path.py. None before a compiled signature was called twice."""
        return None if self._fast is None else self._fast.source

    def _require_latest(self):
        if self._latest is None:
            first = "compiled.source(*example_args)" if self._backend.cannot_run else "call it"
            raise RuntimeError(f"{self.__name__} has no compiled specialisation yet: {first} "
                               "first")
        return self._latest


def _warn_at_user(message, category):
    """A warning at the innermost line outside graphc (the user's call of the compiled
    function, also through the rendered call path or from inside backward)."""
    frame, level = sys._getframe(1), 2
    while frame is not None and (frame.f_code.co_filename == "<graphc call path>" or
                                 os.path.abspath(frame.f_code.co_filename).startswith(
                                     tracing._PACKAGE + os.sep)):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def _located(failure, tracer, function):
    """A lowering failure's message with the user's line it concerns: the graph node the
    backend was lowering (found among the frames it raised from), else the function's line."""
    locations = tracer.locations
    where = None
    frame = failure.__traceback__
    while frame is not None:
        node = frame.tb_frame.f_locals.get("node")
        name = getattr(node, "name", None)
        if isinstance(name, str) and name in locations:
            where = locations[name]
        frame = frame.tb_next
    if where is None:
        code = getattr(function, "__code__", None)
        where = f"{code.co_filename}:{code.co_firstlineno}" if code else "<unknown>"
    if isinstance(failure, tracing.GraphBreak):  # the tracer's messages name the line
        return str(failure)
    message = str(failure) if isinstance(failure, c_backend.Unsupported) \
        else f"{type(failure).__name__}: {failure} (graphc could not build this graph)"
    return f"{message} at {where}"


def _kind_of(source):
    root = source.root
    if isinstance(root, types.CellType):
        return "closure"
    if isinstance(root, dict):
        return "global"
    return "default"


def _short(value):
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def _signature_changes(label, old, new):
    """How an argument's signature changed, in words."""
    if old[0] == "tensor" and new[0] == "tensor":
        changes = []
        for index, what in ((1, "shape"), (2, "strides"), (3, "dtype"), (4, "requires_grad")):
            if old[index] != new[index]:
                before, after = old[index], new[index]
                if what == "dtype":
                    before, after = before.name, after.name
                changes.append(f"{label}: {what} {before} -> {after}")
        return changes
    if old == new:
        return []
    return [f"{label}: {_describe(old)} -> {_describe(new)}"]


def _describe(signature):
    if signature[0] == "tensor":
        return f"tensor of shape {signature[1]}"
    if signature[0] == "value":
        return repr(signature[2])
    if signature[0] == "object":
        return "an object"
    return _short(signature)


def _state_changes(label, old, new):
    """How a captured tensor's state (signature, grad) changed, in words."""
    if old == new:
        return []
    if old[0][0] != "tensor" or new[0][0] != "tensor":
        return [f"{label}: {_describe(old[0])} -> {_describe(new[0])}"]
    changes = _signature_changes(label, old[0], new[0])
    if (old[1] is None or old[1] is False) != (new[1] is None or new[1] is False):
        changes.append(f"{label}.grad: {'None' if old[1] in (None, False) else 'tensor'} -> "
                       f"{'None' if new[1] in (None, False) else 'tensor'}")
    elif old[1] != new[1]:
        changes.append(f"{label}.grad: another tensor")
    return changes


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
        result = call.differentiable.forward(call.args, {}, call.sourced)
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
            gradients = call.differentiable.backward(*call.args, *call.captured, *grads)
        return (None, *gradients)


def _as_leaf(value):
    if not isinstance(value, Tensor) or value._grad_fn is None:
        return value
    leaf = value.detach()
    leaf._requires_grad = value._requires_grad
    return leaf


def _zeros(shape, dtype):
    from . import zeros
    return zeros(shape, dtype=dtype)


class _Call:
    def __init__(self, differentiable, args, sourced, captured):
        self.differentiable, self.args = differentiable, args
        self.sourced, self.captured = sourced, captured


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
        self.forward, self.origin = forward, forward.origin
        self.kind = type(result)
        self.positions = [i for i, a in enumerate(args)
                          if isinstance(a, Tensor) and a.requires_grad]
        function, positions, count = owner._function, self.positions, len(args)
        captured_count = len(self._differentiable_captured(forward.captured_tensors(
            [source.value(args) for source in owner._sources])))

        def gradients(*values):
            # the call's tensors as leaves: the gradient reaching them is this call's own (a
            # tensor computed by another compiled call keeps that call's backward out of here)
            call_args = [_as_leaf(v) for v in values[:count]]
            captured, grads = values[count:count + captured_count], values[count + captured_count:]
            outputs = _tensors_in(function(*call_args))
            inputs = [call_args[i] for i in positions] + list(captured)
            return _autograd.grad(outputs, inputs, list(grads), allow_unused=True)
        gradients.__name__ = gradients.__qualname__ = f"{owner.__name__}_backward"
        self.backward = _compiled(gradients, owner._fullgraph, target=owner._backend)

    @staticmethod
    def _differentiable_captured(captured):
        return [t for t in captured if t.requires_grad]

    def __call__(self, args, kwargs, sourced):
        # the captured parameters of this call (a rebound global is the new tensor)
        captured = self._differentiable_captured(self.forward.captured_tensors(sourced))
        tensors = [args[i] for i in self.positions] + captured
        outputs = CompiledCall.apply(_Call(self, args, sourced, captured), *tensors)
        return outputs if self.kind is not list else list(outputs)


class _Specialisation:
    """One signature's native code and how to map arguments to it and results back."""

    @classmethod
    def build(cls, function, args, tracer, result, key, plan, backend):
        """`plan`: for each captured tensor, (index of its source in the call's `sourced` list
        or None, the tensor itself when it has no source, whether in-place writes bump its
        version counter)."""
        self = cls.generate(function, args, tracer, result, key, backend)
        self.plan = plan
        self._load(function, key, backend)
        return self

    @classmethod
    def generate(cls, function, args, tracer, result, key, backend):
        """The specialisation's graph after the passes and its source, rendered by `backend`
        (or found in the cache's index), nothing built or loaded yet."""
        self = cls()
        self.graph = tracer.graph
        self.graph.locations = tracer.locations
        self.argument_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        name_of = _ResultNames(tracer)
        outputs = _flatten(result, name_of)
        self.structure = _structure(result, name_of)

        def spec(name, tensor):  # as the call met it (the function may set .data)
            data, dtype, _, _ = tracer.initial[id(tensor)]
            return (name, data.shape, tuple(s // data.itemsize for s in data.strides), dtype)
        inputs = [spec(f"arg{position}", args[position]) for position in self.argument_positions]
        inputs += [spec(name, tensor) for name, tensor in tracer.captured]
        # the tensors the function created: inputs too, whose memory the specialisation owns
        self.constants = {name: (array, dtype) for name, array, dtype in tracer.constants}
        for name, array, dtype in tracer.constants:
            inputs.append((name, array.shape, tuple(s // array.itemsize for s in array.strides),
                           dtype))
        self.input_names = [spec[0] for spec in inputs]
        self.writes = dict(tracer.writes)          # input name -> value written into it
        self.versioned_writes = dict(tracer.versioned_writes)
        self.counters = self._counters()
        # what the call leaves as an input's .grad (a value, or None), .data and requires_grad,
        # replayed onto the tensor after the native call, as eager left it
        self.attribute_sets = [("grad", leaf, value) for leaf, value in tracer.grad_sets.items()]
        self.attribute_sets += [("data", name, tracer.final_value(tensor))
                                for name, tensor in tracer.data_sets.items()]
        self.attribute_sets += [("requires_grad", name, flag)
                                for name, flag in tracer.flag_sets.items()]
        self.new_values = [value for kind, _, value in self.attribute_sets
                           if kind != "requires_grad" and value is not None]
        wanted = list(outputs) + list(self.writes.values()) + self.new_values
        self.graph = run_passes(self.graph, wanted, self.constants)
        self.graph.writes = dict(self.writes)
        self.outputs = []
        for name in wanted:
            if name not in self.input_names and name not in self.outputs:
                self.outputs.append(name)
        location = getattr(function, "__code__", None)
        location = f"{location.co_filename}:{location.co_firstlineno}" if location else "?"
        name = getattr(function, "__qualname__", "function")
        # outputs read after the call; the other written values may be stored in place
        kept = sorted(set(_slot_names(self.structure)) | set(self.new_values))
        description = repr((name, location, self.graph.listing(), inputs, self.outputs, kept,
                            sorted(tracer.locations.items())))
        # what a renderer needs besides the graph (the CUDA dialect renders from the same)
        self.render_arguments = (inputs, self.outputs, name, location, _short_signature(key),
                                 list(self.writes.items()), kept)
        graph_key = cache.graph_key_of(description, backend)
        generated = cache.generated_for(graph_key)
        if generated is None:
            source, dtype, ctype, buffers, randoms = backend.render(
                self.graph, *self.render_arguments)
            cdef = ("int graphc_entry(void *const *slots, const uint64_t *draws, int threads);\n"
                    "int64_t graphc_error_detail(int which);")
            generated = {"source": source, "cdef": cdef, "dtype": dtype.name, "ctype": ctype,
                         "buffers": buffers, "randoms": randoms}
        self.source = generated["source"]
        self.buffers = generated["buffers"]
        # each draw claims its words from its generator on every call, as eager code does
        self.draws = [tracer.draws[name] for name in generated["randoms"]]
        self.dtype = _dtypes.to_dtype(generated["dtype"])
        self.graph.outputs = list(outputs)
        self._generated, self._graph_key = generated, graph_key
        return self

    def _load(self, function, key, backend):
        """Build (or find) the library of the generated source and plan the calls into it."""
        generated = self._generated
        native_call.prepare()  # the call path's C steps build beside the kernels
        (self.ffi, self.lib), self.key, self.origin = cache.load(
            self.source, generated["cdef"],
            f"{getattr(function, '__name__', 'function')}_{self._short(key)}", backend)
        cache.remember(self._graph_key, generated)
        if "scipy_cblas_" in self.source or "scipy_LAPACKE_" in self.source:
            _threads.apply_to_blas(blas.library_dir())
        self.pointer_type = f"{generated['ctype']} *"
        self.output_shapes = [tuple(self.graph.node(name).shape) for name in self.outputs]
        # the memory plan: a reduction's buffer is allocated once per specialisation and reused
        # on every call, unless the reduction is returned (then it is the fresh output array)
        self.scratch = {name: np.empty(tuple(self.graph.node(name).shape),
                                       dtype=self.graph.node(name).dtype.np)
                        for name in self.buffers if name not in self.outputs}
        self.entry = self.lib.graphc_entry
        self.lock = native_call.lock()
        self._plan_call(_slot_names(self.structure))
        return self

    @staticmethod
    def _short(key):
        return format(abs(hash(key)) % (1 << 32), "08x")

    def _counters(self):
        """[(input name, amount)]: integer counters the call counts up (BatchNorm's
        `num_batches_tracked += 1`). The C backend updates only float tensors in place, so
        these are taken out of its writes and added in Python after the native call (the
        graph still computes the new count where other values read it)."""
        counters = []
        for target, value in list(self.writes.items()):
            node = self.graph.node(value)
            if node.dtype is _dtypes.int64 and node.op == "add" and not node.shape \
                    and node.inputs[0] == target and not node.attrs \
                    and node.inputs[1].lstrip("-").isdigit():
                counters.append((target, int(node.inputs[1])))
                del self.writes[target]
        return counters

    def _plan_call(self, structure_names):
        """Per-call bookkeeping decided once. Outputs returned to the user or becoming a .grad
        are fresh arrays on every call; values only written back into parameters, and the
        buffers, live in memory planned here. The entry point takes one array of data
        pointers (`slots`): the planned ones are set now, the others when they change."""
        ffi = self.ffi
        fresh = set(structure_names) | set(self.new_values)
        self.fresh = [name in fresh for name in self.outputs]
        self.planned = {name: np.empty(shape, dtype=self.graph.node(name).dtype.np)
                        for name, shape, keep in zip(self.outputs, self.output_shapes, self.fresh)
                        if not keep}
        count = len(self.input_names) + len(self.outputs) + len(self.buffers)
        self.slots = ffi.new("void *[]", max(count, 1))
        self.draw_words = ffi.new("uint64_t[]", max(2 * len(self.draws), 1))
        self.input_arrays = [None] * (len(self.input_names) - len(self.constants))
        for index, name in enumerate(self.input_names[len(self.input_arrays):]):
            self.slots[len(self.input_arrays) + index] = _address(ffi, self.constants[name][0])
        base = len(self.input_names)
        self.fresh_slots = []
        for position, (name, keep) in enumerate(zip(self.outputs, self.fresh)):
            if keep:
                self.fresh_slots.append((name, base + position,
                                         tuple(self.graph.node(name).shape),
                                         self.graph.node(name).dtype))
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
        # tensors the native code writes in place get a new version where eager's write gave
        # them one: not through `w.data` (a counter of its own), nor through a capture read by
        # memory (see CompiledFunction._capture_plan)
        arguments = len(self.argument_positions)
        # (input index, how many writes of eager's bumped it)
        self.bumped = [(i, self.versioned_writes[name]) for i, name in
                       ((self.input_names.index(name), name) for name in self.writes
                        if self.versioned_writes.get(name))
                       if i < arguments or self.plan[i - arguments][2]]
        self.counted = [(self.input_names.index(name), amount,
                         self.versioned_writes.get(name, 0)) for name, amount in self.counters]
        self.returns_inputs = bool(set(structure_names) & set(self.input_names)) or any(
            isinstance(item, _Alias) for item in _leaves(self.structure))
        # a created tensor returned (or made a .grad or .data) as it was made: a copy per call
        # (the caller owns it)
        self.returned_constants = [name for name in [*structure_names, *self.new_values]
                                   if name in self.constants]

    def captured_tensors(self, sourced):
        """This call's captured tensors, in input order."""
        return [tensor if index is None else sourced[index] for index, tensor, _ in self.plan]

    def __call__(self, args, kwargs, sourced):
        """The generic call path (call_path.py renders the same steps for one signature). One
        call at a time: the slots and planned buffers are shared, and the native call releases
        the GIL."""
        with self.lock:
            return self._call(args, kwargs, sourced)

    def _call(self, args, kwargs, sourced):
        ffi, slots = self.ffi, self.slots
        tensors = [args[i] for i in self.argument_positions] + self.captured_tensors(sourced)
        for index, tensor in enumerate(tensors):
            data = tensor._data
            if self.input_arrays[index] is not data:  # changes only by set_/resize_/.data=
                self.input_arrays[index] = data
                slots[index] = _address(ffi, data)
        values = {}
        for name, slot, shape, dtype in self.fresh_slots:
            array = np.empty(shape, dtype=dtype.np)
            slots[slot] = ffi.from_buffer(array)  # fresh, so contiguous; 6x cheaper than _address
            values[name] = wrap(array, dtype)
        for buffer_slot, output_slot in self.buffer_aliases:
            slots[buffer_slot] = slots[output_slot]
        words = self.draw_words
        for position, (generator, count) in enumerate(self.draws):
            words[2 * position], words[2 * position + 1] = generator.claim(count)
        if self.entry(slots, words, _num_threads[0]):
            self.raise_error()
        for index, count in self.bumped:  # the native code wrote these tensors in place
            for _ in range(count):
                tensors[index]._bump_version()
        for index, amount, count in self.counted:
            _count_up(tensors[index], amount, count)
        if self.attribute_sets or self.returns_inputs:
            inputs = dict(zip(self.input_names, tensors))
            values.update(inputs)
            for name in self.returned_constants:
                array, dtype = self.constants[name]
                values[name] = wrap(array.copy(), dtype)
            for kind, name, value in self.attribute_sets:
                _ASSIGN[kind](inputs[name], values.get(value, value))
        return _rebuild(self.structure, values)

    def raise_error(self):
        """The entry point returned non-zero: a bad index, a matrix LAPACK refused, or no
        memory. The call wrote nothing into its inputs (c_backend keeps every in-place store
        after the kernels that can fail) and bumped no version; its draws go back to the
        generators here. So the call left everything as it found it, and CompiledFunction runs
        the function eagerly instead: eager's effects up to the failing op, and its exception.
        Raises NativeFailure (a Miss, so that the rendered call path hands the call over)."""
        detail = self.lib.graphc_error_detail
        value, size, dim, kind = detail(0), detail(1), detail(2), detail(3)
        restored = set()
        for position, (generator, _) in enumerate(self.draws):
            if id(generator) not in restored:
                generator._offset = self.draw_words[2 * position + 1]
                restored.add(id(generator))
        raise NativeFailure(eager_exception(kind, value, size, dim))

    def input_slots(self, out):
        """For call_path's guard: which native input an argument (by position), a source (by
        index) or a fixed tensor is, as (input index, ARRAYS, SLOTS, ADDRESS, FFI) names."""
        names = (out.constant("ARRAYS", self.input_arrays), out.constant("SLOTS", self.slots),
                 out.constant("ADDRESS", _address), out.constant("FFI", self.ffi))
        arguments = len(self.argument_positions)

        def slot_of(kind, which):
            if kind == "argument":
                index = self.argument_positions.index(which)
            else:
                index = next((arguments + i for i, (source, tensor, _) in enumerate(self.plan)
                              if (source == which if kind == "source" else tensor is which)),
                             None)
                if index is None:  # a source another specialisation reads
                    return None
            return (index, *names)
        return slot_of

    def render_call(self, out, arguments, sourced, fixed):
        """Write __call__'s steps for this specialisation into a call_path writer, after its
        guard: `arguments` and `sourced` name this call's argument and captured tensors."""
        tensors = [arguments[i] for i in self.argument_positions]
        tensors += [out.constant("FIXED", tensor) if index is None else sourced[index]
                    for index, tensor, _ in self.plan]
        native = native_call.extension()
        if native is None:
            wrapped = self._render_steps(out, tensors)
        else:
            wrapped = self._render_native_steps(out, tensors, native)
        for index, amount, count in self.counted:
            out.add(f"{out.constant('COUNT_UP', _count_up)}({tensors[index]}, {amount}, "
                    f"{count})")
        values = dict(zip(self.input_names, tensors))
        for name, expression in wrapped.items():
            if expression is not None:
                out.add(f"{name} = {expression}")
            values[name] = name
        for kind, name, value in self.attribute_sets:  # as eager left them
            target = values[name]
            if kind == "requires_grad":
                out.add(f"{target}._requires_grad = {value!r}")
            elif value is None:
                out.add(f"{target}._grad = None")
            elif kind == "grad":
                out.add(f"{target}._grad = {values[value]}")
            else:
                out.add(f"{out.constant('SET_DATA', _set_data)}({target}, {values[value]})")
        out.add(f"return {_rebuild_expression(self.structure, values, out)}")

    def _render_steps(self, out, tensors):
        """The steps after the guard in Python, where graphc's C call extension is missing
        (native_call.py): {output name: the expression that wraps its array}."""
        slots = out.constant("SLOTS", self.slots)
        empty = out.constant("EMPTY", np.empty)
        from_buffer, wrapped = out.constant("FROM_BUFFER", self.ffi.from_buffer), {}
        if self.fresh_slots:
            out.add("# outputs returned or becoming a .grad: fresh arrays")
        grads = set(self.new_values)
        for name, slot, shape, value_dtype in self.fresh_slots:
            dtype = out.constant("NP_DTYPE", value_dtype.np)
            wrapped[name] = f"{out.constant('WRAP', wrap)}({name}, "\
                            f"{out.constant('DTYPE', value_dtype)})"
            if name in grads:  # a new .grad or .data stays referenced: always a fresh array
                out.add(f"{name} = {empty}({shape!r}, {dtype})")
                out.add(f"{slots}[{slot}] = {from_buffer}({name})")
                continue
            # the array returned last time is reused when nothing holds it any more (the
            # caller dropped the tensor): no allocation, and its pointer is known
            array = np.empty(shape, dtype=value_dtype.np)
            kept = out.constant("KEPT", [array, self.ffi.from_buffer(array)])
            out.add(f"{name} = {kept}[0]")
            out.add(f"if {out.constant('GETREFCOUNT', sys.getrefcount)}({name}) != "
                    f"{_unreferenced_count(self.ffi)}:")
            out.add(f"{name} = {empty}({shape!r}, {dtype})", 2)
            out.add(f"{kept}[0], {kept}[1] = {name}, {from_buffer}({name})", 2)
            out.add(f"{slots}[{slot}] = {kept}[1]")
        for buffer_slot, output_slot in self.buffer_aliases:
            out.add(f"{slots}[{buffer_slot}] = {slots}[{output_slot}]")
        words = out.constant("WORDS", self.draw_words)
        for generator, blocks, first, skips in self._claims():
            # Generator.claim, inlined: the offset advances by the blocks the draws take
            name = out.constant("GENERATOR", generator)
            out.add(f"seed, offset = {name}._seed, {name}._offset")
            out.add(f"{name}._offset = (offset + {blocks}) & {_random.MASK64:#x}")
            for position, skip in enumerate(skips, first):
                out.add(f"{words}[{2 * position}], {words}[{2 * position + 1}] = seed, "
                        + (f"(offset + {skip}) & {_random.MASK64:#x}" if skip else "offset"))
        out.add(f"if {out.constant('ENTRY', self.entry)}({slots}, {words}, "
                f"{out.constant('THREADS', _num_threads)}[0]):")
        out.add(f"{out.constant('RAISE', self.raise_error)}()", 2)
        for index, count in self.bumped:
            out.add(f"counter = {tensors[index]}._version_counter")
            out.add("if counter is None:")
            out.add(f"{tensors[index]}._bump_version()", 2)
            if count > 1:
                out.add(f"{tensors[index]}._version_counter.value += {count - 1}", 2)
            out.add("else:")
            out.add(f"counter.value += {count}", 2)
        return wrapped

    def _render_native_steps(self, out, tensors, native):
        """The steps after the guard as one call of graphc_call.Call.run (native_call.py):
        {output name: None}, the names bound to the output tensors it returns."""
        call = out.constant("CALL", self._native_call(native).run)
        names = [name for name, *_ in self.fresh_slots]
        bumped = ", ".join(tensors[index] for index, _ in self.bumped)
        target = f"{names[0]} = " if len(names) == 1 else f"{', '.join(names)} = " if names \
            else ""
        out.add(f"{target}{call}({bumped})")
        return dict.fromkeys(names)

    def _claims(self):
        """[(generator, blocks, first draw, skips)]: consecutive draws from one generator claim
        their blocks at once, each draw reading from the claimed offset plus its skip."""
        claims, first = [], 0
        for generator, counts in _runs_by_generator(self.draws):
            blocks = [_random.blocks_for(count) for count in counts]
            claims.append((generator, sum(blocks), first,
                           tuple(sum(blocks[:i]) for i in range(len(counts)))))
            first += len(counts)
        return claims

    def _native_call(self, native):
        """This specialisation's graphc_call.Call, made once (it keeps the reused outputs)."""
        if getattr(self, "call_steps", None) is None:
            ffi = self.ffi
            grads = set(self.new_values)
            outputs = tuple((slot, shape, value_dtype.np, value_dtype, name not in grads)
                            for name, slot, shape, value_dtype in self.fresh_slots)
            self.call_steps = native.Call(
                *(int(ffi.cast("uintptr_t", pointer))
                  for pointer in (self.entry, self.slots, self.draw_words)),
                (self.lib, self.slots, self.draw_words), outputs, tuple(self.buffer_aliases),
                tuple(self._claims()), tuple(count for _, count in self.bumped), _num_threads,
                self.raise_error, np.empty, Tensor, _grad_mode.state,
                _work(self.graph) >= _GIL_WORK)
        return self.call_steps


# a call whose graph computes fewer elements (multiply-adds for products) than one parallel
# loop's threshold runs in microseconds: it keeps the GIL (releasing it cost ~4% of the seed's
# step); a longer one lets other threads run meanwhile
_GIL_WORK = 65536


def _work(graph):
    """The elements a graph's nodes compute, a product's counted once per multiply-add."""
    total = 0
    for node in graph.nodes:
        count = math.prod(node.shape or ())
        if node.op == "matmul":
            count *= graph.node(node.inputs[0]).shape[-1]
        total += count
    return total


def _count_up(tensor, amount, versions):
    """A counter's in-place `+= amount`, with the versions eager's write gave it."""
    np.add(tensor._data, amount, out=tensor._data)
    for _ in range(versions):
        tensor._bump_version()


def _set_grad(tensor, value):
    tensor._grad = value


def _set_data(tensor, value):
    """`tensor.data = value`, as Tensor.data's setter does it."""
    tensor._data, tensor._dtype = value._data, value._dtype
    tensor._storage = value._storage if value._storage is not None else value.storage()


def _set_requires_grad(tensor, flag):
    tensor._requires_grad = flag


_ASSIGN = {"grad": _set_grad, "data": _set_data, "requires_grad": _set_requires_grad}


def _unreferenced_count(ffi):
    """What sys.getrefcount reports, in the rendered call path, for a kept output array that
    nothing outside holds: measured by the same code shape (a list holding the array and its
    cffi buffer, a local, the call), since the count differs between Python versions."""
    namespace = {}
    exec("def probe(KEPT, GETREFCOUNT):\n    value = KEPT[0]\n    return GETREFCOUNT(value)\n",
         namespace)  # noqa: S102 (a constant probe)
    array = np.empty(1)
    return namespace["probe"]([array, ffi.from_buffer(array)], sys.getrefcount) - 1


def _runs_by_generator(draws):
    """[(generator, [word counts])] for runs of consecutive draws from one generator."""
    runs = []
    for generator, count in draws:
        if runs and runs[-1][0] is generator:
            runs[-1][1].append(count)
        else:
            runs.append((generator, [count]))
    return runs


def _rebuild_expression(structure, values, out):
    """`_rebuild` as a Python expression over the names in `values`."""
    if isinstance(structure, _Slot):
        return values[structure.name]
    if isinstance(structure, _Alias):
        return f"{out.constant('ALIAS', structure)}({values[structure.input]})"
    if isinstance(structure, tuple):
        return "(" + "".join(_rebuild_expression(v, values, out) + ", " for v in structure) + ")"
    if isinstance(structure, list):
        return "[" + ", ".join(_rebuild_expression(v, values, out) for v in structure) + "]"
    if isinstance(structure, dict):
        return "{" + ", ".join(f"{out.constant('KEY', k)}: {_rebuild_expression(v, values, out)}"
                               for k, v in structure.items()) + "}"
    return out.constant("CONSTANT", structure)


def _address(ffi, array):
    return ffi.cast("void *", array.__array_interface__["data"][0])


def _element_strides(tensor):
    itemsize = tensor._data.itemsize
    return tuple(s // itemsize for s in tensor._data.strides)


def _short_signature(key):
    tensors = [f"{list(a[1])}:{a[3].name}" for a in key[0] if a and a[0] == "tensor"]
    return ", ".join(tensors) or "(no tensors)"


class _ResultNames:
    """The value name of each tensor a traced call returns: the input itself when it returns
    an argument or a captured tensor (`x.add_(1); return x`: eager returns that very object),
    an _Alias for a view into an input's memory (eager's result shares it), otherwise the
    value computed."""

    def __init__(self, tracer):
        self.tracer = tracer

    def __call__(self, tensor):
        tracer = self.tracer
        for name, original in tracer.input_tensors.items():
            if original is tensor:
                return name
        name = tracer.names.get(id(tensor))
        if name is None:
            raise tracing.GraphBreak("the function returns a tensor it did not compute")
        base = tensor._base if tensor._base is not None else getattr(tensor, "_storage_owner",
                                                                     None)
        if base is None:
            return name
        for input_name, original in tracer.input_tensors.items():
            if not input_name.startswith(("arg", "captured")):
                continue
            data = original._data
            if np.may_share_memory(tensor._data, data):
                low, high = _byte_bounds(data)
                start, end = _byte_bounds(tensor._data)
                if not (low <= start and end <= high) or tensor._data.dtype != data.dtype:
                    raise tracing.GraphBreak("the function returns a view reaching outside the "
                                             "input it views (not compiled yet)")
                return _Alias(input_name, tensor, original)
        return name


def _byte_bounds(array):
    try:
        from numpy.lib.array_utils import byte_bounds
    except ImportError:  # numpy < 2
        byte_bounds = np.byte_bounds
    return byte_bounds(array)


class _Alias:
    """A returned view of an input's memory, made again over that input on every call."""
    __slots__ = ("input", "shape", "strides", "offset", "writeable")

    def __init__(self, input_name, view, original):
        self.input = input_name
        self.shape, self.strides = view._data.shape, view._data.strides
        self.offset = (view._data.__array_interface__["data"][0]
                       - original._data.__array_interface__["data"][0])
        self.writeable = view._data.flags.writeable

    def __call__(self, tensor):
        from .tensor import make_view
        data = tensor._data
        address = data.__array_interface__["data"][0] + self.offset
        return make_view(tensor, np.asarray(_Memory(data, address, self.shape, self.strides,
                                                    not self.writeable)))


class _Memory:
    """Elements at an address, as numpy reads them (keeps the array owning them alive)."""

    def __init__(self, owner, address, shape, strides, readonly):
        self.owner = owner
        self.__array_interface__ = {"data": (address, readonly), "shape": shape,
                                    "strides": strides, "typestr": owner.dtype.str,
                                    "version": 3}


def _leaves(structure):
    if isinstance(structure, (tuple, list)):
        return [leaf for item in structure for leaf in _leaves(item)]
    if isinstance(structure, dict):
        return [leaf for item in structure.values() for leaf in _leaves(item)]
    return [structure]


def _flatten(result, name_of):
    """The value names of the tensors in a (nested) result, in order (inputs and views of
    them are not computed)."""
    names = []

    def visit(value):
        if isinstance(value, Tensor):
            name = name_of(value)
            if isinstance(name, str):
                names.append(name)
        elif isinstance(value, (tuple, list)):
            for v in value:
                visit(v)
        elif isinstance(value, dict):
            for v in value.values():
                visit(v)
    visit(result)
    return names


def _structure(result, name_of):
    """The result with each tensor replaced by its value name (a marker)."""
    if isinstance(result, Tensor):
        name = name_of(result)
        return _Slot(name) if isinstance(name, str) else name
    if isinstance(result, tuple):
        return tuple(_structure(v, name_of) for v in result)
    if isinstance(result, list):
        return [_structure(v, name_of) for v in result]
    if isinstance(result, dict):
        return {k: _structure(v, name_of) for k, v in result.items()}
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
    if isinstance(structure, _Alias):
        return structure(values[structure.input])
    if isinstance(structure, tuple):
        return tuple(_rebuild(v, values) for v in structure)
    if isinstance(structure, list):
        return [_rebuild(v, values) for v in structure]
    if isinstance(structure, dict):
        return {k: _rebuild(v, values) for k, v in structure.items()}
    return structure

