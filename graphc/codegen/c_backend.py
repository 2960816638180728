"""The C backend: a traced graph becomes one C translation unit with a single entry point.

Each output, and each value that must live in memory of its own (a reduction, a product, a
gather, a sort, a draw: `c_kernels`), gets one kernel. In an elementwise loop the formulas of
every IR node leading to it are substituted into each other (fusion), common subexpressions
are shared (sympy's CSE) and the result is printed by sympy's C99 printer. Operands are read
through their own strides (`c_layout`: a broadcast or a view is never copied). Passes then
store in-place updates straight into their tensors, merge loops over one shape and fold fills
into the loop that last reads their tensor. Ops the backend cannot lower raise `Unsupported`.
"""
import collections
import functools
import importlib.resources
import json
import pathlib
import re
import sys

from .. import dtypes as _dt
from ..ir.registry import REGISTRY
from .c_kernels import (_COPIES, _INDEXING, _LAPACK, _MEMORY_KERNELS, _RANDOM, _REARRANGED,
                        _SCANS, _SORTED, _index_placement)
from .c_layout import (Unsupported, _ElementTypes, _constant, _decode, _index_lines,
                       _memory_map, _numel, _offset, _row_major, _signature, _view_chain)

__all__ = ["Unsupported", "render", "template_root"]


# views that only change how a value is broadcast, not which elements it has
_PASS_THROUGH_VIEWS = {"alias", "expand"}


# copies: the same values (in a fused kernel, nothing to do)
_IDENTITIES = {"clone", "contiguous"}


# copies that read their input through an affine map (negative strides): compiled as views
_AFFINE_COPIES = {"flip"}


_C_TYPES = {_dt.float32: "float", _dt.float64: "double"}


def template_root():
    """The templates/ folder: shipped in the wheel as graphc/templates, or the source tree's."""
    # graphc is a regular package, so this is a real path (graphc.templates, a namespace
    # package, would give a MultiplexedPath, whose str() is no path)
    installed = pathlib.Path(str(importlib.resources.files("graphc"))) / "templates"
    if (installed / "c").is_dir():
        return installed
    return pathlib.Path(__file__).resolve().parents[2] / "templates"


@functools.lru_cache(maxsize=None)
def _environment():
    import jinja2
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_root())),
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined)


def _printer(dtype, target="c"):
    """sympy's C printer for a graph computing in `dtype` (graphc.ir.math's spellings)."""
    from ..ir.symbolic import c_printer
    return c_printer("float" if dtype is _dt.float32 else "double", target)


def _optimise(expression):
    """x**2 -> x*x and similar small integer powers (pow() is slow and not vectorised), of any
    base: a repeated compound base is one subexpression to the C compiler."""
    from sympy.codegen.rewriting import create_expand_pow_optimization, optimize
    return optimize(expression, [create_expand_pow_optimization(4, base_req=lambda base: True)])


def _is_truth(expression):
    import sympy
    return isinstance(expression, (sympy.logic.boolalg.Boolean, sympy.core.relational.Relational)
                      ) and not isinstance(expression, sympy.Symbol)  # a Symbol is a Boolean too


def _as_truth(expression):
    """A bool value as a sympy truth value (a bool tensor in memory holds 0/1)."""
    import sympy
    return expression if _is_truth(expression) else sympy.Ne(expression, 0)


def _as_number(expression):
    """A truth value as the 0/1 arithmetic sees."""
    import sympy
    if _is_truth(expression):
        return sympy.Piecewise((sympy.S.One, expression), (sympy.S.Zero, True))
    return expression


