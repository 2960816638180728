"""graphc.optim.Adagrad: torch's single-tensor update (lr_decay, initial accumulator, weight decay).

As in torch, the state (step and sum) is created in the constructor, not on the first step.
"""
from .. import float32, full_like, tensor
from ._pointwise import addcdiv_, addcmul_
from .optimizer import Optimizer, step_as_float64, step_to_tensor

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                state = self.state[param]
                state["step"] = tensor(0.0, dtype=float32)
                state["sum"] = full_like(param, initial_accumulator_value)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("maximize", False)
        step_to_tensor(self)

    def _update(self, param, group):
        state = self.state[param]
        grad = param.grad if not group["maximize"] else -param.grad
        state["step"] += 1
        step = step_as_float64(state["step"])
        if group["weight_decay"] != 0:
            grad = grad.add(param, alpha=group["weight_decay"])
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        state_sum = state["sum"]
        addcmul_(state_sum, grad, grad, value=1)
        std = state_sum.sqrt().add_(group["eps"])
        addcdiv_(param, grad, std, value=-clr)
