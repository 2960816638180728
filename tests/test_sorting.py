"""Sorting and comparison utilities (graphc/api/sorting.py) against numpy and hand-checked
values."""
import numpy as np
import pytest

import graphc as t
import oracle

pytestmark = pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")

NAN, INF = float("nan"), float("inf")
SORTABLE = [t.bool, t.uint8, t.int8, t.int32, t.int64, t.float16, t.float32, t.float64]


def make(shape, dtype, seed=0, with_nan=False):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 4, size=shape).astype(np.float64)  # small range: many ties
    if with_nan:
        values[rng.random(shape) < 0.25] = np.nan
    array = (values > 1) if dtype is t.bool else values.astype(dtype.np)
    return t.tensor(array), np.asarray(array)


def stable_descending(array, axis):
    """Reference: a stable descending argsort with NaN first (torch's order)."""
    size = array.shape[axis]
    return (size - 1) - np.flip(np.argsort(np.flip(array, axis), axis=axis, kind="stable"), axis)


# ------------------------------------------------------------------ sort, argsort, msort


@pytest.mark.parametrize("dtype", SORTABLE)
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 1, 6)])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_is_stable_and_matches_numpy(dtype, shape, descending):
    x, array = make(shape, dtype, with_nan=dtype.is_floating_point)
    for dim in range(-len(shape), len(shape)):
        axis = dim % len(shape)
        order = (stable_descending(array, axis) if descending
                 else np.argsort(array, axis=axis, kind="stable"))
        result = x.sort(dim, descending)
        assert type(result).__name__ == "sort"
        assert result.indices.dtype is t.int64 and result.values.dtype is dtype
        np.testing.assert_array_equal(result.indices.numpy(), order)
        np.testing.assert_array_equal(result.values.numpy(), np.take_along_axis(array, order, axis))
        np.testing.assert_array_equal(t.argsort(x, dim, descending, stable=True).numpy(), order)


def test_sort_orders_nan_as_the_largest_value():
    x = t.tensor([3.0, NAN, 1.0, NAN, 2.0])
    ascending = x.sort()
    assert ascending.indices.tolist() == [2, 4, 0, 1, 3]
    assert ascending.values[:3].tolist() == [1.0, 2.0, 3.0]
    descending = x.sort(descending=True)
    assert descending.indices.tolist() == [1, 3, 0, 4, 2]


def test_sort_edge_cases():
    scalar = t.tensor(5).sort()
    assert scalar.values.item() == 5 and scalar.indices.item() == 0 and scalar.values.dim() == 0
    empty = t.zeros(0, 3).sort(0)
    assert empty.values.shape == (0, 3) and empty.indices.dtype is t.int64
    assert t.sort(t.tensor([3, 1]), dim=0, descending=True, stable=True).values.tolist() == [3, 1]
    assert t.tensor([3.0, -0.0, 0.0]).sort().indices.tolist() == [1, 2, 0]
    with pytest.raises(IndexError, match=r"\[-1, 0\], but got 1"):
        t.tensor([1, 2]).sort(1)
    with pytest.raises(TypeError):
        t.tensor([2, 1]).sort(True)


def test_argsort_and_msort():
    assert t.tensor([3, 1, 3]).argsort(descending=True).tolist() == [0, 2, 1]
    assert t.argsort(t.tensor([3, 1, 3]), 0).tolist() == [1, 0, 2]
    assert t.tensor([[3, 1], [0, 2]]).msort().tolist() == [[0, 1], [3, 2]]


def test_sort_repr():
    result = t.tensor([2, 1]).sort()
    assert repr(result) == (f"torch.return_types.sort(\nvalues={result.values!r},\n"
                            f"indices={result.indices!r})")


def test_stable_sort_matches_torch_on_long_rows():
    array = np.random.default_rng(2).integers(0, 5, size=(2, 300))
    for descending in (False, True):
        def indices(lib):
            return lib.tensor(array).sort(dim=1, descending=descending, stable=True).indices

        assert indices(t).tolist() == oracle.answer(f"descending={descending}", indices).tolist()


# ------------------------------------------------------------------ topk, kthvalue


@pytest.mark.parametrize("dtype", [d for d in SORTABLE if d is not t.bool])
def test_topk_matches_numpy(dtype):
    x, array = make((3, 6), dtype, seed=4, with_nan=dtype.is_floating_point)
    for dim in (0, 1, -1):
        axis = dim % 2
        for k in range(array.shape[axis] + 1):
            largest = x.topk(k, dim)
            assert type(largest).__name__ == "topk"
            order = stable_descending(array, axis).take(np.arange(k), axis=axis)
            np.testing.assert_array_equal(largest.values.numpy(),
                                          np.take_along_axis(array, order, axis))
            np.testing.assert_array_equal(largest.indices.numpy(), order)
            smallest = t.topk(x, k, dim, largest=False)
            order = np.argsort(array, axis=axis, kind="stable").take(np.arange(k), axis=axis)
            np.testing.assert_array_equal(smallest.values.numpy(),
                                          np.take_along_axis(array, order, axis))


