"""Linear algebra: matrix products, diagonals and triangles, cross products, and the
decompositions and norms behind graphc.linalg (their primitives, eager on numpy and
numpy.linalg, are in graphc.ir.primitives.linalg).

Every product (dot, mv, mm, bmm, matmul) runs one primitive, `matmul`, which has numpy's matmul
semantics (batch dims broadcast, 1-D operands promoted then squeezed). The public functions differ
only in what they accept: each checks its operands in torch's order and with torch's messages, so
the error a user sees names the torch kernel that would have refused them. The scaled forms
(addmm, addmv, addbmm, baddbmm, addr) are plain Python over these primitives and the elementwise
ones.

Ops with several results (svd, slogdet, eigh, qr) declare one primitive per result; the public
functions pack them into torch.return_types-style named tuples.
"""
import math
import operator
import warnings

import numpy as np

from .. import dtypes as _dt
from .. import dispatch as _dispatch
from ..runtime import cpu as _cpu
from ..ir.registry import REGISTRY, defvjp
from . import shape as _shape
from .elementwise import check_tensor, where as _where, write_out
from ..ir.primitives.fused import _ADDMM, FUSED_DTYPES as _FUSED_DTYPES
from ..ir.primitives.linalg import (_CHOLESKY, _CROSS, _DET, _DIAG_EMBED, _EIGH_VALUES,
                                    _EIGH_VECTORS, _INVERSE, _MATMUL, _MATRIX_NORM, _QR_Q, _QR_R,
                                    _SLOGDET_LOGABSDET, _SLOGDET_SIGN, _SOLVE, _SVD_S, _SVD_U,
                                    _SVD_V, _SVD_VH, _TRACE, _TRIL, _TRIU, _VECTOR_NORM, _inf)

__all__ = ["trace", "diag", "diag_embed", "triu", "tril", "mm", "bmm", "matmul", "mv", "dot",
           "vdot", "outer", "ger", "addmm", "addbmm", "addmv", "addr", "baddbmm", "cross",
           "inverse", "det", "logdet", "slogdet", "svd", "matrix_power"]

_apply = _dispatch.apply

# the C++ type names torch prints in some dtype errors ("float != double")
_CPP_NAMES = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char",
              "int16": "short int", "int32": "int", "int64": "long int", "float16": "c10::Half",
              "float32": "float", "float64": "double"}


_RESULT_TYPES = {}


def _result_type(name, fields):
    """A torch.return_types-style structseq: a tuple whose items are also named attributes."""

    def __new__(cls, *values):
        return tuple.__new__(cls, values)

    def __repr__(self):
        items = ",\n".join(f"{field}={value!r}" for field, value in zip(fields, self))
        return f"torch.return_types.{name}(\n{items})"

    def __reduce__(self):
        return (_rebuild_result, (name, tuple(self)))

    namespace = {"__slots__": (), "__new__": __new__, "__repr__": __repr__, "__str__": __repr__,
                 "__reduce__": __reduce__, "__module__": "torch.return_types",
                 "n_fields": len(fields), "n_sequence_fields": len(fields)}
    for index, field in enumerate(fields):
        namespace[field] = property(operator.itemgetter(index))
    result = type(name, (tuple,), namespace)
    _RESULT_TYPES[name] = result
    return result


def _rebuild_result(name, values):
    return _RESULT_TYPES[name](*values)


SvdResult = _result_type("svd", ("U", "S", "V"))
LinalgSvdResult = _result_type("linalg_svd", ("U", "S", "Vh"))
SlogdetResult = _result_type("slogdet", ("sign", "logabsdet"))
LinalgSlogdetResult = _result_type("linalg_slogdet", ("sign", "logabsdet"))
EighResult = _result_type("linalg_eigh", ("eigenvalues", "eigenvectors"))
QrResult = _result_type("linalg_qr", ("Q", "R"))


def _not_implemented(kernel, dtype):
    return NotImplementedError(f'"{kernel}" not implemented for \'{dtype.scalar_name}\'')


def _check_int(function_name, argument, value, position):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{function_name}(): argument '{argument}' (position {position}) must be "
                        f"int, not {type(value).__name__}")


def _check_matrices(A, name, *, square=True, half_kernel=None, check_float=True, minimum="A"):
    """torch's checks of a (batch of) matrix input: at least 2-D, square, floating, not half.

    `half_kernel` names the kernel whose NotImplementedError torch raises for half inputs; None
    means the "Low precision dtypes not supported" refusal, False that half is accepted."""
    ndim = A._data.ndim
    if ndim < 2:
        raise RuntimeError(f"{name}: The input tensor {minimum} must have at least 2 dimensions.")
    rows, cols = A._data.shape[-2:]
    if square and rows != cols:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are {rows} by "
                           f"{cols} matrices")
    dtype = A._dtype
    if check_float and dtype.category != 2:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. "
                           f"Got {dtype.scalar_name}")
    if dtype is _dt.float16 and half_kernel is not False:
        if half_kernel is None:
            raise RuntimeError(f"{name}: Low precision dtypes not supported. Got Half")
        raise _not_implemented(half_kernel, dtype)


def _check_dot(input, other):
    a, b = input._data, other._data
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if input._dtype is not other._dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{input._dtype.scalar_name} and {other._dtype.scalar_name}")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to "
            f"have the same number of elements, but got {a.shape[0]} and {b.shape[0]} elements "
            "respectively")
    if input._dtype is _dt.bool:
        raise _not_implemented("dot", _dt.bool)


def _check_mv(self_shape, self_dtype, mat_shape, mat_dtype, vec_shape, vec_dtype):
    """addmv's checks (mv is addmv into a fresh vector of the vec's dtype)."""
    if len(self_shape) != 1 or len(mat_shape) != 2 or len(vec_shape) != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {len(self_shape)}, "
                           f"{len(mat_shape)}, {len(vec_shape)}")
    if self_shape[0] != mat_shape[0] or mat_shape[1] != vec_shape[0]:
        raise RuntimeError(f"size mismatch, got input ({self_shape[0]}), mat "
                           f"({mat_shape[0]}x{mat_shape[1]}), vec ({vec_shape[0]})")
    if not (self_dtype is mat_dtype is vec_dtype):
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                           f"{self_dtype.scalar_name}, {mat_dtype.scalar_name}, and "
                           f"{vec_dtype.scalar_name}")
    if mat_dtype is _dt.bool:
        raise _not_implemented("addmv_impl_cpu", _dt.bool)


def _check_mm_shapes(shape1, shape2):
    if shape1[1] != shape2[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({shape1[0]}x{shape1[1]} "
                           f"and {shape2[0]}x{shape2[1]})")


def _check_mm_dtypes(dtype1, dtype2):
    if dtype1 is not dtype2:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{_CPP_NAMES[dtype1.name]} != {_CPP_NAMES[dtype2.name]}")
    if dtype1 is _dt.bool:
        raise _not_implemented("addmm_impl_cpu_", _dt.bool)


def _check_bmm_shapes(shape1, shape2):
    if len(shape1) != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if len(shape2) != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if shape2[0] != shape1[0] or shape2[1] != shape1[2]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{shape1[0]}, {shape1[2]}] but got: [{shape2[0]}, {shape2[1]}].")


def _check_bmm_dtypes(dtype1, dtype2, kernel="bmm"):
    if dtype1 is _dt.bool:
        raise _not_implemented(kernel, _dt.bool)
    if dtype2 is not dtype1:
        raise RuntimeError(f"expected scalar type {dtype1.scalar_name} but found "
                           f"{dtype2.scalar_name}")


