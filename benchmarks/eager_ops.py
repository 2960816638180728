"""Eager per-op cost: graphc vs numpy vs PyTorch (when importable), in one process.

Prints µs per op (median over repeats) for small (100 elements) and large (1M elements) inputs
of add, mul, exp, sum(dim), matmul and indexing, with the ratios the tensor-core issue targets:
graphc/torch on small inputs (target <= 1.5) and graphc/numpy on large ones (target <= 1.1).

Run: python benchmarks/eager_ops.py [--quick]
"""
import statistics
import sys
import timeit

import numpy as np

import graphc

try:
    import torch
except ImportError:
    torch = None


def median_us(function, number, repeat):
    function()
    times = timeit.repeat(function, number=number, repeat=repeat)
    return statistics.median(times) / number * 1e6


def shapes(size):
    """(vector shape, matrix shape, index length) of the small or large case."""
    if size == "small":
        return (100,), (10, 10), 10
    return (1_000_000,), (1000, 1000), 100_000


def build(size):
    vector, matrix, index_length = shapes(size)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(vector, dtype=np.float32)
    y = rng.standard_normal(vector, dtype=np.float32)
    a = rng.standard_normal(matrix, dtype=np.float32)
    b = rng.standard_normal(matrix, dtype=np.float32)
    r = rng.standard_normal(matrix, dtype=np.float32)
    index = rng.integers(0, vector[0], index_length)

    libraries = {"numpy": (np, x, y, a, b, r, index)}
    libraries["graphc"] = (graphc, graphc.from_numpy(x), graphc.from_numpy(y), graphc.from_numpy(a),
                           graphc.from_numpy(b), graphc.from_numpy(r), graphc.from_numpy(index))
    if torch is not None:
        libraries["torch"] = (torch, torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(a),
                              torch.from_numpy(b), torch.from_numpy(r), torch.from_numpy(index))

    def ops(lib, x, y, a, b, r, index):
        is_numpy = lib is np
        return {
            "add": lambda: x + y,
            "mul": lambda: x * y,
            "exp": (lambda: np.exp(x)) if is_numpy else (lambda: x.exp()),
            "sum(dim=1)": (lambda: r.sum(axis=1)) if is_numpy else (lambda: r.sum(1)),
            "matmul": lambda: a @ b,
            "index[int]": lambda: r[3],
            "index[tensor]": lambda: x[index],
        }

    return {name: ops(*args) for name, args in libraries.items()}


def main():
    quick = "--quick" in sys.argv
    print(f"graphc eager ops, µs per op (median); torch {'not importable' if torch is None else torch.__version__}")
    header = f"{'size':6} {'op':14} {'graphc':>10} {'numpy':>10} {'torch':>10} {'g/torch':>8} {'g/numpy':>8}"
    print(header)
    print("-" * len(header))
    for size in ("small", "large"):
        table = build(size)
        for op in table["graphc"]:
            number = 2000 if size == "small" else (3 if op == "matmul" else 20)
            repeat = 7 if quick else 15
            if quick:
                number = max(1, number // 4)
            times = {lib: median_us(functions[op], number, repeat) for lib, functions in table.items()}
            g, n, t = times["graphc"], times["numpy"], times.get("torch")
            torch_cell = f"{t:10.2f}" if t is not None else f"{'-':>10}"
            ratio_torch = f"{g / t:8.2f}" if t is not None else f"{'-':>8}"
            print(f"{size:6} {op:14} {g:10.2f} {n:10.2f} {torch_cell} {ratio_torch} {g / n:8.2f}")


if __name__ == "__main__":
    main()
