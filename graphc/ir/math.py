"""The math functions elementwise formulas call (`m.exp(x)`), each named once, with every reading.

One `MathFunction` per name a formula may use:
- `numpy`: what eager mode runs (graphc.runtime.cpu.NUMPY_MATH is this column);
- `sympy`: how sympy reads it, for derived gradients and printed C: the name of a sympy function
  (`"exp"`), a function of graphc.ir.symbolic's `Forms` (built on first use, so that importing
  graphc never imports sympy), or None for a function sympy has no meaning for (an opaque call);
- `c`: its C spelling for double and float values (and int64 values, where they have their own),
  which the C printer writes for it; None where sympy prints an expression (`x == y`, `where`);
- `c_call`: C calls its spelling rather than printing the sympy reading, because C must compute
  as numpy does where the sympy reading would not (fmax drops NaN, exp(x) - 1 loses tiny x);
  the graphc_ functions are templates/c/numpy_math.c.j2's;
- `cuda`: the CUDA spelling, where it differs from C's.
Adding a function is adding its entry here; every namespace and printer derives from this table.
"""
import dataclasses
import math
from typing import Callable, Optional, Union

import numpy as np

from ..runtime import numpy_math as _numpy

__all__ = ["C", "MathFunction", "MATH_FUNCTIONS", "numpy_namespace"]


@dataclasses.dataclass(frozen=True)
class C:
    """A function's spelling in C-style code, by the type of the values it computes on."""
    double: str
    float: str
    int64: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class MathFunction:
    name: str
    numpy: Callable
    sympy: Union[str, Callable, None]
    c: Optional[C] = None
    c_call: bool = False
    cuda: Optional[C] = None


def _entries(*functions):
    return {function.name: function for function in functions}