class _Expressions:
    """sympy expressions of the graph's values, in terms of symbols for the values that are in
    memory: inputs (`in0`, ...) and materialised reductions (`buf0`, ...)."""

    def __init__(self, graph, input_names, buffer_names, view_names, compute):
        import sympy
        self.compute = compute
        from ..ir.symbolic import c_math, elementary, sympy_math
        self.math = sympy_math()
        self.c_math, self.integer_math = c_math(), c_math(integer=True)
        self.elementary = elementary
        self.nodes = {node.name: node for node in graph.nodes}
        self.symbols = {name: sympy.Symbol(f"in{i}", real=True) for i, name in enumerate(input_names)}
        self.symbols.update({name: sympy.Symbol(f"buf{i}", real=True)
                             for i, name in enumerate(buffer_names)})
        self.symbols.update({name: sympy.Symbol(f"view{i}", real=True)
                             for i, name in enumerate(view_names)})
        self.cache = {}

    def of(self, name, used):
        """The expression of value `name`; the in-memory values it reads are added to `used`."""
        if name in self.symbols:
            used.add(name)
            return self.symbols[name]
        if name not in self.nodes:
            return _constant(name)
        if name in self.cache:
            expression, inputs = self.cache[name]
            used |= inputs
            return expression
        node = self.nodes[name]
        inputs = set()
        if node.op == "fill":  # fill_/zero_ traced as a constant
            expression = _constant(repr(node.attrs["value"]))
        elif node.op in _PASS_THROUGH_VIEWS or node.op in _IDENTITIES or node.op == "copy":
            expression = self.of(node.inputs[0], inputs)
        elif node.op == "cast":
            expression = self._cast(node, inputs)
        elif node.op == "isclose":  # eager's formula: equal, both NaN, or |a - b| within bounds
            import sympy
            a, b = (_as_number(self.of(o, inputs)) for o in node.inputs)
            attrs = node.attrs
            terms = [self.math.eq(a, b)]
            if attrs["equal_nan"]:
                terms.append(sympy.And(self.math.isnan(a), self.math.isnan(b)))
            if attrs["rtol"] != 0 or attrs["atol"] != 0:
                difference = sympy.Abs(a - b)
                terms.append(sympy.And(self.math.isfinite(difference), sympy.Le(
                    difference, attrs["atol"] + attrs["rtol"] * sympy.Abs(b), evaluate=False)))
            expression = sympy.Or(*terms)
        elif node.op == "masked_fill":  # x where the mask is false, the value where it is true
            import sympy
            x, mask, value = node.inputs
            expression = sympy.Piecewise((_as_number(self.of(value, inputs)),
                                          self._truth(mask, inputs)),
                                         (_as_number(self.of(x, inputs)), True))
        elif node.op in _BITWISE and node.dtype is _dt.bool:  # on truth values: logic
            import sympy
            operands = [self._truth(operand, inputs) for operand in node.inputs]
            expression = getattr(sympy, _BITWISE[node.op])(*operands)
        else:
            import sympy
            op = REGISTRY.get(node.op)
            if op is None or op.kind != "elementwise":
                raise Unsupported(f"{node.op} has no C lowering yet")
            operands = [self.of(operand, inputs) for operand in node.inputs]
            # truth values are conditions of where, and 0/1 in arithmetic (as eager promotes)
            operands = [_as_truth(e) if node.op == "where" and position == 0 else _as_number(e)
                        for position, e in enumerate(operands)]
            if node.dtype.category == 2:  # integers computing in floats: converted first, as
                operands = [self._to_float(e, operand, node.dtype)  # eager converts them
                            for e, operand in zip(operands, node.inputs)]
            # a constant 0 stays unevaluated: sympy would fold x * 0 to 0 and x / 0 to zoo (C
            # has no zoo), where eager's x * 0 is NaN for x = inf and x / 0 is +-inf or NaN
            operands = [sympy.UnevaluatedExpr(e) if e.is_Number and e.is_zero else e
                        for e in operands]
            math = self.integer_math if node.dtype.category == 1 else self.c_math
            # Number * (a + b) is not distributed: inf * (a - b) must not become inf*a - inf*b
            with sympy.core.parameters.distribute(False):
                expression = self.elementary(op.formula(math, *operands, **node.attrs))
        if node.dtype is _dt.float32 and self.compute is _dt.float64 and node.op != "cast":
            # a float32 value in a float64 graph (a mask made in the default dtype): rounded
            # to float32 where eager code rounds it (a cast rounds when it is stored)
            import sympy
            expression = sympy.Function("graphc_round32")(expression)
        self.cache[name] = (expression, inputs)
        used |= inputs
        return expression

    def _to_float(self, expression, name, dtype):
        """An integer operand of a floating-point op as the float eager converts it to (an
        int64 + 1 in C would wrap where eager's float sum does not)."""
        import sympy
        node = self.nodes.get(name)
        if node is None or node.dtype.category == 2 or _is_truth(expression) \
                or expression.is_Number:
            return expression
        if self.compute is _dt.float32:
            return sympy.Function("graphc_to_float")(expression)
        converted = sympy.Function("graphc_to_double")(expression)
        if dtype is _dt.float32:  # a float32 op in a double graph: eager rounds to float32
            return sympy.Function("graphc_round32")(converted)
        return converted

    def _truth(self, name, inputs):
        return _as_truth(self.of(name, inputs))

    def _cast(self, node, inputs):
        """A truth value to 0/1 (masks in gradient rules), or a float to its own dtype."""
        import sympy
        operand = node.inputs[0]
        expression = self.of(operand, inputs)
        source = self.nodes[operand].dtype if operand in self.nodes else None
        target = node.attrs["dtype"]
        if source is _dt.bool:
            if isinstance(expression, sympy.Symbol):  # a bool tensor in memory holds 0/1
                return expression
            return sympy.Piecewise((sympy.S.One, expression), (sympy.S.Zero, True))
        if source is target or (source.category == 1 and target.category == 2):
            return expression  # an integer read from memory converts as C converts it
        if (source, target) == (_dt.float32, _dt.float64):
            return expression
        if (source, target) == (_dt.float64, _dt.float32):
            return sympy.Function("graphc_round32")(expression)
        if source.category == 2 and target is _dt.int64:
            return sympy.Function("trunc")(expression)  # toward zero, as torch's .long()
        if source.category == 2 and target is _dt.bool:
            return sympy.Piecewise((sympy.S.One, sympy.Ne(expression, 0)), (sympy.S.Zero, True))
        raise Unsupported(f"cast from {source} to {target} (not compiled yet)")

    def definition(self, name, used):
        """The expression computing an in-memory value from what it reads (not its symbol)."""
        symbol = self.symbols.pop(name)
        try:
            return self.of(name, used)
        finally:
            self.symbols[name] = symbol

    def nodes_of(self, name, seen=None, stop=()):
        """Names of the IR nodes a value is computed from, in graph order (not looking past
        the values in `stop`, which are in memory)."""
        seen = set() if seen is None else seen
        node = self.nodes.get(name)
        if node is None or node.op == "input" or name in seen or name in stop:
            return []
        seen.add(name)
        result = []
        for operand in node.inputs:
            result += self.nodes_of(operand, seen, stop)
        return result + [name]


