"""Tensor creation: constructors, dtype inference, filled tensors, ranges, numpy interop, dtype
conversions and the default dtype. Expected values are hand-computed or come from numpy; the
torch tests compare ranges value for value (torch's answers live, or recorded in tests/oracle)."""
import warnings

import numpy as np
import pytest

import graphc
import oracle
from tolerances import assert_close

# Behaviour of graphc/tensor.py (the lead's file); the needed diff is in the report of the change
# that added these tests.

ALL_DTYPES = [graphc.bool, graphc.uint8, graphc.int8, graphc.int16, graphc.int32, graphc.int64,
              graphc.float16, graphc.float32, graphc.float64]
NUMPY_TYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32,
               np.float64]


@pytest.fixture(autouse=True)
def restore_defaults():
    yield
    graphc.set_default_dtype(graphc.float32)


# ------------------------------------------------------------------ legacy Tensor(...)


def test_legacy_tensor_from_sizes():
    t = graphc.Tensor(2, 3)
    assert t.shape == (2, 3) and t.dtype is graphc.float32
    assert graphc.Tensor(3).shape == (3,)
    assert graphc.Tensor(graphc.Size([2, 3])).shape == (2, 3)
    with pytest.raises(TypeError):
        graphc.Tensor(2, "a")


def test_legacy_tensor_from_data():
    assert graphc.Tensor((2, 3)).tolist() == [2.0, 3.0]  # a tuple is data, not a size
    assert graphc.Tensor([2, 3]).tolist() == [2.0, 3.0]
    assert graphc.Tensor([1, 2]).dtype is graphc.float32  # always the default dtype
    ints = graphc.Tensor(np.array([1, 2]))
    assert ints.dtype is graphc.float32 and ints.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="data must be a sequence"):
        graphc.Tensor(2.5)


def test_legacy_tensor_without_arguments_is_empty():
    assert graphc.Tensor().shape == (0,)
    assert graphc.tensor([1], dtype=graphc.int16).new().shape == (0,)


def test_legacy_tensor_errors():
    with pytest.raises(RuntimeError, match="Trying to create tensor with negative dimension -1"):
        graphc.Tensor(-1)
    with pytest.raises(TypeError):
        graphc.DoubleTensor(graphc.tensor([1.0, 2.0]))  # a float32 tensor is not a double one


def test_legacy_tensor_from_storage_shares_memory():
    storage = graphc.TypedStorage([1.0, 2.0, 3.0])
    t = graphc.Tensor(storage)
    assert t.tolist() == [1.0, 2.0, 3.0]
    t.fill_(5.0)
    assert storage.tolist() == [5.0, 5.0, 5.0]


def test_legacy_typed_constructors():
    assert graphc.FloatTensor(2).shape == (2,) and graphc.FloatTensor(2).dtype is graphc.float32
    assert graphc.LongTensor([1.5, -2.5]).tolist() == [1, -2]
    assert graphc.BoolTensor([0, 2]).tolist() == [False, True]
    assert graphc.ByteTensor(2, 2).dtype is graphc.uint8
    assert graphc.HalfTensor([1]).dtype is graphc.float16
    assert graphc.CharTensor([1]).dtype is graphc.int8
    assert graphc.DoubleTensor([1]).dtype is graphc.float64
    assert graphc.ShortTensor([1]).type() == "torch.ShortTensor"
    assert graphc.IntTensor([1]).type() == "torch.IntTensor"


def test_isinstance_and_type_strings():
    f, i = graphc.tensor([1.0]), graphc.tensor([1])
    assert isinstance(f, graphc.FloatTensor) and not isinstance(i, graphc.FloatTensor)
    assert isinstance(i, graphc.LongTensor)
    assert isinstance(graphc.FloatTensor(2), graphc.Tensor)
    names = ["torch.BoolTensor", "torch.ByteTensor", "torch.CharTensor", "torch.ShortTensor",
             "torch.IntTensor", "torch.LongTensor", "torch.HalfTensor", "torch.FloatTensor",
             "torch.DoubleTensor"]
    for d, name in zip(ALL_DTYPES, names):
        assert graphc.zeros(1, dtype=d).type() == name


# ------------------------------------------------------------------ graphc.tensor


