"""Elementwise primitives, each declared once by its formula over a math namespace `m`.

The same formula is evaluated by numpy in eager mode and by sympy for gradients and C printing,
so a unary op is one line here; its gradient is derived from the formula. The public functions
built on these are in graphc.api.elementwise.
"""
from ..registry import (COMPARE, FLOAT_ONLY, INT_TO_FLOAT, INTEGRAL, LOGICAL, PROMOTE, Op,
                        declare, elementwise)

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
    "sigmoid": lambda m, x: m.sigmoid(x),
    "reciprocal": lambda m, x: 1 / x,
}.items():
    elementwise(_name, _formula, INT_TO_FLOAT)
# the error function (nn.GELU's): numpy evaluates it with math.erf, C calls erf/erff, and sympy
# derives its gradient 2/sqrt(pi) exp(-x^2)
elementwise("erf", lambda m, x: m.erf(x), INT_TO_FLOAT)
elementwise("erfc", lambda m, x: m.erfc(x), INT_TO_FLOAT)


elementwise("neg", lambda m, x: -x, PROMOTE, no_bool=True)
elementwise("abs", lambda m, x: m.abs(x), PROMOTE, no_bool=True)
elementwise("sign", lambda m, x: m.sign(x), PROMOTE)
elementwise("square", lambda m, x: x * x, PROMOTE)
# NaN stays NaN (NaN <= 0 is false); the gradient is 0 at x = 0, as torch's
elementwise("relu", lambda m, x: m.where(m.le(x, 0), 0, x), PROMOTE, no_bool=True)
elementwise("floor", lambda m, x: m.floor(x), PROMOTE, no_bool=True, torch_name="floor_vml")
elementwise("ceil", lambda m, x: m.ceil(x), PROMOTE, no_bool=True, torch_name="ceil_vml")
elementwise("trunc", lambda m, x: m.trunc(x), PROMOTE, no_bool=True, torch_name="trunc_vml")
elementwise("round", lambda m, x, decimals: m.round(x, decimals), PROMOTE, attrs=("decimals",),
            no_bool=True)
elementwise("frac", lambda m, x: x - m.trunc(x), FLOAT_ONLY)
elementwise("logical_not", lambda m, x: m.logical_not(x), LOGICAL)
elementwise("bitwise_not", lambda m, x: m.bitwise_not(x), INTEGRAL)
elementwise("isnan", lambda m, x: m.isnan(x), COMPARE)
elementwise("isinf", lambda m, x: m.isinf(x), COMPARE)
elementwise("isfinite", lambda m, x: m.isfinite(x), COMPARE)


elementwise("add", lambda m, x, y: x + y, PROMOTE)
elementwise("sub", lambda m, x, y: x - y, PROMOTE, no_bool=True)
elementwise("mul", lambda m, x, y: x * y, PROMOTE)
elementwise("div", lambda m, x, y: x / y, INT_TO_FLOAT)
elementwise("div_floor", lambda m, x, y: m.floor_divide(x, y), PROMOTE, no_bool=True)
elementwise("div_trunc", lambda m, x, y: m.trunc_divide(x, y), PROMOTE, no_bool=True)
elementwise("remainder", lambda m, x, y: m.remainder(x, y), PROMOTE, no_bool=True)
elementwise("fmod", lambda m, x, y: m.fmod(x, y), PROMOTE, no_bool=True)
elementwise("pow", lambda m, x, y: m.pow(x, y), PROMOTE, no_bool=True)
elementwise("atan2", lambda m, x, y: m.atan2(x, y), INT_TO_FLOAT)
elementwise("maximum", lambda m, x, y: m.maximum(x, y), PROMOTE)
elementwise("minimum", lambda m, x, y: m.minimum(x, y), PROMOTE)
elementwise("eq", lambda m, x, y: m.eq(x, y), COMPARE)
elementwise("ne", lambda m, x, y: m.ne(x, y), COMPARE)
elementwise("lt", lambda m, x, y: m.lt(x, y), COMPARE)
elementwise("le", lambda m, x, y: m.le(x, y), COMPARE)
elementwise("gt", lambda m, x, y: m.gt(x, y), COMPARE)
elementwise("ge", lambda m, x, y: m.ge(x, y), COMPARE)
elementwise("logical_and", lambda m, x, y: m.logical_and(x, y), LOGICAL)
elementwise("logical_or", lambda m, x, y: m.logical_or(x, y), LOGICAL)
elementwise("logical_xor", lambda m, x, y: m.logical_xor(x, y), LOGICAL)
elementwise("bitwise_and", lambda m, x, y: m.bitwise_and(x, y), INTEGRAL)
elementwise("bitwise_or", lambda m, x, y: m.bitwise_or(x, y), INTEGRAL)
elementwise("bitwise_xor", lambda m, x, y: m.bitwise_xor(x, y), INTEGRAL)


elementwise("where", lambda m, c, x, y: m.where(c, x, y), PROMOTE, arity=3)
elementwise("lerp", lambda m, x, y, w: x + w * (y - x), FLOAT_ONLY)


def _nan_unless(m, bound, value):
    """`value`, or the bound where it is NaN. The bound itself rather than a NaN constant keeps
    the C expression in the operands' type (a NAN would make an int64 clamp go through float);
    nested where()s rather than logical_or, which sympy prints for numpy as one reduction that
    fails on operands of different shapes."""
    return m.where(m.isnan(bound), bound, value)


# clamp_min/clamp_max take a scalar bound (a tensor bound is maximum/minimum, which torch allows
# on bool); clamp takes two bounds of the same kind
# Written with where() so that the derived gradient has torch's convention: x passes its
# gradient when it lies on a bound (inclusive), a bound only when x lies strictly beyond it, and
# min > max gives max everywhere (also for a NaN x, where torch gives NaN). A NaN bound gives
# NaN, passing x no gradient; the NaN bound takes it (torch: neither, its masks compare with
# NaN); a NaN x gives NaN and passes its own gradient (torch: none).
elementwise("clamp", lambda m, x, low, high: _nan_unless(m, low, _nan_unless(m, high, m.where(
    x > high, high, m.where(low > high, high, m.where(x < low, low, x))))),
    PROMOTE, no_bool=True)
elementwise("clamp_min", lambda m, x, low: _nan_unless(m, low, m.where(x < low, low, x)),
            PROMOTE, no_bool=True)
elementwise("clamp_max", lambda m, x, high: _nan_unless(m, high, m.where(x > high, high, x)),
            PROMOTE, no_bool=True)


# (its executor is graphc.runtime.cpu's cast: no formula evaluation, the dtype is an attribute)
_cast_op = declare(Op("cast", "elementwise", arity=1, formula=lambda m, x, dtype: m.cast(x, dtype),
                      dtype_rule="cast", attrs=("dtype",)))
