"""einsum, tensordot, cdist, meshgrid, cartesian_prod, tril/triu_indices, roll, diff, tile,
broadcast_to, histc, bincount, searchsorted, bucketize, isin, clip and erf: values against numpy
(and math.erf), torch's errors, gradients against finite differences, graphc.compile against
eager, and everything against torch when it is importable."""
import itertools
import math
import warnings

import numpy as np
import pytest

import graphc
from graphc.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(5)


def g(array):
    return graphc.tensor(array)


def leaf(*shape):
    return graphc.tensor(RNG.standard_normal(shape), requires_grad=True)


def values(*shape):
    return RNG.standard_normal(shape)


# ------------------------------------------------------------------ einsum

EINSUM_CASES = [
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ij,jk->", [(2, 3), (3, 4)]),
    ("ij,jk->ki", [(2, 3), (3, 4)]),
    (" i j , j k -> i k ", [(2, 3), (3, 4)]),
    ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("iij->ji", [(2, 2, 3)]),
    ("iji->j", [(2, 3, 2)]),
    ("bii->bi", [(4, 3, 3)]),
    ("ba", [(2, 3)]),
    ("bA", [(2, 3)]),
    ("zAa", [(2, 3, 4)]),
    ("Ab,bA", [(2, 3), (3, 2)]),
    ("ij,kl->ijkl", [(2, 3), (3, 4)]),
    ("i,j", [(3,), (2,)]),
    ("i,i", [(4,), (4,)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("ij,ij->i", [(2, 3), (2, 3)]),
    ("ij,jk,kl", [(2, 3), (3, 4), (4, 5)]),
    ("abc,cd,bd->ad", [(2, 3, 4), (4, 5), (3, 5)]),
    ("i,i,i->", [(4,), (4,), (4,)]),
    ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]),
    ("bij,jk->bik", [(2, 3, 4), (4, 5)]),
    ("...ij->...ji", [(2, 3, 4)]),
    ("...ij->ij", [(2, 3, 4)], "kij->ij"),  # numpy does not sum ellipsis dims: its spelling
    ("...->", [(2, 3, 4)], "ijk->"),
    ("i...,...i", [(3, 2), (4, 1, 2, 3)]),
    ("...,...", [(2, 3), (3,)]),
    ("i...k,k...->i...", [(2, 3, 4), (4, 3)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("ij->...", [(2, 3)], "ij->"),
    ("", [()]),
    ("i,j", [(0,), (3,)]),
    ("i,i", [(0,), (0,)]),
]


@pytest.mark.parametrize("case", EINSUM_CASES, ids=[case[0] for case in EINSUM_CASES])
def test_einsum_matches_numpy(case):
    equation, shapes = case[:2]
    arrays = [values(*shape) for shape in shapes]
    result = graphc.einsum(equation, *[g(a) for a in arrays])
    expected = np.einsum(case[2] if len(case) > 2 else equation.replace(" ", ""), *arrays)
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert tuple(result.shape) == np.shape(expected)


def test_einsum_operands_as_a_list_or_sublists():
    a, b = values(2, 3), values(3, 4)
    expected = a @ b
    np.testing.assert_allclose(graphc.einsum("ij,jk", [g(a), g(b)]).numpy(), expected)
    np.testing.assert_allclose(graphc.einsum("ij,jk", (g(a), g(b))).numpy(), expected)
    np.testing.assert_allclose(graphc.einsum(g(a), [0, 1], g(b), [1, 2], [0, 2]).numpy(),
                               expected)
    np.testing.assert_allclose(graphc.einsum(g(a), [Ellipsis, 0], g(a), [Ellipsis, 0],
                                             [Ellipsis]).numpy(), (a * a).sum(-1))


def test_einsum_dtypes_follow_torch():
    i = g(np.arange(6).reshape(2, 3))
    assert graphc.einsum("ij,kj", i, i).dtype is graphc.int64
    assert graphc.einsum("i->", g(np.array([1, 2], dtype=np.uint8))).dtype is graphc.int64
    # without a summed subscript the operands multiply (and promote) instead of going to bmm
    assert graphc.einsum("i,j", g(np.ones(2, np.float32)), g(np.ones(2))).dtype is graphc.float64
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        graphc.einsum("i,i", g(np.ones(2, np.float32)), g(np.ones(2)))
    with pytest.raises(NotImplementedError, match="bmm"):
        graphc.einsum("i,i", g(np.array([True])), g(np.array([True])))


def test_einsum_of_one_operand_is_a_view():
    a = g(values(2, 3))
    assert graphc.einsum("ij->ij", a).data_ptr() == a.data_ptr()
    assert graphc.einsum("ji", a).stride() == (1, 3)


@pytest.mark.parametrize("arguments, error, message", [
    (("ij,jk", (2, 3)), RuntimeError, "fewer operands were provided"),
    (("ij", (2, 3), (3, 3)), RuntimeError, "more operands were provided"),
    (("ijk", (2, 3)), RuntimeError, r"subscripts in the equation \(3\) does not match"),
    (("ij->k", (2, 3)), RuntimeError, "output subscript k does not appear"),
    (("ij->ii", (2, 3)), RuntimeError, "output subscript i appears more than once"),
    (("i1", (2, 3)), RuntimeError, "invalid subscript given at index 1"),
    (("ij->i->j", (2, 3)), RuntimeError, "invalid subscript given at index 5"),
    (("ij,ij", (2, 3), (4, 3)), RuntimeError, "subscript i has size 4 for operand 1"),
    (("ii", (2, 3)), RuntimeError, "sizes don't match, 3 != 2"),
    (("....", (2, 3)), RuntimeError, "an ellipsis was already found"),
    ((".i", (2, 3)), RuntimeError, "not part of any ellipsis"),
    (("...i,...i", (2, 3), (4, 3)), RuntimeError, "covered by ellipsis in operand 1"),
])
def test_einsum_errors(arguments, error, message):
    equation, *shapes = arguments
    with pytest.raises(error, match=message):
        graphc.einsum(equation, *[g(values(*shape)) for shape in shapes])


def test_einsum_argument_types():
    with pytest.raises(ValueError, match="must specify the equation string"):
        graphc.einsum("ij")
    with pytest.raises(TypeError, match="'equation' \\(position 1\\) must be str"):
        graphc.einsum(1, g(values(2)))
    with pytest.raises(TypeError, match="expected Tensor as element 1 in argument 1"):
        graphc.einsum("i,i", g(values(2)), 3)


def test_einsum_size_one_subscripts_broadcast():
    a, b = values(2, 3), values(1, 3)
    np.testing.assert_allclose(graphc.einsum("ij,ij", g(a), g(b)).numpy(),
                               (a * b).sum())
    a, b = values(5, 2, 3), values(1, 3, 4)
    np.testing.assert_allclose(graphc.einsum("bij,bjk->bik", g(a), g(b)).numpy(), a @ b)


# ------------------------------------------------------------------ tensordot, cdist


@pytest.mark.parametrize("dims", [2, 1, 0, ([1, 2], [0, 1]), [[1], [0]], ((1,), (0,)),
                                  ([-2], [-3]), ([], []), ([2, 0], [1, 2])])
def test_tensordot_matches_numpy(dims):
    a, b = values(2, 3, 4), (values(3, 4, 5) if dims != ([2, 0], [1, 2]) else values(3, 4, 2))
    if dims == 1:
        b = values(4, 5)
    expected = np.tensordot(a, b, axes=dims if not isinstance(dims, list) else tuple(dims))
    np.testing.assert_allclose(graphc.tensordot(g(a), g(b), dims).numpy(), expected,
                               rtol=1e-12, atol=1e-12)


def test_tensordot_dims_as_a_tensor():
    a, b = values(2, 3, 4), values(3, 4, 5)
    np.testing.assert_allclose(graphc.tensordot(g(a), g(b), g(np.array([[1], [0]]))).numpy(),
                               np.tensordot(a, b, ([1], [0])))


@pytest.mark.parametrize("dims, error, message", [
    (-1, RuntimeError, "tensordot expects dims >= 0, but got dims=-1"),
    (4, RuntimeError, "tensordot expects dims < ndim_a or ndim_b"),
    (1, RuntimeError, "first has size 4 in dim -1 and second has size 3 in dim 0"),
    (([1, 2], [0]), RuntimeError, "both dimension lists should have same length"),
    (([1, 1], [0, 0]), RuntimeError, "dim 1 appears multiple times"),
    (([5], [0]), IndexError, "Dimension out of range"),
    (2.0, RuntimeError, "tensordot expects dims to be int or"),
    ((1, 0), TypeError, "must be tuple of ints"),
])
def test_tensordot_errors(dims, error, message):
    with pytest.raises(error, match=message):
        graphc.tensordot(g(values(2, 3, 4)), g(values(3, 4, 5)), dims)
    with pytest.raises(RuntimeError, match="both inputs should have same dtype"):
        graphc.tensordot(g(values(2, 3)), g(values(3, 2)).float(), 1)


def _cdist_reference(x1, x2, p):
    differences = np.abs(x1[..., :, None, :] - x2[..., None, :, :])
    if p == 0:
        return (differences != 0).sum(-1).astype(x1.dtype)
    if p == math.inf:
        return differences.max(-1)
    return (differences ** p).sum(-1) ** (1 / p)


@pytest.mark.parametrize("p", [2, 1, 0, 3, 0.5, math.inf])
def test_cdist_matches_the_formula(p):
    x1, x2 = values(3, 2), values(4, 2)
    np.testing.assert_allclose(graphc.cdist(g(x1), g(x2), p=p).numpy(),
                               _cdist_reference(x1, x2, p), rtol=1e-12)


def test_cdist_batches_broadcast_and_empty_shapes():
    x1, x2 = values(5, 1, 3, 2), values(6, 4, 2)
    result = graphc.cdist(g(x1), g(x2))
    assert tuple(result.shape) == (5, 6, 3, 4)
    np.testing.assert_allclose(result.numpy(), _cdist_reference(x1, x2, 2), rtol=1e-12)
    assert tuple(graphc.cdist(g(values(0, 2)), g(values(4, 2))).shape) == (0, 4)
    np.testing.assert_array_equal(graphc.cdist(g(values(3, 0)), g(values(4, 0))).numpy(),
                                  np.zeros((3, 4)))


@pytest.mark.parametrize("x1, x2, error, message", [
    ((2,), (4, 2), RuntimeError, "at least 2D tensors, X1 got: 1D"),
    ((3, 2), (4, 3), RuntimeError, "same number of columns. X1: 2 X2: 3"),
    ((3, 2), (4, 2, "long"), RuntimeError, "only supports floating-point dtypes, X2 got: Long"),
    ((3, 2), (4, 2, "float"), RuntimeError, "expected scalar type Double but found Float"),
    ((3, 2, "half"), (4, 2, "half"), NotImplementedError, "not implemented for 'Half'"),
    ((5, 3, 2), (6, 4, 2), RuntimeError, "must match the size of tensor b"),
])
def test_cdist_errors(x1, x2, error, message):
    def make(spec):
        shape = [s for s in spec if isinstance(s, int)]
        kind = [s for s in spec if isinstance(s, str)]
        tensor = g(values(*shape))
        return getattr(tensor, kind[0])() if kind else tensor
    with pytest.raises(error, match=message):
        graphc.cdist(make(x1), make(x2))
    with pytest.raises(RuntimeError, match="non-negative p values"):
        graphc.cdist(g(values(3, 2)), g(values(4, 2)), p=-1)
    with pytest.raises(ValueError, match="foo is not a valid value for compute_mode"):
        graphc.cdist(g(values(3, 2)), g(values(4, 2)), compute_mode="foo")


# ------------------------------------------------------------------ meshgrid, cartesian_prod, triangles


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_matches_numpy(indexing):
    arrays = [np.arange(3), np.arange(2) * 10, np.arange(4) * 100]
    for count in (1, 2, 3):
        grids = graphc.meshgrid(*[g(a) for a in arrays[:count]], indexing=indexing)
        expected = np.meshgrid(*arrays[:count], indexing=indexing)
        assert len(grids) == count
        for grid, reference in zip(grids, expected):
            np.testing.assert_array_equal(grid.numpy(), reference)
    listed = graphc.meshgrid([g(arrays[0]), g(arrays[1])], indexing=indexing)
    np.testing.assert_array_equal(listed[1].numpy(), np.meshgrid(*arrays[:2],
                                                                 indexing=indexing)[1])


def test_meshgrid_grids_are_views_and_zero_dim_tensors_count_as_one():
    a = g(np.arange(3))
    grid = graphc.meshgrid(a, g(np.arange(2)), indexing="ij")[0]
    assert grid.data_ptr() == a.data_ptr() and grid.stride() == (1, 0)
    assert tuple(graphc.meshgrid(g(np.array(3)), g(np.arange(2)), indexing="ij")[0].shape) == (1, 2)


def test_meshgrid_warns_without_indexing_and_checks_its_inputs():
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        grids = graphc.meshgrid(g(np.arange(3)), g(np.arange(2)))
    assert tuple(grids[0].shape) == (3, 2)  # 'ij'
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graphc.meshgrid(g(np.arange(3)), indexing="ij")
    with pytest.raises(RuntimeError, match='indexing must be one of "xy" or "ij"'):
        graphc.meshgrid(g(np.arange(3)), indexing="foo")
    with pytest.raises(RuntimeError, match="Expected 0D or 1D tensor"):
        graphc.meshgrid(g(np.zeros((2, 2))), indexing="ij")
    with pytest.raises(RuntimeError, match="meshgrid expects all tensors to have the same dtype"):
        graphc.meshgrid(g(np.arange(3)), g(np.arange(2.0)), indexing="ij")
    with pytest.raises(RuntimeError, match="meshgrid expects a non-empty TensorList"):
        graphc.meshgrid(indexing="ij")
    with pytest.raises(TypeError, match="expected Tensor as element 1 in argument 0"):
        graphc.meshgrid(g(np.arange(3)), 3, indexing="ij")


def test_cartesian_prod_matches_itertools():
    parts = [np.arange(3), np.arange(2) + 10, np.arange(4) + 20]
    for count in (2, 3):
        result = graphc.cartesian_prod(*[g(p) for p in parts[:count]])
        np.testing.assert_array_equal(result.numpy(),
                                      np.array(list(itertools.product(*parts[:count]))))
    single = g(parts[0])
    np.testing.assert_array_equal(graphc.cartesian_prod(single).numpy(), parts[0])
    assert tuple(graphc.cartesian_prod(single, g(np.arange(0))).shape) == (0, 2)
    with pytest.raises(RuntimeError, match=r"Expect a 1D vector, but got shape \[2, 2\]"):
        graphc.cartesian_prod(single, g(np.zeros((2, 2), np.int64)))
    with pytest.raises(RuntimeError, match="same dtype"):
        graphc.cartesian_prod(single, g(np.arange(2.0)))
    with pytest.raises(TypeError, match="expected Tensor as element 0"):
        graphc.cartesian_prod([single, single])


@pytest.mark.parametrize("row, col, offset", [(3, 3, 0), (3, 4, 1), (3, 4, -1), (3, 4, -5),
                                              (3, 4, 10), (0, 4, 0), (5, 2, -1), (2, 5, 2)])
def test_triangle_indices_match_numpy(row, col, offset):
    lower = graphc.tril_indices(row, col, offset)
    upper = graphc.triu_indices(row, col, offset)
    np.testing.assert_array_equal(lower.numpy(), np.array(np.tril_indices(row, offset, col))
                                  .reshape(2, -1))
    np.testing.assert_array_equal(upper.numpy(), np.array(np.triu_indices(row, offset, col))
                                  .reshape(2, -1))
    assert lower.dtype is graphc.int64
    assert graphc.tril_indices(row, col, offset, dtype=graphc.int32).dtype is graphc.int32


def test_triangle_indices_errors():
    with pytest.raises(RuntimeError, match="row must be non-negative, got-1"):
        graphc.tril_indices(-1, 4)
    with pytest.raises(RuntimeError, match="col must be non-negative, got-4"):
        graphc.triu_indices(3, -4)
    with pytest.raises(NotImplementedError, match="\"tril_indices\" not implemented for 'Float'"):
        graphc.tril_indices(3, 3, dtype=graphc.float32)
    with pytest.raises(TypeError, match="argument 'row' \\(position 1\\) must be int"):
        graphc.tril_indices(3.0, 3)


# ------------------------------------------------------------------ roll, diff, tile, broadcast_to


@pytest.mark.parametrize("shifts, dims", [(1, None), (-7, None), (12, None), (1, 1),
                                          ((1, 2), (0, 1)), ((1, 1), (1, 1)), ([1], [0]),
                                          (0, 0), (-3, -1)])
def test_roll_matches_numpy(shifts, dims):
    a = np.arange(10).reshape(2, 5)
    result = graphc.roll(g(a), shifts, dims)
    np.testing.assert_array_equal(result.numpy(), np.roll(a, shifts, dims))
    np.testing.assert_array_equal(g(a).t().roll(shifts, dims).numpy(), np.roll(a.T, shifts, dims))


def test_roll_errors_and_edge_shapes():
    a = g(np.arange(10).reshape(2, 5))
    with pytest.raises(RuntimeError, match="shifts and dimensions must align. shifts: 2, dims:1"):
        graphc.roll(a, (1, 2), 1)
    with pytest.raises(RuntimeError, match="`shifts` required"):
        graphc.roll(a, (), ())
    with pytest.raises(IndexError, match="Dimension out of range"):
        graphc.roll(a, 1, 2)
    with pytest.raises(TypeError, match="must be tuple of ints, not float"):
        graphc.roll(a, 1.5)
    with pytest.raises(IndexError, match="tensor has no dimensions"):
        graphc.roll(g(np.array(5)), 1, 0)
    assert graphc.roll(g(np.array(5)), 1).item() == 5
    assert tuple(graphc.roll(g(np.zeros((0, 3))), 1, 0).shape) == (0, 3)
    rolled = graphc.roll(a, 0)
    assert rolled.data_ptr() != a.data_ptr()  # a new tensor, as torch's


@pytest.mark.parametrize("n, dim", [(1, -1), (2, -1), (5, -1), (0, -1), (1, 0), (3, 1)])
def test_diff_matches_numpy(n, dim):
    a = RNG.integers(-9, 9, (4, 6))
    np.testing.assert_array_equal(graphc.diff(g(a), n, dim).numpy(), np.diff(a, n, dim))


def test_diff_prepend_append_and_bool():
    a = np.arange(6).reshape(2, 3)
    before, after = np.zeros((2, 1), np.int64), np.ones((2, 2), np.int64)
    np.testing.assert_array_equal(
        graphc.diff(g(a), prepend=g(before), append=g(after)).numpy(),
        np.diff(a, prepend=before, append=after))
    np.testing.assert_array_equal(graphc.diff(g(np.arange(6.0)), 2, append=g(np.array([1., 2.])))
                                  .numpy(), np.diff(np.arange(6.0), 2, append=[1., 2.]))
    promoted = graphc.diff(g(a), prepend=g(np.zeros((2, 1), np.float32)))
    assert promoted.dtype is graphc.float32
    flags = np.array([True, False, False, True])
    result = graphc.diff(g(flags))
    assert result.dtype is graphc.bool
    np.testing.assert_array_equal(result.numpy(), flags[1:] ^ flags[:-1])
    assert graphc.diff(g(np.array([1, 3], np.uint8))).dtype is graphc.uint8


def test_diff_errors():
    a = g(np.arange(6).reshape(2, 3))
    with pytest.raises(RuntimeError, match="diff expects input to be at least one-dimensional"):
        graphc.diff(g(np.array(3)))
    with pytest.raises(RuntimeError, match="order must be non-negative but got -1"):
        graphc.diff(a, -1)
    with pytest.raises(RuntimeError, match=r"input.size\(0\) = 2, but got tensor.size\(0\) = 3"):
        graphc.diff(a, prepend=g(np.zeros((3, 1), np.int64)))
    with pytest.raises(RuntimeError, match="to be the same dimension as input"):
        graphc.diff(a, append=g(np.zeros(2, np.int64)))
    with pytest.raises(TypeError, match="argument 'prepend' must be Tensor, not int"):
        graphc.diff(a, prepend=1)


@pytest.mark.parametrize("dims", [(2,), (2, 2), (), (0, 2), [2], (2, 1, 1, 3)])
def test_tile_matches_numpy(dims):
    a = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(graphc.tile(g(a), dims).numpy(), np.tile(a, dims))


def test_tile_method_takes_sizes_one_by_one():
    a = np.arange(3)
    np.testing.assert_array_equal(g(a).tile(2, 2).numpy(), np.tile(a, (2, 2)))
    np.testing.assert_array_equal(g(a).tile((2, 2)).numpy(), np.tile(a, (2, 2)))
    np.testing.assert_array_equal(g(a).tile(2).numpy(), np.tile(a, 2))
    with pytest.raises(TypeError, match="tile\\(\\): argument 'dims' \\(position 2\\) must be"):
        graphc.tile(g(a), 2)


def test_broadcast_to_is_expand():
    a = g(np.arange(3))
    for size, shape in [((2, 3), (2, 3)), ((2, -1), (2, 3)), ([1, 2, 3], (1, 2, 3))]:
        result = graphc.broadcast_to(a, size)
        np.testing.assert_array_equal(result.numpy(), np.broadcast_to(np.arange(3), shape))
        assert result.data_ptr() == a.data_ptr()  # a view
    np.testing.assert_array_equal(a.broadcast_to(2, 3).numpy(), np.broadcast_to(np.arange(3),
                                                                                (2, 3)))
    with pytest.raises(RuntimeError, match="The expanded size of the tensor \\(4\\) must match"):
        graphc.broadcast_to(a, (4,))
    with pytest.raises(TypeError, match="must be tuple of ints, not int"):
        graphc.broadcast_to(a, 3)


# ------------------------------------------------------------------ histc, bincount


@pytest.mark.parametrize("bins, low, high", [(4, 0, 3), (10, -1, 1.5), (7, -0.3, 0.3), (3, 0, 0),
                                             (100, -2, 2)])
def test_histc_matches_numpy_histogram(bins, low, high):
    data = RNG.standard_normal(500)
    result = graphc.histc(g(data), bins=bins, min=low, max=high)
    if low == high:
        low, high = data.min(), data.max()
    assert result.dtype is graphc.float64
    np.testing.assert_array_equal(result.numpy(), np.histogram(data, bins, (low, high))[0])


def test_histc_edges():
    np.testing.assert_array_equal(graphc.histc(g(np.array([2.0, 2, 2])), bins=4).numpy(),
                                  [0, 0, 3, 0])  # one value: the range [v - 1, v + 1]
    np.testing.assert_array_equal(graphc.histc(g(np.array([1.0, 2, 1, 5, -1])), 4, 0, 3).numpy(),
                                  [0, 2, 1, 0])  # outside the range: not counted
    np.testing.assert_array_equal(graphc.histc(g(np.array([1.0, np.nan, 1])), 4, 0, 2).numpy(),
                                  [0, 0, 2, 0])
    np.testing.assert_array_equal(graphc.histc(g(np.array([0.0, 1.0])), 2, 0, 1).numpy(),
                                  [1, 1])  # the top edge belongs to the last bin
    assert graphc.histc(g(np.array([1.0, 2.0], np.float32)), 4).dtype is graphc.float32
    np.testing.assert_array_equal(graphc.histc(g(np.zeros(0)), bins=4).numpy(), np.zeros(4))
    np.testing.assert_array_equal(g(np.array([1.0, 2, 1])).histc(4, 0, 3).numpy(), [0, 2, 1, 0])


def test_histc_errors():
    x = g(np.array([1.0, 2, 1]))
    with pytest.raises(RuntimeError, match="bins must be > 0, but got 0"):
        graphc.histc(x, bins=0)
    with pytest.raises(RuntimeError, match="max must be larger than min"):
        graphc.histc(x, 4, 3, 1)
    with pytest.raises(NotImplementedError, match="\"histogram_cpu\" not implemented for 'Long'"):
        graphc.histc(g(np.array([1, 2])))
    with pytest.raises(RuntimeError, match="range of \\[1, inf\\] is not finite"):
        graphc.histc(g(np.array([1.0, np.inf])))


def test_bincount_matches_numpy():
    data = RNG.integers(0, 20, 300)
    weights = RNG.standard_normal(300)
    np.testing.assert_array_equal(graphc.bincount(g(data)).numpy(), np.bincount(data))
    np.testing.assert_array_equal(graphc.bincount(g(data), minlength=30).numpy(),
                                  np.bincount(data, minlength=30))
    np.testing.assert_allclose(graphc.bincount(g(data), g(weights)).numpy(),
                               np.bincount(data, weights))
    assert graphc.bincount(g(data)).dtype is graphc.int64
    assert graphc.bincount(g(data), g(weights)).dtype is graphc.float64
    assert graphc.bincount(g(data), g(weights).float()).dtype is graphc.float32
    assert graphc.bincount(g(data), g(data)).dtype is graphc.float64
    np.testing.assert_array_equal(graphc.bincount(g(np.zeros(0, np.int64)), minlength=3).numpy(),
                                  [0, 0, 0])
    np.testing.assert_array_equal(g(np.array([0, 1, 1, 3], np.uint8)).bincount().numpy(),
                                  [1, 2, 0, 1])


def test_bincount_errors():
    message = "bincount only supports 1-d non-negative integral inputs."
    with pytest.raises(RuntimeError, match=message):
        graphc.bincount(g(np.array([0, -1, 1])))
    with pytest.raises(RuntimeError, match=message):
        graphc.bincount(g(np.array([[0, 1]])))
    with pytest.raises(NotImplementedError, match="\"bincount_cpu\" not implemented for 'Float'"):
        graphc.bincount(g(np.array([0.0, 1.0], np.float32)))
    with pytest.raises(RuntimeError, match="minlength should be >= 0"):
        graphc.bincount(g(np.array([0, 1])), minlength=-1)
    with pytest.raises(RuntimeError, match="weights should be 1-d and have the same length"):
        graphc.bincount(g(np.array([0, 1])), g(np.ones(3)))


# ------------------------------------------------------------------ searchsorted, bucketize, isin


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_matches_numpy(right):
    sequence = np.sort(RNG.integers(0, 20, 50))
    targets = RNG.integers(-2, 23, (4, 10))
    side = "right" if right else "left"
    expected = np.searchsorted(sequence, targets, side)
    np.testing.assert_array_equal(graphc.searchsorted(g(sequence), g(targets), right=right)
                                  .numpy(), expected)
    np.testing.assert_array_equal(graphc.searchsorted(g(sequence), g(targets), side=side)
                                  .numpy(), expected)
    rows = np.sort(RNG.standard_normal((3, 4, 17)), -1)
    queries = RNG.standard_normal((3, 4, 9))
    batched = graphc.searchsorted(g(rows), g(queries), right=right).numpy()
    for index in np.ndindex(3, 4):
        np.testing.assert_array_equal(batched[index], np.searchsorted(rows[index], queries[index],
                                                                      side))
    shuffled = RNG.permutation(sequence)
    order = np.argsort(shuffled, kind="stable")
    np.testing.assert_array_equal(
        graphc.searchsorted(g(shuffled), g(targets), right=right, sorter=g(order)).numpy(),
        np.searchsorted(shuffled, targets, side, sorter=order))
    assert graphc.bucketize(g(targets), g(sequence), right=right).numpy().tolist() == \
        np.searchsorted(sequence, targets, side).tolist()


def test_searchsorted_results():
    sequence = g(np.array([1, 3, 5, 7, 9]))
    assert graphc.searchsorted(sequence, 6).item() == 3
    assert graphc.searchsorted(sequence, 6).dim() == 0
    assert graphc.searchsorted(sequence, g(np.array([3])), out_int32=True).dtype is graphc.int32
    assert graphc.bucketize(g(np.array([3])), sequence, out_int32=True).dtype is graphc.int32
    assert graphc.bucketize(6, sequence).item() == 3
    # NaN goes after every boundary (torch's search, unlike numpy's)
    nan = np.nan
    assert graphc.searchsorted(g(np.array([1.0, nan])), g(np.array([nan, 2.0]))).tolist() == [2, 2]
    assert graphc.searchsorted(g(np.array([1.0, 3.0])), g(np.array([2, 3]))).tolist() == [1, 1]


@pytest.mark.parametrize("call, error, message", [
    (lambda s, v: graphc.searchsorted(g(np.array(3)), v), RuntimeError, "positive dimension"),
    (lambda s, v: graphc.searchsorted(s, v, side="foo"), RuntimeError,
     "side can only be 'left' or 'right' but got foo"),
    (lambda s, v: graphc.searchsorted(s, v, side="left", right=True), RuntimeError,
     "side and right can't be set to opposites"),
    (lambda s, v: graphc.searchsorted(g(np.arange(6).reshape(2, 3)), v), RuntimeError,
     "boundaries tensor should be 1 dimension or the first N-1 dimensions"),
    (lambda s, v: graphc.searchsorted(s, v, sorter=g(np.array([1, 2]))), RuntimeError,
     "boundary and sorter must have the same size"),
    (lambda s, v: graphc.searchsorted(s, v, sorter=g(np.array([0, 1, 5]))), RuntimeError,
     "sorter index out of range"),
    (lambda s, v: graphc.searchsorted(s, v, sorter=g(np.array([0, 1, 2], np.int32))),
     RuntimeError, "sorter must be a tensor of long dtype but got dtype Int"),
    (lambda s, v: graphc.searchsorted(g(np.array([True])), g(np.array([True]))),
     NotImplementedError, "not implemented for 'Bool'"),
    (lambda s, v: graphc.bucketize(v, g(np.arange(4).reshape(2, 2))), RuntimeError,
     r"boundaries tensor must be 1 dimension, but got dim\(2\)"),
])
def test_searchsorted_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(g(np.array([1, 3, 5])), g(np.array([3, 6])))


def test_isin_matches_numpy():
    elements = RNG.integers(0, 30, (5, 6))
    tests = RNG.integers(0, 30, 20)
    for invert in (False, True):
        np.testing.assert_array_equal(graphc.isin(g(elements), g(tests), invert=invert).numpy(),
                                      np.isin(elements, tests, invert=invert))
    np.testing.assert_array_equal(
        graphc.isin(g(elements), g(tests), assume_unique=True).numpy(), np.isin(elements, tests))
    assert graphc.isin(g(np.array([1, 2, 3])), 2).tolist() == [False, True, False]
    assert graphc.isin(2, g(np.array([1, 2]))).item() is True
    assert graphc.isin(g(np.array([1, 2])), 2.5).tolist() == [False, False]
    assert graphc.isin(g(np.array([1.0, 2.0])), g(np.array([2]))).tolist() == [False, True]
    assert graphc.isin(g(np.array([np.nan, 2.0])), g(np.array([np.nan]))).tolist() == [False,
                                                                                      False]
    with pytest.raises(RuntimeError, match="Unsupported input type encountered for isin\\(\\): "
                                           "Bool"):
        graphc.isin(g(np.array([True])), g(np.array([1])))
    with pytest.raises(TypeError, match="isin\\(\\) received an invalid combination"):
        graphc.isin(2, 3)


# ------------------------------------------------------------------ clip, erf


def test_clip_is_clamp():
    a = np.linspace(-2, 2, 9)
    np.testing.assert_array_equal(graphc.clip(g(a), -1, 0.5).numpy(), np.clip(a, -1, 0.5))
    np.testing.assert_array_equal(g(a).clip(min=0).numpy(), np.clip(a, 0, None))
    inplace = g(a)
    assert inplace.clip_(-1, 1) is inplace
    np.testing.assert_array_equal(inplace.numpy(), np.clip(a, -1, 1))
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
        graphc.clip(g(a))


_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def test_erf_matches_math():
    x = np.concatenate([np.linspace(-4, 4, 41), [0.0, np.inf, -np.inf, np.nan, 30.0]])
    np.testing.assert_array_equal(graphc.erf(g(x)).numpy(), _erf(x))
    np.testing.assert_array_equal(graphc.erfc(g(x)).numpy(), _erfc(x))
    single = g(x.astype(np.float32))
    assert single.erf().dtype is graphc.float32
    np.testing.assert_allclose(single.erf().numpy(), _erf(x), rtol=1e-6, atol=1e-7)
    assert graphc.erf(g(np.array([1, 2]))).dtype is graphc.float32  # integers: the default float
    inplace = g(x.copy())
    inplace.erf_()
    np.testing.assert_array_equal(inplace.numpy(), _erf(x))
    assert graphc.erf(g(np.array(0.5))).item() == math.erf(0.5)


@pytest.mark.parametrize("dtype", [graphc.float32, graphc.float64])
def test_compiled_erf_equals_eager(dtype):
    x = graphc.tensor(RNG.standard_normal(200) * 2, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a graph break would warn
        function = graphc.compile(lambda t: t.erf() * 0.5 + t.erfc(), fullgraph=True)
        result = function(x)
    expected = x.erf() * 0.5 + x.erfc()
    tolerance = 1e-6 if dtype is graphc.float32 else 1e-15
    np.testing.assert_allclose(result.numpy(), expected.numpy(), rtol=tolerance, atol=tolerance)
    source = function.source()
    assert ("erff(" if dtype is graphc.float32 else "erf(") in source


def test_erf_gradient_is_derived():
    x = leaf(7)
    (grad,) = graphc.autograd.grad(graphc.erf(x).sum(), [x])
    np.testing.assert_allclose(grad.numpy(), 2 / math.sqrt(math.pi) * np.exp(-x.detach().numpy()
                                                                                ** 2))
    assert gradcheck(graphc.erf, (leaf(5),))
    assert gradgradcheck(graphc.erf, (leaf(5),))
    assert gradcheck(graphc.erfc, (leaf(5),))


def test_compiled_erf_backward_equals_eager():
    def step(t):
        t = t.detach().requires_grad_()
        (t.erf() * t).sum().backward()
        return t.grad
    x = graphc.tensor(RNG.standard_normal(50))
    np.testing.assert_allclose(graphc.compile(step)(x).numpy(), step(x).numpy(), rtol=1e-14,
                               atol=1e-14)


# ------------------------------------------------------------------ gradients

GRADIENT_CASES = {
    "einsum matmul": (lambda a, b: graphc.einsum("ij,jk", a, b), [(2, 3), (3, 4)]),
    "einsum diagonal": (lambda a, b: graphc.einsum("bii,bi->b", a, b), [(2, 3, 3), (1, 3)]),
    "einsum ellipsis": (lambda a, b, c: graphc.einsum("i...k,k...,k->i...", a, b, c),
                        [(2, 3, 4), (4, 3), (4,)]),
    "einsum outer": (lambda a, b: graphc.einsum("i,j->ji", a, b), [(3,), (2,)]),
    "tensordot": (lambda a, b: graphc.tensordot(a, b, ([1, 0], [0, 2])), [(2, 3, 4), (3, 4, 2)]),
    "tensordot int": (lambda a, b: graphc.tensordot(a, b, 1), [(2, 3), (3, 4)]),
    "cdist p2": (lambda a, b: graphc.cdist(a, b), [(3, 2), (4, 2)]),
    "cdist p1": (lambda a, b: graphc.cdist(a, b, 1), [(3, 2), (4, 2)]),
    "cdist p3": (lambda a, b: graphc.cdist(a, b, 3), [(2, 3, 2), (4, 2)]),
    "cdist inf": (lambda a, b: graphc.cdist(a, b, math.inf), [(3, 2), (4, 2)]),
    "roll": (lambda a: graphc.roll(a, (1, -2), (0, 1)), [(3, 4)]),
    "roll flattened": (lambda a: a.roll(5), [(3, 4)]),
    "diff": (lambda a, p: graphc.diff(a, 2, 0, prepend=p), [(4, 3), (1, 3)]),
    "tile": (lambda a: graphc.tile(a, (2, 1, 3)), [(2, 3)]),
    "broadcast_to": (lambda a: a.broadcast_to(4, 2, 3), [(2, 1)]),
    "cartesian_prod": (lambda a, b: graphc.cartesian_prod(a, b), [(3,), (2,)]),
    "meshgrid": (lambda a, b: graphc.meshgrid(a, b, indexing="xy"), [(3,), (2,)]),
    "clip": (lambda a: graphc.clip(a, -0.5, 0.5), [(6,)]),
    "clip method": (lambda a: a.clip(min=-0.3), [(6,)]),
    "erf": (graphc.erf, [(6,)]),
}


@pytest.mark.parametrize("name", sorted(GRADIENT_CASES))
def test_gradient_matches_finite_differences(name):
    function, shapes = GRADIENT_CASES[name]
    assert gradcheck(function, tuple(leaf(*shape) for shape in shapes))


@pytest.mark.parametrize("name", ["einsum matmul", "einsum diagonal", "tensordot", "cdist p2",
                                  "diff", "erf"])
def test_second_derivative_matches_finite_differences(name):
    function, shapes = GRADIENT_CASES[name]
    assert gradgradcheck(function, tuple(leaf(*shape) for shape in shapes))


@pytest.mark.parametrize("p", [2, 1, 3, 0.5, math.inf])
def test_cdist_gradient_is_zero_at_zero_distance(p):
    x = graphc.zeros(2, 2, dtype=graphc.float64, requires_grad=True)
    graphc.cdist(x, x, p).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 2)))


