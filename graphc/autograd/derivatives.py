"""Gradients of elementwise ops, derived from their sympy formula and evaluated with graphc ops.

For each op and input, `sympy.diff` of the declared formula is printed once as a Python function
over graphc ops (the derivative of sigmoid, for instance, becomes `s*(1 - s)` computed with
graphc.sigmoid), so eager backward runs graphc ops, which autograd can record in turn
(create_graph=True, higher derivatives) and which a tracer can turn into IR.
"""
import functools
import math

import numpy as np

from ..dtypes import _BY_NP
from ..ir.math import MATH_FUNCTIONS
from .. import dispatch as _dispatch
from ..tensor import Tensor, wrap
from .grad_mode import state as _grad_state

__all__ = ["elementwise_vjp"]

_ndarray = np.ndarray


def _namespace():
    """Names the printed derivatives call, bound to graphc ops."""
    import graphc

    def heaviside(x, at_zero=0.5):
        return graphc.where(x > 0, 1.0, graphc.where(x == 0, at_zero, 0.0)).to(x.dtype) \
            if isinstance(x, graphc.Tensor) else float(x > 0) + at_zero * (x == 0)

    def piecewise(*pairs):
        """(value, condition) pairs, the last condition True: nested where(). Integer pieces
        (the 0/1 of a derivative's mask) become floats, so the mask is a float tensor."""
        def number(value):
            return float(value) if type(value) is int else value
        result = number(pairs[-1][0])
        for value, condition in reversed(pairs[:-1]):
            result = graphc.where(condition, number(value), result) \
                if isinstance(condition, graphc.Tensor) else (number(value) if condition else result)
        return result

    def maybe(function):
        def apply(x, *args):
            return function(x, *args) if isinstance(x, graphc.Tensor) else function(graphc.tensor(x), *args)
        return apply

    # the functions sympy names as graphc.ir.math does: exp, Abs, ceiling, erf, ... -> graphc's
    named = {function.sympy: getattr(graphc, name) for name, function in MATH_FUNCTIONS.items()
             if isinstance(function.sympy, str) and hasattr(graphc, name)}
    return {
        **named, "sigmoid": graphc.sigmoid, "Heaviside": heaviside, "Piecewise": piecewise,
        "log2": maybe(graphc.log2), "log10": maybe(graphc.log10),
        "Max": lambda a, b: _extreme(graphc.maximum, "clamp_min", max, a, b),
        "Min": lambda a, b: _extreme(graphc.minimum, "clamp_max", min, a, b),
        "logical_and": lambda a, b: _logical(graphc.logical_and, a, b, lambda p, q: p and q),
        "logical_or": lambda a, b: _logical(graphc.logical_or, a, b, lambda p, q: p or q),
        "logical_not": lambda a: graphc.logical_not(a) if isinstance(a, graphc.Tensor) else not a,
        "isnan": lambda a: graphc.isnan(a) if isinstance(a, graphc.Tensor) else math.isnan(a),
        "isinf": lambda a: graphc.isinf(a) if isinstance(a, graphc.Tensor) else math.isinf(a),
        "isfinite": lambda a: graphc.isfinite(a) if isinstance(a, graphc.Tensor)
        else math.isfinite(a), "pi": 3.141592653589793, "E": 2.718281828459045,
    }


def _logical(elementwise, a, b, builtin):
    """and/or where either side may be a Python bool (a comparison of scalar bounds)."""
    import graphc
    if isinstance(a, graphc.Tensor) or isinstance(b, graphc.Tensor):
        if not isinstance(a, graphc.Tensor):
            a, b = b, a
        return elementwise(a, b if isinstance(b, graphc.Tensor) else graphc.full_like(a, b, dtype=graphc.bool))
    return builtin(a, b)


def _extreme(elementwise, clamp, builtin, a, b):
    """max/min where either side may be a Python number (a scalar bound of clamp)."""
    import graphc
    if isinstance(a, graphc.Tensor) and isinstance(b, graphc.Tensor):
        return elementwise(a, b)
    if isinstance(a, graphc.Tensor):
        return getattr(a, clamp)(b)
    if isinstance(b, graphc.Tensor):
        return getattr(b, clamp)(a)
    return builtin(a, b)


