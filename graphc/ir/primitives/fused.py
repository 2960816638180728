"""Fused primitives: composites that torch runs as one native function (and names one autograd
node after), given one numpy kernel here so that eager mode pays one dispatch and one node for
them: addmm (nn.Linear), log_softmax, nll_loss (with log_softmax, cross_entropy).

graphc.compile never sees these ops: while it traces, `dispatch.apply_fused` records the
composite's primitives instead, which the compiler fuses on its own terms, so they need no
lowering. Each kernel computes what its composite computes, in the same order of operations, so
that eager and compiled results agree. The torch-facing functions call them through
`apply_fused` and attach their gradient rules beside them (graphc.api.linalg.addmm,
graphc.api.reductions.log_softmax, graphc.nn.functional.nll_loss).
"""
import numpy as np

from ... import dtypes as _dt
from ..registry import primitive
from .linalg import _matmul_eager

FUSED_DTYPES = (_dt.float32, _dt.float64)  # with a fused kernel; others run the composite


def _addmm_eager(input, mat1, mat2, beta, alpha):
    """beta * input + alpha * (mat1 @ mat2), for non-zero beta and alpha (the composite skips an
    operand scaled by zero, NaN and all, which this kernel is never asked to do)."""
    out = _matmul_eager(mat1, mat2)
    if alpha != 1:
        out *= alpha
    out += input if beta == 1 else input * beta
    return out


def _log_softmax_eager(x, dim):
    """(x - max) - log(sum(exp(x - max))) along `dim`, in x's floating dtype."""
    shifted = x - np.maximum.reduce(x, dim, None, None, True)
    return shifted - np.log(np.add.reduce(np.exp(shifted), dim, None, None, True))


def class_targets(shape, dtype, target, weight, ignore_index):
    """(safe targets, per-element weights, ignored) of nll_loss on log-probabilities of `shape`
    and numpy `dtype`: the class axis is 1 (0 unbatched); an ignored target reads class 0 and
    weighs 0; any other target out of range is torch's IndexError."""
    classes = shape[0 if len(shape) == 1 else 1]
    target = target.astype(np.int64, copy=False)
    ignored = target == ignore_index
    safe = np.where(ignored, 0, target) if ignored.any() else target
    if safe.size and (safe.min() < 0 or safe.max() >= classes):
        bad = (safe < 0) | (safe >= classes)
        raise IndexError(f"Target {int(safe[bad].flat[0])} is out of bounds.")
    if weight is None:
        weights = (~ignored).astype(dtype)
    else:
        weights = weight[safe]
        weights[ignored] = 0
    return safe, weights, ignored


def _nll_loss_eager(log_probs, target, weight, reduction, ignore_index):
    class_dim = 0 if log_probs.ndim == 1 else 1
    safe, weights, ignored = class_targets(log_probs.shape, log_probs.dtype, target, weight,
                                            ignore_index)
    if log_probs.ndim == 2:
        picked = log_probs[np.arange(len(safe)), safe]
    else:
        picked = np.take_along_axis(log_probs, np.expand_dims(safe, class_dim),
                                    class_dim).squeeze(class_dim)
    with np.errstate(invalid="ignore"):  # an ignored line's log-probability may be -inf
        losses = -picked * weights
    if ignored.any():
        losses = np.where(ignored, 0, losses)  # torch skips ignored lines: +0, never nan
    if reduction == "none":
        return losses
    total = np.add.reduce(losses, None)
    if reduction == "sum":
        return np.asarray(total)
    with np.errstate(invalid="ignore", divide="ignore"):  # every target ignored: 0/0, nan
        return np.asarray(total / np.add.reduce(weights, None))


_ADDMM = primitive("addmm", "linalg", _addmm_eager, attrs=("beta", "alpha"),
                   doc="beta * input + alpha * mat1 @ mat2 (nn.Linear), eager only")
_LOG_SOFTMAX = primitive("log_softmax", "reduction", _log_softmax_eager, attrs=("dim",),
                         doc="log_softmax along dim of a non-empty float32/float64 tensor, eager")
_NLL_LOSS = primitive("nll_loss", "index", _nll_loss_eager, attrs=("reduction", "ignore_index"),
                      doc="the negative log likelihood of class targets, eager only")
