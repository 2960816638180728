"""The eager CPU executor: runs declared ops on numpy arrays with torch's dtype semantics.

Elementwise ops are run by evaluating their formula against `NUMPY_MATH`; other primitives call
their declared numpy implementation. Both wrap the result into a Tensor and hand it to autograd.
This is the per-op hot path: keep it free of sympy, of numpy error-state contexts and of
anything that allocates more than the result.
"""
import threading
import warnings

import numpy as np

from .. import dtypes as _dt
from ..ir import math as _math_functions
from ..ir import registry as _reg
from .memory_overlap import INTERNAL_OVERLAP_MESSAGE, check_no_overlap

# numpy reports floating-point errors as warnings attributed to the calling frame; torch reports
# nothing, so ignore them when they come from graphc itself (the user's own numpy is untouched).
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"graphc\.")

_ndarray = np.ndarray
_asarray = np.asarray
_new = object.__new__
_bool, _int, _float = bool, int, float

class _TracingState(threading.local):
    """graphc.compile's tracer, set by graphc.ir.tracing while it traces a function, per thread:
    the ops other threads run meanwhile are theirs, not the trace's."""
    tracer = None


tracing_state = _TracingState()

# bound by graphc.tensor at import (the runtime must not import the Tensor class itself)
Tensor = None
wrap = None
grad_state = None
record = None  # set by graphc.autograd: record(op, inputs, output, attrs) attaches a grad_fn


def bind(tensor_class, wrap_function, grad_mode_state):
    global Tensor, wrap, grad_state
    Tensor, wrap, grad_state = tensor_class, wrap_function, grad_mode_state


# ------------------------------------------------------------------ the numpy math namespace

# the names a formula may use, bound to numpy (graphc.ir.math's numpy column)
NUMPY_MATH = _math_functions.numpy_namespace()


# ------------------------------------------------------------------ dtype rules


def operand_dtype(args):
    """torch.result_type of a mix of tensors and Python scalars."""
    dims, zero_dims, scalars = [], [], []
    for a in args:
        if isinstance(a, Tensor):
            (dims if a._data.ndim else zero_dims).append(a._dtype)
        elif isinstance(a, (_bool, _int, _float, np.generic)):
            scalars.append(_dt.scalar_dtype(a))
        elif a is not None:
            raise TypeError(f"expected Tensor or number, got {type(a).__name__}")
    return _dt.result_type_of(dims, zero_dims, scalars)


def promoted_dtype(args):
    """torch.result_type of the operands, with a fast path for the common cases: tensors of one
    dtype, mixed with Python scalars that do not change it."""
    promoted = None
    for a in args:
        if a.__class__ is Tensor or isinstance(a, Tensor):
            if promoted is None:
                promoted = a._dtype
            elif a._dtype is not promoted:
                return operand_dtype(args)
    if promoted is None:
        return operand_dtype(args)
    category = promoted.category
    for a in args:
        kind = a.__class__
        if kind is _float:
            if category != 2:
                return operand_dtype(args)
        elif kind is _int:
            if category == 0:
                return operand_dtype(args)
        elif kind is not _bool and not isinstance(a, Tensor):
            return operand_dtype(args)
    return promoted


def dtype_rule(op):
    """`rule(promoted) -> (compute dtype, result dtype)` for an elementwise op's dtype rule."""
    kind = op.dtype_rule
    if kind == _reg.PROMOTE:
        if op.no_bool:
            def rule(promoted):
                if promoted is _dt.bool:
                    _refuse_bool(op)
                return promoted, promoted
            return rule
        return lambda promoted: (promoted, promoted)
    if kind == _reg.INT_TO_FLOAT:
        def rule(promoted):
            if promoted.category < 2:
                promoted = _dt.get_default_dtype()
            return promoted, promoted
        return rule
    if kind in (_reg.COMPARE, _reg.LOGICAL):
        return lambda promoted: (promoted, _dt.bool)
    if kind in (_reg.INTEGRAL, _reg.FLOAT_ONLY):
        refused = (2,) if kind == _reg.INTEGRAL else (0, 1)

        def rule(promoted):
            if promoted.category in refused:
                # torch raises NotImplementedError (a RuntimeError) for a missing dtype kernel
                raise NotImplementedError(
                    f'"{op.torch_name}_cpu" not implemented for \'{promoted.scalar_name}\'')
            return promoted, promoted
        return rule
    raise ValueError(f"{op.name}: unknown dtype rule {kind!r}")


