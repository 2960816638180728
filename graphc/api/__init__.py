"""The torch-facing functions, by family, built on the primitives of graphc.ir.primitives.

Each family module lists its public functions in `__all__`; they become graphc.<name> and, unless
named in the module's `NOT_METHODS`, Tensor methods too (methods take the tensor as their first
argument). A module may add `EXTRA_METHODS` (name -> function or property) for methods that have
no same-named function (in-place forms such as `masked_fill_`). Every one accepts numpy's
`axis=`/`keepdims=` where it has torch's `dim`/`keepdim` (see numpy_keywords).
"""
from ..ir import primitives as _primitives  # noqa: F401  (declares every op first)
from . import creation, elementwise, shape, operators
from . import reductions, sorting, indexing, linalg, random_ops
from . import contraction, arrangement, grids, binning
from .numpy_keywords import accept_numpy_keywords

FUNCTIONS = {}
METHODS = {}

FUNCTIONS.update(elementwise.PUBLIC)
METHODS.update(elementwise.PUBLIC)
METHODS.update(elementwise.INPLACE)
METHODS["where"] = lambda self, condition, other: elementwise.where(condition, self, other)

for _module in (creation, shape, reductions, sorting, indexing, linalg, random_ops,
                contraction, arrangement, grids, binning):
    _not_methods = set(getattr(_module, "NOT_METHODS", ()))
    for _name in _module.__all__:
        FUNCTIONS[_name] = getattr(_module, _name)
        if _name not in _not_methods:
            METHODS[_name] = FUNCTIONS[_name]
    METHODS.update(getattr(_module, "EXTRA_METHODS", {}))

FUNCTIONS = {_name: accept_numpy_keywords(_name, _f) for _name, _f in FUNCTIONS.items()}
METHODS = {_name: accept_numpy_keywords(_name, _f) for _name, _f in METHODS.items()}


def install_methods(tensor_class):
    operators.install(tensor_class)
    for name, function in METHODS.items():
        if name not in tensor_class.__dict__ or isinstance(function, property):
            setattr(tensor_class, name, function)
