"""The IR passes (graphc/ir/passes): what they remove and merge, checked on the compiled graph and
source, and that the compiled result still equals eager's."""
import numpy as np
import pytest

import graphc
from graphc.ir.graph import Graph, GraphNode
from graphc.ir.passes import run_passes


def _ops(compiled):
    return [node.op for node in compiled.graph().nodes]


def test_unused_values_are_removed_before_code_is_generated():
    def f(x):
        unused = (x * 2).sum()  # noqa: F841 (the dead value under test)
        return x.sin() + 1
    compiled = graphc.compile(f, fullgraph=True)
    x = graphc.randn(6)
    np.testing.assert_array_equal(compiled(x).numpy(), f(x).numpy())
    assert "sum" not in _ops(compiled) and "mul" not in _ops(compiled)
    assert "sum" not in compiled.source().split("graphc_entry")[0].split("kernel0")[-1]
    assert compiled.source().count("static void kernel") == 1


def test_repeated_expressions_are_computed_once():
    def f(x):
        return (x.sin() + 1) * (x.sin() + 1)
    compiled = graphc.compile(f, fullgraph=True)
    x = graphc.randn(6, dtype=graphc.float64)
    np.testing.assert_allclose(compiled(x).numpy(), f(x).numpy(), rtol=1e-15)
    assert _ops(compiled).count("sin") == 1 and _ops(compiled).count("add") == 1


def test_a_returned_duplicate_is_a_tensor_of_its_own():
    def f(x):
        return x.exp() * 2, x.exp() * 2
    compiled = graphc.compile(f, fullgraph=True)
    x = graphc.randn(4)
    for _ in range(2):  # the trace call, then the native one
        a, b = compiled(x)
        np.testing.assert_allclose(a.numpy(), f(x)[0].numpy(), rtol=1e-6)  # expf: 2 ulp
        before = b.numpy().copy()
        np.testing.assert_array_equal(before, a.numpy())
        a.add_(1)
        np.testing.assert_array_equal(b.numpy(), before)


def test_unused_draws_still_advance_the_generator():
    def f(x):
        graphc.rand(3)  # drawn and dropped: the next draw comes after it, as in eager
        return x + graphc.rand(3)
    compiled = graphc.compile(f, fullgraph=True)
    x = graphc.zeros(3)
    for _ in range(3):
        graphc.manual_seed(5)
        expected, after = f(x), graphc.rand(2)
        graphc.manual_seed(5)
        got, got_after = compiled(x), graphc.rand(2)
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
        np.testing.assert_array_equal(got_after.numpy(), after.numpy())


def test_two_draws_of_the_same_shape_are_not_merged():
    def f():
        return graphc.rand(4) - graphc.rand(4)
    compiled = graphc.compile(f, fullgraph=True)
    for _ in range(2):
        graphc.manual_seed(2)
        expected = f()
        graphc.manual_seed(2)
        np.testing.assert_array_equal(compiled().numpy(), expected.numpy())
    assert not np.all(expected.numpy() == 0)
    assert _ops(compiled).count("uniform") == 2


def test_an_unused_checked_index_still_raises():
    def f(x, i):
        x.index_select(0, i)  # its result is unused, its check is not
        return x * 2
    compiled = graphc.compile(f, fullgraph=True)
    x = graphc.arange(4.0)
    compiled(x, graphc.tensor([0, 1]))
    with pytest.raises(IndexError):
        f(x, graphc.tensor([0, 7]))
    with pytest.raises(IndexError):
        compiled(x, graphc.tensor([0, 7]))


def _graph(*nodes, outputs):
    graph = Graph()
    graph.nodes = [GraphNode(*node, (3,), graphc.float32, "forward") for node in nodes]
    graph.outputs = list(outputs)
    return graph


def test_passes_return_a_new_graph_and_leave_the_traced_one_alone():
    graph = _graph(("x", "input", [], {}), ("a", "exp", ["x"], {}), ("b", "exp", ["x"], {}),
                   ("dead", "neg", ["x"], {}), ("c", "add", ["a", "b"], {}), outputs=["c"])
    before = [node.line() for node in graph.nodes]
    result = run_passes(graph, ["c"])
    assert [node.line() for node in graph.nodes] == before
    assert [node.line() for node in result.nodes] == [
        "%x = input() : [3] float32", "%a = exp(x) : [3] float32",
        "%c = add(a, a) : [3] float32"]
    assert result.node("c").inputs == ["a", "a"]
    with pytest.raises(KeyError):
        result.node("b")


def test_attributes_tell_nodes_apart():
    graph = _graph(("x", "input", [], {}), ("a", "sum", ["x"], {"dim": (0,)}),
                   ("b", "sum", ["x"], {"dim": None}), ("c", "add", ["a", "b"], {}),
                   outputs=["c"])
    assert [node.name for node in run_passes(graph, ["c"]).nodes] == ["x", "a", "b", "c"]