def test_topk_specifics():
    x = t.tensor([1.0, 5.0, 3.0, 5.0, NAN, 2.0])
    result = x.topk(2)
    assert np.isnan(result.values[0].item()) and result.indices.tolist() == [4, 1]
    assert x.topk(3, largest=False).values.tolist() == [1.0, 2.0, 3.0]  # NaN is never smallest
    assert x.topk(0).values.shape == (0,)
    assert t.tensor(3.0).topk(1).values.item() == 3.0
    for k in (7, -1):
        with pytest.raises(RuntimeError, match="selected index k out of range"):
            x.topk(k)
    with pytest.raises(RuntimeError, match="topk does not support bool"):
        t.tensor([True, False]).topk(1)
    assert t.tensor([[1, 4], [3, 2]]).topk(1, 0, False, True).values.tolist() == [[1, 2]]


def test_kthvalue():
    array = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    x = t.tensor(array)
    for k in (1, 2, 3):
        result = x.kthvalue(k)
        assert type(result).__name__ == "kthvalue"
        np.testing.assert_array_equal(result.values.numpy(), np.sort(array, axis=1)[:, k - 1])
        np.testing.assert_array_equal(result.indices.numpy(), np.argsort(array, axis=1)[:, k - 1])
    assert x.kthvalue(1, 0, True).values.tolist() == [[0.0, 1.0, 2.0]]
    assert t.tensor(3).kthvalue(1).values.item() == 3
    assert np.isnan(t.tensor([3.0, NAN, 2.0, 1.0]).kthvalue(4).values.item())
    for k in (0, 4):
        with pytest.raises(RuntimeError, match=r"kthvalue\(\): selected number k out of range "
                                               r"for dimension 1"):
            x.kthvalue(k)
    with pytest.raises(IndexError, match=r"kthvalue\(\): Expected reduction dim 1"):
        t.zeros(2, 0).kthvalue(1, 1)


# ------------------------------------------------------------------ unique


@pytest.mark.parametrize("dtype", SORTABLE)
def test_unique_matches_numpy(dtype):
    x, array = make((4, 5), dtype, seed=9)
    values, inverse, counts = np.unique(array, return_inverse=True, return_counts=True)
    assert t.unique(x).tolist() == values.tolist()
    ours = x.unique(return_inverse=True, return_counts=True)
    assert isinstance(ours, tuple) and len(ours) == 3
    assert ours[0].dtype is dtype and ours[1].dtype is t.int64 and ours[2].dtype is t.int64
    assert ours[1].shape == (4, 5)
    np.testing.assert_array_equal(ours[1].numpy(), inverse.reshape(4, 5))
    np.testing.assert_array_equal(ours[2].numpy(), counts)
    assert len(x.unique(return_counts=True)) == 2


def test_unique_along_a_dim():
    m = t.tensor([[1, 2], [0, 1], [1, 2]])
    values, inverse, counts = m.unique(dim=0, return_inverse=True, return_counts=True)
    assert values.tolist() == [[0, 1], [1, 2]]
    assert inverse.tolist() == [1, 0, 1] and counts.tolist() == [1, 2]
    values, inverse = t.tensor([[2, 1, 2], [0, 3, 0]]).unique(dim=1, return_inverse=True)
    assert values.tolist() == [[1, 2], [3, 0]] and inverse.tolist() == [1, 0, 1]
    with pytest.raises(IndexError):
        m.unique(dim=2)
    with pytest.raises(RuntimeError, match="0 sized dimensions"):
        t.zeros(3, 0).unique(dim=0)


def test_unique_nan_and_signed_zero():
    # every NaN is distinct, as in torch
    values, counts = t.tensor([NAN, 1.0, NAN]).unique(return_counts=True)
    assert values[0].item() == 1.0 and np.isnan(values[1:].numpy()).all()
    assert counts.tolist() == [1, 1, 1]
    zeros = t.tensor([1.0, -0.0, 0.0]).unique()
    assert zeros.tolist() == [0.0, 1.0] and np.signbit(zeros[0].item())
    values, inverse = t.tensor(3).unique(return_inverse=True)
    assert values.tolist() == [3] and inverse.shape == () and inverse.item() == 0
    empty = t.zeros(0).unique(return_inverse=True, return_counts=True)
    assert [e.shape for e in empty] == [(0,), (0,), (0,)]


