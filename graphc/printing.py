"""Placeholder printing (replaced by the torch-faithful formatter)."""
import numpy as np


def format_tensor(t):
    return "tensor(" + np.array2string(t._data, separator=", ") + ")"


def format_storage(s):
    return "\n".join(" " + str(v) for v in s.tolist()) + f"\n[torch.storage.TypedStorage(dtype=torch.{s.dtype.name}, device=cpu) of size {len(s)}]"
