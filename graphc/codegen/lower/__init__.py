"""Lowerings: the kernels of values computed into memory of their own (products, gathers and
scatters, scans, copies, sorts, draws, linear algebra), one module per family, each building
kernel IR (codegen/kernel.py) for its ops. No lowering writes C or CUDA text: the dialects of
codegen/render print the IR.

Every lowering is called as lower(position, graph, node, target pointer, layouts, pointers,
element types, draw index) and returns the scheduled kernel `entry` makes of its IR."""
from ..c_layout import _numel, _signature
from ..kernel import Parameter, Scheduled, Var
from ..render.c import C

__all__ = ["LOWERINGS", "lowering", "entry"]

LOWERINGS = {}  # op name -> its lowering


def lowering(*ops):
    """Register the decorated function as the lowering of `ops`."""
    def register(function):
        for op in ops:
            if op in LOWERINGS:
                raise ValueError(f"{op} has two lowerings")
            LOWERINGS[op] = function
        return function
    return register


def entry(position, graph, node, summary, ir, types, draw=None, arguments=None):
    """The scheduled kernel of `ir` (a kernel.Kernel) computing `node`: what the C backend's
    templates and the CUDA dialect read (its name, the IR nodes and user lines it implements,
    its C signature, and its body printed in the C dialect). `draw`: the index of the draw
    whose (seed, offset) it takes; `arguments`: its call's arguments where they are not its
    parameters' names (an operand passed at an offset)."""
    parameters, names = _signature(list(ir.reads), list(ir.writes), types)
    if ir.draws:
        parameters = [Parameter("seed", "uint64_t", pointer=False),
                      Parameter("offset", "uint64_t", pointer=False), *parameters]
        names = [Var(f"seed{draw}"), Var(f"offset{draw}"), *names]
    return Scheduled(
        name=f"kernel{position}_{node.op}", output=node.name, summary=summary,
        nodes=[f"%{node.name} = {node.op}"],
        locations=sorted({getattr(graph, "locations", {}).get(node.name)} - {None}) or ["?"],
        parameters=parameters, arguments=arguments or names,
        numel=_numel(node.shape), output_pointer=ir.writes[0], ir=ir, lines=C.body(ir),
        fails=ir.checks(), comment=ir.comment)


from . import copies, scans  # noqa: E402  (the families register their lowerings)
from . import index  # noqa: E402
from . import sort  # noqa: E402
from . import random  # noqa: E402
from . import matmul  # noqa: E402
from . import linalg  # noqa: E402