_REDUCTIONS = ("sum", "mean", "amax", "amin", "prod", "vector_norm", "argmax", "argmin", "all",
               "any", "count_nonzero")


# int64 values the backend computes (a float graph's other values are its float type or bool)
# elementwise ops whose C meaning on integers is torch's (C's % and / round otherwise)
_INTEGER_ARITHMETIC = ("add", "sub", "mul", "neg", "abs", "maximum", "minimum", "where",
                       "clamp", "clamp_min", "clamp_max")


_INTEGER_RESULTS = _INTEGER_ARITHMETIC + (
    "argmax", "argmin", "count_nonzero", "sum", "cast", "input", "randperm", "multinomial",
    "randint", "sort_indices", "topk_indices", "kthvalue_indices", "median_indices",
    "mode_indices")


_ELEMENT_TYPES = {_dt.float32: "float", _dt.float64: "double", _dt.int64: "int64_t",
                  _dt.int32: "int32_t", _dt.int16: "int16_t", _dt.int8: "int8_t",
                  _dt.uint8: "uint8_t", _dt.bool: "uint8_t"}


# how each reduction starts and folds a value in (None: a sum); NaN propagates, as in torch
_FOLDS = {
    "amax": ("-INFINITY", "(value > accumulator || value != value) ? value : accumulator"),
    "amin": ("INFINITY", "(value < accumulator || value != value) ? value : accumulator"),
    # the first extreme value wins; the first NaN beats everything (as torch's argmax)
    "argmax": ("-INFINITY", "(value > accumulator || (value != value && accumulator == "
                            "accumulator)) ? value : accumulator"),
    "argmin": ("INFINITY", "(value < accumulator || (value != value && accumulator == "
                           "accumulator)) ? value : accumulator"),
    "all": ("1.0", "(value != 0 && accumulator != 0) ? 1.0 : 0.0"),
    "any": ("0.0", "(value != 0 || accumulator != 0) ? 1.0 : 0.0"),
    "prod": ("1.0", "accumulator * value"),
}


