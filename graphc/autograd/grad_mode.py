"""Grad mode: whether ops record history (no_grad, enable_grad, set_grad_enabled, inference_mode)."""
import functools
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "state"]


class _GradState(threading.local):
    """Per thread, as torch's: no_grad in one thread does not reach another."""
    enabled = True
    inference = False  # inside inference_mode: new tensors are inference tensors
    saved_hooks = None  # (pack, unpack) of graphc.autograd.graph.saved_tensors_hooks
    saved_hooks_disabled = None  # the message of disable_saved_tensors_hooks, while active


state = _GradState()


def is_grad_enabled():
    return state.enabled


class _GradModeContext:
    """Base of the grad-mode context managers; each also works as a decorator."""

    mode = True

    def __enter__(self):
        self._previous = state.enabled
        state.enabled = self.mode

    def __exit__(self, *exc):
        state.enabled = self._previous
        return False

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return function(*args, **kwargs)
        return wrapper


class _BareDecoratorContext(_GradModeContext):
    """Also usable undecorated-called, as torch allows: `@no_grad` as well as `@no_grad()`."""

    def __new__(cls, function=None):
        if function is None:
            return super().__new__(cls)
        return cls()(function)


class no_grad(_BareDecoratorContext):
    mode = False


class enable_grad(_BareDecoratorContext):
    mode = True


class inference_mode(_GradModeContext):
    """no_grad, and tensors created inside report is_inference() == True."""

    def __init__(self, mode=True):
        self.mode = not mode
        self.inference = bool(mode)

    def __enter__(self):
        super().__enter__()
        self._previous_inference = state.inference
        state.inference = self.inference

    def __exit__(self, *exc):
        state.inference = self._previous_inference
        return super().__exit__(*exc)

    def __call__(self, function):
        inference = self.inference

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with inference_mode(inference):
                return function(*args, **kwargs)
        return wrapper


class set_grad_enabled(_GradModeContext):
    """Takes effect immediately (as torch's does), and also works as a context manager."""

    def __init__(self, mode):
        self._previous = state.enabled
        self.mode = bool(mode)
        state.enabled = self.mode

    def __enter__(self):
        pass

    def __call__(self, function):
        state.enabled = self._previous
        mode = self.mode

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return function(*args, **kwargs)
        return wrapper
