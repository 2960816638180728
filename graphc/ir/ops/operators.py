"""Python operators of Tensor (+, -, @, [], ...) in terms of the declared ops."""
from ...runtime import cpu as _cpu
from ..registry import REGISTRY

_apply = _cpu.apply
_apply_inplace = _cpu.apply_inplace
_number_types = (bool, int, float)


def _binary(op_name):
    op = REGISTRY[op_name]

    def forward(self, other):
        if not isinstance(other, (_cpu.Tensor, bool, int, float)) and not _is_number(other):
            return NotImplemented
        return _apply(op, (self, other))

    def reflected(self, other):
        if not isinstance(other, (_cpu.Tensor, bool, int, float)) and not _is_number(other):
            return NotImplemented
        return _apply(op, (other, self))

    def inplace(self, other):
        return _apply_inplace(op, self, (self, other))

    return forward, reflected, inplace


def _is_number(value):
    import numbers
    return isinstance(value, numbers.Number)


def _comparison(op_name):
    op = REGISTRY[op_name]

    def compare(self, other):
        if other is None or not (isinstance(other, _cpu.Tensor) or _is_number(other)):
            if op_name == "eq":
                return False
            if op_name == "ne":
                return True
            return NotImplemented
        return _apply(op, (self, other))

    return compare


def install(tensor_class):
    names = {"add": "add", "sub": "sub", "mul": "mul", "truediv": "div", "floordiv": "div_floor",
             "mod": "remainder", "pow": "pow", "and": "bitwise_and", "or": "bitwise_or",
             "xor": "bitwise_xor"}
    for dunder, op_name in names.items():
        forward, reflected, inplace = _binary(op_name)
        setattr(tensor_class, f"__{dunder}__", forward)
        setattr(tensor_class, f"__r{dunder}__", reflected)
        setattr(tensor_class, f"__i{dunder}__", inplace)
    for dunder, op_name in {"eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt",
                            "ge": "ge"}.items():
        setattr(tensor_class, f"__{dunder}__", _comparison(op_name))
    neg, absolute, invert = REGISTRY["neg"], REGISTRY["abs"], REGISTRY["bitwise_not"]
    tensor_class.__neg__ = lambda self: _apply(neg, (self,))
    tensor_class.__pos__ = lambda self: self
    tensor_class.__abs__ = lambda self: _apply(absolute, (self,))
    tensor_class.__invert__ = lambda self: _apply(invert, (self,))