def _finish(node, count):
    """(function around, text after) the accumulator: the mean's division, a norm's root."""
    if node.op == "mean":
        return "", f" / {count}.0"
    if node.op == "vector_norm":
        order = float(node.attrs["ord"])
        if order == 2:
            return "sqrt", ""
        return ("", "") if order == 1 else ("pow", f", {1.0 / order!r}")
    return "", ""


PARALLEL_THRESHOLD = 65536  # elements a loop needs before threads pay for themselves


_BITWISE = {"bitwise_and": "And", "bitwise_or": "Or", "bitwise_xor": "Xor", "bitwise_not": "Not",
            "logical_and": "And", "logical_or": "Or", "logical_xor": "Xor", "logical_not": "Not"}


_MATERIALISED_OPS = ("matmul",) + _RANDOM + _INDEXING + tuple(_SCANS) + _COPIES + _SORTED \
    + _REARRANGED + _LAPACK


def _PASS_THROUGH_VIEWS_OF(graph):
    """Names of the alias/expand nodes (they join view chains like the other views)."""
    return {node.name for node in graph.nodes if node.op in _PASS_THROUGH_VIEWS}


def _reduced_dims(node, ndim):
    dims = node.attrs["dims"] if "dims" in node.attrs else node.attrs.get("dim")
    dims = (dims,) if isinstance(dims, int) else dims
    return tuple(range(ndim)) if dims is None else tuple(sorted(d % max(ndim, 1) for d in dims))


# sympy recurses once per nesting level of an expression: a fused chain of a hundred ops
# (`x = x * a + b` in a loop), kept in eager's order (constants are not distributed), nests deep
_RECURSION_LIMIT = 20000


