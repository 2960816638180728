"""Which nodes a pass may drop or merge: pure values only.

A draw advances its generator even when nothing reads it (eager's later draws depend on that),
and an op that checks its operands' values (an index out of range, a singular matrix, a negative
count) raises even when its result is unused: both keep their node.
"""
from ..registry import REGISTRY

# ops whose compiled code can report an error from the values it reads
_CHECKING = {"index", "index_put", "index_select", "gather", "scatter", "scatter_add",
             "scatter_reduce", "index_add", "index_fill", "index_copy", "take", "put",
             "masked_select", "nonzero", "inverse", "det", "slogdet_sign", "slogdet_logabsdet",
             "svd_u", "svd_s", "svd_vh", "svd_v", "solve", "cholesky", "eigh_values",
             "eigh_vectors", "qr_q", "qr_r", "bincount", "histc", "multinomial", "searchsorted",
             "unique", "unique_consecutive"}


def has_effect(node):
    """True when the node must stay even if nothing reads it."""
    if node.op in ("input", "constant"):
        return False
    op = REGISTRY.get(node.op)
    return op is None or op.kind == "random" or node.op in _CHECKING


def mergeable(node):
    """Two nodes of the same op, operands and attributes compute the same value (a draw does
    not: each draws its own numbers)."""
    if node.op in ("input", "constant"):
        return False
    op = REGISTRY.get(node.op)
    return op is not None and op.kind != "random"
