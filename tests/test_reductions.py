"""Reductions and scans (graphc/api/reductions.py) against numpy and hand-checked values."""
import pickle
import warnings

import numpy as np
import pytest

import graphc as t
import oracle
from tolerances import assert_close

# numpy's floating-point warnings (graphc filters them outside pytest; torch does not warn)
pytestmark = pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")

NAN, INF = float("nan"), float("inf")
ALL_DTYPES = [t.bool, t.uint8, t.int8, t.int16, t.int32, t.int64, t.float16, t.float32,
              t.float64]
INTEGRAL = {t.bool, t.uint8, t.int8, t.int16, t.int32, t.int64}


def make(shape, dtype, seed=0):
    """A tensor of small values (so integer sums and products stay exact) and its numpy twin."""
    rng = np.random.default_rng(seed)
    values = rng.integers(-3, 4, size=shape)
    if dtype is t.bool:
        values = values > 0
    elif dtype is t.uint8:
        values = np.abs(values)
    array = np.asarray(values).astype(dtype.np)
    return t.tensor(array), array


def check(result, expected, dtype=None):
    """result has `dtype` and matches `expected` within its dtype's tolerance (tests/tolerances)."""
    assert isinstance(result, t.Tensor)
    if dtype is not None:
        assert result.dtype is dtype
    assert_close(result.numpy(), expected, result.dtype)


SHAPES_AND_DIMS = [
    ((), None), ((), 0), ((), -1), ((5,), None), ((5,), 0), ((5,), -1), ((2, 3), 1),
    ((2, 3), -2), ((2, 1, 4), (0, 2)), ((2, 1, 4), (-1, 1)), ((2, 3, 4), [2, 0]),
    ((1, 1), (0, 1)), ((2, 3, 4), ()), ((0, 3), 1), ((0, 3), 0),
]


def numpy_axis(dim, ndim):
    if dim is None or ndim == 0 or (isinstance(dim, (tuple, list)) and not dim):
        return None
    return tuple(d % ndim for d in dim) if isinstance(dim, (tuple, list)) else dim % ndim


# ------------------------------------------------------------------ the seed's examples


def test_seed_cumsum_example():
    a = t.arange(0, 6).view(2, 3)
    result = a.cumsum(dim=1)
    assert result.tolist() == [[0, 1, 3], [3, 7, 12]]
    assert result.dtype is t.int64


@pytest.mark.parametrize("dim, keepdim, expected", [
    (0, True, (1, 3, 4)), (0, False, (3, 4)), (1, True, (2, 1, 4)), (1, False, (2, 4)),
    (2, True, (2, 3, 1)), (2, False, (2, 3)),
])
@pytest.mark.parametrize("reduce", [
    lambda x, d, k: x.sum(d, keepdim=k), lambda x, d, k: x.mean(d, keepdim=k),
    lambda x, d, k: x.prod(d, keepdim=k), lambda x, d, k: x.max(d, keepdim=k).values,
    lambda x, d, k: x.max(d, keepdim=k).indices, lambda x, d, k: x.min(d, keepdim=k)[0],
    lambda x, d, k: x.amax(d, keepdim=k), lambda x, d, k: x.argmax(d, keepdim=k),
    lambda x, d, k: x.median(d, keepdim=k).values, lambda x, d, k: x.mode(d, keepdim=k)[1],
    lambda x, d, k: x.std(d, keepdim=k), lambda x, d, k: x.var(d, keepdim=k),
    lambda x, d, k: x.norm(dim=d, keepdim=k), lambda x, d, k: x.logsumexp(d, keepdim=k),
    lambda x, d, k: x.all(d, keepdim=k), lambda x, d, k: x.any(d, keepdim=k),
    lambda x, d, k: x.kthvalue(2, d, keepdim=k)[0], lambda x, d, k: x.nanmedian(d, k)[0],
])
def test_seed_keepdim_table(reduce, dim, keepdim, expected):
    x = t.arange(24.).view(2, 3, 4)
    assert tuple(reduce(x, dim, keepdim).shape) == expected