def _matmul_folds(input, other):
    """Whether torch's matmul folds the batch dims of the larger operand into mm/mv rows instead
    of running bmm (it decides which kernel, hence which error, a bad pair of operands gets)."""
    first_larger = input._data.ndim >= other._data.ndim
    larger, smaller = (input, other) if first_larger else (other, input)
    if not (larger._data.ndim >= 3 and smaller._data.ndim <= 2):
        return False
    if smaller._requires_grad:
        return True
    if input._data.ndim == 2:
        return False
    if larger._data.size == 0:
        return True
    shape, strides = list(larger.shape), list(larger.stride())
    if not first_larger:  # torch looks at the transpose of the larger operand
        shape[-2:], strides[-2:] = shape[:-3:-1], strides[:-3:-1]
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(len(shape) - 2))


def _matmul_error(input, other):
    """Raise the error torch's matmul gives for operands that do not multiply."""
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")
    if a.ndim == 1 and b.ndim == 1:
        _check_dot(input, other)
    elif a.ndim == 2 and b.ndim == 1:
        _check_mv(a.shape[:1], other._dtype, a.shape, input._dtype, b.shape, other._dtype)
    elif a.ndim <= 2 and b.ndim == 2:
        _check_mm_shapes(a.shape if a.ndim == 2 else (1,) + a.shape, b.shape)
        _check_mm_dtypes(input._dtype, other._dtype)
    elif _matmul_folds(input, other):
        _folded_matmul_error(input, other)
    else:
        _batched_matmul_error(input, other)
    raise AssertionError(f"matmul of {list(a.shape)} and {list(b.shape)} should have succeeded")


def _folded_matmul_error(input, other):
    transposed = other._data.ndim > input._data.ndim
    if transposed:
        larger_shape = other.shape[:-2] + other.shape[:-3:-1]
        smaller_shape = input.shape[::-1]
        first_dtype, second_dtype = other._dtype, input._dtype
    else:
        larger_shape, smaller_shape = input.shape, other.shape
        first_dtype, second_dtype = input._dtype, other._dtype
    folded = (math.prod(larger_shape[:-1]), larger_shape[-1])
    if len(smaller_shape) == 2:
        _check_mm_shapes(folded, smaller_shape)
        _check_mm_dtypes(first_dtype, second_dtype)
    else:
        _check_mv(folded[:1], second_dtype, folded, first_dtype, smaller_shape, second_dtype)


def _batched_matmul_error(input, other):
    a, b = input._data, other._data
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] != b.shape[0]:
        # torch drops a batch of one that requires grad rather than broadcast it
        if a.shape[0] == 1 and input._requires_grad:
            _matmul_error(_shape.squeeze(input, 0), other)
        if b.shape[0] == 1 and other._requires_grad:
            _matmul_error(input, _shape.squeeze(other, 0))
    rows = a.shape[-2] if a.ndim > 1 else 1
    inner_a = a.shape[-1]
    inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    columns = b.shape[-1] if b.ndim > 1 else 1
    batch_a, batch_b = a.shape[:-2], b.shape[:-2]
    mismatch = _cpu.broadcast_error([batch_a, batch_b])
    if mismatch is not None:
        raise mismatch
    batch = math.prod(np.broadcast_shapes(batch_a, batch_b))
    _check_bmm_shapes((batch, rows, inner_a), (batch, inner_b, columns))
    _check_bmm_dtypes(input._dtype, other._dtype)


def matmul(input, other, *, out=None):
    # fast path: two matrices of one (non-bool) dtype whose inner sizes agree
    if input.__class__ is _dispatch.Tensor and other.__class__ is _dispatch.Tensor:
        a, b = input._data.shape, other._data.shape
        if (len(a) == 2 and len(b) == 2 and a[1] == b[0] and input._dtype is other._dtype
                and input._dtype is not _dt.bool):
            result = _apply(_MATMUL, (input, other))
            return result if out is None else write_out(result, out)
    if not isinstance(input, _dispatch.Tensor) or not isinstance(other, _dispatch.Tensor):
        check_tensor("matmul", input, "input", 1)
        check_tensor("matmul", other, "other", 2)
    a, b = input._data.shape, other._data.shape
    dtype = input._dtype
    if (other._dtype is not dtype or dtype is _dt.bool or not a or not b
            or a[-1] != b[-2 if len(b) > 1 else 0]
            or (len(a) > 2 and len(b) > 2 and a[:-2] != b[:-2] and not _batch_dims_broadcast(a, b))):
        _matmul_error(input, other)
    return write_out(_apply(_MATMUL, (input, other)), out)


def _batch_dims_broadcast(a, b):
    try:
        np.broadcast_shapes(a[:-2], b[:-2])
        return True
    except ValueError:
        return False


def _matmul_operator(self, other):
    if not isinstance(other, _dispatch.Tensor):
        return NotImplemented
    return matmul(self, other)


def _rmatmul_operator(self, other):
    if not isinstance(other, _dispatch.Tensor):
        return NotImplemented
    return matmul(other, self)


def mm(input, mat2, *, out=None):
    if not isinstance(input, _dispatch.Tensor) or not isinstance(mat2, _dispatch.Tensor):
        check_tensor("mm", input, "input", 1)
        check_tensor("mm", mat2, "mat2", 2)
    a, b = input._data.shape, mat2._data.shape
    if len(a) != 2:
        raise RuntimeError("self must be a matrix")
    if len(b) != 2:
        raise RuntimeError("mat2 must be a matrix")
    if a[1] != b[0] or input._dtype is not mat2._dtype or input._dtype is _dt.bool:
        _check_mm_shapes(a, b)
        _check_mm_dtypes(input._dtype, mat2._dtype)
    return write_out(_apply(_MATMUL, (input, mat2)), out)


def bmm(input, mat2, *, out=None):
    check_tensor("bmm", input, "input", 1)
    check_tensor("bmm", mat2, "mat2", 2)
    _check_bmm_shapes(input._data.shape, mat2._data.shape)
    _check_bmm_dtypes(input._dtype, mat2._dtype)
    return write_out(_apply(_MATMUL, (input, mat2)), out)


def mv(input, vec, *, out=None):
    check_tensor("mv", input, "input", 1)
    check_tensor("mv", vec, "vec", 2)
    mat_shape = input._data.shape
    if not mat_shape:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    _check_mv(mat_shape[:1], vec._dtype, mat_shape, input._dtype, vec._data.shape, vec._dtype)
    return write_out(_apply(_MATMUL, (input, vec)), out)


def dot(input, tensor, *, out=None):
    check_tensor("dot", input, "input", 1)
    check_tensor("dot", tensor, "tensor", 2)
    _check_dot(input, tensor)
    return write_out(_apply(_MATMUL, (input, tensor)), out)


def vdot(input, other, *, out=None):
    """The conjugating dot product: the plain one on real tensors."""
    check_tensor("vdot", input, "input", 1)
    check_tensor("vdot", other, "other", 2)
    _check_dot(input, other)
    return write_out(_apply(_MATMUL, (input, other)), out)


def outer(input, vec2, *, out=None):
    check_tensor("outer", input, "input", 1)
    check_tensor("outer", vec2, "vec2", 2)
    for name, vector in (("self", input), ("vec2", vec2)):
        if vector._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got "
                               f"{vector._data.ndim}-D")
    # an elementwise product, so it promotes dtypes like torch's outer does
    return write_out(_apply(REGISTRY["mul"], (_shape.unsqueeze(input, 1), vec2)), out)


