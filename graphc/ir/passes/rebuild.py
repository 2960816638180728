"""A pass's result: a new Graph with the given nodes and everything else of the old one."""
import copy

from ..graph import GraphNode

__all__ = ["GraphNode", "with_nodes"]


def with_nodes(graph, nodes):
    result = copy.copy(graph)  # outputs, gradients, locations: shared, never mutated by passes
    result.nodes = list(nodes)
    return result