def render(*args, **kwargs):
    """`_render` (below) with room for sympy's recursion into deeply fused expressions."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _RECURSION_LIMIT))
    try:
        return _render(*args, **kwargs)
    finally:
        sys.setrecursionlimit(limit)


def _render(graph, inputs, outputs, function_name, location, signature, writes=(), kept=(),
            dialect=None):
    """C source computing `outputs` (value names) from `inputs` ((name, shape, strides, dtype)).

    Reductions (sum, mean) are materialised in buffers of their own (their elementwise
    prologue fused into their loop); every other value is fused into the kernel of the
    output or reduction that reads it. Returns (source, dtype, C type, the names of the
    reductions, whose buffers follow the outputs in the entry point); raises Unsupported for
    graphs outside the backend. `writes` are (input, value) in-place updates; `kept` names the
    outputs the caller reads after the call (the others may be stored straight into the input
    they update). `dialect`: a function rendering the scheduled kernels for another target
    (render/cuda.py) instead of C."""
    import sympy
    dtype = _compute_dtype(graph, inputs)
    ctype = _C_TYPES[dtype]
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
    roots = {}
    for name in [n.name for n in graph.nodes if n.name in views]:
        roots[name] = _view_chain(graph, name, views | _PASS_THROUGH_VIEWS_OF(graph))
    materialised = {root for root, _ in roots.values() if root not in input_names}
    # matrix products read operands that are in memory (materialised when computed)
    for node in graph.nodes:
        if node.op == "matmul":
            if any(len(graph.node(o).shape) < 1 for o in node.inputs):
                raise Unsupported("matmul of a 0-d tensor")
            materialised |= {o for o in node.inputs if o not in input_names and o not in views}
        if node.op in _SCANS or node.op in _COPIES or node.op in _SORTED or \
                node.op in _REARRANGED or node.op in _LAPACK or node.op in _RANDOM:
            # their operands are read from memory
            materialised |= {o for o in node.inputs if o not in input_names and o not in views
                             and o in {n.name for n in graph.nodes}}
        if node.op in _INDEXING:  # gathers and scatters read their operands from memory
            _check_indexing(graph, node)
            operands = node.inputs if node.op != "value_select" else node.inputs[:2]
            materialised |= {o for o in operands if o not in input_names and o not in views
                             and o in {n.name for n in graph.nodes}}
    buffer_names = [node.name for node in graph.nodes
                    if node.op in _REDUCTIONS or node.op in _MATERIALISED_OPS
                    or node.name in materialised]
    randoms = [node.name for node in graph.nodes if node.op in _RANDOM]
    reductions = buffer_names
    for name in buffer_names:
        shape = tuple(graph.node(name).shape)
        layouts[name] = (shape, _row_major(shape), 0)
    printer = _printer(dtype)
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
    expressions = _Expressions(graph, input_names, buffer_names, view_names, dtype)
    # reductions first (in graph order: a later one may read an earlier one), then outputs
    targets = [(name, "buffer", f"buf{i}_data") for i, name in enumerate(reductions)]
    targets += [(name, "output", f"out{i}_data") for i, name in enumerate(outputs)
                if name not in reductions]
    kernels = []
    for position, (target, role, target_pointer) in enumerate(targets):
        node = graph.node(target)
        builder = _MEMORY_KERNELS.get(node.op) if role == "buffer" else None
        if builder is not None:  # products, gathers, scatters, scans, copies and draws
            draw = randoms.index(target) if node.op in _RANDOM else None
            kernels.append(builder(position, graph, node, target_pointer, layouts, pointer_of,
                                   types, draw))
            continue
        reduction = node.op in _REDUCTIONS and role == "buffer"
        used = set()
        if reduction:
            operand = node.inputs[0]
            expression = expressions.of(operand, used)
            if node.op == "count_nonzero":  # a sum of x != 0
                truth = expression if graph.node(operand).dtype is _dt.bool \
                    else sympy.Ne(expression, 0)
                expression = sympy.Piecewise((sympy.S.One, truth), (sympy.S.Zero, True))
            if node.op == "vector_norm":  # (sum |x|^p)^(1/p): |x|^p is the fused prologue
                order = float(node.attrs["ord"])
                if order in (0.0, float("inf"), float("-inf")) or order != order:
                    raise Unsupported(f"vector_norm of order {order} (not compiled yet)")
                expression = expression ** 2 if order == 2 else sympy.Abs(expression) ** order
            loop_shape = tuple(graph.node(operand).shape) if operand in expressions.nodes \
                else layouts[operand][0]
        elif role == "buffer":
            expression = expressions.definition(target, used)  # a materialised view root
            loop_shape = tuple(node.shape)
        else:
            expression = expressions.of(target, used)
            loop_shape = tuple(node.shape)
        if role == "buffer":
            used.discard(target)
        numel = _numel(node.shape)
        temporaries, (result,) = sympy.cse([expression], symbols=sympy.numbered_symbols("t"))
        temporaries = [(name, _optimise(value)) for name, value in temporaries]
        result = _optimise(result)
        readers = sorted(used, key=list(pointer_of).index)
        loads = [{"symbol": str(expressions.symbols[name]), "pointer": pointer_of[name],
                  "offset": _offset(loop_shape, *layouts[name], flat=not reduction),
                  "ctype": types.of(pointer_of[name])}
                 for name in readers]
        pointers = sorted({pointer_of[name] for name in readers}, key=list(pointer_of.values()).index)
        stop = set(reductions) - {target}
        node_names = expressions.nodes_of(target, stop=stop)
        kernel = {
            "name": f"kernel{position}_{'_'.join(graph.node(n).op for n in node_names[-3:]) or 'copy'}",
            "output": target,
            "summary": printer.doprint(expression) if len(str(expression)) < 120 else "(fused, see below)",
            "nodes": [f"%{n} = {graph.node(n).op}" for n in node_names] or ["(an input)"],
            "locations": sorted({getattr(graph, "locations", {}).get(n) for n in node_names}
                                - {None}) or ["(inputs only)"],
            **_signature(pointers, [target_pointer], types),
            "pointers": pointers,
            "output_ctype": types.of(target_pointer),
            "loop_shape": loop_shape,
            "more_results": [],
            "numel": numel,
            "index_lines": [] if all(load["offset"] in ("i", "0") for load in loads)
            else _index_lines(loop_shape),
            "loads": loads,
            "temporaries": [(str(name), printer.doprint(value)) for name, value in temporaries],
            # an integer result is computed in integers (index arithmetic stays exact)
            "temporary_ctype": types.of(target_pointer)
            if node.dtype is _dt.int64 and node.op not in _REDUCTIONS else ctype,
            "result": printer.doprint(result),
            "output_pointer": target_pointer,
            "reduction": None,
            "random": None,
            "gemm": None,
        }
        if reduction:
            dims = _reduced_dims(node, len(loop_shape))
            kept = [(size, d) for d, size in enumerate(loop_shape) if d not in dims]
            reduced = [(size, d) for d, size in enumerate(loop_shape) if d in dims]
            count = _numel(size for size, _ in reduced)
            start, combine = _FOLDS.get(node.op, ("0.0", None))
            kernel["reduction"] = {
                "count": count, "total": count * numel,
                "outer_lines": _decode("o", kept), "inner_lines": _decode("r", reduced),
                **dict(zip(("around", "finish"), _finish(node, count))),
                "start": start, "combine": combine,
                # argmax/argmin: the position r of the first extreme value (or first NaN)
                "position": node.op in ("argmax", "argmin"),
            }
            kernel["summary"] = f"{node.op} over dims {list(dims)} of " + kernel["summary"]
        kernels.append(kernel)
    kernels, direct = _store_in_place(kernels, writes, outputs, input_names, layouts, kept, types)
    kernels = _merge_output_loops(kernels, direct, types)
    kernels = _merge_fills(kernels, direct, input_names, types)
    for position, kernel in enumerate(kernels):  # numbered in the order the entry calls them
        kernel["name"] = re.sub(r"^kernel\d+", f"kernel{position}", kernel["name"])
    # no restrict here: a value stored in place makes an output pointer alias an input one
    slot = 0
    unpack = []
    for i, name in enumerate(input_names):
        element = types.of(f"in{i}_data")
        unpack.append(f"const {element} *in{i}_data = (const {element} *)slots[{slot}];")
        slot += 1
    for i, name in enumerate(outputs):
        source = input_names.index(direct[name]) if name in direct else slot
        element = types.of(f"out{i}_data")
        unpack.append(f"{element} *out{i}_data = ({element} *)slots[{source}];"
                      + (f"  /* stored in place into %{direct[name]} */" if name in direct else ""))
        slot += 1
    for i in range(len(reductions)):
        element = types.of(f"buf{i}_data")
        unpack.append(f"{element} *buf{i}_data = ({element} *)slots[{slot}];")
        slot += 1
    for r in range(len(randoms)):
        unpack.append(f"const uint64_t seed{r} = draws[{2 * r}], offset{r} = draws[{2 * r + 1}];")
    write_backs = []
    for target, value in writes:
        if value in direct:
            continue
        shape, strides, _ = layouts[target]
        numel = _numel(shape)
        if value in input_names:
            source_pointer = f"in{input_names.index(value)}_data"
            source_offset = _offset(shape, *layouts[value], flat=False)
        else:
            source_pointer = f"out{outputs.index(value)}_data"
            source_offset = "i"
        target_offset = _offset(shape, shape, strides, flat=True)
        write_backs.append({
            "target": target, "numel": numel, "slot": input_names.index(target),
            "source": source_pointer, "source_offset": source_offset,
            "target_offset": target_offset,
            "index_lines": [] if target_offset == "i" and source_offset == "i"
            else _index_lines(shape),
        })
    for kernel in kernels:
        kernel["split"] = _split_loop(kernel)
    _share_identical_kernels(kernels)
    unit = {"function": function_name, "location": location, "signature": signature,
            "kernels": kernels, "write_backs": write_backs, "ctype": ctype,
            "inputs": inputs, "outputs": outputs, "buffers": reductions, "direct": direct,
            "types": types, "graph": graph, "randoms": randoms}
    if dialect is not None:  # another target's renderer, over the same kernels
        return dialect(unit), dtype, ctype, reductions, randoms
    source = _environment().get_template("c/elementwise.c.j2").render(
        function=function_name, location=location, signature=signature, kernels=kernels,
        unpack_lines=unpack, write_backs=write_backs, ctype=ctype, random=bool(randoms),
        sorting=any(node.op in _SORTED + ("multinomial",) for node in graph.nodes),
        parallel_threshold=PARALLEL_THRESHOLD, inline="static inline",
        blas=_blas_declaration(ctype) if any(k["gemm"] for k in kernels) else None,
        lapack=_lapack_declaration(ctype) if any(n.op in _LAPACK for n in graph.nodes)
        else None)
    return source, dtype, ctype, reductions, randoms


_POINTER = re.compile(r"\b(?:in|out|buf)\d+(?:_data)?\b")  # pointers and their loads
# what tells two kernels apart without changing their function's text
_CALL_SITE = ("name", "output", "summary", "nodes", "locations", "arguments", "function", "also")


def _share_identical_kernels(kernels):
    """Kernels that differ only in the buffers they are called with (the steps of an unrolled
    loop) share one function: the first is defined, the others call it with their own
    pointers. An RNN unrolled over 100 steps has ~700 kernels but a handful of distinct ones;
    gcc's time grows with the functions it optimises."""
    first = {}
    for kernel in kernels:
        text = json.dumps({k: v for k, v in kernel.items() if k not in _CALL_SITE},
                          sort_keys=True, default=repr)
        names = {}
        key = _POINTER.sub(lambda match: names.setdefault(match.group(0), f"p{len(names)}"), text)
        owner = first.setdefault(key, kernel)
        kernel["function"], kernel["also"] = owner["name"], []
        if owner is not kernel:
            owner["also"].append(f"%{kernel['output']} ({', '.join(kernel['locations'])})")