ger = outer


def _scalar_for(dtype, value, name, integral_floats="truncate"):
    """beta/alpha as the kernel sees them: truncated to integers for integer tensors (addmm) or
    refused when fractional (addr)."""
    if isinstance(value, _dispatch.Tensor):
        value = value.item()
    if dtype.category == 2:
        return value
    if isinstance(value, float):
        if integral_floats == "refuse":
            raise RuntimeError(f"For integral input tensors, argument {name} must not be a "
                               "floating point number.")
        return int(value)
    return value


def _scaled_sum(input, product, beta, alpha, out_shape, *, skip_zero_alpha=True):
    """beta * input + alpha * product, where beta == 0 ignores input (even its nan) and, for the
    kernels that skip the product then, alpha == 0 ignores the product."""
    mul, add = REGISTRY["mul"], REGISTRY["add"]
    if alpha == 0 and skip_zero_alpha:
        from .creation import zeros
        product = zeros(out_shape, dtype=product._dtype)
    elif alpha != 1:
        product = _apply(mul, (product, alpha))
    if beta == 0:
        return product
    if input._data.shape != tuple(out_shape):
        input = _shape.expand(input, out_shape)
    scaled = input if beta == 1 else _apply(mul, (input, beta))
    return _apply(add, (scaled, product))


def _check_inplace_shape(self, result):
    if self._data.shape != result._data.shape:
        raise RuntimeError(f"Bad in-place call: input tensor size {list(self._data.shape)} and "
                           f"output tensor size {list(result._data.shape)} should match")
    _dispatch.write_into(self, result._data)
    return self


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    for position, (name, value) in enumerate((("input", input), ("mat1", mat1), ("mat2", mat2))):
        check_tensor("addmm", value, name, position + 1)
    if input._dtype is not mat2._dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                           f"{input._dtype.scalar_name} and {mat2._dtype.scalar_name}")
    if mat1._dtype is not mat2._dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{mat1._dtype.scalar_name} and {mat2._dtype.scalar_name}")
    for name, matrix in (("mat1", mat1), ("mat2", mat2)):
        if matrix._data.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {matrix._data.ndim}-D tensor")
    _check_mm_shapes(mat1._data.shape, mat2._data.shape)
    out_shape = (mat1._data.shape[0], mat2._data.shape[1])
    if input._data.shape != out_shape:
        _shape.expanded_shape(input, out_shape)  # torch's error for an input that does not expand
    if input._dtype is _dt.bool:
        raise _not_implemented("addmm_impl_cpu_", _dt.bool)
    beta = _scalar_for(input._dtype, beta, "beta")
    alpha = _scalar_for(input._dtype, alpha, "alpha")

    def composite():
        return _scaled_sum(input, _apply(_MATMUL, (mat1, mat2)), beta, alpha, out_shape)
    if beta == 0 or alpha == 0 or input._dtype not in _FUSED_DTYPES:
        return write_out(composite(), out)
    return write_out(_dispatch.apply_fused(_ADDMM, (input, mat1, mat2),
                                           {"beta": beta, "alpha": alpha}, composite), out)


def _addmm_vjp(ctx, grad):
    _, mat1, mat2 = ctx.operands
    beta, alpha = ctx.attrs["beta"], ctx.attrs["alpha"]
    if _dispatch.records_nothing():
        return _addmm_array_vjp(ctx, grad._data, mat1, mat2, beta, alpha)
    grad_input = (grad if beta == 1 else grad * beta) if ctx.needs[0] else None
    grad = grad if alpha == 1 else grad * alpha
    return (grad_input, _left_gradient(mat1, mat2, grad) if ctx.needs[1] else None,
            _right_gradient(mat1, mat2, grad) if ctx.needs[2] else None)


def addmm_(self, mat1, mat2, *, beta=1, alpha=1):
    return _check_inplace_shape(self, addmm(self, mat1, mat2, beta=beta, alpha=alpha))


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    for position, (name, value) in enumerate((("input", input), ("mat", mat), ("vec", vec))):
        check_tensor("addmv", value, name, position + 1)
    self_shape = input._data.shape
    mat_shape = mat._data.shape
    # torch expands a scalar-like input to the result's length before checking
    if mat_shape and (len(self_shape) == 0 or self_shape == (1,)):
        self_shape = mat_shape[:1]
    _check_mv(self_shape, input._dtype, mat_shape, mat._dtype, vec._data.shape, vec._dtype)
    beta = _scalar_for(input._dtype, beta, "beta")
    alpha = _scalar_for(input._dtype, alpha, "alpha")
    product = _apply(_MATMUL, (mat, vec))
    return write_out(_scaled_sum(input, product, beta, alpha, mat_shape[:1]), out)


def addmv_(self, mat, vec, *, beta=1, alpha=1):
    return _check_inplace_shape(self, addmv(self, mat, vec, beta=beta, alpha=alpha))


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (sum of the batch1[i] @ batch2[i])."""
    for position, (name, value) in enumerate((("input", input), ("batch1", batch1),
                                               ("batch2", batch2))):
        check_tensor("addbmm", value, name, position + 1)
    out_shape = (batch1.size(1), batch2.size(2))
    if input._data.shape != out_shape:
        _shape.expanded_shape(input, out_shape)
    shape1, shape2 = batch1._data.shape, batch2._data.shape
    if len(shape1) != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if len(shape2) != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if shape1[0] != shape2[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got "
                           f"{shape1[0]} and {shape2[0]}")
    if shape1[2] != shape2[1]:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({shape1[1]}x{shape1[2]} and "
                           f"{shape2[1]}x{shape2[2]})")
    for name, dtype in (("self", input._dtype), ("mat1", batch1._dtype)):
        if dtype is not batch2._dtype:
            raise RuntimeError(f"{name} and mat2 must have the same dtype, but got "
                               f"{dtype.scalar_name} and {batch2._dtype.scalar_name}")
    if input._dtype is _dt.bool:
        raise _not_implemented("addmm_impl_cpu_", _dt.bool)
    beta = _scalar_for(input._dtype, beta, "beta")
    alpha = _scalar_for(input._dtype, alpha, "alpha")
    # the batch sum as one matrix product: [b1_0 | b1_1 | ...] @ [b2_0 ; b2_1 ; ...]
    rows = _shape.reshape(_shape.permute(batch1, 1, 0, 2), shape1[1], shape1[0] * shape1[2])
    columns = _shape.reshape(batch2, shape2[0] * shape2[1], shape2[2])
    product = _apply(_MATMUL, (rows, columns))
    return write_out(_scaled_sum(input, product, beta, alpha, out_shape), out)


def addbmm_(self, batch1, batch2, *, beta=1, alpha=1):
    return _check_inplace_shape(self, addbmm(self, batch1, batch2, beta=beta, alpha=alpha))


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (batch1 @ batch2), batch by batch."""
    for position, (name, value) in enumerate((("input", input), ("batch1", batch1),
                                               ("batch2", batch2))):
        check_tensor("baddbmm", value, name, position + 1)
    out_shape = (batch1.size(0), batch1.size(1), batch2.size(2))
    if input._data.shape != out_shape:
        _shape.expanded_shape(input, out_shape)
    if input._dtype is not batch1._dtype:
        raise RuntimeError(
            f"Input dtypes must be the same, got: input {_CPP_NAMES[input._dtype.name]}, batch1: "
            f"{_CPP_NAMES[batch1._dtype.name]}, batch2: {_CPP_NAMES[batch2._dtype.name]}")
    _check_bmm_shapes(batch1._data.shape, batch2._data.shape)
    _check_bmm_dtypes(batch1._dtype, batch2._dtype, kernel="baddbmm")
    beta = _scalar_for(input._dtype, beta, "beta")
    alpha = _scalar_for(input._dtype, alpha, "alpha")
    product = _apply(_MATMUL, (batch1, batch2))
    return write_out(_scaled_sum(input, product, beta, alpha, out_shape, skip_zero_alpha=False),
                     out)


