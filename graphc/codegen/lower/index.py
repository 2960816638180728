"""Lowerings of gathers and scatters by index tensors: advanced indexing (index, index_put),
gather/scatter/scatter_add/scatter_reduce, index_select, index_add/index_copy/index_fill and
take/put. Every index is checked in the order eager reads them (the first bad one is the one
reported, with eager's exception); a scatter copies its base first (independent copies, so
parallel), then stores in order, so that repeated indices accumulate."""
import numpy as np

from .. import kernel as k
from ..c_layout import _constant, _dense, _numel, _row_major
from ..errors import ErrorKind
from . import entry, lowering

# the ops schedule.py checks before lowering (int64 index tensors, no reduce= scatter)
_INDEXING = ("index", "index_put", "value_select", "gather", "scatter", "scatter_add",
             "scatter_reduce")

_SERIAL_COMMENT = "serial: stores may land on one element twice, and the first bad index is " \
                  "reported"


def _index_placement(shape, dims, index_shapes):
    """numpy's and torch's rule for the result of x[..., i, j, ...]: the broadcast shape of the
    index tensors replaces the indexed dims where they are adjacent, else it goes first.
    Returns (result shape, where the broadcast block starts, the broadcast shape)."""
    block = tuple(np.broadcast_shapes(*[tuple(s) for s in index_shapes]))
    rest = [size for d, size in enumerate(shape) if d not in dims]
    adjacent = list(dims) == list(range(dims[0], dims[0] + len(dims)))
    start = dims[0] if adjacent else 0
    return tuple(rest[:start]) + block + tuple(rest[start:]), start, block


def _each(shape, body, kind=k.SERIAL, comment=None):
    """A flat loop over `shape`: body(index) gets {dim: index expression}."""
    lets, index = k.multi_index(k.Var("i"), shape)
    return k.Loop("i", _numel(shape), tuple(lets) + tuple(body(index)), kind, comment=comment)


def _base_copy(target, shape, layout, source):
    """target (row-major over `shape`) = source at its layout: the base a scatter writes into."""
    shape = tuple(shape)
    if tuple(layout[0]) == shape and not layout[2] and _dense(shape, layout[1]):
        return k.Loop("i", _numel(shape), (k.Store(target, k.Var("i"),
                                                   k.Load(source, k.Var("i"))),),
                      k.PARALLEL, comment="the base first")
    return _each(shape, lambda at: [k.Store(target, k.Var("i"),
                                            k.Load(source, k.strided(at, *layout)))],
                 k.PARALLEL, "the base first")


def _checked_position(name, read, low, size, kind, dim, wrap):
    """Statements reading an index into `name`, stopping the call when it lies outside
    [low, size) (eager's error: kind, the index, size, dim), and counting a negative one from
    the end when `wrap`."""
    position = k.Var(name)
    statements = [k.Let(name, "int64_t", read, mutable=wrap),
                  k.Check(position.lt(low).or_(position.ge(size)), kind, position, size, dim)]
    if wrap:
        statements.append(k.Assign(position, k.Select(position.lt(0), k.Const(size),
                                                      k.Const(0)), "+="))
    return statements


def _kernel(node, reads, target, body, comment=_SERIAL_COMMENT, scratch=()):
    return k.Kernel(node.op, list(dict.fromkeys(reads)), [target], list(body),
                    scratch=list(scratch), comment=comment)