MATH_FUNCTIONS = _entries(
    # float32's exp in C is a branch-free polynomial, so that loops calling it vectorise
    # (templates/c/math_helpers.c.j2); a GPU has a fast expf of its own
    MathFunction("exp", np.exp, "exp", C("exp", "graphc_expf"), cuda=C("exp", "expf")),
    MathFunction("expm1", np.expm1, lambda s: lambda x: s.sympy.exp(x) - 1,
                 C("expm1", "expm1f"), c_call=True),
    MathFunction("log", np.log, "log", C("log", "logf")),
    MathFunction("log1p", np.log1p, lambda s: lambda x: s.sympy.log(1 + x),
                 C("log1p", "log1pf"), c_call=True),
    MathFunction("log2", np.log2, lambda s: lambda x: s.sympy.log(x, 2),
                 C("log2", "log2f"), c_call=True),
    MathFunction("log10", np.log10, lambda s: lambda x: s.sympy.log(x, 10),
                 C("log10", "log10f"), c_call=True),
    MathFunction("sqrt", np.sqrt, "sqrt", C("sqrt", "sqrtf")),
    MathFunction("sin", np.sin, "sin", C("sin", "sinf")),
    MathFunction("cos", np.cos, "cos", C("cos", "cosf")),
    MathFunction("tan", np.tan, "tan", C("tan", "tanf")),
    MathFunction("asin", np.arcsin, "asin", C("asin", "asinf")),
    MathFunction("acos", np.arccos, "acos", C("acos", "acosf")),
    MathFunction("atan", np.arctan, "atan", C("atan", "atanf")),
    MathFunction("atan2", np.arctan2, "atan2", C("atan2", "atan2f")),
    MathFunction("sinh", np.sinh, "sinh", C("sinh", "sinhf")),
    MathFunction("cosh", np.cosh, "cosh", C("cosh", "coshf")),
    MathFunction("tanh", np.tanh, "tanh", C("tanh", "tanhf")),
    # a named sympy function (its derivative is s * (1 - s)); printers spell it out
    MathFunction("sigmoid", _numpy.sigmoid, lambda s: s.sigmoid),
    # numpy has no erf: math's, element by element (correctly rounded in double)
    MathFunction("erf", _numpy.exactly(math.erf), "erf", C("erf", "erff")),
    MathFunction("erfc", _numpy.exactly(math.erfc), "erfc", C("erfc", "erfcf")),
    # int64 abs without a detour through double; -INT64_MIN wraps, as numpy's
    MathFunction("abs", np.abs, "Abs", C("fabs", "fabsf", int64="graphc_abs_i64")),
    MathFunction("sign", _numpy.sign, "sign"),
    MathFunction("floor", _numpy.keep_integers(np.floor), "floor", C("floor", "floorf")),
    MathFunction("ceil", _numpy.keep_integers(np.ceil), "ceiling", C("ceil", "ceilf")),
    # sympy's sign-times-floor loses signed zeros and is wrong for huge operands: C calls trunc
    MathFunction("trunc", _numpy.keep_integers(np.trunc),
                 lambda s: lambda x: s.sympy.sign(x) * s.sympy.floor(s.sympy.Abs(x)),
                 C("trunc", "truncf"), c_call=True),
    # numpy's rint rounding (halves to even); no sympy meaning: its gradient is zero
    MathFunction("round", _numpy.round_half_even, None, C("graphc_round", "graphc_roundf"),
                 c_call=True),
    MathFunction("where", np.where,
                 lambda s: lambda condition, x, y: s.sympy.Piecewise((x, condition), (y, True))),
    # sympy's Max/Min print as fmax/fmin, which drop NaN
    MathFunction("maximum", np.maximum, "Max",
                 C("graphc_maximum", "graphc_maximumf", int64="graphc_maximum_i64"), c_call=True),
    MathFunction("minimum", np.minimum, "Min",
                 C("graphc_minimum", "graphc_minimumf", int64="graphc_minimum_i64"), c_call=True),
    MathFunction("fmod", _numpy.fmod, lambda s: lambda x, y: x - y * s.math.trunc(x / y),
                 C("fmod", "fmodf"), c_call=True),
    # numpy's divmod: exact for huge operands and with numpy's signed zeros
    MathFunction("remainder", _numpy.remainder,
                 lambda s: lambda x, y: x - y * s.sympy.floor(x / y),
                 C("graphc_remainder", "graphc_remainderf"), c_call=True),
    MathFunction("floor_divide", _numpy.floor_divide, lambda s: lambda x, y: s.sympy.floor(x / y),
                 C("graphc_floor_divide", "graphc_floor_dividef"), c_call=True),
    MathFunction("trunc_divide", _numpy.trunc_divide, lambda s: lambda x, y: s.math.trunc(x / y)),
    MathFunction("pow", _numpy.power, lambda s: lambda x, y: x ** y, C("pow", "powf")),
    MathFunction("logical_not", np.logical_not, "Not"),
    MathFunction("logical_and", np.logical_and, "And"),
    MathFunction("logical_or", np.logical_or, "Or"),
    MathFunction("logical_xor", np.logical_xor, "Xor"),
    # not lowered on integers yet (the C backend lowers them on bool values as logic)
    MathFunction("bitwise_not", np.invert, None),
    MathFunction("bitwise_and", np.bitwise_and, None),
    MathFunction("bitwise_or", np.bitwise_or, None),
    MathFunction("bitwise_xor", np.bitwise_xor, None),
    # sympy's symbols are never NaN, so it folds x == x to True: a value compared with itself
    # is spelled with isnan instead
    MathFunction("eq", np.equal, lambda s: s.reflexive(s.sympy.Eq, True)),
    MathFunction("ne", np.not_equal, lambda s: s.reflexive(s.sympy.Ne, False)),
    MathFunction("lt", np.less, lambda s: s.reflexive(s.sympy.Lt, None)),
    MathFunction("le", np.less_equal, lambda s: s.reflexive(s.sympy.Le, True)),
    MathFunction("gt", np.greater, lambda s: s.reflexive(s.sympy.Gt, None)),
    MathFunction("ge", np.greater_equal, lambda s: s.reflexive(s.sympy.Ge, True)),
    MathFunction("isnan", np.isnan, lambda s: s.predicate("IsNan", "isnan"), C("isnan", "isnan")),
    MathFunction("isinf", np.isinf, lambda s: s.predicate("IsInf", "isinf"), C("isinf", "isinf")),
    MathFunction("isfinite", np.isfinite, lambda s: s.predicate("IsFinite", "isfinite"),
                 C("isfinite", "isfinite")),
    # the C backend lowers casts itself (graphc.codegen.c_backend: rounding, truncation, 0/1)
    MathFunction("cast", _numpy.cast, lambda s: lambda x, dtype: x),
)


def numpy_namespace(functions=MATH_FUNCTIONS):
    """The math namespace eager formulas are evaluated with: each name a plain attribute of a
    class (one direct lookup per call, on the per-op hot path)."""
    return type("NumpyMath", (), {name: staticmethod(function.numpy)
                                  for name, function in functions.items()})()
