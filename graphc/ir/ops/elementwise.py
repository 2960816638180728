"""Elementwise primitives, each declared once by its formula over a math namespace `m`.

The same formula is evaluated by numpy in eager mode and by sympy for gradients and C printing,
so a unary op is one line here. The public functions (graphc.exp, Tensor.exp, Tensor.exp_) are
derived from the declarations at the bottom of the file.
"""
import numpy as np

from ... import dtypes as _dt
from ...runtime import cpu as _cpu
from ..registry import (COMPARE, FLOAT_ONLY, INT_TO_FLOAT, INTEGRAL, LOGICAL, PROMOTE, Op,
                        declare, elementwise)

PUBLIC = {}   # name -> function(input, ...)   (also installed as Tensor methods)
INPLACE = {}  # name_ -> method(self, ...)

# ------------------------------------------------------------------ unary, float results

for _name, _formula in {
    "exp": lambda m, x: m.exp(x),
    "expm1": lambda m, x: m.expm1(x),
    "log": lambda m, x: m.log(x),
    "log1p": lambda m, x: m.log1p(x),
    "log2": lambda m, x: m.log2(x),
    "log10": lambda m, x: m.log10(x),
    "sqrt": lambda m, x: m.sqrt(x),
    "rsqrt": lambda m, x: 1 / m.sqrt(x),
    "sin": lambda m, x: m.sin(x),
    "cos": lambda m, x: m.cos(x),
    "tan": lambda m, x: m.tan(x),
    "asin": lambda m, x: m.asin(x),
    "acos": lambda m, x: m.acos(x),
    "atan": lambda m, x: m.atan(x),
    "sinh": lambda m, x: m.sinh(x),
    "cosh": lambda m, x: m.cosh(x),
    "tanh": lambda m, x: m.tanh(x),
    "sigmoid": lambda m, x: 1 / (1 + m.exp(-x)),
    "reciprocal": lambda m, x: 1 / x,
}.items():
    elementwise(_name, _formula, INT_TO_FLOAT)

# ------------------------------------------------------------------ unary, same dtype

elementwise("neg", lambda m, x: -x, PROMOTE, no_bool=True)
elementwise("abs", lambda m, x: m.abs(x), PROMOTE)
elementwise("sign", lambda m, x: m.sign(x), PROMOTE)
elementwise("square", lambda m, x: x * x, PROMOTE)
elementwise("floor", lambda m, x: m.floor(x), PROMOTE)
elementwise("ceil", lambda m, x: m.ceil(x), PROMOTE)
elementwise("trunc", lambda m, x: m.trunc(x), PROMOTE)
elementwise("round", lambda m, x, decimals: m.round(x, decimals), PROMOTE, attrs=("decimals",))
elementwise("frac", lambda m, x: x - m.trunc(x), FLOAT_ONLY)
elementwise("logical_not", lambda m, x: m.logical_not(x), LOGICAL)
elementwise("bitwise_not", lambda m, x: m.bitwise_not(x), INTEGRAL)
elementwise("isnan", lambda m, x: m.isnan(x), COMPARE)
elementwise("isinf", lambda m, x: m.isinf(x), COMPARE)
elementwise("isfinite", lambda m, x: m.isfinite(x), COMPARE)

# ------------------------------------------------------------------ binary

