"""graphc.device: where a tensor lives ('cpu' now; 'cuda' is reserved for the CUDA runtime)."""

__all__ = ["device"]


class device:
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        if ":" in type:
            type, _, number = type.partition(":")
            index = int(number)
        if type not in ("cpu", "cuda"):
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {type}")
        self.type = type
        self.index = index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"


CPU = device("cpu")


def check_device(value):
    """Accept None/'cpu'/device('cpu'); CUDA tensors need the CUDA runtime, which is not built yet."""
    if value is None:
        return CPU
    d = device(value) if not isinstance(value, device) else value
    if d.type != "cpu":
        raise RuntimeError("graphc was built without a CUDA runtime: only device='cpu' is available")
    return CPU
