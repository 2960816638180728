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


def test_a_single_parallel_loop_is_the_grid_and_other_kernels_run_in_order():
    compiled = _compiled(lambda x: graphc.cat([x, x], 0).triu(), _x(3, 4))
    source = cuda.source_of(compiled._latest)
    functions = {part.split("(")[0].split("_", 1)[1]: part for part in
                 source.split("__global__ void kernel")[1:]}
    assert "GRAPHC_GRID_STRIDE_LOOP(i, 24)" in functions["triu"].split("\n}\n")[0]
    assert "if (blockIdx.x != 0 || threadIdx.x != 0)" in functions["cat"].split("\n}\n")[0]


# (seed, offset) of the default generator: the last wraps the block counter past 2**64
STREAMS = [(0, 0), (42, 1000), (0xDEADBEEFCAFEF00D, 12345), (2**64 - 1, 2**64 - 3)]


def _draws(x):
    """Every draw the CUDA dialect lowers from Philox, in both precisions."""
    return (graphc.rand(37) * x, graphc.rand(5, 3, dtype=graphc.float64),
            graphc.empty(41).uniform_(-2.5, 0.1), graphc.randn(39),
            graphc.empty(9, dtype=graphc.float64).normal_(3.0, 0.5),
            graphc.randint(0, 10, (33,)), graphc.randint(-7, -4, (5,)),
            graphc.randint(-2**31, 2**31, (35,)), graphc.randint(-2**40, 2**40, (7,)),
            graphc.empty(13).exponential_(1.5), graphc.bernoulli(graphc.full((45,), 0.3)),
            graphc.bernoulli(graphc.rand(21)))


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
