"""The C backend: a traced graph becomes one C translation unit with a single entry point.

`_render` is the pipeline, the same for every target up to the last step: codegen/schedule.py
decides which values live in memory and which kernel computes each; a value with a lowering
(codegen/lower: products, gathers, sorts, draws, ...) gets that lowering's kernel, every other
one the fused loop of codegen/fusion.py; the passes of codegen/loop_passes.py store in-place
updates straight into their tensors, fuse SGD steps into their products, merge loops over one
shape and fold fills into the loop that last reads their tensor; the fused loops' kernel IR is
built (lower/elementwise.py); then the C dialect prints the unit through
templates/c/elementwise.c.j2, or another dialect (render/cuda.py) prints it for its target.
Ops the backend cannot lower raise `Unsupported`.
"""
import functools
import importlib.resources
import pathlib
import re
import sys

from . import blas
from .c_layout import Unsupported, _numel
from .fusion import FLAT, Expressions, fused_kernel, load_index, printer
from .loop_passes import (fuse_updates_into_products, merge_fills, merge_output_loops,
                          share_identical_kernels, split_loop, store_in_place)
from . import kernel as k
from .lower.elementwise import elementwise_ir, reduction_ir
from .lower.linalg import LAPACK_OPS
from .lower.matmul import scaled_product
from .lower.sort import _SORTED
from .render.c import C
from .schedule import LOWERED, schedule

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

    Returns (source, dtype, C type, the names of the buffers, which follow the outputs in the
    entry point, the draws); raises Unsupported for graphs outside the backend. `writes` are
    (input, value) in-place updates; `kept` names the outputs the caller reads after the call
    (the others may be stored straight into the input they update). `dialect`: a function
    rendering the scheduled kernels for another target (render/cuda.py) instead of C."""
    plan = schedule(graph, inputs, outputs, writes)
    kernels = _kernels(graph, plan)
    input_names, types = plan.input_names, plan.types
    kernels, direct = store_in_place(kernels, writes, outputs, input_names, plan.layouts, kept,
                                     types)
    kernels, fused = fuse_updates_into_products(kernels, direct, input_names, functools.partial(
        _accumulating_product, graph, plan))
    buffers = {name: plan.pointer_of[name] for name in plan.buffer_names if name not in fused}
    kernels = merge_output_loops(kernels, direct, types)
    kernels = merge_fills(kernels, direct, input_names, types)
    _check_failures_write_nothing(kernels, direct, outputs)
    for position, kernel in enumerate(kernels):  # numbered in the order the entry calls them
        kernel.name = re.sub(r"^kernel\d+", f"kernel{position}", kernel.name)
        kernel.split = split_loop(kernel)
    share_identical_kernels(kernels)
    _fused_ir(kernels, plan.ctype)
    unit = {"function": function_name, "location": location, "signature": signature,
            "kernels": kernels, "write_backs": _write_backs(writes, direct, plan, outputs),
            "ctype": plan.ctype, "inputs": inputs, "outputs": outputs, "buffers": buffers,
            "direct": direct, "types": types, "graph": graph, "randoms": plan.randoms}
    source = dialect(unit) if dialect is not None else _c_source(unit)
    return source, plan.dtype, plan.ctype, list(buffers), plan.randoms


def _kernels(graph, plan):
    """One scheduled kernel per target of the plan, in its order: a lowering's (products,
    gathers, scatters, scans, copies, sorts, draws, linear algebra), or the fused loop."""
    expressions = Expressions(graph, plan.input_names, plan.buffer_names, plan.view_names,
                              plan.dtype)
    formulas = printer(plan.dtype)
    kernels = []
    for position, (target, role, pointer) in enumerate(plan.targets):
        node = graph.node(target)
        lower = LOWERED.get(node.op) if role == "buffer" else None
        if lower is None:
            kernels.append(fused_kernel(position, graph, plan, expressions, formulas, target,
                                        role, pointer))
        else:
            draw = plan.randoms.index(target) if target in plan.randoms else None
            kernels.append(lower(position, graph, node, pointer, plan.layouts, plan.pointer_of,
                                 plan.types, draw))
    return kernels


def _fused_ir(kernels, ctype):
    """The fused kernels' IR, built once the loop passes have merged them (the lowered ones
    built theirs), and their bodies in the C dialect."""
    for kernel in kernels:
        if not (kernel.lines or kernel.ir or kernel.gemm):
            reduction = kernel.reduction
            kernel.ir = elementwise_ir(kernel, ctype) if reduction is None else \
                reduction_ir(kernel, ctype, reduction["op"], reduction["attrs"])
            kernel.comment, kernel.fails = kernel.ir.comment, False
            if kernel.function == kernel.name:
                kernel.lines = C.body(kernel.ir)


def _write_backs(writes, direct, plan, outputs):
    """A copy loop per in-place update not stored in place: the new value into the tensor's
    memory, after every kernel has run."""
    input_names, layouts = plan.input_names, plan.layouts
    write_backs = []
    for target, value in writes:
        if value in direct:
            continue
        shape = layouts[target][0]
        lets, _ = k.multi_index(k.Var("i"), shape)
        if value in input_names:
            source, at = f"in{input_names.index(value)}_data", load_index(shape, layouts[value])
        else:
            source, at = f"out{outputs.index(value)}_data", FLAT
        ir = k.Kernel(f"write_back{len(write_backs)}", ["source"], ["target"], [k.Loop(
            "i", _numel(shape), (*lets, k.Store("target", load_index(shape, layouts[target]),
                                                 k.Load("source", at))), k.PARALLEL)])
        write_backs.append({"target": target, "numel": _numel(shape), "source": source,
                            "slot": input_names.index(target), "ir": ir, "lines": C.body(ir)})
    return write_backs


def _c_source(unit):
    """The C translation unit (templates/c/elementwise.c.j2) of the scheduled kernels."""
    input_names = [spec[0] for spec in unit["inputs"]]
    kernels, write_backs, outputs, direct = (unit["kernels"], unit["write_backs"],
                                             unit["outputs"], unit["direct"])
    ctype, graph = unit["ctype"], unit["graph"]
    # the entry's pointers into the slots (no restrict: a value stored in place makes an output
    # pointer alias an input one)
    slots = [(f"in{i}_data", True, i, None) for i in range(len(input_names))]
    for i, name in enumerate(outputs):
        stored = name in direct  # into the input it updates: that input's slot
        slots.append((f"out{i}_data", False, input_names.index(direct[name]) if stored else
                      len(input_names) + i, f"stored in place into %{direct[name]}" if stored
                      else None))
    slots += [(pointer, False, len(input_names) + len(outputs) + j, None)
              for j, pointer in enumerate(unit["buffers"].values())]
    draws = [(f"seed{r}", r) for r in range(len(unit["randoms"]))]
    return _environment().get_template("c/elementwise.c.j2").render(
        function=unit["function"], location=unit["location"], signature=unit["signature"],
        kernels=kernels, declare=C.parameters, call=C.arguments,
        slots=_passed(slots, kernels, write_backs),
        draws=_passed(draws, kernels, write_backs), write_backs=write_backs,
        types=unit["types"], ctype=ctype, random=bool(unit["randoms"]),
        sorting=any(node.op in _SORTED + ("multinomial",) for node in graph.nodes),
        parallel_threshold=C.parallel_threshold, inline="static inline",
        blas={"function": blas.GEMM[ctype], "library": blas.library_dir()}
        if any(k.gemm for k in kernels) else None,
        # both precisions: a norm computes in double whatever the graph's type
        lapack={"library": blas.library_dir(), "prefixes": list(blas.LAPACK_PREFIX.items())}
        if any(n.op in LAPACK_OPS for n in graph.nodes) else None)


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
    passed = {argument.name for kernel in kernels for argument in kernel.arguments}
    passed |= {w["source"] for w in write_backs}
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
