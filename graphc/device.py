"""graphc.device: where a tensor lives, and the default device of the factory functions.

graphc runs on the CPU only. `device` names every device type torch knows (so that
`graphc.device("cuda", 0)` and saved objects naming one still work), and `check_device` answers a
request for any other device as torch built without it does: CUDA with torch's AssertionError
"Torch not compiled with CUDA enabled", the rest with NotImplementedError.
"""

__all__ = ["device", "set_default_device", "get_default_device"]

# torch's device types, in the order its error message lists them
DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
                "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                "privateuseone")
NO_CUDA_MESSAGE = "Torch not compiled with CUDA enabled"
_NO_ACCELERATOR_MESSAGE = "Cannot access accelerator device when none is available."


class device:
    """torch.device: a type ('cpu', 'cuda', ...) and an optional index."""

    __slots__ = ("type", "index")
    __module__ = "graphc"

    def __init__(self, type, index=None):
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): a device object takes no index")
            type, index = type.type, type.index
        elif isinstance(type, int) and not isinstance(type, bool):
            raise RuntimeError(_NO_ACCELERATOR_MESSAGE)  # device(0): the current accelerator
        elif not isinstance(type, str):
            raise TypeError(f"device(): argument 'type' must be str, not {_name(type)}")
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
            raise TypeError(f"device(): argument 'index' (position 2) must be int, not "
                            f"{_name(index)}")
        type, parsed_index = _parse(type)
        if parsed_index is not None:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was "
                                   f"passed explicitly: {type}:{parsed_index}")
            index = parsed_index
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        self.type = type
        self.index = index

    def __eq__(self, other):
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self):
        """`with graphc.device("cpu"):` makes it the default device inside the block."""
        _enclosing_defaults.append(_default_device)
        set_default_device(self)
        return self

    def __exit__(self, *exc_info):
        set_default_device(_enclosing_defaults.pop())
        return False


def _name(value):
    return type(value).__name__


def _parse(text):
    """'cuda:1' -> ('cuda', 1); 'cpu' -> ('cpu', None), with torch's errors."""
    type_name, colon, number = text.partition(":")
    if type_name not in DEVICE_TYPES:
        if type_name.strip() in DEVICE_TYPES or colon and type_name in DEVICE_TYPES:
            raise RuntimeError(f"Invalid device string: '{text}'")
        raise RuntimeError(f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of "
                           f"device string: {text}")
    if not colon:
        return type_name, None
    if not number.isdigit() or not number.isascii() or (len(number) > 1 and number[0] == "0"):
        raise RuntimeError(f"Invalid device string: '{text}'")
    return type_name, int(number)


CPU = device("cpu")
_default_device = CPU
_enclosing_defaults = []  # the defaults that `with device(...)` blocks replaced, innermost last


def _as_device(value):
    return value if isinstance(value, device) else device(value)


def check_device(value):
    """The device a factory function creates on (None: the default device); anything but the
    CPU raises as torch does when it was built without that device."""
    if value is None:
        value = _default_device
        if value is CPU:
            return CPU
    requested = _as_device(value)
    if requested.type == "cpu":
        return CPU
    if requested.type == "cuda":
        raise AssertionError(NO_CUDA_MESSAGE)
    raise NotImplementedError(f"graphc runs on the CPU only: it cannot create tensors on device "
                              f"'{requested}'")


def set_default_device(value):
    """torch.set_default_device: None or a device; 'cuda' is accepted and fails at the next
    factory call, as in torch without CUDA. graphc has no meta (or other) tensors."""
    global _default_device
    if value is None:
        _default_device = CPU
        return
    requested = _as_device(value)
    if requested.type not in ("cpu", "cuda"):
        raise NotImplementedError(f"graphc runs on the CPU only: set_default_device('{requested}')"
                                  f" is not supported")
    _default_device = CPU if requested.type == "cpu" else requested


def get_default_device():
    if _default_device.type == "cuda":
        raise AssertionError(NO_CUDA_MESSAGE)  # torch asks the CUDA runtime for the current device
    return CPU
