"""The C backend: a traced graph of elementwise ops becomes one C translation unit.

Each output gets one kernel: a loop over its elements in which the formulas of every IR node
leading to it are substituted into each other (fusion), common subexpressions are shared
(sympy's CSE) and the result is printed by sympy's C99 printer. Inputs are read through their
own strides (a broadcast or a view is never copied), so the loop indexes each input by the
output's multi-index. Ops the backend cannot lower raise `Unsupported`.
"""
import collections
import functools
import importlib.resources
import math
import pathlib
import re

from .. import dtypes as _dt
from ..ir.registry import REGISTRY

__all__ = ["Unsupported", "render", "template_root"]

# views that only change how a value is broadcast, not which elements it has
_PASS_THROUGH_VIEWS = {"alias", "expand"}
# copies: the same values (in a fused kernel, nothing to do)
_IDENTITIES = {"clone", "contiguous"}
# copies that read their input through an affine map (negative strides): compiled as views
_AFFINE_COPIES = {"flip"}
_C_TYPES = {_dt.float32: "float", _dt.float64: "double"}


class Unsupported(Exception):
    """The graph has something the C backend does not lower yet."""


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


def _printer(dtype):
    from sympy.codegen.ast import float32, float64, real
    from sympy.printing.c import C99CodePrinter
    from ..ir.symbolic import C_PREDICATES

    class Printer(C99CodePrinter):
        def _print_Piecewise(self, expr):
            """One line, `(c0 ? e0 : (c1 ? e1 : e2))`: sympy's own breaks a ternary over six."""
            text = self._print(expr.args[-1].expr)
            for piece in reversed(expr.args[:-1]):
                text = f"({self._print(piece.cond)} ? {self._print(piece.expr)} : {text})"
            return text

    if dtype is _dt.float32:
        # the template's branch-free expf: loops that call it vectorise
        return Printer({"type_aliases": {real: float32},
                        "user_functions": {"exp": "graphc_expf", "trunc": "truncf",
                                           **C_PREDICATES}})
    return Printer({"type_aliases": {real: float64},
                    "user_functions": {"trunc": "trunc", "graphc_round32": "graphc_round32",
                                       **C_PREDICATES}})


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


def _constant(text):
    """An operand recorded as a number (its repr) back to a sympy number."""
    import sympy
    if text in ("True", "False"):
        return sympy.true if text == "True" else sympy.false
    return sympy.sympify(text)


class _Expressions:
    """sympy expressions of the graph's values, in terms of symbols for the values that are in
    memory: inputs (`in0`, ...) and materialised reductions (`buf0`, ...)."""

    def __init__(self, graph, input_names, buffer_names, view_names, compute):
        import sympy
        self.compute = compute
        from ..ir.symbolic import elementary, sympy_math
        self.math = sympy_math()
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
            op = REGISTRY.get(node.op)
            if op is None or op.kind != "elementwise":
                raise Unsupported(f"{node.op} has no C lowering yet")
            operands = [self.of(operand, inputs) for operand in node.inputs]
            # truth values are conditions of where, and 0/1 in arithmetic (as eager promotes)
            operands = [_as_truth(e) if node.op == "where" and position == 0 else _as_number(e)
                        for position, e in enumerate(operands)]
            expression = self.elementary(op.formula(self.math, *operands, **node.attrs))
        if node.dtype is _dt.float32 and self.compute is _dt.float64 and node.op != "cast":
            # a float32 value in a float64 graph (a mask made in the default dtype): rounded
            # to float32 where eager code rounds it (a cast rounds when it is stored)
            import sympy
            expression = sympy.Function("graphc_round32")(expression)
        self.cache[name] = (expression, inputs)
        used |= inputs
        return expression

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


def _offset(output_shape, input_shape, input_strides, base=0, flat=True):
    """The element offset of the input at the loop's multi-index (idx0, idx1, ...); `i` when
    the loop is flat and the input dense in the loop's shape."""
    if flat and not base and input_shape == output_shape and _dense(input_shape, input_strides):
        return "i"
    lead = len(output_shape) - len(input_shape)
    terms = [f"idx{lead + d} * {stride}" if stride != 1 else f"idx{lead + d}"
             for d, (size, stride) in enumerate(zip(input_shape, input_strides))
             if size != 1 and stride != 0]
    if base:
        terms.append(str(base))
    return " + ".join(terms) or "0"


def _view_chain(graph, name, views):
    """The value a chain of views starts from, and the view nodes from it to `name`."""
    chain = []
    while name in views:
        node = graph.node(name)
        chain.append(node)
        name = node.inputs[0]
    return name, list(reversed(chain))


def _memory_map(root_shape, root_strides, chain):
    """(shape, strides, offset) of the last view of `chain` in the root's memory: the views'
    own numpy implementations applied to the array of the root's element offsets. None when
    the view is not an affine function of its index (a reshape across strides)."""
    import numpy as np
    offsets = np.zeros(root_shape, dtype=np.int64)
    for d, (size, stride) in enumerate(zip(root_shape, root_strides)):
        shape = [1] * len(root_shape)
        shape[d] = size
        offsets = offsets + (np.arange(size, dtype=np.int64) * stride).reshape(shape)
    for node in chain:
        offsets = REGISTRY[node.op].eager(offsets, **node.attrs)
    offsets = np.asarray(offsets)
    if offsets.size == 0:
        return offsets.shape, (0,) * offsets.ndim, 0
    base = int(offsets.flat[0])
    strides = []
    for d, size in enumerate(offsets.shape):
        index = [0] * offsets.ndim
        if size > 1:
            index[d] = 1
            strides.append(int(offsets[tuple(index)]) - base)
        else:
            strides.append(0)
    expected = np.full(offsets.shape, base, dtype=np.int64)
    for d, (size, stride) in enumerate(zip(offsets.shape, strides)):
        shape = [1] * offsets.ndim
        shape[d] = size
        expected = expected + (np.arange(size, dtype=np.int64) * stride).reshape(shape)
    if not np.array_equal(offsets, expected):
        return None
    return offsets.shape, tuple(strides), base


def _dense(shape, strides):
    expected = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


def _index_lines(shape):
    """C statements computing idx0 .. idx{n-1} from the flat index i (row-major)."""
    if not shape:
        return []
    lines = ["int64_t rest = i;"]
    for d in range(len(shape) - 1, -1, -1):
        if d == 0:
            lines.append("const int64_t idx0 = rest;")
        else:
            lines.append(f"const int64_t idx{d} = rest % {shape[d]}; rest /= {shape[d]};")
    return lines


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
_RANDOM = ("uniform", "normal", "randperm", "bernoulli", "exponential", "randint",
           "multinomial")
_INDEXING = ("index", "index_put", "value_select", "gather", "scatter", "scatter_add")
_SCANS = {"cumsum": ("0", "+="), "cumprod": ("1", "*=")}
# kernels copying their (in-memory) operands into place
_COPIES = ("cat", "slice_backward", "diagonal_backward")
_SORTED = ("sort_indices", "topk_indices", "kthvalue_indices", "median_indices", "median_all",
           "mode_indices")
_REARRANGED = ("index_select", "index_add", "index_copy", "index_fill", "take", "put", "triu",
               "tril", "repeat", "trace")  # read or written through index maths
_LAPACK = ("inverse", "det", "solve", "cholesky")
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


