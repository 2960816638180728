"""The elementwise functions (graphc.exp, Tensor.exp, Tensor.exp_, add with alpha, clamp, where,
the out= convention), derived from the formulas of graphc.ir.primitives.elementwise, with the
argument checks torch makes before any kernel runs (Tensor-only operands, bool subtraction,
alpha, ...).
"""
import numbers
import warnings

import numpy as np

from .. import dtypes as _dt
from .. import dispatch as _dispatch
from ..runtime import cpu as _cpu
from ..runtime.memory_overlap import check_no_overlap
from ..autograd.node import rename_node as _rename_node
from . import creation as _creation
from ..ir.registry import REGISTRY
from ..ir.primitives.elementwise import _cast_op

PUBLIC = {}   # name -> function(input, ...)   (also installed as Tensor methods)
INPLACE = {}  # name_ -> method(self, ...)


_apply = _dispatch.apply
_apply_inplace = _dispatch.apply_inplace
_Number = numbers.Number
_bool = bool


def _type_name(value):
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def check_tensor(function_name, value, argument="input", position=1):
    if not isinstance(value, _dispatch.Tensor):
        raise TypeError(f"{function_name}(): argument '{argument}' (position {position}) must be "
                        f"Tensor, not {_type_name(value)}")


def _is_number(value):
    return value.__class__ in (float, int, bool) or (
        isinstance(value, _Number) and not isinstance(value, complex))


def _check_operands(name, input, other, scalar_input, scalar_other):
    """torch's signatures: which operands may be Python numbers instead of Tensors."""
    if not isinstance(input, _dispatch.Tensor):
        if not (scalar_input and isinstance(other, _dispatch.Tensor) and _is_number(input)):
            check_tensor(name, input)
    elif not isinstance(other, _dispatch.Tensor) and not (scalar_other and _is_number(other)):
        check_tensor(name, other, "other", 2)


def _is_bool_operand(value):
    if isinstance(value, _dispatch.Tensor):
        return value._dtype is _dt.bool
    return isinstance(value, (_bool, np.bool_))


def check_subtraction(input, other):
    """torch refuses `-` with any bool operand, even when the result would not be bool."""
    if _is_bool_operand(input) or _is_bool_operand(other):
        if _is_bool_operand(input) and _is_bool_operand(other):
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                               "supported. Use the `^` or `logical_xor()` operator instead.")
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")


def write_out(result, out, reads=()):
    """The `out=` convention: resize `out` to the result (warning when it had elements), check
    that the result dtype casts to out's dtype, and copy into it. `reads`: the operands of an
    elementwise op, which torch refuses to let `out` partly overlap."""
    if out is None:
        return result
    for operand in reads:
        if isinstance(operand, _dispatch.Tensor):
            check_no_overlap(out._data, operand._data)
    if not _dt.can_cast(result._dtype, out._dtype):
        raise RuntimeError(f"result type {result._dtype.scalar_name} can't be cast to the desired "
                           f"output type {out._dtype.scalar_name}")
    if out._data.shape != result._data.shape:
        if out._data.size:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(out._data.shape)}, which does not match the required output shape "
                f"{list(result._data.shape)}. This behavior is deprecated, and in a future PyTorch "
                f"release outputs will not be resized unless they have zero elements. You can "
                f"explicitly reuse an out tensor t by resizing it, inplace, to zero elements with "
                f"t.resize_(0).", UserWarning, stacklevel=3)
        out.resize_(result.shape)
    _dispatch.write_into(out, result._data)
    return out


def _register(name, function, inplace=None):
    function.__name__ = name
    PUBLIC[name] = function
    if inplace is not None:
        inplace.__name__ = name + "_"
        INPLACE[name + "_"] = inplace


def _make_unary(public_name, op_name=None, inplace=True):
    op = REGISTRY[op_name or public_name]

    def function(input, *, out=None):
        if not isinstance(input, _dispatch.Tensor):
            check_tensor(public_name, input)
        result = _apply(op, (input,))
        return result if out is None else write_out(result, out, (input,))

    def method(self):
        return _apply_inplace(op, self, (self,))

    _register(public_name, function, method if inplace else None)


