"""Inverse views: a permute of a permute that puts every dim back (`w.t().t()`, which the
gradient of `x @ w.t()` makes of nn.Linear's weight) is its operand itself. Readers read the
operand, so later rewrites see the tensor (an SGD step on `w`, not on a view of it); a root
stays as an `alias` of it."""
from .rebuild import GraphNode, with_nodes

__all__ = ["cancel_inverse_permutes"]


def _dims(node):
    ndim = len(node.shape)
    return [d % ndim for d in node.attrs["dims"]]


def cancel_inverse_permutes(graph, roots, constants):
    known = {node.name: node for node in graph.nodes}
    renamed, nodes = {}, []
    for node in graph.nodes:
        inputs = [renamed.get(operand, operand) for operand in node.inputs]
        inner = known.get(node.inputs[0]) if node.op == "permute" else None
        if inner is not None and inner.op == "permute" and node.name not in renamed:
            outer, first = _dims(node), _dims(inner)
            if all(first[outer[i]] == i for i in range(len(outer))):
                original = renamed.get(inner.inputs[0], inner.inputs[0])
                renamed[node.name] = original
                if node.name in roots:
                    nodes.append(GraphNode(node.name, "alias", [original], {}, node.shape,
                                           node.dtype, node.role))
                continue
        nodes.append(node if inputs == node.inputs else
                     GraphNode(node.name, node.op, inputs, node.attrs, node.shape, node.dtype,
                               node.role))
    return with_nodes(graph, nodes)
