"""The declared ops, by family, and the public functions derived from them.

`FUNCTIONS` maps each public name (graphc.<name>) to its function; `METHODS` maps each Tensor
method name to the function that implements it (the same function: methods take the tensor as
their first argument).
"""
from . import creation, elementwise, shape, operators

FUNCTIONS = {}
METHODS = {}


def _collect(module, names, as_methods=True):
    for name in names:
        function = getattr(module, name)
        FUNCTIONS[name] = function
        if as_methods:
            METHODS[name] = function


FUNCTIONS.update(elementwise.PUBLIC)
METHODS.update(elementwise.PUBLIC)
METHODS.update(elementwise.INPLACE)
METHODS["where"] = lambda self, condition, other: elementwise.where(condition, self, other)
_collect(creation, creation.__all__, as_methods=False)
_collect(shape, [n for n in shape.__all__ if n not in ("infer_size", "wrap_dim")])
for _name in ("cat", "stack", "hstack", "vstack", "concat", "concatenate"):
    METHODS.pop(_name)
METHODS["resize_as_"] = shape.resize_as_
METHODS["diagonal"] = FUNCTIONS["diagonal"] = shape.diagonal
METHODS["moveaxis"] = METHODS["movedim"]
METHODS["view"] = shape.view
METHODS["T"] = property(shape.t)
METHODS["mT"] = property(lambda self: shape.transpose(self, -2, -1))


def install_methods(tensor_class):
    operators.install(tensor_class)
    for name, function in METHODS.items():
        if name not in tensor_class.__dict__ or name in ("T", "mT"):
            setattr(tensor_class, name, function)