def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1):
    return _check_inplace_shape(self, baddbmm(self, batch1, batch2, beta=beta, alpha=alpha))


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * outer(vec1, vec2), promoting dtypes like elementwise ops."""
    for position, (name, value) in enumerate((("input", input), ("vec1", vec1), ("vec2", vec2))):
        check_tensor("addr", value, name, position + 1)
    for name, vector in (("vec1", vec1), ("vec2", vec2)):
        if vector._data.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got "
                               f"{vector._data.ndim}-D")
    out_shape = (vec1._data.shape[0], vec2._data.shape[0])
    if input._data.shape != out_shape:
        _shape.expanded_shape(input, out_shape)
    dtype = _cpu.operand_dtype([input, vec1, vec2])
    beta = _scalar_for(dtype, beta, "beta", "refuse")
    alpha = _scalar_for(dtype, alpha, "alpha", "refuse")
    if dtype is _dt.bool:  # scaling by a truth value is a logical and
        beta, alpha = bool(beta), bool(alpha)
    product = outer(vec1, vec2)
    if product._dtype is not dtype:
        product = product.to(dtype)
    if input._dtype is not dtype:
        input = input.to(dtype)
    if dtype is _dt.bool:
        return write_out(_logical_scaled_sum(input, product, beta, alpha, out_shape), out)
    return write_out(_scaled_sum(input, product, beta, alpha, out_shape), out)


def _logical_scaled_sum(input, product, beta, alpha, out_shape):
    from .creation import zeros
    terms = [t for t, keep in ((input, beta), (product, alpha)) if keep]
    result = zeros(out_shape, dtype=_dt.bool)
    for term in terms:
        result = _apply(REGISTRY["logical_or"], (result, term))
    return result


def addr_(self, vec1, vec2, *, beta=1, alpha=1):
    result = addr(self, vec1, vec2, beta=beta, alpha=alpha)
    if not _dt.can_cast(result._dtype, self._dtype):
        raise RuntimeError(f"result type {result._dtype.scalar_name} can't be cast to the "
                           f"desired output type {self._dtype.scalar_name}")
    return _check_inplace_shape(self, result)


def trace(input):
    check_tensor("trace", input)
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input._data.ndim}")
    if input._dtype is _dt.bool:
        raise _not_implemented("trace", _dt.bool)
    return _apply(_TRACE, (input,))


def diag(input, diagonal=0, *, out=None):
    """A vector becomes a matrix with it on the `diagonal`; a matrix gives a copy of it."""
    check_tensor("diag", input)
    _check_int("diag", "diagonal", diagonal, 2)
    ndim = input._data.ndim
    if ndim == 1:
        result = _apply(_DIAG_EMBED, (input,), {"offset": int(diagonal), "dim1": 0, "dim2": 1})
    elif ndim == 2:
        result = _shape.clone(_shape.diagonal(input, int(diagonal)))
    else:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {ndim}D")
    return write_out(result, out)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    check_tensor("diag_embed", input)
    ndim = input._data.ndim + 1
    first, second = _shape.wrap_dim(dim1, ndim), _shape.wrap_dim(dim2, ndim)
    if first == second:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _apply(_DIAG_EMBED, (input,), {"offset": int(offset), "dim1": first, "dim2": second})


def _triangle(op, name):
    def function(input, diagonal=0, *, out=None):
        check_tensor(name, input)
        _check_int(name, "diagonal", diagonal, 2)
        if input._data.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        return write_out(_apply(op, (input,), {"diagonal": int(diagonal)}), out)

    def inplace(self, diagonal=0):
        _check_int(name + "_", "diagonal", diagonal, 1)
        if self._data.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        return _dispatch.apply_inplace(op, self, (self,), {"diagonal": int(diagonal)})

    function.__name__, inplace.__name__ = name, name + "_"
    return function, inplace


triu, triu_ = _triangle(_TRIU, "triu")
tril, tril_ = _triangle(_TRIL, "tril")


_cross_dim_warned = [False]


def cross(input, other, dim=None, *, out=None):
    """torch.cross: without `dim`, the first dim of `input` of size 3 (deprecated, warns once)."""
    check_tensor("cross", input, "input", 1)
    check_tensor("cross", other, "other", 2)
    if dim is None:
        if not _cross_dim_warned[0]:
            _cross_dim_warned[0] = True
            warnings.warn(
                "Using torch.cross without specifying the dim arg is deprecated.\nPlease either "
                "pass the dim explicitly or simply use torch.linalg.cross.\nThe default value of "
                "dim will change to agree with that of linalg.cross in a future release.",
                UserWarning, stacklevel=2)
        dim = next((d for d, size in enumerate(input._data.shape) if size == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return linalg_cross(input, other, dim=dim, out=out)


def linalg_cross(input, other, *, dim=-1, out=None):
    check_tensor("linalg_cross", input, "input", 1)
    check_tensor("linalg_cross", other, "other", 2)
    a, b = input._data, other._data
    if a.ndim != b.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    axis = _shape.wrap_dim(dim, a.ndim)
    if a.shape[axis] != 3 or b.shape[axis] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{a.shape[axis]} and {b.shape[axis]}")
    mismatch = _cpu.broadcast_error([a.shape, b.shape]) if a.shape != b.shape else None
    if mismatch is not None:
        raise mismatch
    _check_bmm_dtypes(input._dtype, other._dtype, kernel="cross")
    return write_out(_apply(_CROSS, (input, other), {"dim": axis}), out)


def inverse(input, *, out=None):
    check_tensor("inverse", input)
    _check_matrices(input, "linalg.inv")
    return write_out(_apply(_INVERSE, (input,)), out)


def det(input):
    check_tensor("det", input)
    _check_matrices(input, "linalg.det", half_kernel="lu_cpu")
    return _apply(_DET, (input,))


def _slogdet_parts(A, name):
    check_tensor(name, A)
    _check_matrices(A, "linalg.slogdet")
    return _apply(_SLOGDET_SIGN, (A,)), _apply(_SLOGDET_LOGABSDET, (A,))


def slogdet(input):
    return SlogdetResult(*_slogdet_parts(input, "slogdet"))


def linalg_slogdet(A):
    return LinalgSlogdetResult(*_slogdet_parts(A, "linalg_slogdet"))


def logdet(input):
    """log(det): nan for a negative determinant, -inf for a singular matrix."""
    check_tensor("logdet", input)
    _check_matrices(input, "logdet")
    sign = _apply(_SLOGDET_SIGN, (input,))
    log_magnitude = _apply(_SLOGDET_LOGABSDET, (input,))
    return _where(_apply(REGISTRY["eq"], (sign, -1)), math.nan, log_magnitude)


def matrix_power(input, n):
    """input @ input @ ... (n times) by repeated squaring; the inverse's powers for n < 0."""
    check_tensor("matrix_power", input)
    _check_matrices(input, "linalg.matrix_power", check_float=False, half_kernel=False)
    _check_int("matrix_power", "n", n, 2)
    if n == 0:
        from .creation import eye
        identity = eye(input._data.shape[-1], dtype=input._dtype)
        return _shape.clone(_shape.expand(identity, input._data.shape))
    base = inverse(input) if n < 0 else input
    result, n = None, abs(n)
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return _shape.clone(result) if result is input else result