def _decode(variable, sizes_and_dims):
    """C lines setting idx{d} for each (size, d), row-major, from the flat index `variable`."""
    if not sizes_and_dims:
        return []
    lines = [f"int64_t rest_{variable} = {variable};"]
    for position in range(len(sizes_and_dims) - 1, -1, -1):
        size, d = sizes_and_dims[position]
        if position == 0:
            lines.append(f"const int64_t idx{d} = rest_{variable};")
        else:
            lines.append(f"const int64_t idx{d} = rest_{variable} % {size}; rest_{variable} /= {size};")
    return lines


def render(graph, inputs, outputs, function_name, location, signature, writes=(), kept=()):
    """C source computing `outputs` (value names) from `inputs` ((name, shape, strides, dtype)).

    Reductions (sum, mean) are materialised in buffers of their own (their elementwise
    prologue fused into their loop); every other value is fused into the kernel of the
    output or reduction that reads it. Returns (source, dtype, C type, the names of the
    reductions, whose buffers follow the outputs in the entry point); raises Unsupported for
    graphs outside the backend. `writes` are (input, value) in-place updates; `kept` names the
    outputs the caller reads after the call (the others may be stored straight into the input
    they update)."""
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
    source = _environment().get_template("c/elementwise.c.j2").render(
        function=function_name, location=location, signature=signature, kernels=kernels,
        unpack_lines=unpack, write_backs=write_backs, ctype=ctype, random=bool(randoms),
        sorting=any(node.op in _SORTED + ("multinomial",) for node in graph.nodes),
        parallel_threshold=PARALLEL_THRESHOLD,
        blas=_blas_declaration(ctype) if any(k["gemm"] for k in kernels) else None,
        lapack=_lapack_declaration(ctype) if any(n.op in _LAPACK for n in graph.nodes)
        else None)
    return source, dtype, ctype, reductions, randoms


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
    if node.op in ("value_select", "gather", "scatter", "scatter_add"):
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


def _index_placement(shape, dims, index_shapes):
    """numpy's and torch's rule for the result of x[..., i, j, ...]: the broadcast shape of the
    index tensors replaces the indexed dims where they are adjacent, else it goes first.
    Returns (result shape, where the broadcast block starts, the broadcast shape)."""
    import numpy as np
    block = tuple(np.broadcast_shapes(*[tuple(s) for s in index_shapes]))
    rest = [size for d, size in enumerate(shape) if d not in dims]
    adjacent = list(dims) == list(range(dims[0], dims[0] + len(dims)))
    start = dims[0] if adjacent else 0
    return tuple(rest[:start]) + block + tuple(rest[start:]), start, block


def _indexing_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                     draw=None):
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
    addressed = [_offset(loop_shape, outer, outer_strides, base, flat=False)]
    lines = []
    pointers = [pointer_of[source]] + [pointer_of[index] for index in indices]
    if node.op == "index_put":
        pointers.insert(1, pointer_of[values])
        base_offset = _offset(tuple(node.shape), *layouts[source], flat=True)
        lines += [f"for (int64_t i = 0; i < {_numel(node.shape)}; i++) {{  /* the base first */"]
        lines += ["    " + line for line in (_index_lines(tuple(node.shape))
                                              if base_offset != "i" else [])]
        lines += [f"    {target_pointer}[i] = {pointer_of[source]}[{base_offset}];", "}"]
    lines.append(f"for (int64_t i = 0; i < {_numel(loop_shape)}; i++) {{")
    lines += ["    " + line for line in _index_lines(loop_shape)]
    for ordinal, (dim, index, (index_shape, index_strides, index_base)) in enumerate(
            zip(dims, indices, index_layouts)):
        # the index tensor broadcast into the block (aligned right, as numpy broadcasts)
        lead = (1,) * (start + len(block) - len(index_shape))
        tail = (1,) * (len(loop_shape) - start - len(block))
        index_offset = _offset(loop_shape, lead + tuple(index_shape) + tail,
                               (0,) * len(lead) + tuple(index_strides) + (0,) * len(tail),
                               index_base, flat=False)
        size = source_shape[dim]
        lines += [f"    int64_t position{ordinal} = {pointer_of[index]}[{index_offset}];",
                  f"    if (position{ordinal} < -{size} || position{ordinal} >= {size}) {{",
                  f"        graphc_error[0] = position{ordinal};",
                  f"        graphc_error[1] = {size};",
                  f"        graphc_error[2] = {ordinal};",
                  "        graphc_error[3] = 0;",
                  "        return 1;",
                  "    }",
                  f"    position{ordinal} += position{ordinal} < 0 ? {size} : 0;"]
        addressed.append(f"position{ordinal} * {strides[dim]}")
    address = " + ".join(term for term in addressed if term != "0") or "0"
    if node.op == "index":
        lines.append(f"    {target_pointer}[i] = {pointer_of[source]}[{address}];")
    else:
        value = f"{pointer_of[values]}[{_offset(loop_shape, *layouts[values], flat=False)}]"
        operator = "+=" if node.attrs["accumulate"] else "="
        lines.append(f"    {target_pointer}[{address}] {operator} {value};")
    lines.append("}")
    described = ", ".join(f"%{index} [{', '.join(map(str, layouts[index][0]))}]"
                          for index in indices)
    accumulating = node.op == "index_put" and node.attrs["accumulate"]
    return _lines_kernel(position, graph, node,
                         f"{node.op} at dims {list(dims)} by {described}"
                         + (" (accumulating)" if accumulating else ""),
                         list(dict.fromkeys(pointers)), target_pointer, types, lines)


def _error_lines(value, size, dim, kind):
    """C lines stopping the call on a bad index; `kind` picks eager's exception and message
    (compile._Specialisation.raise_error): 0 advanced indexing's IndexError, 1 gather's and
    scatter's RuntimeError, ... (`dim`: the dimension the message names)."""
    return [f"    graphc_error[0] = {value};", f"    graphc_error[1] = {size};",
            f"    graphc_error[2] = {dim};", f"    graphc_error[3] = {int(kind)};",
            "    return 1;"]


def _gather_scatter_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                           draw=None):
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
    index_offset = _offset(index_shape, *layouts[index], flat=False)
    lines, pointers = [], [pointer_of[source], pointer_of[index]]
    if node.op == "gather":
        shape, strides, base = layouts[source]
    else:
        shape = tuple(node.shape)
        shape, strides, base = shape, _row_major(shape), 0
        base_offset = _offset(shape, *layouts[source], flat=True)
        lines += [f"for (int64_t i = 0; i < {_numel(shape)}; i++) {{  /* the base first */"]
        lines += ["    " + line for line in (_index_lines(shape) if base_offset != "i" else [])]
        lines += [f"    {target_pointer}[i] = {pointer_of[source]}[{base_offset}];", "}"]
    others = tuple(0 if d == dim else stride for d, stride in enumerate(strides))
    rest = _offset(index_shape, index_shape, others, base, flat=False)
    address = f"position * {strides[dim]}" + ("" if rest == "0" else f" + {rest}") \
        if strides else "0"
    lines.append(f"for (int64_t i = 0; i < {_numel(index_shape)}; i++) {{")
    lines += ["    " + line for line in _index_lines(index_shape)]
    lines += [f"    const int64_t position = {pointer_of[index]}[{index_offset}];",
              f"    if (position < 0 || position >= {size}) {{"]
    lines += ["    " + line for line in _error_lines("position", size, dim_attr, 1)] + ["    }"]
    if node.op == "gather":
        lines.append(f"    {target_pointer}[i] = {pointer_of[source]}[{address}];")
    else:
        if values in layouts:
            pointers.append(pointer_of[values])
            value = f"{pointer_of[values]}[{_offset(index_shape, *layouts[values], flat=False)}]"
        else:
            value = repr(float(_constant(values)))
        operator = "+=" if node.op == "scatter_add" else "="
        lines.append(f"    {target_pointer}[{address}] {operator} {value};")
    lines.append("}")
    shown = ", ".join(map(str, index_shape))
    return _lines_kernel(position, graph, node, f"{node.op} along dim {dim} by %{index} [{shown}]",
                         list(dict.fromkeys(pointers)), target_pointer, types, lines)