for _name in ("exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "sin", "cos",
              "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "reciprocal",
              "relu", "neg", "abs", "sign", "floor", "ceil", "trunc", "frac", "logical_not",
              "bitwise_not"):
    _make_unary(_name)
for _name in ("erf", "erfc"):
    _make_unary(_name)
for _alias, _name in (("arcsin", "asin"), ("arccos", "acos"), ("arctan", "atan"),
                      ("negative", "neg"), ("absolute", "abs"), ("fix", "trunc")):
    _make_unary(_alias, _name)
for _name in ("isnan", "isinf", "isfinite"):
    _make_unary(_name, inplace=False)

_square = REGISTRY["square"]


def square(input, *, out=None):
    """x * x; torch squares bool as pow(x, 2), an int64 result."""
    if not isinstance(input, _dispatch.Tensor):
        check_tensor("square", input)
    if input._dtype is _dt.bool:
        input = cast(input, _dt.int64)
    result = _apply(_square, (input,))
    return result if out is None else write_out(result, out, (input,))


def square_(self):
    if self._dtype is _dt.bool:
        raise RuntimeError("result type Long can't be cast to the desired output type Bool")
    return _apply_inplace(_square, self, (self,))


_register("square", square, square_)

_round = REGISTRY["round"]


def round(input, *, decimals=0, out=None):
    if not isinstance(input, _dispatch.Tensor):
        check_tensor("round", input)
    if decimals and input._dtype.category == 1:
        raise NotImplementedError(f"\"round_cpu\" not implemented for '{input._dtype.scalar_name}'")
    result = _apply(_round, (input,), {"decimals": decimals})
    return result if out is None else write_out(result, out, (input,))


def round_(self, *, decimals=0):
    if decimals and self._dtype.category == 1:
        raise NotImplementedError(f"\"round_cpu\" not implemented for '{self._dtype.scalar_name}'")
    return _apply_inplace(_round, self, (self,), {"decimals": decimals})


_register("round", round, round_)


def _make_binary(public_name, op_name=None, *, scalar_other=True, scalar_input=False,
                 inplace=True):
    op = REGISTRY[op_name or public_name]

    def function(input, other, *, out=None):
        if not (isinstance(input, _dispatch.Tensor) and isinstance(other, _dispatch.Tensor)):
            _check_operands(public_name, input, other, scalar_input, scalar_other)
        result = _apply(op, (input, other))
        return result if out is None else write_out(result, out, (input, other))

    def method(self, other):
        if not isinstance(other, _dispatch.Tensor):
            _check_operands(public_name, self, other, False, scalar_other)
        return _apply_inplace(op, self, (self, other))

    _register(public_name, function, method if inplace else None)


for _name in ("eq", "ne", "lt", "le", "gt", "ge", "fmod"):
    _make_binary(_name)
for _alias, _name in (("greater", "gt"), ("greater_equal", "ge"), ("less", "lt"),
                      ("less_equal", "le"), ("not_equal", "ne")):
    _make_binary(_alias, _name)
for _name in ("remainder", "bitwise_and", "bitwise_or", "bitwise_xor"):
    _make_binary(_name, scalar_input=True)
_make_binary("floor_divide", "div_floor", scalar_input=True)
for _name in ("atan2", "logical_and", "logical_or", "logical_xor"):
    _make_binary(_name, scalar_other=False)
_make_binary("arctan2", "atan2", scalar_other=False)
for _name in ("maximum", "minimum"):
    _make_binary(_name, scalar_other=False, inplace=False)

_add, _sub, _mul = REGISTRY["add"], REGISTRY["sub"], REGISTRY["mul"]
_div, _div_floor, _div_trunc = REGISTRY["div"], REGISTRY["div_floor"], REGISTRY["div_trunc"]
_pow = REGISTRY["pow"]


