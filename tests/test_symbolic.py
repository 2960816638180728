"""Every elementwise op's formula is one declaration seen two ways: numpy evaluates it eagerly,
sympy sees it symbolically (for gradients and C). Both readings must agree."""
import math

import numpy as np
import pytest

import graphc
from graphc.ir import symbolic
from graphc.ir.registry import COMPARE, LOGICAL, INTEGRAL, REGISTRY

ATTRS = {"round": {"decimals": 0}, "cast": {"dtype": graphc.float64}}
# ops whose symbolic reading is an opaque call or a relation (printed, not evaluated here)
OPAQUE = {"round", "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor", "isnan", "isinf",
          "isfinite"}
DOMAINS = {"log": (0.5, 2), "log2": (0.5, 2), "log10": (0.5, 2), "sqrt": (0.5, 2),
           "rsqrt": (0.5, 2), "log1p": (0.5, 2), "reciprocal": (0.5, 2), "asin": (-0.9, 0.9),
           "acos": (-0.9, 0.9), "pow": (0.5, 2), "div": (0.5, 2), "div_floor": (0.5, 2),
           "div_trunc": (0.5, 2), "remainder": (0.5, 2), "fmod": (0.5, 2)}


def elementwise_ops():
    return sorted(name for name, op in REGISTRY.items() if op.kind == "elementwise")


def _printable_in_c(name):
    """Ops C lowers: not those calling a function with neither a C spelling nor a sympy meaning
    (the bitwise ones, not lowered on integers)."""
    from graphc.ir.math import MATH_FUNCTIONS
    uncompiled = {n for n, f in MATH_FUNCTIONS.items() if f.c is None and f.sympy is None}
    return not any(f"m.{n}(" in _formula_source(name) for n in uncompiled)


def _formula_source(name):
    import inspect
    return inspect.getsource(REGISTRY[name].formula)


@pytest.mark.parametrize("name", [n for n in elementwise_ops() if _printable_in_c(n)])
def test_formula_prints_as_c(name):
    op = REGISTRY[name]
    source = symbolic.c_expression(op, **ATTRS.get(name, {}))
    assert isinstance(source, str) and source
    assert "x0" in source or op.arity == 0


@pytest.mark.parametrize("name", [n for n in elementwise_ops()
                                  if n not in OPAQUE
                                  and REGISTRY[n].dtype_rule not in (COMPARE, LOGICAL, INTEGRAL)
                                  and n != "where"])
def test_sympy_reading_evaluates_to_the_eager_result(name):
    import sympy
    op = REGISTRY[name]
    attrs = ATTRS.get(name, {})
    low, high = DOMAINS.get(name, (-2, 2))
    rng = np.random.default_rng(3)
    values = [rng.uniform(low, high, 6) + 0.013 for _ in range(op.arity)]
    expression = symbolic.elementary(symbolic.formula_expression(op, **attrs))
    # numpy has no erf: math's, element by element (scipy is no dependency)
    special = {"erf": np.vectorize(math.erf), "erfc": np.vectorize(math.erfc)}
    function = sympy.lambdify(symbolic.input_symbols(op), expression, modules=[special, "numpy"])
    symbolic_result = np.broadcast_to(function(*values), (6,))
    eager = graphc.dispatch.apply(op, tuple(graphc.tensor(v) for v in values), attrs)
    np.testing.assert_allclose(eager.numpy(), symbolic_result, rtol=1e-12, atol=1e-12)


def test_importing_graphc_does_not_import_sympy():
    import subprocess
    import sys
    code = "import sys, graphc; graphc.ones(2).exp(); print('sympy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_derivatives_come_from_sympy_diff():
    import sympy
    op = REGISTRY["tanh"]
    (derivative,) = symbolic.derivative_expressions(op)
    assert sympy.simplify(derivative - (1 - symbolic.output_symbol() ** 2)) == 0
    (derivative,) = symbolic.derivative_expressions(REGISTRY["log"])
    (x,) = symbolic.input_symbols(REGISTRY["log"])
    assert sympy.simplify(derivative - 1 / x) == 0
