"""Common subexpressions: a node computing what an earlier node computes (same op, operands and
attributes) is replaced by that node (a root stays as an `alias` of it)."""
from .effects import mergeable
from .rebuild import substitute


def _key(node, renamed):
    attrs = tuple(sorted((name, repr(value)) for name, value in node.attrs.items()))
    return (node.op, tuple(renamed.get(operand, operand) for operand in node.inputs), attrs,
            node.shape, node.dtype)


def merge_common_subexpressions(graph, roots, constants):
    first = {}  # key -> name of the first node computing it

    def earlier(node, renamed):
        if not mergeable(node):
            return None
        original = first.setdefault(_key(node, renamed), node.name)
        return original if original != node.name else None
    return substitute(graph, roots, earlier)
