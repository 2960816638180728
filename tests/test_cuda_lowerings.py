"""Kernels built as kernel IR (graphc/codegen/lower) in the CUDA dialect: rendered, compiled by
nvcc where present, run through the host emulation and compared with eager. A kernel that is one
parallel loop becomes a grid-stride loop; the others run in one thread, in the C loops' order."""
import warnings

import numpy as np
import pytest

import graphc
from graphc.codegen.render import cuda
from test_cuda_dialect import _compiled, run_as_cuda


def _x(*shape):
    return graphc.tensor(np.random.default_rng(1).standard_normal(shape))


PROGRAMS = {
    "cat, cumsum, triu": (lambda x: graphc.cat([x, x * 2], 1).cumsum(0).triu(1), (_x(3, 4),)),
    "cumprod, tril, repeat": (lambda x: (x.cumprod(1).tril(-1), x.repeat(2, 1)), (_x(3, 3),)),
    "cross, trace, diag_embed": (lambda a, b: (graphc.linalg.cross(a, b), a[:3].trace(),
                                               graphc.diag_embed(a)), (_x(4, 3), _x(4, 3))),
    "slice and diagonal gradients": (
        lambda x: graphc.autograd.grad((x[1:, ::2] * 3).sum() + x.diagonal().sum(), x)[0],
        (_x(4, 4).requires_grad_(),)),
    "value_select": (lambda x: x.max(dim=1).values * 2, (_x(3, 5),)),
    "index_select, gather, scatter_add": (
        lambda x, i, j: (x.index_select(0, i), x.gather(1, j),
                         graphc.zeros(4, 4, dtype=x.dtype).scatter_add(0, j.t(), x[:2])),
        (_x(4, 4), graphc.tensor([3, 0, 3]), graphc.tensor([[1, 1], [0, 3], [2, 2], [3, 0]]))),
    "advanced indexing, index_put": (
        lambda x, i: (x[i, 1:], x.index_put((i,), x[:3] * 2, accumulate=True)),
        (_x(4, 3), graphc.tensor([2, -1, 2]))),
}


def test_a_bad_index_stops_the_cuda_call_with_eagers_error(tmp_path):
    """The first bad index, in eager's order, reported through the device error record."""
    def select(x, i):
        return x.index_select(0, i) * 2
    x = _x(4, 3)
    compiled = _compiled(select, x, graphc.tensor([1, 2]))
    with pytest.raises(IndexError) as eager:
        select(x, graphc.tensor([1, 7, 9]))
    compiled(x, graphc.tensor([0, 3, 1]))  # this signature's specialisation
    with pytest.raises(IndexError) as ours:
        run_as_cuda(compiled, (x, graphc.tensor([1, 7, 9])), tmp_path)
    assert str(ours.value) == str(eager.value)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_kernel_ir_runs_as_cuda_to_eagers_values(name, tmp_path):
    function, args = PROGRAMS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = _compiled(function, *args)
    ours, source = run_as_cuda(compiled, args, tmp_path)
    theirs = function(*args)
    ours, theirs = (ours, theirs) if isinstance(theirs, tuple) else ((ours,), (theirs,))
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.detach().numpy(), reference.detach().numpy(),
                                   rtol=1e-12, atol=1e-12)


def _functions(source):
    """{name: source} of a CUDA unit's generated `__global__` functions."""
    return {part.split("(")[0]: part.split("\n}\n")[0]
            for part in source.split("__global__ void ")[1:] if part.startswith("kernel")}


def test_each_parallel_loop_is_a_grid_and_other_kernels_run_in_order():
    """cat's copies are two grid-stride launches, in order; a scatter that stores (the last
    store of a repeated index wins) runs in one thread, in the C loop's order."""
    compiled = _compiled(lambda x, i: (graphc.cat([x, x], 0).triu(),
                                       x.index_copy(0, i, x[:2])), _x(3, 4), graphc.tensor([2, 2]))
    functions = _functions(cuda.source_of(compiled._latest))
    cat = sorted(name for name in functions if "_cat" in name)
    assert [name.rsplit("_", 1)[1] for name in cat] == ["loop0", "loop1"]
    assert all("GRAPHC_GRID_STRIDE_LOOP(i, 12)" in functions[name] for name in cat)
    [triu] = [body for name, body in functions.items() if name.endswith("_triu")]
    assert "GRAPHC_GRID_STRIDE_LOOP(i, 24)" in triu
    [stores] = [body for name, body in functions.items() if name.endswith("_index_copy")]
    assert "if (blockIdx.x != 0 || threadIdx.x != 0)" in stores


