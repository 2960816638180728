"""The primitives, declared by family: importing this package declares every op in the registry.

Elementwise ops are declared by their formula; the others by their numpy rule (their gradient
rules are written with the public functions, so they are attached in graphc.api).
"""
from . import elementwise, shape, reductions, sorting, indexing, linalg, random_ops, binning, fused

__all__ = ["elementwise", "shape", "reductions", "sorting", "indexing", "linalg", "random_ops",
           "binning", "fused"]
