"""Common subexpressions: a node computing what an earlier node computes (same op, operands and
attributes) is replaced by that node. A duplicate that is itself a root (returned, written back)
stays as an `alias` of the first, so every name the call path knows still exists."""
from .effects import mergeable
from .rebuild import GraphNode, with_nodes


def _key(node, renamed):
    attrs = tuple(sorted((name, repr(value)) for name, value in node.attrs.items()))
    return (node.op, tuple(renamed.get(operand, operand) for operand in node.inputs), attrs,
            node.shape, node.dtype)


def merge_common_subexpressions(graph, roots, constants):
    first = {}    # key -> name of the first node computing it
    renamed = {}  # duplicate -> the node it reads instead
    nodes = []
    for node in graph.nodes:
        inputs = [renamed.get(operand, operand) for operand in node.inputs]
        if mergeable(node):
            key = _key(node, renamed)
            original = first.setdefault(key, node.name)
            if original != node.name:
                renamed[node.name] = original
                if node.name in roots:
                    nodes.append(GraphNode(node.name, "alias", [original], {}, node.shape,
                                           node.dtype, node.role))
                continue
        nodes.append(node if inputs == node.inputs else
                     GraphNode(node.name, node.op, inputs, node.attrs, node.shape, node.dtype,
                               node.role))
    return with_nodes(graph, nodes)