@lowering("index", "index_put")
def indexing(position, graph, node, target, layouts, pointer_of, types, draw=None):
    """Advanced indexing by int64 index tensors at one or more dims: `index` gathers
    x[..., i[j...], k[j...], ...] into its buffer; `index_put` copies its base into the buffer,
    then stores (or adds, one element at a time so that repeated indices accumulate) its values
    at the indexed positions. Every index is checked against its dimension's size; the first
    one outside [-size, size), in the order torch's kernel reads them, stops the call with
    IndexError."""
    dims = tuple(node.attrs["dims"])
    if node.op == "index":
        source, indices = node.inputs[0], node.inputs[1:]
    else:
        (source, values), indices = node.inputs[:2], node.inputs[2:]
    source_shape = tuple(graph.node(source).shape)
    index_layouts = [layouts[index] for index in indices]
    loop_shape, start, block = _index_placement(source_shape, dims,
                                                [layout[0] for layout in index_layouts])
    # the indexed array, addressed at the loop's multi-index with the indexed dims replaced
    if node.op == "index":
        shape, strides, base = layouts[source]
    else:
        shape, strides, base = tuple(node.shape), _row_major(tuple(node.shape)), 0
    rest = [d for d in range(len(shape)) if d not in dims]
    outer = [shape[d] for d in rest]
    outer = tuple(outer[:start]) + (1,) * len(block) + tuple(outer[start:])
    outer_strides = [strides[d] for d in rest]
    outer_strides = tuple(outer_strides[:start]) + (0,) * len(block) + tuple(outer_strides[start:])

    def body(at):
        statements, address = [], k.strided(at, outer, outer_strides, base)
        for ordinal, (dim, index, (index_shape, index_strides, index_base)) in enumerate(
                zip(dims, indices, index_layouts)):
            # the index tensor broadcast into the block (aligned right, as numpy broadcasts)
            lead = (1,) * (start + len(block) - len(index_shape))
            tail = (1,) * (len(loop_shape) - start - len(block))
            read = k.Load(pointer_of[index], k.strided(
                at, lead + tuple(index_shape) + tail,
                (0,) * len(lead) + tuple(index_strides) + (0,) * len(tail), index_base))
            size = source_shape[dim]
            statements += _checked_position(f"position{ordinal}", read, -size, size,
                                            ErrorKind.INDEX_OUT_OF_BOUNDS, ordinal, wrap=True)
            address = address + k.Var(f"position{ordinal}") * strides[dim]
        if node.op == "index":
            return statements + [k.Store(target, k.Var("i"), k.Load(pointer_of[source], address))]
        value = k.Load(pointer_of[values], k.strided(at, *layouts[values]))
        return statements + [k.Store(target, address, value,
                                     "+=" if node.attrs["accumulate"] else "=")]

    loops = [_each(loop_shape, body)]
    reads = [pointer_of[source]] + [pointer_of[index] for index in indices]
    if node.op == "index_put":
        reads.insert(1, pointer_of[values])
        loops.insert(0, _base_copy(target, node.shape, layouts[source], pointer_of[source]))
    described = ", ".join(f"%{index} [{', '.join(map(str, layouts[index][0]))}]"
                          for index in indices)
    accumulating = node.op == "index_put" and node.attrs["accumulate"]
    return entry(position, graph, node, f"{node.op} at dims {list(dims)} by {described}"
                 + (" (accumulating)" if accumulating else ""),
                 _kernel(node, reads, target, loops), types)


_IDENTITY = {"sum": 0, "mean": 0, "prod": 1, "amax": float("-inf"), "amin": float("inf")}


@lowering("gather", "scatter", "scatter_add", "scatter_reduce")
def gather_scatter(position, graph, node, target, layouts, pointer_of, types, draw=None):
    """gather: out[o] = x[o with dim replaced by index[o]]; scatter/scatter_add: the base
    copied, then src[o] stored (or added, one element at a time) at index[o] along dim. Loops
    over the index's shape; every index must lie in [0, size), else RuntimeError as eager's."""
    dim_attr = node.attrs["dim"]
    if node.op == "gather":
        source, index = node.inputs
    else:
        source, index, values = node.inputs
    index_shape = tuple(layouts[index][0])
    dim = dim_attr % max(len(index_shape), 1)
    size = graph.node(source).shape[dim] if graph.node(source).shape else 1
    reads, loops = [pointer_of[source], pointer_of[index]], []
    if node.op == "gather":
        shape, strides, base = layouts[source]
    else:
        shape = tuple(node.shape)
        shape, strides, base = shape, _row_major(shape), 0
        loops.append(_base_copy(target, shape, layouts[source], pointer_of[source]))
    others = tuple(0 if d == dim else stride for d, stride in enumerate(strides))

    def address(at):
        rest = k.strided(at, index_shape, others, base)
        return k.Var("position") * strides[dim] + rest if strides else rest

    # nll_loss's gather of the class targets fails with its own IndexError
    kind = ErrorKind.CLASS_TARGET_OUT_OF_BOUNDS if node.attrs.get("class_targets") else \
        ErrorKind.GATHER_SCATTER_OUT_OF_BOUNDS

    def each_index(body):  # a loop over the index, each position checked, then body(at)
        return _each(index_shape, lambda at: _checked_position(
            "position", k.Load(pointer_of[index], k.strided(at, *layouts[index])), 0, size,
            kind, dim_attr, wrap=False) + body(at))

    if node.op == "scatter_reduce":
        return _scatter_reduce(position, graph, node, target, layouts, pointer_of, types, reads,
                               loops, each_index, address, _numel(shape))
    if node.op == "gather":
        loops.append(each_index(lambda at: [
            k.Store(target, k.Var("i"), k.Load(pointer_of[source], address(at)))]))
    else:
        if values in layouts:
            reads.append(pointer_of[values])

            def value(at):
                return k.Load(pointer_of[values], k.strided(at, *layouts[values]))
        else:
            def value(at):
                return k.Const(float(_constant(values)))
        operator = "+=" if node.op == "scatter_add" else "="
        loops.append(each_index(lambda at: [k.Store(target, address(at), value(at), operator)]))
    shown = ", ".join(map(str, index_shape))
    return entry(position, graph, node, f"{node.op} along dim {dim} by %{index} [{shown}]",
                 _kernel(node, reads, target, loops), types)


