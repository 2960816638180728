"""numpy's readings of the math functions formulas call, where a bare ufunc is not torch's:
rounding that keeps integers, sign of NaN, integer division by zero, negative integer powers,
an erf numpy lacks. graphc.ir.math names each of them in its table (these are the eager column).

On the per-op hot path: no sympy, no error-state contexts, nothing allocated beyond the result.
"""
import numpy as np

_ndarray = np.ndarray
_int = int


def keep_integers(ufunc):
    """Rounding functions are the identity on integers (numpy would return float64)."""
    def apply(x, *args):
        if isinstance(x, _ndarray) and x.dtype.kind in "biu":
            return x.copy()
        return ufunc(x, *args)
    return apply


def sign(x):
    if x.dtype.kind == "b":
        return x.copy()
    result = np.sign(x, out=np.empty_like(x))  # out=: an array also for a 0-d input
    if x.dtype.kind == "f":
        result[np.isnan(x)] = 0  # torch: (0 < x) - (x < 0), which is 0 for nan
    return result


def round_half_even(x, decimals=0):
    if x.dtype.kind in "biu":
        return x.copy()
    if decimals == 0:
        return np.rint(x)
    return np.round(x, decimals)


def integer_division_check(divisor):
    """torch raises for integer division by zero; numpy would silently give 0."""
    if isinstance(divisor, _ndarray):
        if divisor.dtype.kind in "biu" and not divisor.all():
            raise RuntimeError("ZeroDivisionError")
    elif isinstance(divisor, (_int, np.integer)) and divisor == 0:
        raise RuntimeError("ZeroDivisionError")


def is_integral(*values):
    return all((v.dtype.kind in "biu") if isinstance(v, _ndarray) else isinstance(v, (_int, np.integer))
               for v in values)


def floor_divide(x, y):
    if is_integral(x, y):
        integer_division_check(y)
        return np.floor_divide(x, y)
    return np.floor_divide(x, y)  # torch's float floor division is Python's: 1.0 // 0.1 == 9.0


def trunc_divide(x, y):
    if is_integral(x, y):
        integer_division_check(y)
        quotient = np.floor_divide(x, y)
        # C semantics: round toward zero where the signs differ and there is a remainder
        fix = (np.remainder(x, y) != 0) & ((x < 0) != (y < 0))
        return quotient + fix.astype(quotient.dtype)
    return np.trunc(np.true_divide(x, y))


def remainder(x, y):
    if is_integral(x, y):
        integer_division_check(y)
    return np.remainder(x, y)


def fmod(x, y):
    if is_integral(x, y):
        integer_division_check(y)
    return np.fmod(x, y)


def power(x, y):
    if is_integral(x, y):
        if isinstance(y, (_int, np.integer)) and y < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        if isinstance(y, _ndarray) and y.dtype.kind == "i" and (y < 0).any():
            return negative_integer_power(x, y)
    return np.power(x, y)


def negative_integer_power(x, y):
    """torch allows negative *tensor* exponents on integers: 1 / x**|y| truncated toward zero,
    so 1 for x == 1, +-1 for x == -1 (by the parity of y), else 0 (0 ** -n included)."""
    negative = y < 0
    result = np.power(x, np.where(negative, 0, y).astype(y.dtype))
    odd = (y % 2).astype(bool)
    reciprocal = np.where(x == 1, 1, np.where(x == -1, np.where(odd, -1, 1), 0))
    return np.where(negative, reciprocal, result).astype(result.dtype)


def sigmoid(x):
    if isinstance(x, _ndarray) and x.dtype.kind == "f":
        # one buffer, updated in place: 1 / (1 + exp(-x)) (given as out=, so that a 0-d
        # input's buffer is an array too, not a numpy scalar)
        out = np.negative(x, out=np.empty_like(x))
        np.exp(out, out=out)
        out += 1
        return np.reciprocal(out, out=out)
    return 1 / (1 + np.exp(-x))


def exactly(function):
    """A math-module function on arrays, element by element: numpy has no erf, and math's is
    correctly rounded in double (the result keeps a floating input's dtype)."""
    elementwise = np.frompyfunc(function, 1, 1)

    def apply(x):
        if not isinstance(x, _ndarray):
            return function(x)
        return np.asarray(elementwise(x), dtype=x.dtype if x.dtype.kind == "f" else np.float64)
    return apply


def cast(x, dtype):
    """A conversion to a graphc dtype (the cast op runs its own conversion; this is the formula's
    reading)."""
    return np.asarray(x).astype(dtype.np)