def svd(input, some=True, compute_uv=True):
    """torch.svd: (U, S, V) with V, not its transpose; zeros for U and V without compute_uv."""
    check_tensor("svd", input)
    if input._data.ndim < 2:
        raise RuntimeError(f"linalg.svd: input should have at least 2 dimensions, but has "
                           f"{input._data.ndim} dimensions instead")
    _check_matrices(input, "linalg.svd", square=False, half_kernel="linalg_svd_cpu")
    singular = _apply(_SVD_S, (input,))
    if not compute_uv:
        from .creation import zeros
        batch, (rows, cols) = input.shape[:-2], input.shape[-2:]
        return SvdResult(zeros(batch + (rows, rows), dtype=input._dtype), singular,
                         zeros(batch + (cols, cols), dtype=input._dtype))
    attrs = {"full_matrices": not some}
    return SvdResult(_apply(_SVD_U, (input,), attrs), singular, _apply(_SVD_V, (input,), attrs))


def linalg_svd(A, full_matrices=True, *, driver=None):
    check_tensor("linalg_svd", A)
    _check_matrices(A, "linalg.svd", square=False, half_kernel="linalg_svd_cpu")
    attrs = {"full_matrices": bool(full_matrices)}
    return LinalgSvdResult(_apply(_SVD_U, (A,), attrs), _apply(_SVD_S, (A,)),
                           _apply(_SVD_VH, (A,), attrs))


def svdvals(A, *, driver=None, out=None):
    check_tensor("linalg_svdvals", A)
    _check_matrices(A, "linalg.svd", square=False, half_kernel="linalg_svd_cpu")
    return write_out(_apply(_SVD_S, (A,)), out)


def solve(A, B, *, left=True, out=None):
    """X with A @ X = B (X @ A = B when left=False); B may be a (batch of) vector(s)."""
    check_tensor("linalg_solve", A, "A", 1)
    check_tensor("linalg_solve", B, "B", 2)
    if A._dtype.category != 2:
        raise RuntimeError(f"linalg.solve: Expected a floating point or complex tensor as input. "
                           f"Got {A._dtype.scalar_name}")
    if A._dtype is not B._dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A "
                           f"of type {A._dtype.scalar_name} and B of type "
                           f"{B._dtype.scalar_name} instead")
    _check_matrices(A, "linalg.solve", half_kernel="lu_cpu")
    a, b = A._data.shape, B._data.shape
    # torch reads B as vectors when it is 1-D or A's batch of vectors
    vector = len(b) == 1 or (len(b) == len(a) - 1 and b == a[:-1])
    if vector:
        B = _shape.unsqueeze(B, -1)
    elif len(b) < 2:
        raise RuntimeError("linalg.solve: The input tensor B must have at least 2 dimensions.")
    b = B._data.shape
    size = a[-1]
    if (b[-2] if left else b[-1]) != size:
        rows, cols = b[-2:]
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({size}x{size} and {rows}x{cols})")
    if vector and not left:
        raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not "
                           "supported for left=False. In this case linalg.solve is equivalent to "
                           "B / A.squeeze(-1)")
    mismatch = _cpu.broadcast_error([b[:-2], a[:-2]]) if a[:-2] != b[:-2] else None
    if mismatch is not None:
        raise mismatch
    result = _apply(_SOLVE, (A, B), {"left": bool(left)})
    if vector:
        result = _shape.squeeze(result, -1)
    return write_out(result, out)


def cholesky(A, *, upper=False, out=None):
    check_tensor("linalg_cholesky", A)
    _check_matrices(A, "linalg.cholesky", half_kernel="cholesky_cpu")
    return write_out(_apply(_CHOLESKY, (A,), {"upper": bool(upper)}), out)


def _check_uplo(UPLO):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eigh(A, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, read from one triangle."""
    check_tensor("linalg_eigh", A)
    _check_matrices(A, "linalg.eigh", check_float=False, half_kernel=False)
    if A._dtype.category != 2 or A._dtype is _dt.float16:
        raise _not_implemented("linalg_eigh_cpu", A._dtype)
    _check_uplo(UPLO)
    return EighResult(_apply(_EIGH_VALUES, (A,), {"uplo": UPLO}),
                      _apply(_EIGH_VECTORS, (A,), {"uplo": UPLO}))


def eigvalsh(A, UPLO="L", *, out=None):
    check_tensor("linalg_eigvalsh", A)
    _check_matrices(A, "linalg.eigh", check_float=False, half_kernel=False)
    if A._dtype.category != 2 or A._dtype is _dt.float16:
        raise _not_implemented("linalg_eigh_cpu", A._dtype)
    _check_uplo(UPLO)
    return write_out(_apply(_EIGH_VALUES, (A,), {"uplo": UPLO}), out)


def qr(A, mode="reduced"):
    check_tensor("linalg_qr", A)
    _check_matrices(A, "linalg.qr", square=False, check_float=False, half_kernel=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    _check_matrices(A, "linalg.qr", square=False, half_kernel="geqrf_cpu")
    return QrResult(_apply(_QR_Q, (A,), {"mode": mode}), _apply(_QR_R, (A,), {"mode": mode}))


def multi_dot(tensors, *, out=None):
    """The product of a chain of matrices; the first and last may be vectors."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first, last = tensors[0]._data.ndim, tensors[-1]._data.ndim
    if first not in (1, 2):
        raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got {first}D")
    if last not in (1, 2):
        raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got {last}D")
    for index, tensor in enumerate(tensors[1:-1], start=1):
        if tensor._data.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {index} must be 2D but got "
                               f"{tensor._data.ndim}D")
    for index, tensor in enumerate(tensors[1:], start=1):
        if tensor._dtype is not tensors[0]._dtype:
            raise RuntimeError(
                f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                f"{_CPP_NAMES[tensors[0]._dtype.name]} and tensor {index} "
                f"{_CPP_NAMES[tensor._dtype.name]}")
    for index in range(len(tensors) - 1):
        left, right = tensors[index], tensors[index + 1]
        if left._data.shape[-1] != right._data.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {index} and {index + 1} with shapes "
                               f"{list(left._data.shape)} and {list(right._data.shape)} cannot "
                               "be multiplied")
    result = tensors[0]
    for tensor in tensors[1:]:
        result = matmul(result, tensor)
    return write_out(result, out)


def linalg_diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return _shape.diagonal(A, offset, dim1, dim2)


def _norm_dims(name, dim, ndim):
    """dim (None, an int or a sequence) as a sorted tuple of distinct non-negative dims."""
    if dim is None:
        return None
    if isinstance(dim, (int, np.integer)) and not isinstance(dim, bool):
        dim = (dim,)
    if not isinstance(dim, (tuple, list)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in dim):
        raise TypeError(f"{name}(): argument 'dim' must be tuple of ints, not "
                        f"{type(dim).__name__}")
    wrapped = [_shape.wrap_dim(d, ndim) for d in dim]
    for d in wrapped:
        if wrapped.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return tuple(wrapped) if wrapped else None


