"""graphc.autograd.graph: hooks on the tensors autograd saves for backward (torch.autograd.graph).

Inside `saved_tensors_hooks(pack_hook, unpack_hook)`, every tensor a recorded op (or a custom
Function's `ctx.save_for_backward`) saves is handed to `pack_hook`, and only what it returns is
kept; backward (or `grad_fn._saved_self`) gets the tensor back from `unpack_hook`. The hooks
are per thread, and an inner pair replaces an outer one while it is active.
"""
from .grad_mode import state

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"]


class saved_tensors_hooks:
    """Context manager: pack/unpack hooks for the tensors saved for backward while active."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        disabled = state.saved_hooks_disabled
        if disabled is not None:
            raise RuntimeError(disabled)
        self._previous = state.saved_hooks
        state.saved_hooks = (self.pack_hook, self.unpack_hook)
        return self

    def __exit__(self, *exc):
        state.saved_hooks = self._previous
        return False


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors kept in CPU memory, moved back to their device when backward needs them.
    graphc's tensors all live on the CPU already: each is kept as it is."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        super().__init__(lambda tensor: (tensor.device, tensor.cpu()),
                         lambda packed: packed[1].to(packed[0]))


class disable_saved_tensors_hooks:
    """Context manager: entering saved_tensors_hooks inside it raises `error_message`."""

    def __init__(self, error_message):
        self.error_message = error_message

    def __enter__(self):
        self._previous = state.saved_hooks_disabled
        state.saved_hooks_disabled = self.error_message
        return self

    def __exit__(self, *exc):
        state.saved_hooks_disabled = self._previous
        return False
