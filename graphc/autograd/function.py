"""Custom autograd Functions, used via apply: static forward(ctx, ...) and backward(ctx, ...),
or, in torch's current style, forward(...) without ctx plus setup_context(ctx, inputs, output).

The ctx is the node that becomes the outputs' grad_fn (as in torch), so `y.grad_fn.apply(grad)`
calls the user's backward directly.
"""
import inspect

from . import grad_mode
from .node import FREED_MESSAGE, SavedTensor

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """What forward and backward share: saved tensors and flags."""

    def save_for_backward(self, *tensors):
        """Kept as given until apply has marked the outputs, then saved (see _save_tensors)."""
        from ..tensor import Tensor
        for index, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {index} "
                                f"is of type {type(t).__name__}")
        self._to_save = tensors

    @property
    def saved_tensors(self):
        pending = self.__dict__.get("_to_save")
        if pending is not None:
            return tuple(pending)
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
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grad_outputs)`; or with
    `forward(*args)` and `setup_context(ctx, inputs, output)`, which gets the arguments (keyword
    ones and defaults bound into `inputs`, as torch does) and forward's result."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

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
        separate_setup = cls.setup_context is not Function.setup_context
        if separate_setup:
            bound = inspect.signature(cls.forward).bind(*args, **kwargs)  # torch's TypeError
            bound.apply_defaults()
            args, kwargs = tuple(bound.args), {}
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx.needs_input_grad = needs
        with grad_mode.no_grad():
            if separate_setup:
                outputs = cls.forward(*args)
                cls.setup_context(ctx, args, outputs)
            else:
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
        _save_tensors(ctx, output_tuple)
        return output_tuple[0] if single else output_tuple


def _save_tensors(ctx, outputs):
    """Save what forward or setup_context gave save_for_backward (through the saved-tensor
    hooks, if any). Outputs now carry ctx as grad_fn: they are saved as the node's outputs,
    without their history (see SavedTensor)."""
    tensors = ctx.__dict__.pop("_to_save", None)
    if tensors is None:
        return
    outputs = {id(o) for o in outputs}
    ctx._saved = tuple(
        None if t is None else SavedTensor(t, is_output=id(t) in outputs and t._grad_fn is ctx)
        for t in tensors)


def once_differentiable(backward):
    """Run `backward` with grad mode off (its result is not itself differentiable)."""
    import functools

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with grad_mode.no_grad():
            return backward(ctx, *grads)
    return wrapper
