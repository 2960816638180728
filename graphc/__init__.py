"""graphc: PyTorch's tensor API with reverse-mode autograd and a C/CUDA compiler.

`import graphc as torch` should run code written for torch. This module is only the namespace.
"""
from . import dtypes as _dtypes
from .dtypes import (bool, uint8, int8, int16, int32, int64, float16, float32, float64, half,
                     float, double, short, int, long, dtype, get_default_dtype, set_default_dtype,
                     set_default_tensor_type, promote_types, can_cast)
from .device import device, set_default_device, get_default_device
from .tensor import Tensor, Size
from .storage import TypedStorage, UntypedStorage
from . import autograd
from .autograd import no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled
from . import api as _ops
from . import linalg, cuda
from .compile import compile, CompileError, RecompileWarning
from .printing import set_printoptions, get_printoptions
from .serialization import save, load
from . import random
from .random import (Generator, default_generator, manual_seed, seed, initial_seed,
                     get_rng_state, set_rng_state)

globals().update(_ops.FUNCTIONS)
globals().update(_dtypes.LEGACY_TENSOR_TYPES)

__version__ = "0.1.0"


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_storage(obj):
    return isinstance(obj, TypedStorage)


def is_floating_point(input):
    return input.is_floating_point()


def numel(input):
    return input.numel()


def result_type(tensor1, tensor2):
    from .runtime.cpu import operand_dtype
    return operand_dtype([tensor1, tensor2])


from .runtime.threads import set_num_threads, get_num_threads  # noqa: E402
from . import optim, utils  # noqa: E402  (after the functions above: they build on them)


def __getattr__(name):
    # graphc.nn is imported on first use, so that `import graphc` stays cheap
    if name == "nn":
        import importlib
        return importlib.import_module(".nn", __name__)
    raise AttributeError(f"module 'graphc' has no attribute '{name}'")
