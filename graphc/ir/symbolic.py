"""Elementwise formulas seen by sympy: the same formula numpy evaluates, as a sympy expression.

sympy is imported here only, on first use (it costs ~0.5 s), never on the eager hot path.
`formula_expression(op)` gives an op's formula in symbols x0, x1, ...; `c_expression(op)` prints
it as C. Gradients are derived from these expressions by graphc.autograd.
"""
import functools
import types

__all__ = ["formula_expression", "input_symbols", "c_expression", "sympy_math", "c_math",
           "elementary", "derivative_expressions", "output_symbol"]


@functools.lru_cache(maxsize=None)
def sympy_math():
    """The math namespace of formulas, bound to sympy (mirrors runtime.cpu.NUMPY_MATH)."""
    import sympy

    def undefined(name):
        # functions with no sympy counterpart stay opaque calls the C printer maps by name
        return sympy.Function(name)

    def predicate(name):
        # a truth-valued opaque function (isnan, ...), usable as a Piecewise condition; C and
        # numpy spell it as math.h / numpy do
        c_name = C_PREDICATES[name]
        return type(name, (sympy.logic.boolalg.BooleanFunction,), {
            "nargs": 1,
            # a cast: sympy may fold the argument to an integer constant, which isnan refuses
            "_ccode": lambda self, printer: f"{c_name}((double)({printer._print(self.args[0])}))",
            "_numpycode": lambda self, printer: f"numpy.{c_name}({printer._print(self.args[0])})",
            # no set of reals for sympy to reason with (its reals are never NaN): Piecewise's
            # simplifications leave the condition alone
            "_eval_as_set": _no_set,
        })

    def where(condition, x, y):
        return sympy.Piecewise((x, condition), (y, True))

    is_nan = predicate("IsNan")

    def truncate(x):
        return sympy.sign(x) * sympy.floor(sympy.Abs(x))

    return types.SimpleNamespace(
        exp=sympy.exp,
        expm1=lambda x: sympy.exp(x) - 1,
        log=sympy.log,
        log1p=lambda x: sympy.log(1 + x),
        log2=lambda x: sympy.log(x, 2),
        log10=lambda x: sympy.log(x, 10),
        sqrt=sympy.sqrt,
        sin=sympy.sin, cos=sympy.cos, tan=sympy.tan,
        asin=sympy.asin, acos=sympy.acos, atan=sympy.atan, atan2=sympy.atan2,
        sinh=sympy.sinh, cosh=sympy.cosh, tanh=sympy.tanh,
        erf=sympy.erf, erfc=sympy.erfc,
        abs=sympy.Abs,
        sign=sympy.sign,
        floor=sympy.floor, ceil=sympy.ceiling,
        trunc=truncate,
        round=lambda x, decimals=0: undefined("round")(x, decimals),
        where=where,
        maximum=sympy.Max, minimum=sympy.Min,
        fmod=lambda x, y: x - y * truncate(x / y),
        remainder=lambda x, y: x - y * sympy.floor(x / y),
        floor_divide=lambda x, y: sympy.floor(x / y),
        trunc_divide=lambda x, y: truncate(x / y),
        pow=lambda x, y: x ** y,
        # sympy's symbols are never NaN, so it folds x == x to True: a value compared with
        # itself is spelled with isnan instead
        eq=_reflexive(sympy.Eq, True, is_nan), ne=_reflexive(sympy.Ne, False, is_nan),
        lt=_reflexive(sympy.Lt, None, is_nan), le=_reflexive(sympy.Le, True, is_nan),
        gt=_reflexive(sympy.Gt, None, is_nan), ge=_reflexive(sympy.Ge, True, is_nan),
        logical_not=sympy.Not,
        logical_and=sympy.And, logical_or=sympy.Or, logical_xor=sympy.Xor,
        bitwise_not=undefined("bitwise_not"),
        bitwise_and=undefined("bitwise_and"),
        bitwise_or=undefined("bitwise_or"),
        bitwise_xor=undefined("bitwise_xor"),
        isnan=is_nan,
        isinf=predicate("IsInf"),
        isfinite=predicate("IsFinite"),
        cast=lambda x, dtype: x,
        sigmoid=_sigmoid_function(),
    )


# the C helpers (templates/c/elementwise.c.j2) that compute as numpy does where sympy's reading
# does not: its Max/Min print as fmax/fmin, which drop NaN; its floor-based remainder and
# sign-times-floor trunc lose signed zeros and are wrong for huge or infinite operands; exp(x) - 1
# and log(1 + x) lose tiny x. The float32 printer appends "f" to each (graphc_maximumf).
C_HELPERS = ("graphc_maximum", "graphc_minimum", "graphc_remainder", "graphc_floor_divide",
             "graphc_round", "fmod", "trunc")
# their int64 counterparts (the others are not lowered on integers)
C_INTEGER_HELPERS = {"graphc_maximum": "graphc_maximum_i64", "graphc_minimum": "graphc_minimum_i64",
                     "abs": "graphc_abs_i64"}