# ------------------------------------------------------------------ sum, prod, mean


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape, dim", SHAPES_AND_DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_and_prod_match_numpy(dtype, shape, dim, keepdim):
    x, array = make(shape, dtype)
    axis = numpy_axis(dim, len(shape))
    expected_dtype = t.int64 if dtype in INTEGRAL else dtype
    accumulate = np.int64 if dtype in INTEGRAL else np.float64
    kwargs = {} if dim is None else {"dim": dim}
    check(x.sum(keepdim=keepdim, **kwargs),
          np.sum(array, axis=axis, dtype=accumulate, keepdims=keepdim), expected_dtype)
    if dim is None or isinstance(dim, int):
        check(x.prod(keepdim=keepdim, **kwargs),
              np.prod(array, axis=axis, dtype=accumulate, keepdims=keepdim), expected_dtype)


@pytest.mark.parametrize("dtype", [t.float16, t.float32, t.float64])
@pytest.mark.parametrize("shape, dim", SHAPES_AND_DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_mean_matches_numpy(dtype, shape, dim, keepdim):
    x, array = make(shape, dtype)
    axis = numpy_axis(dim, len(shape))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's mean of an empty slice
        expected = np.mean(array.astype(np.float64), axis=axis, keepdims=keepdim)
    if dim is None:
        check(x.mean(), np.mean(array.astype(np.float64)), dtype)
    else:
        check(t.mean(x, dim, keepdim), expected, dtype)


def test_sum_dtype_argument_casts_first():
    assert t.tensor([1.5, 2.0]).sum(dtype=t.int64).item() == 3
    result = t.tensor([[1, 2], [3, 4]], dtype=t.int32).sum(0, dtype=t.float64)
    check(result, [4.0, 6.0], t.float64)
    assert t.tensor([1.0, 2.0]).sum(dtype=t.int32).dtype is t.int32
    assert t.tensor([1, 2]).sum(dtype=t.float16).dtype is t.float16
    check(t.tensor([[1., 2], [3, 4]]).prod(1, dtype=t.int32), [2, 12], t.int32)


def test_sum_accepts_numpy_axis_and_full_reduction_forms():
    x = t.tensor([[1, 2, 3], [4, 5, 6]])
    assert x.sum(axis=0).tolist() == [5, 7, 9]
    assert x.sum(()).item() == x.sum([]).item() == x.sum((0, 1)).item() == 21
    assert x.sum(None, True).tolist() == [[21]]
    assert t.sum(x, 1, True).tolist() == [[6], [15]]


def test_sum_errors():
    x = t.ones(2, 3)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-2, 1\], but got 2\)"):
        x.sum(2)
    with pytest.raises(IndexError):
        x.sum(-3)
    with pytest.raises(IndexError, match=r"\[-1, 0\], but got 1"):
        t.tensor(5.).sum(1)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
        x.sum((0, -2))
    with pytest.raises(TypeError):
        x.sum(1.0)
    with pytest.raises(TypeError, match="keepdim"):
        x.sum(0, keepdim=1)


@pytest.mark.parametrize("dtype, name", [(t.int32, "Int"), (t.int64, "Long"), (t.bool, "Bool"),
                                         (t.uint8, "Byte")])
def test_mean_of_integers_raises_like_torch(dtype, name):
    with pytest.raises(RuntimeError, match=r"mean\(\): could not infer output dtype\. Input dtype "
                                           r"must be either a floating point or complex dtype\. "
                                           f"Got: {name}"):
        t.tensor([1, 2]).to(dtype).mean()
    check(t.tensor([1, 2]).to(dtype).mean(dtype=t.float64),
          np.mean(np.array([1, 2]).astype(dtype.np).astype(np.float64)), t.float64)
    with pytest.raises(RuntimeError, match="Optional dtype must be either a floating point"):
        t.tensor([1.0]).mean(dtype=t.int64)