def _lines_kernel(position, graph, node, summary, reads, target_pointer, types, lines,
                  comment="serial: stores may land on one element twice, and the first bad "
                          "index is reported"):
    """A kernel written as its own C lines (gathers, scatters, scans, copies, randperm): it
    returns non-zero to stop the call (a bad index)."""
    return {
        "name": f"kernel{position}_{node.op}",
        "output": node.name,
        "summary": summary,
        "nodes": [f"%{node.name} = {node.op}"],
        "locations": sorted({getattr(graph, "locations", {}).get(node.name)} - {None}) or ["?"],
        **_signature(reads, [target_pointer], types),
        "numel": _numel(node.shape), "index_lines": [], "loads": [], "temporaries": [],
        "result": "", "output_pointer": target_pointer, "reduction": None, "random": None,
        "gemm": None, "checked": lines, "comment": comment,
    }


def _slice_backward_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                           draw=None):
    """The gradient of a slice or a diagonal: zeros, with the gradient copied into the region
    the forward view reads (found by running that view on an array of offsets: an affine map)."""
    import numpy as np
    shape = tuple(node.shape)
    forward = {"slice_backward": "slice", "diagonal_backward": "diagonal"}[node.op]
    attrs = {k: v for k, v in node.attrs.items() if k != "shape"}
    offsets = np.asarray(REGISTRY[forward].eager(
        np.arange(_numel(shape), dtype=np.int64).reshape(shape), **attrs))
    grad = node.inputs[0]
    part = tuple(offsets.shape)
    if offsets.size:
        base = int(offsets.flat[0])
        strides = tuple(int(offsets[tuple(1 if k == d else 0 for k in range(len(part)))]) - base
                        if size > 1 else 0 for d, size in enumerate(part))
    else:
        base, strides = 0, (0,) * len(part)
    target = _offset(part, part, strides, base, flat=False)
    lines = [f"for (int64_t i = 0; i < {_numel(shape)}; i++)",
             f"    {target_pointer}[i] = 0;",
             f"for (int64_t i = 0; i < {_numel(part)}; i++) {{"]
    lines += ["    " + line for line in _index_lines(part)]
    lines += [f"    {target_pointer}[{target}] = "
              f"{pointer_of[grad]}[{_offset(part, *layouts[grad], flat=False)}];", "}"]
    return _lines_kernel(position, graph, node,
                         f"zeros with %{grad} in the region of {forward} {attrs}",
                         [pointer_of[grad]], target_pointer, types, lines,
                         comment="zeros, then the region")


def _cat_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                draw=None):
    """cat: each operand copied into its block of the result along dim."""
    shape = tuple(node.shape)
    dim = node.attrs["dim"] % len(shape)
    strides = _row_major(shape)
    lines, start, pointers = [], 0, []
    for operand in node.inputs:
        if operand not in layouts:
            raise Unsupported("cat of a number (not compiled yet)")
        part = tuple(layouts[operand][0])
        if len(part) != len(shape) or 0 in part:  # torch skips empty 1-d operands
            continue
        target = _offset(part, part, strides, start * strides[dim], flat=False)
        lines += [f"for (int64_t i = 0; i < {_numel(part)}; i++) {{  /* %{operand} */"]
        lines += ["    " + line for line in _index_lines(part)]
        lines += [f"    {target_pointer}[{target}] = "
                  f"{pointer_of[operand]}[{_offset(part, *layouts[operand], flat=False)}];", "}"]
        pointers.append(pointer_of[operand])
        start += part[dim]
    return _lines_kernel(position, graph, node,
                         f"cat along dim {dim} of " + ", ".join(f"%{o}" for o in node.inputs),
                         list(dict.fromkeys(pointers)), target_pointer, types, lines,
                         comment="each operand copied into its block")


def _scan_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                 draw=None):
    """cumsum/cumprod along one dim: each line of the input folded in order, accumulated in
    the result's type (as eager numpy accumulates)."""
    source = node.inputs[0]
    shape = tuple(node.shape)
    dim = node.attrs["dim"] % max(len(shape), 1)
    start, operator = _SCANS[node.op]
    element = types.of(target_pointer)
    if not shape:  # a 0-dim scan is its input
        lines = [f"{target_pointer}[0] = {pointer_of[source]}[{layouts[source][2]}];"]
    else:
        others = [(size, d) for d, size in enumerate(shape) if d != dim]
        written = _offset(shape, shape, _row_major(shape), 0, flat=False)
        lines = [f"for (int64_t o = 0; o < {_numel(size for size, _ in others)}; o++) {{"]
        lines += ["    " + line for line in _decode("o", others)]
        lines += [f"    {element} accumulator = {start};",
                  f"    for (int64_t idx{dim} = 0; idx{dim} < {shape[dim]}; idx{dim}++) {{",
                  f"        accumulator {operator} {pointer_of[source]}"
                  f"[{_offset(shape, *layouts[source], flat=False)}];",
                  f"        {target_pointer}[{written}] = accumulator;", "    }", "}"]
    return _lines_kernel(position, graph, node, f"{node.op} of %{source} along dim {dim}",
                         [pointer_of[source]], target_pointer, types, lines,
                         comment="serial along the scanned dim")


class _ElementTypes(dict):
    """The C element type of each data pointer (`in0_data` -> "float"); `compute` is the type
    of the graph's floating-point arithmetic, and of any pointer not listed."""

    def __init__(self, compute):
        super().__init__()
        self.compute = compute

    def of(self, pointer):
        return self.get(pointer, self.compute)


def _value_select_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                         draw=None):
    """The values at the positions argmax/argmin/sort/topk/median found along `dim`: x read at
    index[o] along dim, for each element o of the index (kept dims read x as they are)."""
    source, index = node.inputs
    shape, strides, base = layouts[source]
    dim = node.attrs["dim"] % len(shape)
    index_shape, index_strides, index_base = layouts[index]
    if not node.attrs["keepdim"]:
        index_shape = tuple(index_shape[:dim]) + (1,) + tuple(index_shape[dim:])
        index_strides = tuple(index_strides[:dim]) + (0,) + tuple(index_strides[dim:])
    loop_shape = tuple(index_shape)
    index_offset = _offset(loop_shape, index_shape, index_strides, index_base, flat=False)
    rest = _offset(loop_shape, tuple(shape[:dim]) + (1,) + tuple(shape[dim + 1:]),
                   tuple(strides[:dim]) + (0,) + tuple(strides[dim + 1:]), base, flat=False)
    addressed = f"position * {strides[dim]}" + ("" if rest == "0" else f" + {rest}")
    lines = [f"for (int64_t i = 0; i < {_numel(loop_shape)}; i++) {{"]
    lines += ["    " + line for line in _index_lines(loop_shape)]
    lines += [f"    const int64_t position = {pointer_of[index]}[{index_offset}];",
              f"    {target_pointer}[i] = {pointer_of[source]}[{addressed}];", "}"]
    pointers = [pointer_of[source], pointer_of[index]]
    return _lines_kernel(position, graph, node,
                         f"%{source} at the positions %{index} found along dim {dim}",
                         pointers, target_pointer, types, lines)


def _signature(reads, writes, types):
    """A kernel's C parameters (what it reads is const) and the entry point's arguments."""
    parameters = [f"const {types.of(p)} *restrict {p}" for p in reads] + [
        f"{types.of(p)} *restrict {p}" for p in writes]
    return {"parameters": ", ".join(parameters), "arguments": ", ".join(reads + writes)}