@functools.lru_cache(maxsize=None)
def c_math(integer=False):
    """The math namespace the C backend reads formulas with: sympy_math, except for the
    functions C must compute as numpy does (C_HELPERS, opaque to sympy, which therefore cannot
    rewrite them). `integer`: for int64 values (abs and the extremes without a detour through
    double). Gradients are never derived from this namespace."""
    import sympy
    from sympy.codegen.cfunctions import expm1, log1p
    base = vars(sympy_math()).copy()

    def helper(name):
        return sympy.Function(C_INTEGER_HELPERS.get(name, name) if integer else name)

    trunc = helper("trunc")
    base.update(
        expm1=expm1, log1p=log1p,
        maximum=helper("graphc_maximum"), minimum=helper("graphc_minimum"),
        remainder=helper("graphc_remainder"), floor_divide=helper("graphc_floor_divide"),
        fmod=helper("fmod"), trunc=trunc, trunc_divide=lambda x, y: trunc(x / y),
        round=helper("graphc_round"),
    )
    if integer:
        base.update(abs=helper("abs"))
    return types.SimpleNamespace(**base)


def input_symbols(op):
    import sympy
    return sympy.symbols(" ".join(f"x{i}" for i in range(op.arity)), real=True, seq=True)


@functools.lru_cache(maxsize=None)
def _expression(op, attrs):
    symbols = input_symbols(op)
    return op.formula(sympy_math(), *symbols, **dict(attrs))


def formula_expression(op, **attrs):
    """The op's formula as a sympy expression in x0, x1, ... (cached per op and attributes)."""
    return _expression(op, tuple(sorted(attrs.items())))


# the C functions that graphc's truth-valued opaque functions print as
def _no_set(self):
    raise NotImplementedError(f"{type(self).__name__} has no set of reals")


def _reflexive(relation, true_unless_nan, is_nan):
    """`relation`, except for a value against itself: x == x, x <= x, x >= x hold unless x is
    NaN, x != x holds only for NaN (None: the relation never holds, as sympy already says)."""
    import sympy

    def build(a, b):
        if a == b and isinstance(a, sympy.Expr) and true_unless_nan is not None:
            return sympy.Not(is_nan(a)) if true_unless_nan else is_nan(a)
        return relation(a, b)
    return build


C_PREDICATES = {"IsNan": "isnan", "IsInf": "isinf", "IsFinite": "isfinite"}


def c_expression(op, **attrs):
    """The formula printed as a C99 expression (the C backend wraps it in a loop)."""
    from sympy.printing.c import C99CodePrinter
    printer = C99CodePrinter({"user_functions": {
        "bitwise_not": "~", **C_PREDICATES, **{name: name for name in C_HELPERS},
        "bitwise_and": "graphc_bitwise_and",
        "bitwise_or": "graphc_bitwise_or", "bitwise_xor": "graphc_bitwise_xor"}})
    symbols = input_symbols(op)
    return printer.doprint(elementary(op.formula(c_math(), *symbols, **attrs)))


def elementary(expression):
    """The expression with graphc's named functions (sigmoid) spelled out in elementary ones,
    for printers that do not know them (C, numpy)."""
    import sympy
    sigmoid = _sigmoid_function()
    return expression.replace(sigmoid, lambda x: 1 / (1 + sympy.exp(-x)))


@functools.lru_cache(maxsize=None)
def _sigmoid_function():
    """sigmoid as a named sympy function whose derivative sympy knows as s * (1 - s): derived
    gradients then stay finite where exp(-x) overflows (as exp is known to be its own derivative)."""
    import sympy

    class sigmoid(sympy.Function):
        def fdiff(self, argindex=1):
            return self * (1 - self)

        def _eval_rewrite_as_exp(self, x, **kwargs):
            return 1 / (1 + sympy.exp(-x))

    return sigmoid


@functools.lru_cache(maxsize=None)
def _derivatives(op, attrs):
    import sympy
    expression = _expression(op, attrs)
    result = []
    for symbol in input_symbols(op):
        derivative = sympy.diff(expression, symbol)
        # piecewise-constant functions (sign, floor, round, ...) have zero gradient, as in torch
        derivative = derivative.replace(sympy.DiracDelta, lambda *args: sympy.S.Zero)
        derivative = derivative.replace(lambda e: isinstance(e, sympy.Derivative), lambda e: sympy.S.Zero)
        derivative = derivative.replace(lambda e: isinstance(e, sympy.Subs), lambda e: e.doit())
        # y * x**y / x -> y * x**(y - 1): finite at x = 0, as torch computes it
        derivative = sympy.powsimp(derivative)
        # where the op's own value reappears (exp, sigmoid, tanh, sqrt, ...), read the saved
        # output instead of recomputing it
        if not expression.is_Symbol and not expression.is_Atom:
            derivative = _reuse_output(derivative, expression)
        result.append(derivative)
    return tuple(result)


def _reuse_output(derivative, expression):
    """Substitute the output symbol for the op's formula, unless that divides by an input that
    was not a divisor before (x**(n-1) must not become y/x, which is NaN at x = 0)."""
    import sympy
    candidate = derivative.subs(expression, output_symbol())
    inputs = expression.free_symbols

    def divisors(e):
        return sympy.fraction(sympy.together(e))[1].free_symbols & inputs

    return candidate if divisors(candidate) <= divisors(derivative) else derivative


@functools.lru_cache(maxsize=None)
def output_symbol():
    """The symbol standing for an op's result in its derivatives."""
    import sympy
    return sympy.Symbol("y", real=True)


def derivative_expressions(op, **attrs):
    """d formula / d x_i for every input, as sympy expressions (derived with sympy.diff, cached)."""
    return _derivatives(op, tuple(sorted(attrs.items())))
