"""The eager CPU executors: run declared ops on numpy arrays with torch's dtype semantics.

Elementwise ops are run by evaluating their formula against `NUMPY_MATH`; other primitives call
their declared numpy implementation. An executor returns the result array and its dtype, and
knows nothing of autograd or tracing: graphc.dispatch wraps the result, records it, and looks
the executors up (`register("cpu", build_executor)` at the end of this module). This is the
per-op hot path: keep it free of sympy, of numpy error-state contexts and of anything that
allocates more than the result.
"""
import warnings

import numpy as np

from .. import dispatch as _dispatch
from .. import dtypes as _dt
from ..ir import math as _math_functions
from ..ir import registry as _reg

# numpy reports floating-point errors as warnings attributed to the calling frame; torch reports
# nothing, so ignore them when they come from graphc itself (the user's own numpy is untouched).
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"graphc\.")

_ndarray = np.ndarray
_asarray = np.asarray
_bool, _int, _float = bool, int, float

Tensor = None  # bound by graphc.tensor at import (the runtime must not import the Tensor class)


def bind(tensor_class):
    global Tensor
    Tensor = tensor_class


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
        if not args:  # a draw or a factory: attributes only
            out = eager(**attrs)
        elif len(args) == 1 and args[0].__class__ is Tensor:
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


def _cast(args, attrs):
    (x,) = args
    dtype = attrs["dtype"]
    return x._data.astype(dtype.np), dtype


def build_executor(op):
    """The executor of one declared op: the cast, its formula's, or its numpy implementation's."""
    if op.dtype_rule == "cast":
        return _cast
    if op.formula is not None:
        return elementwise_executor(op)
    return primitive_executor(op)


_dispatch.register("cpu", build_executor)
