"""Elementwise formulas seen by sympy: the same formula numpy evaluates, as a sympy expression.

sympy is imported here only, on first use (it costs ~0.5 s), never on the eager hot path.
`formula_expression(op)` gives an op's formula in symbols x0, x1, ...; `c_expression(op)` prints
it as C. Gradients are derived from these expressions by graphc.autograd.
"""
import functools
import types

from .math import MATH_FUNCTIONS

__all__ = ["formula_expression", "input_symbols", "c_expression", "c_printer", "sympy_math",
           "c_math", "sympy_namespace", "c_spellings", "elementary", "derivative_expressions",
           "output_symbol"]


class Forms:
    """What graphc.ir.math's sympy forms are built with: the sympy module, the namespace being
    built (a form may call another function of it: trunc_divide calls trunc, which C reads as a
    call) and graphc's own sympy functions."""

    def __init__(self, namespace, functions):
        import sympy
        self.sympy = sympy
        self.math = namespace
        self.functions = functions

    @property
    def sigmoid(self):
        return _sigmoid_function()

    def opaque(self, name):
        """A function sympy knows only by name (a printer spells it)."""
        return self.sympy.Function(name)

    def predicate(self, class_name, name):
        """A truth-valued opaque function (isnan, ...), usable as a Piecewise condition; C and
        numpy spell it as the table does."""
        function = self.functions[name]
        return _predicate(class_name, function.c.double, function.numpy.__name__)

    def reflexive(self, relation, true_unless_nan):
        """`relation`, except for a value against itself: x == x, x <= x, x >= x hold unless x
        is NaN, x != x holds only for NaN (None: the relation never holds, as sympy already
        says)."""
        sympy, math = self.sympy, self.math

        def build(a, b):
            if a == b and isinstance(a, sympy.Expr) and true_unless_nan is not None:
                return sympy.Not(math.isnan(a)) if true_unless_nan else math.isnan(a)
            return relation(a, b)
        return build


def _sympy_form(function, forms):
    if function.sympy is None:
        return forms.opaque(function.name)
    if isinstance(function.sympy, str):
        return getattr(forms.sympy, function.sympy)
    return function.sympy(forms)


def _c_form(function, forms, integer):
    """C's reading: a call of the function's spelling where C must compute as numpy does (its
    int64 spelling for int64 values), else the sympy reading."""
    if integer and function.c is not None and function.c.int64:
        return forms.opaque(function.c.int64)
    if function.c_call:
        return forms.opaque(function.c.double)
    return _sympy_form(function, forms)


def sympy_namespace(functions=MATH_FUNCTIONS, c=False, integer=False):
    """The math namespace of formulas bound to sympy (the table's sympy column), or (`c`) the
    one the C backend reads formulas with, for int64 values when `integer`."""
    namespace = types.SimpleNamespace()
    forms = Forms(namespace, functions)
    for name, function in functions.items():
        setattr(namespace, name, _c_form(function, forms, integer) if c
                else _sympy_form(function, forms))
    return namespace


@functools.lru_cache(maxsize=None)
def sympy_math():
    """The math namespace of formulas, bound to sympy: derived gradients read formulas with it."""
    return sympy_namespace()


@functools.lru_cache(maxsize=None)
def c_math(integer=False):
    """The math namespace the C backend reads formulas with (`integer`: for int64 values).
    Gradients are never derived from this namespace: its calls are opaque to sympy."""
    return sympy_namespace(c=True, integer=integer)


def c_spellings(precision, target="c", functions=MATH_FUNCTIONS):
    """The C printer's user functions for `precision` ("double" or "float"): the name sympy
    prints each function by -> its spelling in `target`'s code ("c" or "cuda"), and the int64
    spellings of the functions integer values call."""
    result = {}
    for name, function in functions.items():
        if function.c is None:
            continue
        spelling = function.cuda if target == "cuda" and function.cuda else function.c
        if function.c_call:
            result[function.c.double] = getattr(spelling, precision)
        elif isinstance(function.sympy, str):
            result[function.sympy] = getattr(spelling, precision)
        if function.c.int64:
            result[function.c.int64] = function.c.int64
    return result


def c_spelling(name, precision, target="c", functions=MATH_FUNCTIONS):
    """One function's spelling (for what sympy prints as an operator: sqrt and pow are powers)."""
    function = functions[name]
    return getattr(function.cuda if target == "cuda" and function.cuda else function.c, precision)


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


def _no_set(self):
    raise NotImplementedError(f"{type(self).__name__} has no set of reals")


@functools.lru_cache(maxsize=None)
def _predicate(class_name, c_name, numpy_name):
    import sympy
    return type(class_name, (sympy.logic.boolalg.BooleanFunction,), {
        "nargs": 1,
        # a cast: sympy may fold the argument to an integer constant, which isnan refuses
        "_ccode": lambda self, printer: f"{c_name}((double)({printer._print(self.args[0])}))",
        "_numpycode": lambda self, printer: f"numpy.{numpy_name}({printer._print(self.args[0])})",
        # no set of reals for sympy to reason with (its reals are never NaN): Piecewise's
        # simplifications leave the condition alone
        "_eval_as_set": _no_set,
    })


def c_expression(op, **attrs):
    """The formula printed as a C99 expression in double (the C backend wraps it in a loop)."""
    symbols = input_symbols(op)
    return c_printer("double").doprint(elementary(op.formula(c_math(), *symbols, **attrs)))


@functools.lru_cache(maxsize=None)
def c_printer(precision, target="c"):
    """sympy's C99 printer for `precision` ("double" or "float") values, writing each math
    function as graphc.ir.math spells it for `target` ("c" or "cuda")."""
    import sympy
    from sympy.codegen.ast import float32, float64, real
    from sympy.core.numbers import equal_valued
    from sympy.printing.c import C99CodePrinter
    sqrt, power = c_spelling("sqrt", precision, target), c_spelling("pow", precision, target)

    class Printer(C99CodePrinter):
        def _print_Piecewise(self, expr):
            """One line, `(c0 ? e0 : (c1 ? e1 : e2))`: sympy's own breaks a ternary over six."""
            text = self._print(expr.args[-1].expr)
            for piece in reversed(expr.args[:-1]):
                text = f"({self._print(piece.cond)} ? {self._print(piece.expr)} : {text})"
            return text

        def _print_Pow(self, expr):
            """x ** -1/2 (rsqrt) is 1 / sqrt(x), as eager computes it: pow(-0.0, -0.5) would be
            +inf, not -inf, and pow(-inf, -0.5) 0, not NaN."""
            if expr.exp == -sympy.S.Half:
                return f"({self._print(sympy.S.One)}/{sqrt}({self._print(expr.base)}))"
            if equal_valued(expr.exp, 0.5):
                return f"{sqrt}({self._print(expr.base)})"
            if equal_valued(expr.exp, -1):
                return super()._print_Pow(expr)
            # (sympy's own would print x ** (1/3) as cbrt(x), which is not NaN for x < 0)
            return f"{power}({self._print(expr.base)}, {self._print(expr.exp)})"

    # the conversions and rounding the C backend wraps values in (templates/c/numpy_math.c.j2)
    conversions = {name: name for name in ("graphc_to_float", "graphc_to_double",
                                           "graphc_round32")}
    return Printer({"type_aliases": {real: float32 if precision == "float" else float64},
                    "user_functions": {**conversions, **c_spellings(precision, target)}})


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