def test_empty_sum_prod_mean():
    empty = t.zeros(0, 3)
    check(empty.sum(0), np.zeros(3), t.float32)
    check(empty.prod(0), np.ones(3), t.float32)
    check(empty.mean(0), np.full(3, np.nan), t.float32)
    assert np.isnan(t.tensor([]).mean().item())


def test_nansum_nanmean():
    array = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]], dtype=np.float32)
    x = t.tensor(array)
    check(x.nansum(), np.nansum(array), t.float32)
    check(x.nansum(1), np.nansum(array, axis=1), t.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        check(t.nanmean(x, 1, keepdim=True), np.nanmean(array, axis=1, keepdims=True), t.float32)
    check(t.nansum(t.tensor([1, 2])), 3, t.int64)
    with pytest.raises(RuntimeError, match="nanmean"):
        t.nanmean(t.tensor([1, 2]))


# ------------------------------------------------------------------ max, min, amax, argmax


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape, dim", [s for s in SHAPES_AND_DIMS if 0 not in s[0]])
@pytest.mark.parametrize("keepdim", [False, True])
def test_amax_amin_match_numpy(dtype, shape, dim, keepdim):
    x, array = make(shape, dtype)
    axis = numpy_axis(dim, len(shape))
    dims = () if dim is None else dim
    check(x.amax(dims, keepdim), np.max(array, axis=axis, keepdims=keepdim), dtype)
    check(t.amin(x, dims, keepdim), np.min(array, axis=axis, keepdims=keepdim), dtype)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 1, 3), (4, 3, 2)])
def test_max_min_along_dim_match_numpy(dtype, shape):
    x, array = make(shape, dtype)
    for dim in range(-max(len(shape), 1), max(len(shape), 1)):
        for keepdim in (False, True):
            axis = None if not shape else dim % len(shape)
            for function, values, positions in ((t.max, np.max, np.argmax),
                                                (t.min, np.min, np.argmin)):
                result = function(x, dim, keepdim)
                assert type(result).__name__ == function.__name__
                check(result.values, values(array, axis=axis, keepdims=keepdim and bool(shape)),
                      dtype)
                check(result.indices,
                      positions(array, axis=axis, keepdims=keepdim and bool(shape)), t.int64)


def test_max_three_forms():
    a = t.tensor([[3.0, 1.0, 3.0], [2.0, 2.0, 5.0]])
    whole = t.max(a)
    assert whole.dim() == 0 and whole.item() == 5.0 and whole.dtype is t.float32
    values, indices = t.max(a, 1)
    assert values.tolist() == [3.0, 5.0] and indices.tolist() == [0, 2]  # first of the tied 3s
    assert a.max(dim=1, keepdim=True).indices.tolist() == [[0], [2]]
    assert t.max(a, t.tensor([4.0, 0.0, 4.0])).tolist() == [[4.0, 1.0, 4.0], [4.0, 2.0, 5.0]]
    assert a.max(other=t.zeros(3)).tolist() == a.tolist()
    assert t.min(a, t.tensor(2.5)).tolist() == [[2.5, 1.0, 2.5], [2.0, 2.0, 2.5]]
    assert a.min(0).indices.tolist() == [1, 0, 0]
    # elementwise form promotes like maximum
    assert t.max(t.tensor([1, 5], dtype=t.int32), t.tensor([2, 2])).dtype is t.int64
    with pytest.raises(TypeError):
        a.max(dim=(0, 1))
    with pytest.raises(TypeError):
        a.max(1.0)


def test_max_with_nan_and_zero_dim():
    x = t.tensor([1.0, NAN, 3.0])
    assert np.isnan(x.max().item()) and np.isnan(x.min().item())
    assert x.max(0).indices.item() == 1 and x.min(0).indices.item() == 1
    assert x.argmax().item() == 1 and x.argmin().item() == 1
    assert np.isnan(x.amax().item())
    scalar = t.tensor(5.0)
    for dim in (0, -1):
        result = scalar.max(dim, True)
        assert result.values.shape == () and result.values.item() == 5.0
        assert result.indices.item() == 0 and result.indices.shape == ()


