"""Autograd overhead: graphc vs PyTorch eager (when importable), in one process.

1. The seed's sigmoid timing (2.3): forward + backward on a 100x100 tensor, three ways (a custom
   Function, composed ops, the builtin sigmoid).
2. The seed's linear regression with autograd (2.4): batch 8, data drawn each step, 24 rounds of
   1000 steps (--quick: 4 of 500), µs per step.
The libraries take turns within every repetition (this machine is shared: a slow spell must fall
on both alike).
Target (issue 11): graphc/torch <= 1.3 on every row, reported beside each ratio.

Run: python benchmarks/autograd_overhead.py [--quick]
"""
import sys

try:
    import torch
except ImportError:
    torch = None

import graphc
from compile_loop import interleaved_medians_ms
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


def linear_regression_steps(lib):
    """The seed's training loop, warmed up: (a function running n steps, (w, b))."""
    step, parameters = regression_step(lib)
    for _ in range(50):
        step()

    def run(steps):
        for _ in range(steps):
            step()
    return run, parameters


def interleaved_medians_us(functions, number, repeat):
    """compile_loop's turn-taking medians, in µs."""
    return {name: ms * 1e3 for name, ms in interleaved_medians_ms(functions, number, repeat).items()}


def main():
    quick = "--quick" in sys.argv
    libraries = {"graphc": graphc}
    if torch is not None:
        libraries["torch"] = torch
    print(f"autograd overhead, µs (median; the libraries take turns in every repetition); "
          f"torch {'not importable' if torch is None else torch.__version__}")
    header = f"{'case':28} {'graphc':>10} {'torch':>10} {'g/torch':>8}"
    print(header)
    print("-" * len(header))
    number, repeat = (20, 5) if quick else (100, 15)
    variants = {name: sigmoid_variants(lib) for name, lib in libraries.items()}
    inputs = {name: lib.randn(100, 100).requires_grad_() for name, lib in libraries.items()}
    for case in variants["graphc"]:
        functions = {name: (lambda f=variants[name][case], x=inputs[name]: f(x))
                     for name in libraries}
        _row(case, interleaved_medians_us(functions, number, repeat))
    steps, rounds = (500, 4) if quick else (1000, 24)
    loops = {name: linear_regression_steps(lib) for name, lib in libraries.items()}
    times = interleaved_medians_us({name: (lambda run=run: run(steps))
                                    for name, (run, _) in loops.items()}, 1, rounds)
    _row("linear regression step", {name: t / steps for name, t in times.items()})
    for name, (_, (w, b)) in loops.items():
        print(f"  {name}: fitted y = {w.item():.3f} x + {b.item():.3f} after "
              f"{50 + steps * (rounds + 1)} steps")  # (one round warms up)


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