def _split_loop(kernel):
    """An elementwise loop over a shape of several dims whose loads need index arithmetic runs
    as rows (outer) of the last dim (inner): no division in the inner loop, which vectorises."""
    shape = kernel.get("loop_shape")
    if not kernel["index_lines"] or not shape or len(shape) < 2 or shape[-1] < 2 or (
            kernel["reduction"] or kernel["gemm"] or kernel["random"] or kernel.get("checked")):
        return None
    outer_lines = _index_lines(shape[:-1])
    outer_lines[0] = outer_lines[0].replace("rest = i;", "rest = outer;")
    return {"outer": _numel(shape) // shape[-1], "inner": shape[-1],
            "index": f"idx{len(shape) - 1}", "outer_lines": outer_lines}


def _is_output_loop(kernel):
    """An elementwise loop computing an output (not a buffer, reduction, product or draw)."""
    return kernel["output_pointer"].startswith("out") and not (
        kernel["reduction"] or kernel["gemm"] or kernel["random"] or kernel.get("checked"))


def _store_in_place(kernels, writes, outputs, input_names, layouts, kept, types):
    """Let the kernel of an in-place update (`p.sub_(lr * p.grad)`, `p.grad.zero_()`) store into
    the updated tensor itself, saving a write-back pass over it after the call. Safe when the
    tensor is dense, the kernel reads it only at the element it writes, and every other kernel
    that reads it runs before: output kernels read only inputs and buffers, so they may be
    reordered, the in-place ones last, each after the kernels reading what it overwrites.
    Returns (kernels in their new order, {value stored in place: the input it updates})."""
    write_count = collections.Counter(value for _, value in writes)
    copied_from = {value for _, value in writes if value in input_names}
    kernel_of = {k["output"]: k for k in kernels if _is_output_loop(k)}
    candidates = {}
    for target, value in writes:
        kernel = kernel_of.get(value)
        shape, strides, _ = layouts[target]
        pointer = f"in{input_names.index(target)}_data"
        if (kernel is None or value in kept or write_count[value] > 1 or target in copied_from
                or _offset(shape, shape, strides, flat=True) != "i"
                or any(load["pointer"] == pointer and load["offset"] != "i"
                       for load in kernel["loads"])):
            continue
        candidates[value] = (target, pointer)
    # schedule: a kernel storing into a tensor runs after every other kernel reading it
    moved = [k for k in kernels if k["output"] in candidates]
    order = [k for k in kernels if k["output"] not in candidates]
    while moved:
        ready = next((k for k in moved if not any(
            candidates[k["output"]][1] in other["pointers"] for other in moved if other is not k)),
            None)
        if ready is None:  # a cycle (two updates each reading the other's tensor): copy those
            for k in moved:
                del candidates[k["output"]]
            order += moved
            break
        moved.remove(ready)
        order.append(ready)
    for kernel in order:
        if kernel["output"] not in candidates:
            continue
        target, pointer = candidates[kernel["output"]]
        out = kernel["output_pointer"]
        for load in kernel["loads"]:  # read the element through the pointer that writes it
            if load["pointer"] == pointer:
                load["pointer"] = out
        kernel["pointers"] = [p for p in kernel["pointers"] if p != pointer]
        kernel.update(_signature(kernel["pointers"], [out], types))
        kernel["summary"] += f" (stored in place into %{target})"
    return order, {value: target for value, (target, _) in candidates.items()}


