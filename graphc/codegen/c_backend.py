"""The C backend: a traced graph of elementwise ops becomes one C translation unit.

Each output gets one kernel: a loop over its elements in which the formulas of every IR node
leading to it are substituted into each other (fusion), common subexpressions are shared
(sympy's CSE) and the result is printed by sympy's C99 printer. Inputs are read through their
own strides (a broadcast or a view is never copied), so the loop indexes each input by the
output's multi-index. Ops the backend cannot lower raise `Unsupported`.
"""
import functools
import importlib.resources
import pathlib

from .. import dtypes as _dt
from ..ir.registry import REGISTRY

__all__ = ["Unsupported", "render", "template_root"]

# views that only change how a value is broadcast, not which elements it has
_PASS_THROUGH_VIEWS = {"alias", "expand"}
_C_TYPES = {_dt.float32: "float", _dt.float64: "double"}


class Unsupported(Exception):
    """The graph has something the C backend does not lower yet."""


def template_root():
    """The templates/ folder: shipped in the wheel as graphc/templates, or the source tree's."""
    try:
        root = importlib.resources.files("graphc.templates")
        if (root / "c").is_dir():
            return pathlib.Path(str(root))
    except ModuleNotFoundError:
        pass
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
    return C99CodePrinter({"type_aliases": {real: float32 if dtype is _dt.float32 else float64}})


def _optimise(expression):
    """x**2 -> x*x and similar small integer powers (pow() is slow and not vectorised)."""
    from sympy.codegen.rewriting import create_expand_pow_optimization, optimize
    return optimize(expression, [create_expand_pow_optimization(4)])


def _constant(text):
    """An operand recorded as a number (its repr) back to a sympy number."""
    import sympy
    if text in ("True", "False"):
        return sympy.true if text == "True" else sympy.false
    return sympy.sympify(text)


class _Expressions:
    """sympy expressions of the graph's values, in terms of input element symbols."""

    def __init__(self, graph, input_names):
        import sympy
        from ..ir.symbolic import elementary, sympy_math
        self.math = sympy_math()
        self.elementary = elementary
        self.nodes = {node.name: node for node in graph.nodes}
        self.symbols = {name: sympy.Symbol(f"in{i}", real=True) for i, name in enumerate(input_names)}
        self.cache = {}

    def of(self, name, used):
        if name in self.symbols:
            used.add(name)
            return self.symbols[name]
        if name not in self.nodes:
            return _constant(name)
        if name in self.cache:
            expression, inputs, nodes = self.cache[name]
            used |= inputs
            return expression
        node = self.nodes[name]
        inputs = set()
        nodes_before = []
        if node.op in _PASS_THROUGH_VIEWS:
            expression = self.of(node.inputs[0], inputs)
        else:
            op = REGISTRY.get(node.op)
            if op is None or op.kind != "elementwise" or node.op in ("cast",):
                raise Unsupported(f"{node.op} has no C lowering yet")
            operands = [self.of(operand, inputs) for operand in node.inputs]
            expression = self.elementary(op.formula(self.math, *operands, **node.attrs))
        nodes_before.append(name)
        self.cache[name] = (expression, inputs, nodes_before)
        used |= inputs
        return expression

    def nodes_of(self, name, seen=None):
        """Names of the IR nodes an output is computed from, in graph order."""
        seen = set() if seen is None else seen
        node = self.nodes.get(name)
        if node is None or node.op == "input" or name in seen:
            return []
        seen.add(name)
        result = []
        for operand in node.inputs:
            result += self.nodes_of(operand, seen)
        return result + [name]


