"""Autograd through in-place writes into views (torch's view tracking).

A write into a view of a tensor that autograd tracks (`y[:, 0] += 1`, `v.mul_(2)`,
`s[1:] = x[1:]`) changes the view's *base*. As in torch, the base's history is rebased onto a
`CopySlices` node, which runs the in-place op's own gradient rule on the written region, and a
view's history is re-derived from its base (`AsStridedBackward0`) whenever the memory they share
was written since the view's history was set: every view knows the version of that memory at
the time (`_view_version`), so a stale one is noticed where its history is read.
"""
import numpy as np

from .. import dtypes as _dt
from .node import Node

__all__ = ["refresh_view", "inplace_on_view", "check_view_write", "CopySlices",
           "VIEW_OF_LEAF_MESSAGE", "NO_GRAD_VIEW_MESSAGE"]

VIEW_OF_LEAF_MESSAGE = ("a view of a leaf Variable that requires grad is being used in an "
                        "in-place operation.")
NO_GRAD_VIEW_MESSAGE = (
    "A view was created in no_grad mode and is being modified inplace with grad mode enabled. "
    "Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify "
    "your code by moving both the view and the inplace either both inside the no_grad block (if "
    "you don't want the inplace to be tracked) or both outside (if you want the inplace to be "
    "tracked).")


def _geometry(view, base):
    """Where `view`'s elements lie relative to `base`'s, in the attributes of as_strided's
    gradient primitives (graphc.ir.primitives.shape)."""
    return {"input_shape": tuple(base._data.shape), "input_stride": base.stride(),
            "input_offset": base.storage_offset(), "size": tuple(view._data.shape),
            "stride": view.stride(), "offset": view.storage_offset()}


def refresh_view(view):
    """Re-derive a stale view's history from its base: AsStridedBackward0 of the base's current
    history (what torch's grad_fn of a view gives after an in-place write to the memory)."""
    counter = view._version_counter
    if counter is None or view._view_version == counter.value:
        return
    view._view_version = counter.value
    base = view._base
    if base._requires_grad is not True or view._dtype is not base._dtype:
        return  # (a view as another dtype is not differentiable)
    from ..ir.primitives.shape import _as_strided
    from .engine import record
    geometry = _geometry(view, base)
    attrs = {"size": geometry["size"], "stride": geometry["stride"],
             "offset": geometry["offset"], "input_stride": geometry["input_stride"],
             "input_offset": geometry["input_offset"]}
    record(_as_strided, (base,), view, attrs)
    view._output_nr = 0


def check_view_write(target):
    """torch's refusals for an in-place write into a view, in grad mode."""
    base = target._base
    if base is None:
        return
    if target._no_grad_view:
        raise RuntimeError(NO_GRAD_VIEW_MESSAGE)
    if base._requires_grad is True and base._grad_fn is None:
        raise RuntimeError(VIEW_OF_LEAF_MESSAGE)


def inplace_on_view(op, target, args, attrs, apply, write, check_cast):
    """`target.op_(*args)` where `target` is a view and autograd must see the write.

    The op runs out of place on a copy of the view's old value, carrying the view's history;
    its node becomes the `fn` of a CopySlices on the base, and the view then re-derives its
    history from the base."""
    from ..tensor import wrap
    from .engine import gradient_edge
    base = target._base
    refresh_view(target)
    snapshot = wrap(target._data.copy(), target._dtype)
    if target._requires_grad is True:
        snapshot._grad_fn = target._grad_fn
        snapshot._requires_grad = True
        snapshot._output_nr = target._output_nr
    operands = list(args)
    for index, a in enumerate(operands):
        if a is target:
            operands[index] = snapshot
            break
    result = apply(op, tuple(operands), attrs)
    check_cast(result._dtype, target)
    base_edge = (gradient_edge(base), base._output_nr) if base._requires_grad is True \
        else (None, 0)
    fn = result._grad_fn
    write(target, result._data)
    if fn is None and base_edge[0] is None:
        return target  # nothing that requires grad reached the write (an op without gradient)
    node = CopySlices(base, base_edge, fn, _geometry(target, base))
    base._grad_fn = node
    base._requires_grad = True
    base._output_nr = 0
    if fn is not None:
        _save_view_as_output(fn, target)
    refresh_view(target)
    return target


def _save_view_as_output(fn, target):
    """An op that saves its output (exp_, sigmoid_) saves the view it wrote: a later write to
    the memory makes backward raise rather than read new values (as in torch)."""
    from .node import SavedTensor
    saved = fn._saved
    if saved and isinstance(saved[-1], SavedTensor) and saved[-1].is_output and \
            saved[-1].unpack_hook is None:  # (a packed output is neither kept nor checked)
        fn._saved = saved[:-1] + (SavedTensor(target, is_output=True),)


class CopySlices(Node):
    """The base's node after an in-place write into one of its views.

    Its gradient is the incoming one with the view's region replaced by the gradient that the
    op's rule (`fn`) gives its `self` operand; `fn`'s other operands get what `fn` gives them.
    """

    __slots__ = ()
    op = None

    def __init__(self, base, base_edge, fn, geometry):
        fn_edges = fn._edges[1:] if fn is not None else ()
        fn_meta = fn.input_meta[1:] if fn is not None else ()
        fn_needs = fn.needs[1:] if fn is not None else ()
        base_meta = (tuple(base._data.shape), base._dtype)
        super().__init__(None, geometry, (base_edge,) + tuple(fn_edges), (),
                         (base_meta,) + tuple(fn_meta),
                         (base_edge[0] is not None,) + tuple(fn_needs), base_meta)
        self._fn = fn
        self._region = None  # the written elements of the base, as a bool mask (on first use)

    @property
    def next_functions(self):
        rest = self._fn.next_functions[1:] if self._fn is not None else ()
        return (self._edges[0],) + tuple(rest)

    def _mask(self):
        if self._region is None:
            from ..ir.primitives.shape import _as_strided_backward_eager
            ones = np.ones(self.attrs["size"], dtype=np.float64)
            self._region = _as_strided_backward_eager(ones, **self.attrs) > 0
        return self._region

    def _gradients(self, grads):
        from ..ir.primitives.shape import _as_strided_backward, _as_strided_gather
        from ..api.elementwise import where
        from .. import dispatch
        from ..tensor import wrap
        from .engine import run_node
        grad = grads[0]
        fn = self._fn
        region = dispatch.apply(_as_strided_gather, (grad,), self.attrs)
        results = run_node(fn, [region]) if fn is not None else [None]
        base_grad = None
        if self.needs[0]:
            mask = wrap(self._mask(), _dt.bool)
            written = results[0]
            if written is None:
                base_grad = where(mask, 0.0, grad)
            else:
                scattered = dispatch.apply(_as_strided_backward, (written,), self.attrs)
                base_grad = where(mask, scattered, grad)
        return [base_grad] + list(results[1:]), self.input_meta

    def release(self):
        if self._fn is not None:
            self._fn.release()
        self._released = True