def test_reducing_nothing_raises_like_torch():
    empty = t.zeros(0, 3)
    message = (r"max\(\): Expected reduction dim to be specified for input.numel\(\) == 0. "
               r"Specify the reduction dim with the 'dim' argument.")
    with pytest.raises(RuntimeError, match=message):
        t.tensor([]).max()
    with pytest.raises(RuntimeError, match=message.replace("max", "min", 1)):
        empty.min()
    with pytest.raises(IndexError, match=r"max\(\): Expected reduction dim 0 to have non-zero"):
        empty.max(0)
    with pytest.raises(IndexError, match=r"max\(\): Expected reduction dim 1 to have non-zero"):
        t.zeros(2, 0).max(-1)
    with pytest.raises(IndexError, match=r"amax\(\): Expected reduction dim 0 to have non-zero"):
        empty.amax(0)
    with pytest.raises(IndexError, match=r"argmax\(\): Expected reduction dim to be specified"):
        empty.argmax()
    with pytest.raises(IndexError, match=r"argmin\(\): Expected reduction dim 0"):
        empty.argmin(0)
    assert empty.max(1).values.shape == (0,) and empty.max(1).indices.dtype is t.int64
    assert empty.amax(1).shape == (0,)
    with pytest.raises(RuntimeError, match="aminmax"):
        empty.aminmax()


def test_argmax_argmin():
    array = np.array([[1, 7, 7], [9, 0, 9]])
    x = t.tensor(array)
    check(x.argmax(), np.argmax(array), t.int64)  # index into the flattened tensor
    check(x.t().argmax(), np.argmax(array.T), t.int64)
    check(x.argmax(1), [1, 0], t.int64)  # first of the ties
    check(x.argmin(0, keepdim=True), [[0, 1, 0]], t.int64)
    assert x.argmax(keepdim=True).shape == (1, 1)
    assert t.tensor(3.0).argmax(0).item() == 0
    with pytest.raises(RuntimeError, match="does not support bool"):
        t.tensor([True]).argmax()


def test_aminmax():
    a = t.tensor([[1.0, 5.0], [7.0, 2.0]])
    result = a.aminmax()
    assert type(result).__name__ == "aminmax"
    assert result.min.item() == 1.0 and result.max.item() == 7.0
    result = t.aminmax(a, dim=1, keepdim=True)
    assert result.min.tolist() == [[1.0], [2.0]] and result[1].tolist() == [[5.0], [7.0]]
    assert repr(result).startswith("torch.return_types.aminmax(\nmin=")


# ------------------------------------------------------------------ named tuples


def test_return_types_behave_like_torchs():
    result = t.tensor([[1, 9, 3]]).max(1)
    values, indices = result
    assert result[0] is values and result.values is values and result.indices is indices
    assert isinstance(result, tuple) and len(result) == 2
    assert result.n_fields == 2 and result.n_sequence_fields == 2 and result.n_unnamed_fields == 0
    assert type(result) is t.return_types.max
    assert repr(result) == f"torch.return_types.max(\nvalues={values!r},\nindices={indices!r})"
    assert str(result) == repr(result)
    rebuilt = t.return_types.sort([1, 2])
    assert rebuilt.values == 1 and rebuilt.indices == 2
    with pytest.raises(TypeError, match=r"takes a 2-sequence \(3-sequence given\)"):
        t.return_types.sort([1, 2, 3])
    copy = pickle.loads(pickle.dumps(result))
    assert type(copy) is t.return_types.max and copy.values.tolist() == [9]


def test_return_type_repr_matches_torch():
    data = [[3.0, 1.0, 3.0], [2.0, 2.0, 5.0]]
    oracle.assert_same_as_torch("max", repr(t.max(t.tensor(data), 1)),
                                lambda torch: repr(torch.max(torch.tensor(data), 1)))
    oracle.assert_same_as_torch("median", repr(t.tensor([1, 2, 2, 3]).median(0)),
                                lambda torch: repr(torch.tensor([1, 2, 2, 3]).median(0)))