def test_tensor_dtype_inference():
    assert graphc.tensor([1.0, 2.0]).dtype is graphc.float32
    assert graphc.tensor([1, 2]).dtype is graphc.int64
    assert graphc.tensor([True, False]).dtype is graphc.bool
    assert graphc.tensor([1, 2.5]).dtype is graphc.float32
    assert graphc.tensor([True, 2]).dtype is graphc.int64
    assert graphc.tensor(3).dtype is graphc.int64 and graphc.tensor(3).dim() == 0
    assert graphc.tensor(2.5).dtype is graphc.float32
    assert graphc.tensor([]).dtype is graphc.float32 and graphc.tensor([]).shape == (0,)
    assert graphc.tensor([[], []]).shape == (2, 0)
    assert graphc.tensor((1, 2)).tolist() == [1, 2]
    assert graphc.tensor([2 ** 40]).dtype is graphc.int64


def test_tensor_keeps_numpy_dtypes():
    for numpy_type, d in zip(NUMPY_TYPES, ALL_DTYPES):
        assert graphc.tensor(np.zeros(2, dtype=numpy_type)).dtype is d
        assert graphc.tensor(numpy_type(1)).dtype is d  # numpy scalars too
    assert graphc.tensor([np.float32(1), np.float32(2)]).dtype is graphc.float32
    assert graphc.tensor([np.int8(1), np.int8(2)]).dtype is graphc.int8
    assert graphc.tensor([np.float64(1), 2.0]).dtype is graphc.float64  # promoted
    assert graphc.tensor([np.int8(1), 2]).dtype is graphc.int64
    assert graphc.tensor([np.float16(1), 2.5]).dtype is graphc.float32
    stacked = graphc.tensor([np.array([1, 2], dtype=np.int8), np.array([3, 4], dtype=np.int8)])
    assert stacked.dtype is graphc.int8 and stacked.tolist() == [[1, 2], [3, 4]]


def test_tensor_from_zero_dim_tensors():
    t = graphc.tensor([graphc.tensor(1.0), graphc.tensor(2.0)])
    assert t.dtype is graphc.float32 and t.tolist() == [1.0, 2.0]
    assert graphc.tensor([graphc.tensor(1), graphc.tensor(2)]).dtype is graphc.int64
    mixed = graphc.tensor([graphc.tensor(1.0, dtype=graphc.float64), graphc.tensor(2.0)])
    assert mixed.dtype is graphc.float64
    assert graphc.tensor([graphc.tensor(1, dtype=graphc.int8)] * 2).dtype is graphc.int8
    assert graphc.tensor([graphc.tensor([1.0]), graphc.tensor([2.0])]).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="only one element tensors can be converted"):
        graphc.tensor([graphc.tensor([1.0, 2.0]), graphc.tensor([3.0, 4.0])])


def test_tensor_with_dtype_converts():
    assert graphc.tensor([1.7, -2.7], dtype=graphc.int32).tolist() == [1, -2]
    assert graphc.tensor([0, 2], dtype=graphc.bool).tolist() == [False, True]
    assert graphc.tensor([-1], dtype=graphc.uint8).tolist() == [255]  # wraps, as in C
    with pytest.raises(RuntimeError, match="value cannot be converted to type int8 without "
                                           "overflow"):
        graphc.tensor([300], dtype=graphc.int8)
    assert graphc.tensor([1e6], dtype=graphc.float16).tolist() == [float("inf")]
    assert graphc.tensor(np.array([1.5, 2.5]), dtype=graphc.float32).dtype is graphc.float32


def test_tensor_errors():
    with pytest.raises(ValueError, match=r"expected sequence of length 2 at dim 1 \(got 1\)"):
        graphc.tensor([[1, 2], [3]])
    with pytest.raises(ValueError, match=r"expected sequence of length 1 at dim 2 \(got 2\)"):
        graphc.tensor([[[1]], [[2, 3]]])
    with pytest.raises(TypeError):
        graphc.tensor([[1, 2], 3])
    with pytest.raises(TypeError):
        graphc.tensor([1, [2, 3]])
    with pytest.raises(TypeError, match="invalid data type 'str'"):
        graphc.tensor("abc")
    with pytest.raises(RuntimeError, match="Could not infer dtype of NoneType"):
        graphc.tensor(None)
    with pytest.raises(ValueError, match="Overflow"):
        graphc.tensor([2 ** 64])
    with pytest.raises(TypeError, match="can't convert np.ndarray of type numpy.uint16"):
        graphc.tensor(np.ones(2, dtype=np.uint16))