def _scaled(input, other, alpha):
    """`alpha * other`, with torch's checks of alpha against the result dtype of input + other."""
    if alpha.__class__ is int and alpha == 1:
        return other
    result = _cpu.operand_dtype((input, other))
    if isinstance(alpha, (_bool, np.bool_)):
        if result is not _dt.bool:
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
    elif result.category < 2 and not isinstance(alpha, (int, np.integer)):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")
    if isinstance(other, _dispatch.Tensor):
        # scale in the result dtype: an int tensor times a float alpha must not become float32
        # when input is float16 (the product joins the sum with other's own priority)
        if other._dtype is not result and result.category == 2 and other._dtype.category < 2:
            other = cast(other, result)
        return _apply(_mul, (other, alpha))
    if isinstance(other, (_bool, np.bool_)) and isinstance(alpha, (_bool, np.bool_)):
        return other and alpha
    return other * alpha


def add(input, other, *, alpha=1, out=None):
    if not (isinstance(input, _dispatch.Tensor) and isinstance(other, _dispatch.Tensor)):
        _check_operands("add", input, other, True, True)
    result = _apply(_add, (input, _scaled(input, other, alpha)))
    return result if out is None else write_out(result, out, (input, other))


def _scaled_for_write(self, other, alpha):
    """`alpha * other` for add_/sub_: the overlap of self with `other` itself is refused (the
    product is a new tensor, which apply_inplace would find apart from self)."""
    if alpha.__class__ is not int or alpha != 1:
        if isinstance(other, _dispatch.Tensor) and other is not self:
            check_no_overlap(self._data, other._data)
    return _scaled(self, other, alpha)


def _untracked_update(self, other, alpha, ufunc):
    """`self += alpha * other` (or -=) straight into self's memory, where nothing records the
    write (an optimizer's step) and both are float32 or float64 tensors of one dtype and shape
    that do not overlap: the same product and sum as the general path, without its copy of the
    result. Returns whether it applied."""
    if other.__class__ is not _dispatch.Tensor or not _dispatch.writes_untracked(self, other):
        return False
    data, values = self._data, other._data
    if (self._dtype is not other._dtype or self._dtype not in _UPDATED_IN_PLACE
            or alpha.__class__ not in (int, float) or data.shape != values.shape
            or not data.flags.writeable or np.may_share_memory(data, values)):
        return False
    ufunc(data, values if alpha == 1 else values * alpha, out=data)
    self._bump_version()
    return True


_UPDATED_IN_PLACE = (_dt.float32, _dt.float64)


def add_(self, other, *, alpha=1):
    if _untracked_update(self, other, alpha, np.add):
        return self
    if not isinstance(other, _dispatch.Tensor):
        _check_operands("add", self, other, False, True)
    return _apply_inplace(_add, self, (self, _scaled_for_write(self, other, alpha)))


def sub(input, other, *, alpha=1, out=None):
    if not (isinstance(input, _dispatch.Tensor) and isinstance(other, _dispatch.Tensor)):
        _check_operands("sub", input, other, True, True)
        check_subtraction(input, other)
    elif input._dtype is _dt.bool or other._dtype is _dt.bool:
        check_subtraction(input, other)
    result = _apply(_sub, (input, _scaled(input, other, alpha)))
    return result if out is None else write_out(result, out, (input, other))


def sub_(self, other, *, alpha=1):
    if _untracked_update(self, other, alpha, np.subtract):
        return self
    if not isinstance(other, _dispatch.Tensor):
        _check_operands("sub", self, other, False, True)
    check_subtraction(self, other)
    return _apply_inplace(_sub, self, (self, _scaled_for_write(self, other, alpha)))


def mul(input, other, *, out=None):
    if not (isinstance(input, _dispatch.Tensor) and isinstance(other, _dispatch.Tensor)):
        _check_operands("mul", input, other, True, True)
    result = _apply(_mul, (input, other))
    return result if out is None else write_out(result, out, (input, other))


def mul_(self, other):
    if not isinstance(other, _dispatch.Tensor):
        _check_operands("mul", self, other, False, True)
    return _apply_inplace(_mul, self, (self, other))