def _numel(shape):
    return math.prod(shape)


BLAS_MINIMUM = 16384  # multiply-adds below which a loop nest beats a BLAS call


def _lapack_declaration(ctype):
    from . import blas
    return {"library": blas.library_dir(), "lines": blas.lapack_declarations(ctype)}


def _blas_declaration(ctype):
    from . import blas
    return {"function": blas.GEMM[ctype], "library": blas.library_dir(),
            "signature": (f"int order, int transpose_a, int transpose_b, int m, int n, int k, "
                          f"{ctype} alpha, const {ctype} *a, int lda, const {ctype} *b, int ldb, "
                          f"{ctype} beta, {ctype} *c, int ldc")}


def _blas_operand(rows, columns, row_stride, column_stride):
    """(transposed?, leading dimension) for a row-major BLAS call, or None."""
    if column_stride == 1 and row_stride >= max(columns, 1):
        return False, row_stride
    if row_stride == 1 and column_stride >= max(rows, 1):
        return True, column_stride
    return None


def _gemm_lines(a, b, a_layout, b_layout, batch, m, k, n, pointers, target, ctype):
    """C lines calling BLAS once per batch entry, or None when the layouts do not allow it."""
    from . import blas
    if blas.library_dir() is None or m * n * k < BLAS_MINIMUM:
        return None
    (a_shape, a_strides, a_base), (b_shape, b_strides, b_base) = a_layout, b_layout
    left = _blas_operand(m, k, a_strides[-2], a_strides[-1])
    right = _blas_operand(k, n, b_strides[-2], b_strides[-1])
    if left is None or right is None:
        return None
    lines = []
    batch_count = _numel(batch)
    a_offset = _offset(batch, tuple(a_shape[:-2]), tuple(a_strides[:-2]), a_base, flat=False)
    b_offset = _offset(batch, tuple(b_shape[:-2]), tuple(b_strides[:-2]), b_base, flat=False)
    lines.append(f"for (int64_t batch = 0; batch < {batch_count}; batch++) {{")
    lines += ["    " + line for line in _decode("batch", [(s, d) for d, s in enumerate(batch)])]
    one = "1.0f" if ctype == "float" else "1.0"
    zero = "0.0f" if ctype == "float" else "0.0"
    lines.append(f"    {blas.GEMM[ctype]}(101, {112 if left[0] else 111}, {112 if right[0] else 111}, "
                 f"{m}, {n}, {k}, {one}, {pointers[a]} + ({a_offset}), {left[1]}, "
                 f"{pointers[b]} + ({b_offset}), {right[1]}, {zero}, {target} + batch * {m * n}, {n});")
    lines.append("}")
    return lines


def _matmul_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                   draw=None):
    """out[..., i, j] = sum_k a[..., i, k] * b[..., k, j]: BLAS for products big enough to pay
    for the call (operands passed in place, transposed when that is their layout), else a
    reduction over k of the loop (batch..., i, k, j) reading both operands through their
    strides."""
    import numpy as np
    a, b = node.inputs
    (a_shape, a_strides, a_base), (b_shape, b_strides, b_base) = layouts[a], layouts[b]
    # a vector is a one-row matrix on the left and a one-column matrix on the right (the
    # product's memory is the same with that dim dropped, as torch drops it)
    if len(a_shape) == 1:
        a_shape, a_strides = (1,) + tuple(a_shape), (a_shape[0] * a_strides[0],) + tuple(a_strides)
    if len(b_shape) == 1:
        b_shape, b_strides = tuple(b_shape) + (1,), tuple(b_strides) + (1,)
    batch = tuple(np.broadcast_shapes(tuple(a_shape[:-2]), tuple(b_shape[:-2])))
    m, k, n = a_shape[-2], a_shape[-1], b_shape[-1]
    gemm = _gemm_lines(a, b, (a_shape, a_strides, a_base), (b_shape, b_strides, b_base), batch,
                       m, k, n, pointer_of, target_pointer, types.compute)
    loop_shape = batch + (m, k, n)
    # both operands on the loop (batch..., i, k, j): a has no j, b no i
    a_layout = (tuple(a_shape[:-2]) + (m, k, 1),
                tuple(a_strides[:-2]) + (a_strides[-2], a_strides[-1], 0), a_base)
    b_layout = (tuple(b_shape[:-2]) + (1, k, n),
                tuple(b_strides[:-2]) + (0, b_strides[-2], b_strides[-1]), b_base)
    numel = _numel(node.shape)
    kept = [(size, d) for d, size in enumerate(loop_shape) if d != len(loop_shape) - 2]
    pointers = [pointer_of[a]] if pointer_of[a] == pointer_of[b] else [pointer_of[a], pointer_of[b]]
    return {
        "name": f"kernel{position}_matmul",
        "output": node.name,
        "summary": f"matmul of %{a} [{', '.join(map(str, a_shape))}] and %{b} "
                   f"[{', '.join(map(str, b_shape))}]",
        "nodes": [f"%{node.name} = matmul"],
        "locations": sorted({getattr(graph, "locations", {}).get(node.name)} - {None}) or ["?"],
        **_signature(pointers, [target_pointer], types),
        "numel": numel,
        "index_lines": [],
        "loads": [{"symbol": "left", "pointer": pointer_of[a],
                   "offset": _offset(loop_shape, *a_layout, flat=False)},
                  {"symbol": "right", "pointer": pointer_of[b],
                   "offset": _offset(loop_shape, *b_layout, flat=False)}],
        "temporaries": [],
        "result": "left * right",
        "output_pointer": target_pointer,
        "reduction": None if gemm else {
            "count": k, "total": k * numel, "outer_lines": _decode("o", kept),
            "inner_lines": _decode("r", [(k, len(loop_shape) - 2)]), "finish": "", "around": "",
            "start": "0.0", "combine": None, "position": False},
        "random": None,
        "gemm": gemm,
    }


def _randperm_kernel(position, graph, node, target_pointer, layouts, pointer_of, types, index):
    """randperm(n): the indices stably sorted by one 64-bit Philox key each (graphc.random's
    recipe), through qsort on (key, index) pairs."""
    n = node.attrs["n"]
    lines = [f"graphc_keyed *keyed = malloc({max(n, 1)} * sizeof *keyed);",
             "if (keyed == NULL) {",
             f"    graphc_error[0] = {n};",
             "    graphc_error[3] = 2;  /* out of memory: MemoryError */",
             "    return 1;",
             "}"]
    lines += [f"for (int64_t b = 0; b < {-(-n // 2)}; b++) {{  /* two keys per Philox block */",
              "    uint32_t w[4];",
              "    graphc_philox(seed, offset + (uint64_t)b, w);",
              "    for (int64_t k = 0; k < 2; k++) {",
              "        const int64_t i = 2 * b + k;",
              f"        if (i < {n}) {{",
              "            keyed[i].key = ((uint64_t)w[2 * k] << 32) | w[2 * k + 1];",
              "            keyed[i].index = i;",
              "        }", "    }", "}",
              f"qsort(keyed, {n}, sizeof *keyed, graphc_keyed_compare);",
              f"for (int64_t i = 0; i < {n}; i++)",
              f"    {target_pointer}[i] = keyed[i].index;",
              "free(keyed);"]
    return _draw_kernel(position, graph, node, target_pointer, types, index, lines,
                        f"randperm draw {index} ({n} values)", comment="keys, then one sort")


