"""Elementwise ops, generated from the registry: every declared elementwise op, every dtype.

`REFERENCES` maps each elementwise op of `graphc.ir.registry.REGISTRY` to how torch's public API
calls it, an independent numpy reference, the dtypes it accepts, its result dtype and the input
domain of each operand. A declared op without an entry fails
`test_every_elementwise_op_has_a_reference`.
The torch tests run graphc and torch on the same inputs over all dtype combinations and compare
values, dtypes and error types; torch's answers are live where torch is importable and recorded
(tests/oracle/test_elementwise.json) where not.
"""
import math
import warnings

import numpy as np
import pytest

import graphc
import oracle
from tolerances import assert_close
from graphc.ir.registry import REGISTRY

# numpy's floating-point warnings (log(-1), 1 / 0): graphc silences them outside pytest, as torch
# reports nothing; pytest's own warning capture would show them
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
FLOATS = ["float16", "float32", "float64"]
INTEGERS = ["uint8", "int8", "int16", "int32", "int64"]
NOT_BOOL = INTEGERS + FLOATS
INTEGRAL = ["bool"] + INTEGERS
CATEGORY = {name: 0 if name == "bool" else 1 if name in INTEGERS else 2 for name in DTYPES}
ORDER = {name: i for i, name in enumerate(DTYPES)}


# ------------------------------------------------------------------ an independent promotion


def promote(a, b):
    """torch.promote_types, written out: categories first, then the wider type."""
    if a == b:
        return a
    if CATEGORY[a] != CATEGORY[b]:
        return a if CATEGORY[a] > CATEGORY[b] else b
    if CATEGORY[a] == 2:
        return a if ORDER[a] > ORDER[b] else b
    signed = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}
    if "uint8" in (a, b):
        other = b if a == "uint8" else a
        return "int16" if other == "int8" else other
    return a if signed[a] > signed[b] else b


def result_dtype(dims, zero_dims=(), scalars=()):
    """torch.result_type: dimensioned tensors > 0-dim tensors > Python scalars, by category."""
    default = str(graphc.get_default_dtype()).split(".")[1]
    scalar_names = ["bool" if isinstance(s, bool) else "int64" if isinstance(s, int) else default
                    for s in scalars]
    groups = []
    for group in (dims, zero_dims, scalar_names):
        if group:
            current = group[0]
            for d in group[1:]:
                current = promote(current, d)
            groups.append(current)
    result = groups[0]
    for lower in groups[1:]:
        if CATEGORY[lower] > CATEGORY[result]:
            result = promote(result, lower)
    return result


# ------------------------------------------------------------------ input pools per domain

_FLOAT_POOLS = {
    "any": [[-3.5, -1.25, -0.5], [0.0, 0.75, 2.5]],
    "positive": [[0.25, 0.5, 1.0], [1.5, 2.75, 10.0]],
    "unit": [[-1.0, -0.75, -0.25], [0.0, 0.5, 1.0]],
    "nonzero": [[-2.5, 1.5, -0.75], [0.5, 2.0, 4.0]],
    "exponent": [[-1.5, 0.5, 2.0], [3.0, 0.0, 1.0]],
    "weight": [[-0.5, 0.25, 0.5], [0.75, 1.0, 1.5]],
}
_INT_POOLS = {
    "any": [[-7, -2, 0], [1, 3, 100]],
    "positive": [[1, 2, 3], [5, 9, 100]],
    "unit": [[-1, 0, 1], [1, 0, -1]],
    "nonzero": [[-3, 2, -2], [1, 5, 7]],
    "exponent": [[0, 1, 2], [3, 1, 0]],
    "weight": [[0, 1, 0], [1, 1, 0]],
}
_UINT8_POOLS = {
    "any": [[0, 1, 2], [3, 7, 200]],
    "positive": [[1, 2, 3], [5, 9, 200]],
    "unit": [[0, 1, 1], [0, 1, 0]],
    "nonzero": [[3, 2, 1], [4, 5, 7]],
    "exponent": [[0, 1, 2], [3, 1, 0]],
    "weight": [[0, 1, 0], [1, 1, 0]],
}
_BOOL_POOLS = {
    "any": [[True, False, True], [False, False, True]],
    "positive": [[True, True, True], [True, True, True]],
    "nonzero": [[True, True, True], [True, True, True]],
}
SPECIALS = [[math.nan, math.inf, -math.inf], [-0.0, 1.0, -2.5]]


def pool(domain, dtype):
    """A (2, 3) numpy array of `dtype` drawn from `domain` ("condition" is always bool)."""
    if domain == "condition":
        return np.array([[True, False, False], [True, True, False]])
    if dtype == "bool":
        values = _BOOL_POOLS.get(domain, _BOOL_POOLS["any"])
    elif dtype == "uint8":
        values = _UINT8_POOLS[domain]
    elif dtype in INTEGERS:
        values = _INT_POOLS[domain]
    else:
        values = _FLOAT_POOLS[domain]
    return np.array(values, dtype=dtype)


# ------------------------------------------------------------------ the reference table


class Ref:
    """How to call one registry op, and what it must compute.

    call(lib, *operands): the public torch API (graphc and torch alike); default lib.<op name>.
    numpy(*arrays): the reference on arrays already cast to the computation dtype.
    accepts: the promoted operand dtypes the op supports (others raise RuntimeError).
    result: "same", "float" (integers give the default float dtype), "bool", or a dtype name.
    domains: input domain of each operand (see `pool`); "condition" operands are always bool and
      take no part in type promotion.
    scalars: operand positions that may be Python scalars in torch's API.
    inplace: the in-place method name, or None when torch has none.
    refuses: refuses(operands, promoted) -> True for operand combinations torch rejects beyond
      `accepts` (with RuntimeError).
    """

    def __init__(self, numpy, *, call=None, accepts=DTYPES, result="same", domains=("any",),
                 scalars=(), inplace="default", compute=None, refuses=None):
        self.numpy = numpy
        self.call = call
        self.accepts = accepts
        self.result = result
        self.domains = domains
        self.scalars = scalars
        self.inplace = inplace
        self.compute = compute  # "float64" to force a float reference computation
        self.refuses = refuses  # refuses(operands, promoted): torch's checks beyond dtypes


def _unary(function, **options):
    return Ref(function, **options)


def _float_unary(function, domain="any"):
    return Ref(function, result="float", domains=(domain,), compute="float64")


def _sign(x):
    if x.dtype == np.bool_:
        return x.copy()
    return np.where(np.isnan(x), 0, np.sign(x)) if x.dtype.kind == "f" else np.sign(x)


def _trunc_divide(x, y):
    if x.dtype.kind == "f":
        return np.trunc(x / y)
    quotient = np.abs(x.astype(np.int64)) // np.abs(y.astype(np.int64))
    return (quotient * np.sign(x.astype(np.int64)) * np.sign(y.astype(np.int64))).astype(x.dtype)


def _integer_power(x, y):
    """torch: integers to negative powers truncate 1 / x**|y| (1, or +-1 for x == -1, else 0)."""
    if x.dtype.kind == "f":
        return np.power(x, y)
    if x.dtype == np.bool_:
        return x | ~y  # x ** True is x, x ** False is True
    negative = y < 0
    positive_power = np.power(x, np.where(negative, 0, y).astype(y.dtype))
    odd = (np.abs(y) % 2).astype(bool)
    reciprocal = np.where(x == 1, 1, np.where(x == -1, np.where(odd, -1, 1), 0))
    return np.where(negative, reciprocal, positive_power).astype(x.dtype)


def _lerp(x, y, w):
    return x + w * (y - x)


