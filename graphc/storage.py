"""Storage: the typed flat buffer behind tensors. Every view of a tensor shares one Storage object.

On the CPU a storage is a 1-D numpy array (`flat`). A tensor keeps a numpy view into that memory,
so numpy does the stride arithmetic; the storage is created lazily, the first time a view, a
`storage()` call or an address question needs it.
"""
import numpy as np

from . import dtypes as _dtypes

__all__ = ["TypedStorage", "UntypedStorage", "storage_of_array"]


def _address(array):
    return array.__array_interface__["data"][0]


def storage_of_array(array, dtype):
    """A Storage over the memory `array` spans (the whole buffer of a fresh or dense array)."""
    root = array
    while isinstance(root.base, np.ndarray):
        root = root.base
    if root.size == 0 or array.size == 0:
        return TypedStorage._from_flat(np.empty(0, dtype=array.dtype) if array.size == 0 else root.reshape(-1), dtype)
    itemsize = array.itemsize
    if root.flags.c_contiguous or root.flags.f_contiguous:
        if root.dtype == array.dtype:
            flat = root.reshape(-1, order="A")
            if _address(flat) == _address(root):
                return TypedStorage._from_flat(flat, dtype)
        span = root.nbytes // itemsize
        flat = np.ndarray((span,), dtype=array.dtype, buffer=root, offset=0)
        return TypedStorage._from_flat(flat, dtype)
    # a non-contiguous root (rare: a strided array handed over by from_numpy): cover its byte span
    low, high = np.lib.array_utils.byte_bounds(root)
    flat = np.lib.stride_tricks.as_strided(
        root, shape=((high - low) // itemsize,), strides=(itemsize,), writeable=root.flags.writeable)
    if _address(flat) != low:  # the root's first element is not its lowest address
        flat = np.lib.stride_tricks.as_strided(
            root[tuple(-1 if s < 0 else 0 for s in root.strides)], shape=((high - low) // itemsize,),
            strides=(itemsize,), writeable=root.flags.writeable)
    return TypedStorage._from_flat(flat, dtype)


class TypedStorage:
    """A typed, resizable 1-D buffer (torch.storage.TypedStorage)."""

    __slots__ = ("_flat", "dtype", "__weakref__")

    def __init__(self, *args, dtype=None, device=None):
        dtype = _dtypes.get_default_dtype() if dtype is None else _dtypes.to_dtype(dtype)
        if len(args) == 1 and isinstance(args[0], int):
            flat = np.zeros(args[0], dtype=dtype.np)
        elif len(args) == 1:
            flat = np.array(list(args[0]), dtype=dtype.np).reshape(-1)
        elif not args:
            flat = np.zeros(0, dtype=dtype.np)
        else:
            raise TypeError("TypedStorage(): expected a size or a sequence")
        self._flat = flat
        self.dtype = dtype

    @classmethod
    def _from_flat(cls, flat, dtype):
        storage = object.__new__(cls)
        storage._flat = flat
        storage.dtype = dtype
        return storage

    # ------------------------------------------------------------ queries
    device = property(lambda self: _cpu_device())

    def size(self):
        return self._flat.shape[0]

    def __len__(self):
        return self._flat.shape[0]

    def element_size(self):
        return self.dtype.itemsize

    def nbytes(self):
        return self._flat.nbytes

    def data_ptr(self):
        return _address(self._flat)

    def tolist(self):
        return self._flat.tolist()

    def __iter__(self):
        return iter(self._flat.tolist())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return TypedStorage._from_flat(self._flat[index].copy(), self.dtype)
        return self._flat[self._check_index(index)].item()

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            self._flat[index] = value
        else:
            self._flat[self._check_index(index)] = value

    def _check_index(self, index):
        n = self._flat.shape[0]
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for storage of size {n}")
        return index

    # ------------------------------------------------------------ mutation
    def fill_(self, value):
        self._flat[...] = value
        return self

    def copy_(self, other):
        if len(other) != len(self):
            raise RuntimeError(f"size mismatch: storage of size {len(self)} and {len(other)}")
        self._flat[...] = other._flat
        return self

    def resize_(self, size):
        """Grow or shrink in place; the first min(old, new) elements are kept."""
        if size == self._flat.shape[0]:
            return self
        new = np.zeros(size, dtype=self._flat.dtype)
        keep = min(size, self._flat.shape[0])
        new[:keep] = self._flat[:keep]
        self._flat = new
        return self

    def clone(self):
        return TypedStorage._from_flat(self._flat.copy(), self.dtype)

    def untyped(self):
        return UntypedStorage._from_flat(self._flat.view(np.uint8), _dtypes.uint8)

    def _type_as(self, dtype):
        return TypedStorage._from_flat(self._flat.astype(dtype.np), dtype)

    def float(self):
        return self._type_as(_dtypes.float32)

    def double(self):
        return self._type_as(_dtypes.float64)

    def long(self):
        return self._type_as(_dtypes.int64)

    def int(self):
        return self._type_as(_dtypes.int32)

    def half(self):
        return self._type_as(_dtypes.float16)

    def bool(self):
        return self._type_as(_dtypes.bool)

    def byte(self):
        return self._type_as(_dtypes.uint8)

    def type(self):
        return "torch." + self.dtype.legacy_name.replace("Tensor", "Storage")

    # ------------------------------------------------------------ printing
    def __repr__(self):
        from .printing import format_storage
        return format_storage(self)

    __str__ = __repr__


class UntypedStorage(TypedStorage):
    """The bytes of a storage (torch.UntypedStorage)."""

    __slots__ = ()

    def __init__(self, size=0, device=None):
        super().__init__(size, dtype=_dtypes.uint8)

    def nbytes(self):
        return self._flat.nbytes


def _cpu_device():
    from .device import device
    return device("cpu")
