"""Compiled equals eager, op by op, generated from the registry: every elementwise op and every
reduction the C backend lowers, on special values (NaN, infinities, signed zeros, huge, tiny and
denormal numbers, integer limits) against ordinary ones, on 0-d, empty, size-1, transposed and
expanded (stride-0) operands, in every dtype the op accepts; and compiled gradients against
finite differences.

How each elementwise op is called, and which dtypes it accepts, comes from test_elementwise's
REFERENCES (itself checked against the registry). The first call of a compiled function traces it
(it runs eagerly), so what is compared is the replay: further calls of the same signature on new
values. To keep the compilations few, the ops of one dtype are compiled together, as one
function returning one output per (op, layout); a test that finds its op failing in such a batch
compiles the op alone, so a failure names its op. An op (and dtype) the backend cannot compile
fails the test unless NOT_COMPILED lists it, with the reason; a listed one must still fail to
compile (the list cannot go stale).
"""
import functools
import math
import os
import shutil
import warnings

import numpy as np
import pytest

import graphc
from graphc.ir.registry import REGISTRY
from test_elementwise import FLOATS, INTEGERS, REFERENCES, call

pytestmark = [pytest.mark.skipif(shutil.which(os.environ.get("CC", "cc")) is None,
                                 reason="no C compiler"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]

DTYPES = ["float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"]


# ------------------------------------------------------------------ values


def _pool(dtype):
    """The special values of `dtype` among ordinary ones."""
    if dtype in FLOATS:
        info = np.finfo(dtype)
        huge = [1e30, -1e30] + ([1e300, -1e300] if dtype == "float64" else [float(info.max)])
        tiny = [1e-30, -1e-30, float(info.smallest_subnormal), -3 * float(info.smallest_subnormal)]
        return [math.nan, math.inf, -math.inf, 0.0, -0.0, *huge, *tiny,
                1.0, -1.0, 0.5, -2.5, 7.0, 3.0, -0.75, 2.0]
    if dtype == "bool":
        return [True, False, True]
    info = np.iinfo(dtype)
    extremes = [int(info.max), int(info.min), int(info.max) - 1, int(info.min) + 1]
    if dtype == "uint8":
        return [0, 1, 2, 3, 7, 100, 128, *extremes[::2]]
    return [0, 1, -1, 2, -2, 3, -7, 100, *extremes]


def _domain_pool(dtype, domain):
    """Integer divisors exclude 0 (eager raises ZeroDivisionError, as torch); floats take every
    special value in every operand."""
    values = _pool(dtype)
    if dtype not in FLOATS and domain == "nonzero":
        values = [v for v in values if v != 0]
    return values


def _draw(values, shape, dtype, shift):
    """An array of `shape` cycling through `values` from position `shift` (calls with another
    shift see the special values at other places)."""
    count = int(np.prod(shape))
    picked = [values[(shift + k) % len(values)] for k in range(count)]
    return np.array(picked, dtype=dtype).reshape(shape)


# ------------------------------------------------------------------ layouts


def _grid_shape(position, arity, size):
    """Operand `position` varies along its own axis: the output holds every combination."""
    shape = [1] * arity
    shape[position] = size
    return tuple(shape)


def _operands(ref, dtype, layout, shift):
    """The operands of one call of an op in one layout (graphc tensors)."""
    arity = len(ref.domains)
    tensors = []
    for position, domain in enumerate(ref.domains):
        operand_dtype = "bool" if domain == "condition" else dtype
        values = _domain_pool(operand_dtype, domain)
        # the grid's operands meet every value of each other; the others draw at other places
        offset = shift + 5 * position
        if layout == "grid":
            array = _draw(values, _grid_shape(position, arity, len(values)), operand_dtype,
                          shift)
        elif layout == "0-d":
            array = _draw(values, (), operand_dtype, offset)
        elif layout == "empty":
            array = _draw(values, (0, 3), operand_dtype, offset)
        elif layout == "size-1":
            array = _draw(values, (1,), operand_dtype, offset)
        elif layout == "transposed":
            array = _draw(values, (5, 4), operand_dtype, offset)
        elif layout == "expanded":
            array = _draw(values, (1, 4) if position % 2 else (5, 1), operand_dtype, offset)
        elif layout == "scalar":  # a Python number where torch takes one: a constant of the code
            if position in ref.scalars:
                tensors.append(_SCALARS[operand_dtype])
                continue
            array = _draw(values, _grid_shape(position, arity, len(values)), operand_dtype,
                          shift)
        tensor = graphc.tensor(array)
        if layout == "transposed":
            tensor = tensor.t()
        elif layout == "expanded":
            tensor = tensor.expand(5, 4)  # stride 0 along the other axis
        tensors.append(tensor)
    return tensors


LAYOUTS = ("grid", "0-d", "empty", "size-1", "transposed", "expanded", "scalar")
_SCALARS = {"bool": True, "uint8": 3, "int8": 3, "int16": 3, "int32": 3, "int64": 3,
            "float32": 0.5, "float64": 0.5}


def _layouts(name, dtype):
    """The layouts an op is called in (a Python scalar only where torch takes one)."""
    ref = REFERENCES[name]
    return [layout for layout in LAYOUTS if not _eager_fails(name, layout, dtype)
            and (layout != "scalar" or ref.scalars and not (ref.refuses is not None and ref.refuses(
                _operands(ref, dtype, "scalar", 0), dtype)))]


# ------------------------------------------------------------------ what is not compiled

# int64 results the backend computes in C integers (schedule._INTEGER_ARITHMETIC)
_INT64_LOWERED = ("add", "sub", "mul", "neg", "abs", "maximum", "minimum", "where", "clamp",
                  "clamp_min", "clamp_max")

# What the C backend refuses today (CompileError; without fullgraph=True these run eagerly),
# by the op's result dtype. Each listed combination must still refuse.
NOT_COMPILED = {
    "narrow integer results": (
        ("int32", "int16", "int8", "uint8"),
        "the backend computes in float32/float64 and int64: values of narrower integer types "
        "are only read (converted) and moved, never computed"),
    "int64 results": (
        ("int64",),
        "int64 results are lowered only where C's integer arithmetic is torch's "
        "(_INT64_LOWERED); floor/ceil/round/trunc/sign/relu/square/pow, the bitwise ops and "
        "integer division and remainder (C's / and % round toward zero) are not written yet"),
}


def _result_dtype(name, dtype):
    ref = REFERENCES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(call(ref, name, graphc, *_operands(ref, dtype, "size-1", 1)).dtype).split(".")[1]


def _not_compiled(name, dtype):
    result = _result_dtype(name, dtype)
    narrow, narrow_reason = NOT_COMPILED["narrow integer results"]
    if result in narrow:
        return narrow_reason
    if result == "int64" and name not in _INT64_LOWERED:
        return NOT_COMPILED["int64 results"][1]
    return None


# (op, layout) where eager itself fails (not the compiler's concern: the test checks that it
# still does, so that the entry goes once eager is fixed)
EAGER_FAILS = {}


def _eager_fails(name, layout, dtype):
    return dtype in EAGER_FAILS.get((name, layout), ((), None))[0]


# ------------------------------------------------------------------ comparing


def _ulps(dtype):
    return np.finfo(dtype).eps


def assert_same(compiled, eager, context):
    """compiled == eager: dtype, shape, NaN positions, infinities and their signs, the sign of
    zeros, and finite values within the dtype's tolerance (exact for integers and bool; a few
    ulp for float32, whose transcendental functions round differently in C and numpy)."""
    assert compiled.dtype is eager.dtype, f"{context}: dtype {compiled.dtype} != {eager.dtype}"
    assert compiled.shape == eager.shape, f"{context}: shape {compiled.shape} != {eager.shape}"
    mine, theirs = compiled.detach().numpy(), eager.detach().numpy()
    if mine.dtype.kind != "f":
        bad = mine != theirs
    else:
        rtol = {"float32": 1e-6, "float64": 1e-12}[mine.dtype.name]
        wide_m, wide_t = mine.astype(np.float64), theirs.astype(np.float64)
        nan_m, nan_t = np.isnan(wide_m), np.isnan(wide_t)
        finite = np.isfinite(wide_m) & np.isfinite(wide_t)
        with np.errstate(all="ignore"):
            close = np.abs(wide_m - wide_t) <= np.maximum(
                rtol * np.abs(wide_t), 4 * _ulps(mine.dtype) * np.abs(wide_t))
            # a few ulp of the smallest normal: results in the subnormal range
            close |= np.abs(wide_m - wide_t) <= 4 * float(np.finfo(mine.dtype).smallest_normal)
        same_zero = (wide_m != 0) | (wide_t != 0) | (np.signbit(wide_m) == np.signbit(wide_t))
        bad = (nan_m != nan_t) | (~nan_m & ~nan_t & ~finite & (wide_m != wide_t)) \
            | (finite & ~close) | (finite & ~same_zero)
    if bad.any():
        where = [tuple(int(i) for i in p) for p in np.argwhere(bad)[:8]]
        shown = [(p, mine[p] if p else mine[()], theirs[p] if p else theirs[()]) for p in where]
        raise AssertionError(f"{context}: {int(bad.sum())} of {bad.size} values differ "
                             f"(position, compiled, eager): {shown}")


def _anchor():
    """A float input joining integer and bool graphs: the backend compiles graphs computing in
    a floating type (integer values inside them are what it lowers)."""
    return graphc.tensor([1.5, -2.0])


# ------------------------------------------------------------------ elementwise ops


def _accepts(ref, dtype):
    return dtype in ref.accepts and not (ref.refuses is not None and ref.refuses(
        _operands(ref, dtype, "size-1", 0), dtype))


def _cases():
    for name in sorted(REFERENCES):
        if name not in REGISTRY or REGISTRY[name].kind != "elementwise":
            continue
        for dtype in DTYPES:
            if _accepts(REFERENCES[name], dtype):
                yield name, dtype


CASES = list(_cases())


def _program(names, dtype):
    """f(anchor, *operands) computing every op of `names` on every layout, and its argument
    lists (first values, then new values of the same signature)."""
    plan = [(name, layout, len(REFERENCES[name].domains)) for name in names
            for layout in _layouts(name, dtype)]

    def program(anchor, *operands):
        results, position = [anchor * 2], 0
        for name, layout, count in plan:
            ref = REFERENCES[name]
            taken = []
            for index in range(count):
                if layout == "scalar" and index in ref.scalars:
                    taken.append(_SCALARS["bool" if ref.domains[index] == "condition" else dtype])
                else:
                    taken.append(operands[position])
                    position += 1
            results.append(call(ref, name, graphc, *taken))
        return tuple(results)

    def arguments(shift):
        operands = [t for name, layout, _ in plan
                    for t in _operands(REFERENCES[name], dtype, layout, shift)
                    if isinstance(t, graphc.Tensor)]
        return [_anchor(), *operands]

    return plan, program, arguments


def _run_compiled(names, dtype):
    """{(op, layout): [(compiled, eager) per replay]} for the ops of `names` compiled together."""
    plan, program, arguments = _program(names, dtype)
    compiled = graphc.compile(program, fullgraph=True)
    compiled(*arguments(0))  # traces (runs eagerly)
    pairs = {}
    for shift in (3, 0):  # new values, then the first ones again: replays of one signature
        args = arguments(shift)
        ours = compiled(*args)
        assert compiled._latest is not None, "the function ran eagerly instead of compiled"
        theirs = program(*args)
        for (name, layout, _), mine, reference in zip(plan, ours[1:], theirs[1:]):
            pairs.setdefault((name, layout), []).append((mine, reference))
    return pairs


@functools.lru_cache(maxsize=None)
def _batch(dtype):
    """The ops of `dtype` that are expected to compile, compiled as one function (or the error
    that compiling them together raised)."""
    names = tuple(name for name, d in CASES if d == dtype and not _not_compiled(name, d))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _run_compiled(names, dtype)
        except Exception as error:  # noqa: BLE001 (each op's test then compiles it alone)
            return error


@pytest.mark.parametrize("name, dtype", CASES, ids=[f"{n}-{d}" for n, d in CASES])
def test_compiled_elementwise_equals_eager(name, dtype):
    reason = _not_compiled(name, dtype)
    if reason is not None:
        _, program, arguments = _program((name,), dtype)
        with pytest.raises(graphc.CompileError):
            graphc.compile(program, fullgraph=True)(*arguments(0))
        return
    layouts = _layouts(name, dtype)
    pairs = _batch(dtype)
    if isinstance(pairs, Exception) or any((name, layout) not in pairs for layout in layouts):
        pairs = _run_compiled((name,), dtype)  # alone: its own error, if it has one
    for layout in LAYOUTS:
        if _eager_fails(name, layout, dtype):
            with pytest.raises(Exception):  # noqa: B017 (whatever eager's bug raises)
                call(REFERENCES[name], name, graphc, *_operands(REFERENCES[name], dtype, layout, 0))
            continue
        if layout not in layouts:
            continue
        for replay, (mine, reference) in enumerate(pairs[(name, layout)]):
            assert_same(mine, reference, f"{name} {dtype} {layout} (replay {replay})")


# ------------------------------------------------------------------ reductions


def _reduction_input(shape, dtype, seed):
    """Ordinary values with NaN, inf, -inf, signed zeros and both infinities in some lines of
    every dim (sums of huge values of both signs depend on the order of summation, which
    compiled code need not share with numpy: those are left out)."""
    values = np.random.default_rng(seed).standard_normal(shape).round(2)
    flat = values.reshape(-1)
    for position, special in zip((0, 7, 13, 21, 22, 30, 31), (math.nan, math.inf, -math.inf, 0.0,
                                                              -0.0, math.inf, -math.inf)):
        if position < flat.size:
            flat[position] = special
    return graphc.tensor(values, dtype=getattr(graphc, dtype))


# (name, call, whether it accepts an empty reduced dim: eager raises for the extremes)
REDUCTIONS = [
    ("sum", lambda x, **k: x.sum(**k), True),
    ("mean", lambda x, **k: x.mean(**k), True),
    ("prod", lambda x, **k: x.prod(**k), True),
    ("amax", lambda x, **k: x.amax(**k), False),
    ("amin", lambda x, **k: x.amin(**k), False),
    ("var", lambda x, **k: x.var(**k), True),
    ("var_biased", lambda x, **k: x.var(correction=0, **k), True),
    ("std", lambda x, **k: x.std(**k), True),
    ("argmax", lambda x, **k: x.argmax(**k), False),
    ("argmin", lambda x, **k: x.argmin(**k), False),
    ("all", lambda x, **k: x.all(**k), True),
    ("any", lambda x, **k: x.any(**k), True),
    ("count_nonzero", lambda x, dim=None, keepdim=False: x.count_nonzero(dim=dim), True),
]
# prod, argmax/argmin and count_nonzero take one dim in torch (count_nonzero no keepdim)
_ONE_DIM = {"prod", "argmax", "argmin", "count_nonzero"}
SHAPE, EMPTY = (4, 1, 8), (3, 0, 2)
_DIMS = [None, 0, 1, 2, -1, (0, 2)]
_EMPTY_DIMS = [1, (0, 1), None, 2]


def _reduction_calls(name, accepts_empty):
    calls = []
    for source, dims in (("full", _DIMS), ("empty", _EMPTY_DIMS if accepts_empty else [])):
        for dim in dims:
            if name in _ONE_DIM and isinstance(dim, tuple):
                continue
            for keepdim in ((False,) if name == "count_nonzero" or dim is None and name in
                            _ONE_DIM else (False, True)):
                options = {} if dim is None and name in _ONE_DIM else {"dim": dim,
                                                                        "keepdim": keepdim}
                if name == "count_nonzero":
                    options = {"dim": dim}
                calls.append((source, options))
    return calls


@functools.lru_cache(maxsize=None)
def _reductions(dtype):
    """{name: [(compiled, eager, call)]}: every reduction, every dim, compiled as one function."""
    plan = [(name, function, source, options) for name, function, accepts in REDUCTIONS
            for source, options in _reduction_calls(name, accepts)]

    def program(full, empty):
        operands = {"full": full, "empty": empty}
        return tuple(function(operands[source], **options) for _, function, source, options in plan)

    compiled = graphc.compile(program, fullgraph=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # var's "degrees of freedom is <= 0"
        compiled(_reduction_input(SHAPE, dtype, 0), _reduction_input(EMPTY, dtype, 0))
        results = {}
        for seed in (1, 0):
            args = (_reduction_input(SHAPE, dtype, seed), _reduction_input(EMPTY, dtype, seed))
            ours = compiled(*args)
            assert compiled._latest is not None, "the function ran eagerly instead of compiled"
            for (name, _, source, options), mine, theirs in zip(plan, ours, program(*args)):
                results.setdefault(name, []).append((mine, theirs, f"{source} {options}"))
    return results


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", [name for name, _, _ in REDUCTIONS])
def test_compiled_reduction_equals_eager(name, dtype):
    for mine, theirs, context in _reductions(dtype)[name]:
        assert_same(mine, theirs, f"{name} {dtype} {context}")


# ------------------------------------------------------------------ gradients


from test_gradients import (GRADIENT_CASES, _elementwise_case,  # noqa: E402
                            differentiable_elementwise_ops)

GRADIENT_OPS = differentiable_elementwise_ops()


@functools.lru_cache(maxsize=None)
def _gradient_batch():
    """Every differentiable elementwise op of test_gradients' cases, compiled as one function
    whose outputs require grad (so its backward is compiled too): (compiled, operands per op)."""
    cases = [_elementwise_case(name) for name in GRADIENT_OPS]
    counts = [len(operands) for _, operands in cases]

    def program(*tensors):
        results, position = [], 0
        for (function, _), count in zip(cases, counts):
            results.append(function(*tensors[position:position + count]))
            position += count
        return tuple(results)

    return graphc.compile(program, fullgraph=True), [operands for _, operands in cases], program


@pytest.mark.parametrize("name", GRADIENT_OPS)
def test_compiled_gradient_matches_finite_differences(name):
    """gradcheck through the compiled function: its forward and its compiled backward against
    central differences of the compiled forward (an independent check of the vjp rule)."""
    compiled, operands, _ = _gradient_batch()
    everything = [t for group in operands for t in group]
    index = GRADIENT_OPS.index(name)
    mine = operands[index]

    def only_this_op(*_):  # gradcheck perturbs `mine` in place: the batch reads the new values
        return compiled(*everything)[index]

    assert graphc.autograd.gradcheck(only_this_op, mine)
    assert compiled._latest is not None, "the function ran eagerly instead of compiled"


def test_compiled_function_calling_backward_returns_eager_gradients():
    """A compiled step that calls backward itself and returns the .grad of every operand."""
    _, operands, program = _gradient_batch()
    everything = [t for group in operands for t in group]
    differentiable = [t for t in everything if t.requires_grad]
    weights = [graphc.tensor(np.linspace(-1, 2, t.numel()).reshape(t.shape)) for t in
               program(*everything)]

    def step(*tensors):
        for t in tensors:
            t.grad = None
        loss = sum((y * w).sum() for y, w in zip(program(*tensors), weights))
        loss.backward()
        return tuple(t.grad for t in tensors if t.requires_grad)

    compiled = graphc.compile(step, fullgraph=True)
    compiled(*everything)
    for shift in (0.125, 0.0):
        for t in differentiable:
            t.data.add_(shift)
        ours = compiled(*everything)
        assert compiled._latest is not None, "the function ran eagerly instead of compiled"
        theirs = step(*everything)
        for position, (mine, reference) in enumerate(zip(ours, theirs)):
            if mine is None or reference is None:
                assert mine is reference, f"operand {position}: grad {mine} != eager {reference}"
                continue
            assert_same(mine, reference, f"the gradient of operand {position}")


def _lowered_primitives():
    from graphc.codegen.schedule import LOWERED, REDUCTIONS as LOWERED_REDUCTIONS
    return sorted(name for name in GRADIENT_CASES if name in set(LOWERED) | set(LOWERED_REDUCTIONS))


# gradient cases of lowered primitives that are not compiled, or not yet right compiled
GRADIENTS_NOT_COMPILED = {
    # det's vjp branches on a tensor's value in Python (bool(tensor)): its backward is a graph
    # break, which fullgraph=True refuses
    "det": graphc.CompileError,
    # the case's index_put takes broadcast values, which the C lowering does not cover yet
    "index_put": graphc.CompileError,
    # the case seeds a Generator created inside the function on every call: seeding inside a
    # compiled function is a graph break (tests/test_compile_semantics.py), refused here
    "bernoulli": graphc.CompileError,
}


@pytest.mark.parametrize("name", _lowered_primitives())
def test_compiled_primitive_gradient_matches_finite_differences(name):
    for function, inputs in GRADIENT_CASES[name]:
        compiled = graphc.compile(function, fullgraph=True)
        if name in GRADIENTS_NOT_COMPILED:
            with pytest.raises(GRADIENTS_NOT_COMPILED[name]):
                compiled(*inputs)
                graphc.autograd.gradcheck(compiled, tuple(inputs))
            continue
        assert graphc.autograd.gradcheck(compiled, tuple(inputs))
        assert compiled._latest is not None, "the function ran eagerly instead of compiled"


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("shape, dim, index", [((3, 2), 0, [0, 5]), ((3, 2), 1, [0, 2]),
                                                ((4,), 0, [-1]), ((2, 3, 2), 2, [2])])
def test_compiled_index_select_out_of_range_raises_eager_error(shape, dim, index):
    def select(x, i):
        return x.index_select(dim, i)
    compiled = graphc.compile(select, fullgraph=True)
    x = graphc.tensor(np.arange(np.prod(shape), dtype=np.float64).reshape(shape))
    compiled(x, graphc.tensor([0] * len(index)))
    bad = graphc.tensor(index)
    with pytest.raises(Exception) as eager:
        select(x, bad)
    with pytest.raises(eager.type, match=str(eager.value).replace("(", r"\(").replace(")", r"\)")):
        compiled(x, bad)
    assert compiled._latest is not None


@pytest.mark.parametrize("op", ["clamp", "relu"])
def test_a_masked_out_gradient_is_positive_zero_eager_and_compiled(op):
    """torch's clamp and relu backward select 0 where the mask is off (where(mask, grad, 0)):
    +0.0 even for a negative grad, in eager's array backward, its recorded backward and the
    compiled one alike (grad * 0 would be -0.0)."""
    function = {"clamp": lambda t: t.clamp(-1.5, 1.0), "relu": lambda t: t.relu()}[op]

    def gradient(x, g, create_graph=False):
        return graphc.autograd.grad(function(x), x, g, create_graph=create_graph)[0]
    x = graphc.tensor([-2.0, 0.5, 3.0, -1.0], requires_grad=True)
    g = -graphc.ones(4)
    compiled = graphc.compile(gradient, fullgraph=True)
    for result in (gradient(x, g), gradient(x, g, create_graph=True), compiled(x, g)):
        masked = result.detach().numpy()[[0, 2]] if op == "clamp" else \
            result.detach().numpy()[[0, 3]]
        assert masked.tolist() == [0.0, 0.0] and not np.signbit(masked).any()