def _sort_kernel(position, graph, node, target_pointer, layouts, pointer_of, types, draw=None):
    """sort/argsort, topk, kthvalue, median and nanmedian: each line along `dim` copied as
    (value, index) pairs and qsort-ed in eager's stable order (equal values keep their order;
    NaN last ascending, first descending), then the positions the op asks for written out."""
    source = node.inputs[0]
    shape, strides, base = layouts[source]
    if node.op == "median_all":  # all elements as one line
        dim, others, size = None, [], _numel(shape)
    else:
        dim = node.attrs["dim"] % len(shape)
        others, size = [(n, d) for d, n in enumerate(shape) if d != dim], shape[dim]
    descending = node.attrs.get("descending") or node.attrs.get("largest", False)
    order = "graphc_descending" if descending else "graphc_ascending"
    lines = [f"graphc_ranked *line = malloc({max(size, 1)} * sizeof *line);",
             "if (line == NULL) {",
             f"    graphc_error[0] = {size};",
             "    graphc_error[3] = 2;  /* out of memory: MemoryError */",
             "    return 1;",
             "}",
             f"for (int64_t o = 0; o < {_numel(n for n, _ in others)}; o++) {{"]
    lines += ["    " + line for line in _decode("o", others)]
    if dim is None:
        read = _offset(tuple(shape), *layouts[source], flat=False)
        lines += [f"    for (int64_t i = 0; i < {size}; i++) {{"]
        lines += ["        " + line for line in _index_lines(tuple(shape))]
        lines += [f"        line[i].value = {pointer_of[source]}[{read}];",
                  "        line[i].index = i;", "    }"]
    else:
        read = _offset(tuple(shape), *layouts[source], flat=False)
        lines += [f"    for (int64_t idx{dim} = 0; idx{dim} < {size}; idx{dim}++) {{",
                  f"        line[idx{dim}].value = {pointer_of[source]}[{read}];",
                  f"        line[idx{dim}].index = idx{dim};", "    }"]
    lines += [f"    qsort(line, {size}, sizeof *line, {order});"]
    # the result, row-major over the input's shape with `count` along dim
    count = {"sort_indices": size, "topk_indices": node.attrs.get("k")}.get(node.op, 1)
    if dim is not None:
        kept = tuple(shape[:dim]) + (count,) + tuple(shape[dim + 1:])
        written = _offset(kept, kept, _row_major(kept), 0, flat=False)
    if node.op in ("sort_indices", "topk_indices"):
        lines += [f"    for (int64_t idx{dim} = 0; idx{dim} < {count}; idx{dim}++)",
                  f"        {target_pointer}[{written}] = line[idx{dim}].index;"]
    elif node.op == "mode_indices":  # the end of the first longest run of equal values
        lines += ["    int64_t best = 0, longest = -1, start = 0;",
                  f"    for (int64_t j = 0; j < {size}; j++) {{",
                  "        if (j > 0 && !(line[j].value == line[j - 1].value))",
                  "            start = j;  /* NaN equals nothing: a run of its own */",
                  "        if (j - start > longest) {",
                  "            longest = j - start;", "            best = j;", "        }",
                  "    }",
                  f"    const int64_t idx{dim} = 0;",
                  f"    {target_pointer}[{written}] = line[best].index;"]
    elif node.op == "kthvalue_indices":
        lines += [f"    const int64_t idx{dim} = 0;",
                  f"    {target_pointer}[{written}] = line[{node.attrs['k'] - 1}].index;"]
    else:  # medians: NaN sorts last, so `present` values come first
        lines += [f"    int64_t present = {size};",
                  "    while (present > 0 && line[present - 1].value != line[present - 1].value)",
                  "        present--;"]
        if node.attrs["ignore_nan"]:
            pick = "line[(present > 0 ? present - 1 : 0) / 2]"
        else:  # torch.median: the first NaN, if any
            pick = f"line[present < {size} ? present : ({size} - 1) / 2]"
        if node.op == "median_all":
            lines += [f"    {target_pointer}[0] = present == 0 || "
                      + ("0" if node.attrs["ignore_nan"] else f"present < {size}")
                      + f" ? NAN : {pick}.value;"]
        else:
            lines += [f"    const int64_t idx{dim} = 0;",
                      f"    {target_pointer}[{written}] = {pick}.index;"]
    lines += ["}", "free(line);"]
    return _lines_kernel(position, graph, node, f"{node.op} of %{source}"
                         + ("" if dim is None else f" along dim {dim}"),
                         [pointer_of[source]], target_pointer, types, lines,
                         comment="each line sorted in eager's stable order")


def _index_select_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                         draw=None):
    """index_select: out[..., j, ...] = x[..., index[j], ...] along dim; an index outside
    [0, size) stops the call with eager's RuntimeError."""
    source, index = node.inputs
    shape, strides, base = layouts[source]
    out_shape = tuple(node.shape)
    if not shape:  # a 0-d input is copied
        lines = [f"{target_pointer}[0] = {pointer_of[source]}[{base}];"]
        return _lines_kernel(position, graph, node, f"index_select of 0-d %{source}",
                             [pointer_of[source]], target_pointer, types, lines)
    dim = node.attrs["dim"] % len(shape)
    size = shape[dim]
    index_shape, index_strides, index_base = layouts[index]
    flat_index = _offset((out_shape[dim],), (_numel(index_shape),),
                         (index_strides[-1] if index_strides else 0,), index_base, flat=False)
    flat_index = flat_index.replace("idx0", f"idx{dim}")
    others = tuple(0 if d == dim else stride for d, stride in enumerate(strides))
    rest = _offset(out_shape, tuple(1 if d == dim else n for d, n in enumerate(shape)), others,
                   base, flat=False)
    lines = [f"for (int64_t i = 0; i < {_numel(out_shape)}; i++) {{"]
    lines += ["    " + line for line in _index_lines(out_shape)]
    lines += [f"    const int64_t position = {pointer_of[index]}[{flat_index}];",
              f"    if (position < 0 || position >= {size}) {{"]
    lines += ["    " + line for line in _error_lines("position", size, 0, 3)] + ["    }"]
    lines += [f"    {target_pointer}[i] = {pointer_of[source]}[position * {strides[dim]}"
              + ("" if rest == "0" else f" + {rest}") + "];", "}"]
    return _lines_kernel(position, graph, node, f"index_select along dim {dim} by %{index}",
                         [pointer_of[source], pointer_of[index]], target_pointer, types, lines)


