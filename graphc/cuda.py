"""graphc.cuda: torch.cuda as a CPU-only build of torch has it, on every machine.

graphc's tensors live on the CPU, so `is_available()` is False and `device_count()` 0, and
scripts that begin with `device = "cuda" if torch.cuda.is_available() else "cpu"` run. The
functions torch answers without CUDA (seeding, memory counters, empty_cache) answer the same; the
ones that need a GPU (current_device, get_device_name, synchronize, ...) raise torch's
AssertionError "Torch not compiled with CUDA enabled".
"""
from .device import NO_CUDA_MESSAGE, device as _device

__all__ = ["is_available", "device_count", "is_initialized", "init", "current_device",
           "get_device_name", "get_device_capability", "get_device_properties", "synchronize",
           "manual_seed", "manual_seed_all", "seed", "seed_all", "initial_seed", "get_rng_state",
           "set_rng_state", "get_rng_state_all", "set_rng_state_all", "empty_cache",
           "memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved",
           "mem_get_info", "is_bf16_supported", "get_arch_list", "current_stream", "device"]


def _no_cuda(*args, **kwargs):
    raise AssertionError(NO_CUDA_MESSAGE)


def is_available():
    return False


def device_count():
    return 0


def is_initialized():
    return False


def is_bf16_supported(including_emulation=True):
    return False


def get_arch_list():
    return []


def current_device():
    _no_cuda()


def get_device_name(device=None):
    _no_cuda()


def get_device_capability(device=None):
    _no_cuda()


def get_device_properties(device=None):
    _no_cuda()


def synchronize(device=None):
    _no_cuda()


def init():
    _no_cuda()


def initial_seed():
    _no_cuda()


def get_rng_state(device="cuda"):
    _no_cuda()


def mem_get_info(device=None):
    _no_cuda()


def current_stream(device=None):
    _no_cuda()


# torch queues these until CUDA initialises, which never happens here: they check their argument
# and do nothing (graphc.manual_seed already seeds everything there is)
def manual_seed(seed):
    int(seed)


def manual_seed_all(seed):
    int(seed)


def seed():
    return None


def seed_all():
    return None


def set_rng_state(new_state, device="cuda"):
    return None


def get_rng_state_all():
    return []


def set_rng_state_all(new_states):
    return None


def empty_cache():
    return None


def memory_allocated(device=None):
    return 0


def max_memory_allocated(device=None):
    return 0


def memory_reserved(device=None):
    return 0


def max_memory_reserved(device=None):
    return 0


class device:
    """torch.cuda.device(index): constructed freely; entering it needs CUDA."""

    def __init__(self, device):
        if isinstance(device, (str, _device)):
            device = _device(device).index
        self.idx = device
        self.prev_idx = -1

    def __enter__(self):
        raise RuntimeError("PyTorch was compiled without CUDA support")

    def __exit__(self, *exc_info):
        return False
