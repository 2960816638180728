"""Every non-elementwise primitive of the registry is run against a numpy reference.

(Elementwise primitives are covered the same way by test_elementwise.py.) Each case names the
primitive it exercises, and the test checks that the primitive really ran, so the table cannot
drift from the registry; a newly declared primitive without a case fails the suite.
"""
import contextlib

import numpy as np
import pytest

import graphc
from graphc.ir.registry import REGISTRY

RNG = np.random.default_rng(11)
A = RNG.standard_normal((3, 4))
M = RNG.standard_normal((3, 3))
SPD = M @ M.T + 3 * np.eye(3)
V = np.array([3.0, 1.0, 2.0, 1.0, 5.0, 2.0])
I = np.array([[0, 2], [1, 0], [2, 2]])


def g(array):
    return graphc.tensor(array)


def _sym(array):
    return (array + array.T) / 2


# name -> (graphc computation, numpy reference); both return arrays or numbers
CASES = {
    "alias": (lambda: g(A).view(3, 4), lambda: A),
    "view": (lambda: g(A).view(4, 3), lambda: A.reshape(4, 3)),
    "view_dtype": (lambda: g(A).view(graphc.int64), lambda: A.view(np.int64)),
    "expand": (lambda: g(V[:3]).expand(2, 3), lambda: np.broadcast_to(V[:3], (2, 3))),
    "permute": (lambda: g(A).permute(1, 0), lambda: A.T),
    "squeeze": (lambda: g(A[:1]).squeeze(0), lambda: A[0]),
    "unsqueeze": (lambda: g(A).unsqueeze(1), lambda: A[:, None]),
    "slice": (lambda: g(A)[1:, ::2], lambda: A[1:, ::2]),
    "diagonal": (lambda: g(A).diagonal(1), lambda: np.diagonal(A, 1)),
    # as_strided works on the storage; its primitive is what autograd records
    "as_strided": (lambda: g(V).requires_grad_().as_strided((2, 2), (1, 2)),
                   lambda: np.lib.stride_tricks.as_strided(V, (2, 2), (8, 16))),
    "slice_backward": (lambda: _run("slice_backward", g(A[:2, :2]), shape=(3, 4),
                                    index=(slice(1, None), slice(None, None, 2))),
                       lambda: _scatter_into((3, 4), (slice(1, None), slice(None, None, 2)), A[:2, :2])),
    "diagonal_backward": (lambda: _run("diagonal_backward", g(V[:3]), shape=(3, 4), offset=1,
                                       dim1=0, dim2=1),
                          lambda: np.diag(V[:3], 1)[:3, :4]),
    "as_strided_backward": (lambda: _run("as_strided_backward", g(np.ones((2, 2))),
                                         input_shape=(6,), input_stride=(1,), input_offset=0,
                                         size=(2, 2), stride=(1, 2), offset=0),
                            # the view reads storage elements 0, 2 / 1, 3: each once
                            lambda: np.array([1.0, 1.0, 1.0, 1.0, 0.0, 0.0])),
    "as_strided_gather": (lambda: _run("as_strided_gather", g(V), input_shape=(6,),
                                       input_stride=(1,), input_offset=0, size=(2, 2),
                                       stride=(1, 2), offset=0),
                          lambda: np.lib.stride_tricks.as_strided(V, (2, 2), (8, 16))),
    "clone": (lambda: g(A).clone(), lambda: A.copy()),
    "contiguous": (lambda: g(A).t().contiguous(), lambda: np.ascontiguousarray(A.T)),
    "cat": (lambda: graphc.cat([g(A), g(A)], 1), lambda: np.concatenate([A, A], 1)),
    "repeat": (lambda: g(A).repeat(2, 1), lambda: np.tile(A, (2, 1))),
    "flip": (lambda: g(A).flip(1), lambda: A[:, ::-1]),
    "sum": (lambda: g(A).sum(1), lambda: A.sum(1)),
    "prod": (lambda: g(A).prod(0), lambda: A.prod(0)),
    "mean": (lambda: g(A).mean(), lambda: A.mean()),
    "amax": (lambda: g(A).amax(0), lambda: A.max(0)),
    "amin": (lambda: g(A).amin(1), lambda: A.min(1)),
    "argmax": (lambda: g(A).argmax(1), lambda: A.argmax(1)),
    "argmin": (lambda: g(A).argmin(), lambda: A.argmin()),
    "all": (lambda: (g(A) > -5).all(1), lambda: (A > -5).all(1)),
    "any": (lambda: (g(A) > 1).any(0), lambda: (A > 1).any(0)),
    "count_nonzero": (lambda: (g(A) > 0).count_nonzero(1), lambda: (A > 0).sum(1)),
    "cumsum": (lambda: g(A).cumsum(1), lambda: A.cumsum(1)),
    "cumprod": (lambda: g(A).cumprod(0), lambda: A.cumprod(0)),
    "value_select": (lambda: g(A).max(1).values, lambda: A.max(1)),
    "median_all": (lambda: g(V).median(), lambda: np.sort(V)[(len(V) - 1) // 2]),
    "median_indices": (lambda: g(A).median(1).values,
                       lambda: np.sort(A, 1)[:, (A.shape[1] - 1) // 2]),
    "mode_indices": (lambda: g(np.array([[1.0, 2, 2, 3], [4, 4, 1, 1]])).mode(1).values,
                     lambda: np.array([2.0, 1.0])),
    "sort_indices": (lambda: g(A).sort(1).indices, lambda: np.argsort(A, 1, kind="stable")),
    "topk_indices": (lambda: g(A).topk(2, 1).values, lambda: -np.sort(-A, 1)[:, :2]),
    "kthvalue_indices": (lambda: g(A).kthvalue(2, 1).values, lambda: np.sort(A, 1)[:, 1]),
    "unique": (lambda: graphc.unique(g(V)), lambda: np.unique(V)),
    "unique_consecutive": (lambda: graphc.unique_consecutive(g(np.array([1, 1, 2, 2, 1]))),
                           lambda: np.array([1, 2, 1])),
    "index": (lambda: g(A)[[0, 2, 0]], lambda: A[[0, 2, 0]]),
    "index_put": (lambda: g(A).index_put((g(np.array([0, 2])),), g(np.zeros(4))),
                  lambda: _set(A, [0, 2], 0.0)),
    "masked_fill": (lambda: g(A).masked_fill(g(A > 0), 9.0), lambda: np.where(A > 0, 9.0, A)),
    "masked_select": (lambda: g(A).masked_select(g(A > 0)), lambda: A[A > 0]),
    "nonzero": (lambda: g(A > 0).nonzero(), lambda: np.argwhere(A > 0)),
    "index_select": (lambda: g(A).index_select(1, g(np.array([3, 0]))), lambda: A[:, [3, 0]]),
    "gather": (lambda: g(A).gather(1, g(I)), lambda: np.take_along_axis(A, I, 1)),
    "scatter": (lambda: g(np.zeros((3, 4))).scatter(1, g(I[:, :1]), g(A[:, :1])),
                lambda: _scatter_rows(np.zeros((3, 4)), I[:, 0], A[:, 0])),
    "scatter_add": (lambda: g(np.zeros((3, 4))).scatter_add(1, g(I), g(A[:, :2])),
                    lambda: _scatter_add_rows(np.zeros((3, 4)), I, A[:, :2])),
    "scatter_reduce": (lambda: g(np.zeros(3)).scatter_reduce(0, g(np.array([0, 0, 2])),
                                                             g(V[:3]), "sum"),
                       lambda: np.array([V[0] + V[1], 0.0, V[2]])),
    "index_add": (lambda: g(A).index_add(0, g(np.array([1, 1])), g(A[:2])),
                  lambda: A + np.array([np.zeros(4), A[0] + A[1], np.zeros(4)])),
    "index_fill": (lambda: g(A).index_fill(1, g(np.array([0])), -1.0),
                   lambda: np.concatenate([-np.ones((3, 1)), A[:, 1:]], 1)),
    "index_copy": (lambda: g(A).index_copy(0, g(np.array([2])), g(A[:1])),
                   lambda: np.stack([A[0], A[1], A[0]])),
    "take": (lambda: g(A).take(g(np.array([0, 5, 11]))), lambda: A.reshape(-1)[[0, 5, 11]]),
    "put": (lambda: g(V).put(g(np.array([1])), g(np.array([7.0]))), lambda: _set(V, [1], 7.0)),
    "matmul": (lambda: g(A).t() @ g(A), lambda: A.T @ A),
    "addmm": (lambda: graphc.addmm(g(V[:3]), g(A), g(A).t(), beta=2.0, alpha=0.5),
              lambda: 2 * V[:3] + 0.5 * A @ A.T),
    "log_softmax": (lambda: g(A).log_softmax(1),
                    lambda: A - np.log(np.exp(A).sum(1, keepdims=True))),
    "nll_loss": (lambda: graphc.nn.functional.nll_loss(g(A), g(np.array([0, 3, -100]))),
                 lambda: -(A[0, 0] + A[1, 3]) / 2),
    "trace": (lambda: g(A).trace(), lambda: np.trace(A)),
    "diag_embed": (lambda: g(V[:3]).diag(), lambda: np.diag(V[:3])),
    "triu": (lambda: g(A).triu(1), lambda: np.triu(A, 1)),
    "tril": (lambda: g(A).tril(), lambda: np.tril(A)),
    "cross": (lambda: graphc.cross(g(A[:, :3]), g(M), dim=1), lambda: np.cross(A[:, :3], M)),
    "inverse": (lambda: g(M).inverse(), lambda: np.linalg.inv(M)),
    "det": (lambda: g(M).det(), lambda: np.linalg.det(M)),
    "slogdet_sign": (lambda: graphc.slogdet(g(M))[0], lambda: np.linalg.slogdet(M)[0]),
    "slogdet_logabsdet": (lambda: graphc.slogdet(g(M))[1], lambda: np.linalg.slogdet(M)[1]),
    "svd_s": (lambda: graphc.linalg.svdvals(g(A)), lambda: np.linalg.svd(A, compute_uv=False)),
    "svd_u": (lambda: _abs(graphc.linalg.svd(g(A), full_matrices=False)[0]),
              lambda: np.abs(np.linalg.svd(A, full_matrices=False)[0])),
    "svd_vh": (lambda: _abs(graphc.linalg.svd(g(A), full_matrices=False)[2]),
               lambda: np.abs(np.linalg.svd(A, full_matrices=False)[2])),
    "svd_v": (lambda: _abs(graphc.svd(g(A))[2]),
              lambda: np.abs(np.linalg.svd(A, full_matrices=False)[2].T)),
    "solve": (lambda: graphc.linalg.solve(g(M), g(A)), lambda: np.linalg.solve(M, A)),
    "cholesky": (lambda: graphc.linalg.cholesky(g(SPD)), lambda: np.linalg.cholesky(SPD)),
    "eigh_values": (lambda: graphc.linalg.eigvalsh(g(_sym(M))), lambda: np.linalg.eigvalsh(_sym(M))),
    "eigh_vectors": (lambda: _abs(graphc.linalg.eigh(g(_sym(M)))[1]),
                     lambda: np.abs(np.linalg.eigh(_sym(M))[1])),
    "qr_q": (lambda: _abs(graphc.linalg.qr(g(A.T))[0]), lambda: np.abs(np.linalg.qr(A.T)[0])),
    "qr_r": (lambda: _abs(graphc.linalg.qr(g(A.T))[1]), lambda: np.abs(np.linalg.qr(A.T)[1])),
    "vector_norm": (lambda: g(A).norm(3, 1), lambda: (np.abs(A) ** 3).sum(1) ** (1 / 3)),
    "matrix_norm": (lambda: graphc.linalg.matrix_norm(g(A), "nuc"),
                    lambda: np.linalg.norm(A, "nuc")),
    "isclose": (lambda: graphc.isclose(g(A), g(A + 1e-9)), lambda: np.isclose(A, A + 1e-9)),
    "histc": (lambda: graphc.histc(g(V).double(), bins=4, min=0, max=4),
              lambda: np.histogram(V, bins=4, range=(0, 4))[0]),
    "bincount": (lambda: graphc.bincount(g(np.array([0, 3, 3, 1]))), lambda: np.array([1, 1, 0, 2])),
    "searchsorted": (lambda: graphc.searchsorted(g(np.array([1.0, 2.0, 4.0])), g(A)),
                     lambda: np.searchsorted([1.0, 2.0, 4.0], A)),
    "isin": (lambda: graphc.isin(g(A), g(np.array([0.0, 2.0, 5.0]))),
             lambda: np.isin(A, [0.0, 2.0, 5.0])),
    # random primitives: their defining properties (values differ from numpy's generators)
    "uniform": (lambda: _in_range(graphc.rand(1000), 0, 1), lambda: True),
    "normal": (lambda: abs(graphc.randn(20000).mean().item()) < 0.05, lambda: True),
    "exponential": (lambda: _in_range(graphc.empty(1000).exponential_(), 0, np.inf), lambda: True),
    "randint": (lambda: _in_range(graphc.randint(3, 7, (1000,)), 3, 6, closed=True), lambda: True),
    "randperm": (lambda: sorted(graphc.randperm(50).tolist()) == list(range(50)), lambda: True),
    "bernoulli": (lambda: set(graphc.bernoulli(graphc.full((100,), 0.5)).tolist()) <= {0.0, 1.0},
                  lambda: True),
    "multinomial": (lambda: set(graphc.multinomial(g(np.array([0.0, 1.0, 1.0])), 50,
                                                   replacement=True).tolist()) <= {1, 2},
                    lambda: True),
}


def _run(name, *args, **attrs):
    return graphc.dispatch.apply(REGISTRY[name], args, attrs)


def _scatter_into(shape, index, values):
    out = np.zeros(shape)
    out[index] = values
    return out


def _set(array, positions, value):
    out = array.copy()
    out[positions] = value
    return out


def _scatter_rows(out, columns, values):
    out = out.copy()
    out[np.arange(len(columns)), columns] = values
    return out


def _scatter_add_rows(out, index, values):
    out = out.copy()
    for row in range(index.shape[0]):
        for column in range(index.shape[1]):
            out[row, index[row, column]] += values[row, column]
    return out


def _abs(tensor):
    return tensor.abs()


def _in_range(tensor, low, high, closed=False):
    values = tensor.numpy()
    return bool((values >= low).all() and ((values <= high) if closed else (values < high)).all())


@contextlib.contextmanager
def _counting(op):
    """Count how often `op` runs while the block executes (views call their numpy
    implementation directly, other primitives go through their executor)."""
    calls = [0]
    run, eager = op.run, op.eager

    def counted_run(args, attrs):
        calls[0] += 1
        return run(args, attrs)

    def counted_eager(*args, **attrs):
        calls[0] += 1
        return eager(*args, **attrs)
    op.run, op.eager = counted_run, counted_eager
    try:
        yield calls
    finally:
        op.run, op.eager = run, eager


def test_every_primitive_has_a_value_case():
    missing = sorted(name for name, op in REGISTRY.items()
                     if op.kind != "elementwise" and name not in CASES)
    assert not missing, f"add value cases for: {missing}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_primitive_matches_its_reference(name):
    compute, reference = CASES[name]
    op = REGISTRY[name]
    with _counting(op) as calls:
        result = compute()
    recorded = isinstance(result, graphc.Tensor) and getattr(result.grad_fn, "op", None) is op
    assert calls[0] > 0 or recorded, f"the case for {name} does not run that primitive"
    if isinstance(result, graphc.Tensor):
        result = result.detach().numpy()
    np.testing.assert_allclose(np.asarray(result, dtype=np.float64),
                               np.asarray(reference(), dtype=np.float64), rtol=1e-10, atol=1e-10)