def _index_add_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                      draw=None):
    """index_add (index_select's gradient), index_copy and index_fill along dim: the base
    copied, then at index[j] the source's slice j added (one element at a time, so repeated
    indices accumulate) or stored, or the value stored. Bad indices raise as eager does."""
    base_name, index, source = node.inputs
    shape = tuple(node.shape)
    dim = node.attrs["dim"] % max(len(shape), 1)
    strides, size = _row_major(shape), shape[dim] if shape else 1
    index_shape, index_strides, index_base = layouts[index]
    count = _numel(index_shape)
    if node.op == "index_fill":  # every element of the filled slices
        loop_shape = tuple(count if d == dim else n for d, n in enumerate(shape))
        value = repr(float(_constant(source))) if source not in layouts else \
            f"{pointer_of[source]}[{layouts[source][2]}]"
    else:
        loop_shape = tuple(layouts[source][0])
        value = f"{pointer_of[source]}[{_offset(loop_shape, *layouts[source], flat=False)}]"
    index_offset = f"{index_base} + idx{dim} * {index_strides[-1] if index_strides else 0}"
    others = tuple(0 if d == dim else stride for d, stride in enumerate(strides))
    rest = _offset(loop_shape, tuple(1 if d == dim else n for d, n in enumerate(shape)),
                   others, 0, flat=False)
    alpha = node.attrs.get("alpha", 1)
    base_offset = _offset(shape, *layouts[base_name], flat=True)
    # index_add: RuntimeError; index_copy: its own IndexError; both want [0, size); index_fill
    # takes negative indices too
    kind, low = {"index_add": (1, "0"), "index_copy": (7, "0")}.get(node.op, (0, f"-{size}"))
    lines = [f"for (int64_t i = 0; i < {_numel(shape)}; i++) {{  /* the base first */"]
    lines += ["    " + line for line in (_index_lines(shape) if base_offset != "i" else [])]
    lines += [f"    {target_pointer}[i] = {pointer_of[base_name]}[{base_offset}];", "}",
              f"for (int64_t i = 0; i < {_numel(loop_shape)}; i++) {{"]
    lines += ["    " + line for line in _index_lines(loop_shape)]
    lines += [f"    int64_t position = {pointer_of[index]}[{index_offset}];",
              f"    if (position < {low} || position >= {size}) {{"]
    lines += ["    " + line for line in _error_lines("position", size, dim, kind)] + ["    }"]
    lines += [f"    position += position < 0 ? {size} : 0;"]
    if node.op == "index_add":
        operator, value = "+=", ("" if alpha == 1 else f"{float(alpha)!r} * ") + value
    else:
        operator = "="
    lines += [f"    {target_pointer}[position * {strides[dim]}" + ("" if rest == "0" else
                                                                f" + {rest}")
              + f"] {operator} {value};", "}"]
    reads = [pointer_of[base_name], pointer_of[index]] + (
        [pointer_of[source]] if source in layouts else [])
    return _lines_kernel(position, graph, node, f"{node.op} along dim {dim} by %{index}",
                         list(dict.fromkeys(reads)), target_pointer, types, lines)


def _take_put_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                     draw=None):
    """take and put: x read (take) or written (put, stored or accumulated, in order) at flat
    row-major positions, negative ones counting from the end; a position outside [-n, n)
    raises eager's IndexError."""
    source, index = node.inputs[:2]
    shape, strides, base = layouts[source]
    n = _numel(shape)
    index_shape = tuple(layouts[index][0])
    lines = []
    if node.op == "put":
        base_offset = _offset(tuple(shape), tuple(shape), tuple(strides), base, flat=True)
        lines += [f"for (int64_t i = 0; i < {n}; i++) {{  /* the base first */"]
        lines += ["    " + line for line in (_index_lines(tuple(shape))
                                              if base_offset != "i" else [])]
        lines += [f"    {target_pointer}[i] = {pointer_of[source]}[{base_offset}];", "}"]
    lines += [f"for (int64_t i = 0; i < {_numel(index_shape)}; i++) {{"]
    lines += ["    " + line for line in _index_lines(index_shape)]
    lines += [f"    int64_t position = {pointer_of[index]}"
              f"[{_offset(index_shape, *layouts[index], flat=False)}];",
              f"    if (position < -{n} || position >= {n}) {{"]
    lines += ["    " + line for line in _error_lines("position", n, 0, 8)] + ["    }"]
    lines += [f"    position += position < 0 ? {n} : 0;"]
    if node.op == "take":  # x at the flat position, through its strides
        decode = [f"    int64_t rest_p = position, address = {base};"]
        for d in range(len(shape) - 1, -1, -1):
            decode += [f"    address += (rest_p % {shape[d]}) * {strides[d]}; "
                       f"rest_p /= {shape[d]};"]
        lines += decode + [f"    {target_pointer}[i] = {pointer_of[source]}[address];", "}"]
        reads = [pointer_of[source], pointer_of[index]]
    else:
        values = node.inputs[2]
        operator = "+=" if node.attrs.get("accumulate") else "="
        lines += [f"    {target_pointer}[position] {operator} {pointer_of[values]}"
                  f"[{_offset(index_shape, *layouts[values], flat=False)}];", "}"]
        reads = [pointer_of[source], pointer_of[index], pointer_of[values]]
    return _lines_kernel(position, graph, node, f"{node.op} at the flat positions %{index}",
                         list(dict.fromkeys(reads)), target_pointer, types, lines)


def _triangle_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                     draw=None):
    """triu/tril: the matrices (last two dims) kept on and above (triu) or below (tril) the
    diagonal `diagonal`, zero elsewhere."""
    source = node.inputs[0]
    shape = tuple(node.shape)
    rows, columns = len(shape) - 2, len(shape) - 1
    k = node.attrs["diagonal"]
    keep = (f"idx{columns} - idx{rows} >= {k}" if node.op == "triu"
            else f"idx{columns} - idx{rows} <= {k}")
    lines = [f"for (int64_t i = 0; i < {_numel(shape)}; i++) {{"]
    lines += ["    " + line for line in _index_lines(shape)]
    lines += [f"    {target_pointer}[i] = {keep} ? "
              f"{pointer_of[source]}[{_offset(shape, *layouts[source], flat=False)}] : 0;", "}"]
    return _lines_kernel(position, graph, node, f"{node.op} of %{source} at diagonal {k}",
                         [pointer_of[source]], target_pointer, types, lines,
                         comment="one pass over the result")


def _repeat_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                   draw=None):
    """repeat (np.tile): out[i] reads x at each index modulo x's size in that dim (x's dims
    aligned to the right, as torch adds leading ones)."""
    source = node.inputs[0]
    shape, strides, base = layouts[source]
    out_shape = tuple(node.shape)
    lead = len(out_shape) - len(shape)
    terms = [f"(idx{lead + d} % {n}) * {stride}"
             for d, (n, stride) in enumerate(zip(shape, strides)) if n != 1 and stride != 0]
    terms += [str(base)] if base else []
    lines = [f"for (int64_t i = 0; i < {_numel(out_shape)}; i++) {{"]
    lines += ["    " + line for line in _index_lines(out_shape)]
    lines += [f"    {target_pointer}[i] = {pointer_of[source]}[{' + '.join(terms) or '0'}];", "}"]
    return _lines_kernel(position, graph, node, f"repeat of %{source} {node.attrs['repeats']}",
                         [pointer_of[source]], target_pointer, types, lines,
                         comment="one pass over the result")


def _trace_kernel(position, graph, node, target_pointer, layouts, pointer_of, types, draw=None):
    """trace: the sum of the main diagonal, accumulated in double."""
    source = node.inputs[0]
    (rows, columns), (row_stride, column_stride), base = layouts[source]
    lines = ["double accumulator = 0.0;",
             f"for (int64_t i = 0; i < {min(rows, columns)}; i++)",
             f"    accumulator += {pointer_of[source]}[{base} + i * {row_stride + column_stride}];",
             f"{target_pointer}[0] = accumulator;"]
    return _lines_kernel(position, graph, node, f"trace of %{source}", [pointer_of[source]],
                         target_pointer, types, lines, comment="the diagonal, summed")


