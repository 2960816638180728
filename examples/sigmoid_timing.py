"""Seed 2.3: forward + backward of sigmoid three ways: custom Function, composed ops, builtin.

Run: python examples/sigmoid_timing.py
"""
import timeit

import graphc as t
from graphc.autograd import Variable as V
from custom_function import Sigmoid


def f_sigmoid(x):
    y = Sigmoid.apply(x)
    y.backward(t.ones(x.size()))


def f_native(x):
    y = 1 / (1 + t.exp(-x))
    y.backward(t.ones(x.size()))


def f_th(x):
    y = t.sigmoid(x)
    y.backward(t.ones(x.size()))


def main(number=100, repeat=7):
    x = V(t.randn(100, 100), requires_grad=True)
    for name, function in (("custom Function", f_sigmoid), ("composed ops", f_native),
                           ("builtin sigmoid", f_th)):
        times = timeit.repeat(lambda: function(x), number=number, repeat=repeat)
        best = min(times) / number * 1e6
        print(f"{name:16} {best:8.1f} µs per loop (best of {repeat} runs, {number} loops each)")


if __name__ == "__main__":
    main()
