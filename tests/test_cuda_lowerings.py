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
