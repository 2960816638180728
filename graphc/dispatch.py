"""The one seam every op passes: checks -> the device's executor -> wrap -> (grad mode? record
the autograd node) -> (tracing? record the op for graphc.compile).

Ops call `apply`, `apply_inplace` and `apply_view`; this module alone knows both autograd and the
tracer of graphc.compile (besides graphc.ir.tracing and graphc.compile themselves). What the
tracer must hear about that is not an op (a fill, a copy, a created constant, a random draw, a
`.grad` assignment, a value read in Python ...) reaches it through the small `note_*` functions
below. Executors know only arrays: a device registers the builder of its executors with
`register`. This is eager's per-op hot path: keep it free of anything that allocates more than
the result.
"""
import threading

import numpy as np

from . import dtypes as _dt
from .ir import registry as _reg
from .runtime.memory_overlap import INTERNAL_OVERLAP_MESSAGE, check_no_overlap

_new = object.__new__


# ------------------------------------------------------------------ executors per device

EXECUTORS = {}  # device name -> build(op) -> run(operands, attrs) -> (ndarray, result dtype)
EAGER_DEVICE = "cpu"  # eager ops run here; its executor is kept on `op.run`, the fastest lookup


def register(device, build):
    """A device's executors: `build(op)` makes the executor of one declared op."""
    EXECUTORS[device] = build
    if device == EAGER_DEVICE:
        for op in _reg.REGISTRY.values():
            _attach_executor(op)


def _attach_executor(op):
    build = EXECUTORS.get(EAGER_DEVICE)
    if build is not None:
        op.run = build(op)


_reg.DECLARATION_LISTENERS.append(_attach_executor)  # ops declared after `register` get theirs


# ------------------------------------------------------------------ the tracer's state

class _TracingState(threading.local):
    """graphc.compile's tracer, set by graphc.ir.tracing while it traces a function, per thread:
    the ops other threads run meanwhile are theirs, not the trace's."""
    tracer = None


tracing_state = _TracingState()


def active_tracer():
    return tracing_state.tracer


def set_tracer(tracer):
    """Install `tracer` (None: stop tracing) for the ops this thread runs from now on."""
    tracing_state.tracer = tracer


def is_tracing():
    return tracing_state.tracer is not None


def writes_untracked(target, other):
    """Whether an in-place op writing into `target` from the tensor `other` is seen by neither
    autograd nor the tracer (apply_inplace would only run it and write the result back)."""
    if tracing_state.tracer is not None:
        return False
    return not grad_state.enabled or (target._base is None and target._requires_grad is not True
                                      and other._requires_grad is not True)


def records_nothing():
    """Whether an op run now is recorded by neither autograd nor the tracer: a gradient rule may
    then compute on arrays (a backward without create_graph, outside graphc.compile)."""
    return not grad_state.enabled and tracing_state.tracer is None


# bound by graphc.tensor at import (this module must not import the Tensor class itself)
Tensor = None
wrap = None
make_view = None
grad_state = None
record = None  # graphc.autograd's record(op, inputs, output, attrs) attaches a grad_fn


def bind(tensor_class, wrap_function, make_view_function, grad_mode_state, record_function):
    global Tensor, wrap, make_view, grad_state, record
    Tensor, wrap, make_view = tensor_class, wrap_function, make_view_function
    grad_state, record = grad_mode_state, record_function


# ------------------------------------------------------------------ applying an op

_no_attrs = {}


def apply(op, args, attrs=_no_attrs):
    """Run `op` eagerly and wrap its result; autograd records it when an input requires grad."""
    out, result_dtype = op.run(args, attrs or _no_attrs)
    tensor = _new(Tensor)
    tensor._data = out
    tensor._dtype = result_dtype
    if grad_state.enabled:
        for a in args:
            if a.__class__ is Tensor or isinstance(a, Tensor):
                if a._requires_grad:
                    record(op, args, tensor, attrs)
                    break
    elif grad_state.inference:
        tensor._inference = True
    tracer = tracing_state.tracer
    if tracer is not None:
        tracer.on_op(op, args, attrs, tensor)
    return tensor


def apply_fused(op, args, attrs, composite):
    """A composite that torch runs as one native function (addmm, log_softmax, nll_loss): eager
    mode runs the fused primitive `op`, one kernel and one autograd node; while graphc.compile
    traces, `composite()` records the primitives it is made of, which the compiler fuses itself
    (so a fused primitive needs no lowering)."""
    if tracing_state.tracer is not None:
        return composite()
    return apply(op, args, attrs)


