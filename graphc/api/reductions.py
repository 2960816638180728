"""Reductions and scans: sum, mean, prod, max/min, argmax, all/any, median, mode, norm, std/var,
logsumexp, cumsum/cumprod, ... with torch's `dim`/`keepdim`/`dtype` arguments, result dtypes
and errors.

The primitives are declared in graphc.ir.primitives.reductions; norm, dist, std/var, logsumexp,
nansum/nanmean are composites of primitives (so they get gradients and compilation for free).
Ops with a values and an indices output (max(dim), median(dim), mode, and sort/topk/kthvalue in
sorting.py) compute the indices with a non-differentiable primitive and the values with
`value_select`, a gather along one dim, so one gradient rule serves them all.

This module also holds `return_types`, torch's named result tuples (torch.return_types.max, ...).
"""
import builtins as _builtins
import operator as _operator
import sys as _sys
import types as _types
import warnings as _warnings

import numpy as np

from .. import dtypes as _dt
from .. import dispatch as _dispatch
from ..autograd.node import rename_node as _rename_node
from ..ir.registry import REGISTRY, defvjp
from .elementwise import PUBLIC as _ELEMENTWISE, write_out as _write_out
from .shape import reshape as _reshape, wrap_dim as _wrap_dim
from ..ir.primitives.fused import _LOG_SOFTMAX, FUSED_DTYPES as _FUSED_DTYPES
from ..ir.primitives.shape import _expand_eager
from ..ir.primitives.reductions import (_all, _amax, _amin, _any, _argmax, _argmin,
                                        _count_nonzero, _cumprod, _cumsum, _mean, _median_all,
                                        _median_indices, _mode_indices, _prod, _reduced_count,
                                        _sum, value_select)

__all__ = ["sum", "mean", "prod", "max", "min", "amax", "amin", "aminmax", "argmax", "argmin",
           "all", "any", "count_nonzero", "cumsum", "cumprod", "median", "nanmedian", "mode",
           "norm", "dist", "std", "var", "std_mean", "var_mean", "logsumexp", "softmax",
           "log_softmax", "nansum",
           "nanmean", "return_types"]
NOT_METHODS = ["std_mean", "var_mean", "return_types"]

_apply = _dispatch.apply


def _is_tensor(value):
    return isinstance(value, _dispatch.Tensor)


class _ReturnType(tuple):
    """Base of torch's named result tuples: a tuple whose fields are also attributes and whose
    repr is `torch.return_types.max(\\nvalues=...,\\nindices=...)`."""

    __slots__ = ()
    _fields = ()
    n_fields = n_sequence_fields = 0
    n_unnamed_fields = 0

    def __new__(cls, sequence):
        values = tuple(sequence)
        if len(values) != len(cls._fields):
            raise TypeError(f"torch.return_types.{cls.__name__}() takes a {len(cls._fields)}-"
                            f"sequence ({len(values)}-sequence given)")
        return tuple.__new__(cls, values)

    def __repr__(self):
        fields = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
        return f"torch.return_types.{type(self).__name__}(\n{fields})"

    __str__ = __repr__

    def __reduce__(self):
        return (type(self), (tuple(self),))


def _return_type(name, fields):
    namespace = {"__slots__": (), "_fields": fields, "n_fields": len(fields),
                 "n_sequence_fields": len(fields), "__module__": "graphc.return_types",
                 "__qualname__": name}
    for position, field in enumerate(fields):
        namespace[field] = property(_operator.itemgetter(position),
                                    doc=f"Alias for field number {position}")
    return type(name, (_ReturnType,), namespace)


return_types = _types.ModuleType("graphc.return_types",
                                 "torch.return_types: the named tuples some ops return.")
for _name, _fields in (("max", ("values", "indices")), ("min", ("values", "indices")),
                       ("median", ("values", "indices")), ("nanmedian", ("values", "indices")),
                       ("mode", ("values", "indices")), ("kthvalue", ("values", "indices")),
                       ("sort", ("values", "indices")), ("topk", ("values", "indices")),
                       ("aminmax", ("min", "max"))):
    setattr(return_types, _name, _return_type(_name, _fields))