def _division_op(rounding_mode):
    if rounding_mode is None:
        return _div
    if rounding_mode == "floor":
        return _div_floor
    if rounding_mode == "trunc":
        return _div_trunc
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                       f"found '{rounding_mode}'")


def div(input, other, *, rounding_mode=None, out=None):
    if not (isinstance(input, _dispatch.Tensor) and isinstance(other, _dispatch.Tensor)):
        _check_operands("div", input, other, True, True)
    result = _apply(_division_op(rounding_mode), (input, other))
    return result if out is None else write_out(result, out, (input, other))


def div_(self, other, *, rounding_mode=None):
    if not isinstance(other, _dispatch.Tensor):
        _check_operands("div", self, other, False, True)
    return _apply_inplace(_division_op(rounding_mode), self, (self, other))


def _check_integer_exponent(input, exponent):
    """torch refuses a negative Python-int exponent when the result is integral (a negative
    *tensor* exponent is allowed and truncates 1 / x**n)."""
    if (isinstance(exponent, (int, np.integer)) and not isinstance(exponent, (_bool, np.bool_))
            and exponent < 0 and input._dtype.category < 2):
        raise RuntimeError("Integers to negative integer powers are not allowed.")


def _bool_to_bool_power(input, exponent):
    """torch answers pow(bool tensor, True / False) without a kernel (x ** 1 is x, x ** 0 is 1),
    though it has no bool pow kernel for tensor exponents."""
    return input._dtype is _dt.bool and isinstance(exponent, (_bool, np.bool_))


def pow(input, exponent, *, out=None):
    if not isinstance(input, _dispatch.Tensor):
        _check_operands("pow", input, exponent, True, True)
    elif not isinstance(exponent, _dispatch.Tensor):
        _check_operands("pow", input, exponent, False, True)
        _check_integer_exponent(input, exponent)
        if _bool_to_bool_power(input, exponent):
            result = _apply(_cast_op, (input,), {"dtype": _dt.bool}) if exponent else \
                _creation.ones_like(input)
            return result if out is None else write_out(result, out, (input,))
    result = _apply(_pow, (input, exponent))
    return result if out is None else write_out(result, out, (input, exponent))


def pow_(self, exponent):
    if not isinstance(exponent, _dispatch.Tensor):
        _check_operands("pow", self, exponent, False, True)
        _check_integer_exponent(self, exponent)
        if _bool_to_bool_power(self, exponent):
            return self if exponent else fill_(self, True)
    return _apply_inplace(_pow, self, (self, exponent))


for _function, _inplace in ((add, add_), (sub, sub_), (mul, mul_), (div, div_), (pow, pow_)):
    _register(_function.__name__, _function, _inplace)
for _alias, _function, _inplace in (("subtract", sub, sub_), ("multiply", mul, mul_),
                                    ("divide", div, div_), ("true_divide", div, div_)):
    _register(_alias, _function, _inplace)


_clamp, _clamp_min, _clamp_max = REGISTRY["clamp"], REGISTRY["clamp_min"], REGISTRY["clamp_max"]
_maximum, _minimum = REGISTRY["maximum"], REGISTRY["minimum"]


def _bool_operands(input, bound):
    """clamp with one bool tensor bound is maximum/minimum (which torch allows on bool); other
    single bounds use clamp_min/clamp_max, whose gradient passes at the bound as torch's does."""
    return isinstance(bound, _dispatch.Tensor) and (input._dtype is _dt.bool or
                                                    bound._dtype is _dt.bool)


def _is_nan_number(bound):
    return isinstance(bound, (float, np.floating)) and bound != bound