def _dtype_of(value):
    return value.dtype if isinstance(value, graphc.Tensor) else None


def _any_bool(operands, promoted):
    """torch's sub refuses a bool operand, tensor or scalar, whatever the result dtype."""
    return any(_dtype_of(v) is graphc.bool or isinstance(v, bool) for v in operands)


def _lerp_mismatch(operands, promoted):
    """lerp does not promote end, or a weight with dims: they must have input's dtype. A Python
    weight needs a floating input; a 0-dim weight tensor joins the promotion."""
    start, end, weight = operands
    if _dtype_of(end) is not start.dtype:
        return True
    if isinstance(weight, graphc.Tensor):
        return weight.dim() > 0 and weight.dtype is not start.dtype
    return not start.dtype.is_floating_point


def _bool_tensor_exponent(operands, promoted):
    """torch has no bool pow kernel; a bool *scalar* exponent on a bool tensor needs none."""
    return promoted == "bool" and not isinstance(operands[1], bool)


def _bool_scalar_bound(operands, promoted):
    """clamp_min/clamp_max with a tensor bound are maximum/minimum (fine on bool); a scalar
    bound runs the clamp kernel, which has no bool version."""
    return promoted == "bool" and not isinstance(operands[1], graphc.Tensor)


REFERENCES = {
    "exp": _float_unary(np.exp),
    "expm1": _float_unary(np.expm1),
    "log": _float_unary(np.log, "positive"),
    "log1p": _float_unary(np.log1p, "positive"),
    "log2": _float_unary(np.log2, "positive"),
    "log10": _float_unary(np.log10, "positive"),
    "sqrt": _float_unary(np.sqrt, "positive"),
    "rsqrt": _float_unary(lambda x: 1 / np.sqrt(x), "positive"),
    "sin": _float_unary(np.sin),
    "cos": _float_unary(np.cos),
    "tan": _float_unary(np.tan),
    "asin": _float_unary(np.arcsin, "unit"),
    "acos": _float_unary(np.arccos, "unit"),
    "atan": _float_unary(np.arctan),
    "sinh": _float_unary(np.sinh),
    "cosh": _float_unary(np.cosh),
    "tanh": _float_unary(np.tanh),
    "sigmoid": _float_unary(lambda x: 0.5 + 0.5 * np.tanh(x / 2)),
    "reciprocal": _float_unary(lambda x: 1 / x, "nonzero"),
    "erf": _float_unary(np.vectorize(math.erf, otypes=[np.float64])),
    "erfc": _float_unary(np.vectorize(math.erfc, otypes=[np.float64])),
    "neg": _unary(np.negative, accepts=NOT_BOOL),
    "abs": _unary(np.abs, accepts=NOT_BOOL),
    "sign": _unary(_sign),
    "square": _unary(lambda x: x * x, result=lambda d: "int64" if d == "bool" else d),
    "relu": _unary(lambda x: np.where(np.isnan(x) if x.dtype.kind == "f" else False, x,
                                      np.maximum(x, 0)).astype(x.dtype), accepts=NOT_BOOL),
    "floor": _unary(np.floor, accepts=NOT_BOOL),
    "ceil": _unary(np.ceil, accepts=NOT_BOOL),
    "trunc": _unary(np.trunc, accepts=NOT_BOOL),
    "round": _unary(np.round, accepts=NOT_BOOL),
    "frac": _unary(lambda x: x - np.trunc(x), accepts=FLOATS),
    "logical_not": _unary(np.logical_not, result="bool"),
    "bitwise_not": _unary(np.invert, accepts=INTEGRAL),
    "isnan": _unary(lambda x: np.isnan(x.astype(np.float64)), result="bool", inplace=None),
    "isinf": _unary(lambda x: np.isinf(x.astype(np.float64)), result="bool", inplace=None),
    "isfinite": _unary(lambda x: np.isfinite(x.astype(np.float64)), result="bool",
                       inplace=None),
    "add": Ref(np.add, domains=("any", "any"), scalars=(1,)),
    "sub": Ref(np.subtract, accepts=NOT_BOOL, domains=("any", "any"), scalars=(1,),
               refuses=_any_bool),
    "mul": Ref(np.multiply, domains=("any", "any"), scalars=(1,)),
    "div": Ref(np.true_divide, result="float", domains=("any", "nonzero"), scalars=(1,),
               compute="float64"),
    "div_floor": Ref(np.floor_divide, accepts=NOT_BOOL, domains=("any", "nonzero"), scalars=(1,),
                     call=lambda lib, x, y: lib.div(x, y, rounding_mode="floor"),
                     inplace=lambda x, y: x.div_(y, rounding_mode="floor")),
    "div_trunc": Ref(_trunc_divide, accepts=NOT_BOOL, domains=("any", "nonzero"), scalars=(1,),
                     call=lambda lib, x, y: lib.div(x, y, rounding_mode="trunc"),
                     inplace=lambda x, y: x.div_(y, rounding_mode="trunc")),
    "remainder": Ref(np.remainder, accepts=NOT_BOOL, domains=("any", "nonzero"), scalars=(1,)),
    "fmod": Ref(np.fmod, accepts=NOT_BOOL, domains=("any", "nonzero"), scalars=(1,)),
    "pow": Ref(_integer_power, domains=("any", "exponent"), scalars=(1,),
               refuses=_bool_tensor_exponent),
    "atan2": Ref(np.arctan2, result="float", domains=("any", "any"), compute="float64"),
    "maximum": Ref(np.maximum, domains=("any", "any"), inplace=None),
    "minimum": Ref(np.minimum, domains=("any", "any"), inplace=None),
    "eq": Ref(np.equal, result="bool", domains=("any", "any"), scalars=(1,)),
    "ne": Ref(np.not_equal, result="bool", domains=("any", "any"), scalars=(1,)),
    "lt": Ref(np.less, result="bool", domains=("any", "any"), scalars=(1,)),
    "le": Ref(np.less_equal, result="bool", domains=("any", "any"), scalars=(1,)),
    "gt": Ref(np.greater, result="bool", domains=("any", "any"), scalars=(1,)),
    "ge": Ref(np.greater_equal, result="bool", domains=("any", "any"), scalars=(1,)),
    "logical_and": Ref(np.logical_and, result="bool", domains=("any", "any")),
    "logical_or": Ref(np.logical_or, result="bool", domains=("any", "any")),
    "logical_xor": Ref(np.logical_xor, result="bool", domains=("any", "any")),
    "bitwise_and": Ref(np.bitwise_and, accepts=INTEGRAL, domains=("any", "any"), scalars=(1,)),
    "bitwise_or": Ref(np.bitwise_or, accepts=INTEGRAL, domains=("any", "any"), scalars=(1,)),
    "bitwise_xor": Ref(np.bitwise_xor, accepts=INTEGRAL, domains=("any", "any"), scalars=(1,)),
    "where": Ref(np.where, domains=("condition", "any", "any"), scalars=(1, 2), inplace=None),
    "lerp": Ref(_lerp, accepts=FLOATS, domains=("any", "any", "weight"), scalars=(2,),
                refuses=_lerp_mismatch),
    "clamp": Ref(lambda x, low, high: np.minimum(np.maximum(x, low), high), accepts=NOT_BOOL,
                 domains=("any", "any", "any")),
    "clamp_min": Ref(np.maximum, domains=("any", "any"), scalars=(1,), refuses=_bool_scalar_bound),
    "clamp_max": Ref(np.minimum, domains=("any", "any"), scalars=(1,), refuses=_bool_scalar_bound),
    "cast": Ref(lambda x: x.astype(np.float64), result="float64", call=lambda lib, x: x.double(),
                inplace=None),
}