def test_the_compiled_graph_shows_forward_gradient_and_update_apart():
    w = graphc.randn(3, requires_grad=True)

    def step(x):
        loss = (w * x).sum()
        loss.backward()
        with graphc.no_grad():
            w.sub_(0.1 * w.grad)
        w.grad = None
        return loss
    compiled = graphc.compile(step, fullgraph=True)
    compiled(graphc.randn(3))
    graph = compiled.graph()
    roles = {node.op: node.role for node in graph.nodes if node.op not in ("input",)}
    assert roles["sum"] == "forward" and roles["sub"] == "update"
    assert "gradient" in roles.values()
    listing = str(graph)
    assert listing.index("# forward") < listing.index("# gradient") < listing.index("# update")
    assert "(written in place)" in listing
    dot = graph.to_dot()
    sub = next(node.name for node in graph.nodes if node.op == "sub")
    assert f'"{sub}" [shape=box' in dot and "#f7e3d0" in dot and "#dde8f7" in dot


def test_uniform_constants_the_function_creates_are_read_as_numbers():
    def f(x):
        return x * graphc.ones_like(x) + graphc.full((3, 1), 2.5).expand(3, 4), x * graphc.zeros(4)
    compiled = graphc.compile(f, fullgraph=True)
    x = graphc.randn(3, 4)
    x[0, 0] = float("inf")  # inf * 0 stays NaN: the number replaces the tensor, not the product
    for got, expected in zip(compiled(x), f(x)):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    lines = [node.line() for node in compiled.graph().nodes if node.op in ("mul", "add")]
    assert any("mul(arg0, 1.0)" in line for line in lines), lines
    assert any(", 2.5)" in line for line in lines), lines
    assert any("mul(arg0, 0.0)" in line for line in lines), lines
    assert "expand" not in [node.op for node in compiled.graph().nodes]


def test_constants_that_are_not_uniform_or_finite_stay_tensors():
    def f(x):
        return x + graphc.tensor([1.0, 2.0, 3.0]), x * graphc.full((3,), float("nan")), \
            x + graphc.full((3,), -0.0)
    compiled = graphc.compile(f, fullgraph=True)
    x = graphc.tensor([-0.0, 1.0, 2.0])
    for got, expected in zip(compiled(x), f(x)):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
        np.testing.assert_array_equal(np.signbit(got.numpy()), np.signbit(expected.numpy()))
    assert not any(node.op in ("add", "mul") and not all(operand.isidentifier()
                                                         for operand in node.inputs)
                   for node in compiled.graph().nodes)


def test_folded_zeros_and_ones_keep_signed_zeros_nan_and_inf():
    def f(x):
        return (x + graphc.zeros(3), x - graphc.zeros(3), graphc.zeros(3) - x,
                x * graphc.ones(3), x / graphc.ones(3), x ** graphc.ones(3),
                graphc.ones(3) * 0.0 + x)
    compiled = graphc.compile(f, fullgraph=True)
    x = graphc.tensor([-0.0, float("nan"), float("-inf")])
    for _ in range(2):
        for got, expected in zip(compiled(x), f(x)):
            np.testing.assert_array_equal(got.numpy(), expected.numpy())
            np.testing.assert_array_equal(np.signbit(got.numpy()), np.signbit(expected.numpy()))


@pytest.mark.parametrize("dims", [((1, 0), (1, 0)), ((2, 0, 1), (1, 2, 0)),
                                  ((-1, 0, 1), (1, 2, 0))])
def test_a_permute_undoing_a_permute_reads_its_operand(dims):
    first, second = dims

    def f(x):
        return x.permute(*first).permute(*second) * 2
    compiled = graphc.compile(f, fullgraph=True)
    x = graphc.randn(*[2, 3, 4][:len(first)])
    np.testing.assert_array_equal(compiled(x).numpy(), f(x).numpy())
    assert "permute" not in _ops(compiled)


def test_a_permute_not_undoing_one_stays_and_a_returned_one_is_its_operand():
    def f(x):
        return (x.permute(2, 0, 1).permute(2, 0, 1) + 1, x.transpose(0, 2).transpose(2, 0),
                (x * 2).mT.mT)
    compiled = graphc.compile(f, fullgraph=True)
    y = graphc.randn(2, 3, 4)
    for _ in range(2):  # the trace call, then the native one
        ours, eager = compiled(y), f(y)
        for a, b in zip(ours, eager):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert _ops(compiled).count("permute") == 2  # (2,0,1) twice is (1,2,0), not the identity
    ours = compiled(y)
    ours[1].add_(1)  # a view of the argument, as eager's
    np.testing.assert_array_equal(y.numpy(), ours[1].numpy())
