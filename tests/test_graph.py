"""The IR Graph read from recorded history: nodes, listing, DOT, and the gradient subgraph."""
import graphc
from graphc.ir import Graph


def _seed_graph():
    x = graphc.ones(1)
    w = graphc.tensor([0.5], requires_grad=True)
    b = graphc.tensor([0.25], requires_grad=True)
    y = w * x
    z = y + b
    return Graph.from_tensors(z, names={"x": x, "w": w, "b": b, "y": y, "z": z},
                              gradients_of=[w, b]), (x, w, b, z)


def test_forward_nodes_of_z_equals_w_x_plus_b():
    graph, _ = _seed_graph()
    forward = [n for n in graph if n.role == "forward"]
    assert [(n.name, n.op, n.inputs) for n in forward] == [
        ("w", "input", []), ("x", "constant", []), ("y", "mul", ["w", "x"]),
        ("b", "input", []), ("z", "add", ["y", "b"])]
    assert graph.outputs == ["z"]
    assert graph.node("z").shape == (1,) and graph.node("z").dtype is graphc.float32


def test_gradient_subgraph_is_recorded_ops():
    graph, (x, w, b, z) = _seed_graph()
    # dz/dw = grad_z * x (one mul node), dz/db = grad_z itself
    dw = graph.node(graph.gradients["w"])
    assert dw.op == "mul" and dw.inputs == ["grad_z", "x"] and dw.role == "gradient"
    assert graph.gradients["b"] == "grad_z"
    # the graph did not consume the history: backward still works afterwards
    z.backward()
    assert w.grad.tolist() == [1.0] and b.grad.tolist() == [1.0]


def test_listing_has_one_line_per_node_with_shape_and_dtype():
    graph, _ = _seed_graph()
    lines = graph.listing().splitlines()
    assert "%y = mul(w, x) : [1] float32" in lines
    assert "%z = add(y, b) : [1] float32" in lines
    assert "# d(outputs)/d(%w) = %" + graph.gradients["w"] in lines
    assert sum(line.startswith("%") for line in lines) == len(graph)


def test_dot_export_draws_every_node_and_edge():
    graph, _ = _seed_graph()
    dot = graph.to_dot()
    assert dot.startswith("digraph graphc {") and dot.rstrip().endswith("}")
    for node in graph:
        assert f'"{node.name}" [' in dot
        for operand in node.inputs:
            assert f'"{operand}" -> "{node.name}";' in dot
    assert "style=dashed" in dot


def test_attributes_and_unnamed_nodes():
    a = graphc.randn(2, 3, requires_grad=True)
    s = a.sum(1).exp()
    graph = Graph.from_tensors(s)
    ops = [n.op for n in graph]
    assert ops == ["input", "sum", "exp"]
    assert graph.node("sum").attrs["dim"] == (1,)
    assert "sum(input, dim=(1,), dtype=torch.float32, keepdim=False)" in graph.listing()


def test_number_operands_are_typed_constants():
    """A traced `x * 2 + 0.5 > True`-style number operand keeps its Python type and value (the
    code generators read `.value`; the listing shows its repr)."""
    from graphc.ir.graph import Constant
    compiled = graphc.compile(lambda x: (x * 2 + 0.5).masked_fill(x > 0, -1.25), fullgraph=True)
    compiled(graphc.ones(3))
    constants = [operand for node in compiled.graph().nodes for operand in node.inputs
                 if isinstance(operand, Constant)]
    assert {(type(c.value), c.value) for c in constants} >= {(int, 2), (float, 0.5),
                                                            (float, -1.25)}
    assert "mul(arg0, 2)" in compiled.graph().listing().replace("%", "")