elementwise("add", lambda m, x, y: x + y, PROMOTE)
elementwise("sub", lambda m, x, y: x - y, PROMOTE, no_bool=True)
elementwise("mul", lambda m, x, y: x * y, PROMOTE)
elementwise("div", lambda m, x, y: x / y, INT_TO_FLOAT)
elementwise("div_floor", lambda m, x, y: m.floor_divide(x, y), PROMOTE, torch_name="floor_divide")
elementwise("div_trunc", lambda m, x, y: m.trunc_divide(x, y), PROMOTE, torch_name="div_trunc")
elementwise("remainder", lambda m, x, y: m.remainder(x, y), PROMOTE)
elementwise("fmod", lambda m, x, y: m.fmod(x, y), PROMOTE)
elementwise("pow", lambda m, x, y: m.pow(x, y), PROMOTE)
elementwise("atan2", lambda m, x, y: m.atan2(x, y), INT_TO_FLOAT)
elementwise("maximum", lambda m, x, y: m.maximum(x, y), PROMOTE)
elementwise("minimum", lambda m, x, y: m.minimum(x, y), PROMOTE)
elementwise("eq", lambda m, x, y: x == y, COMPARE)
elementwise("ne", lambda m, x, y: x != y, COMPARE)
elementwise("lt", lambda m, x, y: x < y, COMPARE)
elementwise("le", lambda m, x, y: x <= y, COMPARE)
elementwise("gt", lambda m, x, y: x > y, COMPARE)
elementwise("ge", lambda m, x, y: x >= y, COMPARE)
elementwise("logical_and", lambda m, x, y: m.logical_and(x, y), LOGICAL)
elementwise("logical_or", lambda m, x, y: m.logical_or(x, y), LOGICAL)
elementwise("logical_xor", lambda m, x, y: m.logical_xor(x, y), LOGICAL)
elementwise("bitwise_and", lambda m, x, y: m.bitwise_and(x, y), INTEGRAL)
elementwise("bitwise_or", lambda m, x, y: m.bitwise_or(x, y), INTEGRAL)
elementwise("bitwise_xor", lambda m, x, y: m.bitwise_xor(x, y), INTEGRAL)

# ------------------------------------------------------------------ ternary

elementwise("where", lambda m, c, x, y: m.where(c, x, y), PROMOTE, arity=3)
elementwise("lerp", lambda m, x, y, w: x + w * (y - x), FLOAT_ONLY)
elementwise("clamp", lambda m, x, low, high: m.minimum(m.maximum(x, low), high), PROMOTE)
elementwise("clamp_min", lambda m, x, low: m.maximum(x, low), PROMOTE)
elementwise("clamp_max", lambda m, x, high: m.minimum(x, high), PROMOTE)


# ------------------------------------------------------------------ dtype conversion


def _cast_run(args, attrs):
    (x,) = args
    dtype = attrs["dtype"]
    return x._data.astype(dtype.np), dtype


_cast_op = declare(Op("cast", "elementwise", arity=1, formula=lambda m, x, dtype: m.cast(x, dtype),
                      dtype_rule="cast", attrs=("dtype",)))
_cast_op.run = _cast_run


# ------------------------------------------------------------------ the public functions

_apply = _cpu.apply
_apply_inplace = _cpu.apply_inplace
_REGISTRY_OPS = {}


def _op(name):
    from ..registry import REGISTRY
    return REGISTRY[name]


def check_tensor(function_name, value, argument="input", position=1):
    if not isinstance(value, _cpu.Tensor):
        raise TypeError(f"{function_name}(): argument '{argument}' (position {position}) must be "
                        f"Tensor, not {type(value).__name__}")


def write_out(result, out):
    """The `out=` convention: resize `out` to the result and copy into it."""
    if out is None:
        return result
    if out._data.shape != result._data.shape:
        out.resize_(result.shape)
    if not _dt.can_cast(result._dtype, out._dtype):
        raise RuntimeError(f"result type {result._dtype.scalar_name} can't be cast to the desired "
                           f"output type {out._dtype.scalar_name}")
    out._data[...] = result._data
    out._bump_version()
    return out


def _register(name, function, inplace=None):
    function.__name__ = name
    PUBLIC[name] = function
    if inplace is not None:
        inplace.__name__ = name + "_"
        INPLACE[name + "_"] = inplace


def _make_unary(public_name, op_name=None):
    op = _op(op_name or public_name)

    def function(input, *, out=None):
        if not isinstance(input, _cpu.Tensor):
            check_tensor(public_name, input)
        result = _apply(op, (input,))
        return result if out is None else write_out(result, out)

    def inplace(self):
        return _apply_inplace(op, self, (self,))

    _register(public_name, function, inplace)