def test_tensor_requires_grad():
    t = graphc.tensor([1.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype can "
                                           "require gradients"):
        graphc.tensor([1], requires_grad=True)
    with pytest.raises(RuntimeError, match="Only Tensors of floating point"):
        graphc.zeros(2, dtype=graphc.int64, requires_grad=True)
    assert graphc.ones(2, requires_grad=True).requires_grad


def test_tensor_of_a_tensor_copies_with_a_warning():
    source = graphc.tensor([1.0, 2.0])
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):
        copy = graphc.tensor(source)
    copy.fill_(0.0)
    assert source.tolist() == [1.0, 2.0]


def test_tensor_copies_numpy_and_from_numpy_shares():
    array = np.array([1.0, 2.0])
    copied = graphc.tensor(array)
    array[0] = 10.0
    assert copied.tolist() == [1.0, 2.0]
    shared = graphc.from_numpy(array)
    assert shared.dtype is graphc.float64
    array[1] = 20.0
    assert shared.tolist() == [10.0, 20.0]
    shared.add_(1.0)
    assert array.tolist() == [11.0, 21.0]
    back = shared.numpy()
    back[0] = 0.0
    assert shared.tolist() == [0.0, 21.0]
    assert np.shares_memory(graphc.as_tensor(array).numpy(), array)
    assert not np.shares_memory(graphc.as_tensor(array, dtype=graphc.float32).numpy(), array)
    assert graphc.as_tensor([1, 2]).tolist() == [1, 2]


def test_from_numpy_dtypes_and_layouts():
    for numpy_type, d in zip(NUMPY_TYPES, ALL_DTYPES):
        t = graphc.from_numpy(np.zeros(2, dtype=numpy_type))
        assert t.dtype is d and t.numpy().dtype == np.dtype(numpy_type)
    transposed = graphc.from_numpy(np.arange(6).reshape(2, 3).T)
    assert transposed.stride() == (1, 3) and transposed.shape == (3, 2)
    strided = graphc.from_numpy(np.arange(6).reshape(2, 3)[:, ::2])
    assert strided.stride() == (3, 2)
    assert graphc.from_numpy(np.array(3.0)).dim() == 0
    with pytest.raises(TypeError, match=r"expected np.ndarray \(got list\)"):
        graphc.from_numpy([1, 2])
    with pytest.raises(ValueError, match="negative"):
        graphc.from_numpy(np.arange(3)[::-1])


def test_numpy_views_share_and_refuse_grad():
    t = graphc.tensor([[1, 2], [3, 4]])
    view = t.t().numpy()
    assert view.strides == (8, 16)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        graphc.tensor([1.0], requires_grad=True).numpy()
    assert graphc.tensor([1.0], requires_grad=True).numpy(force=True).tolist() == [1.0]
    assert graphc.tensor(np.arange(6).reshape(2, 3)[:, ::2]).stride() == (2, 1)


# ------------------------------------------------------------------ filled tensors


def test_zeros_ones_empty_sizes():
    for function in (graphc.zeros, graphc.ones, graphc.empty):
        assert function(2, 3).shape == (2, 3)
        assert function((2, 3)).shape == (2, 3)
        assert function([2, 3]).shape == (2, 3)
        assert function(graphc.Size([2])).shape == (2,)
        assert function(()).shape == ()
        assert function([]).shape == ()
        assert function(np.int64(2)).shape == (2,)
        assert function(graphc.tensor(2)).shape == (2,)
        assert function(2).dtype is graphc.float32
    assert graphc.ones(2, dtype=graphc.int32).tolist() == [1, 1]
    with pytest.raises(RuntimeError, match=r"Trying to create tensor with negative dimension -1: "
                                           r"\[2, -1\]"):
        graphc.ones(2, -1)
    with pytest.raises(TypeError, match=r"ones\(\): argument 'size' \(position 1\) must be tuple "
                                        r"of ints, not float"):
        graphc.ones(2.5)
    with pytest.raises(TypeError, match="not bool"):
        graphc.zeros(True)
    with pytest.raises(TypeError, match="must be tuple of ints"):
        graphc.ones((2, 2.5))