_sys.modules.setdefault("graphc.return_types", return_types)  # so pickle finds the classes


def named_result(kind, values, indices):
    """`return_types.<kind>((values, indices))` without the length check (the hot path)."""
    return tuple.__new__(getattr(return_types, kind), (values, indices))


def reduction_dims(dim, ndim, name="sum"):
    """torch's `dim` argument (None, an int, or a tuple/list of ints) as numpy's axis: a tuple of
    normalised dims, or None for all of them (also for an empty tuple, and on 0-d tensors)."""
    if dim is None:
        return None
    if type(dim) is int:
        if 0 <= dim < ndim:
            return (dim,)
        dim = _wrap_dim(dim, ndim)
        return (dim,) if ndim else None
    if isinstance(dim, (tuple, list)):
        if not dim:
            return None
        axes = tuple(_wrap_dim(d, ndim) for d in dim)
        if len(set(axes)) != len(axes):
            repeated = next(a for i, a in enumerate(axes) if a in axes[:i])
            raise RuntimeError(f"dim {repeated} appears multiple times in the list of dims")
        return axes if ndim else None
    if isinstance(dim, np.integer):
        return reduction_dims(int(dim), ndim, name)
    raise TypeError(f"{name}(): argument 'dim' must be tuple of ints, not {type(dim).__name__}")