def elementwise_ops():
    return sorted(name for name, op in REGISTRY.items() if op.kind == "elementwise")


def test_every_elementwise_op_has_a_reference():
    missing = [name for name in elementwise_ops() if name not in REFERENCES]
    assert not missing, f"elementwise ops declared without a reference in REFERENCES: {missing}"
    stale = [name for name in REFERENCES if name not in REGISTRY]
    assert not stale, f"REFERENCES lists ops that are not declared: {stale}"


# ------------------------------------------------------------------ helpers


def call(ref, name, lib, *operands):
    if ref.call is not None:
        return ref.call(lib, *operands)
    return getattr(lib, name)(*operands)


def operand_dtype_names(ref, operands):
    """(dims, zero_dims, scalars) of the operands that take part in promotion."""
    dims, zero_dims, scalars = [], [], []
    for domain, operand in zip(ref.domains, operands):
        if domain == "condition":
            continue
        if isinstance(operand, graphc.Tensor):
            name = str(operand.dtype).split(".")[1]
            (dims if operand.dim() else zero_dims).append(name)
        else:
            scalars.append(operand)
    return dims, zero_dims, scalars


def expected_result(ref, promoted):
    default = str(graphc.get_default_dtype()).split(".")[1]
    if callable(ref.result):
        return ref.result(promoted)
    if ref.result == "same":
        return promoted
    if ref.result == "float":
        return promoted if promoted in FLOATS else default
    return ref.result


def reference_values(ref, operands, promoted, result):
    """The numpy reference, computed in float64 for float results and in the promoted dtype
    otherwise (so integer wrap-around matches), then cast to the result dtype."""
    if ref.compute == "float64" or result in FLOATS or promoted in FLOATS:
        compute = np.float64
    else:
        compute = np.dtype(promoted)
    arrays = []
    for domain, operand in zip(ref.domains, operands):
        if domain == "condition":
            arrays.append(operand.numpy())
        elif isinstance(operand, graphc.Tensor):
            arrays.append(operand.numpy().astype(compute))
        elif compute is np.float64:
            arrays.append(np.array(float(operand)))  # float kernels take the scalar's value
        else:
            arrays.append(np.array(operand).astype(np.dtype(promoted)))  # wraps, as in C
    with np.errstate(all="ignore"):
        values = np.asarray(ref.numpy(*arrays))
        return values.astype(np.dtype(result))


def assert_values(actual, expected, dtype_name, context):
    assert_close(actual, expected, dtype_name, context)


def refused(ref, operands, promoted):
    return promoted not in ref.accepts or (ref.refuses is not None
                                           and ref.refuses(operands, promoted))


def check_against_reference(ref, name, operands, context):
    """Run the op on `operands` (graphc tensors / scalars) and compare with the numpy reference."""
    dims, zero_dims, scalars = operand_dtype_names(ref, operands)
    promoted = result_dtype(dims, zero_dims, scalars)
    if refused(ref, operands, promoted):
        with pytest.raises(RuntimeError):
            call(ref, name, graphc, *operands)
        return
    result = expected_result(ref, promoted)
    out = call(ref, name, graphc, *operands)
    assert str(out.dtype) == f"torch.{result}", f"{context}: dtype {out.dtype}, expected {result}"
    expected = reference_values(ref, operands, promoted, result)
    assert_values(out.numpy(), expected, result, context)


def operands_for(ref, dtype, specials=False):
    arrays = []
    for domain in ref.domains:
        array = pool(domain, dtype)
        if specials and domain != "condition":
            array = np.array(SPECIALS, dtype=dtype)
        arrays.append(array)
    return [graphc.tensor(a) for a in arrays]


PARAMS = [(name, dtype) for name in sorted(REFERENCES) for dtype in DTYPES]
MULTI_OPERAND_PARAMS = [(name, dtype) for name, dtype in PARAMS
                        if len(REFERENCES[name].domains) > 1]
SCALAR_PARAMS = [(name, dtype) for name, dtype in PARAMS if REFERENCES[name].scalars]


# ------------------------------------------------------------------ against numpy


@pytest.mark.parametrize("name,dtype", PARAMS)
def test_op_matches_numpy_reference(name, dtype):
    ref = REFERENCES[name]
    operands = operands_for(ref, dtype)
    check_against_reference(ref, name, operands, f"{name}({dtype})")
    if dtype in FLOATS:
        check_against_reference(ref, name, operands_for(ref, dtype, specials=True),
                                f"{name}({dtype}, nan/inf)")


@pytest.mark.parametrize("name,dtype", MULTI_OPERAND_PARAMS)
def test_op_broadcasts(name, dtype):
    ref = REFERENCES[name]
    operands = operands_for(ref, dtype)
    # first operand (2, 1), the others (3,) / (2, 3): a broadcast over both axes
    reshaped = [operands[0].narrow(1, 0, 1)] + [o.select(0, 0) if i % 2 == 0 else o
                                                 for i, o in enumerate(operands[1:])]
    check_against_reference(ref, name, reshaped, f"{name}({dtype}) broadcast")


@pytest.mark.parametrize("name,dtype", SCALAR_PARAMS)
def test_op_with_python_scalars(name, dtype):
    ref = REFERENCES[name]
    for position in ref.scalars:
        for scalar in (True, 2, -3, 2.5):
            if ref.domains[position] == "exponent" and scalar == -3:
                continue  # integer tensors refuse it: test_pow_integer_rules
            operands = operands_for(ref, dtype)
            operands[position] = scalar
            check_against_reference(ref, name, operands, f"{name}({dtype}) scalar {scalar!r} at "
                                                         f"{position}")


@pytest.mark.parametrize("name,dtype", MULTI_OPERAND_PARAMS)
def test_op_with_zero_dim_operands(name, dtype):
    ref = REFERENCES[name]
    for position, domain in enumerate(ref.domains):
        if position == 0 or domain == "condition":
            continue
        for other in DTYPES:
            operands = operands_for(ref, dtype)
            operands[position] = graphc.tensor(np.array(pool(domain, other)[1, 1]))
            check_against_reference(ref, name, operands,
                                    f"{name}({dtype}) 0-dim {other} at {position}")


@pytest.mark.parametrize("name", [n for n in sorted(REFERENCES) if len(REFERENCES[n].domains) > 1])
def test_binary_ops_over_dtype_pairs(name):
    ref = REFERENCES[name]
    for first in DTYPES:
        for second in DTYPES:
            operands = operands_for(ref, first)
            operands[-1] = graphc.tensor(pool(ref.domains[-1], second))
            check_against_reference(ref, name, operands, f"{name}({first}, {second})")


# Python operators with a scalar on the left run the op with the operands swapped
REFLECTED = {"add": lambda s, t: s + t, "sub": lambda s, t: s - t, "mul": lambda s, t: s * t,
             "div": lambda s, t: s / t, "div_floor": lambda s, t: s // t,
             "remainder": lambda s, t: s % t, "pow": lambda s, t: s ** t,
             "bitwise_and": lambda s, t: s & t, "bitwise_or": lambda s, t: s | t,
             "bitwise_xor": lambda s, t: s ^ t}
REFLECTED_DOMAINS = {"div": "nonzero", "div_floor": "nonzero", "remainder": "nonzero",
                     "pow": "exponent"}


