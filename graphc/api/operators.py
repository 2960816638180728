"""Python operators of Tensor (+, -, **, ~, ==, ...) in terms of the declared ops.

Operators call the executor directly (this is the hot path of user code), after the few checks
torch makes on operands (bool subtraction); `**` goes through graphc.pow, which checks negative
integer exponents.
"""
import numbers

from .. import dtypes as _dt
from .. import dispatch as _dispatch
from ..runtime import cpu as _cpu
from ..ir.registry import REGISTRY
from . import elementwise as _elementwise

_apply = _dispatch.apply
_apply_inplace = _dispatch.apply_inplace
_PYTHON_NUMBERS = (float, int, bool)


def _is_operand(value):
    return isinstance(value, _dispatch.Tensor) or value.__class__ in _PYTHON_NUMBERS or (
        isinstance(value, numbers.Number) and not isinstance(value, complex))


def _binary(op_name):
    op = REGISTRY[op_name]

    def forward(self, other):
        if not _is_operand(other):
            return NotImplemented
        return _apply(op, (self, other))

    def reflected(self, other):
        if not _is_operand(other):
            return NotImplemented
        return _apply(op, (other, self))

    def inplace(self, other):
        return _apply_inplace(op, self, (self, other))

    return forward, reflected, inplace


def _subtraction():
    """`-`: the executor directly, after torch's refusal of bool operands."""
    op = REGISTRY["sub"]
    bool_dtype = _dt.bool
    check = _elementwise.check_subtraction

    def forward(self, other):
        if isinstance(other, _dispatch.Tensor):
            if self._dtype is bool_dtype or other._dtype is bool_dtype:
                check(self, other)
        elif not _is_operand(other):
            return NotImplemented
        else:
            check(self, other)
        return _apply(op, (self, other))

    def reflected(self, other):
        if not _is_operand(other):
            return NotImplemented
        check(other, self)
        return _apply(op, (other, self))

    return forward, reflected, _elementwise.sub_


def _power():
    """`**`: the executor directly for tensor and float exponents; graphc.pow (which refuses
    negative integer exponents of integer tensors) otherwise."""
    op = REGISTRY["pow"]
    power = _elementwise.pow
    bool_dtype = _dt.bool

    def forward(self, other):
        kind = other.__class__
        if kind is float or isinstance(other, _dispatch.Tensor) or (
                kind is int and other >= 0 and self._dtype is not bool_dtype):
            return _apply(op, (self, other))
        if not _is_operand(other):
            return NotImplemented
        return power(self, other)

    def reflected(self, other):
        if not _is_operand(other):
            return NotImplemented
        return power(other, self)

    return forward, reflected, _elementwise.pow_


def _comparison(op_name):
    op = REGISTRY[op_name]

    def compare(self, other):
        if not _is_operand(other):
            if op_name == "eq":
                return False
            if op_name == "ne":
                return True
            return NotImplemented
        return _apply(op, (self, other))

    return compare


def _reflected_division():
    """number / tensor: torch computes reciprocal(tensor) * number, which rounds differently
    from a division (a last-bit difference on a quarter of float32 values) and records
    MulBackward0 over ReciprocalBackward0."""
    mul, reciprocal = REGISTRY["mul"], REGISTRY["reciprocal"]

    def reflected(self, other):
        if not _is_operand(other):
            return NotImplemented
        return _apply(mul, (_apply(reciprocal, (self,)), other))

    return reflected


def _invert(self):
    if self._dtype.category == 2:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return _apply(REGISTRY["bitwise_not"], (self,))


def _positive(self):
    if self._dtype is _dt.bool:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return self


def _shift(kernel):
    """`<<` / `>>`: torch has no kernel for floating or bool operands and says so; graphc has
    no integer shifts yet, so integer operands get Python's TypeError (NotImplemented)."""
    def refuse(*operands):
        if not all(_is_operand(o) for o in operands):
            return NotImplemented
        dtype = _cpu.operand_dtype(operands)
        if dtype.category == 2 or dtype is _dt.bool:
            raise NotImplementedError(f'"{kernel}_cpu" not implemented for '
                                      f"'{dtype.scalar_name}'")
        return NotImplemented

    return refuse, lambda self, other: refuse(other, self), refuse


def install(tensor_class):
    names = {"add": "add", "mul": "mul", "truediv": "div", "floordiv": "div_floor",
             "mod": "remainder", "and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor"}
    operators = {dunder: _binary(op_name) for dunder, op_name in names.items()}
    operators["sub"] = _subtraction()
    operators["pow"] = _power()
    operators["lshift"] = _shift("lshift")
    operators["rshift"] = _shift("rshift")
    for dunder, (forward, reflected, inplace) in operators.items():
        setattr(tensor_class, f"__{dunder}__", forward)
        setattr(tensor_class, f"__r{dunder}__", reflected)
        setattr(tensor_class, f"__i{dunder}__", inplace)
    tensor_class.__rtruediv__ = _reflected_division()
    for dunder, op_name in {"eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt",
                            "ge": "ge"}.items():
        setattr(tensor_class, f"__{dunder}__", _comparison(op_name))
    neg, absolute = REGISTRY["neg"], REGISTRY["abs"]
    tensor_class.__neg__ = lambda self: _apply(neg, (self,))
    tensor_class.__pos__ = _positive
    tensor_class.__abs__ = lambda self: _apply(absolute, (self,))
    tensor_class.__invert__ = _invert