# ------------------------------------------------------------------ all, any, count_nonzero


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape, dim", SHAPES_AND_DIMS)
def test_all_any_count_nonzero_match_numpy(dtype, shape, dim):
    x, array = make(shape, dtype)
    axis = numpy_axis(dim, len(shape))
    truth = t.uint8 if dtype is t.uint8 else t.bool  # torch keeps uint8 for uint8 inputs
    kwargs = {} if dim is None else {"dim": dim}
    check(x.all(**kwargs), np.all(array, axis=axis), truth)
    check(x.any(keepdim=True, **kwargs), np.any(array, axis=axis, keepdims=True), truth)
    check(x.count_nonzero(**kwargs), np.count_nonzero(array, axis=axis), t.int64)


# ------------------------------------------------------------------ cumsum, cumprod


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (3, 1, 2)])
def test_cumsum_cumprod_match_numpy(dtype, shape):
    x, array = make(shape, dtype)
    expected_dtype = t.int64 if dtype in INTEGRAL else dtype
    accumulate = np.int64 if dtype in INTEGRAL else np.float64
    for dim in range(-max(len(shape), 1), max(len(shape), 1)):
        axis = dim % len(shape) if shape else None
        reference = array.reshape(-1) if not shape else array
        check(x.cumsum(dim), np.cumsum(reference, axis=axis, dtype=accumulate).reshape(shape),
              expected_dtype)
        check(t.cumprod(x, dim=dim), np.cumprod(reference, axis=axis, dtype=accumulate)
              .reshape(shape), expected_dtype)


def test_cumsum_arguments():
    check(t.tensor([1.5, 2.0]).cumsum(0, dtype=t.int64), [1, 3], t.int64)
    check(t.tensor([2, 3]).cumprod(0, dtype=t.int8), [2, 6], t.int8)
    with pytest.raises(TypeError):
        t.tensor([1, 2]).cumsum()
    with pytest.raises(IndexError):
        t.tensor([[1, 2]]).cumsum(2)
    x = t.tensor([1, 2, 3])
    assert x.cumsum_(0) is x and x.tolist() == [1, 3, 6]


# ------------------------------------------------------------------ median, mode


def test_median_whole_tensor_is_the_lower_median():
    assert t.tensor([3.0, 1.0, 2.0, 4.0]).median().item() == 2.0
    assert t.tensor([[5, 1], [4, 2]]).median().item() == 2
    assert np.isnan(t.tensor([1.0, NAN, 3.0]).median().item())
    assert t.tensor([1.0, NAN, 3.0, 4.0]).nanmedian().item() == 3.0
    assert np.isnan(t.tensor([]).median().item())
    with pytest.raises(NotImplementedError, match="'Bool'"):
        t.tensor([True, False]).median()


@pytest.mark.parametrize("row, value, index", [
    ([1, 2, 2, 2, 3], 2, 2), ([2, 1, 2, 3, 2, 1], 2, 0), ([5, 5, 5, 5], 5, 1),
    ([1.0, 2.0, 2.0, 5.0], 2.0, 1), ([3, 1], 1, 1), ([7], 7, 0),
])
def test_median_along_dim_picks_the_stable_rank(row, value, index):
    # torch's index for ties: the element of rank (n-1)//2 in a stable sort of the row
    result = t.tensor(row).median(0)
    assert type(result).__name__ == "median"
    assert result.values.item() == value and result.indices.item() == index