@pytest.mark.parametrize("name,dtype", [(n, d) for n in sorted(REFLECTED) for d in DTYPES])
def test_reflected_operators_match_numpy_reference(name, dtype):
    ref, operator = REFERENCES[name], REFLECTED[name]
    tensor = graphc.tensor(pool(REFLECTED_DOMAINS.get(name, "any"), dtype))
    for scalar in (True, 2, -3, 2.5):
        context = f"{scalar!r} {name} t({dtype})"
        promoted = result_dtype([dtype], scalars=[scalar])
        swapped = [scalar, tensor]
        if refused(ref, swapped, promoted):
            with pytest.raises(RuntimeError):
                operator(scalar, tensor)
            continue
        result = expected_result(ref, promoted)
        out = operator(scalar, tensor)
        assert str(out.dtype) == f"torch.{result}", f"{context}: dtype {out.dtype}"
        assert_values(out.numpy(), reference_values(ref, swapped, promoted, result), result,
                      context)


# ------------------------------------------------------------------ in place and out=


def inplace_method(ref, name):
    if ref.inplace is None:
        return None
    if callable(ref.inplace):
        return ref.inplace
    return lambda self, *operands: getattr(self, name + "_")(*operands)


def has_inplace_form(name):
    ref = REFERENCES[name]
    return inplace_method(ref, name) is not None and ref.domains[0] != "condition"


@pytest.mark.parametrize("name,dtype", [(n, d) for n, d in PARAMS if has_inplace_form(n)])
def test_inplace_form(name, dtype):
    ref = REFERENCES[name]
    method = inplace_method(ref, name)
    operands = operands_for(ref, dtype)
    dims, zero_dims, scalars = operand_dtype_names(ref, operands)
    promoted = result_dtype(dims, zero_dims, scalars)
    target = operands[0].clone()
    if refused(ref, operands, promoted):
        with pytest.raises(RuntimeError):
            method(target, *operands[1:])
        return
    result = expected_result(ref, promoted)
    castable = graphc.can_cast(getattr(graphc, result), target.dtype)
    if not castable:
        with pytest.raises(RuntimeError, match=f"result type .* can't be cast to the desired "
                                               f"output type {target.dtype.scalar_name}"):
            method(target, *operands[1:])
        np.testing.assert_array_equal(target.numpy(), operands[0].numpy())  # untouched
        return
    version = target._version
    returned = method(target, *operands[1:])
    assert returned is target
    assert target.dtype is operands[0].dtype
    assert target._version > version
    expected = reference_values(ref, operands, promoted, result).astype(np.dtype(dtype))
    assert_values(target.numpy(), expected, dtype, f"{name}_({dtype})")


def test_inplace_refuses_a_float_result_on_integer_tensors():
    for method in (lambda t: t.add_(1.5), lambda t: t.exp_(), lambda t: t.pow_(0.5),
                   lambda t: t.div_(2), lambda t: t.clamp_(min=0.5), lambda t: t.mul_(2.0),
                   lambda t: t.sqrt_(), lambda t: t.sigmoid_()):
        t = graphc.tensor([1, 2])
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                               "output type Long"):
            method(t)
        assert t.tolist() == [1, 2]
    with pytest.raises(RuntimeError, match="result type Long can't be cast to the desired output "
                                           "type Bool"):
        graphc.tensor([True]).square_()


def test_inplace_broadcast_rules():
    t = graphc.tensor([1.0])
    with pytest.raises(RuntimeError, match=r"output with shape \[1\] doesn't match the broadcast "
                                           r"shape \[2\]"):
        t.add_(graphc.tensor([1.0, 2.0]))
    t = graphc.zeros(2, 3)
    t.add_(graphc.tensor([1.0, 2.0, 3.0]))
    assert t.tolist() == [[1.0, 2.0, 3.0]] * 2
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        graphc.zeros(1).expand(3).add_(2.0)


def test_inplace_abs_zero_fill_copy():
    t = graphc.tensor([-1, 2, -3])
    assert t.abs_() is t and t.tolist() == [1, 2, 3]
    assert t.zero_() is t and t.tolist() == [0, 0, 0]
    assert t.fill_(2.7) is t and t.tolist() == [2, 2, 2]  # truncated like a C cast
    assert t.fill_(graphc.tensor(5)).tolist() == [5, 5, 5]
    with pytest.raises(RuntimeError, match="fill_ only supports 0-dimension value tensor"):
        t.fill_(graphc.tensor([1, 2]))
    b = graphc.zeros(2, dtype=graphc.bool)
    assert b.fill_(0.5).tolist() == [True, True]
    u = graphc.zeros(2, dtype=graphc.uint8)
    assert u.fill_(-1).tolist() == [255, 255]
    with pytest.raises(RuntimeError, match="value cannot be converted to type int8_t without "
                                           "overflow"):
        graphc.zeros(2, dtype=graphc.int8).fill_(300)
    expanded = graphc.zeros(1).expand(3)
    assert expanded.fill_(2.0).tolist() == [2.0, 2.0, 2.0]
    assert expanded.zero_().tolist() == [0.0, 0.0, 0.0]


def test_untracked_writes_refuse_leaves_that_require_grad():
    w = graphc.ones(2, requires_grad=True)
    for write in (lambda: w.zero_(), lambda: w.fill_(1.0)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                               "in an in-place operation."):
            write()
    with graphc.no_grad():
        w.zero_()
    assert w.tolist() == [0.0, 0.0] and w.requires_grad


def test_copy_casts_and_broadcasts():
    target = graphc.zeros(2, dtype=graphc.int64)
    assert target.copy_(graphc.tensor([1.7, -2.7])) is target
    assert target.tolist() == [1, -2]
    square = graphc.zeros(2, 2)
    square.copy_(graphc.tensor([1.0, 2.0]))
    assert square.tolist() == [[1.0, 2.0], [1.0, 2.0]]
    mask = graphc.zeros(2, dtype=graphc.bool).copy_(graphc.tensor([0.5, 0.0]))
    assert mask.tolist() == [True, False]
    with pytest.raises(RuntimeError):
        graphc.zeros(2).copy_(graphc.tensor([1.0, 2.0, 3.0]))
    version = square._version
    square.copy_(graphc.ones(2, 2))
    assert square._version > version


@pytest.mark.parametrize("name", [n for n in sorted(REFERENCES)  # others: through another function
                                  if REFERENCES[n].call is None and n != "cast"])
def test_out_argument(name):
    ref = REFERENCES[name]
    dtype = "float32" if "float32" in ref.accepts else "int32"
    operands = operands_for(ref, dtype)
    expected = call(ref, name, graphc, *operands)
    out = graphc.empty(0, dtype=expected.dtype)
    returned = getattr(graphc, name)(*operands, out=out)
    assert returned is out
    assert out.shape == expected.shape
    assert_values(out.numpy(), expected.numpy(), str(out.dtype).split(".")[1], name)
    wider = graphc.empty(expected.shape, dtype=graphc.float64)
    getattr(graphc, name)(*operands, out=wider)
    assert_close(wider.numpy(), expected.numpy().astype(np.float64), expected.dtype, name)
    if expected.dtype.is_floating_point:
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
            getattr(graphc, name)(*operands, out=graphc.empty(expected.shape, dtype=graphc.long))


