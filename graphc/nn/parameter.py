"""Parameter: a Tensor that a Module registers as one of its parameters when assigned to it.

A Parameter is a graphc Tensor of the subclass Parameter, sharing the data of the tensor it was
made from; ops on it return plain Tensors, as in torch.
"""
from ..tensor import Tensor
from ..api.creation import empty

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """Parameter(data=None, requires_grad=True): a leaf that requires grad unless told not to."""

    __module__ = "graphc.nn.parameter"

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter.__new__ expected a Tensor as data, but got "
                            f"{type(data).__name__}")
        result = data.detach()
        result.__class__ = cls
        result.requires_grad_(requires_grad)
        return result

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = Parameter(self.detach().clone(), self.requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self.detach().clone(), self.requires_grad))


def _rebuild_parameter(data, requires_grad):
    return Parameter(data, requires_grad)


class Buffer(Tensor):
    """Buffer(data, persistent=True): assigned to a Module, it is registered as a buffer.

    As in torch, the module stores the plain tensor; the marker class only carries `persistent`.
    """

    __module__ = "graphc.nn.parameter"

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = empty(0)
        result = data.detach()
        result.__class__ = cls
        result.persistent = persistent
        return result

    def __init__(self, data=None, *, persistent=True):
        pass
