"""The kernel IR of lowerings (graphc/codegen/kernel.py, codegen/lower/): what the IR makes
checkable about a family's kernels, whatever C they print as."""
import re

import numpy as np
import pytest

import graphc
from graphc.codegen import schedule
from graphc.codegen import kernel as k
from graphc.codegen import c_backend
from graphc.codegen.c_layout import Unsupported
from graphc.codegen.errors import ErrorKind
from graphc.codegen.render import cuda


def _kernels_of(monkeypatch, function, *arguments):
    """The kernel IR of each lowering a compilation of `function` for `arguments` runs (its
    source rendered, nothing built), and that source."""
    found = []

    def recording(lower):
        def lowered(*args, **kwargs):
            scheduled = lower(*args, **kwargs)
            if scheduled.ir is not None:
                found.append(scheduled.ir)
            return scheduled
        return lowered
    for op, lower in list(schedule.LOWERED.items()):
        monkeypatch.setitem(schedule.LOWERED, op, recording(lower))
    source = graphc.compile(function, fullgraph=True).source(*arguments)
    return found, source


def _loops_around(statements, around=()):
    """(statement, the loops it is inside, outermost first) for every statement."""
    for s in statements:
        yield s, around
        if isinstance(s, k.Loop):
            yield from _loops_around(s.body, around + (s,))
        elif isinstance(s, k.If):
            yield from _loops_around(s.then + s.otherwise, around)


# ------------------------------------------------------------------------------ indexing family

def _ints(values):
    return graphc.tensor(np.array(values, dtype=np.int64))


_X = graphc.tensor(np.arange(20.0).reshape(4, 5))
_PAIRS = _ints([[0, 4], [1, 1], [2, 3], [4, 0]])
# op: (function, arguments, whether it copies a base first, whether it stores by accumulating)
INDEXING_CASES = {
    "index": (lambda x, i, j: x.t()[i, j] * 2, (_X, _ints([0, 4]), _ints([1, -1])), False, False),
    "index_put": (lambda x, i, v: x.t().index_put((i,), v, accumulate=True) * 1,
                  (_X, _ints([0, 0, 2]), graphc.ones(3, 4, dtype=graphc.float64)), True, True),
    "gather": (lambda x, i: x.t().gather(0, i) * 2, (_X, _ints([[0, 3, 1, 1]])), False, False),
    "scatter": (lambda x, i: x.scatter(1, i, 5.0) * 1, (_X, _PAIRS), True, False),
    "scatter_add": (lambda x, i: x.t().scatter_add(0, i, x[:2, :2].t()) * 1,
                    (_X, _ints([[0, 0], [3, 3]])), True, True),
    "scatter_reduce": (lambda x, i: x.scatter_reduce(1, i, x[:, :2] * 3, "mean") * 1,
                       (_X, _PAIRS), True, True),
    "index_select": (lambda x, i: x.t().index_select(1, i) * 1, (_X, _ints([3, 0, 0])), False,
                     False),
    "index_add": (lambda x, i: x.t().index_add(0, i, x[:, :3].t(), alpha=2.0) * 1,
                  (_X, _ints([0, 0, 4])), True, True),
    "index_copy": (lambda x, i: x.index_copy(0, i, x[:2] * 2) * 1, (_X, _ints([1, 3])), True,
                   False),
    "index_fill": (lambda x, i: x.t().index_fill(0, i, -2.0) * 1, (_X, _ints([1, -1])), True,
                   False),
    "take": (lambda x, i: x.t().take(i) * 1, (_X, _ints([[0, 19], [-1, 7]])), False, False),
    "put": (lambda x, i: x.t().put(i, x[0, :3], accumulate=True) * 1, (_X, _ints([0, 3, 3])),
            True, True),
}


@pytest.mark.parametrize("op", sorted(INDEXING_CASES))
def test_indexing_kernels_check_and_accumulate_in_serial_loops(monkeypatch, op):
    """Every index check and every store accumulating at a read index sits in serial loops only
    (the first bad index in eager's order is reported, repeated indices add up in order); a
    base is copied first by a parallel loop that checks nothing; no index variable is left
    unused."""
    function, arguments, copies_a_base, accumulates = INDEXING_CASES[op]
    kernels, source = _kernels_of(monkeypatch, function, *arguments)
    [ir] = [kernel for kernel in kernels if kernel.name == op]
    target = ir.writes[0]
    checks = [(s, around) for s, around in _loops_around(ir.body) if isinstance(s, k.Check)]
    assert checks and all(loop.kind == k.SERIAL for _, around in checks for loop in around)
    # an accumulating store at an index read from data (not each element's own: mean's division)
    stores = [(s, around) for s, around in _loops_around(ir.body) if isinstance(s, k.Store)
              and s.buffer == target and s.op != "=" and s.index != k.Var("i")]
    assert bool(stores) == accumulates
    assert all(loop.kind == k.SERIAL for _, around in stores for loop in around)
    first = ir.body[0]
    if copies_a_base:
        assert isinstance(first, k.Loop) and first.kind == k.PARALLEL
        assert not any(isinstance(s, k.Check) for s in k.walk(first.body))
        assert [s.index for s in k.walk(first.body) if isinstance(s, k.Store)] == [k.Var("i")]
    else:
        assert not any(loop.kind == k.PARALLEL for loop in k.walk(ir.body)
                       if isinstance(loop, k.Loop))
    body = source[source.index(f"_{op}("):]
    body = body[:body.index("\n}\n")]
    for name in re.findall(r"const int64_t (\w+) = ", body):
        assert len(re.findall(rf"\b{name}\b", body)) > 1, f"{name} is never read"


