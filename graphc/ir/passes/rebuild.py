"""A pass's result: a new Graph with the given nodes and everything else of the old one."""
import copy

from ..graph import GraphNode

__all__ = ["GraphNode", "with_nodes", "substitute"]


def with_nodes(graph, nodes):
    result = copy.copy(graph)  # outputs, gradients, locations: shared, never mutated by passes
    result.nodes = list(nodes)
    return result


def substitute(graph, roots, same_as):
    """`graph` with each node for which `same_as(node, renamed)` names an earlier value (one
    computing the same) replaced by that value: its readers read the value, and a root stays as
    an `alias` of it, so every name the call path knows still exists. `renamed`: the nodes
    replaced so far, each with the value it reads instead."""
    renamed, nodes = {}, []
    for node in graph.nodes:
        inputs = [renamed.get(operand, operand) for operand in node.inputs]
        original = same_as(node, renamed)
        if original is not None:
            renamed[node.name] = original
            if node.name in roots:
                nodes.append(GraphNode(node.name, "alias", [original], {}, node.shape,
                                       node.dtype, node.role))
            continue
        nodes.append(node if inputs == node.inputs else
                     GraphNode(node.name, node.op, inputs, node.attrs, node.shape, node.dtype,
                               node.role))
    return with_nodes(graph, nodes)
