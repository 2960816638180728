"""Linear algebra: products (mm, bmm, matmul, @, mv, dot, outer, addmm & co.), trace/diag/triu,
cross, inverse/det/svd, and the graphc.linalg namespace, checked against numpy and against the
errors torch raises (messages verified with torch 2.13)."""
import math
import pickle
import warnings

import numpy as np
import pytest

import graphc
import graphc.linalg
import oracle
from graphc.api import linalg as linalg_ops
from tolerances import assert_close

ALL_DTYPES = ["uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def arr(*shape, dtype="float32", seed=0):
    """Small deterministic values that are exact in every dtype (integers in [-2, 2], or [0, 4]
    for uint8)."""
    values = (np.arange(math.prod(shape)).reshape(shape) * 7 + seed) % 5
    if dtype != "uint8":
        values = values - 2
    return values.astype(dtype)


def well_conditioned(*batch_and_size, dtype="float64", seed=0):
    size = batch_and_size[-1]
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(batch_and_size + (size,)) + 4 * np.eye(size)).astype(dtype)


def t(array):
    return graphc.tensor(array)


def check(result, expected, dtype=None, rtol=1e-5, atol=1e-6):
    expected = np.asarray(expected)
    assert isinstance(result, graphc.Tensor)
    assert result.dtype == graphc.dtypes.from_numpy_dtype(dtype or expected.dtype)
    assert tuple(result.shape) == expected.shape
    np.testing.assert_allclose(result.numpy().astype(np.float64), expected.astype(np.float64),
                               rtol=rtol, atol=atol)


def raises(error, message, function, *args, **kwargs):
    with pytest.raises(error) as info:
        function(*args, **kwargs)
    assert str(info.value) == message, str(info.value)
    return info.value


# ------------------------------------------------------------------ matrix products


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_mm_bmm_mv_dot_keep_the_operands_dtype(dtype):
    a, b = arr(3, 4, dtype=dtype), arr(4, 2, dtype=dtype, seed=1)
    check(graphc.mm(t(a), t(b)), a @ b)
    batch1, batch2 = arr(2, 3, 4, dtype=dtype), arr(2, 4, 5, dtype=dtype, seed=3)
    check(graphc.bmm(t(batch1), t(batch2)), batch1 @ batch2)
    vector = arr(4, dtype=dtype, seed=2)
    check(graphc.mv(t(a), t(vector)), a @ vector)
    check(graphc.dot(t(vector), t(vector)), np.asarray(vector @ vector))
    check(graphc.vdot(t(vector), t(vector)), np.asarray(vector @ vector))
    check(t(a) @ t(b), a @ b)


def test_integer_products_wrap_around_like_torch():
    a = np.full((2, 3), 100, np.int8)
    assert graphc.mm(t(a), t(a.T.copy())).tolist() == [[48, 48], [48, 48]]  # 30000 mod 256


def test_half_products_accumulate_in_float():
    a = arr(5, 64, dtype="float16")
    b = arr(64, 3, dtype="float16", seed=1) / 8
    expected = (a.astype(np.float32) @ b.astype(np.float32)).astype(np.float16)
    check(graphc.mm(t(a), t(b)), expected, rtol=0, atol=0)


