"""Shared by the nn tests: float64 leaves, torch <-> graphc copies, a small gradcheck."""
import numpy as np

import graphc
from graphc.autograd import gradcheck

RNG = np.random.default_rng(2024)


def array(*shape, low=-1.0, high=1.0):
    return RNG.uniform(low, high, shape)


def leaf(*shape, low=-1.0, high=1.0, dtype=graphc.float64):
    return graphc.tensor(array(*shape, low=low, high=high), dtype=dtype, requires_grad=True)


def values(t):
    return t.detach().numpy()


def from_torch(t):
    return graphc.tensor(t.detach().numpy().copy())


def load_torch_weights(module, torch_module):
    """Copy torch's parameters and buffers into the graphc module (same names)."""
    module.load_state_dict({k: from_torch(v) for k, v in torch_module.state_dict().items()})


def check_gradients(function, *inputs):
    """gradcheck of a scalar projection of function's output (fast: one backward per input)."""
    probe = {}

    def projected(*args):
        out = function(*args)
        outs = out if isinstance(out, tuple) else (out,)
        total = 0
        for i, o in enumerate(outs):
            if i not in probe:
                probe[i] = graphc.tensor(RNG.uniform(0.5, 1.5, tuple(o.shape)), dtype=o.dtype)
            total = total + (o * probe[i]).sum()
        return total
    assert gradcheck(projected, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)