def single_dim(dim, ndim, name):
    """A dim argument that must be one int (max(dim), cumsum, sort, ...), normalised."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}(): argument 'dim' must be int, not {type(dim).__name__}")
    return _wrap_dim(dim, ndim)


def check_keepdim(keepdim, name):
    if keepdim is not True and keepdim is not False:
        raise TypeError(f"{name}(): argument 'keepdim' must be bool, not {type(keepdim).__name__}")


def _sum_dtype(dtype):
    """sum, prod, cumsum without dtype=: bool and integer inputs accumulate in int64."""
    return _dt.int64 if dtype.category < 2 else dtype


def _check_nonempty(name, input, dims, *, shown_dims=None):
    """Reductions without an identity (max, argmax, ...) refuse to reduce an empty dim."""
    shape = input._data.shape
    if dims is None:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() "
                           "== 0. Specify the reduction dim with the 'dim' argument.")
    for position, axis in enumerate(dims):
        if shape[axis] == 0:
            shown = axis if shown_dims is None else shown_dims[position]
            raise IndexError(f"{name}(): Expected reduction dim {shown} to have non-zero size.")


# elementwise ops the composites are written with
_sub, _mul, _div, _add = REGISTRY["sub"], REGISTRY["mul"], REGISTRY["div"], REGISTRY["add"]
_abs, _sqrt, _exp, _log = REGISTRY["abs"], REGISTRY["sqrt"], REGISTRY["exp"], REGISTRY["log"]
_pow, _ne, _isnan, _isinf = REGISTRY["pow"], REGISTRY["ne"], REGISTRY["isnan"], REGISTRY["isinf"]


def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    if dtype is None:
        dtype = _dt.int64 if input._dtype.category < 2 else input._dtype
    else:
        dtype = _dt.to_dtype(dtype)
    attrs = {"dim": reduction_dims(dim, input._data.ndim), "keepdim": keepdim, "dtype": dtype}
    if keepdim is not False:
        check_keepdim(keepdim, "sum")
    result = _apply(_sum, (input,), attrs)
    return result if out is None else _write_out(result, out)


def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    check_keepdim(keepdim, "mean")
    if dtype is None:
        dtype = input._dtype
        if dtype.category < 2:
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either "
                               f"a floating point or complex dtype. Got: {dtype.scalar_name}")
    else:
        dtype = _dt.to_dtype(dtype)
        if dtype.category < 2:
            raise RuntimeError("mean(): could not infer output dtype. Optional dtype must be "
                               "either a floating point or complex dtype. Got: "
                               + dtype.scalar_name)
    attrs = {"dim": reduction_dims(dim, input._data.ndim, "mean"), "keepdim": keepdim,
             "dtype": dtype}
    result = _apply(_mean, (input,), attrs)
    return result if out is None else _write_out(result, out)


def prod(input, dim=None, keepdim=False, *, dtype=None, out=None):
    check_keepdim(keepdim, "prod")
    ndim = input._data.ndim
    dims = None if dim is None else (single_dim(dim, ndim, "prod"),) if ndim else None
    dtype = _sum_dtype(input._dtype) if dtype is None else _dt.to_dtype(dtype)
    result = _apply(_prod, (input,), {"dim": dims, "keepdim": keepdim, "dtype": dtype})
    return result if out is None else _write_out(result, out)


def nansum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """sum with NaNs counted as zero."""
    if input._dtype.category == 2:
        input = _ELEMENTWISE["where"](_apply(_isnan, (input,)), 0.0, input)
    return sum(input, dim, keepdim, dtype=dtype, out=out)


def nanmean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """mean of the values that are not NaN."""
    if input._dtype.category < 2:
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype "
                           f"but got {input._dtype.scalar_name}")
    present = _ELEMENTWISE["logical_not"](_apply(_isnan, (input,)))
    count = sum(present, dim, keepdim)
    result = _apply(_div, (nansum(input, dim, keepdim, dtype=dtype), count))
    if dtype is not None or result._dtype is not input._dtype:
        result = result.to(input._dtype if dtype is None else _dt.to_dtype(dtype))
    return result if out is None else _write_out(result, out)


def _full_extreme(input, name, op):
    if input._data.size == 0:
        _check_nonempty(name, input, None)
    result = _apply(op, (input,), {"dim": None, "keepdim": False})
    return _rename_node(result, name.capitalize() + "Backward1")  # torch: MaxBackward1


def _extreme_along(input, dim, keepdim, name, index_op):
    """max/min(input, dim): torch.return_types.<name>(values, indices)."""
    check_keepdim(keepdim, name)
    if input._data.ndim == 0:
        _wrap_dim(dim, 0)
        input, keepdim = _reshape(input, 1), False
    dim = single_dim(dim, input._data.ndim, name)
    if input._data.shape[dim] == 0:
        _check_nonempty(name, input, (dim,))
    attrs = {"dim": dim, "keepdim": keepdim}
    indices = _apply(index_op, (input,), attrs)
    values = _rename_node(_apply(value_select, (input, indices), attrs),
                          name.capitalize() + "Backward0")  # torch: MaxBackward0
    return named_result(name, values, indices)


def _extreme(name, reduce_op, index_op, elementwise_name):
    def extreme(input, dim=None, keepdim=False, *, other=None, out=None):
        if _is_tensor(dim):
            dim, other = None, dim
        if other is not None:
            result = _ELEMENTWISE[elementwise_name](input, other)
        elif dim is None:
            result = _full_extreme(input, name, reduce_op)
        else:
            result = _extreme_along(input, dim, keepdim, name, index_op)
            if out is not None:
                for target, value in zip(out, result):
                    _write_out(value, target)
                return named_result(name, *out)
            return result
        return result if out is None else _write_out(result, out)

    extreme.__name__ = extreme.__qualname__ = name
    extreme.__doc__ = (f"{name}(input) -> the {name}imum element; {name}(input, dim, keepdim) -> "
                       f"torch.return_types.{name}(values, indices); {name}(input, other) -> "
                       f"{elementwise_name}(input, other).")
    return extreme


max = _extreme("max", _amax, _argmax, "maximum")
min = _extreme("min", _amin, _argmin, "minimum")


def _extreme_value(name, op):
    def reduce(input, dim=(), keepdim=False, *, out=None):
        check_keepdim(keepdim, name)
        dims = reduction_dims(dim, input._data.ndim, name)
        if input._data.size == 0:
            shown = dim if isinstance(dim, (tuple, list)) else (dim,)
            _check_nonempty(name, input, dims, shown_dims=shown)
        result = _apply(op, (input,), {"dim": dims, "keepdim": keepdim})
        return result if out is None else _write_out(result, out)

    reduce.__name__ = reduce.__qualname__ = name
    reduce.__doc__ = f"{name}imum over `dim` (an int or a tuple of ints; all dims by default)."
    return reduce


amax = _extreme_value("amax", _amax)
amin = _extreme_value("amin", _amin)


def aminmax(input, *, dim=None, keepdim=False):
    check_keepdim(keepdim, "aminmax")
    if dim is not None:
        dim = single_dim(dim, input._data.ndim, "aminmax")
    dims = None if dim is None or input._data.ndim == 0 else (dim,)
    if input._data.size == 0 and (dims is None or input._data.shape[dim] == 0):
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                           "operation has no identity.")
    attrs = {"dim": dims, "keepdim": keepdim}
    return tuple.__new__(return_types.aminmax,
                         (_apply(_amin, (input,), attrs), _apply(_amax, (input,), attrs)))


def _arg_extreme(name, op):
    def reduce(input, dim=None, keepdim=False, *, out=None):
        check_keepdim(keepdim, name)
        if input._dtype is _dt.bool:
            raise RuntimeError(f"{name}(): does not support bool input")
        ndim = input._data.ndim
        if dim is not None:
            dim = single_dim(dim, ndim, name)
            if ndim == 0:
                dim = None
        if input._data.size == 0:
            if dim is None:
                raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                                 "input.numel() == 0.")
            _check_nonempty(name, input, (dim,))
        result = _apply(op, (input,), {"dim": dim, "keepdim": keepdim})
        return result if out is None else _write_out(result, out)

    reduce.__name__ = reduce.__qualname__ = name
    reduce.__doc__ = (f"Index of the {name[3:]}imum along `dim` (first one on ties; NaN counts as "
                      f"the {name[3:]}imum); with dim=None, the index into the flattened tensor.")
    return reduce


argmax = _arg_extreme("argmax", _argmax)
argmin = _arg_extreme("argmin", _argmin)


def all(input, dim=None, keepdim=False, *, out=None):
    check_keepdim(keepdim, "all")
    attrs = {"dim": reduction_dims(dim, input._data.ndim, "all"), "keepdim": keepdim}
    result = _apply(_all, (input,), attrs)
    return result if out is None else _write_out(result, out)


def any(input, dim=None, keepdim=False, *, out=None):
    check_keepdim(keepdim, "any")
    attrs = {"dim": reduction_dims(dim, input._data.ndim, "any"), "keepdim": keepdim}
    result = _apply(_any, (input,), attrs)
    return result if out is None else _write_out(result, out)


def count_nonzero(input, dim=None):
    dims = reduction_dims(dim, input._data.ndim, "count_nonzero")
    return _apply(_count_nonzero, (input,), {"dim": dims})


def _scan_public(name, op):
    def scan(input, dim, *, dtype=None, out=None):
        dim = single_dim(dim, input._data.ndim, name)
        dtype = _sum_dtype(input._dtype) if dtype is None else _dt.to_dtype(dtype)
        result = _apply(op, (input,), {"dim": dim, "dtype": dtype})
        return result if out is None else _write_out(result, out)

    scan.__name__ = scan.__qualname__ = name
    return scan


cumsum = _scan_public("cumsum", _cumsum)
cumprod = _scan_public("cumprod", _cumprod)


def _scan_inplace(scan):
    def scan_(self, dim, *, dtype=None):
        _dispatch.write_into(self, scan(self, dim, dtype=dtype)._data)
        return self

    scan_.__name__ = scan.__name__ + "_"
    return scan_


def _along_dim_by_index(name, input, dim, keepdim, index_op, attrs):
    """values and indices of an op that selects one element along `dim` (median, mode)."""
    check_keepdim(keepdim, name)
    if input._data.ndim == 0:
        _wrap_dim(dim, 0)
        input, keepdim = _reshape(input, 1), False
    dim = single_dim(dim, input._data.ndim, name)
    if input._data.shape[dim] == 0:
        _check_nonempty(name, input, (dim,))
    indices = _apply(index_op, (input,), dict(attrs, dim=dim, keepdim=keepdim))
    values = _apply(value_select, (input, indices), {"dim": dim, "keepdim": keepdim})
    return named_result(name, values, indices)


def _refuse_bool(input, kernel):
    if input._dtype is _dt.bool:
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


def median(input, dim=None, keepdim=False):
    """Lower median: of all elements (a 0-d tensor), or along `dim`
    (torch.return_types.median(values, indices)). NaN propagates."""
    return _median("median", input, dim, keepdim, ignore_nan=False)


def nanmedian(input, dim=None, keepdim=False):
    """median that ignores NaNs (NaN only when everything is NaN)."""
    return _median("nanmedian", input, dim, keepdim, ignore_nan=True)


def _median(name, input, dim, keepdim, ignore_nan):
    if dim is None:
        if keepdim:
            raise TypeError(f'{name}() missing 1 required positional arguments: "dim"')
        _refuse_bool(input, "median_cpu")
        return _apply(_median_all, (input,), {"ignore_nan": ignore_nan})
    _refuse_bool(input, f"{name}_out")
    return _along_dim_by_index(name, input, dim, keepdim, _median_indices,
                               {"ignore_nan": ignore_nan})


def mode(input, dim=-1, keepdim=False):
    """The most frequent value along `dim` (the smallest on ties) and its last position."""
    return _along_dim_by_index("mode", input, dim, keepdim, _mode_indices, {})


def logsumexp(input, dim, keepdim=False, *, out=None):
    """log(sum(exp(x))) over `dim`, shifted by the maximum so that it neither overflows nor
    underflows."""
    check_keepdim(keepdim, "logsumexp")
    if input._dtype.category < 2:
        input = input.to(_dt.get_default_dtype())
    dims = reduction_dims(dim, input._data.ndim, "logsumexp")
    if input._data.size == 0:
        result = _apply(_log, (sum(_apply(_exp, (input,)), dims, keepdim),))
        return result if out is None else _write_out(result, out)
    shift = _apply(_amax, (input,), {"dim": dims, "keepdim": True})
    # an infinite maximum would make x - max NaN; such rows need no shift
    shift = _ELEMENTWISE["where"](_apply(_isinf, (shift,)), 0.0, shift)
    total = _apply(_sum, (_apply(_exp, (_apply(_sub, (input, shift)),)),),
                   {"dim": dims, "keepdim": keepdim, "dtype": input._dtype})
    if not keepdim:
        shift = _reshape(shift, total._data.shape)
    result = _apply(_add, (_apply(_log, (total,)), shift))
    return result if out is None else _write_out(result, out)


def _softmax_shifted(input, dim, dtype, name):
    """x - max(x) along `dim` (the max detached: it cancels, so it carries no gradient), for
    softmax and log_softmax. As torch's kernels, no guard for infinite maxima: a row holding
    inf, or only -inf, gives NaN."""
    if dtype is not None:
        input = input.to(dtype)
    if input._dtype.category < 2:
        raise NotImplementedError(f'"{name}_lastdim_kernel_impl" not implemented for '
                                  f"'{input._dtype.scalar_name}'")
    dim = _wrap_dim(dim, input._data.ndim)
    shift = input.detach().amax(dim, keepdim=True)
    return input - shift, dim


def _empty_softmax(input, dim, dtype, node_name):
    """torch runs no kernel on an empty tensor: the result is empty, of any dtype (even
    integral), and backward gives an empty gradient."""
    _wrap_dim(dim, input._data.ndim)
    result = (input if dtype is None else input.to(dtype)).clone()
    return _rename_node(result, node_name)


def softmax(input, dim, dtype=None):
    """exp(x) / sum(exp(x)) along `dim`, computed on x - max(x)."""
    if not input._data.size:
        return _empty_softmax(input, dim, dtype, "SoftmaxBackward0")
    shifted, dim = _softmax_shifted(input, dim, dtype, "softmax")
    exponentials = shifted.exp()
    return _rename_node(exponentials / exponentials.sum(dim, keepdim=True), "SoftmaxBackward0")


def log_softmax(input, dim, dtype=None):
    """x - log(sum(exp(x))) along `dim`, computed on x - max(x)."""
    if not input._data.size:
        return _empty_softmax(input, dim, dtype, "LogSoftmaxBackward0")
    if dtype is not None:
        input = input.to(dtype)

    def composite():
        shifted, wrapped = _softmax_shifted(input, dim, None, "log_softmax")
        return _rename_node(shifted - shifted.exp().sum(wrapped, keepdim=True).log(),
                            "LogSoftmaxBackward0")
    if input._dtype not in _FUSED_DTYPES:
        return composite()
    return _dispatch.apply_fused(_LOG_SOFTMAX, (input,),
                                 {"dim": _wrap_dim(dim, input._data.ndim)}, composite)


def _log_softmax_vjp(ctx, grad):
    """grad - softmax * sum(grad), the softmax being exp(output)."""
    dim = ctx.attrs["dim"]
    if _dispatch.records_nothing():  # the same ops on the arrays
        g = grad._data
        return (_dispatch.wrap(g - np.exp(ctx.output._data) * np.add.reduce(g, dim, None, None,
                                                                             True), grad._dtype),)
    return (grad - ctx.output.exp() * grad.sum(dim, keepdim=True),)


def _variance_arguments(name, dim, unbiased, correction):
    """torch's overloads: std(unbiased), std(dim, unbiased, keepdim), std(dim, correction=)."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}(): cannot specify both 'unbiased' and 'correction'")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim, correction


