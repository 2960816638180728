"""graphc.autograd: reverse-mode automatic differentiation with PyTorch's semantics.

Ops record nodes as they run (graphc.autograd.engine.record, called by the CPU executor);
`backward` and `grad` run one reverse pass over them. Gradients of elementwise ops are derived
from their sympy formulas (derivatives.py); other ops carry a VJP rule next to their declaration.
"""
from .grad_mode import no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled
from .engine import backward, grad
from .function import Function, FunctionCtx, once_differentiable
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from .variable import Variable
from . import function, grad_mode, graph

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "backward", "grad", "Function", "FunctionCtx", "once_differentiable", "gradcheck",
           "gradgradcheck", "GradcheckError", "Variable"]
