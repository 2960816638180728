"""The IR: the op registry (registry.py), the op declarations (ops/), their symbolic formulas
(symbolic.py) and the Graph of a recorded computation (graph.py)."""
from .graph import Graph, GraphNode

__all__ = ["Graph", "GraphNode"]
