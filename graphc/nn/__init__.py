"""graphc.nn: torch.nn's modules, parameters, functional forms and initialisers, built on
graphc tensors and autograd."""
from .parameter import Parameter, Buffer
from .modules import *  # noqa: F401,F403
from .modules import __dict__ as _modules_namespace
from . import functional, init

__all__ = ["Parameter", "Buffer", "functional", "init"] + [
    name for name, value in _modules_namespace.items()
    if isinstance(value, type) and not name.startswith("_")]