def _variance(name, input, dim, correction, keepdim):
    """(variance, mean keeping the reduced dims) over `dim` with Bessel's `correction`."""
    if input._dtype.category < 2:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    check_keepdim(keepdim, name)
    dims = reduction_dims(dim, input._data.ndim, name)
    count = _reduced_count(input._data.shape, dims)
    degrees = count - correction
    if degrees <= 0:
        _warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less "
                       "than the reduction factor (input numel divided by output numel).",
                       UserWarning, stacklevel=3)
    average = _apply(_mean, (input,), {"dim": dims, "keepdim": True, "dtype": input._dtype})
    deviation = _apply(_sub, (input, average))
    squares = _apply(_sum, (_apply(_mul, (deviation, deviation)),),
                     {"dim": dims, "keepdim": keepdim, "dtype": input._dtype})
    variance = _apply(_div, (squares, float(_builtins.max(degrees, 0))))
    return variance, average, dims


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    dim, correction = _variance_arguments("var", dim, unbiased, correction)
    result = _variance("var", input, dim, correction, keepdim)[0]
    return result if out is None else _write_out(result, out)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    dim, correction = _variance_arguments("std", dim, unbiased, correction)
    result = _apply(_sqrt, (_variance("std", input, dim, correction, keepdim)[0],))
    return result if out is None else _write_out(result, out)


