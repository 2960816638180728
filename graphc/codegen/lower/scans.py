"""Lowerings of scans: cumsum and cumprod along one dim, each line of the input folded in order
and accumulated in the result's type (as eager numpy accumulates)."""
from .. import kernel as k
from ..c_layout import _numel, _row_major
from . import entry, lowering

_START_AND_FOLD = {"cumsum": (0, "+="), "cumprod": (1, "*=")}
_ACCUMULATOR = k.Var("accumulator")


@lowering("cumsum", "cumprod")
def scan(position, graph, node, target, layouts, pointer_of, types, draw=None):
    source = node.inputs[0]
    shape = tuple(node.shape)
    start, fold = _START_AND_FOLD[node.op]
    element = types.of(target)
    if not shape:  # a 0-dim scan is its input
        body = [k.Store(target, k.Const(0), k.Load(pointer_of[source], k.Const(layouts[source][2])))]
        dim = 0
    else:
        dim = node.attrs["dim"] % len(shape)
        others = [d for d in range(len(shape)) if d != dim]
        lets, index = k.multi_index(k.Var("o"), [shape[d] for d in others], dims=others)
        index[dim] = k.Var(f"idx{dim}")
        along = k.Loop(f"idx{dim}", shape[dim], (
            k.Assign(_ACCUMULATOR, k.Load(pointer_of[source], k.strided(index, *layouts[source])),
                     fold),
            k.Store(target, k.strided(index, shape, _row_major(shape)), _ACCUMULATOR)),
            fold=k.Fold(("accumulator",), (k.Assign(_ACCUMULATOR, k.Var("other_accumulator"),
                                                    fold),)), scan=True)
        body = [k.Loop("o", _numel(shape[d] for d in others), tuple(lets) + (
            k.Let("accumulator", element, k.Const(start, element), mutable=True), along),
            k.PARALLEL)]
    ir = k.Kernel(node.op, [pointer_of[source]], [target], body,
                  comment="serial along the scanned dim")
    return entry(position, graph, node, f"{node.op} of %{source} along dim {dim}", ir, types)