LEAF_INPLACE_MESSAGE = "a leaf Variable that requires grad is being used in an in-place operation."


def apply_inplace(op, target, args, attrs=_no_attrs):
    """`target.op_(...)`: compute as out-of-place, then check the cast and the shape, write back.

    When autograd records, the op runs out of place on a snapshot of the target's old value (so
    saved values stay valid), and the target takes over the result's grad_fn.
    """
    if op.kind == "elementwise":  # torch's TensorIterator refuses x[1:] += x[:-1]
        written = target._data
        for a in args:
            if a is not target and isinstance(a, Tensor):
                check_no_overlap(written, a._data)
    tracer = tracing_state.tracer
    if tracer is not None:
        if grad_state.enabled and _any_requires_grad(args):
            tracer.graph_break(f"in-place {op.name}_ recorded by autograd (not compiled yet)")
        result = apply(op, args, attrs)  # traced out of place, then written back
        _check_cast(result._dtype, target)
        _write(target, result._data)
        tracer.after_write(target, result)
        return target
    if record is not None and grad_state.enabled:
        if _any_requires_grad(args):
            return recorded_inplace(op, target, args, attrs)
        if target._base is not None:
            check_view_write(target)
    out, result_dtype = op.run(args, attrs or _no_attrs)
    _check_cast(result_dtype, target)
    _write(target, out)
    return target


def _check_cast(result_dtype, target):
    if not _dt.can_cast(result_dtype, target._dtype):
        raise RuntimeError(f"result type {result_dtype.scalar_name} can't be cast to the desired "
                           f"output type {target._dtype.scalar_name}")


def _any_requires_grad(args):
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad is True:
            return True
    return False


def check_inplace_allowed(target):
    """torch's refusals for writing into a tensor that autograd tracks."""
    if target._base is not None:
        check_view_write(target)
    elif target._requires_grad is True and target._grad_fn is None:
        raise RuntimeError(LEAF_INPLACE_MESSAGE)


def recorded_inplace(op, target, args, attrs):
    check_inplace_allowed(target)
    if target._base is not None:
        # a view: the write changes its base, whose history is rebased (CopySlices)
        return inplace_on_view(op, target, args, attrs, apply, _write, _check_cast)
    snapshot = wrap(target._data.copy(), target._dtype)
    snapshot._grad_fn = target._grad_fn
    snapshot._requires_grad = target._requires_grad
    snapshot._output_nr = target._output_nr
    result = apply(op, _with_old_self(args, target, snapshot), attrs)
    _check_cast(result._dtype, target)
    _write(target, result._data)
    node = result._grad_fn
    if node is not None:
        target._grad_fn = node
        target._requires_grad = True
        target._output_nr = 0
        _save_target_as_output(node, target)
    return target


def _with_old_self(args, target, snapshot):
    """The operands with `self` (the first operand that is the target) replaced by its old value,
    which torch keeps for the rule; a later operand that is the target stays the target itself,
    so that `y.mul_(y)` fails at backward as in torch (the saved `other` was overwritten)."""
    operands = list(args)
    for index, a in enumerate(operands):
        if a is target:
            operands[index] = snapshot
            break
    return tuple(operands)


def _save_target_as_output(node, target):
    """torch saves an in-place op's output as the target itself (exp_, sigmoid_ ...): a later
    write to the target must make backward raise rather than read the new values."""
    from .autograd.node import SavedTensor
    saved = node._saved
    if saved and isinstance(saved[-1], SavedTensor) and saved[-1].is_output and \
            saved[-1].unpack_hook is None:  # (a packed output is neither kept nor checked)
        node._saved = saved[:-1] + (SavedTensor(target, is_output=True),)


def check_view_write(target):
    global check_view_write
    from .autograd.views import check_view_write  # (autograd imports this module first)
    return check_view_write(target)


def inplace_on_view(*args):
    global inplace_on_view
    from .autograd.views import inplace_on_view
    return inplace_on_view(*args)