def _mean_like(variance, average, keepdim):
    return average if keepdim else _reshape(average, variance._data.shape)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean): a plain tuple, as in torch."""
    dim, correction = _variance_arguments("var_mean", dim, unbiased, correction)
    variance, average, _ = _variance("var_mean", input, dim, correction, keepdim)
    return variance, _mean_like(variance, average, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean): a plain tuple, as in torch."""
    dim, correction = _variance_arguments("std_mean", dim, unbiased, correction)
    variance, average, _ = _variance("std_mean", input, dim, correction, keepdim)
    return _apply(_sqrt, (variance,)), _mean_like(variance, average, keepdim)


_INF = float("inf")


def _vector_norm(input, p, dims, keepdim, shown_dims):
    """The p-norm of `input` over `dims` (None: all), for a floating tensor."""
    attrs = {"dim": dims, "keepdim": keepdim, "dtype": input._dtype}
    if p == 2:
        return _p_norm(input, 2.0, dims, keepdim)
    magnitude = _apply(_abs, (input,))
    if p == 1:
        return _apply(_sum, (magnitude,), attrs)
    if p == _INF or p == -_INF:
        if input._data.size == 0:
            if dims is None:
                raise RuntimeError("linalg.vector_norm cannot compute the inf norm on an empty "
                                   "tensor because the operation does not have an identity")
            for axis, shown in zip(dims, shown_dims):
                if input._data.shape[axis] == 0:
                    raise RuntimeError(
                        f"linalg.vector_norm cannot compute the inf norm on the dimension {shown}"
                        "because this dimension is empty and the operation does not have an "
                        "identity")
        op = _amax if p == _INF else _amin
        return _apply(op, (magnitude,), {"dim": dims, "keepdim": keepdim})
    if p == 0:
        nonzero = _apply(_ne, (input, 0)).to(input._dtype)
        return _apply(_sum, (nonzero,), attrs)
    return _p_norm(input, float(p), dims, keepdim)