def test_full_dtype_inference_and_checks():
    assert graphc.full((2,), 3).dtype is graphc.int64
    assert graphc.full((2,), 3.0).dtype is graphc.float32
    assert graphc.full((2,), True).dtype is graphc.bool
    assert graphc.full((2,), graphc.tensor(3)).dtype is graphc.int64
    assert graphc.full((2,), graphc.tensor(3.5, dtype=graphc.float64)).dtype is graphc.float32
    assert graphc.full((2,), 2.7, dtype=graphc.int64).tolist() == [2, 2]
    assert graphc.full((1,), -1, dtype=graphc.uint8).tolist() == [255]
    assert graphc.full((1,), 2, dtype=graphc.bool).tolist() == [True]
    assert graphc.full((2, 2), 7.5).tolist() == [[7.5, 7.5], [7.5, 7.5]]
    with pytest.raises(RuntimeError, match="value cannot be converted to type int8_t without "
                                           "overflow"):
        graphc.full((2,), 300, dtype=graphc.int8)
    with pytest.raises(RuntimeError, match="uint8_t"):
        graphc.full((1,), -300, dtype=graphc.uint8)
    with pytest.raises(TypeError, match=r"full\(\): argument 'size' \(position 1\) must be tuple "
                                        r"of ints, not int"):
        graphc.full(2, 3)
    graphc.set_default_dtype(graphc.float64)
    assert graphc.full((2,), 3.0).dtype is graphc.float64