# (seed, offset) of the default generator: the last wraps the block counter past 2**64
STREAMS = [(0, 0), (42, 1000), (0xDEADBEEFCAFEF00D, 12345), (2**64 - 1, 2**64 - 3)]


def _draws(x):
    """Every draw the CUDA dialect lowers from Philox, in both precisions (randperm and
    multinomial without replacement sorted by CUB)."""
    return (graphc.rand(37) * x, graphc.rand(5, 3, dtype=graphc.float64),
            graphc.empty(41).uniform_(-2.5, 0.1), graphc.randn(39),
            graphc.empty(9, dtype=graphc.float64).normal_(3.0, 0.5),
            graphc.randint(0, 10, (33,)), graphc.randint(-7, -4, (5,)),
            graphc.randint(-2**31, 2**31, (35,)), graphc.randint(-2**40, 2**40, (7,)),
            graphc.empty(13).exponential_(1.5), graphc.bernoulli(graphc.full((45,), 0.3)),
            graphc.bernoulli(graphc.rand(21)), graphc.randperm(300),
            graphc.multinomial(graphc.rand(3, 40) * x, 7),
            graphc.multinomial(graphc.rand(2, 9) + x, 5, replacement=True))


@pytest.mark.parametrize("seed, offset", STREAMS)
def test_draws_run_as_cuda_to_eagers_numbers(seed, offset, tmp_path):
    """Philox on the device (the C backend's helpers as __host__ __device__ functions, a grid
    over blocks): the numbers eager draws from the same (seed, offset), and the same advance."""
    x = graphc.tensor(1.5)
    compiled = _compiled(_draws, x)
    graphc.manual_seed(seed)
    graphc.default_generator.set_offset(offset)
    ours, source = run_as_cuda(compiled, (x,), tmp_path)
    after = graphc.default_generator.get_offset()
    graphc.manual_seed(seed)
    graphc.default_generator.set_offset(offset)
    theirs = _draws(x)
    assert graphc.default_generator.get_offset() == after
    assert "GRAPHC_GRID_STRIDE_LOOP(b," in source
    for mine, reference in zip(ours, theirs):
        # float64 libm results rounded to float32 (normals): equal unless an ulp from a boundary
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=2e-7, atol=0)
        if reference.dtype != graphc.float32 or reference.numel() != 39:  # all but randn(39)
            np.testing.assert_array_equal(mine.numpy(), reference.numpy())


def test_device_philox_gives_random123s_known_answer(tmp_path):
    """randint over 2**32 values is low + the stream's words: Random123's kat_vectors
    (philox4x32, 10 rounds, counter 0 and key 0)."""
    def words(x):  # a float graph (integer-only graphs are not compiled yet)
        return x * 2, graphc.randint(-2**31, 2**31, (4,))
    x = graphc.tensor(1.0)
    compiled = _compiled(words, x)
    graphc.manual_seed(0)
    graphc.default_generator.set_offset(0)
    (_, words), _ = run_as_cuda(compiled, (x,), tmp_path)
    np.testing.assert_array_equal(words.numpy() + 2**31,
                                  [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8])


def _ties_and_nans(shape, dtype, nans):
    """Values from a few integers (so maxima tie), with NaNs in some rows when `nans`."""
    x = np.random.default_rng(7).integers(-3, 4, shape).astype(dtype)
    if nans:
        x.reshape(-1, shape[-1])[::3, 5::97] = np.nan
    return graphc.tensor(x)


def _folds(x):
    """Every fold a reduction's tree combines, along the last dim and over everything (the
    factors of the product exact in float32)."""
    return (x.sum(-1), x.mean(-1), (x * 2 ** -12 + 1).prod(-1), x.amax(-1), x.amin(-1),
            x.argmax(-1), x.argmin(-1), x.ne(0).all(-1), x.gt(2.5).any(-1),
            graphc.linalg.vector_norm(x, dim=-1), x.sum(), x.argmax(), x.amin(),
            x.reshape(-1, 100)[:100].trace())


# (shape, parts): a block per output, and folds long enough to be split over blocks
TREES = [((7, 300), 1), ((3, 20000), 5), ((20000,), 5)]