def compute_and_result_dtypes(op, args):
    """(compute dtype, result dtype) of an elementwise op applied to `args`."""
    return dtype_rule(op)(promoted_dtype(args))


def _refuse_bool(op):
    if op.name == "neg":
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
            "invert a mask, use the `~` or `logical_not()` operator instead.")
    if op.name == "sub":
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
            "or `logical_xor()` operator instead.")
    # torch has no bool kernel for the op (floor, abs, remainder, pow, clamp, ...)
    raise NotImplementedError(f'"{op.torch_name}_cpu" not implemented for \'Bool\'')


def _scalar_operand(value, compute):
    """A Python scalar as numpy should see it: weak (NEP 50), wrapped into range for integers."""
    if compute.category == 1 and type(value) is _int:
        info = np.iinfo(compute.np)
        if not info.min <= value <= info.max:
            return np.array(value & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64).astype(compute.np)[()]
        return value
    if compute.category == 1 and type(value) is _bool:
        return value
    if type(value) in (_bool, _int, _float):
        return value
    if isinstance(value, np.generic):
        return value.item()
    return value


# ------------------------------------------------------------------ executors


def broadcast_error(shapes):
    """torch's message for shapes that do not broadcast (ValueError from numpy -> RuntimeError)."""
    if not shapes:
        return None
    ndim = max(len(s) for s in shapes)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    for axis in range(ndim - 1, -1, -1):
        sizes = [p[axis] for p in padded]
        others = [s for s in sizes if s != 1]
        if len(set(others)) > 1:
            first = sizes.index(others[0])
            second = next(i for i, s in enumerate(sizes) if s != 1 and s != others[0])
            names = "abcdefgh"
            return RuntimeError(
                f"The size of tensor {names[first]} ({sizes[first]}) must match the size of tensor "
                f"{names[second]} ({sizes[second]}) at non-singleton dimension {axis}")
    return None


def elementwise_executor(op):
    """Build `run(args, attrs) -> (ndarray, result dtype)` for an elementwise op."""
    formula = op.formula
    math = NUMPY_MATH
    rule = dtype_rule(op)

    def run(args, attrs):
        compute, result = rule(promoted_dtype(args))
        np_compute = compute.np
        arrays = []
        for a in args:
            if isinstance(a, Tensor):
                data = a._data
                dtype = data.dtype
                arrays.append(data if dtype is np_compute or dtype == np_compute
                              else data.astype(np_compute))
            else:
                arrays.append(_scalar_operand(a, compute))
        try:
            out = formula(math, *arrays, **attrs) if attrs else formula(math, *arrays)
        except ValueError:
            mismatch = broadcast_error([a.shape for a in arrays if isinstance(a, _ndarray)])
            if mismatch is not None:
                raise mismatch from None
            raise
        if type(out) is not _ndarray:
            out = _asarray(out)
        np_result = result.np
        dtype = out.dtype
        if dtype is not np_result and dtype != np_result:
            out = out.astype(np_result)
        elif out.base is not None:
            out = out.copy()  # the formula returned a view of an input (e.g. a no-op rounding)
        return out, result

    return run


def primitive_executor(op):
    """Non-elementwise primitives: their numpy implementation returns the result array, whose
    numpy dtype gives the result dtype."""
    eager = op.eager
    by_numpy = _dt._BY_NP

    def run(args, attrs):
        if len(args) == 1 and args[0].__class__ is Tensor:
            out = eager(args[0]._data, **attrs) if attrs else eager(args[0]._data)
        elif len(args) == 2 and args[0].__class__ is Tensor and args[1].__class__ is Tensor:
            out = eager(args[0]._data, args[1]._data, **attrs) if attrs \
                else eager(args[0]._data, args[1]._data)
        else:
            out = eager(*[a._data if isinstance(a, Tensor) else a for a in args], **attrs)
        if type(out) is not _ndarray:
            out = _asarray(out)
        return out, by_numpy[out.dtype]

    return run


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
    from ..autograd.node import SavedTensor
    saved = node._saved
    if saved and isinstance(saved[-1], SavedTensor) and saved[-1].is_output and \
            saved[-1].unpack_hook is None:  # (a packed output is neither kept nor checked)
        node._saved = saved[:-1] + (SavedTensor(target, is_output=True),)


def check_view_write(target):
    global check_view_write
    from ..autograd.views import check_view_write  # (autograd imports this module first)
    return check_view_write(target)


def inplace_on_view(*args):
    global inplace_on_view
    from ..autograd.views import inplace_on_view
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


make_view = None  # bound by graphc.tensor