def test_eye():
    assert graphc.eye(2, 3).tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert graphc.eye(3, 2).tolist() == [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
    assert graphc.eye(2, dtype=graphc.int64).dtype is graphc.int64
    assert graphc.eye(2, dtype=graphc.bool).tolist() == [[True, False], [False, True]]
    assert graphc.eye(0).shape == (0, 0)
    with pytest.raises(RuntimeError, match="n must be greater or equal to 0, got -1"):
        graphc.eye(-1)
    with pytest.raises(TypeError, match=r"eye\(\): argument 'n' \(position 1\) must be int, not "
                                        r"float"):
        graphc.eye(2.5)


def test_like_functions():
    i = graphc.tensor([1, 2])
    assert graphc.zeros_like(i).dtype is graphc.int64
    assert graphc.ones_like(i, dtype=graphc.float32).tolist() == [1.0, 1.0]
    assert graphc.full_like(i, 2.7).tolist() == [2, 2]
    assert graphc.full_like(graphc.tensor([1.0, 2.0]), 2).tolist() == [2.0, 2.0]
    assert graphc.full_like(i, True).tolist() == [1, 1]
    assert graphc.empty_like(graphc.tensor([[1, 2]])).shape == (1, 2)
    with pytest.raises(RuntimeError, match="int8_t without overflow"):
        graphc.full_like(graphc.tensor([1], dtype=graphc.int8), 300)
    assert graphc.ones_like(i, requires_grad=False).requires_grad is False


def test_like_functions_preserve_dense_layouts():
    transposed = graphc.zeros(2, 3).t()
    assert graphc.zeros_like(transposed).stride() == (1, 3)
    assert graphc.empty_like(transposed).stride() == (1, 3)
    assert graphc.zeros_like(transposed, memory_format=graphc.contiguous_format).stride() == (2, 1)
    permuted = graphc.zeros(2, 3, 4).permute(2, 0, 1)
    assert graphc.empty_like(permuted).stride() == (1, 12, 4)
    expanded = graphc.tensor([1.0, 2.0]).expand(3, 2)
    assert graphc.empty_like(expanded).stride() == (2, 1)  # not dense: row-major
    sliced = graphc.zeros(4, 6).narrow(1, 0, 3)
    assert graphc.empty_like(sliced).stride() == (3, 1)


def test_new_methods_keep_dtype():
    base = graphc.tensor([1], dtype=graphc.int8)
    assert base.new_tensor([1.5, 2.5]).tolist() == [1, 2]
    assert base.new_tensor([1.5]).dtype is graphc.int8
    assert graphc.tensor([1.0]).new_tensor([1, 2]).dtype is graphc.float32
    assert base.new_zeros(2, 3).dtype is graphc.int8
    assert base.new_zeros((2, 3)).shape == (2, 3)
    assert graphc.tensor([1.0], dtype=graphc.float64).new_ones(2).tolist() == [1.0, 1.0]
    assert graphc.tensor([1.0], dtype=graphc.float64).new_empty((2,)).dtype is graphc.float64
    assert graphc.tensor([1], dtype=graphc.int16).new_full((2,), 3.7).tolist() == [3, 3]
    short = graphc.tensor([1], dtype=graphc.int16)
    assert short.new(2, 3).dtype is graphc.int16 and short.new(2, 3).shape == (2, 3)
    assert short.new([1.5, 2]).tolist() == [1, 2]
    assert base.new_zeros(2, dtype=graphc.float32).dtype is graphc.float32


# ------------------------------------------------------------------ ranges


def test_arange_integers():
    assert graphc.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert graphc.arange(5).dtype is graphc.int64
    assert graphc.arange(5, 0, -2).tolist() == [5, 3, 1]
    assert graphc.arange(10, 0, -3).tolist() == [10, 7, 4, 1]
    assert graphc.arange(3, 3).tolist() == [] and graphc.arange(3, 3).dtype is graphc.int64
    assert graphc.arange(graphc.tensor(3)).tolist() == [0, 1, 2]
    assert graphc.arange(True, 3).tolist() == [1, 2]
    assert graphc.arange(5, dtype=graphc.uint8).dtype is graphc.uint8
    assert graphc.arange(0, 300, 100, dtype=graphc.int8).tolist() == [0, 100, -56]  # wraps
    # integer dtypes truncate the bounds; int64 also sizes the result from them
    assert graphc.arange(0.5, 5.5, 1.5, dtype=graphc.int64).tolist() == [0, 1, 2, 3, 4]
    assert graphc.arange(0.5, 5.5, 1.5, dtype=graphc.int32).tolist() == [0, 1, 2, 3]
    assert graphc.arange(-2.5, 2, 1, dtype=graphc.int64).tolist() == [-2, -1, 0, 1]
    assert graphc.arange(-2.5, 2, 1, dtype=graphc.int32).tolist() == [-2, -1, 0, 1, 2]


def test_arange_floats():
    steps = graphc.arange(0, 1, 0.1)
    assert steps.numel() == 10 and steps.dtype is graphc.float32  # like torch, not 11
    np.testing.assert_allclose(steps.numpy(), np.arange(10) * 0.1, rtol=1e-6)
    assert graphc.arange(1, 2.5, 0.5).tolist() == [1.0, 1.5, 2.0]
    assert graphc.arange(5.0).dtype is graphc.float32
    assert graphc.arange(graphc.tensor(3.0)).dtype is graphc.float32
    assert graphc.arange(5, dtype=graphc.float64).dtype is graphc.float64
    assert graphc.arange(0, 0.3, 0.1).numel() == 3
    assert graphc.arange(-1.5, 1.5, 0.7).numel() == 5
    half = graphc.arange(0, 3, 0.5, dtype=graphc.float16)
    assert half.dtype is graphc.float16 and half.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert graphc.arange(0, 1, 0.1, dtype=graphc.float64).tolist()[3] == 0.30000000000000004
    graphc.set_default_dtype(graphc.float64)
    assert graphc.arange(0, 1, 0.5).dtype is graphc.float64


def test_arange_errors():
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        graphc.arange(0, 5, 0)
    with pytest.raises(ValueError, match="step must be nonzero"):
        graphc.arange(0, 2, 0.5, dtype=graphc.int64)  # the step truncates to 0
    with pytest.raises(RuntimeError, match="upper bound and lower bound inconsistent with step "
                                           "sign"):
        graphc.arange(0, 5, -1)
    with pytest.raises(RuntimeError, match="inconsistent with step sign"):
        graphc.arange(-0.5)
    with pytest.raises(RuntimeError, match="unsupported range: 0 -> inf"):
        graphc.arange(0, float("inf"))
    with pytest.raises(RuntimeError, match="invalid size, possible overflow"):
        graphc.arange(0, 1, 1e-20)
    with pytest.raises(RuntimeError, match="not implemented for 'Bool'"):
        graphc.arange(3, dtype=graphc.bool)


def test_range_includes_the_end():
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        r = graphc.range(0, 1, 0.25)
    assert r.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0] and r.dtype is graphc.float32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert graphc.range(3, 0, -1).tolist() == [3.0, 2.0, 1.0, 0.0]
        assert graphc.range(0, 3, dtype=graphc.int64).tolist() == [0, 1, 2, 3]
        with pytest.raises(RuntimeError, match="inconsistent with step sign"):
            graphc.range(3, 0)