@pytest.mark.parametrize("nans", [False, True])
@pytest.mark.parametrize("shape, parts", TREES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_long_reductions_fold_as_trees_to_eagers_values(shape, parts, dtype, nans, tmp_path):
    """Each block's threads fold their parts by warp shuffles and a tree over the warps; longer
    folds in parts over several blocks, then a second launch: eager's values, and argmax and
    argmin at eager's first position of the extreme (ties, NaNs)."""
    x = _ties_and_nans(shape, dtype, nans)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = _compiled(_folds, x)
    ours, source = run_as_cuda(compiled, (x,), tmp_path)
    functions = _functions(source)
    assert any("__shfl_down_sync" in body for body in functions.values())
    assert any(name.endswith("_parts") for name in functions) == (parts > 1)
    # folds accumulate in double, so float32 ones are compared with eager's in float64 (whose
    # float32 product of 20000 factors rounds 20000 times)
    tolerance = 1e-6 if dtype == np.float32 else 1e-12
    for mine, reference in zip(ours, _folds(x.double())):
        if reference.dtype.is_floating_point:
            np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=tolerance)
        else:
            np.testing.assert_array_equal(mine.numpy(), reference.numpy())


def test_short_reductions_keep_a_thread_per_output():
    compiled = _compiled(lambda x: x.sum(-1), _x(50, 31))
    [body] = _functions(cuda.source_of(compiled._latest)).values()
    assert "GRAPHC_GRID_STRIDE_LOOP(o, 50)" in body and "__shfl" not in body


def _scans(x):
    """Long lines scanned along either dim, through a fused prologue and a transposed view."""
    return (x * 2).cumsum(-1), (x[:, :40] * 0.01 + 1).cumprod(1), x.t().cumsum(0)


def _on_each(function):
    """`function` of one tensor applied to each argument, the results in one tuple: several
    shapes in one unit (a unit on CUB takes nvcc 10-35 s to build)."""
    def on_each(*xs):
        return tuple(result for x in xs for result in function(x))
    return on_each


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_long_scans_run_a_block_per_line_on_cubs_block_scan(dtype, tmp_path):
    """Each thread folds its chunk of a line, CUB's BlockScan gives each chunk its start, and
    the chunk is rescanned from there: eager's values up to the chunks' grouping of the sums."""
    rng = np.random.default_rng(4)
    xs = tuple(graphc.tensor(rng.standard_normal(shape).astype(dtype))
               for shape in [(3, 700), (2, 40), (1, 5000)])
    compiled = _compiled(_on_each(_scans), *xs)
    ours, source = run_as_cuda(compiled, xs, tmp_path)
    scans = [body for name, body in _functions(source).items() if name.endswith(("cumsum",
                                                                                  "cumprod"))]
    assert len(scans) == 3 * len(xs) and all("BlockScan" in body for body in scans)
    tolerance = 1e-4 if dtype == np.float32 else 1e-12
    references = [(x.shape[1], result) for x in xs for result in _scans(x)]
    assert len(ours) == len(references)
    for mine, (columns, reference) in zip(ours, references):
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=tolerance,
                                   atol=tolerance * columns ** 0.5)


def test_exact_scans_on_cub_equal_eagers_bits_and_short_lines_keep_a_thread_each(tmp_path):
    """Sums and products of small integers are exact in any grouping, so the block scan gives
    eager's bits; a line shorter than a warp stays a thread's serial loop."""
    counts = graphc.tensor(np.random.default_rng(5).integers(-9, 9, (4, 300)).astype(float))
    compiled = _compiled(lambda i: (i.cumsum(1), i[:, :5].cumprod(1)), counts)
    (long, short), source = run_as_cuda(compiled, (counts,), tmp_path)
    np.testing.assert_array_equal(long.numpy(), counts.numpy().cumsum(1))
    np.testing.assert_array_equal(short.numpy(), counts.numpy()[:, :5].cumprod(1))
    functions = _functions(source)
    [cumprod] = [body for name, body in functions.items() if name.endswith("cumprod")]
    assert "BlockScan" not in cumprod and "GRAPHC_GRID_STRIDE_LOOP(o, 4)" in cumprod


def _scatters(x, i, j):
    """Accumulating scatters with repeated indices (three rows land on one)."""
    return (x.index_add(0, i, x[:5] * 2), graphc.zeros_like(x).scatter_add(1, j, x),
            x.index_put((i,), x[:5], accumulate=True))


@pytest.mark.parametrize("dtype", [graphc.float32, graphc.float64])
def test_accumulating_scatters_are_atomic_on_the_grid(dtype, tmp_path):
    x = graphc.tensor(np.random.default_rng(3).standard_normal((6, 40)), dtype=dtype)
    i = graphc.tensor([2, 5, 2, 0, 2])
    j = graphc.tensor(np.random.default_rng(4).integers(0, 40, (6, 40)))
    compiled = _compiled(_scatters, x, i, j)
    ours, source = run_as_cuda(compiled, (x, i, j), tmp_path)
    atomic = [body for body in _functions(source).values() if "graphc_atomic_accumulate" in body]
    assert len(atomic) == 3 and all("GRAPHC_GRID_STRIDE_LOOP" in body for body in atomic)
    for mine, reference in zip(ours, _scatters(x, i, j)):
        np.testing.assert_allclose(mine.numpy(), reference.numpy(),
                                   rtol=1e-5 if dtype == graphc.float32 else 1e-12)


