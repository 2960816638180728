"""Custom autograd Functions: static forward(ctx, ...) and backward(ctx, ...), used via apply.

The ctx handed to forward is the node that becomes the outputs' grad_fn (as in torch), so
`y.grad_fn.apply(grad)` calls the user's backward directly.
"""
from . import grad_mode
from .node import FREED_MESSAGE, SavedTensor

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """What forward and backward share: saved tensors and flags."""

    def save_for_backward(self, *tensors):
        self._saved = tuple(SavedTensor(t) if t is not None else None for t in tensors)

    @property
    def saved_tensors(self):
        saved = getattr(self, "_saved", ())
        if saved is None:
            raise RuntimeError(FREED_MESSAGE)
        return tuple(s.unpack(self, i) if s is not None else None for i, s in enumerate(saved))

    saved_variables = saved_tensors  # the legacy name the seed uses

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = {id(t) for t in tensors}

    def mark_dirty(self, *tensors):
        self._dirty = {id(t) for t in tensors}

    def set_materialize_grads(self, value):
        self._materialize_grads = bool(value)


class BackwardFunction(FunctionCtx):
    """Base of the per-Function node classes (MultiplyAddBackward, ...)."""

    _function = None
    op = None  # not a registry op: run_node calls the user's backward

    def __init__(self):
        self.next_functions = ()
        self.needs_input_grad = ()
        self._pre_hooks = None
        self._hooks = None
        self._released = False
        self._materialize_grads = True
        self.metadata = {}
        self._output_meta = ()

    def name(self):
        return type(self).__name__

    @property
    def _edges(self):
        return self.next_functions

    def apply(self, *grads):
        """Call the user's backward (what torch's node.apply does for a custom Function)."""
        return self._function.backward(self, *grads)

    __call__ = apply

    def release(self):
        self._saved = None
        self._released = True

    def _gradients(self, grads):
        from .engine import _custom_function_grads
        return _custom_function_grads(self, grads)

    def register_hook(self, hook):
        from .node import Node
        return Node.register_hook(self, hook)

    def register_prehook(self, hook):
        return self._register_tensor_hook(hook, 0)

    def _register_tensor_hook(self, hook, output_nr, retains=False):
        from .node import Node
        return Node._register_tensor_hook(self, hook, output_nr, retains)


class _FunctionMeta(type):
    """Each Function subclass gets its node class, named <Function>Backward like torch's."""

    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        cls._backward_cls = type(name + "Backward", (BackwardFunction,),
                                 {"_function": cls, "__module__": "graphc.autograd.function"})


class Function(metaclass=_FunctionMeta):
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grad_outputs)`."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your "
                                  "custom autograd.Function to use it with backward mode AD.")

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor
        from .engine import gradient_edge
        ctx = cls._backward_cls()
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx.needs_input_grad = needs
        with grad_mode.no_grad():
            outputs = cls.forward(ctx, *args, **kwargs)
        records = grad_mode.state.enabled and any(needs)
        single = not isinstance(outputs, tuple)
        output_tuple = (outputs,) if single else outputs
        dirty = getattr(ctx, "_dirty", set())
        for a in tensor_args:
            if id(a) in dirty:
                if records and a._grad_fn is None and a._requires_grad is True:
                    raise RuntimeError("a leaf Variable that requires grad has been used in an "
                                       "in-place operation.")
                a._bump_version()  # torch counts mark_dirty as a write
        if records:
            # as in torch: one edge per tensor argument (backward still returns one per argument)
            ctx.next_functions = tuple((gradient_edge(a), a._output_nr) if need else (None, 0)
                                       for a, need in zip(args, needs) if isinstance(a, Tensor))
            ctx._input_meta = tuple((a.shape, a.dtype) for a in tensor_args)
            ctx._tensor_positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
            ctx._argument_count = len(args)
            non_differentiable = getattr(ctx, "_non_differentiable", set())
            marked = []
            for index, out in enumerate(output_tuple):
                if not isinstance(out, Tensor) or id(out) in non_differentiable:
                    marked.append(out)
                    continue
                if any(out is a for a in tensor_args) and id(out) not in getattr(ctx, "_dirty", set()):
                    out = out.view_as(out)  # an input returned as-is becomes a view of it
                if out._dtype.is_floating_point:
                    out._grad_fn = ctx
                    out._requires_grad = True
                    out._output_nr = index
                marked.append(out)
            ctx._output_meta = tuple((o.shape, o.dtype) if isinstance(o, Tensor) else None for o in marked)
            output_tuple = tuple(marked)
            _save_outputs_without_cycles(ctx, output_tuple)
        return output_tuple[0] if single else output_tuple


def _save_outputs_without_cycles(ctx, outputs):
    """Saved outputs now carry ctx as grad_fn: keep them as node outputs (see SavedTensor)."""
    saved = getattr(ctx, "_saved", None)
    if not saved:
        return
    by_identity = {id(o): o for o in outputs if isinstance(o, _tensor_class())}
    replaced = []
    for entry in saved:
        if entry is not None and id(entry.tensor) in by_identity and entry.tensor._grad_fn is ctx:
            fresh = SavedTensor(entry.tensor, is_output=True)
            fresh.version = entry.version
            entry = fresh
        replaced.append(entry)
    ctx._saved = tuple(replaced)


def _tensor_class():
    from ..tensor import Tensor
    return Tensor


def once_differentiable(backward):
    """Run `backward` with grad mode off (its result is not itself differentiable)."""
    import functools

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with grad_mode.no_grad():
            return backward(ctx, *grads)
    return wrapper