class _GraphcPrinter:
    """Prints sympy expressions as Python over the names of `_namespace()`."""

    @staticmethod
    @functools.lru_cache(maxsize=None)
    def printer():
        from sympy.printing.pycode import PythonCodePrinter

        class Printer(PythonCodePrinter):
            def _print_Function(self, expr):
                return f"{expr.func.__name__}({', '.join(self._print(a) for a in expr.args)})"

            def _print_Piecewise(self, expr):
                pairs = ", ".join(f"({self._print(v)}, {self._print(c)})" for v, c in expr.args)
                return f"Piecewise({pairs})"

            def _print_IsNan(self, expr):  # the predicates of graphc.ir.symbolic
                return f"isnan({self._print(expr.args[0])})"

            def _print_IsInf(self, expr):
                return f"isinf({self._print(expr.args[0])})"

            def _print_IsFinite(self, expr):
                return f"isfinite({self._print(expr.args[0])})"

            def _print_And(self, expr):
                result = self._print(expr.args[0])
                for arg in expr.args[1:]:
                    result = f"logical_and({result}, {self._print(arg)})"
                return result

            def _print_Or(self, expr):
                result = self._print(expr.args[0])
                for arg in expr.args[1:]:
                    result = f"logical_or({result}, {self._print(arg)})"
                return result

            def _print_Not(self, expr):
                return f"logical_not({self._print(expr.args[0])})"

            def _print_BooleanTrue(self, expr):
                return "True"

            def _print_Heaviside(self, expr):
                return f"Heaviside({', '.join(self._print(a) for a in expr.args)})"


            def _print_Pow(self, expr, rational=False):
                base, exponent = expr.as_base_exp()
                if exponent == -1:
                    return f"(1 / {self.parenthesize(base, 1000)})"
                if exponent == 0.5 or str(exponent) == "1/2":
                    return f"sqrt({self._print(base)})"
                return f"({self.parenthesize(base, 1000)} ** {self.parenthesize(exponent, 1000)})"

            def _print_Rational(self, expr):
                return repr(float(expr.p) / float(expr.q))

            def _print_Half(self, expr):
                return "0.5"

            def _print_Integer(self, expr):
                return str(int(expr))

            def _print_Float(self, expr):
                return repr(float(expr))

            def _print_Exp1(self, expr):
                return "E"

            def _print_Pi(self, expr):
                return "pi"

        # the table's other functions print as calls of `_namespace()`'s names (sympy's own
        # printer would spell some as math.* or numpy.*)
        for function in MATH_FUNCTIONS.values():
            method = f"_print_{function.sympy}"
            if isinstance(function.sympy, str) and method not in Printer.__dict__:
                setattr(Printer, method, Printer._print_Function)
        return Printer({"fully_qualified_modules": False, "strict": False})


def _specialised_derivative(op, attrs, index, scalars):
    """The sympy derivative with scalar operands substituted, or a number for a constant one."""
    import sympy
    from ..ir.symbolic import derivative_expressions, input_symbols
    expression = derivative_expressions(op, **dict(attrs))[index]
    if scalars:
        symbols = input_symbols(op)
        expression = expression.subs({symbols[position]: sympy.sympify(value)
                                      for position, value in scalars})
    if expression.is_number and expression.is_real:
        value = float(expression)  # (sympy's Float(1.0) != 1: compare as Python numbers)
        if value == 0:
            return None
        if value == 1 or value == -1:
            return int(value)  # the gradient passes through (negated): no multiplication
    # constants such as log(10) or sqrt(pi) (erf's) become numbers: the printed functions get
    # tensors, not symbols
    return expression.xreplace({f: f.evalf() for f in expression.atoms(sympy.Function, sympy.Pow)
                                if f.is_number})


@functools.lru_cache(maxsize=4096)
def _derivative_function(op, attrs, index, scalars=()):
    """A Python function (grad, x0, x1, ..., y) -> grad * d op / d x_index over graphc ops
    (differentiable in turn); None for a zero derivative, 1 or -1 for a constant one. `scalars` ((position, value)
    pairs) are Python-number operands substituted first, so x ** 2 differentiates to 2 x."""
    from ..ir.symbolic import input_symbols, output_symbol
    expression = _specialised_derivative(op, attrs, index, scalars)
    if expression is None or isinstance(expression, int):
        return expression
    import sympy
    grad = sympy.Symbol("grad")
    names = ["grad"] + [str(s) for s in input_symbols(op)] + [str(output_symbol())]
    # grad moved into each piece of a piecewise derivative, as on arrays (_array_vjp_function):
    # a masked-out gradient is where(mask, grad, 0), +0.0 as torch's, not grad * 0 (-0.0 for a
    # negative grad)
    printed = _GraphcPrinter.printer().doprint(sympy.piecewise_fold(grad * expression))
    source = f"def derivative({', '.join(names)}):\n    return {printed}\n"
    namespace = _namespace()
    exec(compile(source, f"<d {op.name}/d x{index}>", "exec"), namespace)
    function = namespace["derivative"]
    function.source = source
    return function