def _scatter_reduce(position, graph, node, target, layouts, pointer_of, types, reads, loops,
                    each_index, address, numel):
    """scatter_reduce, as eager: the base copied; without include_self the scattered-to
    elements start from the reduction's identity; then each src element folded in, in order
    (amax/amin keep a NaN); mean divides by how many were folded into each element."""
    _, index, values = node.inputs
    reduce, include_self = node.attrs["reduce"], node.attrs["include_self"]
    reads = reads + [pointer_of[values]]
    if not include_self:
        loops.append(each_index(lambda at: [
            k.Store(target, address(at), k.Const(_IDENTITY[reduce]))]))
    v = k.Var("v")

    def fold(at):
        place = address(at)
        here = k.Load(target, place)
        statements = [k.Let("v", "double", k.Load(pointer_of[values],
                                                  k.strided(at, *layouts[values])))]
        if reduce in ("sum", "mean", "prod"):
            statements.append(k.Store(target, place, v, "*=" if reduce == "prod" else "+="))
        else:  # a NaN, once folded in, stays
            wins = v.gt(here) if reduce == "amax" else v.lt(here)
            statements.append(k.Store(target, place, k.Select(wins.or_(v.ne(v)), v, here)))
        if reduce == "mean":
            statements.append(k.Store("counts", place, k.Const(1), "+="))
        return statements

    scratch = []
    if reduce == "mean":
        scratch = [("int64_t", "counts", numel)]
        loops.append(k.Loop("i", numel, (k.Store("counts", k.Var("i"),
                                                 k.Const(1 if include_self else 0)),),
                            k.PARALLEL))
    loops.append(each_index(fold))
    if reduce == "mean":
        count = k.Load("counts", k.Var("i"))
        loops.append(k.Loop("i", numel, (k.If(count.gt(0), (
            k.Store(target, k.Var("i"), count, "/="),)),), k.PARALLEL))
    return entry(position, graph, node, f"scatter_reduce ({reduce}) by %{index}",
                 _kernel(node, reads, target, loops, scratch=scratch), types)


@lowering("index_select")
def index_select(position, graph, node, target, layouts, pointer_of, types, draw=None):
    """index_select: out[..., j, ...] = x[..., index[j], ...] along dim; an index outside
    [0, size) stops the call with eager's RuntimeError."""
    source, index = node.inputs
    shape, strides, base = layouts[source]
    out_shape = tuple(node.shape)
    if not shape:  # a 0-d input is copied
        body = [k.Store(target, k.Const(0), k.Load(pointer_of[source], k.Const(base)))]
        return entry(position, graph, node, f"index_select of 0-d %{source}",
                     _kernel(node, [pointer_of[source]], target, body, "a copy"), types)
    dim = node.attrs["dim"] % len(shape)
    size = shape[dim]
    index_shape, index_strides, index_base = layouts[index]
    index_stride = index_strides[-1] if index_strides and _numel(index_shape) != 1 else 0
    others = tuple(0 if d == dim else stride for d, stride in enumerate(strides))
    # eager's bounds error: torch's dim-1 kernel's RuntimeError, else an IndexError
    kind = ErrorKind.INDEX_SELECT_DIM1_OUT_OF_BOUNDS if len(shape) > 1 and dim == 1 else \
        ErrorKind.INDEX_SELECT_OUT_OF_RANGE

    def body(at):
        read = k.Load(pointer_of[index], at[dim] * index_stride + index_base)
        rest = k.strided(at, tuple(1 if d == dim else n for d, n in enumerate(shape)), others,
                         base)
        return _checked_position("position", read, 0, size, kind, 0, wrap=False) + [
            k.Store(target, k.Var("i"), k.Load(pointer_of[source],
                                               k.Var("position") * strides[dim] + rest))]
    return entry(position, graph, node, f"index_select along dim {dim} by %{index}",
                 _kernel(node, [pointer_of[source], pointer_of[index]], target,
                         [_each(out_shape, body)]), types)


