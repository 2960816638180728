"""The fused pointwise updates torch's optimizers call (addcmul_, addcdiv_), written with graphc ops.

torch evaluates `self + value * t1 * t2` and `self + value * t1 / t2` left to right; these keep that
order so trajectories agree with torch's to rounding. `value` may be a Python number or a 0-dim
tensor (a step size computed from the step count without `.item()`, so that a compiled
`optimizer.step()` reads it as a tensor). A 0-dim float64 value is rounded to the destination's
dtype first, as torch rounds a Python scalar.
"""


def addcmul_(destination, tensor1, tensor2, value=1):
    return destination.add_(tensor1.mul(value).mul_(tensor2))


def addcmul(destination, tensor1, tensor2, value=1):
    return destination.add(tensor1.mul(value).mul_(tensor2))


def addcdiv_(destination, tensor1, tensor2, value=1):
    return destination.add_(tensor1.mul(value).div_(tensor2))
