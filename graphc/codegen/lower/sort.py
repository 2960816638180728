"""Lowerings of sorts: sort/argsort, topk, kthvalue, median, nanmedian and mode. Every line along
`dim` is copied as (value, index) pairs into scratch memory, the lines are sorted by
graphc_sort_lines in eager's stable orders (equal values keep their order, NaN last ascending and
first descending: on C, qsort with the runtime's comparators, templates/c/elementwise.c.j2; on
CUDA, CUB's segmented stable radix sort, templates/cuda/sort.cuh), then the positions the op asks
for are written out. Copying and picking are parallel over the lines."""
from .. import kernel as k
from ..c_layout import _numel, _row_major
from . import entry, lowering

_SORTED = ("sort_indices", "topk_indices", "kthvalue_indices", "median_indices", "median_all",
           "mode_indices")


def _pair(position, field):
    """A field of the sorted line's element at `position` (line o of the scratch `lines`)."""
    return k.Member(k.Load("lines", k.Var("line_start") + position), field)


@lowering(*_SORTED)
def sort(position, graph, node, target, layouts, pointer_of, types, draw=None):
    source = node.inputs[0]
    shape, strides, base = layouts[source]
    shape = tuple(shape)
    if node.op == "median_all":  # all elements as one line
        dim, others, size = None, [], _numel(shape)
    else:
        dim = node.attrs["dim"] % len(shape)
        others, size = [d for d in range(len(shape)) if d != dim], shape[dim]
    count = _numel(shape[d] for d in others)
    descending = node.attrs.get("descending") or node.attrs.get("largest", False)
    lets, index = k.multi_index(k.Var("o"), [shape[d] for d in others], dims=others)
    lets.append(k.Let("line_start", "int64_t", k.Var("o") * size))
    if dim is None:
        along = k.Var("i")
        element, index = k.multi_index(along, shape)
    else:
        along, element = k.Var(f"idx{dim}"), []
        index[dim] = along
    fill = k.Loop(along.name, size, tuple(element) + (
        k.Assign(_pair(along, "value"), k.Load(pointer_of[source], k.strided(index, shape, strides,
                                                                             base))),
        k.Assign(_pair(along, "index"), along)))
    order = k.Call("graphc_sort_lines", (k.Var("lines"), count, size, int(bool(descending))))
    picked = _picked(node, target, shape, dim, size, index)
    lines = k.Loop("o", count, (*lets, fill), k.PARALLEL, comment="each line copied",
                   work=count * size)
    picks = k.Loop("o", count, (*lets, *picked), k.PARALLEL, work=count * size)
    ir = k.Kernel(node.op, [pointer_of[source]], [target], [lines, k.Do(order), picks],
                  scratch=[("graphc_ranked", "lines", count * size)],
                  comment="the lines sorted in eager's stable order")
    return entry(position, graph, node, f"{node.op} of %{source}"
                 + ("" if dim is None else f" along dim {dim}"), ir, types)


def _picked(node, target, shape, dim, size, index):
    """The statements writing what the op takes from the sorted line: the result is row-major
    over the input's shape with `count` along dim (one position for all but sort and topk)."""
    count = {"sort_indices": size, "topk_indices": node.attrs.get("k")}.get(node.op, 1)
    if dim is not None:
        kept = shape[:dim] + (count,) + shape[dim + 1:]
        first = {**index, dim: k.Const(0)}
        written = k.strided(first, kept, _row_major(kept))
    if node.op in ("sort_indices", "topk_indices"):
        along = index[dim]
        return [k.Loop(along.name, count, (
            k.Store(target, k.strided(index, kept, _row_major(kept)), _pair(along, "index")),))]
    if node.op == "kthvalue_indices":
        return [k.Store(target, written, _pair(k.Const(node.attrs["k"] - 1), "index"))]
    if node.op == "mode_indices":  # the end of the first longest run of equal values
        j, start, longest = k.Var("j"), k.Var("start"), k.Var("longest")
        # NaN equals nothing: a run of its own
        new_run = j.gt(0).and_(_pair(j, "value").eq(_pair(j - 1, "value")).not_())
        return [k.Let("best", "int64_t", k.Const(0), mutable=True),
                k.Let("longest", "int64_t", k.Const(-1), mutable=True),
                k.Let("start", "int64_t", k.Const(0), mutable=True),
                k.Loop("j", size, (
                    k.If(new_run, (k.Assign(start, j),)),
                    k.If((j - start).gt(longest), (k.Assign(longest, j - start),
                                                   k.Assign(k.Var("best"), j))))),
                k.Store(target, written, _pair(k.Var("best"), "index"))]
    # medians: NaN sorts last, so the `present` values (not NaN) come first
    present, j = k.Var("present"), k.Var("j")
    counted = [k.Let("present", "int64_t", k.Const(0), mutable=True),
               k.Loop("j", size, (k.If(_pair(j, "value").eq(_pair(j, "value")),
                                       (k.Assign(present, k.Const(1), "+="),)),))]
    if node.attrs["ignore_nan"]:
        at = k.Select(present.gt(0), present - 1, k.Const(0)) // 2
    else:  # torch.median: the first NaN, if any
        at = k.Select(present.lt(size), present, k.Const(max(size - 1, 0) // 2))
    if node.op == "median_all":
        undefined = present.eq(0) if node.attrs["ignore_nan"] else \
            present.eq(0).or_(present.lt(size))
        return counted + [k.Store(target, k.Const(0), k.Select(undefined, k.Const("NAN"),
                                                               _pair(at, "value")))]
    return counted + [k.Store(target, written, _pair(at, "index"))]
