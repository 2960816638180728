"""Fusion: the kernel of an output, or of a reduction into its buffer, with every elementwise IR
node leading to it substituted into one formula. Each node's sympy formula (ir/op.py) is
written in terms of symbols for the values in memory (inputs `in0`, ..., buffers `buf0`, ...,
views `view0`, ... read through their root's memory), common subexpressions are shared (sympy's
CSE, as `t0 = ...`) and the formulas are printed by sympy's C99 printer in graphc.ir.math's
spellings (valid C and CUDA alike). The loop passes (loop_passes.py) then rearrange these
kernels, and lower/elementwise.py builds their kernel IR.
"""
from .. import dtypes as _dt
from ..ir.graph import Constant
from ..ir.registry import REGISTRY
from . import kernel as k
from .c_layout import Unsupported, _constant, _dense, _numel, _signature
from .schedule import _IDENTITIES, _PASS_THROUGH_VIEWS, REDUCTIONS

__all__ = ["Expressions", "fused_kernel", "printer", "load_index", "FLAT"]


def printer(dtype, target="c"):
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


class Expressions:
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
        self.symbols = {name: sympy.Symbol(f"in{i}", real=True)
                        for i, name in enumerate(input_names)}
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


FLAT = k.Var("i")


def load_index(loop_shape, layout, flat=True):
    """Where an operand of `layout` ((shape, strides, offset)) is read at the loop's multi-index
    (idx0, idx1, ...; an operand of fewer dims aligned right, as it broadcasts): the loop's flat
    index `i` when the loop is flat and the operand dense in the loop's shape."""
    shape, strides, base = layout
    if flat and not base and tuple(shape) == tuple(loop_shape) and _dense(shape, strides):
        return FLAT
    return k.strided({d: k.Var(f"idx{d}") for d in range(len(loop_shape))}, shape, strides, base)


def fused_kernel(position, graph, plan, expressions, formulas, target, role, target_pointer):
    """The scheduled kernel computing `target` (an output, or a reduction or materialised view
    into its buffer) with everything fused into it, its formulas printed (`loads`,
    `temporaries`, `result`); its IR is built after the loop passes."""
    import sympy
    node = graph.node(target)
    ctype, types, layouts, pointer_of = plan.ctype, plan.types, plan.layouts, plan.pointer_of
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
              "at": load_index(loop_shape, layouts[name], flat=not reduction),
              "ctype": types.of(pointer_of[name])}
             for name in readers]
    pointers = sorted({pointer_of[name] for name in readers}, key=list(pointer_of.values()).index)
    stop = set(plan.buffer_names) - {target}
    node_names = expressions.nodes_of(target, stop=stop)
    parameters, arguments = _signature(pointers, [target_pointer], types)
    kernel = k.Scheduled(
        name=f"kernel{position}_{'_'.join(graph.node(n).op for n in node_names[-3:]) or 'copy'}",
        output=target,
        summary=formulas.doprint(expression) if len(str(expression)) < 120
        else "(fused, see below)",
        nodes=[f"%{n} = {graph.node(n).op}" for n in node_names] or ["(an input)"],
        locations=sorted({getattr(graph, "locations", {}).get(n) for n in node_names}
                         - {None}) or ["(inputs only)"],
        parameters=parameters, arguments=arguments, pointers=pointers,
        output_ctype=types.of(target_pointer), loop_shape=loop_shape, numel=numel,
        indexed=any(load["at"] not in (FLAT, k.Const(0)) for load in loads), loads=loads,
        temporaries=[(str(name), formulas.doprint(value)) for name, value in temporaries],
        # an integer result is computed in integers (index arithmetic stays exact)
        temporary_ctype=types.of(target_pointer)
        if node.dtype is _dt.int64 and node.op not in REDUCTIONS else ctype,
        result=formulas.doprint(result), output_pointer=target_pointer)
    if reduction:
        dims = _reduced_dims(node, len(loop_shape))
        reduced = [size for d, size in enumerate(loop_shape) if d in dims]
        count = _numel(reduced)
        kernel.reduction = {"count": count, "dims": dims, "op": node.op,
                            "attrs": node.attrs}
        kernel.summary = f"{node.op} over dims {list(dims)} of " + kernel.summary
    return kernel
