"""Tensor: a numpy view (shape, strides, offset) into a shared Storage, plus autograd state.

Operators and methods call the ops declared in graphc.api; this module only holds what is
about the tensor object itself: construction, metadata, conversion and views' bookkeeping.
"""
import warnings
import weakref

import numpy as np

from . import dtypes as _dt
from .device import CPU, check_device
from .storage import TypedStorage, storage_of_array
from .autograd import grad_mode as _grad_mode
from . import dispatch as _dispatch
from .runtime import cpu as _cpu
from .autograd import engine as _engine

__all__ = ["Tensor", "Size", "wrap", "make_view"]

_new = object.__new__
_ndarray = np.ndarray


class Size(tuple):
    """torch.Size: a tuple of ints that prints as torch.Size([2, 3])."""

    __slots__ = ()

    def __repr__(self):
        return f"torch.Size({list(self)})"

    __str__ = __repr__

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, index):
        result = tuple.__getitem__(self, index)
        return Size(result) if isinstance(index, slice) else result

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))


class _VersionCounter:
    """Shared by a tensor and all its views; bumped by every in-place write."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class Tensor:
    """A strided view into a Storage. Construct with graphc.tensor(...) or the legacy Tensor(...)."""

    # Only the data and dtype are slots; the rest start as these class-level defaults and are
    # stored per instance once set, so creating a result tensor costs two assignments.
    __slots__ = ("_data", "_dtype", "__weakref__", "__dict__")
    _storage = None           # the Storage, created on first need (see storage())
    _base = None              # the tensor this one is a view of
    _storage_owner = None     # for detached views: the tensor whose storage this one shares
    _version_counter = None   # shared with views; created on the first in-place write or view
    _requires_grad = False
    _grad = None
    _grad_fn = None
    _hooks = None
    _retains_grad = False
    _output_nr = 0
    _inference = False        # created under inference_mode
    _view_version = 0         # views: the memory's version when the history was last set
    _no_grad_view = False     # a view made under no_grad of a tensor that requires grad

    __module__ = "graphc"

    # -------------------------------------------------------------- construction
    def __new__(cls, *args, dtype=None, device=None):
        """The legacy constructor: Tensor(*sizes), Tensor(sequence), Tensor(storage), Tensor(t)."""
        check_device(device)
        default = _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)
        if len(args) == 1 and isinstance(args[0], TypedStorage):
            storage = args[0]
            result = make_view_of_storage(storage, (storage.size(),), (1,), 0)
        elif len(args) == 1 and isinstance(args[0], Tensor):
            if dtype is not None and args[0]._dtype is not default:
                raise TypeError(_options_message(default, args[0]._dtype))
            return args[0]
        elif len(args) == 1 and not isinstance(args[0], (int, np.integer, Size)):
            from .api.creation import array_from_data
            result = wrap(array_from_data(args[0], default, legacy=True), default)
        else:
            from .api.creation import parse_size, zeros
            sizes = args[0] if len(args) == 1 and isinstance(args[0], Size) else args
            # Tensor() is an empty 1-D tensor, not a 0-dim one
            result = zeros(parse_size(sizes, "new") if args else (0,), dtype=default)
        if cls is not Tensor:
            result.__class__ = cls
        return result

    # -------------------------------------------------------------- metadata
    @property
    def dtype(self):
        return self._dtype

    @property
    def device(self):
        return CPU

    @property
    def is_cuda(self):
        return False

    @property
    def is_cpu(self):
        return True

    @property
    def layout(self):
        return "torch.strided"

    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[self._wrap_dim(dim)]

    def dim(self):
        return self._data.ndim

    ndimension = dim

    @property
    def ndim(self):
        return self._data.ndim

    def numel(self):
        return self._data.size

    nelement = numel

    def element_size(self):
        return self._dtype.itemsize

    @property
    def itemsize(self):
        return self._dtype.itemsize

    @property
    def nbytes(self):
        return self._data.size * self._dtype.itemsize

    def is_floating_point(self):
        return self._dtype.category == 2

    def is_complex(self):
        return False

    def is_signed(self):
        return self._dtype.is_signed

    def _wrap_dim(self, dim, ndim=None):
        ndim = self._data.ndim if ndim is None else ndim
        return wrap_dim(dim, ndim)

    # -------------------------------------------------------------- memory layout
    def storage(self):
        storage = self._storage
        if storage is None:
            # a view asks the tensor owning its memory; others wrap their array
            owner = self._base if self._base is not None else self._storage_owner
            storage = owner.storage() if owner is not None else storage_of_array(self._data, self._dtype)
            self._storage = storage
        return storage

    def untyped_storage(self):
        return self.storage().untyped()

    def data_ptr(self):
        return self._data.__array_interface__["data"][0]

    def storage_offset(self):
        storage = self.storage()
        if not storage.size():
            return 0  # an empty storage has no memory to be offset into
        return (self.data_ptr() - storage.data_ptr()) // self._dtype.itemsize

    def stride(self, dim=None):
        itemsize = self._dtype.itemsize
        strides = tuple(s // itemsize for s in self._data.strides)
        if dim is None:
            return strides
        return strides[self._wrap_dim(dim)]

    def is_contiguous(self, memory_format=None):
        """torch's rule: sizes of 1 may have any stride; strides must be the row-major ones."""
        expected = 1
        for size, stride in zip(reversed(self._data.shape), reversed(self.stride())):
            if size == 0:
                return True
            if size != 1:
                if stride != expected:
                    return False
                expected *= size
        return True

    def is_shared(self):
        return False

    def is_pinned(self):
        return False

    def _bump_version(self):
        counter = self._version_counter
        if counter is None:
            counter = self._version_counter = _VersionCounter()
        counter.value += 1

    @property
    def _version(self):
        counter = self._version_counter
        return 0 if counter is None else counter.value

    # -------------------------------------------------------------- conversion
    def tolist(self):
        _dispatch.check_not_tracing("tolist()")
        return self._data.tolist()

    def item(self):
        _dispatch.check_not_tracing("item()")
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def numpy(self, *, force=False):
        _dispatch.check_not_tracing("numpy()")
        if self._requires_grad is True and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        data = self._data
        if dtype is not None and np.dtype(dtype) != data.dtype:
            return data.astype(dtype)
        return data.copy() if copy else data

    def __bool__(self):
        _dispatch.check_not_tracing("bool(tensor)")
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._data.reshape(()).item())

    def __float__(self):
        return float(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def __index__(self):
        if self._dtype.category != 1 or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.reshape(()).item())

    def _scalar(self):
        _dispatch.check_not_tracing("float(tensor)/int(tensor)")
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self._data.reshape(()).item()

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self):
        return id(self)

    def __contains__(self, element):
        return bool((self == element).any().item())

    def __repr__(self, *, tensor_contents=None):
        from .printing import format_tensor
        return format_tensor(self, tensor_contents)

    def __format__(self, spec):
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol):
        return (_rebuild, (self._data.copy(), self._dtype.name, self._requires_grad))

    def __deepcopy__(self, memo):
        result = self.clone().detach()
        result.requires_grad_(self._requires_grad)
        memo[id(self)] = result
        return result

    # -------------------------------------------------------------- dtype conversion
    def type(self, dtype=None, non_blocking=False, **kwargs):
        """With no argument: the legacy type string ('torch.FloatTensor'); else a converted copy."""
        if dtype is None:
            return "torch." + self._dtype.legacy_name
        if isinstance(dtype, str):
            target = _dt.by_legacy_name(dtype) if dtype.endswith("Tensor") else _dt.to_dtype(dtype)
        elif isinstance(dtype, type) and hasattr(dtype, "_legacy_dtype"):
            target = dtype._legacy_dtype
        else:
            target = _dt.to_dtype(dtype)
        return self.to(target)

    def type_as(self, other):
        return self.to(other._dtype)

    def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False, memory_format=None):
        for a in args:
            if isinstance(a, Tensor):
                dtype = a._dtype
            elif isinstance(a, _dt.dtype):
                dtype = a
            elif a is not None:
                check_device(a)
        if device is not None:
            check_device(device)
        if dtype is None or dtype is self._dtype:
            return self.clone() if copy else self
        return _ops.elementwise.cast(self, _dt.to_dtype(dtype))

    def cpu(self):
        return self

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        check_device("cuda" if device is None else device)  # cuda(0): torch's "no accelerator"

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def half(self):
        return self.to(_dt.float16)

    def long(self):
        return self.to(_dt.int64)

    def int(self):
        return self.to(_dt.int32)

    def short(self):
        return self.to(_dt.int16)

    def char(self):
        return self.to(_dt.int8)

    def byte(self):
        return self.to(_dt.uint8)

    def bool(self):
        return self.to(_dt.bool)

    # -------------------------------------------------------------- new_* (same dtype by default)
    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from .api.creation import tensor
        return tensor(data, dtype=dtype or self._dtype, device=device or CPU,
                      requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        from .api.creation import zeros
        return zeros(*size, dtype=dtype or self._dtype, device=device or CPU,
                     requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        from .api.creation import ones
        return ones(*size, dtype=dtype or self._dtype, device=device or CPU,
                    requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        from .api.creation import empty
        return empty(*size, dtype=dtype or self._dtype, device=device or CPU,
                     requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        from .api.creation import full
        return full(size, fill_value, dtype=dtype or self._dtype, device=device or CPU,
                    requires_grad=requires_grad)

    def new(self, *args):
        """Legacy: like Tensor(*args) but with this tensor's dtype."""
        return Tensor(*args, dtype=self._dtype)

    # -------------------------------------------------------------- autograd state
    @property
    def requires_grad(self):
        if self._base is not None:
            _refresh_view(self)
        return self._requires_grad is True

    @requires_grad.setter
    def requires_grad(self, value):
        if value and self._grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables.")
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        if self._grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to use "
                    "a computed variable in a subgraph that doesn't require differentiation use "
                    "var_no_grad = var.detach().")
            return self
        if requires_grad and self._dtype.category != 2:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        _dispatch.note_requires_grad(self, bool(requires_grad))
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad(self):
        if self._grad_fn is not None and not self._retains_grad:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed want "
                "the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the "
                "non-leaf Tensor.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError("assigned grad has data of a different size")
            if value._dtype is not self._dtype:
                raise RuntimeError("assigned grad has data of a different type")
        _dispatch.note_grad_assigned(self, value)
        self._grad = value

    @grad.deleter
    def grad(self):
        _dispatch.note_grad_assigned(self, None)
        self._grad = None

    @property
    def grad_fn(self):
        if self._base is not None:
            _refresh_view(self)
        return self._grad_fn

    def is_inference(self):
        return self._inference

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def retains_grad(self):
        return self._retains_grad

    @property
    def volatile(self):
        from .autograd.variable import VOLATILE
        return self._requires_grad is VOLATILE

    @property
    def data(self):
        """detach()'s tensor without the version counter: torch hides writes through .data from
        autograd. (Built directly: optimizer loops read .data several times per step.)"""
        result = _new(Tensor)
        result._data = self._data
        result._dtype = self._dtype
        storage = self._storage
        if storage is not None:
            result._storage = storage
        base = self._base
        result._storage_owner = base if base is not None else self
        return result

    @data.setter
    def data(self, value):
        _dispatch.note_data_assigned(self, value)
        self._data = value._data
        self._dtype = value._dtype
        self._storage = value._storage if value._storage is not None else value.storage()

    def detach(self):
        """A tensor sharing this one's data (and version counter) but no autograd history."""
        result = make_view(self, self._data)
        result._storage_owner = result._base  # not a view for autograd, but shares the storage
        result._base = None
        return result

    def detach_(self):
        self._grad_fn = None
        self._requires_grad = False
        return self

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        _engine.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def register_hook(self, hook):
        """`hook(grad)` runs when this tensor's gradient is computed; it may return a new one."""
        if self._base is not None:
            _refresh_view(self)
        if self._requires_grad is not True:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is not None:
            return self._grad_fn._register_tensor_hook(hook, self._output_nr)
        if self._hooks is None:
            self._hooks = []
        from .autograd.node import _RemovableHandle
        self._hooks.append(hook)
        return _RemovableHandle(self._hooks, hook)

    def retain_grad(self):
        """Keep the gradient of this non-leaf tensor in .grad after backward."""
        if self._base is not None:
            _refresh_view(self)
        if self._requires_grad is not True:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None or self._retains_grad:
            return
        self._retains_grad = True
        reference = weakref.ref(self)

        def keep(grad):
            tensor = reference()
            if tensor is not None:
                detached = grad.detach()
                tensor._grad = detached.clone() if tensor._grad is None else tensor._grad + detached
        self._grad_fn._register_tensor_hook(keep, self._output_nr, retains=True)

    # -------------------------------------------------------------- in-place data replacement
    def set_(self, source=None, storage_offset=0, size=None, stride=None):
        """Make this tensor view `source` (a Tensor or a Storage)."""
        if source is None:
            self._data = np.zeros(0, dtype=self._dtype.np)
            self._storage = None
            return self
        if isinstance(source, Tensor):
            self._data = source._data
            self._dtype = source._dtype
            self._storage = source.storage()
            return self
        if size is None:
            size = (source.size(),)
        if stride is None:
            stride = contiguous_strides(size)
        view = make_view_of_storage(source, tuple(size), tuple(stride), storage_offset)
        self._data, self._storage, self._dtype = view._data, source, source.dtype
        return self


def _options_message(expected, got):
    """torch's TypeError when a legacy constructor gets a tensor of another dtype."""
    from .api.elementwise import _CPP_NAMES

    def options(d):
        return (f"TensorOptions(dtype={_CPP_NAMES[d]}, device=cpu, layout=Strided, "
                f"requires_grad=false (default), pinned_memory=false (default), "
                f"memory_format=(nullopt))")
    return f"expected {options(expected)} (got {options(got)})"


def _rebuild(array, dtype_name, requires_grad):
    result = wrap(array, _dt.to_dtype(dtype_name))
    result._requires_grad = requires_grad
    return result


# ------------------------------------------------------------------ helpers used by the ops


def wrap(array, dtype):
    """A new tensor that owns `array` (the result of a non-view op)."""
    t = _new(Tensor)
    t._data = array
    t._dtype = dtype
    if _grad_mode.state.inference:
        t._inference = True
    return t


def make_view(source, array):
    """A new tensor over `array`, a numpy view of `source`'s data: shares storage and version."""
    t = _new(Tensor)
    t._data = array
    t._dtype = source._dtype
    t._storage = source._storage  # None: resolved through _base on first need
    base = source._base
    t._base = base if base is not None else source
    counter = source._version_counter
    if counter is None:
        counter = source._version_counter = _VersionCounter()
    t._version_counter = counter
    t._view_version = counter.value
    return t


def make_view_of_storage(storage, size, stride, offset):
    """A tensor viewing `storage` with explicit size/stride/offset (in elements), bounds-checked."""
    flat = storage._flat
    itemsize = flat.itemsize
    if any(s < 0 for s in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(size)}: {list(size)}")
    needed = offset + sum((n - 1) * st for n, st in zip(size, stride)) + 1 if all(size) else 0
    if needed > flat.shape[0] or offset < 0:
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
            f"itemsize {itemsize} requiring a storage size of {needed * itemsize} are out of bounds "
            f"for storage of size {flat.shape[0] * itemsize}")
    array = np.lib.stride_tricks.as_strided(
        flat[offset:] if flat.shape[0] > offset else flat[:0], shape=tuple(size),
        strides=tuple(st * itemsize for st in stride), writeable=flat.flags.writeable)
    t = wrap(array, storage.dtype)
    t._storage = storage
    return t


def contiguous_strides(size):
    strides = []
    running = 1
    for s in reversed(size):
        strides.append(running)
        running *= max(s, 1)
    return tuple(reversed(strides))


def wrap_dim(dim, ndim):
    """Normalise a possibly negative dim, with torch's IndexError when it is out of range."""
    low, high = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if dim < low or dim > high:
        raise IndexError(f"Dimension out of range (expected to be in range of [{low}, {high}], "
                         f"but got {dim})")
    return dim + max(ndim, 1) if dim < 0 else dim


_refresh_view = _engine.refresh_view
_dispatch.bind(Tensor, wrap, make_view, _grad_mode.state, _engine.record)
_cpu.bind(Tensor)
_engine.bind(Tensor)

from . import api as _ops  # noqa: E402  (the ops need the Tensor class bound above)

_ops.install_methods(Tensor)
