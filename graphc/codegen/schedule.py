"""The scheduler: which values of a traced graph live in memory, and which kernel computes each.

The same for every target. Inputs are in memory; so are reductions, every value an op with a
lowering computes (codegen/lower: products, gathers, scans, sorts, draws, ...) and the values
those ops read; views read their root's memory through an affine map (a broadcast or a view is
never copied); every other value is fused into the kernel of the output or buffer reading it.
`schedule` returns that plan: the graph's compute dtype, each value's layout and pointer, the
element type of each pointer, and the kernels' targets in the order they run."""
import dataclasses

from .. import dtypes as _dt
from ..ir.registry import REGISTRY
from .lower.random import _RANDOM
from .lower.index import _INDEXING, _index_placement
from .c_layout import (Unsupported, _ElementTypes, _memory_map, _row_major, _view_chain)
from .lower import LOWERINGS

__all__ = ["Schedule", "schedule", "LOWERED", "REDUCTIONS"]

# views that only change how a value is broadcast, not which elements it has
_PASS_THROUGH_VIEWS = {"alias", "expand"}
# copies: the same values (in a fused kernel, nothing to do)
_IDENTITIES = {"clone", "contiguous"}
# copies that read their input through an affine map (negative strides): compiled as views
_AFFINE_COPIES = {"flip"}

REDUCTIONS = ("sum", "mean", "amax", "amin", "prod", "vector_norm", "argmax", "argmin", "all",
              "any", "count_nonzero")

# elementwise ops whose C meaning on integers is torch's (C's % and / round otherwise)
_INTEGER_ARITHMETIC = ("add", "sub", "mul", "neg", "abs", "maximum", "minimum", "where",
                       "clamp", "clamp_min", "clamp_max")
# int64 values the backend computes (a float graph's other values are its float type or bool)
_INTEGER_RESULTS = _INTEGER_ARITHMETIC + (
    "argmax", "argmin", "count_nonzero", "sum", "cast", "input", "randperm", "multinomial",
    "randint", "sort_indices", "topk_indices", "kthvalue_indices", "median_indices",
    "mode_indices")

_ELEMENT_TYPES = {_dt.float32: "float", _dt.float64: "double", _dt.int64: "int64_t",
                  _dt.int32: "int32_t", _dt.int16: "int16_t", _dt.int8: "int8_t",
                  _dt.uint8: "uint8_t", _dt.bool: "uint8_t"}
_COMPUTE_DTYPES = (_dt.float32, _dt.float64)

# the values computed into memory of their own, by the kernel of their lowering
LOWERED = LOWERINGS


@dataclasses.dataclass
class Schedule:
    """What `schedule` decided: `layouts` (name -> (shape, strides, offset) in its memory),
    `pointer_of` (name -> the C pointer holding it: in{i}_data, buf{i}_data), `types` (pointer
    -> element type), `buffer_names` (values in memory of their own, in graph order), `targets`
    ((name, "buffer" | "output", pointer) per kernel, buffers first)."""
    dtype: object
    ctype: str
    input_names: list
    layouts: dict
    pointer_of: dict
    types: object
    buffer_names: list
    view_names: list
    randoms: list
    targets: list


