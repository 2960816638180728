"""Dead code: a node nothing needs (no root, no effect, no reader) is removed."""
from .rebuild import with_nodes
from .effects import has_effect


def remove_dead_code(graph, roots, constants):
    known = {node.name for node in graph.nodes}
    needed = {name for name in roots if name in known}
    needed |= {node.name for node in graph.nodes if has_effect(node)}
    for node in reversed(graph.nodes):  # topological order: readers come after operands
        if node.name in needed:
            needed.update(operand for operand in node.inputs if operand in known)
    kept = [node for node in graph.nodes if node.name in needed or node.op == "input"]
    return with_nodes(graph, kept)