for _name in ("exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "sin", "cos",
              "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "reciprocal",
              "neg", "abs", "sign", "square", "floor", "ceil", "trunc", "frac", "logical_not",
              "bitwise_not"):
    _make_unary(_name)
for _alias, _name in (("arcsin", "asin"), ("arccos", "acos"), ("arctan", "atan"),
                      ("negative", "neg"), ("absolute", "abs"), ("fix", "trunc")):
    _make_unary(_alias, _name)
for _name in ("isnan", "isinf", "isfinite"):
    _op_ = _op(_name)
    _register(_name, (lambda op: lambda input: _apply(op, (input,)))(_op_))


def _make_binary(public_name, op_name=None, reflected_name=None):
    op = _op(op_name or public_name)

    def function(input, other, *, out=None):
        if not isinstance(input, _cpu.Tensor):
            check_tensor(public_name, input)
        result = _apply(op, (input, other))
        return result if out is None else write_out(result, out)

    def inplace(self, other):
        return _apply_inplace(op, self, (self, other))

    _register(public_name, function, inplace)


for _name in ("remainder", "fmod", "atan2", "maximum", "minimum", "eq", "ne", "lt", "le", "gt",
              "ge", "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or",
              "bitwise_xor"):
    _make_binary(_name)
for _alias, _name in (("greater", "gt"), ("greater_equal", "ge"), ("less", "lt"),
                      ("less_equal", "le"), ("not_equal", "ne"), ("arctan2", "atan2"),
                      ("floor_divide", "div_floor")):
    _make_binary(_alias, _name)

_add, _sub, _mul = _op("add"), _op("sub"), _op("mul")
_div, _div_floor, _div_trunc = _op("div"), _op("div_floor"), _op("div_trunc")
_pow = _op("pow")


def _scaled(other, alpha):
    return other if alpha == 1 else _apply(_mul, (other, alpha)) if isinstance(other, _cpu.Tensor) else other * alpha


def add(input, other, *, alpha=1, out=None):
    if not isinstance(input, _cpu.Tensor):
        check_tensor("add", input)
    result = _apply(_add, (input, _scaled(other, alpha)))
    return result if out is None else write_out(result, out)


def add_(self, other, *, alpha=1):
    return _apply_inplace(_add, self, (self, _scaled(other, alpha)))


def sub(input, other, *, alpha=1, out=None):
    if not isinstance(input, _cpu.Tensor):
        check_tensor("sub", input)
    result = _apply(_sub, (input, _scaled(other, alpha)))
    return result if out is None else write_out(result, out)


def sub_(self, other, *, alpha=1):
    return _apply_inplace(_sub, self, (self, _scaled(other, alpha)))


def mul(input, other, *, out=None):
    if not isinstance(input, _cpu.Tensor):
        check_tensor("mul", input)
    result = _apply(_mul, (input, other))
    return result if out is None else write_out(result, out)


def mul_(self, other):
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
    if not isinstance(input, _cpu.Tensor):
        check_tensor("div", input)
    result = _apply(_division_op(rounding_mode), (input, other))
    return result if out is None else write_out(result, out)


def div_(self, other, *, rounding_mode=None):
    return _apply_inplace(_division_op(rounding_mode), self, (self, other))


def pow(input, exponent, *, out=None):
    if not isinstance(input, _cpu.Tensor):
        if isinstance(exponent, _cpu.Tensor):  # torch.pow(2, t)
            return _apply(_pow, (input, exponent))
        check_tensor("pow", input)
    result = _apply(_pow, (input, exponent))
    return result if out is None else write_out(result, out)


def pow_(self, exponent):
    return _apply_inplace(_pow, self, (self, exponent))