def _clamp_call(input, min, max):
    """The op and operands of clamp(input, min, max): both bounds Tensors, or both numbers."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if _is_nan_number(min) or _is_nan_number(max):
        # number bounds become 0-dim tensors of the default dtype (which promote as numbers
        # do), so that the gradient is not derived with NaN substituted into the formula:
        # sympy refuses to compare with NaN
        min, max = (b if b is None or isinstance(b, _dispatch.Tensor)
                    else _creation.scalar_tensor(b) for b in (min, max))
    if max is None:
        return (_maximum if _bool_operands(input, min) else _clamp_min), (input, min)
    if min is None:
        return (_minimum if _bool_operands(input, max) else _clamp_max), (input, max)
    if isinstance(min, _dispatch.Tensor) != isinstance(max, _dispatch.Tensor):
        raise TypeError(f"clamp() received an invalid combination of arguments - got (Tensor, "
                        f"min={_type_name(min)}, max={_type_name(max)}), but expected one of:\n"
                        f" * (Tensor input, Tensor min = None, Tensor max = None, *, Tensor out "
                        f"= None)\n * (Tensor input, Number min = None, Number max = None, *, "
                        f"Tensor out = None)")
    return _clamp, (input, min, max)


def clamp(input, min=None, max=None, *, out=None):
    if not isinstance(input, _dispatch.Tensor):
        check_tensor("clamp", input)
    op, args = _clamp_call(input, min, max)
    result = _rename_node(_apply(op, args), _clamp_node_name(min, max))
    return result if out is None else write_out(result, out, (input, min, max))


def _clamp_node_name(min, max):
    """torch's clamp overloads: ClampBackward1 with numbers, ClampBackward0 with tensors."""
    bound = min if min is not None else max
    return "ClampBackward0" if isinstance(bound, _dispatch.Tensor) else "ClampBackward1"


def clamp_(self, min=None, max=None):
    op, args = _clamp_call(self, min, max)
    return _rename_node(_apply_inplace(op, self, args), _clamp_node_name(min, max))


_register("clamp", clamp, clamp_)
_register("clip", clamp, clamp_)


def clamp_min(input, min, *, out=None):
    return clamp(input, min, None, out=out)


def clamp_max(input, max, *, out=None):
    return clamp(input, None, max, out=out)


_register("clamp_min", clamp_min, lambda self, min: clamp_(self, min, None))
_register("clamp_max", clamp_max, lambda self, max: clamp_(self, None, max))

# the C++ type names torch's lerp messages print
_CPP_NAMES = {_dt.bool: "bool", _dt.uint8: "unsigned char", _dt.int8: "signed char",
              _dt.int16: "short int", _dt.int32: "int", _dt.int64: "long int",
              _dt.float16: "c10::Half", _dt.float32: "float", _dt.float64: "double"}
_lerp = REGISTRY["lerp"]


def _check_lerp(input, end, weight):
    """torch's lerp barely promotes: end, and a weight tensor with dims, must match input."""
    check_tensor("lerp", input)
    check_tensor("lerp", end, "end", 2)
    checked = (("end", end), ("weight", weight)) if isinstance(weight, _dispatch.Tensor) and \
        weight._data.ndim else (("end", end),)
    for argument, value in checked:
        if value._dtype is not input._dtype:
            raise RuntimeError(f"expected dtype {_CPP_NAMES[input._dtype]} for `{argument}` but "
                               f"got dtype {_CPP_NAMES[value._dtype]}")
    if not isinstance(weight, _dispatch.Tensor) and not _is_number(weight):
        check_tensor("lerp", weight, "weight", 3)
    # a 0-dim weight tensor takes part in type promotion (the float-only rule checks the result);
    # a Python weight does not, so input itself must be floating
    if input._dtype.category < 2 and not isinstance(weight, _dispatch.Tensor):
        raise NotImplementedError(f"\"lerp_kernel_scalar\" not implemented for "
                                  f"'{input._dtype.scalar_name}'")


def lerp(input, end, weight, *, out=None):
    _check_lerp(input, end, weight)
    result = _apply(_lerp, (input, end, weight))
    return result if out is None else write_out(result, out, (input, end, weight))


def lerp_(self, end, weight):
    _check_lerp(self, end, weight)
    return _apply_inplace(_lerp, self, (self, end, weight))


_register("lerp", lerp, lerp_)

_where = REGISTRY["where"]


