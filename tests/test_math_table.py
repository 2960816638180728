"""graphc.ir.math names each math function once: its numpy, sympy and C readings must agree,
every name a formula uses must be in the table, and a new entry must be all a function needs."""
import math
import warnings

import numpy as np
import pytest

import graphc
from graphc.ir import symbolic
from graphc.ir.math import C, MATH_FUNCTIONS, MathFunction, numpy_namespace
from graphc.ir.registry import REGISTRY
from graphc.runtime import cpu
from graphc.runtime import numpy_math

ATTRS = {"round": {"decimals": 1}, "cast": {"dtype": graphc.float64}}
# where the functions are defined (and away from their branch points)
DOMAINS = {"log": (0.5, 2), "log1p": (0.5, 2), "log2": (0.5, 2), "log10": (0.5, 2),
           "sqrt": (0.5, 2), "asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "pow": (0.5, 2),
           "fmod": (0.5, 2), "remainder": (0.5, 2), "floor_divide": (0.5, 2),
           "trunc_divide": (0.5, 2)}
# public functions of the ops that have no function of their own name
CALLS = {"div_floor": graphc.floor_divide,
         "div_trunc": lambda x, y: graphc.div(x, y, rounding_mode="trunc")}


def _elementwise_ops():
    return [op for name, op in sorted(REGISTRY.items()) if op.kind == "elementwise"]


class _Recording:
    """A math namespace that notes the names a formula asks for (and reads them with sympy)."""

    def __init__(self):
        self.used = set()

    def __getattr__(self, name):
        self.used.add(name)
        return getattr(symbolic.sympy_math(), name)


def _names_used(op):
    recording = _Recording()
    op.formula(recording, *symbolic.input_symbols(op), **ATTRS.get(op.name, {}))
    return recording.used


class _Call:
    """What a formula returns when it is exactly one call of a math function."""

    def __init__(self, name):
        self.name = name

    def __call__(self, *args, **kwargs):
        return (self.name, args)


class _Calls:
    def __getattr__(self, name):
        return _Call(name)


def _direct_ops():
    """entry name -> an op whose formula is that entry applied to the op's inputs."""
    found = {}
    for op in _elementwise_ops():
        symbols = symbolic.input_symbols(op)
        try:
            result = op.formula(_Calls(), *symbols, **ATTRS.get(op.name, {}))
        except TypeError:  # arithmetic on a call: not a direct one
            continue
        if isinstance(result, tuple) and tuple(result[1][:op.arity]) == tuple(symbols):
            found.setdefault(result[0], op)
    return found


DIRECT = _direct_ops()


def test_every_name_a_formula_uses_is_in_the_table():
    used = {name for op in _elementwise_ops() for name in _names_used(op)}
    assert used <= set(MATH_FUNCTIONS), sorted(used - set(MATH_FUNCTIONS))
    # and no entry is dead
    assert set(MATH_FUNCTIONS) <= used, sorted(set(MATH_FUNCTIONS) - used)


def test_every_namespace_is_the_table():
    for namespace in (symbolic.sympy_math(), symbolic.c_math(), symbolic.c_math(integer=True)):
        assert set(vars(namespace)) == set(MATH_FUNCTIONS)
    assert {name for name in dir(cpu.NUMPY_MATH) if not name.startswith("__")} == \
        set(MATH_FUNCTIONS)
    # the eager namespace holds the table's functions themselves (one direct lookup)
    assert all(getattr(cpu.NUMPY_MATH, name) is function.numpy
               for name, function in MATH_FUNCTIONS.items())


def _operands(name, arity, dtype, rng):
    low, high = DOMAINS.get(name, (-2, 2))
    values = [rng.uniform(low, high, 7).astype(dtype) for _ in range(arity)]
    if arity > 1:  # some equal operands (comparisons, x - y * trunc(x / y))
        values[1][:2] = values[0][:2]
    if name == "where":
        values[0] = values[0] > 0
    return values


def _sympy_reading(name, values, attrs):
    import sympy
    symbols = sympy.symbols(" ".join(f"x{i}" for i in range(len(values))), seq=True)
    expression = getattr(symbolic.sympy_math(), name)(*symbols, *attrs.values())
    special = {"erf": np.vectorize(math.erf), "erfc": np.vectorize(math.erfc)}
    function = sympy.lambdify(symbols, symbolic.elementary(expression),
                              modules=[special, "numpy"])
    return np.broadcast_to(function(*values), values[0].shape)


SYMBOLIC = sorted(name for name, function in MATH_FUNCTIONS.items()
                  if function.sympy is not None and name not in ("cast",) and name in DIRECT
                  and not name.startswith("bitwise"))


@pytest.mark.parametrize("name", SYMBOLIC)
def test_sympy_reading_agrees_with_numpy(name):
    op = DIRECT[name]
    attrs = ATTRS.get(op.name, {})
    values = _operands(name, op.arity, np.float64, np.random.default_rng(5))
    eager = MATH_FUNCTIONS[name].numpy(*values, *attrs.values())
    np.testing.assert_allclose(_sympy_reading(name, values, attrs), eager,
                               rtol=1e-12, atol=1e-12)


