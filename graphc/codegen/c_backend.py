"""The C backend: a traced graph becomes one C translation unit with a single entry point.

codegen/schedule.py decides which values live in memory; each output, and each value in memory
of its own (a reduction, or a product, gather, sort or draw: codegen/lower), gets one kernel. In
an elementwise loop the formulas of every IR node leading to it are substituted into each other
(fusion), common subexpressions are shared (sympy's CSE) and the result is printed by sympy's
C99 printer. Operands are read through their own strides (`c_layout`: a broadcast or a view is
never copied). The passes of codegen/loop_passes.py then store in-place updates straight into
their tensors, merge loops over one shape and fold fills into the loop that last reads their
tensor. Ops the backend cannot lower raise `Unsupported`.
"""
import functools
import importlib.resources
import pathlib
import re
import sys

from .. import dtypes as _dt
from ..ir.graph import Constant
from ..ir.registry import REGISTRY
from .c_layout import Unsupported, _constant, _dense, _numel, _signature
from .loop_passes import (fuse_updates_into_products, merge_fills, merge_output_loops,
                          share_identical_kernels, split_loop, store_in_place)
from . import kernel as k
from .lower.elementwise import elementwise_ir, reduction_ir
from .lower.linalg import LAPACK_OPS
from .lower.matmul import scaled_product
from .lower.sort import _SORTED
from .render.c import C
from .schedule import _IDENTITIES, _PASS_THROUGH_VIEWS, LOWERED, REDUCTIONS, schedule

__all__ = ["Unsupported", "render", "template_root"]


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
            expression = _constant(Constant(node.attrs["value"]))
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


_BITWISE = {"bitwise_and": "And", "bitwise_or": "Or", "bitwise_xor": "Xor", "bitwise_not": "Not",
            "logical_and": "And", "logical_or": "Or", "logical_xor": "Xor", "logical_not": "Not"}


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
    plan = schedule(graph, inputs, outputs, writes)
    dtype, ctype, types, layouts = plan.dtype, plan.ctype, plan.types, plan.layouts
    input_names, pointer_of, randoms = plan.input_names, plan.pointer_of, plan.randoms
    buffer_names = reductions = plan.buffer_names
    printer = _printer(dtype)
    expressions = _Expressions(graph, input_names, buffer_names, plan.view_names, dtype)
    kernels = []
    for position, (target, role, target_pointer) in enumerate(plan.targets):
        node = graph.node(target)
        builder = LOWERED.get(node.op) if role == "buffer" else None
        if builder is not None:  # products, gathers, scatters, scans, copies and draws
            draw = randoms.index(target) if target in randoms else None
            kernels.append(builder(position, graph, node, target_pointer, layouts, pointer_of,
                                   types, draw))
            continue
        reduction = node.op in REDUCTIONS and role == "buffer"
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
                  "at": _load_index(loop_shape, layouts[name], flat=not reduction),
                  "ctype": types.of(pointer_of[name])}
                 for name in readers]
        pointers = sorted({pointer_of[name] for name in readers}, key=list(pointer_of.values()).index)
        stop = set(reductions) - {target}
        node_names = expressions.nodes_of(target, stop=stop)
        parameters, arguments = _signature(pointers, [target_pointer], types)
        kernel = k.Scheduled(
            name=f"kernel{position}_{'_'.join(graph.node(n).op for n in node_names[-3:]) or 'copy'}",
            output=target,
            summary=printer.doprint(expression) if len(str(expression)) < 120
            else "(fused, see below)",
            nodes=[f"%{n} = {graph.node(n).op}" for n in node_names] or ["(an input)"],
            locations=sorted({getattr(graph, "locations", {}).get(n) for n in node_names}
                             - {None}) or ["(inputs only)"],
            parameters=parameters, arguments=arguments, pointers=pointers,
            output_ctype=types.of(target_pointer), loop_shape=loop_shape, numel=numel,
            indexed=any(load["at"] not in (_FLAT, k.Const(0)) for load in loads), loads=loads,
            temporaries=[(str(name), printer.doprint(value)) for name, value in temporaries],
            # an integer result is computed in integers (index arithmetic stays exact)
            temporary_ctype=types.of(target_pointer)
            if node.dtype is _dt.int64 and node.op not in REDUCTIONS else ctype,
            result=printer.doprint(result), output_pointer=target_pointer)
        if reduction:
            dims = _reduced_dims(node, len(loop_shape))
            reduced = [size for d, size in enumerate(loop_shape) if d in dims]
            count = _numel(reduced)
            kernel.reduction = {"count": count, "dims": dims, "op": node.op,
                                "attrs": node.attrs}
            kernel.summary = f"{node.op} over dims {list(dims)} of " + kernel.summary
        kernels.append(kernel)
    kernels, direct = store_in_place(kernels, writes, outputs, input_names, layouts, kept, types)
    kernels, fused = fuse_updates_into_products(kernels, direct, input_names, functools.partial(
        _accumulating_product, graph, plan))
    buffers = {name: pointer_of[name] for name in reductions if name not in fused}
    kernels = merge_output_loops(kernels, direct, types)
    kernels = merge_fills(kernels, direct, input_names, types)
    _check_failures_write_nothing(kernels, direct, outputs)
    for position, kernel in enumerate(kernels):  # numbered in the order the entry calls them
        kernel.name = re.sub(r"^kernel\d+", f"kernel{position}", kernel.name)
    # the entry's pointers into the slots (no restrict: a value stored in place makes an output
    # pointer alias an input one)
    slots = [(f"in{i}_data", True, i, None) for i in range(len(input_names))]
    for i, name in enumerate(outputs):
        stored = name in direct  # into the input it updates: that input's slot
        slots.append((f"out{i}_data", False, input_names.index(direct[name]) if stored else
                      len(input_names) + i, f"stored in place into %{direct[name]}" if stored
                      else None))
    slots += [(pointer, False, len(input_names) + len(outputs) + j, None)
              for j, pointer in enumerate(buffers.values())]
    write_backs = []
    for target, value in writes:
        if value in direct:
            continue
        shape, strides, _ = layouts[target]
        numel = _numel(shape)
        lets, _ = k.multi_index(k.Var("i"), shape)
        if value in input_names:
            source_pointer = f"in{input_names.index(value)}_data"
            source_offset = _load_index(shape, layouts[value])
        else:
            source_pointer, source_offset = f"out{outputs.index(value)}_data", _FLAT
        target_offset = _load_index(shape, layouts[target])
        ir = k.Kernel(f"write_back{len(write_backs)}", ["source"], ["target"], [k.Loop(
            "i", numel, (*lets, k.Store("target", target_offset, k.Load("source", source_offset))),
            k.PARALLEL)])
        write_backs.append({"target": target, "numel": numel, "slot": input_names.index(target),
                            "source": source_pointer, "ir": ir, "lines": C.body(ir)})
    for kernel in kernels:
        kernel.split = split_loop(kernel)
    share_identical_kernels(kernels)
    for kernel in kernels:  # the fused kernels' IR (the lowered ones built theirs)
        if not (kernel.lines or kernel.ir or kernel.gemm):
            reduction = kernel.reduction
            kernel.ir = elementwise_ir(kernel, ctype) if reduction is None else \
                reduction_ir(kernel, ctype, reduction["op"], reduction["attrs"])
            kernel.comment, kernel.fails = kernel.ir.comment, False
            if kernel.function == kernel.name:
                kernel.lines = C.body(kernel.ir)
    unit = {"function": function_name, "location": location, "signature": signature,
            "kernels": kernels, "write_backs": write_backs, "ctype": ctype,
            "inputs": inputs, "outputs": outputs, "buffers": buffers, "direct": direct,
            "types": types, "graph": graph, "randoms": randoms}
    if dialect is not None:  # another target's renderer, over the same kernels
        return dialect(unit), dtype, ctype, list(buffers), randoms
    source = _environment().get_template("c/elementwise.c.j2").render(
        function=function_name, location=location, signature=signature, kernels=kernels,
        slots=_passed(slots, kernels, write_backs), draws=_passed(
            [(f"seed{r}", r) for r in range(len(randoms))], kernels, write_backs),
        write_backs=write_backs, types=types,
        ctype=ctype, random=bool(randoms),
        sorting=any(node.op in _SORTED + ("multinomial",) for node in graph.nodes),
        parallel_threshold=C.parallel_threshold, inline="static inline",
        blas=_blas_declaration(ctype) if any(k.gemm for k in kernels) else None,
        lapack=_lapack_declaration(ctype) if any(n.op in LAPACK_OPS for n in graph.nodes)
        else None)
    return source, dtype, ctype, list(buffers), randoms