def where(condition, input=None, other=None, *, out=None):
    if input is None and other is None:
        from .indexing import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, _dispatch.Tensor) or condition._dtype is not _dt.bool:
        got = condition._dtype.scalar_name if isinstance(condition, _dispatch.Tensor) else \
            _type_name(condition)
        raise RuntimeError("where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {got}")
    for argument, position, value in (("input", 2, input), ("other", 3, other)):
        if not isinstance(value, _dispatch.Tensor) and not _is_number(value):
            check_tensor("where", value, argument, position)
    # the condition takes no part in type promotion: cast x and y to their own result type
    result_dtype = _cpu.operand_dtype((input, other))
    values = [cast(v, result_dtype)
              if isinstance(v, _dispatch.Tensor) and v._dtype is not result_dtype
              else v for v in (input, other)]
    if not isinstance(values[0], _dispatch.Tensor) and not isinstance(values[1], _dispatch.Tensor):
        values[0] = _creation.full((), values[0], dtype=result_dtype)
    result = _apply(_where, (condition, values[0], values[1]))
    return result if out is None else write_out(result, out, (condition, input, other))


_register("where", where)


def cast(input, dtype):
    """`input.to(dtype)` as an op (a copy in the new dtype)."""
    return _apply(_cast_op, (input,), {"dtype": dtype})


def _writable(tensor):
    """A writable numpy view of `tensor`'s elements; expanded tensors (stride 0) are read-only
    numpy views, so fill them through their storage (every alias gets the same value)."""
    data = tensor._data
    if data.flags.writeable:
        return data
    from ..tensor import make_view_of_storage
    return make_view_of_storage(tensor.storage(), data.shape, tensor.stride(),
                                tensor.storage_offset())._data


def _tracked(tensor, value=None):
    """Whether autograd must see a write of `value` into `tensor`: then zero_/fill_/copy_ go
    through `tensor[...] = value`, which records it (and refuses leaves, as torch does)."""
    return _dispatch.grad_state.enabled and (tensor._requires_grad is True or (
        isinstance(value, _dispatch.Tensor) and value._requires_grad is True))


def zero_(self):
    if _tracked(self):
        self[...] = 0
        return self
    _dispatch.note_fill(self, 0)  # (for the tracer; nothing when not tracing)
    _writable(self)[...] = 0
    self._bump_version()
    return self


def fill_(self, value):
    if value.__class__ in (float, int):
        pass
    elif isinstance(value, _dispatch.Tensor):
        if value.dim() != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.dim()} dimensions.")
        value = value.item()
    elif not _is_number(value):
        raise TypeError(f"fill_(): argument 'value' (position 1) must be Number, not "
                        f"{_type_name(value)}")
    if self._dtype.category != 2 or value.__class__ not in (float, int):
        value = _creation.cast_number(value, self._dtype)  # range checks and C wrapping
    if _dispatch.is_tracing() and not _tracked(self):
        _dispatch.note_fill(self, value)
    if _tracked(self):
        self[...] = value
        return self
    data = self._data
    (data if data.flags.writeable else _writable(self))[...] = value
    self._bump_version()
    return self


def copy_(self, src, non_blocking=False):
    """Copy `src` (broadcast to self's shape, any dtype) into self."""
    if _dispatch.is_tracing() and not _tracked(self, src):
        _dispatch.note_copy(self, src)
    if _tracked(self, src):
        self[...] = src
        return self
    values = src._data if isinstance(src, _dispatch.Tensor) else np.asarray(src)
    shape = self._data.shape
    if values.shape != shape:
        try:
            broadcast = np.broadcast_shapes(values.shape, shape)
        except ValueError:
            broadcast = None
        if broadcast != shape:
            error = _cpu.broadcast_error([shape, values.shape])
            raise error or RuntimeError(f"output with shape {list(shape)} doesn't match the "
                                        f"broadcast shape {list(broadcast)}")
    if isinstance(src, _dispatch.Tensor):
        check_no_overlap(self._data, values)
    _dispatch.write_into(self, values)
    return self


INPLACE.update(zero_=zero_, fill_=fill_, copy_=copy_)