def _norm_dtype(name, input, dtype):
    if dtype is None:
        return input._dtype
    dtype = _dt.to_dtype(dtype)
    if dtype.category != 2:
        raise RuntimeError(f"{name}: dtype should be floating point or complex, but got "
                           f"{dtype.scalar_name}")
    if _dt.promote_types(input._dtype, dtype) is not dtype:
        raise RuntimeError(f"{name}: the dtype of the input ({input._dtype.scalar_name}) should "
                           f"be convertible without narrowing to the specified dtype "
                           f"({dtype.scalar_name})")
    return dtype


def _format_ord(ord):
    if ord in (_inf, -_inf):
        return "inf" if ord > 0 else "-inf"
    return str(int(ord)) if float(ord).is_integer() else str(ord)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    check_tensor("linalg_vector_norm", x)
    if isinstance(ord, _dispatch.Tensor):
        ord = ord.item()
    if isinstance(ord, str) or not isinstance(ord, (int, float, np.number)):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, not "
                        f"{type(ord).__name__}")
    if x._dtype.category != 2:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {x._dtype.scalar_name}")
    shape = x._data.shape
    dims = _norm_dims("linalg_vector_norm", dim, len(shape))
    if x._data.size == 0 and (ord < 0 or ord == _inf):
        if dims is None:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {_format_ord(ord)} norm on "
                               "an empty tensor because the operation does not have an identity")
        for given, d in zip(dim if isinstance(dim, (tuple, list)) else (dim,), dims):
            if shape[d] == 0:
                raise RuntimeError(
                    f"linalg.vector_norm cannot compute the {_format_ord(ord)} norm on the "
                    f"dimension {given}because this dimension is empty and the operation does "
                    "not have an identity")
    dtype = _norm_dtype("linalg.vector_norm", x, dtype)
    attrs = {"ord": float(ord) if not isinstance(ord, int) else ord, "dims": dims,
             "keepdim": bool(keepdim), "dtype": dtype}
    return write_out(_apply(_VECTOR_NORM, (x,), attrs), out)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    check_tensor("linalg_matrix_norm", A)
    if isinstance(ord, _dispatch.Tensor):
        ord = ord.item()
    ndim = A._data.ndim
    if ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    if A._dtype.category != 2:
        raise RuntimeError(f"linalg.matrix_norm: Expected a floating point or complex tensor as "
                           f"input. Got {A._dtype.scalar_name}")
    dim = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                           f"{' '.join(str(d) for d in dim)}")
    dims = (_shape.wrap_dim(dim[0], ndim), _shape.wrap_dim(dim[1], ndim))
    if dims[0] == dims[1]:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, "
                           f"{dim[1]})")
    if ord not in ("fro", "nuc", 1, -1, 2, -2, _inf, -_inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if ord == "fro":
        return vector_norm(A, 2, dims, keepdim, dtype=dtype, out=out)
    if ord in ("nuc", 2, -2) and A._dtype is _dt.float16:
        raise RuntimeError("linalg.matrix_norm: Low precision dtypes not supported. Got Half")
    dtype = _norm_dtype("linalg.matrix_norm", A, dtype)
    if dtype is not A._dtype:
        A = A.to(dtype)
    _check_min_over_empty(A._data.shape, ord, dims, keepdim)
    attrs = {"ord": ord, "dims": dims, "keepdim": bool(keepdim)}
    return write_out(_apply(_MATRIX_NORM, (A,), attrs), out)


def _check_min_over_empty(shape, ord, dims, keepdim):
    """The negative orders take a minimum, which torch refuses over an empty dimension."""
    if ord == -2:
        batch = [s for d, s in enumerate(shape) if d not in dims]
        if min(shape[dims[0]], shape[dims[1]]) == 0 and math.prod(batch) != 0:
            raise IndexError("amin(): Expected reduction dim -1 to have non-zero size.")
    elif ord in (-1, -_inf):
        summed, compared = dims if ord == -1 else dims[::-1]
        if shape[compared] == 0:
            reported = compared - 1 if not keepdim and summed < compared else compared
            raise IndexError(f"amin(): Expected reduction dim {reported} to have non-zero size.")


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """A vector norm or a matrix norm, chosen by `dim` and `ord` as torch.linalg.norm does."""
    check_tensor("linalg_norm", A)
    if dim is not None:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        if len(dims) == 1 and not isinstance(ord, str):
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype, out=out)
        if len(dims) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. "
                               f"Got {list(dims)}")
        return matrix_norm(A, "fro" if ord is None else ord, dims if len(dims) == 2 else dims[0],
                           keepdim, dtype=dtype, out=out)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype, out=out)
    ndim = A._data.ndim
    if ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be "
                           f"1D or 2D. Got {ndim}D.")
    if ndim == 1 and not isinstance(ord, str):
        return vector_norm(A, ord, None, keepdim, dtype=dtype, out=out)
    return matrix_norm(A, ord, keepdim=keepdim, dtype=dtype, out=out)


EXTRA_METHODS = {
    "__matmul__": _matmul_operator,
    "__rmatmul__": _rmatmul_operator,
    "triu_": triu_,
    "tril_": tril_,
    "addmm_": addmm_,
    "addmv_": addmv_,
    "addbmm_": addbmm_,
    "baddbmm_": baddbmm_,
    "addr_": addr_,
}


def _transpose_last(x):
    return x.transpose(-1, -2)


def _column_major(operand, partner):
    """Whether a 2-D operand of a product with a matrix is a transposed contiguous matrix (a
    weight used as `w.t()`): its gradient is then computed as the transpose of a product, so that
    it has the operand's layout and reaches the weight row-major, as torch's mm backward does."""
    return (operand.dim() == 2 and partner.dim() == 2 and operand.shape[0] > 1
            and operand.stride() == (1, operand.shape[0]))


def _addmm_array_vjp(ctx, g, mat1, mat2, beta, alpha):
    """addmm's rule on arrays: the same products as the rule's ops, without their dispatch."""
    dtype = ctx.meta[1][1]
    grad_input = _dispatch.wrap(g if beta == 1 else g * beta, dtype) if ctx.needs[0] else None
    return (grad_input,) + _matrix_array_gradients(g if alpha == 1 else g * alpha, mat1, mat2,
                                                   ctx.needs[1], ctx.needs[2], dtype)


def _matrix_array_gradients(g, mat1, mat2, needs1, needs2, dtype):
    """The gradients of the matrices of mat1 @ mat2 given the result's gradient array `g`:
    _left_gradient's and _right_gradient's products, on the arrays."""
    wrap = _dispatch.wrap
    grad1 = grad2 = None
    if needs1:
        m2 = mat2._data
        grad1 = wrap((m2 @ g.T).T if _column_major(mat1, mat2) else g @ m2.T, dtype)
    if needs2:
        m1 = mat1._data
        grad2 = wrap((g.T @ m1).T if _column_major(mat2, mat1) else m1.T @ g, dtype)
    return grad1, grad2


def _left_gradient(a, b, g):
    """The gradient of `a` in a @ b (b of rank 2 or more) given the result's gradient `g`."""
    if _column_major(a, b):
        return _transpose_last(matmul(b, _transpose_last(g)))
    return matmul(g, _transpose_last(b))


def _right_gradient(a, b, g):
    """The gradient of `b` in a @ b (a of rank 2 or more) given the result's gradient `g`."""
    if _column_major(b, a):
        return _transpose_last(matmul(_transpose_last(g), a))
    return matmul(_transpose_last(a), g)