@pytest.mark.parametrize("bad", [[9, 1, -8, 2, 7], [1, 1, 3, 1, -9], [2, 6, 0, 6, 6]])
def test_a_scatter_on_the_grid_reports_eagers_first_bad_index(bad, tmp_path):
    """Threads fail in any order; the error record keeps the failure the serial loop meets
    first, so the message is eager's."""
    def f(x, i):
        return x.index_add(0, i, x[:5] * 2), x.index_put((i,), x[:5], accumulate=True)
    x = _x(6, 40)
    compiled = _compiled(f, x, graphc.tensor([0, 1, 2, 3, 4]))
    with pytest.raises((IndexError, RuntimeError)) as eager:
        f(x, graphc.tensor(bad))
    with pytest.raises(eager.type) as ours:
        run_as_cuda(compiled, (x, graphc.tensor(bad)), tmp_path)
    assert str(ours.value) == str(eager.value)


def test_a_launch_after_a_failed_one_reports_nothing(tmp_path):
    """The second gather's bad index comes earlier in its loop, but the first gather failed
    first: the call stops there, as eager does."""
    def f(x, i, j):
        return x[i] * 2, x[j] * 3
    x = _x(4, 3)
    compiled = _compiled(f, x, graphc.tensor([0, 1, 2]), graphc.tensor([0, 1, 2]))
    i, j = graphc.tensor([0, 1, 5]), graphc.tensor([-7, 0, 0])
    with pytest.raises(IndexError) as eager:
        f(x, i, j)
    with pytest.raises(IndexError) as ours:
        run_as_cuda(compiled, (x, i, j), tmp_path)
    assert str(ours.value) == str(eager.value) and "index 5 " in str(eager.value)


def _sorts(x):
    return (x.sort(1).values, x.argsort(0, descending=True), x.topk(3, 1).indices,
            x.topk(2, 1, largest=False).values, x.median(1).values, x.kthvalue(2, 0).values,
            x.mode(1).values, x.nanmedian(), x.sort(1, stable=True, descending=True).indices)


def _sort_input(shape):
    x = np.random.default_rng(0).integers(-3, 3, shape).astype(np.float64)
    x[1, 3] = np.nan
    x[0, ::7] = np.nan
    x[1, 4], x[1, 5] = 0.0, -0.0
    return graphc.tensor(x)


def test_sorts_run_on_cub_in_eagers_stable_order(tmp_path):
    """Lines copied and picked on the grid, sorted by CUB's segmented stable sort on keys in
    eager's order: ties keep their order, NaN last ascending and first descending, -0.0 equal
    to 0.0 (0.0 stands before -0.0 here, so a sort by the bits would swap them). Short and long
    lines in one unit."""
    xs = (_sort_input((5, 40)), _sort_input((2, 3000)))
    compiled = _compiled(_on_each(_sorts), *xs)
    ours, source = run_as_cuda(compiled, xs, tmp_path)
    assert source.count("graphc_sort_lines(stream, ") == 9 * len(xs)
    assert "qsort(" not in source
    references = _on_each(_sorts)(*xs)
    assert len(ours) == len(references)
    for mine, reference in zip(ours, references):
        np.testing.assert_array_equal(mine.numpy(), reference.numpy())


@pytest.mark.parametrize("shape, parts", TREES)
def test_a_long_sum_folds_in_its_tree_order_bit_for_bit(shape, parts, tmp_path):
    """The combining order is fixed (no atomics): each thread folds its elements in order, the
    warps and the block as trees, the parts of a split fold by a second launch's tree, so the
    bits are those of the numpy model of that order (tests/cuda_programs.py), on any GPU."""
    import cuda_programs
    x = graphc.tensor(np.random.default_rng(5).standard_normal(shape))
    compiled = _compiled(lambda x: x.sum(-1), x)
    ours, _ = run_as_cuda(compiled, (x,), tmp_path)
    rows = x.numpy().reshape(-1, shape[-1])
    chunk = -(-shape[-1] // parts)
    expected = []
    for row in rows:
        partials = np.array([cuda_programs.row_tree_sum(row[p * chunk:(p + 1) * chunk], 256)
                             for p in range(parts)])
        expected.append(partials[0] if parts == 1 else cuda_programs.row_tree_sum(partials, 32))
    np.testing.assert_array_equal(ours.numpy().reshape(-1), np.array(expected))
