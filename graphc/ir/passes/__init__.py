"""Rewrites of a traced graph before it is scheduled: small named functions, run in a fixed order.

Each pass takes a Graph, the names that must survive it (the roots: what the call returns or
writes back) and the values of the tensors the function created (`constants`: name -> (array,
dtype)) and returns a new Graph; the tracer's own graph is never changed. The same
pipeline runs for every target, so a rewrite shows up identically in the C and CUDA sources and
in `compiled.graph()`.
"""
from .common_subexpressions import merge_common_subexpressions
from .constant_folding import fold_constants
from .dead_code import remove_dead_code
from .inverse_views import cancel_inverse_permutes

__all__ = ["PIPELINE", "run_passes"]

# folding first (it turns constants into numbers, which makes more nodes alike), then inverse
# views and CSE (both leave operands unused: the inner permute, a duplicate's operands), then
# dead code drops those
PIPELINE = (fold_constants, cancel_inverse_permutes, merge_common_subexpressions,
            remove_dead_code)


def run_passes(graph, roots, constants=None):
    roots, constants = set(roots), constants or {}
    for rewrite in PIPELINE:
        graph = rewrite(graph, roots, constants)
    return graph
