"""Seed 2.3: extending autograd with custom Functions (MultiplyAdd, Sigmoid), checked by gradcheck.

Run: python examples/custom_function.py
"""
import graphc as t
from graphc.autograd import Function
from graphc.autograd import Variable as V


class MultiplyAdd(Function):
    """w * x + b, with its gradient written by hand."""

    @staticmethod
    def forward(ctx, w, x, b):
        ctx.save_for_backward(w, x)
        return w * x + b

    @staticmethod
    def backward(ctx, grad_output):
        w, x = ctx.saved_variables
        return grad_output * x, grad_output * w, grad_output * 1


class Sigmoid(Function):
    """1 / (1 + exp(-x)); backward reuses the saved output: s * (1 - s)."""

    @staticmethod
    def forward(ctx, x):
        output = 1 / (1 + t.exp(-x))
        ctx.save_for_backward(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (output,) = ctx.saved_variables
        return output * (1 - output) * grad_output


def main():
    x = V(t.ones(1))
    w = V(t.rand(1), requires_grad=True)
    b = V(t.rand(1), requires_grad=True)
    z = MultiplyAdd.apply(w, x, b)
    z.backward()
    print("MultiplyAdd:", z, "dz/dw =", w.grad, "dz/db =", b.grad)
    # calling the node's backward directly, as the tutorial does (on a fresh graph: backward
    # freed the saved tensors of the first one)
    z = MultiplyAdd.apply(w, x, b)
    print("grad_fn.apply:", z.grad_fn.apply(V(t.ones(1))))

    test_input = V(t.randn(3, 4), requires_grad=True)
    print(test_input.dtype)
    print(t.autograd.gradcheck(Sigmoid.apply, (test_input,), eps=1e-3))
    double_input = t.randn(3, 4, dtype=t.float64, requires_grad=True)
    print("float64 gradcheck:", t.autograd.gradcheck(Sigmoid.apply, (double_input,)))
    print("MultiplyAdd gradcheck:", t.autograd.gradcheck(
        MultiplyAdd.apply, tuple(t.randn(3, dtype=t.float64, requires_grad=True) for _ in range(3))))


if __name__ == "__main__":
    main()
