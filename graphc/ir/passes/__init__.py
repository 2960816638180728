"""Rewrites of a traced graph before it is scheduled: small named functions, run in a fixed order.

Each pass takes a Graph and the names that must survive it (`Roots`: what the call returns or
writes back) and returns a new Graph; the tracer's own graph is never changed. The same
pipeline runs for every target, so a rewrite shows up identically in the C and CUDA sources and
in `compiled.graph()`.
"""
from .common_subexpressions import merge_common_subexpressions
from .dead_code import remove_dead_code

__all__ = ["PIPELINE", "run_passes"]

# CSE first: merging duplicates leaves the second copy's own operands unused, which dead-code
# removal then drops
PIPELINE = (merge_common_subexpressions, remove_dead_code)


def run_passes(graph, roots):
    for rewrite in PIPELINE:
        graph = rewrite(graph, roots)
    return graph