def test_linspace():
    assert graphc.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert graphc.linspace(0, 1, 0).shape == (0,)
    assert graphc.linspace(3, 1, 1).tolist() == [3.0]
    assert graphc.linspace(0, 10, 5).dtype is graphc.float32
    assert graphc.linspace(0, 10, 4, dtype=graphc.int64).tolist() == [0, 3, 6, 10]
    assert graphc.linspace(-10, 10, 4, dtype=graphc.int64).tolist() == [-10, -3, 3, 10]
    assert graphc.linspace(0, 100, 3, dtype=graphc.int8).tolist() == [0, 50, 100]
    assert graphc.linspace(graphc.tensor(0.0), graphc.tensor(1.0), 3).tolist() == [0.0, 0.5, 1.0]
    sixths = graphc.linspace(0, 1, 7, dtype=graphc.float64).tolist()
    assert sixths[0] == 0.0 and sixths[-1] == 1.0  # both ends exact
    np.testing.assert_allclose(sixths, np.linspace(0, 1, 7), rtol=1e-15)
    # float32: step rounded to float32, values in double, as torch
    values = graphc.linspace(-1, 1.3, 11).numpy()
    assert values[3] == np.float32(-0.3100000321865082)
    assert values[5] == np.float32(0.15000000596046448)
    with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
        graphc.linspace(0, 1, -1)
    with pytest.raises(TypeError):
        graphc.linspace(0, 1, 2.5)
    with pytest.raises(RuntimeError, match="uint8_t without overflow"):
        graphc.linspace(0, 300, 4, dtype=graphc.uint8)
    with pytest.raises(RuntimeError, match="not implemented for 'Bool'"):
        graphc.linspace(0, 1, 3, dtype=graphc.bool)


def test_logspace():
    assert graphc.logspace(0, 2, 3).tolist() == [1.0, 10.0, 100.0]
    assert graphc.logspace(0, 3, 4, base=2).tolist() == [1.0, 2.0, 4.0, 8.0]
    assert graphc.logspace(0, 2, 3, dtype=graphc.int64).tolist() == [1, 10, 100]
    assert graphc.logspace(0, 3, 4, base=-2).tolist() == [1.0, -2.0, 4.0, -8.0]
    assert graphc.logspace(0, 3, 4, base=2.5, dtype=graphc.int64).tolist() == [1, 2, 6, 15]
    assert graphc.logspace(2, 3, 1).tolist() == [100.0]
    assert graphc.logspace(0, 1, 0).shape == (0,)


def test_scalar_tensor():
    t = graphc.scalar_tensor(3)
    assert t.dim() == 0 and t.dtype is graphc.float32 and t.item() == 3.0


# ------------------------------------------------------------------ metadata and conversion


