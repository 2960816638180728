"""The legacy Variable: since torch 0.4 a Variable is a Tensor; `volatile=True` stops tracking."""
import warnings

__all__ = ["Variable", "VOLATILE"]


class _Volatile:
    """The value of `_requires_grad` on volatile tensors: spreads to results, never recorded."""

    __slots__ = ()

    def __bool__(self):
        return True

    def __repr__(self):
        return "VOLATILE"


VOLATILE = _Volatile()


class _VariableMeta(type):
    def __instancecheck__(cls, instance):
        from ..tensor import Tensor
        return isinstance(instance, Tensor)

    def __call__(cls, data, requires_grad=False, volatile=False):
        from ..tensor import Tensor
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        result = data.detach()
        if volatile:
            warnings.warn("volatile is deprecated: prefer `with graphc.no_grad():`. graphc keeps its "
                          "old meaning: nothing computed from this tensor is tracked.",
                          UserWarning, stacklevel=2)
            result._requires_grad = VOLATILE
        elif requires_grad:
            result.requires_grad_(True)
        return result


class Variable(metaclass=_VariableMeta):
    """Variable(tensor, requires_grad=False, volatile=False) -> a Tensor sharing `tensor`'s data."""
