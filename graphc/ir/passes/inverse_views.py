"""Inverse views: a permute of a permute that puts every dim back (`w.t().t()`, which the
gradient of `x @ w.t()` makes of nn.Linear's weight) is its operand itself. Readers read the
operand, so later rewrites see the tensor (an SGD step on `w`, not on a view of it); a root
stays as an `alias` of it."""
from .rebuild import substitute

__all__ = ["cancel_inverse_permutes"]


def _dims(node):
    ndim = len(node.shape)
    return [d % ndim for d in node.attrs["dims"]]


def cancel_inverse_permutes(graph, roots, constants):
    known = {node.name: node for node in graph.nodes}

    def undone(node, renamed):
        inner = known.get(node.inputs[0]) if node.op == "permute" else None
        if inner is None or inner.op != "permute":
            return None
        outer, first = _dims(node), _dims(inner)
        if any(first[outer[i]] != i for i in range(len(outer))):
            return None
        return renamed.get(inner.inputs[0], inner.inputs[0])
    return substitute(graph, roots, undone)