def write_into(target, values):
    """Write `values` (same or broadcastable-to shape) into `target` in place, untracked by
    autograd: refused when autograd would need to know (a tracked target, in grad mode)."""
    if target._requires_grad is True and grad_state.enabled:
        check_inplace_allowed(target)
        raise RuntimeError(
            "graphc cannot yet differentiate this in-place operation on a tensor that requires "
            "grad; use the out-of-place form, or run it under graphc.no_grad().")
    _write(target, values)


def _write(target, values):
    data = target._data
    if values.shape != data.shape:
        try:
            broadcast = np.broadcast_shapes(values.shape, data.shape)
        except ValueError:
            broadcast = None
        if broadcast != data.shape:
            raise RuntimeError(
                f"output with shape {list(data.shape)} doesn't match the broadcast shape "
                f"{list(broadcast) if broadcast is not None else list(values.shape)}")
    if not data.flags.writeable:
        raise RuntimeError(INTERNAL_OVERLAP_MESSAGE)
    data[...] = values
    target._bump_version()


def apply_view(op, source, attrs):
    """Run a view op: the result shares `source`'s storage and version counter."""
    array = op.eager(source._data, **attrs)
    tensor = make_view(source, array)
    if record is not None and grad_state.enabled and source._requires_grad:
        record(op, (source,), tensor, attrs)
    elif not grad_state.enabled:
        if source._requires_grad is True:
            tensor._no_grad_view = True  # an in-place write through it in grad mode is refused
    elif source._no_grad_view:
        tensor._no_grad_view = True  # a view of such a view is one too
    tracer = tracing_state.tracer
    if tracer is not None:
        tracer.on_op(op, (source,), attrs, tensor)
    return tensor


# ------------------------------------------------------------------ the tracer's other events


def check_not_tracing(what):
    """Called where a tensor's value is handed to Python (`.item()`, `bool(t)` ...)."""
    tracer = tracing_state.tracer
    if tracer is not None:
        tracer.graph_break(f"{what} reads a tensor's value in Python")


def graph_break(reason):
    """While tracing: the call cannot become one graph because of `reason`."""
    tracer = tracing_state.tracer
    if tracer is not None:
        tracer.graph_break(reason)


def note_fill(tensor, value):
    """`tensor` filled with the number `value` in place (zero_, fill_), untracked by autograd."""
    tracer = tracing_state.tracer
    if tracer is not None:
        tracer.on_fill(tensor, value)


def note_copy(target, source):
    """`target.copy_(source)`, untracked by autograd."""
    tracer = tracing_state.tracer
    if tracer is not None:
        tracer.on_copy(target, source)


def note_created(tensor):
    """A tensor made from nothing (zeros, arange ...): a constant of the traced graph, made
    afresh in every call."""
    tracer = tracing_state.tracer
    if tracer is not None:
        tracer.on_created(tensor)


def note_pending_draw(generator, word_count):
    """The next op draws `word_count` words from `generator` (compiled code claims them per
    call)."""
    tracer = tracing_state.tracer
    if tracer is not None:
        tracer.pending_draw = (generator, word_count)


def note_generator_born(generator):
    """A Generator made inside the traced call: its draws restart from the default seed in every
    eager call."""
    tracer = tracing_state.tracer
    if tracer is not None:
        tracer.born_generators[id(generator)] = generator


def note_requires_grad(tensor, flag):
    """`tensor.requires_grad_(flag)` (graphc.compile replays it after a call)."""
    tracer = tracing_state.tracer
    if tracer is not None:
        tracer.on_requires_grad(tensor, flag)


def note_grad_assigned(tensor, value):
    """`tensor.grad = value`, or `del tensor.grad` (value None)."""
    tracer = tracing_state.tracer
    if tracer is not None:
        tracer.on_grad_assigned(tensor, value)


def note_data_assigned(tensor, value):
    """`tensor.data = value`: the tensor now reads `value`'s memory."""
    tracer = tracing_state.tracer
    if tracer is not None:
        tracer.on_data_assigned(tensor, value)


def note_grad_created(leaf, grad):
    """Backward gave a leaf its first `.grad`."""
    tracer = tracing_state.tracer
    if tracer is not None:
        tracer.on_grad_created(leaf, grad)


def note_backward_started():
    """A backward pass begins: its gradients are part of the traced call's graph."""
    tracer = tracing_state.tracer
    if tracer is not None:
        tracer.ran_backward = True
        tracer.phase = "gradient"


def note_backward_finished():
    tracer = tracing_state.tracer
    if tracer is not None:
        tracer.phase = "update"
