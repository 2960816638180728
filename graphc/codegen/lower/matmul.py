"""The lowering of matrix products: out[..., i, j] = sum_k a[..., i, k] * b[..., k, j]. A product
big enough to pay for the call is one BLAS GEMM per batch entry (operands passed in place,
transposed where that is their layout); a smaller one, or one whose operands BLAS cannot read, is
a loop nest: a parallel loop over the outputs, each summing over k in double through the
operands' strides.

A product whose result only feeds an SGD step stored in place (`w.sub_(lr * g)` with the .grad
dropped) accumulates into the weight instead (`scale`): GEMM with alpha = -lr and
beta = 1 writes `w` directly, so the gradient never goes through memory."""
import numpy as np

from .. import blas
from .. import kernel as k
from ...ir.graph import Constant
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


def _gemm(operands, layouts, batch, m, inner, n, target, ctype, scale=None):
    """A loop over the batch calling GEMM once per entry, or None when BLAS cannot take it;
    with `scale`, target += scale * product."""
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
        m, n, inner, k.Const(1.0 if scale is None else scale, ctype),
        k.Address(operands[0], a_at), left[1], k.Address(operands[1], b_at), right[1],
        k.Const(0.0 if scale is None else 1.0, ctype),
        k.Address(target, k.Var("batch") * (m * n)), n))
    return k.Loop("batch", _numel(batch), (*lets, k.Do(call)))


def _loop_nest(operands, layouts, loop_shape, target, ctype, numel, scale=None):
    """Each output o of (batch..., i, j) summing a[..., i, k] * b[..., k, j] over k; with
    `scale`, target[o] += scale * the product rounded to its type (eager's order of rounding)."""
    summed = len(loop_shape) - 2
    kept = [d for d in range(len(loop_shape)) if d != summed]
    lets, index = k.multi_index(k.Var("o"), [loop_shape[d] for d in kept], dims=kept)
    index[summed] = k.Var(f"idx{summed}")
    accumulator = k.Var("accumulator")
    inner = k.Loop(f"idx{summed}", loop_shape[summed], (
        k.Let("left", ctype, k.Load(operands[0], k.strided(index, *layouts[0]))),
        k.Let("right", ctype, k.Load(operands[1], k.strided(index, *layouts[1]))),
        k.Assign(accumulator, k.Var("left") * k.Var("right"), "+=")))
    result = k.Cast(ctype, accumulator)
    if scale is not None:
        result = k.Load(target, k.Var("o")) + result * k.Const(scale, ctype)
    return k.Loop("o", numel, (*lets, k.Let("accumulator", "double", k.Const(0.0), mutable=True),
                               inner, k.Store(target, k.Var("o"), result)),
                  k.PARALLEL, work=loop_shape[summed] * numel if numel > 1 else 0)


_SAME_VALUES = ("clone", "contiguous", "alias")


def scaled_product(graph, value, target):
    """(the product, scale) when `value` is `target + scale * product` elementwise, as an SGD
    step computes it (`w.sub_(lr * g)`, `w.add_(g, alpha=-lr)`, g a copy of the product), with
    one scalar multiplication (two would round twice) and no broadcast; else None."""
    node = graph.node(value)
    if node.op not in ("add", "sub") or node.attrs or node.inputs[0] != target:
        return None
    scale, name, chain = (1.0 if node.op == "add" else -1.0), node.inputs[1], [node]
    multiplied = False
    while not isinstance(name, Constant):
        operand = graph.node(name)
        chain.append(operand)
        if operand.op == "matmul":
            same = all(tuple(n.shape) == tuple(graph.node(target).shape)
                       and n.dtype is graph.node(target).dtype for n in chain)
            return (operand, scale) if same and multiplied else None
        if operand.op in _SAME_VALUES:
            name = operand.inputs[0]
        elif operand.op == "neg":
            scale, name = -scale, operand.inputs[0]
        elif operand.op == "mul" and not multiplied and not operand.attrs and sum(
                isinstance(i, Constant) and type(i.value) is float for i in operand.inputs) == 1:
            factor, name = sorted(operand.inputs, key=lambda i: not isinstance(i, Constant))
            scale, multiplied = scale * factor.value, True
        else:
            return None
    return None


@lowering("matmul")
def matmul(position, graph, node, target, layouts, pointer_of, types, draw=None, scale=None):
    """`scale`: accumulate scale * the product into `target` (see scaled_product)."""
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
        arguments = [k.Address(pointer, k.Const(base)) if base else k.Var(pointer)
                     for pointer, base in zip(reads, (a_base, b_base))] + [k.Var(target)]
        a_base = b_base = 0
    ctype = types.compute
    loop = _gemm(operands, ((a_shape, a_strides, a_base), (b_shape, b_strides, b_base)), batch,
                 m, inner, n, target, ctype, scale)
    gemm = loop is not None
    if not gemm:
        # both operands on the loop (batch..., i, k, j): a has no j, b no i
        operand_layouts = ((tuple(a_shape[:-2]) + (m, inner, 1),
                            tuple(a_strides[:-2]) + (a_strides[-2], a_strides[-1], 0), a_base),
                           (tuple(b_shape[:-2]) + (1, inner, n),
                            tuple(b_strides[:-2]) + (0, b_strides[-2], b_strides[-1]), b_base))
        loop = _loop_nest(operands, operand_layouts, batch + (m, inner, n), target, ctype,
                          _numel(node.shape), scale)
        comment = f"{inner} products summed into each output, accumulated in double"
    else:
        comment = _BLAS_COMMENT
    if scale is not None:
        comment += f"; {scale!r} times the product added into the tensor it updates"
    ir = k.Kernel("matmul", reads, [target], [loop], comment=comment)
    scheduled = entry(position, graph, node, f"matmul of %{a} [{', '.join(map(str, a_shape))}] "
                      f"and %{b} [{', '.join(map(str, b_shape))}]", ir, types,
                      arguments=arguments)
    scheduled.gemm = gemm  # C declares BLAS; CUDA calls cuBLAS
    return scheduled
