"""Lowerings of values that move elements without arithmetic (or with a little): cat, the
gradients of slices and diagonals, triu/tril, repeat, diag_embed, cross, trace, and the values
at positions a reduction or a sort found (value_select). Each is one pass over its result, or
zeros and then the region that is written."""
import numpy as np

from ...ir.registry import REGISTRY
from .. import kernel as k
from ..c_layout import Unsupported, _numel, _row_major
from . import entry, lowering
from .elementwise import fold_of


def _loop(shape, body, comment=None, kind=k.PARALLEL):
    """A flat loop over `shape`: body(index) gets {dim: index expression} and the flat index."""
    lets, index = k.multi_index(k.Var("i"), shape)
    return k.Loop("i", _numel(shape), tuple(lets) + tuple(body(index, k.Var("i"))), kind,
                  comment=comment)


def _zeros(pointer, count):
    return k.Loop("i", count, (k.Store(pointer, k.Var("i"), k.Const(0)),), k.PARALLEL)


def _copy(shape, target, target_layout, source, source_layout, comment=None):
    """target[at its layout] = source[at its layout] for every multi-index of `shape`."""
    return _loop(shape, lambda index, i: [k.Store(target, k.strided(index, *target_layout),
                                                  k.Load(source, k.strided(index, *source_layout)))],
                 comment)


def _kernel(name, reads, target, body, comment):
    return k.Kernel(name, list(dict.fromkeys(reads)), [target], list(body), comment=comment)


@lowering("slice_backward", "diagonal_backward")
def slice_backward(position, graph, node, target, layouts, pointer_of, types, draw=None):
    """The gradient of a slice or a diagonal: zeros, with the gradient copied into the region
    the forward view reads (found by running that view on an array of offsets: an affine map)."""
    shape = tuple(node.shape)
    forward = {"slice_backward": "slice", "diagonal_backward": "diagonal"}[node.op]
    attrs = {key: value for key, value in node.attrs.items() if key != "shape"}
    offsets = np.asarray(REGISTRY[forward].eager(
        np.arange(_numel(shape), dtype=np.int64).reshape(shape), **attrs))
    grad = node.inputs[0]
    part = tuple(offsets.shape)
    if offsets.size:
        base = int(offsets.flat[0])
        strides = tuple(int(offsets[tuple(1 if j == d else 0 for j in range(len(part)))]) - base
                        if size > 1 else 0 for d, size in enumerate(part))
    else:
        base, strides = 0, (0,) * len(part)
    body = [_zeros(target, _numel(shape)),
            _copy(part, target, (part, strides, base), pointer_of[grad], layouts[grad])]
    ir = _kernel(node.op, [pointer_of[grad]], target, body, "zeros, then the region")
    return entry(position, graph, node, f"zeros with %{grad} in the region of {forward} {attrs}",
                 ir, types)


@lowering("cat")
def cat(position, graph, node, target, layouts, pointer_of, types, draw=None):
    """cat: each operand copied into its block of the result along dim."""
    shape = tuple(node.shape)
    dim = node.attrs["dim"] % len(shape)
    strides = _row_major(shape)
    body, start, reads = [], 0, []
    for operand in node.inputs:
        if operand not in layouts:
            raise Unsupported("cat of a number (not compiled yet)")
        part = tuple(layouts[operand][0])
        if len(part) != len(shape) or 0 in part:  # torch skips empty 1-d operands
            continue
        body.append(_copy(part, target, (part, strides, start * strides[dim]),
                          pointer_of[operand], layouts[operand], comment=f"%{operand}"))
        reads.append(pointer_of[operand])
        start += part[dim]
    ir = _kernel("cat", reads, target, body, "each operand copied into its block")
    return entry(position, graph, node,
                 f"cat along dim {dim} of " + ", ".join(f"%{o}" for o in node.inputs), ir, types)


@lowering("value_select")
def value_select(position, graph, node, target, layouts, pointer_of, types, draw=None):
    """The values at the positions argmax/argmin/sort/topk/median found along `dim`: x read at
    index[o] along dim, for each element o of the index (kept dims read x as they are)."""
    source, index = node.inputs
    shape, strides, base = layouts[source]
    dim = node.attrs["dim"] % len(shape)
    index_shape, index_strides, index_base = layouts[index]
    if not node.attrs["keepdim"]:
        index_shape = tuple(index_shape[:dim]) + (1,) + tuple(index_shape[dim:])
        index_strides = tuple(index_strides[:dim]) + (0,) + tuple(index_strides[dim:])
    rest = (tuple(shape[:dim]) + (1,) + tuple(shape[dim + 1:]),
            tuple(strides[:dim]) + (0,) + tuple(strides[dim + 1:]), base)

    def body(at, i):
        found = k.Load(pointer_of[index], k.strided(at, index_shape, index_strides, index_base))
        return [k.Let("position", "int64_t", found),
                k.Store(target, i, k.Load(pointer_of[source], k.Var("position") * strides[dim]
                                          + k.strided(at, *rest)))]
    ir = _kernel("value_select", [pointer_of[source], pointer_of[index]], target,
                 [_loop(tuple(index_shape), body)], "each value read at the position found for it")
    return entry(position, graph, node,
                 f"%{source} at the positions %{index} found along dim {dim}", ir, types)