def _p_norm(input, p, dims, keepdim):
    """linalg's vector_norm primitive (its gradient is torch's subgradient at zero)."""
    from ..ir.primitives.linalg import _VECTOR_NORM
    return _apply(_VECTOR_NORM, (input,), {"ord": p, "dims": dims, "keepdim": keepdim,
                                          "dtype": input._dtype})


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """torch.norm: the vector p-norm over `dim` (all dims by default; 'fro' is the 2-norm), or
    the nuclear norm ('nuc') of the matrices spanned by two dims."""
    check_keepdim(keepdim, "norm")
    if dtype is not None:
        input = input.to(_dt.to_dtype(dtype))
    if input._dtype.category < 2:
        kind = "matrix_norm" if p == "nuc" else "vector_norm"
        raise RuntimeError(f"linalg.{kind}: Expected a floating point or complex tensor as "
                           f"input. Got {input._dtype.scalar_name}")
    ndim = input._data.ndim
    if p == "nuc":
        if dim is None:
            dims = tuple(range(ndim))
        else:
            dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
        if len(dims) != 2:
            raise RuntimeError("linalg.matrix_norm: dim must be a 2-tuple. Got "
                               + " ".join(str(d) for d in dims))
        dims = tuple(_wrap_dim(d, ndim) for d in dims)
        from ..ir.primitives.linalg import _MATRIX_NORM
        result = _apply(_MATRIX_NORM, (input,), {"ord": "nuc", "dims": dims, "keepdim": keepdim})
    else:
        if p is None or p == "fro":
            p = 2
        elif isinstance(p, str):
            raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
        dims = reduction_dims(dim, ndim, "norm")
        shown = dim if isinstance(dim, (tuple, list)) else (dim,)
        result = _vector_norm(input, p, dims, keepdim, shown)
    return result if out is None else _write_out(result, out)