def test_median_along_dim_matches_numpy_rank():
    rng = np.random.default_rng(3)
    array = rng.integers(0, 4, size=(5, 7, 6)).astype(np.float32)
    x = t.tensor(array)
    for dim in range(3):
        order = np.argsort(array, axis=dim, kind="stable")
        expected = np.take(order, [(array.shape[dim] - 1) // 2], axis=dim)
        result = x.median(dim, keepdim=True)
        check(result.indices, expected, t.int64)
        check(result.values, np.take_along_axis(array, expected, dim), t.float32)


def test_median_and_nanmedian_with_nan():
    x = t.tensor([[1.0, NAN, 3.0, NAN], [4.0, 2.0, 1.0, 3.0]])
    result = x.median(1)
    assert np.isnan(result.values[0].item()) and result.indices.tolist() == [1, 1]
    result = x.nanmedian(1)
    assert result.values.tolist() == [1.0, 2.0] and result.indices.tolist() == [0, 1]
    all_nan = t.tensor([NAN, NAN]).nanmedian(0)
    assert np.isnan(all_nan.values.item()) and all_nan.indices.item() == 0
    assert type(all_nan).__name__ == "nanmedian"
    with pytest.raises(IndexError, match=r"median\(\): Expected reduction dim 0 to have non-zero"):
        t.zeros(0, 2).median(0)


@pytest.mark.parametrize("row, value, index", [
    ([1, 2, 2, 3, 3], 2, 2), ([3, 3, 1, 2, 2, 1], 1, 5), ([2, 0, 2, 1, 2], 2, 4),
    ([7, 3, 9], 3, 1), ([2, 1, 1, 2], 1, 2), ([4.0, 2.0, 4.0, 2.0, 9.0], 2.0, 3),
    ([True, False, True], True, 2),
])
def test_mode_is_the_smallest_most_frequent_value_at_its_last_position(row, value, index):
    result = t.tensor(row).mode()
    assert type(result).__name__ == "mode"
    assert result.values.item() == value and result.indices.item() == index


def test_mode_along_dims():
    x = t.tensor([[4, 1, 7, 7], [3, 3, 0, 1], [2, 2, 2, 5]])
    result = x.mode(0)
    assert result.values.tolist() == [2, 1, 0, 1] and result.indices.tolist() == [2, 0, 1, 1]
    result = x.mode(1, keepdim=True)
    assert result.values.tolist() == [[7], [3], [2]] and result.indices.tolist() == [[3], [1], [2]]
    scalar = t.tensor(3).mode()
    assert scalar.values.item() == 3 and scalar.indices.item() == 0
    with pytest.raises(IndexError, match=r"mode\(\): Expected reduction dim 0"):
        t.zeros(0).mode()


def test_median_and_mode_ties_match_torch():
    rng = np.random.default_rng(5)
    for index in range(20):
        array = rng.integers(0, 3, size=(3, int(rng.integers(1, 15))))
        for name in ("median", "mode"):
            def values_and_indices(lib):
                result = getattr(lib.tensor(array), name)(1)
                return result.values.tolist(), result.indices.tolist()

            assert values_and_indices(t) == oracle.answer(f"{name} of array {index}",
                                                          values_and_indices), (name, array)


# ------------------------------------------------------------------ norm, dist


@pytest.mark.parametrize("p", [1, 2, 3, 0.5, 0, -1, INF, -INF, "fro"])
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
def test_norm_matches_numpy(p, dim):
    array = np.array([[3.0, -4.0, 0.0], [1.0, 2.0, -0.5]], dtype=np.float32)
    x = t.tensor(array)
    axis = None if dim is None else dim
    flat = np.abs(array) if axis is None else np.abs(array)
    order = 2 if p == "fro" else p
    if order == INF:
        expected = flat.max(axis=axis)
    elif order == -INF:
        expected = flat.min(axis=axis)
    elif order == 0:
        expected = (flat != 0).sum(axis=axis).astype(np.float32)
    else:
        with np.errstate(divide="ignore"):
            expected = (flat ** order).sum(axis=axis) ** (1.0 / order)
    check(x.norm(p, dim), expected, t.float32)
    keep = x.norm(p, dim, keepdim=True)
    assert keep.dim() == 2


def test_norm_variants_and_errors():
    x = t.tensor([[3.0, -4.0], [1.0, 2.0]])
    check(x.norm(), np.sqrt(30.0), t.float32)
    check(x.norm("nuc"), np.linalg.norm(x.numpy(), "nuc"), t.float32)
    batch = np.arange(24.0).reshape(2, 3, 4)
    check(t.tensor(batch).norm("nuc", dim=(0, 2)),
          np.linalg.norm(np.moveaxis(batch, 1, 0), "nuc", axis=(1, 2)), t.float64)
    assert t.tensor(batch).norm("nuc", dim=(2, 0), keepdim=True).shape == (1, 3, 1)
    check(x.norm(dtype=t.float64), np.sqrt(30.0), t.float64)
    check(t.tensor([1.0, 2.0]).half().norm(), np.sqrt(5.0), t.float16)
    with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor as input. "
                                           "Got Long"):
        t.tensor([1, 2]).norm()
    with pytest.raises(RuntimeError, match="dim must be a 2-tuple"):
        x.norm("nuc", dim=1)
    with pytest.raises(RuntimeError, match="cannot compute the inf norm on an empty tensor"):
        t.zeros(0).norm(INF)
    assert t.zeros(0).norm().item() == 0.0


def test_dist():
    a, b = t.tensor([[3.0, -4.0], [1.0, 2.0]]), t.tensor([1.0, 1.0])
    difference = a.numpy() - b.numpy()
    check(t.dist(a, b), np.sqrt((difference ** 2).sum()), t.float32)
    check(a.dist(b, 1), np.abs(difference).sum(), t.float32)
    check(t.dist(a, b, INF), np.abs(difference).max(), t.float32)
    assert t.dist(a, b.double()).dtype is t.float64
    with pytest.raises(RuntimeError, match=r"norm\(\): input dtype should be either floating"):
        t.dist(t.tensor([1, 2]), t.tensor([1, 3]))


# ------------------------------------------------------------------ std, var


@pytest.mark.parametrize("dtype", [t.float32, t.float64])
@pytest.mark.parametrize("shape, dim", [s for s in SHAPES_AND_DIMS if 0 not in s[0] and s[0]])
@pytest.mark.parametrize("correction", [0, 1, 1.5])
def test_var_std_match_numpy(dtype, shape, dim, correction):
    x, array = make(shape, dtype, seed=7)
    axis = numpy_axis(dim, len(shape))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = np.var(array.astype(np.float64), axis=axis, ddof=correction, keepdims=True)
        variance = x.var(dim, correction=correction)
        deviation = t.std(x, dim, correction=correction, keepdim=True)
    check(variance, expected.reshape(variance.shape), dtype)
    check(deviation, np.sqrt(expected), dtype)


def test_var_std_overloads():
    array = np.array([[3.0, -4.0], [1.0, 2.0]], dtype=np.float32)
    x = t.tensor(array)
    check(x.std(), np.std(array, ddof=1), t.float32)
    check(x.std(False), np.std(array), t.float32)  # std(unbiased)
    check(x.std(0, unbiased=False), np.std(array, axis=0), t.float32)
    check(x.var(1, True, True), np.var(array, axis=1, ddof=1, keepdims=True), t.float32)
    check(x.var(axis=0), np.var(array, axis=0, ddof=1), t.float32)
    variance, mean = t.var_mean(x, 1)
    assert type(t.var_mean(x, 1)) is tuple
    check(variance, np.var(array, axis=1, ddof=1), t.float32)
    check(mean, array.mean(axis=1), t.float32)
    deviation, mean = t.std_mean(x, dim=0, correction=0, keepdim=True)
    check(deviation, np.std(array, axis=0, keepdims=True), t.float32)
    check(mean, array.mean(axis=0, keepdims=True), t.float32)
    with pytest.raises(RuntimeError, match="std and var only support floating point and complex"):
        t.tensor([1, 2]).var()
    with pytest.raises(TypeError):
        x.std(unbiased=True, correction=1)


def test_var_without_degrees_of_freedom_warns_and_gives_inf_or_nan():
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        assert np.isnan(t.tensor([1.0]).var().item())
    with pytest.warns(UserWarning):
        assert t.tensor([1.0, 2.0]).var(correction=2).item() == INF


# ------------------------------------------------------------------ logsumexp


def reference_logsumexp(array, axis, keepdims=False):
    shift = np.max(array, axis=axis, keepdims=True)
    shift = np.where(np.isinf(shift), 0.0, shift)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(array - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=axis)


@pytest.mark.parametrize("dim", [0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_logsumexp_matches_reference(dim, keepdim):
    array = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -1000.0]])
    check(t.tensor(array).logsumexp(dim, keepdim), reference_logsumexp(array, dim, keepdim),
          t.float64)