def _linalg_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                   draw=None):
    """inverse, det, solve and cholesky through LAPACK (the OpenBLAS of scipy-openblas32): each
    matrix of the batch copied row-major, factored (getrf, gesv, potrf), and the result taken
    from the factors; a singular or not positive-definite matrix stops the call with eager's
    LinAlgError (LAPACK's info is the pivot or the order torch reports)."""
    from . import blas
    if blas.library_dir() is None:
        raise Unsupported(f"{node.op} needs LAPACK (the scipy-openblas32 wheel)")
    if node.op == "solve" and not node.attrs.get("left", True):
        raise Unsupported("solve with left=False (not compiled yet)")
    a = node.inputs[0]
    shape, strides, base = layouts[a]
    n = shape[-1]
    batch = tuple(shape[:-2])
    element, f = types.of(pointer_of[a]), blas.LAPACK_PREFIX[types.of(pointer_of[a])]
    batched = int(len(shape) > 2)
    matrix = _offset(tuple(shape), tuple(shape), tuple(strides), base, flat=False)
    lines = [f"{element} *work = malloc({max(n * n, 1)} * sizeof *work);",
             f"int *pivots = malloc({max(n, 1)} * sizeof *pivots);",
             "if (work == NULL || pivots == NULL) {",
             "    free(work);", "    free(pivots);",
             f"    graphc_error[0] = {n * n};",
             "    graphc_error[3] = 2;  /* out of memory: MemoryError */",
             "    return 1;", "}",
             f"for (int64_t b = 0; b < {_numel(batch)}; b++) {{"]
    lines += ["    " + line for line in _decode("b", list(zip(batch, range(len(batch)))))]
    lines += [f"    for (int64_t idx{len(shape) - 2} = 0; idx{len(shape) - 2} < {n}; "
              f"idx{len(shape) - 2}++)",
              f"        for (int64_t idx{len(shape) - 1} = 0; idx{len(shape) - 1} < {n}; "
              f"idx{len(shape) - 1}++)",
              f"            work[idx{len(shape) - 2} * {n} + idx{len(shape) - 1}] = "
              f"{pointer_of[a]}[{matrix}];"]

    def fail(kind, detail):
        return [f"    if (info > 0) {{", "        free(work);", "        free(pivots);",
                f"        graphc_error[0] = {detail};", "        graphc_error[1] = b;",
                f"        graphc_error[2] = {batched};",
                f"        graphc_error[3] = {kind};", "        return 1;", "    }"]
    out = f"{target_pointer} + b * {n * n}"
    if node.op == "inverse":
        lines += [f"    int info = {f}getrf(101, {n}, {n}, work, {n}, pivots);"]
        lines += fail(4, "info")
        lines += [f"    {f}getri(101, {n}, work, {n}, pivots);",
                  f"    memcpy({out}, work, {n * n} * sizeof *work);"]
    elif node.op == "det":  # LU: the product of the pivots, negated per row swap
        lines += [f"    const int info = {f}getrf(101, {n}, {n}, work, {n}, pivots);",
                  "    double product = 1.0;",
                  f"    for (int i = 0; i < {n}; i++)",
                  f"        product *= (pivots[i] != i + 1 ? -1.0 : 1.0) * work[i * {n} + i];",
                  f"    {target_pointer}[b] = info > 0 ? 0.0 : product;"]
    elif node.op == "solve":
        right = node.inputs[1]
        r_shape, r_strides, r_base = layouts[right]
        columns = r_shape[-1] if len(r_shape) == len(shape) else 1
        if len(r_shape) != len(shape) and len(r_shape) != len(shape) - 1 or \
                tuple(r_shape[:len(batch)]) != batch:
            raise Unsupported("solve with a broadcast right-hand side (not compiled yet)")
        rhs = _offset(tuple(r_shape), tuple(r_shape), tuple(r_strides), r_base, flat=False)
        loops = [f"    for (int64_t idx{len(batch)} = 0; idx{len(batch)} < {n}; idx{len(batch)}++)"]
        if columns > 1 or len(r_shape) == len(shape):
            loops.append(f"        for (int64_t idx{len(batch) + 1} = 0; idx{len(batch) + 1} < "
                         f"{columns}; idx{len(batch) + 1}++)")
            place = f"idx{len(batch)} * {columns} + idx{len(batch) + 1}"
        else:
            place = f"idx{len(batch)}"
        out = f"{target_pointer} + b * {n * columns}"
        lines += loops + [f"            ({out})[{place}] = {pointer_of[right]}[{rhs}];",
                          f"    int info = {f}gesv(101, {n}, {columns}, work, {n}, pivots, "
                          f"{out}, {columns});"]
        lines += fail(5, "info")
    else:  # cholesky: the factor, the other triangle zeroed
        upper = bool(node.attrs.get("upper", False))
        lines += [f"    int info = {f}potrf(101, '{'U' if upper else 'L'}', {n}, work, {n});"]
        lines += fail(6, "info")
        lines += [f"    for (int i = 0; i < {n}; i++)",
                  f"        for (int j = 0; j < {n}; j++)",
                  f"            ({out})[i * {n} + j] = "
                  f"{'j >= i' if upper else 'j <= i'} ? work[i * {n} + j] : 0;"]
    lines += ["}", "free(work);", "free(pivots);"]
    reads = list(dict.fromkeys(pointer_of[o] for o in node.inputs))
    return _lines_kernel(position, graph, node, f"{node.op} of %{a} (LAPACK)", reads,
                         target_pointer, types, lines, comment="one matrix of the batch at a time")


def _multinomial_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                        index):
    """multinomial, as graphc.random specifies it: every probability checked first (eager's
    RuntimeErrors), then per row either inverse-CDF sampling with replacement (the first
    cumulative sum above v * total, never past the last positive weight) or, without, the
    first `num_samples` of a stable sort by -log(1 - v) / p."""
    source = node.inputs[0]
    shape, strides, base = layouts[source]
    k = shape[-1]
    rows = _numel(shape[:-1])
    samples, replacement = node.attrs["num_samples"], node.attrs["replacement"]
    row_stride = strides[-2] if len(shape) == 2 else 0
    p = f"{pointer_of[source]}[{base} + r * {row_stride} + i * {strides[-1]}]"
    lines = [f"for (int64_t r = 0; r < {rows}; r++)  /* the checks eager makes first */",
             f"    for (int64_t i = 0; i < {k}; i++)",
             f"        if (!isfinite((double){p}) || {p} < 0) {{",
             "            graphc_error[3] = 9;", "            return 1;", "        }",
             f"for (int64_t r = 0; r < {rows}; r++) {{",
             "    double total = 0.0;",
             f"    for (int64_t i = 0; i < {k}; i++)",
             f"        total += {p};",
             "    if (!(total > 0)) {",
             "        graphc_error[3] = 10;", "        return 1;", "    }", "}",
             f"double *cumulative = malloc({max(k, 1)} * sizeof *cumulative);",
             f"graphc_ranked *line = malloc({max(k, 1)} * sizeof *line);",
             "if (cumulative == NULL || line == NULL) {",
             "    free(cumulative);", "    free(line);",
             f"    graphc_error[0] = {k};",
             "    graphc_error[3] = 2;  /* out of memory: MemoryError */",
             "    return 1;", "}",
             f"for (int64_t r = 0; r < {rows}; r++) {{"]
    if replacement:
        lines += ["    double running = 0.0;", "    int64_t last_positive = 0;",
                  f"    for (int64_t i = 0; i < {k}; i++) {{",
                  f"        running += {p};", "        cumulative[i] = running;",
                  f"        if ({p} > 0)", "            last_positive = i;", "    }",
                  f"    for (int64_t j = 0; j < {samples}; j++) {{",
                  f"        const double v = graphc_uniform53(seed, offset, r * {samples} + j);",
                  f"        const double target = v * cumulative[{k - 1}];",
                  f"        int64_t low = 0, high = {k};  /* the first cumulative > target */",
                  "        while (low < high) {",
                  "            const int64_t middle = (low + high) / 2;",
                  "            if (cumulative[middle] > target)",
                  "                high = middle;", "            else",
                  "                low = middle + 1;", "        }",
                  f"        {target_pointer}[r * {samples} + j] = "
                  "low < last_positive ? low : last_positive;", "    }"]
    else:
        lines += [f"    for (int64_t i = 0; i < {k}; i++) {{",
                  f"        const double v = graphc_uniform53(seed, offset, r * {k} + i);",
                  f"        line[i].value = {p} > 0 ? -log(1.0 - v) / {p} : INFINITY;",
                  "        line[i].index = i;", "    }",
                  f"    qsort(line, {k}, sizeof *line, graphc_ascending);",
                  f"    for (int64_t j = 0; j < {samples}; j++)",
                  f"        {target_pointer}[r * {samples} + j] = line[j].index;"]
    lines += ["}", "free(cumulative);", "free(line);"]
    return _draw_kernel(position, graph, node, target_pointer, types, index, lines,
                        f"multinomial draw {index} ({rows} x {samples}, "
                        f"{'with' if replacement else 'without'} replacement)",
                        [pointer_of[source]], comment="checks, then each row drawn")