def dist(input, other, p=2):
    """The p-norm of input - other (broadcast)."""
    difference = _apply(_sub, (input, other))
    if difference._dtype.category < 2:
        raise RuntimeError("norm(): input dtype should be either floating point or complex. "
                           f"Got {difference._dtype.scalar_name} instead.")
    return _vector_norm(difference, p, None, False, ())


EXTRA_METHODS = {"cumsum_": _scan_inplace(cumsum), "cumprod_": _scan_inplace(cumprod)}


def _restore_reduced_dims(grad, shape, dims, keepdim):
    """A reduction's gradient back at the input's rank: the reduced dims re-inserted as size 1."""
    if dims is None:
        dims = tuple(range(len(shape)))
    elif isinstance(dims, int):
        dims = (dims,)
    if not keepdim:
        for d in sorted(dims):
            grad = grad.unsqueeze(d)
    return grad


def _sum_vjp(ctx, grad):
    shape = ctx.meta[0][0]
    if ctx.attrs["dim"] is None and not ctx.attrs["keepdim"]:
        if _dispatch.records_nothing():  # the same stride-0 view, over the array
            return (_dispatch.wrap(_expand_eager(grad._data, shape), grad._dtype),)
        return (grad.expand(shape),)  # a 0-d gradient expands to any shape directly
    return (_restore_reduced_dims(grad, shape, ctx.attrs["dim"], ctx.attrs["keepdim"]).expand(shape),)


def _mean_vjp(ctx, grad):
    shape = ctx.meta[0][0]
    count = _reduced_count(shape, ctx.attrs["dim"])
    return (_restore_reduced_dims(grad, shape, ctx.attrs["dim"], ctx.attrs["keepdim"]).expand(shape)
            / count,)


def _product_of_others(x, dim):
    """prod of x along `dim` leaving out each element in turn, exact with zeros (no division)."""
    size = x.shape[dim]
    ones = x.narrow(dim, 0, 1) * 0 + 1
    left = _cat([ones, x.narrow(dim, 0, size - 1)], dim).cumprod(dim)
    flipped = x.flip(dim)
    right = _cat([ones, flipped.narrow(dim, 0, size - 1)], dim).cumprod(dim).flip(dim)
    return left * right