def test_unique_consecutive():
    x = t.tensor([1, 1, 2, 2, 3, 1, 1, 2])
    values, inverse, counts = x.unique_consecutive(return_inverse=True, return_counts=True)
    assert values.tolist() == [1, 2, 3, 1, 2]
    assert inverse.tolist() == [0, 0, 1, 1, 2, 3, 3, 4] and counts.tolist() == [2, 2, 1, 2, 1]
    rows = t.tensor([[1, 2], [1, 2], [0, 1], [1, 2]])
    values, counts = t.unique_consecutive(rows, return_counts=True, dim=0)
    assert values.tolist() == [[1, 2], [0, 1], [1, 2]] and counts.tolist() == [2, 1, 1]


# ------------------------------------------------------------------ equal, isclose, allclose


def test_equal():
    assert t.equal(t.tensor([1, 2]), t.tensor([1, 2])) is True
    assert t.equal(t.tensor([1, 2]), t.tensor([1.0, 2.0])) is True  # values, not dtypes
    assert t.tensor([1, 2]).equal(t.tensor([1, 3])) is False
    assert t.equal(t.tensor([1, 2]), t.tensor([[1, 2]])) is False  # shapes must match
    assert t.equal(t.tensor([NAN]), t.tensor([NAN])) is False
    assert t.equal(t.tensor([True]), t.tensor([1])) is True
    with pytest.raises(TypeError, match=r"equal\(\): argument 'other' \(position 2\) must be "
                                        r"Tensor, not list"):
        t.equal(t.tensor([1, 2]), [1, 2])


@pytest.mark.parametrize("rtol, atol", [(1e-5, 1e-8), (0.0, 0.0), (0.1, 0.0), (0.0, 0.5)])
@pytest.mark.parametrize("equal_nan", [False, True])
def test_isclose_matches_numpy_for_floats(rtol, atol, equal_nan):
    a = np.array([1.0, NAN, INF, -INF, 2.0, 1.0, 0.0, 100.0], dtype=np.float64)
    b = np.array([1.0 + 1e-9, NAN, INF, INF, 2.1, 1.3, 1e-9, 101.0], dtype=np.float64)
    result = t.isclose(t.tensor(a), t.tensor(b), rtol, atol, equal_nan)
    assert result.dtype is t.bool
    np.testing.assert_array_equal(result.numpy(),
                                  np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def test_isclose_integers_booleans_and_broadcasting():
    assert t.isclose(t.tensor([1, 2]), t.tensor([1, 3])).tolist() == [True, False]
    assert t.isclose(t.tensor([1, 2]), t.tensor([1, 3]), rtol=0.5).tolist() == [True, True]
    assert t.isclose(t.tensor([100]), t.tensor([102]), atol=1.999).tolist() == [True]
    # no uint8 wrap-around: |0 - 255| is 255, not 1
    unsigned = t.isclose(t.tensor([0, 200], dtype=t.uint8), t.tensor([255, 100], dtype=t.uint8),
                         atol=1)
    assert unsigned.tolist() == [False, False]
    assert t.isclose(t.tensor([True, False]), t.tensor([True, True])).tolist() == [True, False]
    assert t.isclose(t.ones(2, 1), t.ones(3)).shape == (2, 3)
    assert t.isclose(t.tensor([1.0, 2.0]), t.tensor(2.0)).tolist() == [False, True]


def test_isclose_errors():
    with pytest.raises(RuntimeError, match="Long did not match Float"):
        t.isclose(t.tensor([1, 2]), t.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="Float did not match Double"):
        t.tensor([1.0]).isclose(t.tensor([1.0], dtype=t.float64))
    with pytest.raises(TypeError, match="must be Tensor, not float"):
        t.isclose(t.tensor([1.0]), 2.0)
    with pytest.raises(RuntimeError, match="rtol must be greater than or equal to zero, but got"):
        t.isclose(t.tensor([1.0]), t.tensor([1.0]), rtol=-1)
    with pytest.raises(RuntimeError, match="atol must be greater than or equal to zero"):
        t.isclose(t.tensor([1.0]), t.tensor([1.0]), atol=-1)
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(2\) must match the size of "
                                           r"tensor b \(3\) at non-singleton dimension 0"):
        t.isclose(t.ones(2), t.ones(3))


def test_allclose():
    a = t.tensor([1.0, NAN, INF])
    b = t.tensor([1.0 + 1e-9, NAN, INF])
    assert t.allclose(a, b) is False
    assert t.allclose(a, b, equal_nan=True) is True
    assert t.allclose(t.ones(2), t.ones(2, 2)) is True
    assert t.tensor([1.0, 2.0]).allclose(t.tensor([1.0, 2.1]), atol=0.2) is True
    with pytest.raises(RuntimeError):
        t.allclose(t.ones(2), t.ones(3))
    with pytest.raises(TypeError):
        t.allclose(t.ones(2), 1.0)
