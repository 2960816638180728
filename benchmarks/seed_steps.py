"""The seed's linear-regression training step (section 2.4), shared by the benchmark scripts."""


def regression_step(library):
    """The step for graphc or torch, drawing its batch inside: (step function, (w, b))."""
    library.manual_seed(1000)
    w = library.rand(1, 1).requires_grad_()
    b = library.zeros(1, 1).requires_grad_()
    lr = 0.001

    def step():
        x = library.rand(8, 1) * 20
        y = x * 2 + (1 + library.randn(8, 1)) * 3
        y_pred = x.mm(w) + b.expand_as(y)
        loss = (0.5 * (y_pred - y) ** 2).sum()
        loss.backward()
        w.data.sub_(lr * w.grad.data)
        b.data.sub_(lr * b.grad.data)
        w.grad.data.zero_()
        b.grad.data.zero_()
        return loss
    return step, (w, b)