def _merge_output_loops(kernels, direct, types):
    """Outputs computed over the same loop share one loop (y and dy/dx of one x read x once).
    Output kernels read only inputs and buffers, so any of them may join another; those that
    store in place keep their own loops, whose order _store_in_place chose."""
    merged, first_of_shape = [], {}
    for kernel in kernels:
        mergeable = _is_output_loop(kernel) and kernel["output"] not in direct
        host = first_of_shape.get(kernel["loop_shape"]) if mergeable else None
        if host is not None and all(
                load["pointer"] == other["pointer"] and load["offset"] == other["offset"]
                for load in kernel["loads"] for other in host["loads"]
                if load["symbol"] == other["symbol"]):
            part = len(host["more_results"]) + 1  # its temporaries renamed apart: t0 -> t0_1
            rename = functools.partial(re.sub, r"\bt(\d+)\b", rf"t\1_{part}")
            known = {load["symbol"] for load in host["loads"]}
            host["loads"] += [load for load in kernel["loads"] if load["symbol"] not in known]
            host["temporaries"] += [(rename(name), rename(value))
                                    for name, value in kernel["temporaries"]]
            host["more_results"].append((kernel["output_pointer"], rename(kernel["result"])))
            host["pointers"] += [p for p in kernel["pointers"] if p not in host["pointers"]]
            outs = [host["output_pointer"]] + [p for p, _ in host["more_results"]]
            host.update(_signature(host["pointers"], outs, types))
            host["index_lines"] = host["index_lines"] or kernel["index_lines"]
            host["summary"] += f"\n *   and %{kernel['output']} = {kernel['summary']}"
            host["nodes"] += [n for n in kernel["nodes"] if n not in host["nodes"]]
            host["locations"] = sorted(set(host["locations"]) | set(kernel["locations"]))
            host["name"] = re.sub(r"(_and_\d+_more)?$", f"_and_{part}_more", host["name"], count=1)
            continue
        if mergeable:
            first_of_shape[kernel["loop_shape"]] = kernel
        merged.append(kernel)
    return merged