_FLAT = k.Var("i")


def _load_index(loop_shape, layout, flat=True):
    """Where an operand of `layout` ((shape, strides, offset)) is read at the loop's multi-index
    (idx0, idx1, ...; an operand of fewer dims aligned right, as it broadcasts): the loop's flat
    index `i` when the loop is flat and the operand dense in the loop's shape."""
    shape, strides, base = layout
    if flat and not base and tuple(shape) == tuple(loop_shape) and _dense(shape, strides):
        return _FLAT
    return k.strided({d: k.Var(f"idx{d}") for d in range(len(loop_shape))}, shape, strides, base)


def _accumulating_product(graph, plan, value, target, pointer):
    """(the product, its kernel adding scale * product into `pointer`) where the in-place
    update `value` of `target` is target + scale * a product not reading target; else None."""
    found = scaled_product(graph, value, target)
    if found is None or plan.pointer_of[target] in {plan.pointer_of[o]
                                                    for o in found[0].inputs}:
        return None
    product, scale = found
    kernel = LOWERED["matmul"](0, graph, product, pointer, plan.layouts, plan.pointer_of,
                               plan.types, scale=scale)
    kernel.summary = f"{scale!r} * {kernel.summary}"
    return product.name, kernel


def _passed(pointers, kernels, write_backs):
    """The entries of `pointers` ((name, ...)) that some call passes: the entry declares no
    constant input that no kernel reads, nor an output that a returned reduction's buffer holds."""
    passed = set(re.findall(r"\w+", " ".join([k.arguments for k in kernels]
                                             + [w["source"] for w in write_backs])))
    return [entry for entry in pointers if entry[0] in passed]


def _check_failures_write_nothing(kernels, direct, outputs):
    """A call that fails (a bad index, a singular matrix) must leave its inputs as they were, so
    that compile.py can run the function eagerly instead and give eager's partial effects: no
    kernel storing into an input may run before one that can fail. The passes keep it so;
    a graph they did not is refused rather than compiled with that hazard."""
    stored = {f"out{outputs.index(name)}_data" for name in direct}
    last = max((i for i, kernel in enumerate(kernels) if kernel.fails), default=0)
    for kernel in kernels[:last]:
        written = {kernel.output_pointer, *(p for p, _ in kernel.more_results)}
        if kernel.ir is not None:
            written |= set(kernel.ir.writes)
        if stored & written:
            raise Unsupported(f"{kernel.name} stores into an input before a kernel that can "
                              "fail")


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