def _draw_kernel(position, graph, node, target_pointer, types, index, lines, summary, reads=(),
                 comment="element i of the draw, in row-major order: eager's numbers"):
    """A draw written as its own C lines, taking the (seed, offset) the call claimed."""
    signature = _signature(list(reads), [target_pointer], types)
    return _lines_kernel(position, graph, node, summary, list(reads), target_pointer, types,
                         lines, comment) | {
        "parameters": f"uint64_t seed, uint64_t offset, {signature['parameters']}",
        "arguments": f"seed{index}, offset{index}, {signature['arguments']}",
    }


def _word_draw_kernel(position, graph, node, target_pointer, layouts, pointer_of, types, index):
    """bernoulli, exponential_ and randint from Philox words, as graphc.random specifies them:
    bernoulli compares word * 2^-32 with p (a number or a tensor of probabilities);
    exponential_ is -log(1 - v) / lambd on the normal recipe's uniforms; randint is
    low + word % span (two words per value when the span passes 2^32)."""
    shape = tuple(node.shape)
    n = _numel(shape)
    reads, prologue = [], []
    if node.op == "bernoulli":
        per_block, p = 4, node.inputs[0]
        if p in layouts:  # a tensor of probabilities, each checked as eager checks them
            reads.append(pointer_of[p])
            p = f"(double){pointer_of[p]}[{_offset(shape, *layouts[p], flat=False)}]"
            prologue = _index_lines(shape) + [f"if (!({p} >= 0 && {p} <= 1)) {{",
                                              "    graphc_error[3] = 11;", "    return 1;", "}"]
        value = f"((double)w[k] * 0x1p-32 < {p}) ? 1 : 0"
    elif node.op == "exponential":
        bits = 24 if node.dtype is _dt.float32 else 53
        per_block = 4 if bits <= 32 else 2
        value = f"-log(1.0 - uniform[k]) / {float(node.attrs['lambd'])!r}"
        prologue = None  # uniforms, not raw words
    else:
        low, span = int(node.attrs["low"]), int(node.attrs["high"]) - int(node.attrs["low"])
        if span <= 1 << 32:
            per_block, word = 4, "(uint64_t)w[k]"
        else:
            per_block, word = 2, "(((uint64_t)w[2 * k] << 32) | w[2 * k + 1])"
        drawn = word if span == 1 << 64 else f"{word} % {span}u"
        value = f"(int64_t)((uint64_t){low} + {drawn})"
    if prologue is None:
        lines = [f"for (int64_t b = 0; b < {-(-n // per_block)}; b++) {{",
                 "    double uniform[4];",
                 f"    graphc_uniform_block(seed, offset, b, {bits}, uniform);"]
    else:
        lines = [f"for (int64_t b = 0; b < {-(-n // per_block)}; b++) {{",
                 "    uint32_t w[4];",
                 "    graphc_philox(seed, offset + (uint64_t)b, w);"]
    lines += [f"    for (int64_t k = 0; k < {per_block}; k++) {{",
              f"        const int64_t i = b * {per_block} + k;",
              f"        if (i >= {n})", "            break;"]
    lines += ["        " + line for line in (prologue or [])]
    lines += [f"        {target_pointer}[i] = {value};", "    }", "}"]
    return _draw_kernel(position, graph, node, target_pointer, types, index, lines,
                        f"{node.op} draw {index} ({n} values)", reads)


def _random_kernel(position, graph, node, target_pointer, layouts, pointer_of, types, index):
    """A draw of uniform or normal numbers, element i from the stream word graphc.random's
    recipe assigns to it (the runner claims seed and offset from the generator per call)."""
    ctype, dtype = types.of(target_pointer), node.dtype
    numel = _numel(node.shape)
    attrs = node.attrs
    bits = 24 if dtype is _dt.float32 else 53
    per_block = 4 if bits <= 32 else 2
    value = "values[k]"
    if node.op == "uniform":
        if (attrs["low"], attrs["high"]) != (0.0, 1.0):
            value = f"({float(attrs['high']) - float(attrs['low'])!r} * {value} + {float(attrs['low'])!r})"
    elif (attrs["mean"], attrs["std"]) != (0.0, 1.0):
        value = f"({value} * {float(attrs['std'])!r} + {float(attrs['mean'])!r})"
    random = {"block": f"graphc_{node.op}_block", "bits": bits, "per_block": per_block,
              "blocks": -(-numel // per_block), "ragged": numel % per_block != 0,
              "value": f"({ctype}){value}"}
    return {
        "name": f"kernel{position}_{node.op}",
        "output": node.name,
        "summary": f"{node.op} draw {index} ({numel} values)",
        "nodes": [f"%{node.name} = {node.op}"],
        "locations": sorted({getattr(graph, "locations", {}).get(node.name)} - {None}) or ["?"],
        "parameters": f"uint64_t seed, uint64_t offset, {ctype} *restrict {target_pointer}",
        "arguments": f"seed{index}, offset{index}, {target_pointer}",
        "numel": numel, "index_lines": [], "loads": [], "temporaries": [],
        "result": "", "output_pointer": target_pointer, "reduction": None,
        "random": random,
        "gemm": None,
    }


def _row_major(shape):
    strides, running = [], 1
    for size in reversed(shape):
        strides.append(running)
        running *= max(size, 1)
    return tuple(reversed(strides))


# the kernels of values computed into memory of their own, by op: each is called as
# builder(position, graph, node, target pointer, layouts, pointers, element types, draw index)
_MEMORY_KERNELS = {
    "matmul": _matmul_kernel, "cat": _cat_kernel, "slice_backward": _slice_backward_kernel,
    "diagonal_backward": _slice_backward_kernel,
    "value_select": _value_select_kernel, "index": _indexing_kernel,
    "index_put": _indexing_kernel, "gather": _gather_scatter_kernel,
    "scatter": _gather_scatter_kernel, "scatter_add": _gather_scatter_kernel,
    "cumsum": _scan_kernel, "cumprod": _scan_kernel,
    **{op: _sort_kernel for op in _SORTED},
    "index_select": _index_select_kernel, "index_add": _index_add_kernel,
    "index_copy": _index_add_kernel, "index_fill": _index_add_kernel,
    "take": _take_put_kernel, "put": _take_put_kernel,
    "triu": _triangle_kernel, "tril": _triangle_kernel,
    "repeat": _repeat_kernel, "trace": _trace_kernel,
    **{op: _linalg_kernel for op in _LAPACK},
    "randperm": _randperm_kernel, "uniform": _random_kernel, "normal": _random_kernel,
    "bernoulli": _word_draw_kernel, "exponential": _word_draw_kernel, "randint": _word_draw_kernel,
    "multinomial": _multinomial_kernel,
}
