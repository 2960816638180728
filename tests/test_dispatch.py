"""graphc.dispatch is the one seam between ops, the tracer of graphc.compile and autograd."""
import ast
import pathlib

import numpy as np

import graphc
from graphc import dispatch
from graphc.ir import registry
from graphc.runtime import cpu

PACKAGE = pathlib.Path(graphc.__file__).parent
# the tracer's own modules: graphc.compile drives it, graphc.ir.tracing is it
TRACER_MODULES = {"dispatch.py", "ir/tracing.py", "compile.py"}
TRACER_STATE_NAMES = {"tracing_state", "tracer", "active_tracer", "set_tracer"}


def _sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(), str(path))


def _imported_modules(relative_path, tree):
    """Absolute names of every module `tree` imports (at the top or inside a function)."""
    package = ["graphc"] + relative_path.split("/")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def test_only_the_seam_and_the_tracer_itself_read_the_tracer_state():
    offenders = []
    for relative_path, tree in _sources():
        if relative_path in TRACER_MODULES:
            continue
        for node in ast.walk(tree):
            name = node.attr if isinstance(node, ast.Attribute) else \
                node.id if isinstance(node, ast.Name) else None
            if name in TRACER_STATE_NAMES:
                offenders.append(f"{relative_path}:{node.lineno} {name}")
        if any(m == "graphc.ir.tracing" or m.startswith("graphc.ir.tracing.")
               for m in _imported_modules(relative_path, tree)):
            offenders.append(f"{relative_path} imports graphc.ir.tracing")
    assert offenders == []


def test_the_registry_does_not_import_the_runtime():
    tree = ast.parse((PACKAGE / "ir" / "registry.py").read_text())
    imported = list(_imported_modules("ir/registry.py", tree))
    assert not [m for m in imported if m == "graphc.runtime" or m.startswith("graphc.runtime.")]


def test_ir_holds_the_ir_and_never_imports_the_torch_facing_api():
    """graphc.ir (declarations, graph, symbolic rules, tracing, passes) stands below graphc.api
    (argument checks, torch's messages, out=): the api imports the primitives, never the reverse,
    and the primitives declare every op without importing a function of the api."""
    offenders = [f"{relative_path} imports {m}" for relative_path, tree in _sources()
                 if relative_path.startswith("ir/")
                 for m in _imported_modules(relative_path, tree)
                 if m == "graphc.api" or m.startswith("graphc.api.")]
    assert offenders == []
    # every op of the registry is declared in graphc.ir.primitives (its formula or numpy rule
    # lives there), none in the api
    declared_in = {name: (op.formula or op.eager).__module__ for name, op in
                   registry.REGISTRY.items()}
    assert {name: module for name, module in declared_in.items()
            if not module.startswith("graphc.ir.primitives.")} == {}


def test_the_cpu_executors_are_registered_with_dispatch_and_attached_to_every_op():
    assert dispatch.EXECUTORS["cpu"] is cpu.build_executor
    assert [name for name, op in registry.REGISTRY.items() if op.run is None] == []
    a = graphc.tensor([1.0, 2.0, 4.0])
    array, dtype = registry.REGISTRY["mul"].run((a, 3), {})
    assert isinstance(array, np.ndarray) and dtype is graphc.float32
    np.testing.assert_array_equal(array, [3.0, 6.0, 12.0])


def test_an_op_declared_after_the_registration_gets_its_executor():
    name = "test_dispatch_doubled"
    op = registry.primitive(name, "other", lambda x: x * 2)
    try:
        assert op.run is not None
        result = dispatch.apply(op, (graphc.tensor([1, -3], dtype=graphc.int16),))
        assert result.dtype is graphc.int16 and result.tolist() == [2, -6]
    finally:
        del registry.REGISTRY[name]


class _Recorder:
    """A stand-in tracer that keeps every event dispatch hands it."""

    def __init__(self):
        self.events = []

    def on_op(self, op, args, attrs, output):
        self.events.append(("op", op.name, args, output))

    def on_fill(self, tensor, value):
        self.events.append(("fill", tensor, value))

    def on_requires_grad(self, tensor, flag):
        self.events.append(("requires_grad", tensor, flag))

    def graph_break(self, reason):
        self.events.append(("break", reason))


def _traced(run):
    recorder = _Recorder()
    dispatch.set_tracer(recorder)
    try:
        result = run()
    finally:
        dispatch.set_tracer(None)
    return recorder.events, result


def test_a_tracer_installed_through_dispatch_sees_an_operator_applied_to_tensors():
    a, b = graphc.tensor([1.0, 2.0]), graphc.tensor([3.0, 5.0])
    events, product = _traced(lambda: a * b)
    assert product.tolist() == [3.0, 10.0]
    assert len(events) == 1
    kind, name, args, output = events[0]
    assert (kind, name, output) == ("op", "mul", product)
    assert args[0] is a and args[1] is b
    assert not dispatch.is_tracing()
    assert (a * b).tolist() == [3.0, 10.0]  # and, uninstalled, no longer sees anything
    assert len(events) == 1


def test_the_tracer_hears_of_fills_flags_and_value_reads_through_dispatch():
    x = graphc.zeros(2)
    events, value = _traced(lambda: (x.fill_(2.5), x.requires_grad_(), x[0].item())[-1])
    assert value == 2.5
    assert events[0] == ("fill", x, 2.5)
    assert events[1] == ("requires_grad", x, True)
    breaks = [e for e in events if e[0] == "break"]
    assert breaks == [("break", "item() reads a tensor's value in Python")]
