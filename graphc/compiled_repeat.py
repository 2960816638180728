"""`compiled.repeat(n, *args)`: the compiled function called n times, in one native call when
it can be, and the n results stacked.

Each iteration is exactly what one Python call does: the same arguments, draws claimed from the
generators in order, in-place updates seen by the next iteration, versions bumped. The native
loop (`templates/c/repeat.c`) runs a specialisation's entry point n times when that
specialisation is steady: a call of it leaves every tensor in the state that selects it again
(no `.grad`, `.data` or `requires_grad` rebinding, nothing returned that aliases an input).
Otherwise the calls run one after another from Python, with the same results.
"""
import functools

import numpy as np

from . import random as _random
from .autograd import grad_mode as _grad_mode
from .codegen.call_path import NativeFailure
from .runtime.threads import count as _num_threads
from .tensor import Tensor, wrap

__all__ = ["repeat"]

_CDEF = ("int64_t graphc_repeat(void *entry, void **slots, uint64_t *draws, "
         "const uint64_t *draw_steps, int64_t draw_count, const int64_t *moving_slots, "
         "const int64_t *slot_steps, int64_t moving_count, int64_t n, int threads);")


def repeat(compiled, n, args, kwargs):
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"repeat: n must be a positive int, got {n!r}")
    results = []
    while len(results) < n:
        plan = _steady(compiled, args, kwargs)
        if plan is not None:
            specialisation, sourced = plan
            try:
                stacked = _native(specialisation, n - len(results), args, sourced)
            except NativeFailure as failure:
                # the iterations before the failing one are done; that one changed nothing, so
                # it runs eagerly, for eager's partial effects and exception
                compiled._function(*args, **kwargs)
                raise failure.error from None  # (eager ran through where native code failed)
            return _join(results, specialisation.structure, stacked)
        results.append(compiled(*args, **kwargs))  # traces, or a specialisation that moves on
    return _stack(results)


def _steady(compiled, args, kwargs):
    """(specialisation, sourced) that this call selects and that selects itself again."""
    from .compile import _Specialisation
    if compiled._closure_readers is None:
        return None  # not called yet: the first call finds what it reads
    sourced = [source.value(args) for source in compiled._sources]
    specialisation = compiled._specialisations.get(compiled._key(args, kwargs, sourced))
    if not isinstance(specialisation, _Specialisation) or specialisation.attribute_sets \
            or specialisation.returns_inputs or specialisation.returned_constants:
        return None
    return specialisation, sourced


@functools.lru_cache(maxsize=None)
def _loop():
    from .codegen import cache
    from .codegen.c_backend import template_root
    source = (template_root() / "c" / "repeat.c").read_text()
    (ffi, lib), _, _ = cache.load(source, _CDEF, "graphc_repeat")
    return ffi, lib


def _cross_ffi(ffi, cdata, own_ffi):
    """A pointer of the specialisation's FFI as the loop library's FFI takes it."""
    return ffi.cast("void *", int(own_ffi.cast("uintptr_t", cdata)))


def _native(specialisation, n, args, sourced):
    """Run `specialisation` n times in one native call; {output name: stacked array}."""
    from .compile import _address, _count_up
    ffi, lib = _loop()
    own = specialisation.ffi
    with specialisation.lock:
        slots = specialisation.slots
        tensors = [args[i] for i in specialisation.argument_positions] \
            + specialisation.captured_tensors(sourced)
        for index, tensor in enumerate(tensors):
            data = tensor._data
            if specialisation.input_arrays[index] is not data:
                specialisation.input_arrays[index] = data
                slots[index] = _address(own, data)
        stacked, moving, steps = {}, [], []
        for name, slot, shape, dtype in specialisation.fresh_slots:
            array = np.empty((n, *shape), dtype=dtype.np)
            stacked[name] = (array, dtype)
            slots[slot] = own.from_buffer(array)
            moving.append(slot)
            steps.append(array[0].nbytes)
        for buffer_slot, output_slot in specialisation.buffer_aliases:
            slots[buffer_slot] = slots[output_slot]
            moving.append(buffer_slot)
            steps.append(steps[moving.index(output_slot)])
        words = specialisation.draw_words
        first_words, per_call = _claim(specialisation.draws, n)
        for position, (seed, offset) in enumerate(first_words):
            words[2 * position], words[2 * position + 1] = seed, offset
        draw_steps = ffi.new("uint64_t[]", per_call or [0])
        failed = lib.graphc_repeat(
            _cross_ffi(ffi, specialisation.entry, own), _cross_ffi(ffi, slots, own),
            _cross_ffi(ffi, words, own), draw_steps, len(specialisation.draws),
            ffi.new("int64_t[]", moving or [0]), ffi.new("int64_t[]", steps or [0]),
            len(moving), n, _num_threads[0])
        done = n if not failed else failed - 1
        for index, count in specialisation.bumped:
            for _ in range(count * done):
                tensors[index]._bump_version()
        for index, amount, count in specialisation.counted:
            for _ in range(done):
                _count_up(tensors[index], amount, count)
        if failed:
            specialisation.raise_error()  # the failed iteration's draws go back
    return {name: wrap(array, dtype) for name, (array, dtype) in stacked.items()}


def _claim(draws, n):
    """Claim n calls' draws at once, in call order: each draw's first (seed, offset) goes into
    the draw words, and its offset steps by its generator's blocks per call."""
    per_call = {}
    for generator, count in draws:
        per_call[id(generator)] = per_call.get(id(generator), 0) + _random.blocks_for(count)
    starts = {}
    for generator, _ in draws:
        if id(generator) not in starts:
            starts[id(generator)] = generator._offset
            generator._offset = (generator._offset + per_call[id(generator)] * n) & _random.MASK64
    words, steps, within = [], [], {}
    for generator, count in draws:
        skip = within.get(id(generator), 0)
        within[id(generator)] = skip + _random.blocks_for(count)
        words.append((generator._seed, (starts[id(generator)] + skip) & _random.MASK64))
        steps.append(per_call[id(generator)])
    return words, steps


def _join(results, structure, stacked):
    """The Python calls' results followed by the native loop's rows, in one structure."""
    from .compile import _Slot
    first = _stack(results) if results else None

    def build(part, done):
        if isinstance(part, _Slot):
            rows = stacked[part.name]
            if done is None:
                return rows
            return _concatenate(done, rows)
        if isinstance(part, (tuple, list)):
            built = [build(p, None if done is None else d) for p, d in
                     zip(part, done if done is not None else [None] * len(part))]
            return type(part)(built)
        if isinstance(part, dict):
            return {k: build(v, None if done is None else done[k]) for k, v in part.items()}
        return part
    return build(structure, first)


def _concatenate(head, tail):
    return wrap(np.concatenate([head._data, tail._data]), tail._dtype)


def _stack(results):
    """The results of several calls, each tensor stacked along a new first dim."""
    first = results[0]
    if isinstance(first, Tensor):
        with _grad_mode.no_grad():
            return wrap(np.stack([r._data for r in results]), first._dtype)
    if isinstance(first, (tuple, list)):
        return type(first)(_stack([r[i] for r in results]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack([r[k] for r in results]) for k in first}
    return first