# ------------------------------------------------------------------------------ sorts and draws

def _kernels(function, *args):
    """The scheduled kernels (each with its IR, where it has one) of `function` compiled for
    `args`, after one call (so the specialisation exists)."""
    compiled = graphc.compile(function, fullgraph=True)
    compiled(*args)
    specialisation = compiled._latest
    unit = c_backend.render(specialisation.graph, *specialisation.render_arguments,
                            dialect=lambda unit: unit)[0]
    return {kernel.name: kernel for kernel in unit["kernels"]}, compiled


def _ir_of(kernels, op):
    (ir,) = [kernel.ir for name, kernel in kernels.items() if name.endswith(f"_{op}")]
    return ir


def _declared_but_unused(lines):
    """Names a kernel's C lines declare (`T name = ...;`, `T name[n];`) and never read again."""
    text = "\n".join(lines)
    declared = re.findall(r"^\s*(?:const )?[a-z_0-9]+ \*?(\w+)(?: =|\[\d+\];)", text, re.M)
    return [name for name in declared if len(re.findall(rf"\b{name}\b", text)) < 2]



_DRAWS = {
    "uniform": lambda x: x + graphc.rand(7),
    "normal": lambda x: x + graphc.randn(7, dtype=graphc.float64).float(),
    "exponential": lambda x: x + graphc.empty(7).exponential_(2.0),
    "randint": lambda x: x + graphc.randint(-3, 2 ** 40, (7,)).float(),
    "bernoulli": lambda x: x.bernoulli(0.25),
    "randperm": lambda x: x + graphc.randperm(7).float(),
}


@pytest.mark.parametrize("op", sorted(_DRAWS))
def test_draws_are_parallel_loops_over_philox_blocks_with_the_last_block_bounded(op):
    """Each draw's blocks are independent: its block loop is parallel with nothing that stops
    it (the ragged last block is bounded, not broken out of), and the numbers are eager's."""
    x = graphc.zeros(7)
    kernels, compiled = _kernels(_DRAWS[op], x)
    ir = _ir_of(kernels, op)
    assert ir.draws
    blocks = [s for s in ir.body if isinstance(s, k.Loop) and s.var == "b"]
    assert len(blocks) == 1 and blocks[0].kind == k.PARALLEL
    assert not [s for s in k.walk(blocks[0].body) if isinstance(s, (k.Break, k.Check))]
    graphc.manual_seed(11)
    drawn = compiled(x)
    graphc.manual_seed(11)
    np.testing.assert_array_equal(drawn.numpy(), _DRAWS[op](x).numpy())


def test_a_long_draw_is_spread_over_threads_and_a_checked_one_is_not():
    """The C of a long uniform draw puts OpenMP on its block loop; bernoulli of a probability
    tensor checks each probability in order (eager's first bad one), so its loop stays serial."""
    x = graphc.full((300001,), 0.5)
    kernels, _ = _kernels(lambda p: (graphc.rand(300001) + p, graphc.bernoulli(p)), x)
    uniform = "\n".join(_kernel_lines(kernels, "uniform"))
    assert re.search(r"#pragma omp parallel for[^\n]*\n\s*for \(int64_t b = 0;", uniform)
    bernoulli = _ir_of(kernels, "bernoulli")
    assert [s.kind for s in k.walk(bernoulli.body) if isinstance(s, k.Check)] == [
        ErrorKind.BERNOULLI_P_OUT_OF_RANGE]
    assert "#pragma omp" not in "\n".join(_kernel_lines(kernels, "bernoulli"))


def _kernel_lines(kernels, op):
    (lines,) = [kernel.lines for name, kernel in kernels.items() if name.endswith(f"_{op}")]
    return lines