def _merge_fills(kernels, direct, input_names, types):
    """A fill stored in place (`p.grad.zero_()`) joins the loop of the last kernel reading that
    tensor, storing after the element was read: one pass over the memory instead of two."""
    merged = list(kernels)
    for fill in kernels:
        if not (fill["output"] in direct and not fill["loads"] and _is_output_loop(fill)):
            continue
        pointer = f"in{input_names.index(direct[fill['output']])}_data"
        position = merged.index(fill)
        host = next((k for k in reversed(merged[:position]) if pointer in k["pointers"]), None)
        if host is None or not _is_output_loop(host) or host.get("loop_shape") != fill.get(
                "loop_shape") or any(load["pointer"] == pointer and load["offset"] != "i"
                                     for load in host["loads"]):
            continue
        out = fill["output_pointer"]
        for load in host["loads"]:  # read the element through the pointer that zeroes it
            if load["pointer"] == pointer:
                load["pointer"] = out
        host["pointers"] = [p for p in host["pointers"] if p != pointer]
        host["more_results"].append((out, fill["result"]))
        outs = [host["output_pointer"]] + [p for p, _ in host["more_results"]]
        host.update(_signature(host["pointers"], outs, types))
        host["summary"] += f"\n *   and %{fill['output']} = {fill['summary']}"
        host["nodes"] += fill["nodes"]
        host["locations"] = sorted(set(host["locations"]) | set(fill["locations"]))
        host["name"] += "_" + fill["name"].split("_", 1)[1]
        merged.remove(fill)
    return merged


def _compute_dtype(graph, inputs):
    """The one floating-point dtype a graph computes in (integer and bool values may be read,
    and compared, counted or indexed with; int64 results come from argmax, counts and casts)."""
    floats = {spec[3] for spec in inputs if spec[3].category == 2} | {
        node.dtype for node in graph.nodes if node.dtype.category == 2}
    if not floats or not floats <= set(_C_TYPES):
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


def _lapack_declaration(ctype):
    """Both precisions: a norm computes in double whatever the graph's type."""
    from . import blas
    return {"library": blas.library_dir(),
            "lines": blas.lapack_declarations("float") + blas.lapack_declarations("double")}


def _blas_declaration(ctype):
    from . import blas
    return {"function": blas.GEMM[ctype], "library": blas.library_dir(),
            "signature": (f"int order, int transpose_a, int transpose_b, int m, int n, int k, "
                          f"{ctype} alpha, const {ctype} *a, int lda, const {ctype} *b, int ldb, "
                          f"{ctype} beta, {ctype} *c, int ldc")}

