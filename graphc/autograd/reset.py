"""Resetting parameters' .grad, as `Module.zero_grad` and `Optimizer.zero_grad` both do."""


def reset_grads(parameters, set_to_none=True):
    """Drop each parameter's .grad (set_to_none) or zero it in place, detached from any graph
    it was made in (torch's rule: a grad with a grad_fn is detached, another stops requiring
    grad)."""
    for param in parameters:
        grad = param.grad
        if grad is None:
            continue
        if set_to_none:
            param.grad = None
            continue
        if grad.grad_fn is not None:
            grad.detach_()
        else:
            grad.requires_grad_(False)
        grad.zero_()