def schedule(graph, inputs, outputs, writes):
    """The plan of `graph` computing `outputs` from `inputs` ((name, shape, strides, dtype));
    `writes`: (input, value) in-place updates. Raises Unsupported for graphs outside it."""
    dtype = _compute_dtype(graph, inputs)
    ctype = _ELEMENT_TYPES[dtype]
    for node in graph.nodes:
        moves_values = node.op in _PASS_THROUGH_VIEWS | _IDENTITIES | _AFFINE_COPIES | {
            "index", "gather", "cat", "index_select", "repeat", "triu", "tril", "take"} or (
            REGISTRY.get(node.op) is not None and REGISTRY[node.op].kind == "view")
        if node.op != "input" and node.dtype not in (dtype, _dt.float32, _dt.bool) and not (
                node.dtype is _dt.int64 and (node.op in _INTEGER_RESULTS or moves_values)):
            raise Unsupported(f"{node.op} produces {node.dtype} inside a {dtype} graph")
        if node.op == "sum" and node.dtype is _dt.int64 and \
                graph.node(node.inputs[0]).dtype.category == 2:
            raise Unsupported("an integer sum of floats (not compiled yet)")
    for target, _ in writes:
        if graph.node(target).dtype is not dtype:
            raise Unsupported(f"an in-place update of a {graph.node(target).dtype} tensor")
    input_names = [spec[0] for spec in inputs]
    layouts = {spec[0]: (tuple(spec[1]), tuple(spec[2]), 0) for spec in inputs}
    # views read their root's memory through an affine map; a computed root is materialised
    views = {node.name for node in graph.nodes
             if node.op not in _PASS_THROUGH_VIEWS and REGISTRY.get(node.op) is not None
             and (REGISTRY[node.op].kind == "view" or node.op in _AFFINE_COPIES)}
    broadcasts = {node.name for node in graph.nodes if node.op in _PASS_THROUGH_VIEWS}
    roots = {}  # a view -> (the value in memory it reads, the views from there)
    for name in [n.name for n in graph.nodes if n.name in views]:
        roots[name] = _view_chain(graph, name, views | broadcasts)
    materialised = {root for root, _ in roots.values() if root not in input_names}
    # matrix products read operands that are in memory (materialised when computed)
    node_names = {n.name for n in graph.nodes}
    for node in graph.nodes:
        if node.op == "matmul" and any(len(graph.node(o).shape) < 1 for o in node.inputs):
            raise Unsupported("matmul of a 0-d tensor")
        if node.op in _INDEXING:
            _check_indexing(graph, node)
        if node.op in LOWERED:  # their operands are read from memory
            operands = node.inputs if node.op != "value_select" else node.inputs[:2]
            materialised |= {o for o in operands if o not in input_names and o not in views
                             and o in node_names}
    buffer_names = [node.name for node in graph.nodes
                    if node.op in REDUCTIONS or node.op in LOWERED
                    or node.name in materialised]
    randoms = [node.name for node in graph.nodes if node.op in _RANDOM]
    for name in buffer_names:
        shape = tuple(graph.node(name).shape)
        layouts[name] = (shape, _row_major(shape), 0)
    pointer_of = {name: f"in{i}_data" for i, name in enumerate(input_names)}
    pointer_of.update({name: f"buf{i}_data" for i, name in enumerate(buffer_names)})
    types = _ElementTypes(ctype)
    for name, pointer in pointer_of.items():
        types[pointer] = _ELEMENT_TYPES[graph.node(name).dtype]
    for i, name in enumerate(outputs):
        types[f"out{i}_data"] = _ELEMENT_TYPES[graph.node(name).dtype]
    view_names = []
    for name, (root, chain) in roots.items():
        mapped = _memory_map(layouts[root][0], layouts[root][1], chain)
        if mapped is None:
            raise Unsupported(f"{graph.node(name).op} reads its input across strides")
        layouts[name] = mapped
        pointer_of[name] = pointer_of[root]
        view_names.append(name)
    # reductions first (in graph order: a later one may read an earlier one), then outputs
    targets = [(name, "buffer", f"buf{i}_data") for i, name in enumerate(buffer_names)]
    targets += [(name, "output", f"out{i}_data") for i, name in enumerate(outputs)
                if name not in buffer_names]
    return Schedule(dtype, ctype, input_names, layouts, pointer_of, types, buffer_names,
                    view_names, randoms, targets)


def _compute_dtype(graph, inputs):
    """The one floating-point dtype a graph computes in (integer and bool values may be read,
    and compared, counted or indexed with; int64 results come from argmax, counts and casts)."""
    floats = {spec[3] for spec in inputs if spec[3].category == 2} | {
        node.dtype for node in graph.nodes if node.dtype.category == 2}
    if not floats or not floats <= set(_COMPUTE_DTYPES):
        raise Unsupported("only graphs computing in float32 or float64 are compiled yet (got "
                          f"{sorted(d.name for d in floats) or 'no float'})")
    for name, _, _, dtype in inputs:
        if dtype not in _ELEMENT_TYPES:
            raise Unsupported(f"a {dtype} input (not compiled yet)")
    # float32 values in a float64 graph are computed in double and rounded where eager
    # code rounds them; products keep to the compute type
    compute = _dt.float64 if _dt.float64 in floats else _dt.float32
    for node in graph.nodes:
        if node.op == "matmul" and node.dtype is not compute:  # BLAS takes one type
            raise Unsupported(f"a {node.dtype} {node.op} in a {compute} graph (not compiled yet)")
    return compute


def _check_indexing(graph, node):
    """What the C lowering covers: int64 index tensors (any shapes that broadcast together)."""
    if node.op in ("value_select", "gather", "scatter", "scatter_add", "scatter_reduce"):
        if node.op == "scatter" and node.attrs.get("reduce") is not None:
            raise Unsupported("scatter with reduce= (not compiled yet)")
        return  # one index per element (value_select's comes from argmax/argmin)
    indices = node.inputs[1:] if node.op == "index" else node.inputs[2:]
    for index in indices:
        if graph.node(index).dtype is not _dt.int64:
            raise Unsupported(f"{node.op} by a {graph.node(index).dtype} index (masks are not "
                              "compiled yet)")
    if node.op == "index_put":
        gathered, _, _ = _index_placement(tuple(graph.node(node.inputs[0]).shape),
                                          tuple(node.attrs["dims"]),
                                          [graph.node(i).shape for i in indices])
        if tuple(graph.node(node.inputs[1]).shape) != gathered:
            raise Unsupported("index_put with broadcast values (not compiled yet)")