def _matmul_vjp(ctx, grad):
    """numpy-matmul semantics: 1-D operands are promoted to matrices, then squeezed back; batch
    broadcasting is undone by the engine's sum_to_shape."""
    a, b = ctx.operands[0], ctx.operands[1]
    if (a._data.ndim == 2 and b._data.ndim == 2 and a._dtype in _FUSED_DTYPES
            and _dispatch.records_nothing()):
        return _matrix_array_gradients(grad._data, a, b, ctx.needs[0], ctx.needs[1], a._dtype)
    a_vector, b_vector = a.dim() == 1, b.dim() == 1
    a2 = a.unsqueeze(0) if a_vector else a
    b2 = b.unsqueeze(-1) if b_vector else b
    g = grad
    if a_vector and b_vector:
        g = grad.reshape(1, 1)
    elif a_vector:
        g = grad.unsqueeze(-2)
    elif b_vector:
        g = grad.unsqueeze(-1)
    grad_a = _left_gradient(a, b2, g) if ctx.needs[0] else None
    grad_b = None
    if ctx.needs[1]:
        if b2.dim() == 2 and a2.dim() > 2:
            # torch's fold: a batch against one matrix makes b's gradient one product, no batch sum
            a2, g = a2.reshape(-1, a2.shape[-1]), g.reshape(-1, g.shape[-1])
        grad_b = _right_gradient(a2, b, g)
    if grad_a is not None and a_vector:
        grad_a = grad_a.squeeze(-2)
        if grad_a.dim() > 1:
            grad_a = grad_a.sum(tuple(range(grad_a.dim() - 1)))
    if grad_b is not None and b_vector:
        grad_b = grad_b.squeeze(-1)
        if grad_b.dim() > 1:
            grad_b = grad_b.sum(tuple(range(grad_b.dim() - 1)))
    return grad_a, grad_b


def _trace_vjp(ctx, grad):
    from .creation import eye
    rows, cols = ctx.meta[0][0]
    return (eye(rows, cols, dtype=grad.dtype) * grad,)


def _diag_embed_vjp(ctx, grad):
    attrs = ctx.attrs
    return (_shape.diagonal(grad, attrs["offset"], attrs["dim1"], attrs["dim2"]),)


def _triangle_vjp(op):
    def vjp(ctx, grad):
        return (_apply(op, (grad,), ctx.attrs),)
    return vjp


def _cross_vjp(ctx, grad):
    a, b = ctx.operands[0], ctx.operands[1]
    dim = ctx.attrs["dim"]
    grad_a = _apply(_CROSS, (b, grad), {"dim": dim}) if ctx.needs[0] else None
    grad_b = _apply(_CROSS, (grad, a), {"dim": dim}) if ctx.needs[1] else None
    return grad_a, grad_b


def _inverse_vjp(ctx, grad):
    inverse_t = _transpose_last(ctx.output)
    return (-matmul(matmul(inverse_t, grad), inverse_t),)


def _det_vjp(ctx, grad):
    """d det(A) = det(A) A^-T, written with the adjugate-free form; singular A falls back to
    the SVD-based product of the other singular values (finite, as torch's)."""
    a, determinant = ctx.operands[0], ctx.output
    scale = (grad * determinant).unsqueeze(-1).unsqueeze(-1)
    if not bool((determinant == 0).any()):
        return (scale * _transpose_last(_apply(_INVERSE, (a,))),)
    u, s, vh = (_apply(_SVD_U, (a,), {"full_matrices": False}), _apply(_SVD_S, (a,)),
                _apply(_SVD_VH, (a,), {"full_matrices": False}))
    sign = _apply(_DET, (matmul(u, vh),))
    others = _product_of_others_last(s)
    core = matmul(u * (others * sign.unsqueeze(-1)).unsqueeze(-2), vh)
    return (grad.unsqueeze(-1).unsqueeze(-1) * core,)


def _product_of_others_last(values):
    size = values.shape[-1]
    ones = values.narrow(-1, 0, 1) * 0 + 1
    left = _shape.cat([ones, values.narrow(-1, 0, size - 1)], -1).cumprod(-1)
    right = _shape.cat([ones, values.flip(-1).narrow(-1, 0, size - 1)], -1).cumprod(-1).flip(-1)
    return left * right


def _svd_backward(a, grad_u, grad_s, grad_vh, full_matrices):
    """The gradient of A = U diag(S) Vh (reduced) from gradients of U, S and Vh (None: zero)."""
    if full_matrices and a.shape[-1] != a.shape[-2] and (grad_u is not None or grad_vh is not None):
        raise RuntimeError("linalg.svd: the derivative of full_matrices=True is not defined for "
                           "non-square inputs (torch refuses it too); use full_matrices=False")
    from .creation import eye
    u = _apply(_SVD_U, (a,), {"full_matrices": False})
    s = _apply(_SVD_S, (a,))
    vh = _apply(_SVD_VH, (a,), {"full_matrices": False})
    v = _transpose_last(vh)
    k = s.shape[-1]
    result = None
    if grad_s is not None:
        result = matmul(u * grad_s.unsqueeze(-2), vh)
    if grad_u is None and grad_vh is None:
        return result
    squared = s * s
    difference = squared.unsqueeze(-2) - squared.unsqueeze(-1)          # s_j^2 - s_i^2 at [i, j]
    identity = eye(k, dtype=a.dtype)
    f = _where(identity.bool(), 0.0, 1.0 / (difference + identity))
    inner = None
    if grad_u is not None:
        grad_u = grad_u.narrow(-1, 0, k)
        ut_gu = matmul(_transpose_last(u), grad_u)
        term = matmul(f * (ut_gu - _transpose_last(ut_gu)), _shape_diag(s))
        inner = term
        projected = grad_u - matmul(u, ut_gu)
        if a.shape[-2] > k:
            extra = matmul(projected / s.unsqueeze(-2), vh)
            result = extra if result is None else result + extra
    if grad_vh is not None:
        grad_v = _transpose_last(grad_vh.narrow(-2, 0, k))
        vt_gv = matmul(vh, grad_v)
        term = matmul(_shape_diag(s), f * (vt_gv - _transpose_last(vt_gv)))
        inner = term if inner is None else inner + term
        projected = grad_v - matmul(v, vt_gv)
        if a.shape[-1] > k:
            extra = matmul(u, _transpose_last(projected / s.unsqueeze(-2)))
            result = extra if result is None else result + extra
    core = matmul(matmul(u, inner), vh)
    return core if result is None else result + core


def _shape_diag(s):
    return diag_embed(s)


def _svd_part_vjp(part):
    """One rule per SVD output (U, S, Vh, or torch.svd's V); all share _svd_backward."""
    def vjp(ctx, grad):
        full = ctx.attrs.get("full_matrices", False)
        a = ctx.operands[0]
        if part == "u":
            return (_svd_backward(a, grad, None, None, full),)
        if part == "s":
            return (_svd_backward(a, None, grad, None, full),)
        grad_vh = grad if part == "vh" else _transpose_last(grad)
        return (_svd_backward(a, None, None, grad_vh, full),)
    return vjp


def _solve_vjp(ctx, grad):
    a, solution = ctx.operands[0], ctx.output
    if not ctx.attrs["left"]:
        raise RuntimeError("the derivative of linalg.solve(left=False) is not implemented")
    vector = solution.dim() == a.dim() - 1
    grad_b = _apply(_SOLVE, (_transpose_last(a), grad), {"left": True})
    x = solution.unsqueeze(-1) if vector else solution
    gb = grad_b.unsqueeze(-1) if vector else grad_b
    grad_a = -matmul(gb, _transpose_last(x)) if ctx.needs[0] else None
    return grad_a, grad_b