def test_out_resizes_with_a_warning_when_not_empty():
    out = graphc.empty(5)
    with pytest.warns(UserWarning, match="was resized"):
        graphc.add(graphc.tensor([1.0, 2.0]), 1, out=out)
    assert out.tolist() == [2.0, 3.0]
    out = graphc.empty(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graphc.add(graphc.tensor([1.0, 2.0]), 1, out=out)
    out = graphc.empty(2, 2, dtype=graphc.long)
    graphc.add(graphc.tensor([[1], [2]]), graphc.tensor([1, 2]), out=out)
    assert out.tolist() == [[2, 3], [3, 4]]
    with pytest.raises(RuntimeError, match="result type Long can't be cast to the desired output "
                                           "type Bool"):
        graphc.add(graphc.tensor([1]), 1, out=graphc.empty(1, dtype=graphc.bool))
    assert graphc.eq(graphc.tensor([1, 2]), 1, out=graphc.empty(2)).tolist() == [1.0, 0.0]


# ------------------------------------------------------------------ specific torch behaviour


def test_int_inputs_give_the_default_float_dtype():
    t = graphc.tensor([1, 2])
    for function in (graphc.exp, graphc.sin, graphc.sqrt, graphc.sigmoid, graphc.reciprocal,
                     lambda x: x / 2, lambda x: graphc.div(x, x), lambda x: 1 / x):
        assert function(t).dtype is graphc.float32
    try:
        graphc.set_default_dtype(graphc.float64)
        assert graphc.exp(t).dtype is graphc.float64
        assert (t / 2).dtype is graphc.float64
    finally:
        graphc.set_default_dtype(graphc.float32)


def test_division_rounding_modes():
    a, b = graphc.tensor([-7, 7, -7, 7]), graphc.tensor([2, 2, -2, -2])
    assert graphc.div(a, b, rounding_mode="trunc").tolist() == [-3, 3, 3, -3]
    assert graphc.div(a, b, rounding_mode="floor").tolist() == [-4, 3, 3, -4]
    assert graphc.div(a, b, rounding_mode="floor").dtype is graphc.int64
    assert graphc.floor_divide(a, b).tolist() == [-4, 3, 3, -4]
    assert (a // b).tolist() == [-4, 3, 3, -4]
    assert (7 // graphc.tensor([-3, 3])).tolist() == [-3, 2]
    f = graphc.tensor([-7.5, 7.5])
    assert graphc.div(f, 2, rounding_mode="trunc").tolist() == [-3.0, 3.0]
    assert graphc.div(f, 2, rounding_mode="floor").tolist() == [-4.0, 3.0]
    assert graphc.div(graphc.tensor([1.0, -1.0]), 0.0, rounding_mode="floor").tolist() == \
        [math.inf, -math.inf]
    with pytest.raises(RuntimeError, match="div expected rounding_mode to be one of None, "
                                           "'trunc', or 'floor' but found 'round'"):
        graphc.div(a, b, rounding_mode="round")


def test_float_floor_division_is_pythons():
    """torch's floor division of floats is Python's (np.floor_divide), not floor(a / b)."""
    assert (graphc.tensor([1.0]) // 0.1).tolist() == [9.0]
    assert graphc.div(graphc.tensor([1.0, -1.0]), 0.1, rounding_mode="floor").tolist() == \
        [9.0, -10.0]


def test_integer_division_by_zero_raises():
    a = graphc.tensor([1, 2])
    for function in (lambda: a // 0, lambda: a % 0, lambda: graphc.fmod(a, 0),
                     lambda: graphc.div(a, 0, rounding_mode="trunc"),
                     lambda: a // graphc.tensor([0, 1]), lambda: 5 % graphc.tensor([1, 0])):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            function()
    assert (a / 0).tolist() == [math.inf, math.inf]  # true division is a float division


def test_remainder_and_fmod_signs():
    a, b = graphc.tensor([-7, 7, -7, 7]), graphc.tensor([2, 2, -2, -2])
    assert graphc.remainder(a, b).tolist() == [1, 1, -1, -1]  # sign of the divisor
    assert graphc.fmod(a, b).tolist() == [-1, 1, -1, 1]  # sign of the dividend
    assert (a % 3).tolist() == [2, 1, 2, 1]
    assert (graphc.tensor([-7, 7]) % -3).tolist() == [-1, -2]
    assert (7 % graphc.tensor([-3, 3])).tolist() == [-2, 1]
    assert graphc.remainder(2, graphc.tensor([3, 4])).tolist() == [2, 2]
    f = graphc.tensor([-7.5, 7.5])
    assert graphc.remainder(f, 2.0).tolist() == [0.5, 1.5]
    assert graphc.fmod(f, 2.0).tolist() == [-1.5, 1.5]


def test_pow_integer_rules():
    t = graphc.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
        t ** -1
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
        t.pow(-2)
    assert (t ** 0).tolist() == [1, 1, 1]
    assert (graphc.tensor([1.0, 2.0]) ** -1).tolist() == [1.0, 0.5]
    assert (t ** 0.5).dtype is graphc.float32
    assert (2 ** t).dtype is graphc.int64 and (2 ** t).tolist() == [2, 4, 8]
    assert (2.0 ** t).dtype is graphc.float32
    assert (graphc.tensor([True, False]) ** 2).dtype is graphc.int64
    assert graphc.pow(2, t).tolist() == [2, 4, 8]
    assert (graphc.tensor([3], dtype=graphc.int8) ** 5).tolist() == [-13]  # wraps like C
    with pytest.raises(RuntimeError):
        graphc.tensor([True]) ** graphc.tensor([False])


def test_integer_pow_with_negative_tensor_exponents():
    """A negative *tensor* exponent is allowed on integers: 1 / x**n truncated (1, +-1, else 0)."""
    assert (graphc.tensor([1, -1, -1, 2, 0]) ** graphc.tensor([-1, -1, -2, -1, -1])).tolist() == \
        [1, -1, 1, 0, 0]
    assert (2 ** graphc.tensor([-1, 2])).tolist() == [0, 4]
    assert graphc.tensor([1, 2, 3]).pow(graphc.tensor(-1)).tolist() == [1, 0, 0]


def test_round_with_decimals():
    t = graphc.tensor([1.2345, 2.5, 3.5, -2.5, 0.125])
    assert graphc.round(t).tolist() == [1.0, 2.0, 4.0, -2.0, 0.0]  # half to even
    np.testing.assert_allclose(graphc.round(t, decimals=2).numpy(),
                               np.array([1.23, 2.5, 3.5, -2.5, 0.12], dtype=np.float32))
    assert graphc.round(graphc.tensor([1234.0, 25.0, 150.0]), decimals=-2).tolist() == \
        [1200.0, 0.0, 200.0]
    assert graphc.round(graphc.tensor([1, 2])).tolist() == [1, 2]
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        graphc.round(graphc.tensor([1, 2]), decimals=1)
    u = graphc.tensor([3.14159])
    assert u.round_(decimals=2) is u
    np.testing.assert_allclose(u.numpy(), [3.14])


def test_clamp_variants():
    t = graphc.tensor([1, 5, 9])
    assert graphc.clamp(t, min=3).tolist() == [3, 5, 9]
    assert graphc.clamp(t, max=3).tolist() == [1, 3, 3]
    assert graphc.clamp(t, 6, 4).tolist() == [4, 4, 4]  # min > max gives max
    low = graphc.clamp(t, min=3.5)
    assert low.dtype is graphc.float32 and low.tolist() == [3.5, 5.0, 9.0]
    assert graphc.clamp(t, max=3.5).dtype is graphc.float32
    bounded = graphc.clamp(t, min=graphc.tensor([2, 2, 2]), max=graphc.tensor([8.0, 8.0, 8.0]))
    assert bounded.dtype is graphc.float32 and bounded.tolist() == [2.0, 5.0, 8.0]
    assert graphc.clamp(t, min=graphc.tensor([2, 6, 2])).tolist() == [2, 6, 9]
    assert graphc.clip(t, 2, 3).tolist() == [2, 3, 3]
    assert t.clamp(max=4).tolist() == [1, 4, 4]
    assert graphc.clamp_min(t, 2.5).tolist() == [2.5, 5.0, 9.0]
    assert graphc.clamp_max(t, 2).tolist() == [1, 2, 2]
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
        graphc.clamp(t)
    with pytest.raises(RuntimeError, match="can't be cast"):
        t.clamp_(min=3.5)
    u = graphc.tensor([1.0, 5.0, 9.0])
    assert u.clamp_(2, 6) is u and u.tolist() == [2.0, 5.0, 6.0]
    assert graphc.clamp(graphc.tensor([True, False]), min=0, max=1).dtype is graphc.int64
    nan = graphc.clamp(graphc.tensor([math.nan, 1.0]), 0.0, 2.0).tolist()
    assert math.isnan(nan[0]) and nan[1] == 1.0


def test_lerp_weights_and_dtype_checks():
    start, end = graphc.tensor([1.0, 2.0]), graphc.tensor([3.0, 4.0])
    assert graphc.lerp(start, end, 0.5).tolist() == [2.0, 3.0]
    assert graphc.lerp(start, end, graphc.tensor([0.5, 1.0])).tolist() == [2.0, 4.0]
    assert graphc.lerp(start, end, 1).tolist() == [3.0, 4.0]
    assert start.lerp(end, 0.0).tolist() == [1.0, 2.0]
    assert graphc.lerp(start, end, graphc.tensor(0.5, dtype=graphc.float64)).dtype is \
        graphc.float32
    with pytest.raises(RuntimeError, match="expected dtype float for `end` but got dtype double"):
        graphc.lerp(start, end.double(), 0.5)
    with pytest.raises(RuntimeError, match="expected dtype float for `weight` but got dtype "
                                           "double"):
        graphc.lerp(start, end, graphc.tensor([0.5, 0.5], dtype=graphc.float64))
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        graphc.lerp(graphc.tensor([1, 2]), graphc.tensor([3, 4]), 0.5)
    with pytest.raises(TypeError):
        graphc.lerp(start, 3.0, 0.5)
    s = start.clone()
    assert s.lerp_(end, 0.5) is s and s.tolist() == [2.0, 3.0]


def test_sign_frac_sigmoid_reciprocal_square():
    assert graphc.sign(graphc.tensor([True, False])).tolist() == [True, False]
    assert graphc.sign(graphc.tensor([True])).dtype is graphc.bool
    assert graphc.sign(graphc.tensor([0, 3], dtype=graphc.uint8)).tolist() == [0, 1]
    assert graphc.sign(graphc.tensor([-2.5, 0.0, 3.0])).tolist() == [-1.0, 0, 1.0]
    assert graphc.frac(graphc.tensor([1.5, -1.5])).tolist() == [0.5, -0.5]
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        graphc.frac(graphc.tensor([1, 2]))
    assert_close(graphc.sigmoid(graphc.tensor([0.0, 1.0, -20.0])).numpy(),
                 [0.5, 0.7310586, 2.0611537e-09], "float32")
    r = graphc.reciprocal(graphc.tensor([1, 2, 0]))
    assert r.dtype is graphc.float32 and r.tolist() == [1.0, 0.5, math.inf]
    s = graphc.square(graphc.tensor([True, False]))
    assert s.dtype is graphc.int64 and s.tolist() == [1, 0]
    assert graphc.square(graphc.tensor([100], dtype=graphc.int8)).tolist() == [16]  # wraps
    assert graphc.square(graphc.tensor([-3])).tolist() == [9]


def test_logical_and_bitwise_ops():
    f = graphc.tensor([1.0, 0.0, math.nan])
    assert graphc.logical_not(f).tolist() == [False, True, False]
    assert graphc.logical_and(f, graphc.tensor([2.0, 2.0, 2.0])).tolist() == [True, False, True]
    assert graphc.logical_xor(graphc.tensor([1]), graphc.tensor([0.0])).tolist() == [True]
    with pytest.raises(TypeError):
        graphc.logical_and(graphc.tensor([1]), 1)
    b1, b2 = graphc.tensor([True, False]), graphc.tensor([True, True])
    assert (b1 & b2).tolist() == [True, False] and (b1 & b2).dtype is graphc.bool
    assert (b1 | b2).tolist() == [True, True]
    assert (b1 ^ b2).tolist() == [False, True]
    assert (~b1).tolist() == [False, True]
    assert (~graphc.tensor([1, 2])).tolist() == [-2, -3]
    assert (~graphc.tensor([1, 2], dtype=graphc.uint8)).tolist() == [254, 253]
    with pytest.raises(TypeError, match="only implemented on integer and Boolean-type tensors"):
        ~graphc.tensor([1.0])
    with pytest.raises(RuntimeError, match="not implemented for 'Float'"):
        graphc.tensor([1.0]) & graphc.tensor([1.0])
    with pytest.raises(RuntimeError, match="not implemented for 'Float'"):
        graphc.tensor([1]) & 1.5
    with pytest.raises(RuntimeError, match="not implemented for 'Float'"):
        graphc.bitwise_not(graphc.tensor([1.0]))
    assert (graphc.tensor([1]) & True).tolist() == [1]
    mixed = graphc.tensor([1], dtype=graphc.int8) & graphc.tensor([3], dtype=graphc.uint8)
    assert mixed.dtype is graphc.int16
    assert (6 & graphc.tensor([3, 4])).tolist() == [2, 4]


def test_bool_arithmetic_errors():
    t = graphc.tensor([True, False])
    with pytest.raises(RuntimeError, match="Negation, the `-` operator, on a bool tensor is not "
                                           "supported"):
        -t
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with two bool tensors "
                                           "is not supported"):
        t - t
    with pytest.raises(RuntimeError, match="two bool tensors"):
        t - True
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool tensor is "
                                           "not supported"):
        t - 1
    with pytest.raises(RuntimeError, match="with a bool tensor"):
        2 - t
    with pytest.raises(RuntimeError, match="with a bool tensor"):
        graphc.tensor([1.0]) - t
    with pytest.raises(RuntimeError, match="with a bool tensor"):
        graphc.tensor([1]) - True
    assert (t + t).tolist() == [True, False] and (t + t).dtype is graphc.bool
    assert (t * t).dtype is graphc.bool
    assert (t + 1).dtype is graphc.int64


def test_add_alpha():
    a = graphc.tensor([1, 2])
    assert graphc.add(a, a, alpha=2).tolist() == [3, 6]
    assert graphc.sub(a, a, alpha=2).tolist() == [-1, -2]
    assert graphc.add(graphc.tensor([1.0]), 2, alpha=3).tolist() == [7.0]
    assert graphc.sub(graphc.tensor([1.0, 2.0]), a, alpha=0.5).tolist() == [0.5, 1.0]
    with pytest.raises(RuntimeError, match="For integral input tensors, argument alpha must not "
                                           "be a floating point number"):
        graphc.add(a, a, alpha=2.5)
    with pytest.raises(RuntimeError, match="Boolean alpha only supported for Boolean results"):
        graphc.add(a, a, alpha=True)
    b = graphc.tensor([True])
    assert graphc.add(b, b, alpha=True).tolist() == [True]
    half = graphc.add(graphc.tensor([1.0], dtype=graphc.float16), a[:1], alpha=2.5)
    assert half.dtype is graphc.float16 and half.tolist() == [3.5]
    c = graphc.tensor([1.0, 2.0])
    assert c.add_(c, alpha=2) is c and c.tolist() == [3.0, 6.0]
    assert c.sub_(1, alpha=2).tolist() == [1.0, 4.0]


def test_reflected_operators():
    t = graphc.tensor([1, 2])
    assert (2 - t).tolist() == [1, 0]
    assert (2 + t).tolist() == [3, 4]
    assert (2 * t).tolist() == [2, 4]
    r = 1 / t
    assert r.dtype is graphc.float32 and r.tolist() == [1.0, 0.5]
    assert (2 ** t).tolist() == [2, 4]
    assert (2.5 - t).dtype is graphc.float32
    assert (True + t).dtype is graphc.int64
    f = graphc.tensor([1.0, 2.0], dtype=graphc.float16)
    assert (2 - f).dtype is graphc.float16 and (1 / f).dtype is graphc.float16


def test_operator_results_match_functions():
    a, b = graphc.tensor([[1.5, -2.0]]), graphc.tensor([[3.0], [0.5]])
    pairs = [(a + b, graphc.add(a, b)), (a - b, graphc.sub(a, b)), (a * b, graphc.mul(a, b)),
             (a / b, graphc.div(a, b)), (a // b, graphc.floor_divide(a, b)),
             (a % b, graphc.remainder(a, b)), (a ** b, graphc.pow(a, b)),
             (a == b, graphc.eq(a, b)), (a != b, graphc.ne(a, b)), (a < b, graphc.lt(a, b)),
             (a <= b, graphc.le(a, b)), (a > b, graphc.gt(a, b)), (a >= b, graphc.ge(a, b)),
             (-a, graphc.neg(a)), (abs(a), graphc.abs(a))]
    for operator_result, function_result in pairs:
        assert operator_result.dtype is function_result.dtype
        np.testing.assert_array_equal(operator_result.numpy(), function_result.numpy())
    assert (+a) is a or (+a).tolist() == a.tolist()
    assert (a == None) is False and (a != None) is True  # noqa: E711


def test_inplace_operators():
    t = graphc.tensor([1.0, 2.0])
    same = t
    t += 1
    t *= 2
    t -= 1
    t /= 2
    assert t is same and t.tolist() == [1.5, 2.5]
    i = graphc.tensor([5, 7])
    i //= 2
    i %= 2
    assert i.tolist() == [0, 1]
    with pytest.raises(RuntimeError, match="can't be cast"):
        i /= 2
    m = graphc.tensor([True, False])
    m &= graphc.tensor([True, True])
    m |= graphc.tensor([False, True])
    m ^= graphc.tensor([True, False])
    assert m.tolist() == [False, True]


def test_where():
    c = graphc.tensor([True, False])
    promoted = graphc.where(c, graphc.tensor([1, 2]), graphc.tensor([3.0, 4.0]))
    assert promoted.dtype is graphc.float32 and promoted.tolist() == [1.0, 4.0]
    assert graphc.where(c, 1, 2.5).tolist() == [1.0, 2.5]
    assert graphc.where(c, 1, 2).dtype is graphc.int64
    assert graphc.where(c, True, False).dtype is graphc.bool
    assert graphc.where(c, graphc.tensor([1, 2], dtype=graphc.int8), 2.5).dtype is graphc.float32
    assert graphc.where(c, graphc.tensor([1.0, 2.0], dtype=graphc.float16), 2.5).dtype is \
        graphc.float16
    assert graphc.where(c, graphc.tensor(1.0, dtype=graphc.float64), graphc.tensor([1, 2])).dtype \
        is graphc.float64
    grid = graphc.where(graphc.tensor([[True], [False]]), graphc.tensor([1, 2]), graphc.tensor(0.5))
    assert grid.tolist() == [[1.0, 2.0], [0.5, 0.5]]
    assert graphc.tensor([1.0, 2.0]).where(c, 0).tolist() == [1.0, 0.0]
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor, but "
                                           "got a tensor with dtype Long"):
        graphc.where(graphc.tensor([1, 0]), graphc.tensor([1.0, 2.0]), graphc.tensor([3.0, 4.0]))
    nonzero = graphc.where(graphc.tensor([0, 3, 0, 4]))
    assert isinstance(nonzero, tuple) and nonzero[0].tolist() == [1, 3]


def test_isnan_isinf_isfinite_on_every_dtype():
    for dtype in DTYPES:
        t = graphc.tensor(pool("any", dtype))
        assert graphc.isnan(t).dtype is graphc.bool
        assert not graphc.isnan(t).numpy().any() and not graphc.isinf(t).numpy().any()
        assert graphc.isfinite(t).numpy().all()
    f = graphc.tensor([math.nan, math.inf, -math.inf, 1.0])
    assert graphc.isnan(f).tolist() == [True, False, False, False]
    assert graphc.isinf(f).tolist() == [False, True, True, False]
    assert graphc.isfinite(f).tolist() == [False, False, False, True]


def test_sign_of_nan_is_zero():
    assert graphc.sign(graphc.tensor([math.nan, -math.nan])).tolist() == [0.0, 0.0]


def test_unsupported_dtypes_raise_not_implemented_error():
    """torch raises NotImplementedError (a RuntimeError) for a kernel missing for a dtype."""
    cases = [lambda: graphc.tensor([1.0]) & graphc.tensor([1.0]),
             lambda: graphc.frac(graphc.tensor([1])),
             lambda: graphc.abs(graphc.tensor([True])),
             lambda: graphc.floor(graphc.tensor([True])),
             lambda: graphc.remainder(graphc.tensor([True]), graphc.tensor([True]))]
    for case in cases:
        with pytest.raises(NotImplementedError, match="not implemented for"):
            case()


def test_scalar_operands_wrap_into_the_tensor_dtype():
    assert (graphc.tensor([1], dtype=graphc.uint8) + -2).tolist() == [255]
    assert (graphc.tensor([1], dtype=graphc.int8) + 300).tolist() == [45]
    assert (graphc.tensor([1], dtype=graphc.uint8) < -1).tolist() == [True]
    assert (graphc.tensor([44], dtype=graphc.int8) == 300).tolist() == [True]
    assert (graphc.tensor([1, 2]) == 1.0).tolist() == [True, False]


def test_aliases_compute_the_same_as_their_ops():
    f = graphc.tensor([[0.25, -0.5], [0.75, 1.0]])
    i = graphc.tensor([[7, -7], [3, 2]])
    aliases = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "negative": "neg",
               "absolute": "abs", "fix": "trunc", "true_divide": "div", "divide": "div",
               "multiply": "mul", "subtract": "sub", "greater": "gt", "greater_equal": "ge",
               "less": "lt", "less_equal": "le", "not_equal": "ne", "arctan2": "atan2",
               "clip": "clamp"}
    for alias, name in aliases.items():
        args = (f,) if name in ("asin", "acos", "atan", "neg", "abs", "trunc") else \
            (f, 0.5) if name == "clamp" else (f, f)
        np.testing.assert_array_equal(getattr(graphc, alias)(*args).numpy(),
                                      getattr(graphc, name)(*args).numpy())
        assert hasattr(graphc.Tensor, alias), alias
    assert graphc.floor_divide(i, 2).tolist() == graphc.div(i, 2, rounding_mode="floor").tolist()


def test_functions_need_a_tensor_input():
    with pytest.raises(TypeError, match=r"exp\(\): argument 'input' \(position 1\) must be Tensor, "
                                        r"not int"):
        graphc.exp(2)
    with pytest.raises(TypeError):
        graphc.maximum(graphc.tensor([1.0]), 2)
    with pytest.raises(TypeError):
        graphc.atan2(graphc.tensor([1.0]), 2)


def test_inplace_method_set_matches_torch_names():
    for name in ("exp", "add", "sub", "mul", "div", "pow", "clamp", "abs", "neg", "sign",
                 "floor", "round", "lerp", "eq", "lt", "logical_and", "logical_not",
                 "bitwise_and", "bitwise_not", "remainder", "fmod", "atan2", "sigmoid",
                 "reciprocal", "square", "relu", "frac", "trunc", "clamp_min", "clamp_max", "floor_divide",
                 "true_divide", "multiply", "subtract", "arcsin", "fix", "clip", "zero", "fill",
                 "copy"):
        assert hasattr(graphc.Tensor, name + "_"), name
    for name in ("isnan", "isinf", "isfinite", "maximum", "minimum", "where"):
        assert not hasattr(graphc.Tensor, name + "_"), name


def test_cast_between_all_dtype_pairs():
    for source in DTYPES:
        array = pool("positive" if source == "bool" else "any", source)
        t = graphc.tensor(array)
        for target in DTYPES:
            converted = t.to(getattr(graphc, target))
            assert str(converted.dtype) == f"torch.{target}"
            np.testing.assert_array_equal(converted.numpy(), array.astype(target))
            if target == source:
                assert converted is t


# ------------------------------------------------------------------ against torch


def _build(lib, value):
    """The same operand for graphc or torch: numpy arrays become tensors, scalars stay."""
    if isinstance(value, np.ndarray):
        if value.ndim:
            return lib.tensor(value.copy())
        return lib.tensor(value.item(), dtype=getattr(lib, value.dtype.name))
    return value


def _outcome(function, lib, values):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(lib, *[_build(lib, v) for v in values])


def _short(result):
    if isinstance(result, tuple):
        return "(" + ", ".join(_short(r) for r in result) + ")"
    return f"{result.dtype} {np.asarray(result.numpy()).ravel().tolist()}"


class _Mismatches:
    """graphc against torch's answers (tests/oracle: live, or recorded where torch is absent),
    case by case, every mismatch reported at the end."""

    def __init__(self):
        self.failures = []

    def compare(self, function, values, context):
        theirs = oracle.answer(context, lambda torch: _outcome(function, torch, values))
        try:
            ours = _outcome(function, graphc, values)
        except Exception as error:  # noqa: BLE001 (comparing which error each library raises)
            if not isinstance(theirs, oracle.Raised):
                self.failures.append(f"{context}: graphc raised {error!r}, torch gave "
                                     f"{_short(theirs)}")
            elif not isinstance(error, theirs.type):
                self.failures.append(f"{context}: torch raised {theirs!r}, graphc {error!r}")
            return
        if isinstance(theirs, oracle.Raised):
            self.failures.append(f"{context}: torch raised {theirs!r}, graphc returned "
                                 f"{_short(ours)}")
            return
        self._compare_results(ours, theirs, context)

    def _compare_results(self, ours, theirs, context):
        if isinstance(theirs, tuple):
            for o, t in zip(ours, theirs):
                self._compare_results(o, t, context)
            return
        if str(ours.dtype) != str(theirs.dtype):
            self.failures.append(f"{context}: dtype {ours.dtype} != torch's {theirs.dtype}")
            return
        if tuple(ours.shape) != tuple(theirs.shape):
            self.failures.append(f"{context}: shape {tuple(ours.shape)} != {tuple(theirs.shape)}")
            return
        name = str(ours.dtype).split(".")[1]
        try:
            assert_values(ours.numpy(), theirs.numpy(), name, context)
        except AssertionError as error:
            self.failures.append(str(error))

    def check(self):
        if self.failures:
            pytest.fail("\n".join(self.failures[:40]), pytrace=False)


def _value_pools(ref, dtype, specials=False):
    values = []
    for domain in ref.domains:
        values.append(np.array(SPECIALS, dtype=dtype) if specials and domain != "condition"
                      else pool(domain, dtype))
    return values


def _torch_call(ref, name):
    return lambda lib, *operands: call(ref, name, lib, *operands)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_matches_torch_on_every_dtype(name):
    ref = REFERENCES[name]
    mismatches = _Mismatches()
    function = _torch_call(ref, name)
    for dtype in DTYPES:
        mismatches.compare(function, _value_pools(ref, dtype), f"{name}({dtype})")
        if dtype in FLOATS:
            mismatches.compare(function, _value_pools(ref, dtype, specials=True),
                               f"{name}({dtype}, nan/inf)")
    mismatches.check()


@pytest.mark.parametrize("name", [n for n in sorted(REFERENCES) if len(REFERENCES[n].domains) > 1])
def test_matches_torch_on_dtype_pairs_and_zero_dim_operands(name):
    ref = REFERENCES[name]
    mismatches = _Mismatches()
    function = _torch_call(ref, name)
    for first in DTYPES:
        for second in DTYPES:
            for position in range(1, len(ref.domains)):
                values = _value_pools(ref, first)
                values[position] = pool(ref.domains[position], second)
                mismatches.compare(function, values, f"{name}({first}, {second} at {position})")
                values[position] = np.array(values[position][1, 1])
                mismatches.compare(function, values, f"{name}({first}, 0-dim {second} at "
                                                     f"{position})")
    mismatches.check()


@pytest.mark.parametrize("name", [n for n in sorted(REFERENCES) if len(REFERENCES[n].domains) > 1])
def test_matches_torch_with_python_scalars(name):
    ref = REFERENCES[name]
    mismatches = _Mismatches()
    function = _torch_call(ref, name)
    for dtype in DTYPES:
        for position in range(1, len(ref.domains)):
            for scalar in (True, False, 2, -3, 0, 2.5, -0.5):
                values = _value_pools(ref, dtype)
                values[position] = scalar
                mismatches.compare(function, values, f"{name}({dtype}, {scalar!r} at {position})")
    mismatches.check()


_OPERATORS = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "floordiv": lambda a, b: a // b, "mod": lambda a, b: a % b,
    "pow": lambda a, b: a ** b, "and": lambda a, b: a & b, "or": lambda a, b: a | b,
    "xor": lambda a, b: a ^ b, "eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b, "le": lambda a, b: a <= b, "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


@pytest.mark.parametrize("operator", sorted(_OPERATORS))
def test_operators_match_torch_with_scalars_on_both_sides(operator):
    apply = _OPERATORS[operator]
    mismatches = _Mismatches()
    for dtype in DTYPES:
        domain = "nonzero" if operator in ("div", "floordiv", "mod") else "exponent" \
            if operator == "pow" else "any"
        for scalar in (True, 2, -3, 2.5, 0.5):
            if scalar in (True, 2, -3) and operator in ("floordiv", "mod") and dtype == "bool":
                continue
            values = [pool(domain, dtype), scalar]
            mismatches.compare(lambda lib, t, s: apply(t, s), values,
                               f"t({dtype}) {operator} {scalar!r}")
            values = [pool("positive" if operator == "pow" else domain, dtype), scalar]
            mismatches.compare(lambda lib, t, s: apply(s, t), values,
                               f"{scalar!r} {operator} t({dtype})")
    mismatches.check()


@pytest.mark.parametrize("name", [n for n in sorted(REFERENCES) if has_inplace_form(n)])
def test_inplace_matches_torch(name):
    ref = REFERENCES[name]
    method = inplace_method(ref, name)
    mismatches = _Mismatches()
    for first in DTYPES:
        for second in (first, "int64", "float32", "bool"):
            values = _value_pools(ref, first)
            for position in range(1, len(values)):
                values[position] = pool(ref.domains[position], second)

            def run(lib, target, *operands):
                result = method(target, *operands)
                assert result is target
                return target

            mismatches.compare(run, values, f"{name}_({first}, {second})")
    mismatches.check()


def test_unary_operators_match_torch():
    mismatches = _Mismatches()
    for dtype in DTYPES:
        for label, function in (("-t", lambda lib, t: -t), ("~t", lambda lib, t: ~t),
                                ("abs(t)", lambda lib, t: abs(t)), ("+t", lambda lib, t: +t)):
            mismatches.compare(function, [pool("any", dtype)], f"{label} {dtype}")
    mismatches.check()