# ------------------------------------------------------------------ graphc.compile

COMPILE_CASES = {
    "einsum": (lambda a, b: graphc.einsum("bij,bjk->bik", a, b).sum(-1), [(2, 3, 4), (2, 4, 5)]),
    "einsum diagonal": (lambda a: graphc.einsum("ii->i", a) * 2, [(3, 3)]),
    "einsum ellipsis": (lambda a, b: graphc.einsum("...ij,...j->...i", a, b), [(2, 3, 4), (4,)]),
    "tensordot": (lambda a, b: graphc.tensordot(a, b, 1), [(2, 3), (3, 4)]),
    "cdist": (lambda a, b: graphc.cdist(a, b), [(3, 2), (4, 2)]),
    "cdist p1": (lambda a, b: graphc.cdist(a, b, 1), [(3, 2), (4, 2)]),
    "roll": (lambda a: graphc.roll(a, (1, -2), (0, 1)) * 2, [(3, 4)]),
    "roll flattened": (lambda a: graphc.roll(a, 5) + 1, [(3, 4)]),
    "diff": (lambda a: graphc.diff(a, 2, prepend=a[:, :1]), [(3, 4)]),
    "tile": (lambda a: a.tile(2, 2) + 1, [(2, 3)]),
    "broadcast_to": (lambda a: a.broadcast_to(3, 2, 3) + 1, [(2, 3)]),
    "cartesian_prod": (lambda a, b: graphc.cartesian_prod(a, b) * 2, [(3,), (2,)]),
    "meshgrid": (lambda a, b: graphc.meshgrid(a, b, indexing="xy")[1] * 2, [(3,), (2,)]),
    "tril_indices": (lambda a: a[tuple(graphc.tril_indices(3, 3))], [(3, 3)]),
    "clip": (lambda a: a.clip(-0.5, 0.5), [(3, 3)]),
}