@pytest.mark.parametrize("function, op, size", [
    (lambda x: x.sort(1)[0], "sort_indices", 4),
    (lambda x: x.topk(2, 0)[0], "topk_indices", 3),
    (lambda x: x.kthvalue(2, 1)[0], "kthvalue_indices", 4),
    (lambda x: x.median(0)[0], "median_indices", 3),
    (lambda x: x.nanmedian(), "median_all", 12),
    (lambda x: x.mode(1)[0], "mode_indices", 4),
])
def test_sort_kernels_copy_sort_and_pick_the_lines(function, op, size):
    """A sort's kernel: every line copied as (value, index) pairs into one scratch array by a
    parallel loop, one graphc_sort_lines call over all the lines, then a parallel loop picking
    what the op takes; no index variable its C declares without reading it."""
    x = graphc.tensor([[3.0, 1.0, float("nan"), 1.0], [2.0, 2.0, 5.0, -1.0],
                       [0.0, 7.0, float("nan"), 7.0]])
    kernels, compiled = _kernels(function, x)
    ir = _ir_of(kernels, op)
    count = 12 // size
    assert ir.scratch == [("graphc_ranked", "lines", count * size)]
    copy, sort, pick = ir.body
    assert copy.kind == pick.kind == k.PARALLEL and copy.stop == pick.stop == count
    assert sort.value.function == "graphc_sort_lines"
    assert sort.value.arguments[1:3] == (count, size)
    assert _declared_but_unused(_kernel_lines(kernels, op)) == []
    np.testing.assert_array_equal(compiled(x).numpy(), function(x).numpy())


@pytest.mark.parametrize("weights", [[1.0], [0.0, 2.0], [3.0, 0.0, 1.0], [1.0, 1.0, 1.0, 0.0],
                                     [0.5] * 5, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
                                     [2.0, 1.0, 0.0, 4.0, 0.0, 1.0, 3.0, 0.0]])
def test_multinomial_with_replacement_searches_within_its_bounded_loop(weights):
    """The inverse-CDF search is a loop of bit_length(categories) halvings (it breaks when
    found): for every count of categories its draws are eager's."""
    p = graphc.tensor(weights)
    kernels, compiled = _kernels(lambda p: graphc.multinomial(p, 40, replacement=True), p)
    ir = _ir_of(kernels, "multinomial")
    (search,) = [s for s in k.walk(ir.body) if isinstance(s, k.Loop) and s.var == "step"]
    assert search.stop == len(weights).bit_length()
    graphc.manual_seed(2)
    drawn = compiled(p)
    graphc.manual_seed(2)
    np.testing.assert_array_equal(drawn.numpy(), graphc.multinomial(p, 40, replacement=True).numpy())


def test_randint_of_the_widest_span_prints_an_unsigned_literal():
    """randint over [-2^63, 2^63 - 1): the span 2^64 - 1 is an unsigned literal in C (a signed
    one does not fit), and the numbers are eager's."""
    def widest(x):  # x: a graph computes in floats
        return x * 2, graphc.randint(-2 ** 63, 2 ** 63 - 1, (9,))
    x = graphc.ones(2)
    kernels, compiled = _kernels(widest, x)
    assert "% 18446744073709551615u" in "\n".join(_kernel_lines(kernels, "randint"))
    graphc.manual_seed(4)
    drawn = compiled(x)[1]
    graphc.manual_seed(4)
    np.testing.assert_array_equal(drawn.numpy(), widest(x)[1].numpy())


@pytest.mark.parametrize("function, op", [
    (lambda x: x.bernoulli(0.5), "bernoulli"),
    (lambda x: x + graphc.randn(4), "normal"),
])
def test_cuda_draws_are_grids_over_philox_blocks(function, op):
    """On CUDA a draw's block loop is the grid, calling the C backend's Philox helpers."""
    compiled = graphc.compile(function, fullgraph=True)
    compiled(graphc.ones(4))
    source = cuda.source_of(compiled._latest)
    kernel = source.split(f"_{op}(uint64_t seed, uint64_t offset")[1].split("\n}\n")[0]
    assert "GRAPHC_GRID_STRIDE_LOOP(b, 1)" in kernel


@pytest.mark.parametrize("function, op", [
    (lambda x: x + graphc.randperm(4), "randperm"),
    (lambda x: graphc.multinomial(x, 2), "multinomial"),
])
def test_draws_that_sort_sort_on_cub_on_cuda(function, op):
    """randperm's keys and multinomial's rows are sorted by one call of the runtime's sort: on
    CUDA, CUB's, between the grid launches drawing the keys and picking the result."""
    compiled = graphc.compile(function, fullgraph=True)
    compiled(graphc.ones(4))
    source = cuda.source_of(compiled._latest)
    assert "qsort(" not in source.split("namespace graphc_kernels")[1]
    assert source.count("GRAPHC_CUDA_TRY(graphc_sort_") == 1