@lowering("index_add", "index_copy", "index_fill")
def index_add(position, graph, node, target, layouts, pointer_of, types, draw=None):
    """index_add (index_select's gradient), index_copy and index_fill along dim: the base
    copied, then at index[j] the source's slice j added (one element at a time, so repeated
    indices accumulate) or stored, or the value stored. Bad indices raise as eager does."""
    base_name, index, source = node.inputs
    shape = tuple(node.shape)
    dim = node.attrs["dim"] % max(len(shape), 1)
    strides, size = _row_major(shape), shape[dim] if shape else 1
    index_shape, index_strides, index_base = layouts[index]
    index_stride = index_strides[-1] if index_strides else 0
    if node.op == "index_fill":  # every element of the filled slices (each index of a 0-d x)
        loop_shape = tuple(_numel(index_shape) if d == dim else n for d, n in enumerate(shape)) \
            or (_numel(index_shape),)
    else:
        loop_shape = tuple(layouts[source][0])
    others = tuple(0 if d == dim else stride for d, stride in enumerate(strides))
    alpha = node.attrs.get("alpha", 1)
    # index_add: RuntimeError (IndexError without its own words where torch's kernel has
    # none), index_copy: its own IndexError; both want [0, size); index_fill takes negative
    # indices too
    kind, low = {"index_add": (ErrorKind.GATHER_SCATTER_OUT_OF_BOUNDS, 0),
                 "index_copy": (ErrorKind.INDEX_COPY_OUT_OF_BOUNDS, 0)}.get(
        node.op, (ErrorKind.INDEX_OUT_OF_BOUNDS, -size))
    if node.op == "index_add" and not (alpha == 1 and len(shape) > 1
                                       and dim in (0, len(shape) - 1)):
        kind = ErrorKind.INDEX_SELECT_OUT_OF_RANGE

    def value(at):
        if node.op != "index_fill":
            read = k.Load(pointer_of[source], k.strided(at, *layouts[source]))
            return k.Const(float(alpha)) * read if node.op == "index_add" and alpha != 1 else read
        if source in layouts:
            return k.Load(pointer_of[source], k.Const(layouts[source][2]))
        return k.Const(float(_constant(source)))

    def body(at):
        along = at.get(dim, k.Const(0))
        rest = k.strided(at, tuple(1 if d == dim else n for d, n in enumerate(shape)), others)
        return _checked_position("position", k.Load(pointer_of[index],
                                                    along * index_stride + index_base),
                                 low, size, kind, dim, wrap=True) + [
            k.Store(target, k.Var("position") * (strides[dim] if shape else 0) + rest,
                    value(at), "+=" if node.op == "index_add" else "=")]
    reads = [pointer_of[base_name], pointer_of[index]] + (
        [pointer_of[source]] if source in layouts else [])
    loops = [_base_copy(target, shape, layouts[base_name], pointer_of[base_name]),
             _each(loop_shape, body)]
    return entry(position, graph, node, f"{node.op} along dim {dim} by %{index}",
                 _kernel(node, reads, target, loops), types)


@lowering("take", "put")
def take_put(position, graph, node, target, layouts, pointer_of, types, draw=None):
    """take and put: x read (take) or written (put, stored or accumulated, in order) at flat
    row-major positions, negative ones counting from the end; a position outside [-n, n)
    raises eager's IndexError."""
    source, index = node.inputs[:2]
    shape, strides, base = layouts[source]
    n = _numel(shape)
    index_shape = tuple(layouts[index][0])
    reads, loops = [pointer_of[source], pointer_of[index]], []
    if node.op == "put":
        values = node.inputs[2]
        reads.append(pointer_of[values])
        loops.append(_base_copy(target, shape, layouts[source], pointer_of[source]))

    def body(at):
        statements = _checked_position(
            "position", k.Load(pointer_of[index], k.strided(at, *layouts[index])), -n, n,
            ErrorKind.TAKE_OUT_OF_RANGE, 0, wrap=True)
        if node.op == "take":  # x at the flat position, through its strides
            lets, place = k.multi_index(k.Var("position"), tuple(shape), prefix="place")
            return statements + lets + [k.Store(target, k.Var("i"), k.Load(
                pointer_of[source], k.strided(place, shape, strides, base)))]
        operator = "+=" if node.attrs.get("accumulate") else "="
        return statements + [k.Store(target, k.Var("position"), k.Load(
            pointer_of[values], k.strided(at, *layouts[values])), operator)]
    loops.append(_each(index_shape, body))
    return entry(position, graph, node, f"{node.op} at the flat positions %{index}",
                 _kernel(node, reads, target, loops), types)
