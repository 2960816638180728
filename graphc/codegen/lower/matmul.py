"""The lowering of matrix products: out[..., i, j] = sum_k a[..., i, k] * b[..., k, j]. A product
big enough to pay for the call is one BLAS GEMM per batch entry (operands passed in place,
transposed where that is their layout); a smaller one, or one whose operands BLAS cannot read, is
a loop nest: a parallel loop over the outputs, each summing over k in double through the
operands' strides."""
import numpy as np

from .. import blas
from .. import kernel as k
from ..c_layout import _numel
from . import entry, lowering

BLAS_MINIMUM = 16384  # multiply-adds below which a loop nest beats a BLAS call

_BLAS_COMMENT = "a BLAS call per batch entry (operands in place, transposed where that is their " \
                "layout)"
_ROW_MAJOR, _PLAIN, _TRANSPOSED = 101, 111, 112  # CBLAS's enums


def _blas_operand(rows, columns, row_stride, column_stride):
    """(transposed?, leading dimension) for a row-major BLAS call, or None."""
    if column_stride == 1 and row_stride >= max(columns, 1):
        return False, row_stride
    if row_stride == 1 and column_stride >= max(rows, 1):
        return True, column_stride
    return None


def _gemm(operands, layouts, batch, m, inner, n, target, ctype):
    """A loop over the batch calling GEMM once per entry, or None when BLAS cannot take it."""
    if blas.library_dir() is None or m * n * inner < BLAS_MINIMUM:
        return None
    (a_shape, a_strides, a_base), (b_shape, b_strides, b_base) = layouts
    left = _blas_operand(m, inner, a_strides[-2], a_strides[-1])
    right = _blas_operand(inner, n, b_strides[-2], b_strides[-1])
    if left is None or right is None:
        return None
    lets, index = k.multi_index(k.Var("batch"), batch)
    a_at = k.strided(index, tuple(a_shape[:-2]), tuple(a_strides[:-2]), a_base)
    b_at = k.strided(index, tuple(b_shape[:-2]), tuple(b_strides[:-2]), b_base)
    call = k.Call(blas.GEMM[ctype], (
        _ROW_MAJOR, _TRANSPOSED if left[0] else _PLAIN, _TRANSPOSED if right[0] else _PLAIN,
        m, n, inner, k.Const(1.0, ctype), k.Address(operands[0], a_at), left[1],
        k.Address(operands[1], b_at), right[1], k.Const(0.0, ctype),
        k.Address(target, k.Var("batch") * (m * n)), n))
    return k.Loop("batch", _numel(batch), (*lets, k.Do(call)))


def _loop_nest(operands, layouts, loop_shape, target, ctype, numel):
    """Each output o of (batch..., i, j) summing a[..., i, k] * b[..., k, j] over k."""
    summed = len(loop_shape) - 2
    kept = [d for d in range(len(loop_shape)) if d != summed]
    lets, index = k.multi_index(k.Var("o"), [loop_shape[d] for d in kept], dims=kept)
    index[summed] = k.Var(f"idx{summed}")
    accumulator = k.Var("accumulator")
    inner = k.Loop(f"idx{summed}", loop_shape[summed], (
        k.Let("left", ctype, k.Load(operands[0], k.strided(index, *layouts[0]))),
        k.Let("right", ctype, k.Load(operands[1], k.strided(index, *layouts[1]))),
        k.Assign(accumulator, k.Var("left") * k.Var("right"), "+=")))
    return k.Loop("o", numel, (*lets, k.Let("accumulator", "double", k.Const(0.0), mutable=True),
                               inner, k.Store(target, k.Var("o"), k.Cast(ctype, accumulator))),
                  k.PARALLEL, work=loop_shape[summed] * numel if numel > 1 else 0)


@lowering("matmul")
def matmul(position, graph, node, target, layouts, pointer_of, types, draw=None):
    a, b = node.inputs
    (a_shape, a_strides, a_base), (b_shape, b_strides, b_base) = layouts[a], layouts[b]
    # a vector is a one-row matrix on the left and a one-column matrix on the right (the
    # product's memory is the same with that dim dropped, as torch drops it)
    if len(a_shape) == 1:
        a_shape, a_strides = (1,) + tuple(a_shape), (a_shape[0] * a_strides[0],) + tuple(a_strides)
    if len(b_shape) == 1:
        b_shape, b_strides = tuple(b_shape) + (1,), tuple(b_strides) + (1,)
    batch = tuple(np.broadcast_shapes(tuple(a_shape[:-2]), tuple(b_shape[:-2])))
    m, inner, n = a_shape[-2], a_shape[-1], b_shape[-1]
    operands = (pointer_of[a], pointer_of[b])
    reads = list(dict.fromkeys(operands))
    arguments = None
    if len(reads) == 2 and (a_base or b_base):
        # each operand's start is passed (`in0_data + 256`), so that the products of an
        # unrolled loop's steps are one function (see loop_passes.share_identical_kernels)
        arguments = ", ".join([f"{pointer} + {base}" if base else pointer
                               for pointer, base in zip(reads, (a_base, b_base))] + [target])
        a_base = b_base = 0
    ctype = types.compute
    loop = _gemm(operands, ((a_shape, a_strides, a_base), (b_shape, b_strides, b_base)), batch,
                 m, inner, n, target, ctype)
    if loop is None:
        # both operands on the loop (batch..., i, k, j): a has no j, b no i
        operand_layouts = ((tuple(a_shape[:-2]) + (m, inner, 1),
                            tuple(a_strides[:-2]) + (a_strides[-2], a_strides[-1], 0), a_base),
                           (tuple(b_shape[:-2]) + (1, inner, n),
                            tuple(b_strides[:-2]) + (0, b_strides[-2], b_strides[-1]), b_base))
        loop = _loop_nest(operands, operand_layouts, batch + (m, inner, n), target, ctype,
                          _numel(node.shape))
        comment = f"{inner} products summed into each output, accumulated in double"
    else:
        comment = _BLAS_COMMENT
    ir = k.Kernel("matmul", reads, [target], [loop], comment=comment)
    scheduled = entry(position, graph, node, f"matmul of %{a} [{', '.join(map(str, a_shape))}] "
                      f"and %{b} [{', '.join(map(str, b_shape))}]", ir, types,
                      arguments=arguments)
    scheduled["gemm"] = comment == _BLAS_COMMENT  # C declares BLAS; CUDA calls cuBLAS
    return scheduled