def _offset(output_shape, input_shape, input_strides):
    """The element offset of the input at the output's multi-index (idx0, idx1, ...)."""
    if input_shape == output_shape and _dense(input_shape, input_strides):
        return "i"
    lead = len(output_shape) - len(input_shape)
    terms = [f"idx{lead + d} * {stride}" if stride != 1 else f"idx{lead + d}"
             for d, (size, stride) in enumerate(zip(input_shape, input_strides))
             if size != 1 and stride != 0]
    return " + ".join(terms) or "0"


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
            lines.append(f"const int64_t idx0 = rest;")
        else:
            lines.append(f"const int64_t idx{d} = rest % {shape[d]}; rest /= {shape[d]};")
    return lines


def render(graph, inputs, outputs, function_name, location, signature):
    """C source computing `outputs` (value names) from `inputs` ((name, shape, strides, dtype)).

    Returns (source, output dtypes); raises Unsupported for graphs outside the backend."""
    import sympy
    dtypes = {spec[3] for spec in inputs} | {graph.node(name).dtype for name in outputs
                                             if name not in {spec[0] for spec in inputs}}
    if len(dtypes) != 1 or next(iter(dtypes)) not in _C_TYPES:
        raise Unsupported("only graphs computed entirely in float32 or entirely in float64 are "
                          f"compiled yet (got {sorted(d.name for d in dtypes)})")
    dtype = next(iter(dtypes))
    ctype = _C_TYPES[dtype]
    for node in graph.nodes:
        # truth values (comparisons feeding where) stay inside the fused expressions
        if node.op != "input" and node.dtype is not dtype and node.dtype is not _dt.bool:
            raise Unsupported(f"{node.op} produces {node.dtype} inside a {dtype} graph")
    input_names = [spec[0] for spec in inputs]
    by_name = {spec[0]: spec for spec in inputs}
    expressions = _Expressions(graph, input_names)
    printer = _printer(dtype)
    kernels = []
    for position, output in enumerate(outputs):
        used = set()
        expression = expressions.of(output, used)
        shape = tuple(graph.node(output).shape)
        numel = 1
        for size in shape:
            numel *= size
        temporaries, (result,) = sympy.cse([_optimise(expression)],
                                           symbols=sympy.numbered_symbols("t"))
        loads = [{"symbol": f"in{input_names.index(name)}",
                  "pointer": f"in{input_names.index(name)}_data",
                  "offset": _offset(shape, tuple(by_name[name][1]), tuple(by_name[name][2]))}
                 for name in sorted(used, key=input_names.index)]
        node_names = expressions.nodes_of(output)
        kernels.append({
            "name": f"kernel{position}_{'_'.join(graph.node(n).op for n in node_names[-3:]) or 'copy'}",
            "output": output,
            "summary": printer.doprint(expression) if len(str(expression)) < 120 else "(fused, see below)",
            "nodes": [f"%{n} = {graph.node(n).op}" for n in node_names] or ["(an input)"],
            "locations": sorted({expressions_location(graph, n) for n in node_names} - {None})
                         or ["(inputs only)"],
            "parameters": ", ".join([f"const {ctype} *restrict in{input_names.index(n)}_data"
                                     for n in sorted(used, key=input_names.index)]
                                    + [f"{ctype} *restrict out_data"]),
            "arguments": ", ".join([f"in{input_names.index(n)}_data"
                                    for n in sorted(used, key=input_names.index)]
                                   + [f"out{position}_data"]),
            "numel": numel,
            "index_lines": [] if all(load["offset"] in ("i", "0") for load in loads)
            else _index_lines(shape),
            "loads": loads,
            "temporaries": [(str(name), printer.doprint(value)) for name, value in temporaries],
            "result": printer.doprint(result),
            "output_pointer": "out_data",
        })
    entry = ", ".join([f"const {ctype} *restrict in{i}_data" for i in range(len(input_names))]
                      + [f"{ctype} *restrict out{i}_data" for i in range(len(outputs))])
    source = _environment().get_template("c/elementwise.c.j2").render(
        function=function_name, location=location, signature=signature, kernels=kernels,
        entry_parameters=entry, ctype=ctype)
    return source, dtype, ctype


def expressions_location(graph, name):
    return getattr(graph, "locations", {}).get(name)