def test_logsumexp_is_stable_and_promotes_integers():
    check(t.tensor([1000.0, 1000.0]).logsumexp(0), 1000.0 + np.log(2.0), t.float32)
    assert t.tensor([-INF, -INF]).logsumexp(0).item() == -INF
    assert t.tensor([INF, 1.0]).logsumexp(0).item() == INF
    check(t.tensor([[1, 2, 3]], dtype=t.int32).logsumexp(1),
          reference_logsumexp(np.array([[1.0, 2.0, 3.0]]), 1), t.float32)
    check(t.zeros(0, 3).logsumexp(0), np.full(3, -np.inf), t.float32)
    with pytest.raises(TypeError):
        t.tensor([1.0]).logsumexp()


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("dtype", [t.float32, t.float64])
def test_softmax_and_log_softmax_match_numpy(dim, dtype):
    x = t.tensor(np.random.default_rng(3).standard_normal((4, 5)) * 30, dtype=dtype)
    array = x.numpy().astype(np.float64)
    shifted = array - array.max(axis=dim, keepdims=True)
    expected_log = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
    check(x.log_softmax(dim), expected_log, dtype)
    check(t.softmax(x, dim), np.exp(expected_log), dtype)
    assert x.softmax(dim).dtype is dtype


def test_softmax_edge_cases_follow_torch():
    rows = t.tensor([[1.0, INF], [-INF, -INF], [0.0, 0.0]])
    assert np.isnan(t.softmax(rows, 1)[:2].numpy()).all()
    assert np.isnan(t.log_softmax(rows, 1)[:2].numpy()).all()
    np.testing.assert_allclose(t.softmax(rows, 1)[2].numpy(), [0.5, 0.5])
    assert t.softmax(t.tensor(2.0), 0).item() == 1.0 and t.log_softmax(t.tensor(2.0), -1).item() == 0
    assert t.softmax(t.tensor([1, 2, 3]), 0, dtype=t.float64).dtype is t.float64
    with pytest.raises(NotImplementedError, match='"softmax_lastdim_kernel_impl" not implemented '
                                                  "for 'Long'"):
        t.softmax(t.tensor([1, 2, 3]), 0)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-2, 1\], but got 2\)"):
        t.rand(2, 3).log_softmax(2)


def test_softmax_gradients():
    x = t.tensor(np.random.default_rng(4).standard_normal((3, 4)), dtype=t.float64,
                 requires_grad=True)
    assert type(x.softmax(1).grad_fn).__name__ == "SoftmaxBackward0"
    assert type(x.log_softmax(0).grad_fn).__name__ == "LogSoftmaxBackward0"
    assert t.autograd.gradcheck(lambda v: v.softmax(1) * v.log_softmax(0), (x,))
    assert t.autograd.gradgradcheck(lambda v: v.log_softmax(1), (x,))


def test_softmax_against_torch():
    values = np.random.default_rng(5).standard_normal((3, 4))
    weights = np.arange(12.0).reshape(3, 4)
    for name in ("softmax", "log_softmax"):
        def value_and_gradient(lib):
            x = lib.tensor(values, requires_grad=True)
            result = getattr(x, name)(1)
            (result * lib.tensor(weights)).sum().backward()
            return result.detach(), x.grad

        ours, theirs = value_and_gradient(t), oracle.answer(name, value_and_gradient)
        for mine, torchs in zip(ours, theirs):
            assert str(mine.dtype) == torchs.dtype == "torch.float64"
            assert_close(mine.numpy(), torchs.numpy(), "float64", name)