@functools.lru_cache(maxsize=4096)
def _array_vjp_function(op, attrs, index, scalars=()):
    """grad * d op / d x_index on numpy arrays: the same derivative, for backward passes that
    record nothing (create_graph=False), where graphc's per-op bookkeeping would be wasted."""
    import sympy
    from ..ir.symbolic import elementary, input_symbols, output_symbol
    expression = _specialised_derivative(op, attrs, index, scalars)
    if expression is None or isinstance(expression, int):
        return expression
    grad = sympy.Symbol("grad")
    # grad moved into each piece of a piecewise derivative (ReLU's is grad or 0), which prints
    # as nested where(): numpy's select, sympy's own spelling, took 20x as long and made
    # float32 gradients float64 through its integer pieces
    function = sympy.lambdify([grad, *input_symbols(op), output_symbol()],
                              sympy.piecewise_fold(grad * elementary(expression)),
                              modules="numpy", printer=_where_printer())
    # numpy's floating-point warnings are silenced for graphc's modules (runtime/cpu.py)
    function.__globals__["__name__"] = "graphc.autograd.derived"
    return function


@functools.lru_cache(maxsize=None)
def _where_printer():
    """numpy's printer, with a Piecewise as nested numpy.where (each piece's value as computed)."""
    from sympy.printing.numpy import NumPyPrinter

    class WherePrinter(NumPyPrinter):
        def _print_Piecewise(self, expr):
            where = self._module_format("numpy.where")
            text = self._print(expr.args[-1].expr)
            for piece in reversed(expr.args[:-1]):
                text = f"{where}({self._print(piece.cond)}, {self._print(piece.expr)}, {text})"
            return text

        def _print_Or(self, expr):  # numpy's logical_or.reduce stacks its operands first
            return self._fold("numpy.logical_or", expr.args)

        def _print_And(self, expr):
            return self._fold("numpy.logical_and", expr.args)

        def _fold(self, function, args):
            function, text = self._module_format(function), self._print(args[0])
            for arg in args[1:]:
                text = f"{function}({text}, {self._print(arg)})"
            return text
    return WherePrinter({"fully_qualified_modules": True, "inline": True,
                         "allow_unknown_functions": True, "user_functions": {}})


def derivative_function(op, attrs, index, scalars=()):
    return _derivative_function(op, tuple(sorted(attrs.items())), index, scalars)


_TABLES = {}  # (op, attrs, scalar operands, on arrays?) -> per operand: function, 1, -1 or None
_NUMBERS = (int, float, bool)


def elementwise_vjp(op, attrs, operands, output, grad, needs):
    """Gradients of an elementwise op: grad * d op / d x_i for each operand i in `needs`
    (`output` is the op's saved result where a derivative reads it, else None). A derivative
    that is identically zero (floor, round, sign, ...) gives zeros, as torch's rules do, so the
    operand still receives a gradient.

    When grad mode is off (a backward that records nothing) the products are computed on numpy
    arrays directly; with create_graph=True they are graphc ops, so they are recorded in turn."""
    # (while graphc.compile traces, the products must be graphc ops so that they are recorded)
    on_arrays = not _grad_state.enabled and not _dispatch.is_tracing()
    scalars = ()
    for index, value in enumerate(operands):
        if value.__class__ in _NUMBERS:
            scalars += ((index, value),)
    attrs_key = tuple(sorted(attrs.items())) if attrs else ()
    key = (op, attrs_key, scalars, on_arrays)
    table = _TABLES.get(key)
    if table is None:
        if len(_TABLES) > 4096:
            _TABLES.clear()
        build = _array_vjp_function if on_arrays else _derivative_function
        table = _TABLES[key] = tuple(build(op, attrs_key, i, scalars)
                                     for i in range(len(operands)))
    if on_arrays:
        return _array_vjp(table, operands, output, grad, needs)
    grads = []
    for need, derivative in zip(needs, table):
        if not need:
            grads.append(None)
        elif derivative is None:
            grads.append(_zeros_like(grad))
        elif derivative == 1:
            grads.append(grad)
        elif derivative == -1:
            grads.append(-grad)
        else:
            grads.append(derivative(grad, *operands, output))
    return grads


def _zeros_like(grad):
    from ..api.creation import zeros_like
    return zeros_like(grad)


def _array_vjp(table, operands, output, grad, needs):
    arrays = None
    grads = []
    for need, function in zip(needs, table):
        if not need:
            grads.append(None)
        elif function is None:
            grads.append(wrap(np.zeros_like(grad._data), grad._dtype))
        elif function == 1:
            grads.append(grad)
        elif function == -1:
            grads.append(wrap(np.negative(grad._data), grad._dtype))
        else:
            if arrays is None:
                arrays = [o._data if isinstance(o, Tensor) else o for o in operands]
                arrays.append(output._data if output is not None else None)
            result = function(grad._data, *arrays)
            if type(result) is not _ndarray or result.base is not None:
                result = np.array(result)
            grads.append(wrap(result, _BY_NP[result.dtype]))
    return grads