MATMUL_SHAPES = [
    ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3,)),
    ((3,), (5, 3, 2)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)),
    ((7, 1, 4, 2, 3), (5, 1, 3, 6)), ((4, 1, 2, 3), (4, 3, 6)), ((0, 2, 3), (1, 3, 2)),
    ((2, 0, 3), (3, 2)), ((2, 0), (0, 3)), ((3,), (2, 2, 3, 1)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_broadcasts_like_numpy(shapes):
    a, b = arr(*shapes[0]), arr(*shapes[1], seed=2)
    check(graphc.matmul(t(a), t(b)), np.asarray(a @ b))
    check(t(a) @ t(b), np.asarray(a @ b))
    check(t(a).matmul(t(b)), np.asarray(a @ b))
    check(graphc.linalg.matmul(t(a), t(b)), np.asarray(a @ b))


def test_matmul_of_views_and_out():
    a = arr(4, 3, 5)
    view = t(a).transpose(1, 2)  # a non-contiguous operand
    check(view @ t(arr(3, 2)), a.transpose(0, 2, 1) @ arr(3, 2))
    out = graphc.empty(2, 2)
    result = graphc.matmul(t(arr(2, 3)), t(arr(3, 2)), out=out)
    assert result is out
    check(out, arr(2, 3) @ arr(3, 2))


def test_rmatmul_and_operator_with_non_tensors():
    a, b = arr(2, 3), arr(4, 2)
    check(t(a).__rmatmul__(t(b)), b @ a)
    assert t(a).__matmul__(3) is NotImplemented
    assert t(a).__rmatmul__(3) is NotImplemented
    with pytest.raises(TypeError, match="unsupported operand type"):
        t(a) @ 3
    with pytest.raises(TypeError, match="unsupported operand type"):
        3 @ t(a)
    x = t(arr(2, 2))
    x @= t(arr(2, 2, seed=1))  # torch has no __imatmul__: Python rebinds to a new tensor
    check(x, arr(2, 2) @ arr(2, 2, seed=1))


MATMUL_ERRORS = [
    (((), "float32"), ((3,), "float32"), RuntimeError,
     "both arguments to matmul need to be at least 1D, but they are 0D and 1D"),
    (((3,), "float32"), ((4,), "float32"), RuntimeError,
     "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of "
     "elements, but got 3 and 4 elements respectively"),
    (((3,), "float32"), ((4, 2), "float32"), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (1x3 and 4x2)"),
    (((2, 3), "float32"), ((4,), "float32"), RuntimeError,
     "size mismatch, got input (2), mat (2x3), vec (4)"),
    (((2, 3), "float32"), ((4, 2), "float32"), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x2)"),
    (((5, 2, 3), "float32"), ((4,), "float32"), RuntimeError,
     "size mismatch, got input (10), mat (10x3), vec (4)"),
    (((4,), "float32"), ((5, 3, 2), "float32"), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [5, 4] but got: [5, 3]."),
    (((5, 2, 2, 3), "float32"), ((4, 3, 2), "float32"), RuntimeError,
     "The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 1"),
    (((5, 2, 3), "float32"), ((4, 2), "float32"), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (10x3 and 4x2)"),
    (((2, 3), "float32"), ((5, 2, 4, 2), "float32"), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [10, 3] but got: [10, 4]."),
    (((3,), "float32"), ((3,), "float64"), RuntimeError,
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    (((2, 3), "float32"), ((3, 2), "float64"), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    (((5, 2, 3), "float32"), ((5, 3, 2), "float64"), RuntimeError,
     "expected scalar type Float but found Double"),
    (((5, 2, 3), "float32"), ((3,), "float64"), RuntimeError,
     "addmv input tensors must have the same dtype, but got Double, Float, and Double"),
    (((3,), "float64"), ((3, 2), "float32"), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: double != float"),
    (((2, 3), "float32"), ((5, 3, 2), "float64"), RuntimeError,
     "expected scalar type Float but found Double"),
    (((3,), "bool"), ((3,), "bool"), NotImplementedError, "\"dot\" not implemented for 'Bool'"),
    (((2, 3), "bool"), ((3, 2), "bool"), NotImplementedError,
     "\"addmm_impl_cpu_\" not implemented for 'Bool'"),
    (((2, 3), "bool"), ((3,), "bool"), NotImplementedError,
     "\"addmv_impl_cpu\" not implemented for 'Bool'"),
    (((2, 2, 3), "bool"), ((2, 3, 2), "bool"), NotImplementedError,
     "\"bmm\" not implemented for 'Bool'"),
]


@pytest.mark.parametrize("first, second, error, message", MATMUL_ERRORS,
                         ids=[m for *_, m in MATMUL_ERRORS])
def test_matmul_errors_name_the_kernel_torch_dispatches_to(first, second, error, message):
    a = t(np.ones(first[0], dtype=first[1]))
    b = t(np.ones(second[0], dtype=second[1]))
    raises(error, message, graphc.matmul, a, b)
    raises(error, message, lambda: a @ b)


def test_matmul_error_depends_on_whether_torch_folds_the_batch():
    permuted = t(np.ones((5, 3, 2), np.float32)).mT  # not foldable: torch runs bmm
    raises(RuntimeError, "Expected size for first two dimensions of batch2 tensor to be: [5, 3] "
           "but got: [5, 4].", graphc.matmul, permuted, graphc.ones(4, 2))


def test_matmul_rejects_non_tensors_like_torch():
    raises(TypeError, "matmul(): argument 'other' (position 2) must be Tensor, not list",
           graphc.matmul, graphc.ones(2, 3), [1, 2, 3])
    raises(TypeError, "mm(): argument 'input' (position 1) must be Tensor, not int",
           graphc.mm, 3, graphc.ones(2, 3))
    raises(TypeError, "dot(): argument 'tensor' (position 2) must be Tensor, not int",
           graphc.dot, graphc.ones(3), 3)


@pytest.mark.parametrize("call, error, message", [
    (lambda: graphc.mm(graphc.ones(3), graphc.ones(3, 2)), RuntimeError, "self must be a matrix"),
    (lambda: graphc.mm(graphc.ones(2, 3), graphc.ones(3)), RuntimeError, "mat2 must be a matrix"),
    (lambda: graphc.mm(graphc.ones(2, 3), graphc.ones(4, 5)), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    (lambda: graphc.mm(graphc.ones(2, 3), graphc.ones(3, 2, dtype=graphc.float64)), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    (lambda: graphc.mm(graphc.ones(2, 3, dtype=graphc.float16), graphc.ones(3, 2)), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: c10::Half != float"),
    (lambda: graphc.mm(graphc.ones(2, 3, dtype=graphc.int64), graphc.ones(3, 2)), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: long int != float"),
    (lambda: graphc.mm(graphc.ones(2, 3, dtype=graphc.uint8), graphc.ones(3, 2, dtype=graphc.int8)),
     RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: unsigned char != signed char"),
    (lambda: graphc.mm(graphc.ones(2, 3, dtype=graphc.bool), graphc.ones(4, 2, dtype=graphc.bool)),
     RuntimeError, "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x2)"),
    (lambda: graphc.bmm(graphc.ones(2, 3), graphc.ones(3, 2)), RuntimeError,
     "batch1 must be a 3D tensor"),
    (lambda: graphc.bmm(graphc.ones(2, 2, 3), graphc.ones(3, 3, 2)), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [3, 3]."),
    (lambda: graphc.bmm(graphc.ones(1, 2, 3, dtype=graphc.int16), graphc.ones(1, 3, 2)),
     RuntimeError, "expected scalar type Short but found Float"),
    (lambda: graphc.bmm(graphc.ones(1, 2, 3, dtype=graphc.bool), graphc.ones(1, 3, 2)),
     NotImplementedError, "\"bmm\" not implemented for 'Bool'"),
    (lambda: graphc.mv(graphc.ones(2, 3), graphc.ones(3, 1)), RuntimeError,
     "vector + matrix @ vector expected, got 1, 2, 2"),
    (lambda: graphc.mv(graphc.ones(2, 3, dtype=graphc.float64), graphc.ones(3)), RuntimeError,
     "addmv input tensors must have the same dtype, but got Float, Double, and Float"),
    (lambda: graphc.dot(graphc.ones(3, 1), graphc.ones(3)), RuntimeError,
     "1D tensors expected, but got 2D and 1D tensors"),
    (lambda: graphc.outer(graphc.ones(3, 1), graphc.ones(2)), RuntimeError,
     "outer: Expected 1-D argument self, but got 2-D"),
    (lambda: graphc.ger(graphc.ones(3), graphc.ones(2, 1)), RuntimeError,
     "outer: Expected 1-D argument vec2, but got 2-D"),
])
def test_product_errors(call, error, message):
    raises(error, message, call)


def test_outer_promotes_like_an_elementwise_product():
    a, b = arr(3, dtype="int32"), arr(2, dtype="int64", seed=1)
    check(graphc.outer(t(a), t(b)), np.outer(a, b).astype(np.int64))
    check(graphc.ger(t(a), t(b.astype(np.float32))), np.outer(a, b).astype(np.float32))
    truth = np.array([True, False, True])
    check(graphc.outer(t(truth), t(truth[:2])), np.outer(truth, truth[:2]))
    check(t(a).outer(t(a)), np.outer(a, a).astype(np.int32))


# ------------------------------------------------------------------ scaled products


def test_addmm_addmv_addbmm_baddbmm_addr_match_their_formulas():
    c, m1, m2 = arr(2, 4), arr(2, 3, seed=1), arr(3, 4, seed=2)
    check(graphc.addmm(t(c), t(m1), t(m2), beta=2, alpha=3), 2 * c + 3 * (m1 @ m2))
    check(graphc.addmm(t(c[0]), t(m1), t(m2)), c[0] + m1 @ m2)  # input broadcasts
    v, mat, vec = arr(2), arr(2, 3, seed=1), arr(3, seed=2)
    check(graphc.addmv(t(v), t(mat), t(vec), beta=2, alpha=3), 2 * v + 3 * (mat @ vec))
    check(graphc.addmv(graphc.tensor(1.5), t(mat), t(vec)), 1.5 + mat @ vec)
    b1, b2 = arr(4, 2, 3, seed=1), arr(4, 3, 5, seed=2)
    check(graphc.addbmm(t(arr(2, 5)), t(b1), t(b2), beta=2, alpha=3),
          2 * arr(2, 5) + 3 * (b1 @ b2).sum(0))
    check(graphc.baddbmm(t(arr(4, 2, 5)), t(b1), t(b2), beta=2, alpha=3),
          2 * arr(4, 2, 5) + 3 * (b1 @ b2))
    check(graphc.addr(t(arr(3, 2)), t(arr(3)), t(arr(2, seed=1)), beta=2, alpha=3),
          2 * arr(3, 2) + 3 * np.outer(arr(3), arr(2, seed=1)))
    check(graphc.addbmm(t(arr(2, 2)), graphc.ones(0, 2, 3), graphc.ones(0, 3, 2)), arr(2, 2))


def test_scaled_products_on_integers_truncate_beta_and_alpha():
    c, m1, m2 = arr(2, 2, dtype="int64"), arr(2, 3, dtype="int64"), arr(3, 2, dtype="int64")
    check(graphc.addmm(t(c), t(m1), t(m2), beta=1.7, alpha=2.9), c + 2 * (m1 @ m2))
    raises(RuntimeError, "For integral input tensors, argument beta must not be a floating point "
           "number.", graphc.addr, t(c), t(m1[0, :2]), t(m2[0]), beta=0.5)


def test_beta_zero_ignores_nan_in_the_input():
    nan2 = np.full((2, 2), np.nan, np.float32)
    m1, m2 = arr(2, 3), arr(3, 2, seed=1)
    check(graphc.addmm(t(nan2), t(m1), t(m2), beta=0), m1 @ m2)
    check(graphc.addmv(t(nan2[0]), t(m1), t(m2[:, 0]), beta=0), m1 @ m2[:, 0])
    check(graphc.baddbmm(t(nan2), t(m1[None]), t(m2[None]), beta=0), (m1 @ m2)[None])
    check(graphc.addr(t(nan2), t(m1[:, 0]), t(m2[0]), beta=0), np.outer(m1[:, 0], m2[0]))
    # addmm also skips the product when alpha == 0; baddbmm does not
    check(graphc.addmm(t(arr(2, 2)), t(np.full((2, 3), np.nan, np.float32)), t(m2), alpha=0),
          arr(2, 2))
    assert graphc.baddbmm(t(arr(2, 2)), t(np.full((1, 2, 3), np.nan, np.float32)),
                          t(m2[None]), alpha=0).isnan().all()


def test_in_place_scaled_products():
    x = t(arr(2, 4))
    assert x.addmm_(t(arr(2, 3)), t(arr(3, 4))) is x
    check(x, arr(2, 4) + arr(2, 3) @ arr(3, 4))
    y = t(arr(2))
    y.addmv_(t(arr(2, 3)), t(arr(3)), alpha=2)
    check(y, arr(2) + 2 * (arr(2, 3) @ arr(3)))
    z = t(arr(2, 2))
    z.addbmm_(t(arr(4, 2, 3)), t(arr(4, 3, 2)))
    check(z, arr(2, 2) + (arr(4, 2, 3) @ arr(4, 3, 2)).sum(0))
    w = t(arr(4, 2, 2))
    w.baddbmm_(t(arr(4, 2, 3)), t(arr(4, 3, 2)))
    check(w, arr(4, 2, 2) + arr(4, 2, 3) @ arr(4, 3, 2))
    r = t(arr(3, 2))
    r.addr_(t(arr(3, dtype="float64")), t(arr(2)))
    check(r, arr(3, 2) + np.outer(arr(3), arr(2)))
    raises(RuntimeError, "Bad in-place call: input tensor size [2] and output tensor size [2, 2] "
           "should match", graphc.ones(2).addmm_, graphc.ones(2, 3), graphc.ones(3, 2))
    raises(RuntimeError, "result type Float can't be cast to the desired output type Long",
           graphc.ones(3, 2, dtype=graphc.int64).addr_, graphc.ones(3), graphc.ones(2))


@pytest.mark.parametrize("call, error, message", [
    (lambda: graphc.addmm(graphc.ones(2, 2, dtype=graphc.float64), graphc.ones(2, 3),
                          graphc.ones(3, 2)),
     RuntimeError, "self and mat2 must have the same dtype, but got Double and Float"),
    (lambda: graphc.addmm(graphc.ones(2, 2), graphc.ones(2, 3, dtype=graphc.float64),
                          graphc.ones(3, 2)),
     RuntimeError, "mat1 and mat2 must have the same dtype, but got Double and Float"),
    (lambda: graphc.addmm(graphc.ones(2, 2), graphc.ones(3), graphc.ones(3, 2)),
     RuntimeError, "mat1 must be a matrix, got 1-D tensor"),
    (lambda: graphc.addmm(graphc.ones(3), graphc.ones(2, 3), graphc.ones(3, 2)),
     RuntimeError, "The expanded size of the tensor (2) must match the existing size (3) at "
     "non-singleton dimension 1.  Target sizes: [2, 2].  Tensor sizes: [3]"),
    (lambda: graphc.addmm(*(graphc.ones(*s, dtype=graphc.bool) for s in ((2, 2), (2, 3), (3, 2)))),
     NotImplementedError, "\"addmm_impl_cpu_\" not implemented for 'Bool'"),
    (lambda: graphc.addmv(graphc.ones(3), graphc.ones(2, 3), graphc.ones(3)),
     RuntimeError, "size mismatch, got input (3), mat (2x3), vec (3)"),
    (lambda: graphc.addmv(graphc.ones(2, 2), graphc.ones(2, 3), graphc.ones(3)),
     RuntimeError, "vector + matrix @ vector expected, got 2, 2, 1"),
    (lambda: graphc.addmv(graphc.ones(2), graphc.ones(2, 3), graphc.ones(3, dtype=graphc.float64)),
     RuntimeError,
     "addmv input tensors must have the same dtype, but got Float, Float, and Double"),
    (lambda: graphc.addbmm(graphc.ones(2, 2), graphc.ones(4, 2, 3), graphc.ones(3, 3, 2)),
     RuntimeError, "batch1 and batch2 must have same number of batches, got 4 and 3"),
    (lambda: graphc.addbmm(graphc.ones(2, 2), graphc.ones(4, 2, 3), graphc.ones(4, 4, 2)),
     RuntimeError, "Incompatible matrix sizes for bmm (2x3 and 4x2)"),
    (lambda: graphc.addbmm(graphc.ones(2, 2), graphc.ones(4, 2, 3), graphc.ones(2, 3)),
     IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda: graphc.baddbmm(graphc.ones(4, 2, 2, dtype=graphc.float64), graphc.ones(4, 2, 3),
                            graphc.ones(4, 3, 2)),
     RuntimeError,
     "Input dtypes must be the same, got: input double, batch1: float, batch2: float"),
    (lambda: graphc.baddbmm(graphc.ones(4, 2, 2), graphc.ones(4, 2, 3),
                            graphc.ones(4, 3, 2, dtype=graphc.float64)),
     RuntimeError, "expected scalar type Float but found Double"),
    (lambda: graphc.baddbmm(*(graphc.ones(*s, dtype=graphc.bool)
                              for s in ((4, 2, 2), (4, 2, 3), (4, 3, 2)))),
     NotImplementedError, "\"baddbmm\" not implemented for 'Bool'"),
    (lambda: graphc.addr(graphc.ones(3, 2), graphc.ones(3, 1), graphc.ones(2)),
     RuntimeError, "addr: Expected 1-D argument vec1, but got 2-D"),
])
def test_scaled_product_errors(call, error, message):
    raises(error, message, call)


# ------------------------------------------------------------------ trace, diag, triangles


@pytest.mark.parametrize("dtype, result", [("int8", "int64"), ("uint8", "int64"),
                                           ("int32", "int64"), ("int64", "int64"),
                                           ("float16", "float16"), ("float32", "float32"),
                                           ("float64", "float64")])
def test_trace_sums_the_diagonal_of_integers_in_int64(dtype, result):
    a = arr(3, 4, dtype=dtype)
    check(graphc.trace(t(a)), np.asarray(np.trace(a.astype(np.float64)), dtype=result))
    check(t(a).trace(), np.asarray(np.trace(a.astype(np.float64)), dtype=result))


def test_trace_errors_and_overflow():
    raises(RuntimeError, "trace: expected a matrix, but got tensor with dim 1", graphc.trace,
           graphc.ones(3))
    raises(NotImplementedError, "\"trace\" not implemented for 'Bool'", graphc.trace,
           graphc.ones(3, 3, dtype=graphc.bool))
    assert graphc.trace(graphc.full((3, 3), 100, dtype=graphc.int8)).item() == 300
    assert graphc.trace(graphc.zeros(0, 3, dtype=graphc.int32)).dtype == graphc.int64


@pytest.mark.parametrize("offset", [0, 1, -2, 5, -5])
def test_diag_of_vectors_and_matrices(offset):
    vector, matrix = arr(3, dtype="int64"), arr(3, 4, dtype="int64")
    check(graphc.diag(t(vector), offset), np.diag(vector, offset))
    result = graphc.diag(t(matrix), offset)
    check(result, np.diag(matrix, offset))
    assert result._base is None and result.is_contiguous()  # a copy, as in torch


def test_diag_and_diag_embed_details():
    check(graphc.diag(t(np.array([True, False]))), np.diag([True, False]))
    check(graphc.diag(graphc.zeros(0), 2), np.zeros((2, 2), np.float32))
    raises(RuntimeError, "diag(): Supports 1D or 2D tensors. Got 3D", graphc.diag,
           graphc.ones(2, 2, 2))
    raises(TypeError, "diag(): argument 'diagonal' (position 2) must be int, not float",
           graphc.diag, graphc.ones(3), 1.5)
    batch = arr(2, 3, dtype="int64")
    expected = np.zeros((2, 4, 4), np.int64)
    for i in range(3):
        expected[:, i, i + 1] = batch[:, i]
    check(graphc.diag_embed(t(batch), 1), expected)
    check(graphc.diag_embed(t(batch), -1, 0, 2), np.moveaxis(
        np.stack([np.diag(row, -1) for row in batch]), 0, 1))
    raises(RuntimeError, "diagonal dimensions cannot be identical 0, 0", graphc.diag_embed,
           t(batch), 0, 0, 0)
    embedded = graphc.diag_embed(t(arr(2, 3, 4)), 1, -1, 1)
    assert graphc.diagonal(embedded, 1, -1, 1).tolist() == t(arr(2, 3, 4)).tolist()


@pytest.mark.parametrize("diagonal", [0, 1, -1, 10, -10])
def test_triu_tril_batched_with_offsets(diagonal):
    a = arr(2, 3, 4)
    check(graphc.triu(t(a), diagonal), np.triu(a, diagonal))
    check(graphc.tril(t(a), diagonal=diagonal), np.tril(a, diagonal))
    in_place = t(a)
    assert in_place.triu_(diagonal) is in_place
    check(in_place, np.triu(a, diagonal))
    transposed = t(a).transpose(1, 2)
    transposed.tril_(diagonal)
    check(transposed, np.tril(a.transpose(0, 2, 1), diagonal))


def test_triangles_keep_bool_and_refuse_vectors():
    truth = np.ones((3, 3), bool)
    check(graphc.tril(t(truth)), np.tril(truth))
    raises(RuntimeError, "tril: input tensor must have at least 2 dimensions", graphc.tril,
           graphc.ones(3))
    raises(RuntimeError, "tril: input tensor must have at least 2 dimensions",
           graphc.ones(3).tril_, 1)
    raises(TypeError, "triu(): argument 'diagonal' (position 2) must be int, not bool",
           graphc.triu, graphc.ones(3, 3), True)


# ------------------------------------------------------------------ cross


def test_cross_products_along_a_dim():
    a, b = arr(3, 4), arr(3, 4, seed=3)
    check(graphc.cross(t(a), t(b), dim=0), np.cross(a, b, axis=0))
    check(graphc.linalg.cross(t(a.T.copy()), t(b.T.copy())), np.cross(a.T, b.T))
    check(graphc.linalg.cross(t(arr(2, 1, 3)), t(arr(1, 4, 3, seed=1))),
          np.cross(arr(2, 1, 3), arr(1, 4, 3, seed=1)))
    ints = np.array([1, 2, 3]), np.array([4, 5, 6])
    check(graphc.cross(t(ints[0]), t(ints[1]), dim=0), np.cross(*ints))
    check(t(arr(2, 3, 5)).cross(t(arr(2, 3, 5, seed=1)), 1),
          np.cross(arr(2, 3, 5), arr(2, 3, 5, seed=1), axis=1))


def test_cross_without_dim_uses_the_first_dim_of_size_3_and_warns_once(monkeypatch):
    monkeypatch.setattr(linalg_ops, "_cross_dim_warned", [False])
    a, b = arr(3, 3), arr(3, 3, seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check(graphc.cross(t(a), t(b)), np.cross(a, b, axis=0))
        check(graphc.cross(t(a[:1]), t(b)), np.cross(a[:1], b, axis=1))
    assert len(caught) == 1 and caught[0].category is UserWarning
    assert str(caught[0].message).startswith(
        "Using torch.cross without specifying the dim arg is deprecated.")
    raises(RuntimeError, "no dimension of size 3 in input", graphc.cross, graphc.ones(2, 4),
           graphc.ones(2, 4))
    raises(RuntimeError, "linalg.cross: inputs dimension 0 must have length 3. Got 3 and 1",
           graphc.cross, t(b), t(a[:1]))


@pytest.mark.parametrize("call, error, message", [
    (lambda: graphc.linalg.cross(graphc.ones(3, 4), graphc.ones(3, 4)), RuntimeError,
     "linalg.cross: inputs dimension -1 must have length 3. Got 4 and 4"),
    (lambda: graphc.linalg.cross(graphc.ones(3), graphc.ones(2, 3)), RuntimeError,
     "linalg.cross: inputs must have the same number of dimensions."),
    (lambda: graphc.linalg.cross(graphc.ones(2, 3), graphc.ones(3, 3)), RuntimeError,
     "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0"),
    (lambda: graphc.linalg.cross(graphc.ones(3, 3), graphc.ones(3, 3), dim=5), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 5)"),
    (lambda: graphc.cross(graphc.ones(3, dtype=graphc.int64), graphc.ones(3), dim=0),
     RuntimeError, "expected scalar type Long but found Float"),
    (lambda: graphc.cross(graphc.ones(3, dtype=graphc.bool), graphc.ones(3, dtype=graphc.bool),
                          dim=0),
     NotImplementedError, "\"cross\" not implemented for 'Bool'"),
])
def test_cross_errors(call, error, message):
    raises(error, message, call)


# ------------------------------------------------------------------ inverse, det, svd


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inverse_and_determinants_match_numpy(dtype):
    a = well_conditioned(3, 4, dtype=dtype)
    rtol = 1e-4 if dtype == "float32" else 1e-10
    check(graphc.inverse(t(a)), np.linalg.inv(a), rtol=rtol, atol=rtol)
    check(graphc.linalg.inv(t(a[0])), np.linalg.inv(a[0]), rtol=rtol, atol=rtol)
    check(graphc.det(t(a)), np.linalg.det(a), rtol=rtol)
    check(t(a[0]).det(), np.asarray(np.linalg.det(a[0])), rtol=rtol)
    sign, logabsdet = np.linalg.slogdet(a - 5 * np.eye(4, dtype=dtype))
    result = graphc.slogdet(t(a - 5 * np.eye(4, dtype=dtype)))
    check(result.sign, sign)
    check(result.logabsdet, logabsdet, rtol=rtol)
    check(graphc.logdet(t(a - 5 * np.eye(4, dtype=dtype))),
          np.where(sign < 0, np.nan, logabsdet), rtol=rtol)
    assert type(graphc.linalg.slogdet(t(a))).__name__ == "linalg_slogdet"
    assert type(graphc.slogdet(t(a))).__name__ == "slogdet"


def test_determinant_edge_cases():
    check(graphc.det(graphc.zeros(2, 0, 0)), np.ones(2, np.float32))
    check(graphc.inverse(graphc.zeros(2, 0, 0)), np.zeros((2, 0, 0), np.float32))
    assert graphc.det(t(np.array([[1., 2], [2, 4]], np.float32))).item() == 0
    assert graphc.logdet(graphc.zeros(2, 2)).item() == -math.inf


@pytest.mark.parametrize("matrix, message", [
    (np.array([[1., 2], [2, 4]]), "linalg.inv: The diagonal element 2 is zero, the inversion "
     "could not be completed because the input matrix is singular."),
    (np.array([[1., 1, 1], [1, 1, 1], [1, 2, 3]]), "linalg.inv: The diagonal element 3 is zero, "
     "the inversion could not be completed because the input matrix is singular."),
    (np.stack([np.eye(2), np.zeros((2, 2))]), "linalg.inv: (Batch element 1): The diagonal "
     "element 1 is zero, the inversion could not be completed because the input matrix is "
     "singular."),
])
def test_singular_inverse_raises_linalg_error(matrix, message):
    for dtype in ("float32", "float64"):
        error = raises(graphc.linalg.LinAlgError, message, graphc.inverse,
                       t(matrix.astype(dtype)))
        assert isinstance(error, RuntimeError)


@pytest.mark.parametrize("call, error, message", [
    (lambda: graphc.inverse(graphc.tensor([[1, 2], [3, 4]])), RuntimeError,
     "linalg.inv: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: graphc.inverse(graphc.ones(2, 2, dtype=graphc.float16)), RuntimeError,
     "linalg.inv: Low precision dtypes not supported. Got Half"),
    (lambda: graphc.inverse(graphc.ones(2, 3)), RuntimeError,
     "linalg.inv: A must be batches of square matrices, but they are 2 by 3 matrices"),
    (lambda: graphc.inverse(graphc.ones(3)), RuntimeError,
     "linalg.inv: The input tensor A must have at least 2 dimensions."),
    (lambda: graphc.det(graphc.ones(2, 2, dtype=graphc.float16)), NotImplementedError,
     "\"lu_cpu\" not implemented for 'Half'"),
    (lambda: graphc.det(graphc.ones(2, 2, dtype=graphc.int64)), RuntimeError,
     "linalg.det: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: graphc.logdet(graphc.ones(2, 3)), RuntimeError,
     "logdet: A must be batches of square matrices, but they are 2 by 3 matrices"),
    (lambda: graphc.slogdet(graphc.ones(2, 2, dtype=graphc.float16)), RuntimeError,
     "linalg.slogdet: Low precision dtypes not supported. Got Half"),
    (lambda: graphc.svd(graphc.ones(3)), RuntimeError,
     "linalg.svd: input should have at least 2 dimensions, but has 1 dimensions instead"),
    (lambda: graphc.linalg.svd(graphc.ones(3)), RuntimeError,
     "linalg.svd: The input tensor A must have at least 2 dimensions."),
    (lambda: graphc.svd(graphc.ones(2, 2, dtype=graphc.int64)), RuntimeError,
     "linalg.svd: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: graphc.linalg.svdvals(graphc.ones(2, 2, dtype=graphc.float16)), NotImplementedError,
     "\"linalg_svd_cpu\" not implemented for 'Half'"),
])
def test_decomposition_input_errors(call, error, message):
    raises(error, message, call)


@pytest.mark.parametrize("shape", [(2, 3), (3, 2), (4, 2, 3), (3, 3)])
def test_svd_returns_v_and_linalg_svd_returns_vh(shape):
    a = arr(*shape) + np.eye(*shape[-2:], dtype=np.float32)
    U, S, V = graphc.svd(t(a))
    k = min(shape[-2:])
    assert U.shape == shape[:-1] + (k,) and S.shape == shape[:-2] + (k,)
    assert V.shape == shape[:-2] + (shape[-1], k) and V.is_contiguous()
    np.testing.assert_allclose(S.numpy(), np.linalg.svd(a, compute_uv=False), rtol=1e-5)
    reconstructed = U.numpy() @ (S.numpy()[..., None] * np.swapaxes(V.numpy(), -1, -2))
    np.testing.assert_allclose(reconstructed, a, atol=1e-5)
    full = graphc.svd(t(a), some=False)
    assert full.U.shape[-2:] == (shape[-2],) * 2 and full.V.shape[-2:] == (shape[-1],) * 2
    result = graphc.linalg.svd(t(a))
    assert type(result).__name__ == "linalg_svd" and result.Vh.shape[-2:] == (shape[-1],) * 2
    reduced = graphc.linalg.svd(t(a), full_matrices=False)
    np.testing.assert_allclose(
        reduced.U.numpy() @ (reduced.S.numpy()[..., None] * reduced.Vh.numpy()), a, atol=1e-5)
    check(graphc.linalg.svdvals(t(a)), np.linalg.svd(a, compute_uv=False), rtol=1e-5)


def test_svd_without_uv_gives_zero_matrices():
    U, S, V = graphc.svd(t(arr(2, 3)), compute_uv=False)
    check(U, np.zeros((2, 2), np.float32))
    check(V, np.zeros((3, 3), np.float32))
    check(S, np.linalg.svd(arr(2, 3), compute_uv=False), rtol=1e-5)
    empty = graphc.svd(graphc.ones(3, 0), some=False)
    check(empty.U.abs(), np.eye(3, dtype=np.float32))
    assert empty.S.shape == (0,) and empty.V.shape == (0, 0)


def test_return_types_are_named_tuples_that_print_like_torch():
    result = graphc.svd(t(np.diag([2.0, 1.0]).astype(np.float32)))
    assert isinstance(result, tuple) and len(result) == 3
    assert type(result).__module__ == "torch.return_types" and type(result).__name__ == "svd"
    assert result.S is result[1]
    text = repr(result)
    assert text.startswith("torch.return_types.svd(\nU=tensor(")
    assert "),\nS=tensor([2., 1.])" in text
    assert str(result) == text
    copy = pickle.loads(pickle.dumps(result))
    assert type(copy) is type(result) and copy.S.tolist() == [2.0, 1.0]


def test_matrix_power_and_multi_dot():
    a = arr(3, 3) / 2
    check(graphc.matrix_power(t(a), 5), np.linalg.matrix_power(a, 5), rtol=1e-4)
    check(graphc.matrix_power(t(arr(2, 3, 3, dtype="int64")), 0),
          np.broadcast_to(np.eye(3, dtype=np.int64), (2, 3, 3)))
    spd = well_conditioned(3, dtype="float64")
    check(graphc.linalg.matrix_power(t(spd), -2), np.linalg.matrix_power(spd, -2), rtol=1e-10)
    raises(TypeError, "matrix_power(): argument 'n' (position 2) must be int, not float",
           graphc.matrix_power, graphc.ones(2, 2), 1.0)
    chain = [arr(3), arr(3, 4), arr(4, 2), arr(2)]
    check(graphc.linalg.multi_dot([t(x) for x in chain]),
          np.asarray(np.linalg.multi_dot(chain)))
    raises(RuntimeError, "multi_dot(): tensors 1 and 2 with shapes [3, 4] and [5] cannot be "
           "multiplied", graphc.linalg.multi_dot, [graphc.ones(2, 3), graphc.ones(3, 4),
                                                   graphc.ones(5)])


# ------------------------------------------------------------------ graphc.linalg: norms


VECTOR_ORDS = [2, 1, 3, 0.5, -1, -2.5, 0, math.inf, -math.inf]


@pytest.mark.parametrize("ord", VECTOR_ORDS)
def test_vector_norm_matches_numpy(ord):
    a = arr(2, 3, 4, seed=1) + 0.5
    def numpy_norm(axis, keepdims=False):
        flat_axis = None if axis is None else axis
        if ord == 0:
            return np.sum(a != 0, axis=flat_axis, keepdims=keepdims).astype(np.float32)
        if ord in (math.inf, -math.inf):
            reduce = np.max if ord > 0 else np.min
            return reduce(np.abs(a), axis=flat_axis, keepdims=keepdims)
        return np.sum(np.abs(a) ** ord, axis=flat_axis, keepdims=keepdims) ** (1 / ord)
    check(graphc.linalg.vector_norm(t(a), ord), np.asarray(numpy_norm(None)), rtol=1e-5)
    check(graphc.linalg.vector_norm(t(a), ord, dim=1), numpy_norm(1), rtol=1e-5)
    check(graphc.linalg.vector_norm(t(a), ord, dim=(0, 2), keepdim=True),
          numpy_norm((0, 2), True), rtol=1e-5)
    check(graphc.linalg.norm(t(a), ord, dim=-1), numpy_norm(-1), rtol=1e-5)


def test_vector_norm_dtypes_and_edge_cases():
    a = arr(2, 3)
    check(graphc.linalg.vector_norm(t(a), dtype=graphc.float64),
          np.asarray(np.linalg.norm(a.astype(np.float64))))
    half = graphc.linalg.vector_norm(graphc.ones(3, dtype=graphc.float16))
    assert half.dtype == graphc.float16 and half.item() == np.float16(math.sqrt(3))
    check(graphc.linalg.vector_norm(graphc.ones(0)), np.asarray(0, np.float32))
    check(graphc.linalg.vector_norm(graphc.tensor(-5.0), dim=0), np.asarray(5, np.float32))
    check(graphc.linalg.vector_norm(graphc.ones(0, 3), math.inf, dim=1), np.zeros(0, np.float32))
    check(graphc.linalg.vector_norm(t(np.array([0.0, 1.0], np.float32)), -1),
          np.asarray(0, np.float32))
    check(graphc.linalg.vector_norm(t(a), graphc.tensor(2.0)), np.asarray(np.linalg.norm(a)))


@pytest.mark.parametrize("call, error, message", [
    (lambda: graphc.linalg.vector_norm(graphc.arange(3)), RuntimeError,
     "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: graphc.linalg.vector_norm(graphc.ones(2, 3), 2, dim=(1, 1)), RuntimeError,
     "dim 1 appears multiple times in the list of dims"),
    (lambda: graphc.linalg.vector_norm(graphc.ones(2, 3), 2, dim=3), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 3)"),
    (lambda: graphc.linalg.vector_norm(graphc.ones(2, 3), dtype=graphc.float16), RuntimeError,
     "linalg.vector_norm: the dtype of the input (Float) should be convertible without "
     "narrowing to the specified dtype (Half)"),
    (lambda: graphc.linalg.vector_norm(graphc.ones(2, 3), dtype=graphc.int64), RuntimeError,
     "linalg.vector_norm: dtype should be floating point or complex, but got Long"),
    (lambda: graphc.linalg.vector_norm(graphc.ones(0), math.inf), RuntimeError,
     "linalg.vector_norm cannot compute the inf norm on an empty tensor because the operation "
     "does not have an identity"),
    (lambda: graphc.linalg.vector_norm(graphc.ones(0, 3), -1, dim=(0, 1)), RuntimeError,
     "linalg.vector_norm cannot compute the -1 norm on the dimension 0because this dimension is "
     "empty and the operation does not have an identity"),
    (lambda: graphc.linalg.vector_norm(graphc.ones(2, 3), "fro"), TypeError,
     "linalg_vector_norm(): argument 'ord' (position 2) must be Number, not str"),
])
def test_vector_norm_errors(call, error, message):
    raises(error, message, call)


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf])
def test_matrix_norm_matches_numpy(ord):
    a = arr(2, 3, 4, seed=1) + 0.25
    check(graphc.linalg.matrix_norm(t(a), ord), np.linalg.norm(a, ord, axis=(-2, -1)), rtol=1e-5)
    check(graphc.linalg.matrix_norm(t(a), ord, dim=(2, 0), keepdim=True),
          np.linalg.norm(a, ord, axis=(2, 0), keepdims=True), rtol=1e-5)
    check(graphc.linalg.norm(t(a[0]), ord), np.asarray(np.linalg.norm(a[0], ord)), rtol=1e-5)
    check(graphc.linalg.norm(t(a), ord, dim=(0, 1)), np.linalg.norm(a, ord, axis=(0, 1)),
          rtol=1e-5)


def test_matrix_norms_of_empty_matrices_follow_torch():
    for ord in (1, 2, math.inf, "nuc", "fro", -1):
        check(graphc.linalg.matrix_norm(graphc.ones(0, 3), ord), np.asarray(0, np.float32))
    raises(IndexError, "amin(): Expected reduction dim 0 to have non-zero size.",
           graphc.linalg.matrix_norm, graphc.ones(3, 0), -1)
    raises(IndexError, "amin(): Expected reduction dim -1 to have non-zero size.",
           graphc.linalg.matrix_norm, graphc.ones(3, 0), -2)
    assert graphc.linalg.matrix_norm(graphc.ones(0, 3, 3), -2).shape == (0,)


def test_norm_chooses_vector_or_matrix_norm_like_torch():
    a = arr(2, 3, 4) + 0.5
    check(graphc.linalg.norm(t(a)), np.asarray(np.linalg.norm(a.ravel())), rtol=1e-5)
    check(graphc.linalg.norm(t(a), keepdim=True),
          np.linalg.norm(a.ravel()).reshape(1, 1, 1), rtol=1e-5)
    check(graphc.linalg.norm(t(a), dim=1), np.linalg.norm(a, axis=1), rtol=1e-5)
    check(graphc.linalg.norm(t(a[0, 0]), 3), np.asarray(np.linalg.norm(a[0, 0], 3)), rtol=1e-5)
    raises(RuntimeError, "linalg.norm: If dim is not specified but ord is, the input must be 1D "
           "or 2D. Got 3D.", graphc.linalg.norm, t(a), "fro")
    raises(RuntimeError, "linalg.matrix_norm: The input tensor A must have at least 2 dimensions.",
           graphc.linalg.norm, t(a[0, 0]), "fro")
    raises(RuntimeError, "linalg.norm: If dim is specified, it must be of length 1 or 2. Got "
           "[0, 1, 2]", graphc.linalg.norm, t(a), None, (0, 1, 2))
    raises(RuntimeError, "linalg.matrix_norm: dim must be a 2-tuple. Got 1", graphc.linalg.norm,
           t(a), "nuc", 1)
    raises(RuntimeError, "linalg.matrix_norm: Order 0 not supported.", graphc.linalg.norm,
           t(a[0]), 0)
    raises(RuntimeError, "linalg.matrix_norm: Low precision dtypes not supported. Got Half",
           graphc.linalg.matrix_norm, graphc.ones(2, 2, dtype=graphc.float16), 2)
    raises(RuntimeError, "linalg.matrix_norm: dims must be different. Got (0, 0)",
           graphc.linalg.matrix_norm, t(a), "fro", (0, 0))


# ------------------------------------------------------------------ graphc.linalg: solvers


def test_solve_with_matrices_vectors_and_batches():
    A = well_conditioned(3, 4)
    b = arr(4, dtype="float64")
    one_vector_for_each = np.broadcast_to(b, (3, 4))[..., None]
    check(graphc.linalg.solve(t(A), t(b)), np.linalg.solve(A, one_vector_for_each)[..., 0],
          rtol=1e-10)
    batch_of_vectors = arr(3, 4, dtype="float64")  # A's batch of vectors
    check(graphc.linalg.solve(t(A), t(batch_of_vectors)),
          np.linalg.solve(A, batch_of_vectors[..., None])[..., 0], rtol=1e-10)
    B = arr(4, 2, dtype="float64")
    check(graphc.linalg.solve(t(A), t(B)), np.linalg.solve(A, B), rtol=1e-10)
    X = graphc.linalg.solve(t(A[0]), t(arr(5, 4, dtype="float64")), left=False)
    np.testing.assert_allclose(X.numpy() @ A[0], arr(5, 4), atol=1e-10)


@pytest.mark.parametrize("call, error, message", [
    (lambda: graphc.linalg.solve(graphc.ones(2, 2), graphc.ones(2)), graphc.linalg.LinAlgError,
     "torch.linalg.solve: The solver failed because the input matrix is singular."),
    (lambda: graphc.linalg.solve(graphc.zeros(2, 2, 2), graphc.ones(2)), graphc.linalg.LinAlgError,
     "torch.linalg.solve: (Batch element 0): The solver failed because the input matrix is "
     "singular."),
    (lambda: graphc.linalg.solve(graphc.eye(2), graphc.ones(3)), RuntimeError,
     "linalg.solve: Incompatible shapes of A and B for the equation AX = B (2x2 and 3x1)"),
    (lambda: graphc.linalg.solve(graphc.eye(2), graphc.ones(2), left=False), RuntimeError,
     "linalg.solve: Incompatible shapes of A and B for the equation XA = B (2x2 and 2x1)"),
    (lambda: graphc.linalg.solve(graphc.eye(2), graphc.ones(2, dtype=graphc.float64)),
     RuntimeError, "linalg.solve: Expected A and B to have the same dtype, but found A of type "
     "Float and B of type Double instead"),
    (lambda: graphc.linalg.solve(graphc.eye(2, dtype=graphc.int64), graphc.ones(2)),
     RuntimeError, "linalg.solve: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: graphc.linalg.solve(graphc.ones(3, 2, 2), graphc.ones(4, 2, 1)), RuntimeError,
     "The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 0"),
    (lambda: graphc.linalg.cholesky(graphc.tensor([[1., 2], [2, 1]])), graphc.linalg.LinAlgError,
     "linalg.cholesky: The factorization could not be completed because the input is not "
     "positive-definite (the leading minor of order 2 is not positive-definite)."),
    (lambda: graphc.linalg.cholesky(graphc.zeros(1, 2, 2)), graphc.linalg.LinAlgError,
     "linalg.cholesky: (Batch element 0): The factorization could not be completed because the "
     "input is not positive-definite (the leading minor of order 1 is not positive-definite)."),
    (lambda: graphc.linalg.eigh(graphc.ones(2, 2, dtype=graphc.int64)), NotImplementedError,
     "\"linalg_eigh_cpu\" not implemented for 'Long'"),
    (lambda: graphc.linalg.eigh(graphc.eye(2), UPLO="X"), RuntimeError,
     "Expected UPLO argument to be 'L' or 'U', but got X"),
    (lambda: graphc.linalg.qr(graphc.ones(3, 2), mode="x"), RuntimeError,
     "qr received unrecognized mode 'x' but expected one of 'reduced' (default), 'r', or "
     "'complete'"),
])
def test_solver_errors(call, error, message):
    raises(error, message, call)


def test_cholesky_eigh_qr():
    A = well_conditioned(2, 3)
    spd = A @ np.swapaxes(A, -1, -2)
    check(graphc.linalg.cholesky(t(spd)), np.linalg.cholesky(spd), rtol=1e-10)
    check(graphc.linalg.cholesky(t(spd), upper=True),
          np.swapaxes(np.linalg.cholesky(spd), -1, -2), rtol=1e-10)
    values, vectors = graphc.linalg.eigh(t(spd))
    check(values, np.linalg.eigvalsh(spd), rtol=1e-10)
    np.testing.assert_allclose(vectors.numpy() @ (values.numpy()[..., None] * np.swapaxes(
        vectors.numpy(), -1, -2)), spd, atol=1e-9)
    lower_only = np.tril(spd)  # eigh reads one triangle
    check(graphc.linalg.eigvalsh(t(lower_only)), np.linalg.eigvalsh(spd), rtol=1e-10)
    check(graphc.linalg.eigvalsh(t(np.swapaxes(lower_only, -1, -2)), UPLO="U"),
          np.linalg.eigvalsh(spd), rtol=1e-10)
    M = arr(2, 4, 3, dtype="float64") + 0.5
    Q, R = graphc.linalg.qr(t(M))
    assert type(graphc.linalg.qr(t(M))).__name__ == "linalg_qr"
    assert Q.shape == (2, 4, 3) and R.shape == (2, 3, 3)
    np.testing.assert_allclose(Q.numpy() @ R.numpy(), M, atol=1e-10)
    complete = graphc.linalg.qr(t(M), mode="complete")
    assert complete.Q.shape == (2, 4, 4)
    r_only = graphc.linalg.qr(t(M), mode="r")
    assert r_only.Q.shape == (0,)
    check(r_only.R.abs(), np.abs(R.numpy()), rtol=1e-10)


def test_linalg_namespace_exposes_torch_names():
    for name in ("LinAlgError", "inv", "det", "slogdet", "svd", "svdvals", "norm", "vector_norm",
                 "matrix_norm", "solve", "matmul", "cross", "eigh", "eigvalsh", "qr", "cholesky",
                 "matrix_power", "multi_dot", "diagonal"):
        assert hasattr(graphc.linalg, name), name
    assert graphc.linalg.diagonal(t(arr(2, 3, 4))).tolist() == np.diagonal(
        arr(2, 3, 4), 0, -2, -1).tolist()
    assert issubclass(graphc.linalg.LinAlgError, RuntimeError)


# ------------------------------------------------------------------ against torch itself

TORCH_EXPRESSIONS = [
    "T.matmul(M(5,1,2,3), M(4,3,2))", "T.matmul(M(3), M(5,3,2))", "M(2,3) @ M(3)",
    "T.matmul(M(5,3,2).transpose(0,1), M(4,2))", "T.addmm(M(2), M(2,3), M(3,2), beta=2, alpha=3)",
    "T.addbmm(M(3,2), M(4,3,3), M(4,4,2))", "T.baddbmm(M(2,2), M(3,2,3), M(2,3,2))",
    "T.addr(M(3,2,dtype=T.float16), M(3,dtype=T.bool), M(2,dtype=T.int64))",
    "T.trace(M(3,3,dtype=T.int8))", "T.diag(M(3,4), -1)", "T.tril(M(2,3,4), -1)",
    "T.cross(M(3,4), M(3,4), dim=1)", "T.inverse(T.zeros(3,2,2))", "T.det(M(3,2,2))",
    "L.vector_norm(M(0,3), -1, dim=(0,1))", "L.matrix_norm(M(2,3,4), -1, dim=(2,0), keepdim=True)",
    "L.norm(M(2,3,4), 'nuc', dim=(2,0))", "L.solve(T.ones(3,2,2), M(4,2))",
    "L.svdvals(M(4,5,3))", "T.matrix_power(T.tensor([[1,1],[0,1]]), 5)",
]


def _evaluate(T, expression):
    env = {"T": T, "L": T.linalg, "M": lambda *shape, dtype=None: (
        T.arange(math.prod(shape), dtype=T.float64).reshape(*shape).sin() * 3).to(
        dtype or T.float32)}
    try:
        value = eval(expression, env)
    except Exception as error:  # the error's type and message are what is compared
        return type(error).__name__.lstrip("_"), str(error)
    return str(value.dtype), tuple(value.shape), value.tolist()


@pytest.mark.parametrize("expression", TORCH_EXPRESSIONS)
def test_same_results_and_errors_as_torch(expression):
    expected = oracle.answer(expression, lambda torch: _evaluate(torch, expression))
    actual = _evaluate(graphc, expression)
    if len(expected) == 2:
        assert actual == expected
    else:
        assert actual[:2] == expected[:2]
        assert_close(actual[2], expected[2], expected[0], expression)