def _vector_norm_vjp(ctx, grad):
    """Subgradients as torch: 0 where the norm is 0; inf-norms share among ties."""
    x, norm_value = ctx.operands[0], ctx.output
    attrs = ctx.attrs
    ord, dims, keepdim = attrs["ord"], attrs["dims"], attrs["keepdim"]
    shape = x.shape
    if dims is None or x.dim() == 0:
        dims = tuple(range(x.dim()))
    if not keepdim:
        for d in sorted(dims):
            grad, norm_value = grad.unsqueeze(d), norm_value.unsqueeze(d)
    grad = grad.to(x.dtype)
    norm_value = norm_value.to(x.dtype)
    if ord == 0:
        return (x * 0,)
    if ord == 1:
        return (grad * x.sign(),)
    if ord in (_inf, -_inf):
        mask = (x.abs() == norm_value).to(x.dtype)
        count = mask.sum(dims, keepdim=True) if dims else mask
        return (grad * x.sign() * mask / count,)
    if ord == 2:
        scaled = x / norm_value
    else:
        scaled = x.sign() * x.abs().pow(ord - 1) / norm_value.pow(ord - 1)
    return (_where(norm_value == 0, 0.0, grad * scaled).expand(shape),)


def _matrix_norm_vjp(ctx, grad):
    """nuc: U Vh; 2/-2: the extreme singular pair; 1/inf (and -1/-inf): the sign pattern of the
    selected column (row) of absolute sums, shared among ties."""
    x, value = ctx.operands[0], ctx.output
    ord, dims, keepdim = ctx.attrs["ord"], ctx.attrs["dims"], ctx.attrs["keepdim"]
    if not keepdim:
        for d in sorted(dims):
            grad, value = grad.unsqueeze(d), value.unsqueeze(d)
    if ord in ("nuc", 2, -2):
        moved = x.movedim(dims, (-2, -1))
        u = _apply(_SVD_U, (moved,), {"full_matrices": False})
        vh = _apply(_SVD_VH, (moved,), {"full_matrices": False})
        if ord == "nuc":
            core = matmul(u, vh)
        else:
            s = _apply(_SVD_S, (moved,))
            target = s.amax(-1, keepdim=True) if ord == 2 else s.amin(-1, keepdim=True)
            chosen = (s == target).to(x.dtype)
            core = matmul(u * (chosen / chosen.sum(-1, keepdim=True)).unsqueeze(-2), vh)
        return (core.movedim((-2, -1), dims) * grad,)
    summed, compared = dims if abs(ord) == 1 else dims[::-1]
    sums = x.abs().sum(summed, keepdim=True)
    chosen = (sums == value).to(x.dtype)
    chosen = chosen / chosen.sum(compared, keepdim=True)
    return (grad * x.sign() * chosen,)


def _logabsdet_vjp(ctx, grad):
    return (grad.unsqueeze(-1).unsqueeze(-1) * _transpose_last(_apply(_INVERSE, (ctx.operands[0],))),)


def _eigh_values_vjp(ctx, grad):
    """d eigenvalues: V diag(g) V^T (the symmetric part, as torch returns)."""
    vectors = _apply(_EIGH_VECTORS, (ctx.operands[0],), ctx.attrs)
    return (matmul(vectors * grad.unsqueeze(-2), _transpose_last(vectors)),)


def _cholesky_vjp(ctx, grad):
    """gA = L^-T phi(L^T gL) L^-1, symmetrised; phi keeps the lower triangle, halving the diagonal."""
    factor = ctx.output
    if ctx.attrs["upper"]:
        factor, grad = _transpose_last(factor), _transpose_last(grad)
    product = matmul(_transpose_last(factor), grad)
    phi = _apply(_TRIL, (product,), {"diagonal": -1}) + diagonal_half(product)
    inverse = _apply(_INVERSE, (factor,))
    result = matmul(matmul(_transpose_last(inverse), phi), inverse)
    return (0.5 * (result + _transpose_last(result)),)


def diagonal_half(x):
    from .creation import eye
    return x * eye(x.shape[-1], dtype=x.dtype) * 0.5


def _eigh_vectors_vjp(ctx, grad):
    """d eigenvectors: V (F o (V^T gV)) V^T with F_ij = 1 / (l_j - l_i) off the diagonal."""
    from .creation import eye
    a = ctx.operands[0]
    values = _apply(_EIGH_VALUES, (a,), ctx.attrs)
    vectors = _apply(_EIGH_VECTORS, (a,), ctx.attrs)
    size = values.shape[-1]
    identity = eye(size, dtype=a.dtype)
    gap = values.unsqueeze(-2) - values.unsqueeze(-1)
    f = _where(identity.bool(), 0.0, 1.0 / (gap + identity))
    inner = f * matmul(_transpose_last(vectors), grad)
    return (matmul(matmul(vectors, inner), _transpose_last(vectors)),)


def _qr_vjp(part):
    """A = QR (reduced, rows >= columns): gA = (gQ + Q copyltu(M)) R^-T, M = R gR^T - gQ^T Q,
    where copyltu mirrors the lower triangle onto the upper one."""
    def vjp(ctx, grad):
        a = ctx.operands[0]
        mode = ctx.attrs["mode"]
        rows, columns = a.shape[-2], a.shape[-1]
        if rows < columns or (mode == "complete" and rows != columns):
            raise RuntimeError("the derivative of linalg.qr is implemented for reduced "
                               "factorisations with rows >= columns")
        q = _apply(_QR_Q, (a,), {"mode": "reduced"})
        r = _apply(_QR_R, (a,), {"mode": "reduced"})
        grad_q = grad if part == "q" else q * 0
        grad_r = grad if part == "r" else r * 0
        m = matmul(r, _transpose_last(grad_r)) - matmul(_transpose_last(grad_q), q)
        lower = _apply(_TRIL, (m,), {"diagonal": -1})
        mirrored = lower + _transpose_last(lower) + m * _eye_like(m)
        left = grad_q + matmul(q, mirrored)
        return (_transpose_last(_apply(_SOLVE, (r, _transpose_last(left)), {"left": True})),)
    return vjp


def _eye_like(m):
    from .creation import eye
    return eye(m.shape[-1], dtype=m.dtype)


defvjp("eigh_vectors", _eigh_vectors_vjp)
defvjp("qr_q", _qr_vjp("q"))
defvjp("qr_r", _qr_vjp("r"))
defvjp("matrix_norm", _matrix_norm_vjp, saves=(0, "output"))
defvjp("slogdet_logabsdet", _logabsdet_vjp)
defvjp("eigh_values", _eigh_values_vjp)
defvjp("cholesky", _cholesky_vjp, saves=("output",))
defvjp("matmul", _matmul_vjp)
defvjp("addmm", _addmm_vjp, saves=(1, 2))
defvjp("trace", _trace_vjp, saves=())
defvjp("diag_embed", _diag_embed_vjp, saves=())
defvjp("triu", _triangle_vjp(_TRIU), saves=())
defvjp("tril", _triangle_vjp(_TRIL), saves=())
defvjp("cross", _cross_vjp)
defvjp("inverse", _inverse_vjp, saves=("output",))
defvjp("det", _det_vjp, saves=(0, "output"))
defvjp("svd_s", _svd_part_vjp("s"))
defvjp("svd_u", _svd_part_vjp("u"))
defvjp("svd_vh", _svd_part_vjp("vh"))
defvjp("svd_v", _svd_part_vjp("v"))
defvjp("solve", _solve_vjp, saves=(0, "output"))
defvjp("vector_norm", _vector_norm_vjp, saves=(0, "output"))
