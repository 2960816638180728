"""Seed 2.2: the computation graph of z = w * x + b, drawn from what autograd recorded.

Writes computation_graph.dot (and computation_graph.png when Graphviz's `dot` is installed) and
prints the IR listing, with the gradient subgraph of dz/dw and dz/db.
Run: python examples/computation_graph.py
"""
import shutil
import subprocess

import graphc as t
from graphc.ir import Graph


def main():
    x = t.ones(1)
    w = t.rand(1, requires_grad=True)
    b = t.rand(1, requires_grad=True)
    y = w * x
    z = y + b
    print("leaves:", x.is_leaf, w.is_leaf, b.is_leaf, "| requires_grad:", x.requires_grad,
          w.requires_grad, y.requires_grad)
    print("z.grad_fn:", z.grad_fn, "next:", z.grad_fn.next_functions)
    graph = Graph.from_tensors(z, names={"x": x, "w": w, "b": b, "y": y, "z": z},
                               gradients_of=[w, b])
    print(graph.listing())
    with open("computation_graph.dot", "w") as file:
        file.write(graph.to_dot())
    print("wrote computation_graph.dot")
    if shutil.which("dot"):
        subprocess.run(["dot", "-Tpng", "computation_graph.dot", "-o", "computation_graph.png"],
                       check=True)
        print("wrote computation_graph.png")
    return graph


if __name__ == "__main__":
    main()