@pytest.mark.parametrize("name", sorted(COMPILE_CASES))
def test_compiled_equals_eager(name):
    function, shapes = COMPILE_CASES[name]
    inputs = [graphc.tensor(values(*shape), dtype=graphc.float32) for shape in shapes]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fullgraph: no graph break, no eager fallback
        compiled = graphc.compile(function, fullgraph=True)
        result = compiled(*inputs)
    np.testing.assert_allclose(result.numpy(), function(*inputs).numpy(), rtol=1e-6, atol=1e-6)


def test_compiled_einsum_gradient_equals_eager():
    def step(a, b):
        a = a.detach().requires_grad_()
        graphc.einsum("ij,jk->ik", a, b).pow(2).sum().backward()
        return a.grad
    a, b = g(values(3, 4)), g(values(4, 2))
    np.testing.assert_allclose(graphc.compile(step)(a, b).numpy(), step(a, b).numpy(),
                               rtol=1e-12)


# ------------------------------------------------------------------ against torch

TORCH_CASES = {
    "einsum": lambda lib, r: lib.einsum("bij,bjk->bik", r(5, 2, 3), r(1, 3, 4)),
    "einsum implicit": lambda lib, r: lib.einsum("zAa", r(2, 3, 4)),
    "einsum ellipsis": lambda lib, r: lib.einsum("i...,...i", r(3, 2), r(4, 1, 2, 3)),
    "einsum diagonal": lambda lib, r: lib.einsum("iji->j", r(2, 3, 2)),
    "einsum ints": lambda lib, r: lib.einsum("i,i->i", lib.tensor([1, 2], dtype=lib.uint8),
                                             lib.tensor([3, 4])),
    "einsum error": lambda lib, r: lib.einsum("ij,ij", r(2, 3), r(4, 3)),
    "tensordot": lambda lib, r: lib.tensordot(r(2, 3, 4), r(3, 4, 5)),
    "tensordot lists": lambda lib, r: lib.tensordot(r(2, 3, 4), r(1, 4, 5), dims=([1], [0])),
    "tensordot error": lambda lib, r: lib.tensordot(r(2, 3, 4), r(3, 4, 5), 1),
    "cdist": lambda lib, r: lib.cdist(r(5, 1, 3, 2), r(6, 4, 2)),
    "cdist p0": lambda lib, r: lib.cdist(r(3, 2), r(4, 2), p=0),
    "cdist error": lambda lib, r: lib.cdist(r(3, 2), r(4, 2).float()),
    "meshgrid xy": lambda lib, r: lib.meshgrid(r(3), r(2), r(4), indexing="xy"),
    "cartesian_prod": lambda lib, r: lib.cartesian_prod(r(3), r(2)),
    "tril_indices": lambda lib, r: lib.tril_indices(4, 3, -1),
    "triu_indices": lambda lib, r: lib.triu_indices(3, 5, 1, dtype=lib.int32),
    "roll": lambda lib, r: lib.roll(r(3, 4), (1, -5), (1, 0)),
    "roll flattened": lambda lib, r: r(3, 4).roll(-7),
    "diff": lambda lib, r: lib.diff(r(3, 4), 2, 0, prepend=r(1, 4), append=r(2, 4)),
    "diff bool": lambda lib, r: lib.diff(lib.tensor([True, False, False, True])),
    "tile": lambda lib, r: r(2, 3).tile(2, 1, 2),
    "broadcast_to": lambda lib, r: lib.broadcast_to(r(3), (2, -1)),
    "histc": lambda lib, r: lib.histc(r(100).float(), 7, -1, 1),
    "histc data range": lambda lib, r: lib.histc(r(100), 9),
    "histc half": lambda lib, r: lib.histc(r(100).half(), 13, -1, 1.5),
    "histc error": lambda lib, r: lib.histc(lib.tensor([1, 2])),
    "bincount": lambda lib, r: lib.bincount(lib.tensor([0, 1, 1, 3]), lib.tensor([1, 2, 3, 4]),
                                            6),
    "bincount half weights": lambda lib, r: lib.bincount(lib.tensor([0, 2]),
                                                         lib.tensor([1.0, 2.0]).half()),
    "bincount error": lambda lib, r: lib.bincount(lib.tensor([0, -1])),
    "searchsorted": lambda lib, r: lib.searchsorted(r(2, 5).sort()[0], r(2, 3), side="right"),
    "searchsorted sorter": lambda lib, r: lib.searchsorted(lib.tensor([5, 1, 3]),
                                                           lib.tensor([3, 6, 0]),
                                                           sorter=lib.tensor([1, 2, 0])),
    "searchsorted nan": lambda lib, r: lib.searchsorted(lib.tensor([1.0, float("nan")]),
                                                        lib.tensor([float("nan"), 2.0, 0.5])),
    "searchsorted scalar": lambda lib, r: lib.searchsorted(lib.tensor([1, 3, 5]), 4.5),
    "searchsorted error": lambda lib, r: lib.searchsorted(r(2, 3), r(3, 2)),
    "bucketize": lambda lib, r: lib.bucketize(r(3, 4), lib.tensor([-1.0, 0.0, 1.0]),
                                              right=True, out_int32=True),
    "isin": lambda lib, r: lib.isin(lib.tensor([[1, 2], [3, 4]]), lib.tensor([2.0, 4.5]),
                                    invert=True),
    "isin scalar": lambda lib, r: lib.isin(2.0, lib.tensor([1, 2])),
    "isin error": lambda lib, r: lib.isin(lib.tensor([True]), lib.tensor([1])),
    "clip": lambda lib, r: r(5).clip(-0.5, 0.5),
    "erf": lambda lib, r: lib.erf(r(20) * 3),
    "erf float32": lambda lib, r: (r(20) * 3).float().erf(),
    "erfc": lambda lib, r: lib.erfc(r(20) * 3),
}


def _run(function, lib, seed):
    rng = np.random.default_rng(seed)

    def random_tensor(*shape):
        array = rng.standard_normal(shape)
        return lib.from_numpy(array) if lib is not graphc else graphc.tensor(array)
    try:
        return function(lib, random_tensor)
    except Exception as error:  # the error types are compared
        return error


def _compare(ours, theirs):
    if isinstance(theirs, Exception) or isinstance(ours, Exception):
        assert type(ours).__name__ == type(theirs).__name__, (ours, theirs)
        return
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _compare(a, b)
        return
    assert str(ours.dtype) == str(theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy().astype(np.float64),
                               theirs.detach().numpy().astype(np.float64), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    function = TORCH_CASES[name]
    _compare(_run(function, graphc, 1), _run(function, torch, 1))


def test_tensor_methods_match_torch():
    torch = pytest.importorskip("torch")
    for name in ("roll", "diff", "tile", "broadcast_to", "histc", "bincount", "clip", "clip_",
                 "erf", "erf_", "erfc", "erfc_", "einsum", "tensordot", "cdist", "searchsorted",
                 "bucketize", "isin", "meshgrid", "cartesian_prod"):
        assert hasattr(graphc.Tensor, name) == hasattr(torch.Tensor, name), name