@lowering("triu", "tril")
def triangle(position, graph, node, target, layouts, pointer_of, types, draw=None):
    """triu/tril: the matrices (last two dims) kept on and above (triu) or below (tril) the
    diagonal `diagonal`, zero elsewhere."""
    source = node.inputs[0]
    shape = tuple(node.shape)
    rows, columns = len(shape) - 2, len(shape) - 1
    diagonal = node.attrs["diagonal"]

    def body(at, i):
        above = at[columns] - at[rows]
        keep = above.ge(diagonal) if node.op == "triu" else above.le(diagonal)
        return [k.Store(target, i, k.Select(keep, k.Load(pointer_of[source],
                                                         k.strided(at, *layouts[source])),
                                            k.Const(0)))]
    ir = _kernel(node.op, [pointer_of[source]], target, [_loop(shape, body)],
                 "one pass over the result")
    return entry(position, graph, node, f"{node.op} of %{source} at diagonal {diagonal}", ir,
                 types)


@lowering("diag_embed")
def diag_embed(position, graph, node, target, layouts, pointer_of, types, draw=None):
    """diag_embed (the gradient of a diagonal): zeros, with the last dim of x on the `offset`
    diagonal of the two new last dims."""
    if (node.attrs["dim1"], node.attrs["dim2"]) not in ((-2, -1), (len(node.shape) - 2,
                                                                 len(node.shape) - 1)):
        raise Unsupported("diag_embed into other dims than the last two (not compiled yet)")
    source = node.inputs[0]
    shape = tuple(layouts[source][0])
    size, offset = node.shape[-1], node.attrs["offset"]
    row, column = max(-offset, 0), max(offset, 0)

    def body(at, i):
        last = at[len(shape) - 1]
        place = (i // shape[-1]) * (size * size) + (last + row) * size + last + column
        return [k.Store(target, place, k.Load(pointer_of[source],
                                              k.strided(at, *layouts[source])))]
    ir = _kernel("diag_embed", [pointer_of[source]], target,
                 [_zeros(target, _numel(node.shape)), _loop(shape, body)],
                 "zeros, then the diagonal")
    return entry(position, graph, node, f"diag_embed of %{source} at offset {offset}", ir, types)


@lowering("cross")
def cross(position, graph, node, target, layouts, pointer_of, types, draw=None):
    """cross along dim (of size 3): c_i = a_(i+1) b_(i+2) - a_(i+2) b_(i+1), the operands read
    through their own (broadcast) strides."""
    shape = tuple(node.shape)
    dim = node.attrs["dim"] % len(shape)
    operands = []
    for operand in node.inputs:
        o_shape, o_strides, o_base = layouts[operand]
        lead = len(shape) - len(o_shape)
        o_shape, o_strides = (1,) * lead + tuple(o_shape), (0,) * lead + tuple(o_strides)
        rest = (tuple(1 if d == dim else n for d, n in enumerate(o_shape)),
                tuple(0 if d == dim else s for d, s in enumerate(o_strides)), o_base)
        operands.append((pointer_of[operand], rest, o_strides[dim]))

    def body(at, i):
        def element(which, shift):
            pointer, rest, stride = operands[which]
            return k.Load(pointer, k.strided(at, *rest) + ((at[dim] + shift) % 3) * stride)
        return [k.Store(target, i, element(0, 1) * element(1, 2) - element(0, 2) * element(1, 1))]
    ir = _kernel("cross", [p for p, _, _ in operands], target, [_loop(shape, body)],
                 "one pass over the result")
    return entry(position, graph, node, f"cross along dim {dim}", ir, types)


@lowering("repeat")
def repeat(position, graph, node, target, layouts, pointer_of, types, draw=None):
    """repeat (np.tile): out[i] reads x at each index modulo x's size in that dim (x's dims
    aligned to the right, as torch adds leading ones)."""
    source = node.inputs[0]
    shape, strides, base = layouts[source]
    out_shape = tuple(node.shape)
    lead = len(out_shape) - len(shape)

    def body(at, i):
        wrapped = {lead + d: at[lead + d] % n for d, n in enumerate(shape)}
        return [k.Store(target, i, k.Load(pointer_of[source],
                                          k.strided(wrapped, shape, strides, base)))]
    ir = _kernel("repeat", [pointer_of[source]], target, [_loop(out_shape, body)],
                 "one pass over the result")
    return entry(position, graph, node, f"repeat of %{source} {node.attrs['repeats']}", ir,
                 types)


@lowering("trace")
def trace(position, graph, node, target, layouts, pointer_of, types, draw=None):
    """trace: the sum of the main diagonal, accumulated in double."""
    source = node.inputs[0]
    (rows, columns), (row_stride, column_stride), base = layouts[source]
    total = k.Var("accumulator")
    # one output of a sum's fold (a dialect may split the diagonal over threads)
    body = [k.Loop("o", 1, (
        k.Let("accumulator", "double", k.Const(0.0), mutable=True),
        k.Loop("i", min(rows, columns), (k.Assign(total, k.Load(
            pointer_of[source], k.Var("i") * (row_stride + column_stride) + base), "+="),),
            fold=fold_of("sum")),
        k.Store(target, k.Var("o"), total)), k.PARALLEL)]
    ir = _kernel("trace", [pointer_of[source]], target, body, "the diagonal, summed")
    return entry(position, graph, node, f"trace of %{source}", ir, types)