def test_tolist_item_and_sizes():
    t = graphc.tensor([[1, 2, 3]])
    assert t.tolist() == [[1, 2, 3]]
    assert graphc.tensor(1.5).tolist() == 1.5
    assert graphc.tensor([True]).tolist() == [True]
    assert graphc.tensor([1.1], dtype=graphc.float16).tolist() == [1.099609375]
    assert graphc.tensor([1.1]).tolist() == [1.100000023841858]
    assert graphc.tensor([[2.5]]).item() == 2.5
    assert type(graphc.tensor([2]).item()) is int
    assert type(graphc.tensor([True]).item()) is bool
    assert type(graphc.tensor([2.0]).item()) is float
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to "
                                           "Scalar"):
        graphc.tensor([1, 2]).item()
    with pytest.raises(RuntimeError, match="a Tensor with 0 elements"):
        graphc.tensor([]).item()
    assert t.size() == graphc.Size([1, 3]) and t.size(1) == 3 and t.size(-1) == 3
    assert t.shape == (1, 3) and isinstance(t.shape, graphc.Size)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-2, 1\], but got 2\)"):
        t.size(2)
    assert (t.dim(), t.numel(), t.ndim, t.nelement()) == (2, 3, 2, 3)
    assert (graphc.tensor(1).dim(), graphc.tensor(1).numel()) == (0, 1)
    sizes = [graphc.zeros(1, dtype=d).element_size() for d in ALL_DTYPES]
    assert sizes == [1, 1, 1, 2, 4, 8, 2, 4, 8]
    assert graphc.Size([2, 3]).numel() == 6 and isinstance(graphc.Size([2, 3])[1:], graphc.Size)
    assert repr(graphc.Size([2, 3])) == "torch.Size([2, 3])"


def test_dtype_conversion_methods():
    t = graphc.tensor([1.7, -2.7])
    expected = {"double": graphc.float64, "half": graphc.float16, "long": graphc.int64,
                "int": graphc.int32, "short": graphc.int16, "char": graphc.int8,
                "byte": graphc.uint8, "bool": graphc.bool, "float": graphc.float32}
    for method, d in expected.items():
        assert getattr(t, method)().dtype is d
    assert t.long().tolist() == [1, -2]  # truncation toward zero
    assert graphc.tensor([0.0, 0.5, -1.0]).bool().tolist() == [False, True, True]
    assert graphc.tensor([-1.0, 2.7]).byte().tolist() == [255, 2]
    assert t.float() is t and t.to(graphc.float32) is t and t.type(graphc.float32) is t
    assert t.to(graphc.float32, copy=True) is not t
    assert t.type("torch.IntTensor").dtype is graphc.int32
    assert t.type("graphc.IntTensor").dtype is graphc.int32
    assert t.type(graphc.int32).tolist() == [1, -2]
    assert t.type(graphc.DoubleTensor).dtype is graphc.float64
    with pytest.raises(ValueError, match="invalid type: 'torch.FooTensor'"):
        t.type("torch.FooTensor")
    assert t.type_as(graphc.tensor([1])).dtype is graphc.int64
    assert t.to(graphc.tensor([1])).dtype is graphc.int64
    assert t.to("cpu", graphc.int64).dtype is graphc.int64
    assert t.to(dtype=graphc.int64).dtype is graphc.int64


def test_default_dtype():
    assert graphc.get_default_dtype() is graphc.float32
    with pytest.raises(TypeError, match="only floating-point types are supported as the default "
                                        "type"):
        graphc.set_default_dtype(graphc.int64)
    graphc.set_default_dtype(graphc.float16)
    assert graphc.tensor([1.5]).dtype is graphc.float16
    assert graphc.ones(1).dtype is graphc.float16
    graphc.set_default_dtype(graphc.float64)
    assert graphc.tensor([1.5]).dtype is graphc.float64
    assert graphc.tensor([1, 2]).dtype is graphc.int64  # integers are unaffected
    assert graphc.Tensor(2).dtype is graphc.float64
    assert (graphc.tensor([1]) / 2).dtype is graphc.float64


@pytest.mark.parametrize("name", ["graphc.DoubleTensor", "torch.DoubleTensor"])
def test_set_default_tensor_type(name):
    try:
        graphc.set_default_tensor_type(name)
        assert graphc.get_default_dtype() is graphc.float64
        assert graphc.tensor([1.5]).dtype is graphc.float64
        assert graphc.Tensor(2).dtype is graphc.float64
        assert graphc.Tensor([1]).type() == "torch.DoubleTensor"
        assert graphc.FloatTensor(2).dtype is graphc.float32  # explicit types stay
        assert graphc.ones(2).dtype is graphc.float64
        graphc.set_default_tensor_type(graphc.FloatTensor)
        assert graphc.get_default_dtype() is graphc.float32
        with pytest.raises(TypeError, match="only floating-point types"):
            graphc.set_default_tensor_type("torch.LongTensor")
    finally:
        graphc.set_default_tensor_type("torch.FloatTensor")