def _prod_vjp(ctx, grad):
    (x,) = ctx.operands[:1]
    shape = ctx.meta[0][0]
    dims = ctx.attrs["dim"]
    if x.numel() == 0:
        return (x * 0,)
    if dims is None or x.dim() == 0:
        others = _product_of_others(x.reshape(-1), 0).reshape(shape)
        return (grad.reshape(()).expand(shape) * others if x.dim() else grad,)
    dim = dims[0] if isinstance(dims, tuple) else dims
    expanded = _restore_reduced_dims(grad, shape, dim, ctx.attrs["keepdim"]).expand(shape)
    return (expanded * _product_of_others(x, dim),)


def _extreme_vjp(ctx, grad):
    """amax/amin/median of all: ties share the gradient evenly (as torch)."""
    x, output = ctx.operands[0], ctx.output
    shape = ctx.meta[0][0]
    dims = ctx.attrs.get("dim")
    keepdim = ctx.attrs.get("keepdim", False)
    restored = _restore_reduced_dims(output, shape, dims, keepdim)
    mask = (x == restored).to(grad.dtype)
    count = mask.sum(dims if dims is not None else None, keepdim=True) if dims is not None \
        else mask.sum()
    return (_restore_reduced_dims(grad, shape, dims, keepdim) * mask / count,)


def _cumsum_vjp(ctx, grad):
    dim = ctx.attrs["dim"]
    if grad.dim() == 0:
        return (grad,)
    return (grad.flip(dim).cumsum(dim).flip(dim),)


def _cumprod_vjp(ctx, grad):
    """d cumprod: grad_j = prod_{k<j} x_k * sum_{i>=j} grad_i prod_{j<k<=i} x_k, computed with an
    (n x n) cumprod so that zeros in x need no special case."""
    (x,) = ctx.operands[:1]
    dim = ctx.attrs["dim"]
    if x.dim() == 0 or x.numel() == 0:
        return (grad,)
    from .creation import arange
    size = x.shape[dim]
    values, grads = x.movedim(dim, -1), grad.movedim(dim, -1)
    position = arange(size)
    after = position.view(1, size) > position.view(size, 1)      # [j, k]: k > j
    from_j = position.view(1, size) >= position.view(size, 1)    # [j, i]: i >= j
    partial = _ELEMENTWISE["where"](after, values.unsqueeze(-2), 1.0).cumprod(-1)
    tail = _ELEMENTWISE["where"](from_j, grads.unsqueeze(-2) * partial, 0.0).sum(-1)
    ones = values.narrow(-1, 0, 1) * 0 + 1
    before = _cat([ones, values.narrow(-1, 0, size - 1)], -1).cumprod(-1)
    return ((before * tail).movedim(-1, dim),)


def _value_select_vjp(ctx, grad):
    """Scatter the gradient of the selected values back to where they came from."""
    index = ctx.operands[1]
    shape = ctx.meta[0][0]
    if len(shape) == 0:
        return (grad, None)
    dim, keepdim = ctx.attrs["dim"], ctx.attrs["keepdim"]
    if not keepdim:
        grad, index = grad.unsqueeze(dim), index.unsqueeze(dim)
    from .creation import zeros
    return (zeros(shape, dtype=grad.dtype).scatter_add(dim, index, grad), None)


def _cat(tensors, dim):
    from .shape import cat
    return cat(tensors, dim)


defvjp("sum", _sum_vjp, saves=())
defvjp("mean", _mean_vjp, saves=())
defvjp("prod", _prod_vjp, saves=(0,))
defvjp("amax", _extreme_vjp, saves=(0, "output"))
defvjp("amin", _extreme_vjp, saves=(0, "output"))
defvjp("median_all", _extreme_vjp, saves=(0, "output"))
defvjp("cumsum", _cumsum_vjp, saves=())
defvjp("cumprod", _cumprod_vjp, saves=(0,))
defvjp("value_select", _value_select_vjp, saves=(1,))
defvjp("log_softmax", _log_softmax_vjp, saves=("output",))
