"""Autograd overhead: graphc vs PyTorch eager (when importable), in one process.

1. The seed's sigmoid timing (2.3): forward + backward on a 100x100 tensor, three ways (a custom
   Function, composed ops, the builtin sigmoid).
2. The seed's linear regression with autograd (2.4): batch 8, data drawn each step, 8000 steps
   (--quick: 2000), µs per step.
Target (issue 11): graphc/torch <= 1.3 on every row, reported beside each ratio.

Run: python benchmarks/autograd_overhead.py [--quick]
"""
import statistics
import sys
import timeit

try:
    import torch
except ImportError:
    torch = None

import graphc
from seed_steps import regression_step


def sigmoid_variants(lib):
    """The three functions of the seed's timing, for `lib` (graphc or torch)."""

    class Sigmoid(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            output = 1 / (1 + lib.exp(-x))
            ctx.save_for_backward(output)
            return output

        @staticmethod
        def backward(ctx, grad_output):
            (output,) = ctx.saved_tensors
            return output * (1 - output) * grad_output

    def f_sigmoid(x):
        Sigmoid.apply(x).backward(lib.ones(x.size()))

    def f_native(x):
        (1 / (1 + lib.exp(-x))).backward(lib.ones(x.size()))

    def f_builtin(x):
        lib.sigmoid(x).backward(lib.ones(x.size()))

    return {"sigmoid: custom Function": f_sigmoid, "sigmoid: composed ops": f_native,
            "sigmoid: builtin": f_builtin}


def linear_regression(lib, steps):
    """The seed's training loop; returns µs per step."""
    step, (w, b) = regression_step(lib)
    for _ in range(50):
        step()
    start = timeit.default_timer()
    for _ in range(steps):
        step()
    return (timeit.default_timer() - start) / steps * 1e6, (w.item(), b.item())


def median_us(function, number, repeat):
    function()
    return statistics.median(timeit.repeat(function, number=number, repeat=repeat)) / number * 1e6


def main():
    quick = "--quick" in sys.argv
    libraries = {"graphc": graphc}
    if torch is not None:
        libraries["torch"] = torch
    print(f"autograd overhead, µs (median); torch {'not importable' if torch is None else torch.__version__}")
    header = f"{'case':28} {'graphc':>10} {'torch':>10} {'g/torch':>8}"
    print(header)
    print("-" * len(header))
    number, repeat = (20, 5) if quick else (100, 7)
    variants = {name: sigmoid_variants(lib) for name, lib in libraries.items()}
    inputs = {name: lib.randn(100, 100).requires_grad_() for name, lib in libraries.items()}
    for case in variants["graphc"]:
        times = {name: median_us(lambda: variants[name][case](inputs[name]), number, repeat)
                 for name in libraries}
        _row(case, times)
    steps = 2000 if quick else 8000
    times, fits = {}, {}
    for name, lib in libraries.items():
        runs = [linear_regression(lib, steps) for _ in range(1 if quick else 3)]
        times[name] = statistics.median(r[0] for r in runs)
        fits[name] = runs[0][1]
    _row("linear regression step", times)
    for name, (w, b) in fits.items():
        print(f"  {name}: fitted y = {w:.3f} x + {b:.3f} after {steps} steps")


def _row(case, times):
    g, t = times["graphc"], times.get("torch")
    torch_cell = f"{t:10.1f}" if t is not None else f"{'-':>10}"
    ratio = f"{g / t:8.2f}" if t is not None else f"{'-':>8}"
    verdict = "" if t is None else \
        f"   (target <= {TARGET}: {'met' if g / t <= TARGET else 'NOT met'})"
    print(f"{case:28} {g:10.1f} {torch_cell} {ratio}{verdict}")


TARGET = 1.3  # graphc eager / torch eager


if __name__ == "__main__":
    main()