for _function, _inplace in ((add, add_), (sub, sub_), (mul, mul_), (div, div_), (pow, pow_)):
    _register(_function.__name__, _function, _inplace)
for _alias, _function, _inplace in (("subtract", sub, sub_), ("multiply", mul, mul_),
                                    ("divide", div, div_), ("true_divide", div, div_)):
    _register(_alias, _function, _inplace)


def round(input, *, decimals=0, out=None):
    result = _apply(_op("round"), (input,), {"decimals": decimals})
    return result if out is None else write_out(result, out)


def round_(self, *, decimals=0):
    return _apply_inplace(_op("round"), self, (self,), {"decimals": decimals})


_register("round", round, round_)


def clamp(input, min=None, max=None, *, out=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if max is None:
        op, args = _op("clamp_min"), (input, min)
    elif min is None:
        op, args = _op("clamp_max"), (input, max)
    else:
        op, args = _op("clamp"), (input, min, max)
    result = _apply(op, args)
    return result if out is None else write_out(result, out)


def clamp_(self, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if max is None:
        return _apply_inplace(_op("clamp_min"), self, (self, min))
    if min is None:
        return _apply_inplace(_op("clamp_max"), self, (self, max))
    return _apply_inplace(_op("clamp"), self, (self, min, max))


_register("clamp", clamp, clamp_)
_register("clip", clamp, clamp_)


def clamp_min(input, min):
    return _apply(_op("clamp_min"), (input, min))


def clamp_max(input, max):
    return _apply(_op("clamp_max"), (input, max))


_register("clamp_min", clamp_min, lambda self, min: _apply_inplace(_op("clamp_min"), self, (self, min)))
_register("clamp_max", clamp_max, lambda self, max: _apply_inplace(_op("clamp_max"), self, (self, max)))


def lerp(input, end, weight, *, out=None):
    result = _apply(_op("lerp"), (input, end, weight))
    return result if out is None else write_out(result, out)


_register("lerp", lerp, lambda self, end, weight: _apply_inplace(_op("lerp"), self, (self, end, weight)))


def where(condition, input=None, other=None):
    if input is None and other is None:
        from .indexing import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, _cpu.Tensor) or condition._dtype is not _dt.bool:
        raise RuntimeError("where expected condition to be a boolean tensor, but got a tensor with "
                           f"dtype {getattr(getattr(condition, 'dtype', None), 'scalar_name', type(condition).__name__)}")
    # the condition does not take part in type promotion
    result_dtype = _cpu.operand_dtype([a for a in (input, other)])
    values = [a.to(result_dtype) if isinstance(a, _cpu.Tensor) else a for a in (input, other)]
    if not any(isinstance(v, _cpu.Tensor) for v in values):
        from .creation import full
        values[0] = full((), values[0], dtype=result_dtype)
    return _apply(_op("where"), (condition, values[0], values[1]))


_register("where", where)


def cast(input, dtype):
    """`input.to(dtype)` as an op (a copy in the new dtype)."""
    return _apply(_cast_op, (input,), {"dtype": dtype})


def zero_(self):
    self._data[...] = 0
    self._bump_version()
    return self


def fill_(self, value):
    if isinstance(value, _cpu.Tensor):
        if value.dim() != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.dim()} dimensions.")
        value = value.item()
    if not self._data.flags.writeable:
        _cpu.write_into(self, np.asarray(value))
    self._data[...] = value
    self._bump_version()
    return self


def copy_(self, src, non_blocking=False):
    """Copy `src` (broadcast to self's shape, any dtype) into self."""
    values = src._data if isinstance(src, _cpu.Tensor) else np.asarray(src)
    if values.shape != self._data.shape:
        try:
            values = np.broadcast_to(values, self._data.shape)
        except ValueError:
            raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the "
                               f"broadcast shape {list(values.shape)}") from None
    _cpu.write_into(self, values)
    return self


INPLACE.update(zero_=zero_, fill_=fill_, copy_=copy_)