def test_requires_grad_method_message_on_integers():
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require "
                                           "gradients"):
        graphc.tensor([1]).requires_grad_()


# ------------------------------------------------------------------ against torch


def _assert_same(ours, theirs, context):
    """graphc's tensor against torch's answer: the same dtype, shape and values (or, where torch
    raised, an error of the same type)."""
    if isinstance(theirs, oracle.Raised):
        raise AssertionError(f"{context}: torch raised {theirs!r}, graphc gave {ours}")
    assert str(ours.dtype) == theirs.dtype, context
    assert tuple(ours.shape) == theirs.shape, context
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=context)


def _assert_same_outcome(make, context):
    """make(lib) on graphc against torch: the same tensor, or the same type of error."""
    theirs = oracle.answer(context, make)
    if isinstance(theirs, oracle.Raised):
        with pytest.raises(theirs.type):
            make(graphc)
        return
    _assert_same(make(graphc), theirs, context)


RANGE_CASES = [(0, 1, 0.1), (-1, 1, 0.3), (1, 2.5, 0.5), (0, 10, 3), (10, 0, -3), (-1.5, 1.5, 0.7),
               (0, 0.3, 0.1), (0.5, 5.5, 1.5), (-2.5, 2, 1), (0, 2, 0.3), (3, 3, 1)]
SPACE_CASES = [(0, 1, 5), (-1, 1.3, 11), (0, 10, 4), (-10, 10, 4), (3, 1, 1), (0, 1, 0),
               (1e-3, 7.7, 13), (-5.5, 2.25, 8), (0, 100, 3), (2, -3, 7)]
RANGE_DTYPES = ["float16", "float32", "float64", "int64", "int32", "int16", "uint8"]


def test_arange_matches_torch():
    for start, end, step in RANGE_CASES:
        _assert_same_outcome(lambda lib: lib.arange(start, end, step), f"arange{start, end, step}")
        for name in RANGE_DTYPES:
            _assert_same_outcome(lambda lib: lib.arange(start, end, step, dtype=getattr(lib, name)),
                                 f"arange{start, end, step} {name}")


def test_linspace_and_logspace_match_torch():
    for start, end, steps in SPACE_CASES:
        _assert_same_outcome(lambda lib: lib.linspace(start, end, steps),
                             f"linspace{start, end, steps}")
        for name in RANGE_DTYPES:
            _assert_same_outcome(lambda lib: lib.linspace(start, end, steps,
                                                          dtype=getattr(lib, name)),
                                 f"linspace{start, end, steps} {name}")
        for base in (10.0, 2, 0.5):
            for name in ("float32", "float64"):
                def logspace(lib):
                    return lib.logspace(start / 4, end / 4, steps, base=base,
                                        dtype=None if name == "float32" else lib.float64)

                context = f"logspace{start / 4, end / 4, steps} base {base} {name}"
                ours, theirs = logspace(graphc), oracle.answer(context, logspace)
                assert str(ours.dtype) == theirs.dtype == f"torch.{name}", context
                assert_close(ours.numpy(), theirs.numpy(), name, context)


def test_dtype_inference_matches_torch():
    cases = [[1.0, 2.0], [1, 2], [True], [1, 2.5], [True, 2], [np.float32(1)], [np.int8(1), 2],
             [np.float16(1), 2.5], [np.float64(1), 2.0], 3, 2.5, True, np.int32(4), np.float16(1),
             [[1, 2], [3, 4]], [], [[], []]]
    for data in cases:
        def inferred(lib):
            tensor = lib.tensor(data)
            return str(tensor.dtype), tuple(tensor.shape)

        assert inferred(graphc) == oracle.answer(_label(data), inferred), data


def _label(data):
    """repr, with numpy scalars spelled the same way whatever numpy's version."""
    if isinstance(data, list):
        return "[" + ", ".join(_label(item) for item in data) + "]"
    if isinstance(data, np.generic):
        return f"np.{type(data).__name__}({data.item()!r})"
    return repr(data)