# the functions C computes (bitwise ones are not lowered on integers; casts are lowered apart)
COMPILED = sorted(name for name, function in MATH_FUNCTIONS.items()
                  if name in DIRECT and name != "cast" and not name.startswith("bitwise"))


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-6)])
def test_c_reading_agrees_with_numpy(dtype, rtol):
    """Every function compiled through graphc.compile, in one C function per dtype, against
    the table's numpy column on the same values."""
    rng = np.random.default_rng(7)
    plan = [(name, DIRECT[name], _operands(name, DIRECT[name].arity, dtype, rng))
            for name in COMPILED]

    def program(*tensors):
        results, position = [], 0
        for name, op, values in plan:
            call = CALLS.get(op.name) or getattr(graphc, op.name)
            operands = tensors[position:position + len(values)]
            position += len(values)
            results.append(call(*operands, **ATTRS.get(op.name, {})))
        return tuple(results)

    compiled = graphc.compile(program, fullgraph=True)
    tensors = [graphc.tensor(v) for _, _, values in plan for v in values]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no graph break, no eager fallback
        compiled(*tensors)
        ours = compiled(*tensors)
    assert compiled._latest is not None
    source = compiled.source()
    for (name, op, values), result in zip(plan, ours):
        function = MATH_FUNCTIONS[name]
        eager = np.asarray(function.numpy(*values, *ATTRS.get(op.name, {}).values()))
        np.testing.assert_allclose(result.numpy(), eager.astype(result.numpy().dtype),
                                   rtol=rtol, atol=rtol, err_msg=name)
        if function.c is not None and name not in ("sqrt", "pow"):  # powers may print as x*x
            spelling = function.c.float if dtype == np.float32 else function.c.double
            assert f"{spelling}(" in source, (name, spelling)


def test_int64_spellings_compile_to_numpy_results():
    x = graphc.tensor([-(2 ** 62), -3, 0, 5, 2 ** 62])
    y = graphc.tensor([7, -3, 1, -9, 2 ** 62 - 1])

    anchor = graphc.ones(2)  # graphs compute in a floating type; int64 values live inside them

    @graphc.compile(fullgraph=True)
    def extremes(anchor, x, y):
        return x.abs(), graphc.maximum(x, y), graphc.minimum(x, y), anchor * 2

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        extremes(anchor, x, y)
        results = extremes(anchor, x, y)[:3]
    source = extremes.source()
    for name, result in zip(("abs", "maximum", "minimum"), results):
        function = MATH_FUNCTIONS[name]
        assert f"{function.c.int64}(" in source
        expected = function.numpy(*((x.numpy(),) if name == "abs" else (x.numpy(), y.numpy())))
        np.testing.assert_array_equal(result.numpy(), expected)


def test_printers_spell_functions_as_the_table_does():
    import sympy
    (x,) = sympy.symbols("x0", real=True, seq=True)
    assert symbolic.c_printer("float").doprint(sympy.exp(x)) == "graphc_expf(x0)"
    assert symbolic.c_printer("double").doprint(sympy.exp(x)) == "exp(x0)"
    # the CUDA column: a GPU's own expf
    assert symbolic.c_printer("float", "cuda").doprint(sympy.exp(x)) == "expf(x0)"
    assert symbolic.c_printer("float").doprint(sympy.sqrt(x)) == "sqrtf(x0)"
    assert symbolic.c_printer("float").doprint(symbolic.c_math().log2(x)) == "log2f(x0)"


def test_a_new_entry_is_all_a_function_needs():
    """An entry added to the table reaches the eager namespace, the sympy reading (and so the
    derived gradient) and the C printer, with nothing else written."""
    import sympy
    lgamma = MathFunction("lgamma", numpy_math.exactly(math.lgamma), "loggamma",
                          C("lgamma", "lgammaf"))
    functions = {**MATH_FUNCTIONS, "lgamma": lgamma}
    values = np.array([0.5, 1.5, 3.0])
    np.testing.assert_allclose(numpy_namespace(functions).lgamma(values),
                               [math.lgamma(v) for v in values], rtol=1e-15)
    (x,) = sympy.symbols("x0", real=True, seq=True)
    reading = symbolic.sympy_namespace(functions).lgamma(x)
    assert sympy.diff(reading, x) == sympy.polygamma(0, x)
    c_reading = symbolic.sympy_namespace(functions, c=True).lgamma(x)
    printer = sympy.printing.c.C99CodePrinter(
        {"user_functions": symbolic.c_spellings("float", functions=functions)})
    assert printer.doprint(c_reading) == "lgammaf(x0)"
    assert "lgamma" not in vars(symbolic.sympy_math())  # the table itself is untouched
